//! The vRO REST calls Shutter makes, with basic or bearer auth, and what
//! their failures mean for a step.

use std::fmt;

use reqwest::header::{ACCEPT, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value as Json, json};
use shutter_core::ActionError;
use shutter_core::Files;
use shutter_core::secrets::Secrets;

use crate::config::{CONFIG_VAR, ShutterConfig};
use crate::env::Env;
use crate::server::ServerParam;
use crate::tls::Trust;

/// How Shutter proves who it is to vRO: basic (vRO 7.x) or a bearer token (8.x).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Basic { username: String, password: String },
    Bearer(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username})"),
            Self::Bearer(_) => f.write_str("Bearer"),
        }
    }
}

/// A vRO server: the `vro` parameter of a step.
#[derive(Debug, Clone)]
pub struct VroConfig {
    /// The API root, `https://HOST:PORT/vco/api`.
    pub api: Url,
    pub auth: Auth,
    pub trust: Trust,
}

fn fatal(message: impl Into<String>) -> ActionError {
    ActionError::fatal(message.into())
}

impl VroConfig {
    /// A server at `url` (`https://HOST[:PORT]`, with or without `/vco/api`).
    pub fn new(url: &str, auth: Auth, trust: Trust) -> Result<Self, ActionError> {
        Ok(Self {
            api: api_root(url)?,
            auth,
            trust,
        })
    }

    /// The server a step asks for: its `vro` parameter, either the name of
    /// a server in Shutter's config file (`vro_servers`) or the object
    /// [`Self::from_param`] reads.
    pub fn from_step(
        value: &Json,
        secrets: &Secrets,
        env: &Env,
        files: &Files,
    ) -> Result<Self, ActionError> {
        let Json::String(name) = value else {
            return Self::from_param(value, secrets, files);
        };
        let config = ShutterConfig::load(env)
            .map_err(|e| fatal(e.to_string()))?
            .ok_or_else(|| {
                fatal(format!(
                    "vro `{name}` names a server, but there is no Shutter config file: set {CONFIG_VAR} or write ~/.config/shutter/config.yaml (docs/configuration.md)"
                ))
            })?;
        config.vro(name, env).map_err(|e| fatal(e.to_string()))
    }

    /// Reads `{url, username, password_secret}` or `{url, token_secret}`,
    /// plus `insecure` and `ca_file`. Secrets come from the step's grants.
    pub fn from_param(value: &Json, secrets: &Secrets, files: &Files) -> Result<Self, ActionError> {
        if !value.is_object() {
            return Err(fatal(
                "parameter `vro` must be the name of a server in Shutter's config or an object {url, username, password_secret | token_secret, insecure, ca_file}",
            ));
        }
        let param = ServerParam::parse("vro", value)?;
        let auth = if param.token_secret.is_some() {
            Auth::Bearer(
                param
                    .secret(
                        "vro",
                        "token_secret",
                        param.token_secret.as_deref(),
                        secrets,
                    )?
                    .to_owned(),
            )
        } else {
            let username = param
                .username
                .clone()
                .filter(|name| !name.is_empty())
                .ok_or_else(|| {
                    fatal("`vro` needs `username` + `password_secret` (basic) or `token_secret` (bearer)")
                })?;
            let password = param
                .secret(
                    "vro",
                    "password_secret",
                    param.password_secret.as_deref(),
                    secrets,
                )?
                .to_owned();
            Auth::Basic { username, password }
        };
        Ok(Self {
            api: api_root(&param.url)?,
            auth,
            trust: param.trust("vro", files)?,
        })
    }
}

/// `https://vro:8281`, `.../vco` or `.../vco/api` -> `https://vro:8281/vco/api`.
fn api_root(url: &str) -> Result<Url, ActionError> {
    let mut api = Url::parse(url).map_err(|e| fatal(format!("vro.url `{url}`: {e}")))?;
    if !matches!(api.scheme(), "http" | "https") || api.cannot_be_a_base() {
        return Err(fatal(format!(
            "vro.url `{url}` must be http(s)://HOST[:PORT]"
        )));
    }
    let path = api.path().trim_end_matches('/').to_owned();
    let path = path.strip_suffix("/api").unwrap_or(&path);
    let path = path.strip_suffix("/vco").unwrap_or(path);
    api.set_path(&format!("{path}/vco/api"));
    api.set_query(None);
    Ok(api)
}

/// Largest answer read from vRO (an execution with its parameters).
const MAX_ANSWER: usize = 16 << 20;

/// A vRO server to call.
#[derive(Debug, Clone)]
pub struct VroClient {
    http: reqwest::Client,
    config: VroConfig,
}

