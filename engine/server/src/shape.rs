//! Every refusal in the API's one error shape, whoever produced it.
//!
//! Handlers answer with `ApiError`, but axum's own rejections (a method not
//! allowed, a body over the limit, a bad query string or path, a wrong
//! content type) are plain text or empty. This layer rewrites any error
//! response that is not JSON (nor a console page's HTML) into `{"error": {"code", "message"}}`, keeping
//! axum's explanation as the message, and logs the refusal once. It also
//! refuses request targets longer than [`MAX_URI`] (414).

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Longest request target (path and query) read.
pub(crate) const MAX_URI: usize = 8 << 10;

/// Longest plain-text explanation kept from a rejection.
const MAX_MESSAGE: usize = 4 << 10;

pub(crate) async fn errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // The path only: a query string may carry what a client would not log.
    let path: String = request.uri().path().chars().take(200).collect();
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |t| t.as_str().len());
    let response = if target > MAX_URI {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {target} bytes, more than the limit of {MAX_URI}"),
        )
        .into_response()
    } else {
        next.run(request).await
    };
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // JSON is the API's shape already; HTML is a console page meant for
    // a person (the sign-in form saying the token was wrong).
    let response = if is_json(&response) || is_html(&response) {
        response
    } else {
        reshape(response).await
    };
    if status.is_client_error() {
        tracing::info!("{method} {path}: {status}");
    }
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|kind| kind.starts_with("application/json"))
}

/// Whether the response is a page (the console's), not the API's JSON.
pub(crate) fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|kind| kind.starts_with("text/html"))
}

async fn reshape(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let status = parts.status;
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_lowercase()
    } else {
        text
    };
    let mut shaped = ApiError::new(status, code(status), message).into_response();
    // Keep what the rejection said besides its body (`Allow` on a 405).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

/// The error code for a status no handler chose.
fn code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        _ if status.is_server_error() => "internal",
        _ => "refused",
    }
}
