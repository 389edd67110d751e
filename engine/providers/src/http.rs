//! `http.request`: one HTTP call. Every request carries the step's
//! idempotency key (`Idempotency-Key`), so a server that honours it applies
//! a retried or resumed call once. Redirects are followed only on the same
//! host: the step's headers may carry secrets, and must not reach another
//! server.

use std::sync::OnceLock;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value as Json};
use shutter_core::action::{Outcome, Run};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionEntry, ActionError};
use shutter_core::{action_outputs, action_params};
use shutter_kit::{HttpOptions, Redirects};

/// Largest response body kept, so a huge answer cannot exhaust memory.
const MAX_BODY: usize = 10 << 20;

pub(crate) fn action() -> ActionEntry {
    Request::entry(HttpClient::default())
}

/// The client is built on first use, so building the catalog does no TLS
/// setup and a failure to build it fails the step that needed it.
#[derive(Debug, Default)]
struct HttpClient(OnceLock<Result<reqwest::Client, shutter_kit::ClientError>>);

impl HttpClient {
    fn get(&self) -> Result<&reqwest::Client, ActionError> {
        self.0
            .get_or_init(|| {
                HttpOptions {
                    redirects: Redirects::SameHost,
                    // Each request sets the step's own `timeout`.
                    timeout: None,
                    ..HttpOptions::default()
                }
                .build()
            })
            .as_ref()
            .map_err(|err| ActionError::fatal(err.to_string()))
    }
}

/// Sends one HTTP request. Retryable on connection errors, timeouts, 408,
/// 429 and 5xx; other unexpected statuses fail the step. Redirects are
/// followed on the same host only, so the step's headers never reach
/// another server.
#[action_params("http.request")]
#[derive(Debug, Deserialize)]
struct Request {
    /// The URL.
    url: String,
    /// GET, POST, PUT, PATCH, DELETE or HEAD.
    #[param(default = "GET")]
    method: String,
    /// Request headers (string values).
    #[param(sensitive)]
    #[serde(default)]
    headers: Option<Map<String, Json>>,
    /// A string is sent as is; anything else as JSON.
    #[param(sensitive)]
    #[serde(default)]
    body: Option<Json>,
    /// Accepted status codes: one or a list (default: any 2xx).
    #[param(ty = StatusCodes)]
    #[serde(default, deserialize_with = "expected")]
    expect: Option<Vec<u16>>,
    /// Deadline for the whole request.
    #[param(default = "30s")]
    #[serde(default = "thirty_seconds")]
    timeout: Span,
}

fn thirty_seconds() -> Span {
    Span::secs(30)
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Response {
    /// The response status code.
    status: u16,
    /// Response headers (lower-case names).
    headers: Map<String, Json>,
    /// The response body as text.
    body: String,
    /// The body parsed as JSON, or null.
    json: Json,
}

impl Run<HttpClient> for Request {
    type Outputs = Response;

    async fn run(self, ctx: &ActionContext, client: &HttpClient) -> Outcome<Response> {
        let method_name = self.method.to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method_name.as_bytes())
            .map_err(|_| ActionError::fatal(format!("`{method_name}` is not an HTTP method")))?;
        let url = self.url.as_str();
        let mut request = client.get()?.request(method, url).timeout(self.timeout.0);
        let mut has_key = false;
        for (name, value) in self.headers.iter().flatten() {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            has_key |= name.eq_ignore_ascii_case("idempotency-key");
            request = request.header(name, value);
        }
        if !has_key {
            request = request.header("Idempotency-Key", &ctx.idempotency_key);
        }
        request = match self.body {
            None => request,
            Some(Json::String(text)) => request.body(text),
            Some(other) => request.json(&other),
        };
        let what = format!("{method_name} {}", without_credentials(url));
        let response = request
            .send()
            .await
            .map_err(|e| shutter_kit::transport(&what, e))?;
        let status = response.status();
        let headers: Map<String, Json> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    Json::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
                )
            })
            .collect();
        let body = shutter_kit::body(&what, response, MAX_BODY).await?;
        let body = String::from_utf8_lossy(&body).into_owned();
        let accepted = match &self.expect {
            Some(codes) => codes.contains(&status.as_u16()),
            None => status.is_success(),
        };
        if !accepted {
            let excerpt: String = body.chars().take(300).collect();
            return Err(shutter_kit::status(&what, status, &excerpt));
        }
        let json = serde_json::from_str(&body).unwrap_or(Json::Null);
        Ok(Response {
            status: status.as_u16(),
            headers,
            body,
            json,
        })
    }
}

/// `expect`: one status code or a list of them.
fn expected<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u16>>, D::Error> {
    let bad = || D::Error::custom("expected a status code or a list of them");
    let code = |v: &Json| {
        v.as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(bad)
    };
    match Json::deserialize(deserializer)? {
        Json::Null => Ok(None),
        Json::Array(items) => items.iter().map(code).collect::<Result<_, _>>().map(Some),
        single => Ok(Some(vec![code(&single)?])),
    }
}

/// The URL for messages: without a user or password in it.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    }
}
