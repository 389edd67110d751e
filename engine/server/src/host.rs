//! The `Host` check: a request must name this server. A web page whose
//! name an attacker points at 127.0.0.1 (DNS rebinding) sends its own name
//! in `Host`, so refusing names we do not know keeps such pages from
//! reading or driving the API.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The names a request may give in `Host`: loopback names and IP literals
/// always (an address cannot be rebound), plus the names configured.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
}

impl AllowedHosts {
    /// `names`: DNS names clients use for this server (`--allowed-host`),
    /// without a port.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            names: names
                .into_iter()
                .map(|name| name.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|name| !name.is_empty())
                .collect(),
        }
    }

    /// Whether a `Host` header value names this server.
    pub fn allows(&self, host: &str) -> bool {
        let name = strip_port(host.trim()).trim_end_matches('.');
        if name.is_empty() {
            return false;
        }
        let name = name.to_ascii_lowercase();
        let address = match name.strip_prefix('[') {
            Some(bracketed) => bracketed
                .strip_suffix(']')
                .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok()),
            None => name.parse::<std::net::Ipv4Addr>().is_ok(),
        };
        name == "localhost" || address || self.names.contains(&name)
    }
}

/// `name`, `name:port`, `[v6]` or `[v6]:port` without the port.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Refuses requests whose `Host` this server does not answer to (421).
/// A request without `Host` (HTTP/1.0, in-process calls) is no browser's.
pub(crate) async fn check(
    State(allowed): State<AllowedHosts>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().unwrap_or(""));
    match host {
        Some(host) if !allowed.allows(host) => ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            format!(
                "this server does not answer to the name `{}`; start it with --allowed-host NAME to add one",
                host.chars().take(200).collect::<String>()
            ),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses_are_ours_other_names_are_not() {
        let allowed = AllowedHosts::new(["Shutter.Example.com".to_owned()]);
        for ours in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "127.0.0.1:8080",
            "10.1.2.3",
            "[::1]:8080",
            "[::1]",
            "shutter.example.com:443",
        ] {
            assert!(allowed.allows(ours), "{ours}");
        }
        for foreign in [
            "attacker.example",
            "attacker.example:8080",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "",
            ":8080",
            "[::1",
        ] {
            assert!(!allowed.allows(foreign), "{foreign}");
        }
    }
}
