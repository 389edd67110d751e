//! `/workflows`: register, list, describe, and start executions.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shutter_core::Secrets;
use shutter_dsl::Source;
use shutter_runtime::WorkflowSource;

use crate::error::ApiError;
use crate::extract::{JsonBody, idempotency_key};
use crate::kept;
use crate::state::AppState;
use crate::views::{
    EdgeView, ExecutionSummary, GraphView, NodeView, StartRequest, WorkflowDetail, WorkflowList,
    WorkflowSummary,
};
use crate::workflows::{Registered, Version};

/// Registers a workflow (YAML body). A new content is a new version, which
/// new executions run; the same content again changes nothing.
#[utoipa::path(post, path = "/workflows", tag = "workflows", operation_id = "registerWorkflow",
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, description = "a new workflow or version", body = WorkflowDetail,
               headers(("Location" = String, description = "`/workflows/{name}`"))),
              (status = 200, description = "the same content again: nothing changed", body = WorkflowDetail,
               headers(("Location" = String, description = "`/workflows/{name}`"))),
              (status = 422, description = "the compiler's diagnostics in `error.details`", body = crate::views::ErrorBody)))]
pub(crate) async fn register(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let source = Source::from_bytes("workflow.yaml", body.to_vec()).map_err(|diagnostic| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_workflow",
            diagnostic.message.clone(),
        )
    })?;
    let now = chrono::Utc::now();
    let (version, registered) = state
        .workflows()
        .register(&source, None, state.engine().catalog(), now)
        .map_err(|diagnostics| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_workflow",
                format!("the workflow has {} problem(s)", diagnostics.len()),
            )
            .with_details(json!(diagnostics.items))
        })?;
    // Kept before answering, so every node (and this one after a restart)
    // can run what the client was told is registered.
    kept::keep(&state, &version).await?;
    let name = version.plan.workflow.name.to_string();
    let status = match registered {
        Registered::New => StatusCode::CREATED,
        Registered::Unchanged => StatusCode::OK,
    };
    let mut response = (status, Json(detail(&state, &version))).into_response();
    set_location(&mut response, &format!("/workflows/{name}"));
    Ok(response)
}

/// Every workflow this server runs (its latest version).
#[utoipa::path(get, path = "/workflows", tag = "workflows", operation_id = "listWorkflows", responses((status = 200, body = WorkflowList)))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<WorkflowList>, ApiError> {
    for problem in kept::refresh(&state).await? {
        tracing::warn!("{problem}");
    }
    let items = state
        .workflows()
        .all_latest()
        .iter()
        .map(|version| {
            let count = state
                .workflows()
                .versions(version.plan.workflow.name.as_str())
                .len();
            WorkflowSummary::new(version, count)
        })
        .collect();
    Ok(Json(WorkflowList { items }))
}

