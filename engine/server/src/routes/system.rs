//! `/healthz`, `/metrics`, `/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value as Json_, json};
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: answers while the server runs (no token needed).
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Json_> {
    Json(json!({"status": "ok", "running": state.runner().count()}))
}

/// Prometheus exposition format.
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let by_state = state.store().count_by_state().await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.0.metrics.render(&by_state),
    ))
}

/// The API's OpenAPI document, generated from the handlers and views.
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::ApiDoc::openapi())
}
