//! `http.request`: one HTTP call. Every request carries the step's
//! idempotency key (`Idempotency-Key`), so a server that honours it applies
//! a retried or resumed call once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

/// Largest response body kept, so a huge answer cannot exhaust memory.
const MAX_BODY: usize = 10 << 20;

pub(crate) fn action() -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "http.request",
        "Sends one HTTP request. Retryable on connection errors, timeouts, 408, 429 and 5xx; other unexpected statuses fail the step.",
    )
    .param("url", ParamType::String, "The URL.")
    .optional("method", ParamType::String, Some(json!("GET")), "GET, POST, PUT, PATCH, DELETE or HEAD.")
    .optional("headers", ParamType::Object, None, "Request headers (string values).")
    .sensitive()
    .optional("body", ParamType::Any, None, "A string is sent as is; anything else as JSON.")
    .sensitive()
    .optional("expect", ParamType::Any, None, "Accepted status codes: one or a list (default: any 2xx).")
    .optional("timeout", ParamType::Duration, Some(json!("30s")), "Deadline for the whole request.")
    .output("status", ParamType::Integer, "The response status code.")
    .output("headers", ParamType::Object, "Response headers (lower-case names).")
    .output("body", ParamType::String, "The response body as text.")
    .output("json", ParamType::Any, "The body parsed as JSON, or null.");
    (
        spec,
        Arc::new(HttpRequest {
            client: reqwest::Client::new(),
        }),
    )
}

#[derive(Debug)]
struct HttpRequest {
    client: reqwest::Client,
}

#[async_trait]
impl Action for HttpRequest {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let url = ctx.str_param("url")?;
        let method_name = ctx
            .params
            .get("method")
            .and_then(Json::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method_name.as_bytes())
            .map_err(|_| ActionError::Fatal(format!("`{method_name}` is not an HTTP method")))?;
        let timeout = match ctx.params.get("timeout").and_then(Json::as_str) {
            Some(text) => shutter_dsl::units::parse_duration(text).map_err(ActionError::Fatal)?,
            None => Duration::from_secs(30),
        };
        let expect = expected(ctx.params.get("expect"))?;
        let mut request = self.client.request(method, url).timeout(timeout);
        let mut has_key = false;
        if let Some(headers) = ctx.params.get("headers").and_then(Json::as_object) {
            for (name, value) in headers {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                has_key |= name.eq_ignore_ascii_case("idempotency-key");
                request = request.header(name, value);
            }
        }
        if !has_key {
            request = request.header("Idempotency-Key", &ctx.idempotency_key);
        }
        request = match ctx.params.get("body") {
            None | Some(Json::Null) => request,
            Some(Json::String(text)) => request.body(text.clone()),
            Some(other) => request.json(other),
        };
        let what = format!("{method_name} {}", without_credentials(url));
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&what, e))?;
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
        let body = read_body(response, &what).await?;
        let accepted = match &expect {
            Some(codes) => codes.contains(&status.as_u16()),
            None => status.is_success(),
        };
        if !accepted {
            let excerpt: String = body.chars().take(300).collect();
            let message = format!(
                "{what}: {status}{}",
                if excerpt.is_empty() {
                    String::new()
                } else {
                    format!(": {excerpt}")
                }
            );
            let retryable = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
            return Err(if retryable {
                ActionError::Retryable(message)
            } else {
                ActionError::Fatal(message)
            });
        }
        let json = serde_json::from_str(&body).unwrap_or(Json::Null);
        Ok(json!({ "status": status.as_u16(), "headers": headers, "body": body, "json": json }))
    }
}

fn expected(value: Option<&Json>) -> Result<Option<Vec<u16>>, ActionError> {
    let bad = || ActionError::Fatal("`expect` must be a status code or a list of them".to_owned());
    let code = |v: &Json| {
        v.as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(bad)
    };
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(items)) => items.iter().map(code).collect::<Result<_, _>>().map(Some),
        Some(single) => Ok(Some(vec![code(single)?])),
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

/// A failure to talk to the server, its causes included but not its URL
/// (`what` names the call; the URL may carry credentials).
fn transport_error(what: &str, err: reqwest::Error) -> ActionError {
    let builder = err.is_builder();
    let err = err.without_url();
    let mut message = format!("{what}: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if builder {
        ActionError::Fatal(message)
    } else {
        ActionError::Retryable(message)
    }
}

async fn read_body(mut response: reqwest::Response, what: &str) -> Result<String, ActionError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(what, e))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ActionError::Fatal(format!(
                "{what}: response body larger than {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