/// A workflow: its inputs, its YAML and its DAG.
#[utoipa::path(get, path = "/workflows/{name}", params(("name" = String, Path)), tag = "workflows", operation_id = "getWorkflow",
    responses((status = 200, body = WorkflowDetail), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkflowDetail>, ApiError> {
    let version = latest(&state, &name).await?;
    Ok(Json(detail(&state, &version)))
}

/// Starts an execution of the workflow's latest version. With an
/// `Idempotency-Key` header, a repeated request returns the execution the
/// first one started (200) instead of starting another.
#[utoipa::path(post, path = "/workflows/{name}/executions", tag = "workflows", operation_id = "startExecution",
    params(("name" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = StartRequest,
    responses((status = 201, description = "started", body = ExecutionSummary,
               headers(("Location" = String, description = "`/executions/{id}`"))),
              (status = 200, description = "the execution an earlier request with the same `Idempotency-Key` started", body = ExecutionSummary,
               headers(("Location" = String, description = "`/executions/{id}`"))),
              (status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody),
              (status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<StartRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let (record, created) =
        start_execution(&state, &name, &request.inputs, key, Secrets::default()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(ExecutionSummary::from(&record))).into_response();
    set_location(&mut response, &format!("/executions/{}", record.id));
    Ok(response)
}

/// What a run of the workflow's latest version with these inputs would
/// do, without doing it: steps that only read run for real (what a query
/// finds, what retention would delete), the others are shown with their
/// parameters resolved. Nothing is recorded.
#[utoipa::path(post, path = "/workflows/{name}/plan", tag = "workflows", operation_id = "planExecution",
    params(("name" = String, Path)),
    request_body = StartRequest,
    responses((status = 200, description = "what a run would do", body = shutter_runtime::DryRun),
              (status = 404, body = crate::views::ErrorBody),
              (status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn plan(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<StartRequest>,
) -> Result<Json<shutter_runtime::DryRun>, ApiError> {
    let version = latest(&state, &name).await?;
    let dry = state
        .engine()
        .dry_run(&version.plan, &request.inputs, version.path.as_deref())
        .await?;
    Ok(Json(dry))
}

/// Starts (or, by key, finds) an execution of `name` and runs it, with
/// `secrets` given for it alone (never stored). Shared with the vRO-shaped
/// route and the scheduler.
pub(crate) async fn start_execution(
    state: &AppState,
    name: &str,
    inputs: &serde_json::Map<String, serde_json::Value>,
    key: Option<String>,
    secrets: Secrets,
) -> Result<(shutter_core::ExecutionRecord, bool), ApiError> {
    let version = latest(state, name).await?;
    let source = WorkflowSource {
        text: version.source.clone(),
        path: version.path.clone(),
    };
    // A `skip` concurrency key held by another is refused by the store
    // (409 `concurrency_busy`); a `queue` one waits its turn once running.
    let started = state
        .engine()
        .start_once(&version.plan, source, inputs, key.clone())
        .await?;
    if !started.created {
        if started.record.workflow != name {
            return Err(ApiError::conflict(
                "idempotency_key_reused",
                format!(
                    "Idempotency-Key `{}` already started an execution of another workflow",
                    key.unwrap_or_default()
                ),
            ));
        }
        return Ok((started.record, false));
    }
    state.engine().give_secrets(started.record.id, secrets);
    let claim = started
        .claim
        .unwrap_or_else(|| shutter_core::Claim::created(started.record.id));
    state.runner().launch(claim, version.plan.clone());
    Ok((started.record, true))
}

/// The version of `name` new executions run; one this node does not know
/// yet may have been registered on another node: the store is asked.
pub(crate) async fn latest(state: &AppState, name: &str) -> Result<Arc<Version>, ApiError> {
    if let Some(version) = state.workflows().latest(name) {
        return Ok(version);
    }
    for problem in kept::refresh(state).await? {
        tracing::warn!("{problem}");
    }
    state
        .workflows()
        .latest(name)
        .ok_or_else(|| ApiError::not_found(format_args!("workflow `{name}`")))
}

fn detail(state: &AppState, version: &Version) -> WorkflowDetail {
    let plan = &version.plan;
    let workflow = &plan.workflow;
    let versions = state.workflows().versions(workflow.name.as_str());
    WorkflowDetail {
        summary: WorkflowSummary::new(version, versions.len()),
        inputs: serde_json::to_value(&workflow.inputs).unwrap_or_default(),
        definition: version.source.clone(),
        graph: GraphView {
            nodes: workflow
                .steps
                .values()
                .map(|step| NodeView {
                    id: step.id.to_string(),
                    uses: step.call.action.name().to_owned(),
                    finally: step.finally,
                })
                .collect(),
            edges: plan
                .edges()
                .into_iter()
                .map(|(from, to, kind)| EdgeView {
                    from: from.to_string(),
                    to: to.to_string(),
                    kind: match kind {
                        shutter_dsl::EdgeKind::Needs => "needs",
                        shutter_dsl::EdgeKind::Implied => "implied",
                    }
                    .to_owned(),
                })
                .collect(),
        },
        version_hashes: versions.iter().map(|v| v.plan.hash.to_string()).collect(),
    }
}

pub(crate) fn set_location(response: &mut Response, location: &str) {
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
}
