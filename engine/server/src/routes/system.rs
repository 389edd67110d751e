//! `/healthz`, `/metrics`, `/openapi.json`.

use std::fmt::Write as _;

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
    let mut text = state.0.metrics.render(&by_state);
    // This node's load beside the cluster-wide counts above: scraping every
    // node shows who runs what and who has room.
    let _ = write!(
        text,
        "# HELP shutter_node_executions_running Executions this node runs now.
# TYPE shutter_node_executions_running gauge
shutter_node_executions_running {}
         # HELP shutter_node_executions_max Executions this node runs at most (--max-executions).
# TYPE shutter_node_executions_max gauge
shutter_node_executions_max {}
",
        state.runner().count(),
        state.runner().max_running()
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// The API's OpenAPI document, generated from the handlers and views.
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::ApiDoc::openapi())
}
