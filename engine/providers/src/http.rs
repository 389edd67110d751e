//! `http.request`: one HTTP call. Every request carries the step's
//! idempotency key (`Idempotency-Key`), so a server that honours it applies
//! a retried or resumed call once. Redirects are followed only on the same
//! host: the step's headers may carry secrets, and must not reach another
//! server.

use std::sync::{Arc, OnceLock};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::typed;
use shutter_core::units::Span;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};
use shutter_kit::{HttpOptions, Redirects};

/// Largest response body kept, so a huge answer cannot exhaust memory.
const MAX_BODY: usize = 10 << 20;

pub(crate) fn action() -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "http.request",
        "Sends one HTTP request. Retryable on connection errors, timeouts, 408, 429 and 5xx; other unexpected statuses fail the step. Redirects are followed on the same host only, so the step's headers never reach another server.",
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
    typed(spec, HttpClient::default(), |client, ctx, params| {
        Box::pin(request(client, ctx, params))
    })
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

/// The parameters of `http.request`.
#[derive(Debug, Deserialize)]
struct RequestParams {
    url: String,
    #[serde(default = "RequestParams::get")]
    method: String,
    #[serde(default)]
    headers: Option<Map<String, Json>>,
    #[serde(default)]
    body: Option<Json>,
    #[serde(default, deserialize_with = "expected")]
    expect: Option<Vec<u16>>,
    #[serde(default = "RequestParams::thirty_seconds")]
    timeout: Span,
}

impl RequestParams {
    fn get() -> String {
        "GET".to_owned()
    }
    fn thirty_seconds() -> Span {
        Span::secs(30)
    }
}

async fn request(
    client: &HttpClient,
    ctx: &ActionContext,
    params: RequestParams,
) -> Result<Json, ActionError> {
    let method_name = params.method.to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method_name.as_bytes())
        .map_err(|_| ActionError::fatal(format!("`{method_name}` is not an HTTP method")))?;
    let url = params.url.as_str();
    let mut request = client.get()?.request(method, url).timeout(params.timeout.0);
    let mut has_key = false;
    for (name, value) in params.headers.iter().flatten() {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        has_key |= name.eq_ignore_ascii_case("idempotency-key");
        request = request.header(name, value);
    }
    if !has_key {
        request = request.header("Idempotency-Key", &ctx.idempotency_key);
    }
    request = match params.body {
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
    let accepted = match &params.expect {
        Some(codes) => codes.contains(&status.as_u16()),
        None => status.is_success(),
    };
    if !accepted {
        let excerpt: String = body.chars().take(300).collect();
        return Err(shutter_kit::status(&what, status, &excerpt));
    }
    let json = serde_json::from_str(&body).unwrap_or(Json::Null);
    Ok(json!({ "status": status.as_u16(), "headers": headers, "body": body, "json": json }))
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