impl VroClient {
    pub fn new(config: VroConfig) -> Result<Self, ActionError> {
        let http = config.trust.client().map_err(ActionError::fatal)?;
        Ok(Self { http, config })
    }

    /// Starts `workflow`; the new execution's id.
    pub async fn start(
        &self,
        workflow: &str,
        parameters: Vec<Json>,
    ) -> Result<String, ActionError> {
        let url = self.url(&["workflows", workflow, "executions"])?;
        let what = format!("starting vro workflow {workflow}");
        let response = self
            .send(
                Method::POST,
                url,
                Some(json!({ "parameters": parameters })),
                &what,
            )
            .await?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = response.status();
        let body: Json = shutter_kit::read_capped(response, MAX_ANSWER)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice(&body).ok())
            .unwrap_or(Json::Null);
        let id = location
            .as_deref()
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|id| !id.is_empty() && *id != "executions")
            .map(str::to_owned)
            .or_else(|| body.get("id").and_then(Json::as_str).map(str::to_owned));
        id.ok_or_else(|| {
            fatal(format!(
                "{what}: answered {status} without a Location header or an execution id"
            ))
        })
    }

    /// The execution's state: running, completed, failed, canceled, waiting, waiting-signal.
    pub async fn state(&self, workflow: &str, execution: &str) -> Result<String, ActionError> {
        let url = self.url(&["workflows", workflow, "executions", execution, "state"])?;
        let what = format!("reading the state of vro execution {execution} of workflow {workflow}");
        let body: Json = self.json(Method::GET, url, &what).await?;
        body.get("value")
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| fatal(format!("{what}: answer without `value`: {body}")))
    }

    /// The whole execution record (parameters, dates, content-exception).
    pub async fn execution(&self, workflow: &str, execution: &str) -> Result<Json, ActionError> {
        let url = self.url(&["workflows", workflow, "executions", execution])?;
        let what = format!("reading vro execution {execution} of workflow {workflow}");
        self.json(Method::GET, url, &what).await
    }

    /// Asks vRO to cancel the execution.
    pub async fn cancel(&self, workflow: &str, execution: &str) -> Result<(), ActionError> {
        let url = self.url(&["workflows", workflow, "executions", execution, "state"])?;
        let what = format!("canceling vro execution {execution} of workflow {workflow}");
        self.send(Method::DELETE, url, None, &what).await.map(drop)
    }

    fn url(&self, segments: &[&str]) -> Result<Url, ActionError> {
        shutter_kit::join(&self.config.api, segments)
    }

    async fn json(&self, method: Method, url: Url, what: &str) -> Result<Json, ActionError> {
        let response = self.send(method, url, None, what).await?;
        shutter_kit::json(what, response, MAX_ANSWER).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Json>,
        what: &str,
    ) -> Result<reqwest::Response, ActionError> {
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/json");
        request = match &self.config.auth {
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| shutter_kit::transport(what, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let excerpt = shutter_kit::excerpt(response).await;
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => fatal(format!(
                "{what}: vro refused the credentials ({status}, {:?} auth on {})",
                self.config.auth, self.config.api
            )),
            StatusCode::NOT_FOUND => fatal(format!("{what}: not found (404): {excerpt}")),
            _ => shutter_kit::status(what, status, &excerpt),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_root_is_found_from_any_usual_url() {
        for url in [
            "https://vro:8281",
            "https://vro:8281/",
            "https://vro:8281/vco",
            "https://vro:8281/vco/api/",
        ] {
            assert_eq!(
                api_root(url).unwrap().as_str(),
                "https://vro:8281/vco/api",
                "{url}"
            );
        }
    }

    #[test]
    fn secrets_pick_the_auth_and_never_show() {
        let secrets = Secrets::new(
            [
                ("tok".to_owned(), "t0ken".to_owned()),
                ("pw".to_owned(), "pa55".to_owned()),
            ]
            .into(),
        );
        let bearer = VroConfig::from_param(
            &json!({"url": "https://v", "token_secret": "tok"}),
            &secrets,
            &Files::default(),
        )
        .unwrap();
        assert_eq!(bearer.auth, Auth::Bearer("t0ken".into()));
        let basic = VroConfig::from_param(
            &json!({"url": "https://v", "username": "u", "password_secret": "pw"}),
            &secrets,
            &Files::default(),
        )
        .unwrap();
        assert!(!format!("{basic:?}").contains("pa55"));
        let missing = VroConfig::from_param(
            &json!({"url": "https://v", "username": "u"}),
            &secrets,
            &Files::default(),
        );
        assert!(missing.is_err());
    }
}
