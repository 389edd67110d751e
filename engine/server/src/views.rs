//! What the API answers with: its own types, so storage can change without
//! changing the API, each with an OpenAPI schema. Public, so clients (the
//! CLI) read answers through the same types the server writes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::record::Event;
use shutter_core::{ExecutionRecord, ExecutionSnapshot, StepRecord};
use utoipa::ToSchema;

use crate::workflows::Version;

/// An execution without its steps, as listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExecutionSummary {
    /// UUIDv7: sorts by creation time.
    pub id: String,
    pub workflow: String,
    /// Content hash of the workflow version it runs.
    pub plan_hash: String,
    /// `queued`, `running`, `succeeded`, `succeeded_with_errors` (steps
    /// with `on_error: continue` failed), `failed` or `canceled`.
    pub state: String,
    #[schema(value_type = Object)]
    pub inputs: Json,
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Json>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Sequence number of the last event: grows with every change.
    pub version: u64,
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
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub execution: ExecutionSummary,
    pub steps: Vec<StepView>,
    /// Webhook deliveries (`notify:`), in the order they ended.
    pub notifications: Vec<NotificationView>,
    /// Webhook deliveries not ended yet (being tried, or waiting for an
    /// engine to take the execution over).
    pub pending_notifications: Vec<PendingNotificationView>,
}

impl From<&ExecutionSnapshot> for ExecutionDetail {
    fn from(snapshot: &ExecutionSnapshot) -> Self {
        Self {
            execution: ExecutionSummary::from(&snapshot.execution),
            steps: snapshot.steps.iter().map(StepView::from).collect(),
            notifications: snapshot
                .execution
                .notifications
                .iter()
                .map(NotificationView::from)
                .collect(),
            pending_notifications: snapshot
                .execution
                .pending_notices
                .iter()
                .map(PendingNotificationView::from)
                .collect(),
        }
    }
}

/// A webhook delivery not ended yet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingNotificationView {
    /// The delivery's id (its `Shutter-Delivery` header).
    pub id: String,
    pub event: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// When it was decided on.
    pub at: DateTime<Utc>,
}

impl From<&shutter_core::record::QueuedNotice> for PendingNotificationView {
    fn from(n: &shutter_core::record::QueuedNotice) -> Self {
        Self {
            id: n.id.clone(),
            event: n.event.as_str().to_owned(),
            target: n.target.clone(),
            step: n.step.clone(),
            at: n.at,
        }
    }
}

