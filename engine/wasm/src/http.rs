//! Outgoing HTTP for components: the `shutter:step/http` import. A step
//! reaches only the hosts its workflow grants (`allow.http`); redirects are
//! handed back to the guest rather than followed, so every hop passes the
//! same check. WASI commands get no network at all.
//!
//! The request and response are JSON text, like a step's parameters and
//! outputs, so one data model serves every guest language:
//! request `{method, url, headers: {name: value}, body}`, response
//! `{status, headers: {name: value}, body}` (bodies are UTF-8 text).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

/// The largest response body handed to a guest.
pub const RESPONSE_LIMIT: usize = 4 << 20;

/// How often a request in flight looks at the step's cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// The `allow.http` entries of a step: `host`, `host:port`, or `*.domain`
/// (any DNS name below `domain`, not `domain` itself, never an IP address). Names compare without
/// case; an entry without a port allows any port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpAllow(Vec<String>);

impl HttpAllow {
    pub fn new(patterns: impl IntoIterator<Item = String>) -> Self {
        Self(
            patterns
                .into_iter()
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `url`'s host (and port) is granted.
    pub fn permits(&self, url: &Url) -> bool {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let is_name = host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_err();
        self.0.iter().any(|pattern| {
            let (name, wanted_port) = split_port(pattern);
            if wanted_port.is_some_and(|p| p != port) {
                return false;
            }
            match name.strip_prefix("*.") {
                // Wildcards are for DNS names: `*.0.0.1` is no IP range.
                Some(domain) => {
                    is_name
                        && host
                            .strip_suffix(domain)
                            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
                }
                None => host == name,
            }
        })
    }
}

/// `host:port` -> (`host`, port); `[::1]:80` and bare IPv6 in brackets too.
fn split_port(pattern: &str) -> (&str, Option<u16>) {
    if let Some((host, port)) = pattern.rsplit_once(':') {
        let bracketed_v6 = host.starts_with('[') || !host.contains(':');
        if bracketed_v6 && let Ok(port) = port.parse() {
            return (host, Some(port));
        }
    }
    (pattern, None)
}

/// What one run needs to make requests: the grant, the runtime the
/// requests run on, and the bounds of the run.
#[derive(Debug, Clone)]
pub struct HttpGrant {
    pub allow: HttpAllow,
    pub client: reqwest::Client,
    pub runtime: tokio::runtime::Handle,
    pub deadline: Instant,
    pub canceled: Arc<AtomicBool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default = "get")]
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
}

fn get() -> String {
    "GET".to_owned()
}

/// The client every run shares: no redirects (the guest decides), no
/// proxies from the environment (they would route around the allow-list).
pub fn client() -> Result<reqwest::Client, String> {
    shutter_kit::HttpOptions {
        redirects: shutter_kit::Redirects::None,
        proxy: shutter_kit::Proxy::None,
        connect_timeout: Duration::from_secs(10),
        // Each request is bounded by the step's deadline.
        timeout: None,
        ..shutter_kit::HttpOptions::default()
    }
    .build()
    .map_err(|e| e.0)
}

/// One request: the guest's answer, and the log line it leaves (the method
/// and the URL without its query, never headers or bodies: they may carry
/// secrets).
#[derive(Debug)]
pub struct Exchange {
    pub answer: Result<String, String>,
    pub log: String,
}

impl HttpGrant {
    /// One request, blocking the calling (guest) thread. Errors are for the
    /// guest: they say why no response came.
    pub fn request(&self, request: &str) -> Exchange {
        let mut line = "http request".to_owned();
        let answer = self.send(request, &mut line);
        let log = match &answer {
            Ok((status, _)) => format!("{line} -> {status}"),
            Err(message) => format!("{line} failed: {message}"),
        };
        Exchange {
            answer: answer.map(|(_, response)| response),
            log,
        }
    }

    /// The status and the response JSON; names the request in `line` as
    /// soon as it is known.
    fn send(&self, request: &str, line: &mut String) -> Result<(u16, String), String> {
        let request: Request = serde_json::from_str(request)
            .map_err(|e| format!("the request is not {{method, url, headers, body}}: {e}"))?;
        let url = Url::parse(&request.url).map_err(|e| format!("url `{}`: {e}", request.url))?;
        let mut shown = url.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        *line = format!("http {} {shown}", request.method.to_ascii_uppercase());
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("url `{url}`: only http and https"));
        }
        if !self.allow.permits(&url) {
            return Err(format!(
                "http to {} is not granted to this step (allow.http: [{}])",
                host_port(&url),
                self.allow.0.join(", ")
            ));
        }
        let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", request.method))?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("the step's deadline has passed".to_owned());
        }
        let mut builder = self.client.request(method, url.clone()).timeout(left);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let canceled = self.canceled.clone();
        self.runtime.block_on(async move {
            tokio::select! {
                response = fetch(builder, &url) => response,
                () = until(&canceled) => Err("the step was canceled".to_owned()),
            }
        })
    }
}

async fn until(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(CANCEL_POLL).await;
    }
}

async fn fetch(builder: reqwest::RequestBuilder, url: &Url) -> Result<(u16, String), String> {
    let what = host_port(url);
    let response = builder.send().await.map_err(|e| {
        if e.is_timeout() {
            format!("http to {what}: no answer before the step's deadline")
        } else {
            format!(
                "http to {what}: {}",
                std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string)
            )
        }
    })?;
    let status = response.status().as_u16();
    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let body = shutter_kit::read_capped(response, RESPONSE_LIMIT)
        .await
        .map_err(|e| match e {
            shutter_kit::BodyError::TooLarge(_) => format!(
                "http to {what}: the response is larger than the limit of {RESPONSE_LIMIT} bytes"
            ),
            shutter_kit::BodyError::Read(e) => {
                format!("http to {what}: reading the response: {}", e.without_url())
            }
        })?;
    let body = String::from_utf8(body.to_vec())
        .map_err(|_| format!("http to {what}: the response body is not UTF-8 text"))?;
    Ok((
        status,
        json!({"status": status, "headers": headers, "body": body}).to_string(),
    ))
}

fn host_port(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(patterns: &[&str]) -> HttpAllow {
        HttpAllow::new(patterns.iter().map(|p| (*p).to_owned()))
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn hosts_ports_and_wildcards() {
        let grant = allow(&["API.example.com", "127.0.0.1:8080", "*.corp.test"]);
        assert!(grant.permits(&url("https://api.example.com/v1")));
        assert!(grant.permits(&url("http://api.example.com:81/")));
        assert!(grant.permits(&url("http://127.0.0.1:8080/x")));
        assert!(!grant.permits(&url("http://127.0.0.1:8081/x")));
        assert!(grant.permits(&url("https://a.b.corp.test/")));
        assert!(!grant.permits(&url("https://corp.test/")));
        assert!(!grant.permits(&url("https://evilcorp.test/")));
        assert!(!grant.permits(&url("https://api.example.com.evil.test/")));
        assert!(!allow(&[]).permits(&url("http://127.0.0.1/")));
        assert!(allow(&["[::1]:9000"]).permits(&url("http://[::1]:9000/")));
        assert!(!allow(&["*.0.0.1"]).permits(&url("http://127.0.0.1/")));
    }
}
