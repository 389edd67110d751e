//! An `ETag` on every successful GET: routes that know a cheaper tag (an
//! execution's version) set it themselves; for the rest it is a hash of the
//! body, and `If-None-Match` answers 304 either way.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::extract::if_none_match;

/// Larger bodies are refused rather than buffered (no route answers one).
const MAX_HASHED_BODY: usize = 64 << 20;

/// The tag of a body: what a route that answers 304 itself (a list's long
/// poll) must give, so that its tags are the ones a client already holds.
pub(crate) fn of_body(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

pub(crate) async fn tag(request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let known = if_none_match(request.headers());
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(header::ETAG) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_HASHED_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let tag = of_body(&bytes);
    if let Ok(value) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, value);
    }
    if known.iter().any(|known| *known == tag || known == "*") {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        if let Some(value) = parts.headers.get(header::ETAG).cloned() {
            not_modified.headers_mut().insert(header::ETAG, value);
        }
        return not_modified;
    }
    Response::from_parts(parts, Body::from(bytes))
}
