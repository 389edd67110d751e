//! vRO-shaped aliases, so clients written for vRealize Orchestrator's REST
//! API start and poll Shutter executions unchanged.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use shutter_core::ExecutionRecord;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{JsonBody, execution_id, idempotency_key};
use crate::routes::workflows::{latest, set_location, start_execution};
use crate::state::AppState;
use crate::vro::{self, VroParameter};

/// A start request as vRO clients send it.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct VroStartRequest {
    /// The workflow's inputs as typed parameters; a `secure-string` one is
    /// a secret of the execution (the workflow must list it under
    /// `secrets`), never stored or echoed.
    #[serde(default)]
    parameters: Vec<VroParameter>,
}

/// An execution as vRO describes one.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VroExecution {
    /// The execution's id (UUIDv7).
    id: String,
    /// The workflow's name.
    name: String,
    /// `running` (also while queued), `completed`, `failed` or `canceled`.
    state: String,
    /// When it started (when it was created, while queued), RFC 3339.
    #[serde(rename = "start-date")]
    start_date: String,
    /// When it ended, RFC 3339; absent while it runs.
    #[serde(rename = "end-date", skip_serializing_if = "Option::is_none")]
    end_date: Option<String>,
    /// Its inputs, as typed parameters.
    #[serde(rename = "input-parameters")]
    input_parameters: Vec<VroParameter>,
    /// Its outputs, as typed parameters (none until it succeeds).
    #[serde(rename = "output-parameters")]
    output_parameters: Vec<VroParameter>,
    /// Why it failed; absent unless it did.
    #[serde(rename = "content-exception", skip_serializing_if = "Option::is_none")]
    content_exception: Option<String>,
}

/// An execution's state alone, as vRO answers it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VroState {
    /// `running` (also while queued), `completed`, `failed` or `canceled`.
    value: String,
}

/// vRO-shaped start: 202 and the execution's `Location`, ending with `/`
/// as vRO's does (a GET of it answers the execution). With an
/// `Idempotency-Key` header, a repeated request answers the execution the
/// first one started.
#[utoipa::path(post, path = "/vco/api/workflows/{name}/executions", tag = "vro", operation_id = "vroStartExecution",
    params(("name" = String, Path, description = "The workflow's name (vRO: its id)."),
           ("Idempotency-Key" = Option<String>, Header, description = "A repeated request with the same key answers the execution the first one started.")),
    request_body = VroStartRequest,
    responses((status = 202, description = "started (or, by key, found)", body = VroExecution,
               headers(("Location" = String, description = "`/vco/api/workflows/{name}/executions/{id}/`"))),
              (status = 400, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody),
              (status = 409, body = crate::views::ErrorBody), (status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<VroStartRequest>,
) -> Result<Response, ApiError> {
    let given = vro::given(&body.parameters)
        .map_err(|err| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_inputs", err))?;
    let declared = &latest(&state, &name).await?.plan.workflow.secrets;
    if let Some(undeclared) = given.secrets.keys().find(|n| !declared.contains(n)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_inputs",
            format!(
                "parameter `{undeclared}` is a secure-string, which becomes a secret of the execution: the workflow must list it under `secrets`"
            ),
        ));
    }
    let key = idempotency_key(&headers)?;
    let secrets = shutter_core::Secrets::new(given.secrets);
    let (record, _) = start_execution(&state, &name, &given.inputs, key, secrets).await?;
    let mut response = (StatusCode::ACCEPTED, Json(shape(&record))).into_response();
    set_location(
        &mut response,
        &format!("/vco/api/workflows/{name}/executions/{}/", record.id),
    );
    Ok(response)
}

/// An execution of the workflow, in vRO's shape.
#[utoipa::path(get, path = "/vco/api/workflows/{name}/executions/{id}", tag = "vro", operation_id = "vroGetExecution",
    params(("name" = String, Path, description = "The workflow's name."), ("id" = String, Path, description = "The execution's id.")),
    responses((status = 200, body = VroExecution), (status = 304), (status = 400, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<VroExecution>, ApiError> {
    let record = record(&state, &name, &id).await?;
    Ok(Json(shape(&record)))
}

/// The same as `vroGetExecution`, at the URL the start answers in
/// `Location` (with vRO's trailing `/`).
#[utoipa::path(get, path = "/vco/api/workflows/{name}/executions/{id}/", tag = "vro", operation_id = "vroGetExecutionAtLocation",
    params(("name" = String, Path, description = "The workflow's name."), ("id" = String, Path, description = "The execution's id.")),
    responses((status = 200, body = VroExecution), (status = 304), (status = 400, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get_at_location(
    state: State<AppState>,
    path: Path<(String, String)>,
) -> Result<Json<VroExecution>, ApiError> {
    get(state, path).await
}

/// The execution's state alone: `running` (also while queued),
/// `completed`, `failed` or `canceled`.
#[utoipa::path(get, path = "/vco/api/workflows/{name}/executions/{id}/state", tag = "vro", operation_id = "vroGetExecutionState",
    params(("name" = String, Path, description = "The workflow's name."), ("id" = String, Path, description = "The execution's id.")),
    responses((status = 200, body = VroState), (status = 304), (status = 400, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get_state(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<VroState>, ApiError> {
    let record = record(&state, &name, &id).await?;
    Ok(Json(VroState {
        value: vro::state(record.state).to_owned(),
    }))
}

/// vRO's cancel: steps stop, `finally` steps still run. An execution that
/// has ended already is answered alike (204).
#[utoipa::path(delete, path = "/vco/api/workflows/{name}/executions/{id}/state", tag = "vro", operation_id = "vroCancelExecution",
    params(("name" = String, Path, description = "The workflow's name."), ("id" = String, Path, description = "The execution's id.")),
    responses((status = 204, description = "canceled, or ended already"), (status = 400, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let record = record(&state, &name, &id).await?;
    // Ended already, or ending as asked: vRO answers both alike. Kept in
    // the store too, for whichever node runs it (or takes it over).
    if !record.state.is_terminal() {
        state.runner().cancel(record.id);
        state.engine().request_cancel(record.id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn record(state: &AppState, name: &str, id: &str) -> Result<ExecutionRecord, ApiError> {
    let id = execution_id(id.trim_end_matches('/'))?;
    state
        .store()
        .get(id)
        .await?
        .filter(|record| record.workflow == name)
        .ok_or_else(|| ApiError::not_found(format_args!("execution {id} of workflow `{name}`")))
}

fn date(time: shutter_core::record::Timestamp) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

fn parameters(values: Option<&Json_>) -> Vec<VroParameter> {
    values
        .and_then(Json_::as_object)
        .map(|object| {
            object
                .iter()
                .map(|(name, value)| vro::parameter(name, value))
                .collect()
        })
        .unwrap_or_default()
}

/// An execution as vRO describes one.
fn shape(record: &ExecutionRecord) -> VroExecution {
    VroExecution {
        id: record.id.to_string(),
        name: record.workflow.clone(),
        state: vro::state(record.state).to_owned(),
        start_date: date(record.started_at.unwrap_or(record.created_at)),
        end_date: record.finished_at.map(date),
        input_parameters: parameters(Some(&record.inputs)),
        output_parameters: parameters(record.outputs.as_ref()),
        content_exception: record.error.clone(),
    }
}
