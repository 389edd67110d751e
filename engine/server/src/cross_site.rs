//! Refusing cross-site requests that change state (CSRF).
//!
//! A web page can make the operator's browser send a "simple" request to
//! the loopback API — a form or `fetch(..., {mode: "no-cors"})` with a
//! `text/plain` body — and no token stops it when none is configured. So a
//! request that may change state (any method but GET, HEAD, OPTIONS) is
//! refused when the browser says it is cross-site (`Sec-Fetch-Site`), when
//! its `Origin` is not this server, and when its body is not JSON or YAML
//! (a type no page can send without a CORS preflight, which this server
//! never grants).

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub(crate) async fn check(request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    let form = FORM_PATHS.contains(&request.uri().path());
    match refusal(request.headers(), form) {
        Some(error) => error.into_response(),
        None => next.run(request).await,
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The console's sign-in and sign-out, posted by a plain HTML form (which
/// can only send form types): the `Sec-Fetch-Site` and `Origin` checks
/// still hold for them, so no other site can sign a browser in or out.
const FORM_PATHS: [&str; 2] = ["/ui/sign-in", "/ui/sign-out"];

/// Why a state-changing request must be refused, if it must. `form`: a
/// form body is what the route expects.
fn refusal(headers: &HeaderMap, form: bool) -> Option<ApiError> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Some(forbidden(format!(
            "a {site} request from a web page cannot change anything here"
        )));
    }
    if let Some(origin) = text(header::ORIGIN.as_str())
        && !same_origin(origin, text(header::HOST.as_str()))
    {
        return Some(forbidden(format!(
            "requests from the web page `{}` cannot change anything here",
            origin.chars().take(200).collect::<String>()
        )));
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || text(header::CONTENT_LENGTH.as_str()).is_some_and(|length| length.trim() != "0");
    match text(header::CONTENT_TYPE.as_str()) {
        Some(kind) if form && is_form(kind) => None,
        Some(kind) if !is_json_or_yaml(kind) => Some(unsupported(kind)),
        None if has_body => Some(unsupported("none")),
        _ => None,
    }
}

/// Whether `Origin` (`scheme://host[:port]`) is this server, as named by
/// `Host` (already checked to be one of our names).
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host.trim()))
}

/// `application/json`, `application/*+json` and the YAML types, with any
/// parameters (`; charset=utf-8`).
pub(crate) fn is_json_or_yaml(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/json"
            | "application/yaml"
            | "application/x-yaml"
            | "text/yaml"
            | "text/x-yaml"
    ) || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn is_form(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn forbidden(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "cross_site", message)
}

fn unsupported(kind: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!(
            "a request body must be JSON (`application/json`) or, for workflows, YAML (`application/yaml`), not `{}`",
            kind.chars().take(100).collect::<String>()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn code(pairs: &[(&'static str, &'static str)]) -> Option<&'static str> {
        refusal(&headers(pairs), false).map(|error| error.code)
    }

    /// Checks that each request (its headers) is refused with `expected`.
    fn refused_as(expected: &str, requests: &[&[(&'static str, &'static str)]]) {
        for pairs in requests {
            assert_eq!(code(pairs), Some(expected), "{pairs:?}");
        }
    }

    #[test]
    fn browsers_cross_site_requests_are_refused() {
        let host = ("host", "127.0.0.1:8080");
        refused_as(
            "cross_site",
            &[
                &[host, ("sec-fetch-site", "cross-site")],
                &[host, ("sec-fetch-site", "same-site")],
                &[host, ("origin", "http://localhost:3000")],
                &[host, ("origin", "null")],
            ],
        );
        assert_eq!(
            code(&[
                host,
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin"),
                ("content-type", "application/json"),
                ("content-length", "2"),
            ]),
            None
        );
    }

    #[test]
    fn only_json_and_yaml_bodies_are_read() {
        let host = ("host", "127.0.0.1:8080");
        refused_as(
            "unsupported_media_type",
            &[
                &[
                    host,
                    ("content-type", "text/plain"),
                    ("content-length", "9"),
                ],
                &[host, ("content-type", "application/x-www-form-urlencoded")],
                &[host, ("content-length", "12")],
            ],
        );
        // No body at all (a cancel from a script): nothing to refuse.
        assert_eq!(code(&[host, ("content-length", "0")]), None);
        assert_eq!(code(&[host]), None);
        assert!(is_json_or_yaml("application/json; charset=utf-8"));
        assert!(is_json_or_yaml("application/merge-patch+json"));
        assert!(is_json_or_yaml("Application/YAML"));
        assert!(!is_json_or_yaml("multipart/form-data; boundary=x"));
    }

    #[test]
    fn the_sign_in_form_is_read_from_this_site_only() {
        let host = ("host", "127.0.0.1:8080");
        let form = ("content-type", "application/x-www-form-urlencoded");
        let signed_in = |pairs: &[(&'static str, &'static str)]| {
            refusal(&headers(pairs), true).map(|error| error.code)
        };
        assert_eq!(
            signed_in(&[host, form, ("origin", "http://127.0.0.1:8080")]),
            None
        );
        assert_eq!(
            signed_in(&[host, form, ("origin", "http://evil.example")]),
            Some("cross_site")
        );
        assert_eq!(
            signed_in(&[host, form, ("sec-fetch-site", "cross-site")]),
            Some("cross_site")
        );
        assert_eq!(
            signed_in(&[
                host,
                ("content-type", "text/plain"),
                ("content-length", "3")
            ]),
            Some("unsupported_media_type")
        );
    }
}
