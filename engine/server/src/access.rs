//! The access log: one line per request, through `tracing` (so it follows
//! `shutter serve --log-format`): method, path without its query (a query
//! may carry filters a reader did not mean to publish; no token is ever in
//! a URL), status and how long the answer took to start.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

pub(crate) async fn log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let began = Instant::now();
    let response = next.run(request).await;
    let duration_ms = (began.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    tracing::info!(
        target: "shutter::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        duration_ms,
    );
    response
}
