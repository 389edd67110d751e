//! A fake vRealize Orchestrator: the documented REST shapes of workflow
//! executions, nothing more (no catalog, no inventory, no signals).
//!
//! Workflows it knows:
//! - `echo`: runs for three state polls, then completes; its outputs are
//!   its inputs, plus `greeting` (a string) and `vm` (an sdk-object).
//! - `fails`: fails after two polls with a content-exception.
//! - `needs-input`: runs one poll, waits for user interaction for two,
//!   then completes.
//! - `forever`: runs until canceled.
//!
//! Auth: basic `vro-user:vro-pass` or bearer `vro-token`; anything else is 401.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};

pub const USER: &str = "vro-user";
pub const PASSWORD: &str = "vro-pass";
pub const TOKEN: &str = "vro-token";
/// `vro-user:vro-pass`, base64.
const BASIC: &str = "Basic dnJvLXVzZXI6dnJvLXBhc3M=";

#[derive(Debug)]
struct Execution {
    workflow: String,
    state: &'static str,
    polls: u32,
    inputs: Json,
}

impl Execution {
    /// Not ended yet: a poll moves it along, a cancel ends it.
    fn going(&self) -> bool {
        matches!(self.state, "running" | "waiting")
    }
}

#[derive(Debug, Default)]
struct Fake {
    executions: Mutex<HashMap<String, Execution>>,
    next: AtomicU64,
}

/// Starts the fake on 127.0.0.1; its base URL (`http://127.0.0.1:PORT`).
/// It lives as long as the test's runtime.
pub async fn start() -> String {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route(
            "/vco/api/workflows/{workflow}/executions",
            post(start_execution),
        )
        .route(
            "/vco/api/workflows/{workflow}/executions/{id}",
            get(execution),
        )
        .route(
            "/vco/api/workflows/{workflow}/executions/{id}/state",
            get(state).delete(cancel),
        )
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn authorized(headers: &HeaderMap) -> bool {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    value == Some(BASIC) || value == Some(&format!("Bearer {TOKEN}"))
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"status": status.as_u16(), "message": message})),
    )
        .into_response()
}

/// Checks the documented parameter shape: name, type, scope, and a value
/// wrapped in exactly one type key.
fn well_formed(parameters: &Json) -> bool {
    parameters.as_array().is_some_and(|list| {
        list.iter().all(|p| {
            p["name"].is_string()
                && p["type"].is_string()
                && p["scope"] == "local"
                && p["value"].as_object().is_some_and(|v| v.len() == 1)
        })
    })
}

async fn start_execution(
    State(fake): State<Arc<Fake>>,
    Path(workflow): Path<String>,
    headers: HeaderMap,
    body: axum::Json<Json>,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    if !["echo", "fails", "needs-input", "forever"].contains(&workflow.as_str()) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Workflow with id {workflow} not found"),
        );
    }
    let parameters = body
        .0
        .get("parameters")
        .cloned()
        .unwrap_or_else(|| json!([]));
    if !well_formed(&parameters) {
        return error(StatusCode::BAD_REQUEST, "malformed parameters");
    }
    let id = format!("exec-{}", fake.next.fetch_add(1, Ordering::Relaxed));
    fake.executions.lock().unwrap().insert(
        id.clone(),
        Execution {
            workflow: workflow.clone(),
            state: "running",
            polls: 0,
            inputs: parameters,
        },
    );
    let location = format!("/vco/api/workflows/{workflow}/executions/{id}/");
    (StatusCode::ACCEPTED, [(header::LOCATION, location)]).into_response()
}

/// A request about one execution (`.../{workflow}/executions/{id}...`):
/// what every handler but the start extracts.
struct ExecutionRequest {
    fake: Arc<Fake>,
    workflow: String,
    id: String,
    headers: HeaderMap,
}

impl FromRequestParts<Arc<Fake>> for ExecutionRequest {
    type Rejection = PathRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        fake: &Arc<Fake>,
    ) -> Result<Self, PathRejection> {
        let Path((workflow, id)) =
            Path::<(String, String)>::from_request_parts(parts, fake).await?;
        Ok(Self {
            fake: Arc::clone(fake),
            workflow,
            id,
            headers: parts.headers.clone(),
        })
    }
}

impl ExecutionRequest {
    /// Answers with `answer`, once the caller is authorized (401 otherwise)
    /// and the execution is found (404 otherwise).
    fn answer(&self, answer: impl FnOnce(&mut Execution) -> Response) -> Response {
        if !authorized(&self.headers) {
            return error(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let mut executions = self.fake.executions.lock().unwrap();
        match executions
            .get_mut(&self.id)
            .filter(|e| e.workflow == self.workflow)
        {
            Some(execution) => answer(execution),
            None => error(StatusCode::NOT_FOUND, "execution not found"),
        }
    }
}

/// Each state poll moves an execution along its workflow's script.
async fn state(request: ExecutionRequest) -> Response {
    request.answer(|execution| {
        if execution.going() {
            execution.polls += 1;
            execution.state = match (execution.workflow.as_str(), execution.polls) {
                ("echo", n) if n > 3 => "completed",
                ("fails", n) if n > 2 => "failed",
                ("needs-input", 2 | 3) => "waiting",
                ("needs-input", n) if n > 3 => "completed",
                (_, _) => execution.state,
            };
        }
        axum::Json(json!({"value": execution.state})).into_response()
    })
}

async fn execution(request: ExecutionRequest) -> Response {
    request.answer(|execution| {
        let mut outputs = execution.inputs.as_array().cloned().unwrap_or_default();
        if execution.state == "completed" {
            outputs.push(json!({"name": "greeting", "type": "string", "scope": "local", "value": {"string": {"value": "hello"}}}));
            outputs.push(
                json!({"name": "vm", "type": "VC:VirtualMachine", "scope": "local",
                "value": {"sdk-object": {"type": "VC:VirtualMachine", "id": "vc-1/vm-42"}}}),
            );
        } else {
            outputs.clear();
        }
        let mut body = json!({
            "id": request.id,
            "state": execution.state,
            "start-date": "2026-01-01T00:00:00.000+00:00",
            "input-parameters": execution.inputs,
            "output-parameters": outputs,
        });
        if execution.state != "running" {
            body["end-date"] = json!("2026-01-01T00:00:05.000+00:00");
        }
        if execution.state == "failed" {
            body["content-exception"] =
                json!("Error in (Workflow:fails / Scriptable task (item1)#3) : datastore is full");
        }
        axum::Json(body).into_response()
    })
}

async fn cancel(request: ExecutionRequest) -> Response {
    request.answer(|execution| {
        if execution.going() {
            execution.state = "canceled";
        }
        StatusCode::NO_CONTENT.into_response()
    })
}
