//! vRO-shaped aliases, so clients written for vRealize Orchestrator's REST
//! API start and poll Shutter executions unchanged.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use shutter_core::ExecutionRecord;

use crate::error::ApiError;
use crate::extract::{JsonBody, execution_id, idempotency_key};
use crate::routes::workflows::{latest, set_location, start_execution};
use crate::state::AppState;
use crate::vro;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StartBody {
    #[serde(default)]
    parameters: Vec<vro::Parameter>,
}

/// `POST /vco/api/workflows/{name}/executions`: 202 and the execution's
/// `Location`, as vRO answers.
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StartBody>,
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

/// `GET /vco/api/workflows/{name}/executions/{id}` in vRO's shape.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Json_>, ApiError> {
    let record = record(&state, &name, &id).await?;
    Ok(Json(shape(&record)))
}

/// `GET .../executions/{id}/state` -> `{"value": "running|completed|failed|canceled"}`.
pub(crate) async fn get_state(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Json_>, ApiError> {
    let record = record(&state, &name, &id).await?;
    Ok(Json(json!({"value": vro::state(record.state)})))
}

/// `DELETE .../executions/{id}/state`: vRO's cancel.
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

fn date(time: Option<shutter_core::record::Timestamp>) -> Json_ {
    time.map_or(Json_::Null, |t| {
        json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false))
    })
}

fn parameters(values: Option<&Json_>) -> Vec<Json_> {
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
fn shape(record: &ExecutionRecord) -> Json_ {
    let mut shape = json!({
        "id": record.id.to_string(),
        "name": record.workflow,
        "state": vro::state(record.state),
        "start-date": date(record.started_at.or(Some(record.created_at))),
        "input-parameters": parameters(Some(&record.inputs)),
        "output-parameters": parameters(record.outputs.as_ref()),
    });
    if let Some(end) = record.finished_at {
        shape["end-date"] = date(Some(end));
    }
    if let Some(error) = &record.error {
        shape["content-exception"] = json!(error);
    }
    shape
}
