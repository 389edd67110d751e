//! Bearer tokens: the API token for every route but the public ones
//! (`/healthz`, `/openapi.json`, the console's sign-in and static files),
//! and the admin token for registering workflows. A console session
//! (a cookie made by signing in with a token) opens what its token opens.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::session;

/// The token clients must present, when one is configured.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A token; leading and trailing whitespace (a newline at the end of a
    /// token file) is not part of it.
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self(token.to_owned()))
    }

    /// Compares in time independent of where the first difference is, so
    /// response timing does not reveal a prefix of the token.
    /// The token itself, to key the console's session MACs with.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, presented: &str) -> bool {
        shutter_core::mac::same_in_constant_time(self.0.as_bytes(), presented.as_bytes())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Who may call which route: the tokens configured and whether
/// registering workflows is open to anyone who can reach the server.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The token every route but the public ones requires, when set.
    pub token: Option<Token>,
    /// The token registering workflows requires; it also opens every
    /// other route.
    pub admin_token: Option<Token>,
    /// Without an admin token, let anyone who may call the other routes
    /// register workflows (`--allow-anonymous-admin`).
    pub allow_anonymous_admin: bool,
}

/// Routes that hold no data, answered without a token (the `Host` check
/// and the cross-site refusal still apply: they are layers of their own).
pub(crate) const PUBLIC: [&str; 2] = ["/healthz", "/openapi.json"];

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Holds no data: answered to anyone.
    Public,
    /// Reads and starts: the API token, when one is set.
    Client,
    /// Registers code that runs with the host's credentials.
    Admin,
}

fn class(method: &axum::http::Method, path: &str) -> Class {
    match path {
        _ if PUBLIC.contains(&path) => Class::Public,
        // The console's door and its static files: no data in them.
        "/" | "/ui/sign-in" | "/ui/sign-out" => Class::Public,
        _ if path.starts_with("/ui/assets/") => Class::Public,
        "/workflows" if method == axum::http::Method::POST => Class::Admin,
        _ => Class::Client,
    }
}

/// Checks the bearer token a route needs, or the console's session cookie
/// (made with that token: see `session`).
pub(crate) async fn require(
    State(access): State<Access>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let is = |token: &Option<Token>| {
        token
            .as_ref()
            .zip(presented)
            .is_some_and(|(token, presented)| token.matches(presented))
    };
    let session = session::role(request.headers(), &access, chrono::Utc::now().timestamp());
    let path = request.uri().path();
    let allowed = match class(request.method(), path) {
        Class::Public => Ok(()),
        Class::Client => {
            if access.token.is_none()
                || is(&access.token)
                || is(&access.admin_token)
                || session.is_some()
            {
                Ok(())
            } else if path.starts_with("/ui/") && request.method() == axum::http::Method::GET {
                // A person at a browser: to the sign-in form, and back.
                let wanted = request
                    .uri()
                    .path_and_query()
                    .map_or(path, axum::http::uri::PathAndQuery::as_str);
                Err(Redirect::to(&format!("/ui/sign-in?next={}", next_of(wanted))).into_response())
            } else {
                Err(unauthorized())
            }
        }
        Class::Admin => {
            let open = access.admin_token.is_none() && access.allow_anonymous_admin;
            let client = access.token.is_none() || is(&access.token) || session.is_some();
            if is(&access.admin_token) || session == Some(session::Role::Admin) || (open && client)
            {
                Ok(())
            } else if access.admin_token.is_none() && !open {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "admin_required",
                    "registering a workflow is an admin act (its steps run with this host's credentials): start the server with --admin-token-file, or --allow-anonymous-admin",
                )
                .into_response())
            } else {
                Err(unauthorized())
            }
        }
    };
    match allowed {
        Ok(()) => next.run(request).await,
        Err(response) => response,
    }
}

/// A console page (path and query) as the sign-in form's `next`, with
/// every character that could end the parameter or the URL escaped.
fn next_of(path: &str) -> String {
    path.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn unauthorized() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid bearer token is required",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_routes_without_data_are_public() {
        use axum::http::Method;
        for path in PUBLIC {
            assert_eq!(class(&Method::GET, path), Class::Public, "{path}");
        }
        for path in ["/metrics", "/executions", "/openapi.json/", "/healthz/x"] {
            assert_eq!(class(&Method::GET, path), Class::Client, "{path}");
        }
        assert_eq!(class(&Method::POST, "/workflows"), Class::Admin);
        for path in ["/", "/ui/sign-in", "/ui/assets/console.css"] {
            assert_eq!(class(&Method::GET, path), Class::Public, "{path}");
        }
        for path in ["/ui/executions", "/ui/executions/x", "/ui/assets"] {
            assert_eq!(class(&Method::GET, path), Class::Client, "{path}");
        }
    }

    #[test]
    fn a_next_page_cannot_leave_the_parameter() {
        assert_eq!(next_of("/ui/executions/0a-b"), "/ui/executions/0a-b");
        assert_eq!(next_of("/ui/x&next=//evil"), "/ui/x%26next%3D//evil");
    }

    #[test]
    fn tokens_compare_exactly() {
        let token = Token::new("s3cret\n").expect("not empty");
        assert!(token.matches("s3cret"));
        assert!(!token.matches("s3cre"));
        assert!(!token.matches("s3cret!"));
        assert!(!token.matches("S3cret"));
        assert!(!token.matches(""));
        assert!(Token::new("  \n").is_none());
    }
}
