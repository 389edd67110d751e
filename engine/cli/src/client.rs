//! A client of `shutter serve`'s HTTP API, for `--server URL`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use shutter_server::views::ErrorBody;

use crate::db::DbArgs;

/// Options of every command that talks to a server.
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` (else `$SHUTTER_SERVER`).
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// A file holding the bearer token (else `$SHUTTER_API_TOKEN`).
    #[arg(long, value_name = "PATH")]
    pub(crate) token_file: Option<PathBuf>,
}

impl ServerArgs {
    /// The client, when a server is given (by flag or environment).
    pub(crate) fn client(&self) -> anyhow::Result<Option<Client>> {
        let Some(base) = self
            .server
            .clone()
            .or_else(|| std::env::var("SHUTTER_SERVER").ok())
            .filter(|s| !s.is_empty())
        else {
            return Ok(None);
        };
        let token = match &self.token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the token file {}", path.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => std::env::var("SHUTTER_API_TOKEN").ok(),
        };
        Ok(Some(Client {
            base: base.trim_end_matches('/').to_owned(),
            token: token.filter(|t| !t.is_empty()),
            // The token goes with every request: never to where a redirect
            // points (another host, or plain http on the same one).
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .context("building the HTTP client")?,
        }))
    }
}

// Where the records a command reads are: on the server `--server` names
// (or `$SHUTTER_SERVER`), else in the embedded store or the one `--db`
// names. Not a doc comment: clap would take it for the `about` of each
// command this is flattened into.
#[derive(Debug, clap::Args)]
pub(crate) struct PlaceArgs {
    #[command(flatten)]
    pub(crate) db: DbArgs,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// The largest answer the CLI reads (a page of executions or of log lines
/// is far smaller).
const ANSWER_LIMIT: usize = 64 << 20;

#[derive(Debug)]
pub(crate) struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// `GET path`, its answer read as the server's view type `T`.
    pub(crate) async fn get_as<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let answer = self
            .send(self.http.get(format!("{}{path}", self.base)), path)
            .await?;
        self.read(answer, path)
    }

    pub(crate) async fn post(&self, path: &str, body: &Json) -> anyhow::Result<Json> {
        self.send(
            self.http.post(format!("{}{path}", self.base)).json(body),
            path,
        )
        .await
    }

    /// `POST path`, its answer read as the server's view type `T`.
    pub(crate) async fn post_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Json,
    ) -> anyhow::Result<T> {
        let answer = self.post(path, body).await?;
        self.read(answer, path)
    }

    /// `POST path` with a YAML body (a workflow, as `POST /workflows`
    /// takes it), its answer read as the server's view type `T`.
    pub(crate) async fn post_yaml_as<T: DeserializeOwned>(
        &self,
        path: &str,
        yaml: String,
    ) -> anyhow::Result<T> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/yaml")
            .body(yaml);
        let answer = self.send(request, path).await?;
        self.read(answer, path)
    }

    fn read<T: DeserializeOwned>(&self, answer: Json, path: &str) -> anyhow::Result<T> {
        serde_json::from_value(answer).with_context(|| {
            format!(
                "{}{path}: an answer this client does not understand",
                self.base
            )
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder, path: &str) -> anyhow::Result<Json> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {}{path}", self.base))?;
        let status = response.status();
        let bytes = shutter_kit::read_capped(response, ANSWER_LIMIT)
            .await
            .with_context(|| format!("reading the answer of {}{path}", self.base))?;
        let body: Json = serde_json::from_slice(&bytes)
            .with_context(|| format!("reading the answer of {}{path}", self.base))?;
        if !status.is_success() {
            let error = serde_json::from_value::<ErrorBody>(body)
                .ok()
                .map(|body| body.error);
            let mut message = format!(
                "{}{path}: {status}: {}",
                self.base,
                error
                    .as_ref()
                    .map_or("(no message)", |e| e.message.as_str())
            );
            let details = error.and_then(|e| e.details);
            if let Some(details) = details.as_ref().and_then(Json::as_array) {
                for detail in details {
                    message.push_str(&format!(
                        "\n  {}",
                        detail
                            .as_str()
                            .map_or_else(|| detail.to_string(), str::to_owned)
                    ));
                }
            }
            bail!(message);
        }
        Ok(body)
    }
}

/// `value` percent-encoded for a query string or a path segment:
/// everything but RFC 3986's unreserved characters (a `/` in a name stays
/// inside its segment).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
