//! What the API answers with: its own types, so storage can change without
//! changing the API, each with an OpenAPI schema.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_runtime::record::Event;
use shutter_runtime::{ExecutionRecord, ExecutionSnapshot, StepRecord};
use utoipa::ToSchema;

use crate::workflows::Version;

/// An execution without its steps, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExecutionSummary {
    /// UUIDv7: sorts by creation time.
    pub(crate) id: String,
    pub(crate) workflow: String,
    /// Content hash of the workflow version it runs.
    pub(crate) plan_hash: String,
    /// `queued`, `running`, `succeeded`, `failed` or `canceled`.
    pub(crate) state: String,
    #[schema(value_type = Object)]
    pub(crate) inputs: Json,
    #[schema(value_type = Option<Object>)]
    pub(crate) outputs: Option<Json>,
    pub(crate) error: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    /// Sequence number of the last event: grows with every change.
    pub(crate) version: u64,
}

impl From<&ExecutionRecord> for ExecutionSummary {
    fn from(record: &ExecutionRecord) -> Self {
        Self {
            id: record.id.to_string(),
            workflow: record.workflow.clone(),
            plan_hash: record.plan_hash.clone(),
            state: record.state.as_str().to_owned(),
            inputs: record.inputs.clone(),
            outputs: record.outputs.clone(),
            error: record.error.clone(),
            created_at: record.created_at,
            started_at: record.started_at,
            finished_at: record.finished_at,
            version: record.last_seq,
        }
    }
}

/// An execution with every step.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExecutionDetail {
    #[serde(flatten)]
    pub(crate) execution: ExecutionSummary,
    pub(crate) steps: Vec<StepView>,
}

impl From<&ExecutionSnapshot> for ExecutionDetail {
    fn from(snapshot: &ExecutionSnapshot) -> Self {
        Self {
            execution: ExecutionSummary::from(&snapshot.execution),
            steps: snapshot.steps.iter().map(StepView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StepView {
    /// The step id, with `[N]` for an item of a `for_each` step.
    pub(crate) key: String,
    /// `pending`, `running`, `retrying`, `succeeded`, `failed`, `skipped`,
    /// `canceled` or `compensated`.
    pub(crate) state: String,
    pub(crate) attempts: Vec<AttemptView>,
    #[schema(value_type = Option<Object>)]
    pub(crate) outputs: Option<Json>,
    pub(crate) error: Option<String>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    pub(crate) progress: Option<ProgressView>,
    pub(crate) compensation_error: Option<String>,
}

impl From<&StepRecord> for StepView {
    fn from(step: &StepRecord) -> Self {
        Self {
            key: step.key.to_string(),
            state: step.state.as_str().to_owned(),
            attempts: step
                .attempts
                .iter()
                .map(|attempt| AttemptView {
                    number: attempt.number,
                    started_at: attempt.started_at,
                    finished_at: attempt.finished_at,
                    error: attempt.error.clone(),
                    outputs: attempt.outputs.clone(),
                    interrupted: attempt.interrupted,
                })
                .collect(),
            outputs: step.outputs.clone(),
            error: step.error.clone(),
            started_at: step.started_at,
            finished_at: step.finished_at,
            next_attempt_at: step.next_attempt_at,
            progress: step.progress.as_ref().map(|p| ProgressView {
                percent: p.percent,
                message: p.message.clone(),
            }),
            compensation_error: step.compensation_error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptView {
    pub(crate) number: u32,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) error: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub(crate) outputs: Option<Json>,
    /// The engine stopped during this try; it was run again.
    pub(crate) interrupted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProgressView {
    pub(crate) percent: u8,
    pub(crate) message: String,
}

/// A page of executions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExecutionPage {
    pub(crate) items: Vec<ExecutionSummary>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// Events of an execution, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    #[schema(value_type = Vec<Object>)]
    pub(crate) events: Vec<Event>,
    /// Pass as `after` to read on.
    pub(crate) last_seq: u64,
    /// The execution has ended: no event will follow.
    pub(crate) finished: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LogLine {
    /// The event's sequence number: pass the last one as `after` to read on.
    pub(crate) seq: u64,
    /// The step key (with `[N]` for a `for_each` item).
    pub(crate) step: String,
    pub(crate) attempt: u32,
    /// `debug`, `info`, `warn` or `error`.
    pub(crate) level: String,
    pub(crate) message: String,
    pub(crate) at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LogPage {
    pub(crate) lines: Vec<LogLine>,
    /// Pass as `after` for the next page; absent when this page was not full.
    pub(crate) next_after: Option<u64>,
}

/// A workflow as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkflowSummary {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// Content hash of the version new executions run.
    pub(crate) plan_hash: String,
    /// Versions kept (older ones are dropped past the server's limit).
    pub(crate) versions: usize,
    pub(crate) steps: usize,
    /// Cron expression and time zone, when scheduled.
    pub(crate) schedule: Option<String>,
}

impl WorkflowSummary {
    pub(crate) fn new(version: &Version, versions: usize) -> Self {
        let workflow = &version.plan.workflow;
        Self {
            name: workflow.name.to_string(),
            description: workflow.description.clone(),
            plan_hash: version.plan.hash.to_string(),
            versions,
            steps: workflow.steps.len(),
            schedule: workflow
                .schedule
                .as_ref()
                .map(|s| format!("{} ({})", s.cron, s.timezone)),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkflowList {
    pub(crate) items: Vec<WorkflowSummary>,
}

/// A workflow with its inputs, its YAML and its DAG.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkflowDetail {
    #[serde(flatten)]
    pub(crate) summary: WorkflowSummary,
    /// Input name -> `{type, description, default, required, enum}`.
    #[schema(value_type = Object)]
    pub(crate) inputs: Json,
    pub(crate) definition: String,
    pub(crate) graph: GraphView,
    /// The plan hash of every version kept (the latest ten by default),
    /// oldest first.
    pub(crate) version_hashes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GraphView {
    pub(crate) nodes: Vec<NodeView>,
    pub(crate) edges: Vec<EdgeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NodeView {
    pub(crate) id: String,
    /// The action it runs (`wasm` for a WebAssembly module).
    pub(crate) uses: String,
    pub(crate) finally: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EdgeView {
    pub(crate) from: String,
    pub(crate) to: String,
    /// `needs` (written) or `implied` (an expression reads the other step).
    pub(crate) kind: String,
}

/// `POST /workflows/{name}/executions`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartRequest {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub(crate) inputs: serde_json::Map<String, Json>,
}

/// The error shape of every route.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    pub(crate) code: String,
    pub(crate) message: String,
    #[schema(value_type = Option<Object>)]
    pub(crate) details: Option<Json>,
}
