//! `/healthz`, `/metrics`, `/openapi.json`.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::ApiError;
use crate::state::AppState;

/// What `/healthz` answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`: the server answers.
    status: String,
    /// Executions this node runs now.
    running: usize,
}

/// Liveness: answers while the server runs. Needs no token (it holds no data).
#[utoipa::path(get, path = "/healthz", tag = "system", operation_id = "getHealth",
    responses((status = 200, body = Health)))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        running: state.runner().count(),
    })
}

/// Prometheus text exposition format (0.0.4): `shutter_executions{state}`,
/// `shutter_workflow_executions{workflow,state}` (the workflows this
/// server serves) and `shutter_queue_depth` (counted in the store:
/// cluster-wide),
/// `shutter_steps_running`, the `shutter_step_duration_seconds{outcome}`
/// histogram, `shutter_node_executions_running` and
/// `shutter_node_executions_max` (this node's).
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "getMetrics",
    responses((status = 200, description = "Prometheus text exposition format, version 0.0.4", body = String,
               content_type = "text/plain; version=0.0.4"),
              (status = 503, description = "the store is unavailable", body = crate::views::ErrorBody)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let by_workflow = state.store().count_by_workflow().await?;
    let workflows: Vec<String> = state
        .workflows()
        .all_latest()
        .iter()
        .map(|version| version.plan.workflow.name.to_string())
        .collect();
    let mut text = state.0.metrics.render(&by_workflow, &workflows);
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

/// This document: the API's OpenAPI 3.1 description, generated from the
/// handlers and views. Needs no token (it holds no data).
#[utoipa::path(get, path = "/openapi.json", tag = "system", operation_id = "getOpenApi",
    responses((status = 200, description = "an OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::ApiDoc::openapi())
}