/// One webhook delivery, after all its tries.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    /// `started`, `succeeded`, `succeeded_with_errors`, `failed`,
    /// `canceled` or `step_failed`.
    pub event: String,
    /// The receiver: its sink's name, or its URL without query.
    pub target: String,
    /// The failed step, for `step_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// A 2xx answer came.
    pub delivered: bool,
    /// The last answer's status.
    pub status: Option<u16>,
    pub tries: u32,
    /// Why the last try failed.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<&shutter_core::record::Notification> for NotificationView {
    fn from(n: &shutter_core::record::Notification) -> Self {
        Self {
            event: n.event.as_str().to_owned(),
            target: n.target.clone(),
            step: n.step.clone(),
            delivered: n.delivery.delivered,
            status: n.delivery.status,
            tries: n.delivery.tries,
            error: n.delivery.error.clone(),
            at: n.at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    /// The step id, with `[N]` for an item of a `for_each` step.
    pub key: String,
    /// `pending`, `waiting` (for a slot of a limit pool), `running`,
    /// `retrying`, `succeeded`, `failed`, `skipped`, `canceled` or
    /// `compensated`.
    pub state: String,
    /// The limit pool a `waiting` step waits for a slot of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    pub attempts: Vec<AttemptView>,
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Json>,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub progress: Option<ProgressView>,
    pub compensation_error: Option<String>,
}

impl From<&StepRecord> for StepView {
    fn from(step: &StepRecord) -> Self {
        Self {
            key: step.key.to_string(),
            state: step.state.as_str().to_owned(),
            waiting_for: step.waiting_for.clone(),
            attempts: step
                .attempts
                .iter()
                .map(|attempt| AttemptView {
                    number: attempt.number,
                    started_at: attempt.started_at,
                    finished_at: attempt.finished_at,
                    error: attempt.error.clone(),
                    outputs: attempt.outputs.clone(),
                    params: attempt.params.clone(),
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Json>,
    /// What its parameters resolved to, the execution's secrets and the
    /// sensitive parameters' values hidden, a value over 4 KiB replaced by
    /// its size; absent for a step without parameters (or a try recorded
    /// before Shutter kept them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub params: Option<Json>,
    /// The engine stopped during this try; it was run again.
    pub interrupted: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProgressView {
    pub percent: u8,
    pub message: String,
}

/// A page of executions, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExecutionPage {
    pub items: Vec<ExecutionSummary>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Events of an execution, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Event>,
    /// Pass as `after` to read on.
    pub last_seq: u64,
    /// The execution has ended: no event will follow.
    pub finished: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    /// The event's sequence number: pass the last one as `after` to read on.
    pub seq: u64,
    /// The step key (with `[N]` for a `for_each` item).
    pub step: String,
    pub attempt: u32,
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogPage {
    pub lines: Vec<LogLine>,
    /// Pass as `after` for the next page; absent when this page was not full.
    pub next_after: Option<u64>,
}

/// A workflow as listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSummary {
    pub name: String,
    pub description: Option<String>,
    /// Content hash of the version new executions run.
    pub plan_hash: String,
    /// Versions kept (older ones are dropped past the server's limit).
    pub versions: usize,
    pub steps: usize,
    /// Cron expression and time zone, when scheduled.
    pub schedule: Option<String>,
    /// When the schedule fires next (the next three ticks, UTC); absent
    /// when not scheduled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_ticks: Vec<DateTime<Utc>>,
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
            next_ticks: workflow.schedule.as_ref().map_or_else(Vec::new, |s| {
                crate::schedule::next_ticks(&s.cron, s.timezone, Utc::now(), 3)
            }),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowList {
    pub items: Vec<WorkflowSummary>,
}

/// A workflow with its inputs, its YAML and its DAG.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDetail {
    #[serde(flatten)]
    pub summary: WorkflowSummary,
    /// Input name -> `{type, description, default, required, enum}`.
    #[schema(value_type = Object)]
    pub inputs: Json,
    pub definition: String,
    pub graph: GraphView,
    /// The plan hash of every version kept (the latest ten by default),
    /// oldest first.
    pub version_hashes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GraphView {
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    pub id: String,
    /// The action it runs (`wasm` for a WebAssembly module).
    pub uses: String,
    pub finally: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EdgeView {
    pub from: String,
    pub to: String,
    /// `needs` (written) or `implied` (an expression reads the other step).
    pub kind: String,
}

/// `POST /workflows/{name}/executions`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: serde_json::Map<String, Json>,
}

/// The error shape of every route.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Json>,
}

/// An entry of the backup catalog: an artifact Shutter made or adopted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackupView {
    /// The catalog's id (UUIDv7: sorts by when Shutter first recorded it).
    pub id: String,
    /// `ebs_snapshot`, `ami`, `glance_image` or `vsphere_snapshot`.
    pub kind: String,
    /// `aws`, `openstack` or `vsphere`.
    pub provider: String,
    /// Where it is: `{provider: aws, account, region}`,
    /// `{provider: openstack, auth_url, project, region}` or
    /// `{provider: vsphere, vcenter}` (the vCenter's instanceUuid).
    #[serde(rename = "where")]
    #[schema(value_type = Object)]
    pub location: Json,
    /// The same as one text: `aws:<account>:<region>`,
    /// `openstack:<project>:<region>@<auth_url>`, `vsphere:<vcenter>`.
    pub location_key: String,
    /// Its id where it is (`snap-...`, an image UUID, a snapshot moRef).
    pub native_id: String,
    /// What it is a backup of.
    pub source: Option<BackupSourceView>,
    /// The artifact it was made from, as `<location_key>/<native_id>`.
    pub derived_from: Option<String>,
    /// When the cloud made it.
    pub created_at: Option<DateTime<Utc>>,
    pub size_bytes: Option<u64>,
    pub tags: std::collections::BTreeMap<String, String>,
    /// The execution that made it (its backup set) and the step.
    pub execution: Option<String>,
    pub step: Option<String>,
    /// `available`, `deleted` or `missing`.
    pub state: String,
    /// When it entered `state`.
    pub state_at: DateTime<Utc>,
    /// When Shutter first recorded it.
    pub recorded_at: DateTime<Utc>,
    /// When an action last reported it or a reconcile last found it (for a
    /// `missing` entry: when it was last seen).
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When a restore test last proved it restorable.
    pub verified_at: Option<DateTime<Utc>>,
    /// The last restore test, passed or not.
    pub last_test: Option<RestoreTestView>,
}

/// A restore test's verdict on a backup.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RestoreTestView {
    pub passed: bool,
    /// What was checked, or what failed.
    pub detail: String,
    pub at: DateTime<Utc>,
    /// The execution and step that ran the test.
    pub execution: Option<String>,
    pub step: Option<String>,
}

/// What a backup is a backup of.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackupSourceView {
    /// `volume`, `instance`, `server` or `vm`.
    pub kind: String,
    /// Its id where it is (a volume id, a server UUID, a VM moRef).
    pub id: String,
    /// An id that outlives `id` (a VM's instanceUuid), if there is one.
    pub uuid: Option<String>,
    /// `<location_key>/<kind>/<id>`: what `?source=` matches, with `id`
    /// and `uuid`.
    #[serde(rename = "ref")]
    pub reference: String,
}

impl From<&shutter_core::Backup> for BackupView {
    fn from(entry: &shutter_core::Backup) -> Self {
        let artifact = &entry.artifact;
        Self {
            id: entry.id.clone(),
            kind: artifact.kind.as_str().to_owned(),
            provider: artifact.location.provider().to_owned(),
            location: serde_json::to_value(&artifact.location).unwrap_or(Json::Null),
            location_key: artifact.location.key(),
            native_id: artifact.native_id.clone(),
            source: artifact.source.as_ref().map(|source| BackupSourceView {
                kind: source.kind.clone(),
                id: source.id.clone(),
                uuid: source.uuid.clone(),
                reference: entry.source_ref().unwrap_or_default(),
            }),
            derived_from: artifact.derived_from.as_ref().map(ToString::to_string),
            created_at: artifact.created_at,
            size_bytes: artifact.size_bytes,
            tags: artifact.tags.clone(),
            execution: entry.execution.map(|e| e.to_string()),
            step: entry.step.clone(),
            state: entry.state.as_str().to_owned(),
            state_at: entry.state_at,
            recorded_at: entry.recorded_at,
            last_seen_at: entry.last_seen_at,
            verified_at: entry.verified_at,
            last_test: entry.last_test.as_ref().map(|test| RestoreTestView {
                passed: test.passed,
                detail: test.detail.clone(),
                at: test.at,
                execution: test.execution.map(|e| e.to_string()),
                step: test.step.clone(),
            }),
        }
    }
}

/// A page of the backup catalog, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackupPage {
    pub items: Vec<BackupView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}
