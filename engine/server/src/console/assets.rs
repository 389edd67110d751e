//! The stylesheet and the script, embedded in the binary (no CDN, no
//! build step at run time). Pages link them with `?v=<fingerprint>`, a
//! hash of their content, so they can be cached for a year: a new build
//! with other assets links other URLs.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// Hashed once: the assets cannot change while the process runs.
static FINGERPRINT: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    hasher.update(CSS.as_bytes());
    hasher.update(JS.as_bytes());
    hex::encode(&hasher.finalize()[..6])
});

/// What pages append to the assets' URLs.
pub(crate) fn fingerprint() -> &'static str {
    FINGERPRINT.as_str()
}

pub(crate) async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

pub(crate) async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
