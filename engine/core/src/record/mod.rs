//! Execution records and the changes that build them.
//!
//! Every state change is a [`Change`]: the store appends it to the
//! execution's event log (with a sequence number) and folds it into the
//! records with [`ExecutionRecord::apply`] and [`StepRecord::apply`]. The
//! fold lives here (`fold.rs`), once, so every store backend projects the
//! same way.

mod fold;
mod rfc3339;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::backup::{BackupRef, BackupState, Census, NewBackup};
use crate::ids::{ExecutionId, StepKey};
use crate::notify::{Delivery, NotifyEvent};
use crate::state::{ExecutionState, StepState};

pub type Timestamp = DateTime<Utc>;

/// What is needed to create an execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewExecution {
    pub id: ExecutionId,
    pub workflow: String,
    pub plan_hash: String,
    /// The YAML the execution runs, so it can be resumed and audited.
    pub source: String,
    /// Where the YAML was read from, for paths relative to it.
    pub source_path: Option<String>,
    pub inputs: Json,
    /// Steps of the plan, in file order: each starts `pending`.
    pub steps: Vec<String>,
    pub created_at: Timestamp,
    /// A client's key for this start (HTTP `Idempotency-Key`): creating a
    /// second execution with the same key returns the first instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The workflow's `concurrency:` for this execution, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<ConcurrencyKey>,
}

/// A workflow's `concurrency: {key, policy}` for one execution: executions
/// with the same key never run at once, across every engine sharing the
/// store (see [`crate::Store::holds_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcurrencyKey {
    /// The key, with the workflow's name before it (`backup/vm-42`).
    pub key: String,
    /// `skip`: the execution is not created while another holds the key
    /// ([`crate::StoreError::Busy`]); else (`queue`) it waits its turn.
    pub skip: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub id: ExecutionId,
    pub workflow: String,
    pub plan_hash: String,
    pub state: ExecutionState,
    pub inputs: Json,
    pub outputs: Option<Json>,
    pub error: Option<String>,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created_at: Timestamp,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    pub started_at: Option<Timestamp>,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    pub finished_at: Option<Timestamp>,
    /// Sequence number of the last event; changes whenever the record does.
    pub last_seq: u64,
    /// Webhook deliveries (`notify:`), in the order they ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
    /// Webhook deliveries decided on and not ended yet: an engine that
    /// takes the execution over (its own died) sends them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_notices: Vec<QueuedNotice>,
}

impl ExecutionRecord {
    /// Whether an engine still has work to do for it: it has not ended, or
    /// webhook deliveries of it are pending. An orphan sweep takes such
    /// executions over.
    pub fn needs_engine(&self) -> bool {
        !self.state.is_terminal() || !self.pending_notices.is_empty()
    }
}

/// A webhook delivery decided on: recorded in the same write as the change
/// that caused it, so a dead engine cannot lose it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedNotice {
    /// The delivery's id (the `Shutter-Delivery` header), the same on every
    /// try and after a takeover, so a receiver can drop a repeat.
    pub id: String,
    pub event: NotifyEvent,
    /// Which entry of the workflow's `notify:` it goes to (the URL is not
    /// stored: it may hold a token).
    pub receiver: usize,
    /// The receiver as records show it.
    pub target: String,
    /// The step, for `step_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What is sent (secrets already redacted).
    pub body: Json,
    pub at: Timestamp,
}

/// One webhook delivery of an execution, after all its tries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub event: NotifyEvent,
    /// The receiver: its sink's name, or its URL without query or
    /// credentials.
    pub target: String,
    /// The step, for `step_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The delivery's id, as queued ([`QueuedNotice::id`]); none in records
    /// written before deliveries were queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub delivery: Delivery,
    pub at: Timestamp,
}

/// How one try of a step ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub number: u32,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub started_at: Timestamp,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    pub finished_at: Option<Timestamp>,
    pub error: Option<String>,
    pub outputs: Option<Json>,
    /// What its parameters resolved to (secrets hidden), when it had any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Json>,
    /// The engine stopped during this try; it does not count against `retry`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub percent: u8,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub key: StepKey,
    pub state: StepState,
    pub attempts: Vec<AttemptRecord>,
    pub outputs: Option<Json>,
    pub error: Option<String>,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    pub started_at: Option<Timestamp>,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    pub finished_at: Option<Timestamp>,
    /// When a `retrying` step tries again.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    pub next_attempt_at: Option<Timestamp>,
    /// The limit pool a `waiting` step waits for a slot of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// A durable timer (`core.sleep`): when it fires, whatever the restarts.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    pub timer: Option<Timestamp>,
    pub progress: Option<Progress>,
    /// The items of a `for_each` step, fixed once expanded.
    pub items: Option<Vec<Json>>,
    /// Event sequence at which the step succeeded: compensation runs in
    /// reverse order of it.
    pub succeeded_seq: Option<u64>,
    /// Why a compensation failed, if it did.
    pub compensation_error: Option<String>,
    /// Tries before this index were made before a retry of the execution:
    /// they are history and do not count against `retry`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub counted_from: usize,
}

impl StepRecord {
    pub fn new(key: StepKey) -> Self {
        Self {
            key,
            state: StepState::Pending,
            attempts: Vec::new(),
            outputs: None,
            error: None,
            started_at: None,
            finished_at: None,
            next_attempt_at: None,
            waiting_for: None,
            timer: None,
            progress: None,
            items: None,
            succeeded_seq: None,
            compensation_error: None,
            counted_from: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One state change. Stored as the event log; folded into the records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    ExecutionStarted {
        at: Timestamp,
    },
    ExecutionFinished {
        state: ExecutionState,
        outputs: Option<Json>,
        error: Option<String>,
        at: Timestamp,
    },
    /// A `for_each` step's items, evaluated once.
    StepExpanded {
        key: StepKey,
        items: Vec<Json>,
        at: Timestamp,
    },
    /// The step waits for a slot of a limit pool (`limit:`) before its
    /// next try.
    StepWaiting {
        key: StepKey,
        pool: String,
        at: Timestamp,
    },
    AttemptStarted {
        key: StepKey,
        attempt: u32,
        at: Timestamp,
    },
    /// What a try's parameters resolved to, with the execution's secrets
    /// and what sensitive parameters resolved to hidden; recorded with the
    /// try's outcome (a step without parameters records none).
    AttemptParams {
        key: StepKey,
        attempt: u32,
        params: Json,
        /// When they were resolved (the try's start).
        at: Timestamp,
    },
    /// A try was cut short by an engine stop; the step runs again with the
    /// same idempotency key.
    AttemptInterrupted {
        key: StepKey,
        attempt: u32,
        at: Timestamp,
    },
    /// A try failed; the next one starts at `next_at`.
    AttemptRetrying {
        key: StepKey,
        attempt: u32,
        error: String,
        next_at: Timestamp,
        at: Timestamp,
    },
    StepSucceeded {
        key: StepKey,
        attempt: u32,
        outputs: Json,
        at: Timestamp,
    },
    StepFailed {
        key: StepKey,
        attempt: Option<u32>,
        error: String,
        at: Timestamp,
    },
    StepSkipped {
        key: StepKey,
        reason: String,
        at: Timestamp,
    },
    StepCanceled {
        key: StepKey,
        reason: String,
        at: Timestamp,
    },
    StepCompensated {
        key: StepKey,
        at: Timestamp,
    },
    /// A retry of the execution runs this step again: back to `pending`,
    /// its earlier tries kept as history but no longer counted.
    StepReset {
        key: StepKey,
        at: Timestamp,
    },
    /// A failed or canceled execution runs again from its unfinished steps.
    ExecutionRetried {
        at: Timestamp,
    },
    /// A webhook delivery was decided on (an event its receiver asked
    /// for happened): written with the change that caused it.
    NotifyQueued {
        notice: QueuedNotice,
    },
    /// A webhook delivery ended (delivered, refused or out of tries).
    Notified {
        notification: Notification,
    },
    CompensationFailed {
        key: StepKey,
        error: String,
        at: Timestamp,
    },
    TimerSet {
        key: StepKey,
        fires_at: Timestamp,
        at: Timestamp,
    },
    Log {
        key: StepKey,
        attempt: u32,
        level: LogLevel,
        message: String,
        at: Timestamp,
    },
    Progress {
        key: StepKey,
        percent: u8,
        message: String,
        at: Timestamp,
    },
    /// The step made (or adopted) an artifact: an entry of the backup
    /// catalog, written with the step's result.
    BackupRecorded {
        key: StepKey,
        /// Boxed: the other changes are a fraction of its size.
        backup: Box<NewBackup>,
        at: Timestamp,
    },
    /// The step changed what the catalog should say of an artifact (a
    /// delete action: `deleted`).
    BackupMarked {
        key: StepKey,
        backup: BackupRef,
        state: BackupState,
        at: Timestamp,
    },
    /// A reconcile's findings at one place (`backups.sync`): what it found
    /// is in the catalog, what was there before and was not found is
    /// `missing`.
    BackupsCounted {
        key: StepKey,
        census: Box<Census>,
        at: Timestamp,
    },
    /// A restore test's verdict on an artifact (`backups.record_test`):
    /// restored and checked (`passed`), or what failed.
    BackupTested {
        key: StepKey,
        backup: BackupRef,
        passed: bool,
        detail: String,
        at: Timestamp,
    },
}

impl Change {
    /// The step this change is about, if any.
    pub fn step(&self) -> Option<&StepKey> {
        match self {
            Self::ExecutionStarted { .. }
            | Self::ExecutionFinished { .. }
            | Self::ExecutionRetried { .. }
            | Self::NotifyQueued { .. }
            | Self::Notified { .. } => None,
            Self::StepExpanded { key, .. }
            | Self::StepWaiting { key, .. }
            | Self::AttemptStarted { key, .. }
            | Self::AttemptParams { key, .. }
            | Self::AttemptInterrupted { key, .. }
            | Self::AttemptRetrying { key, .. }
            | Self::StepSucceeded { key, .. }
            | Self::StepFailed { key, .. }
            | Self::StepSkipped { key, .. }
            | Self::StepCanceled { key, .. }
            | Self::StepCompensated { key, .. }
            | Self::StepReset { key, .. }
            | Self::CompensationFailed { key, .. }
            | Self::TimerSet { key, .. }
            | Self::Log { key, .. }
            | Self::Progress { key, .. }
            | Self::BackupRecorded { key, .. }
            | Self::BackupMarked { key, .. }
            | Self::BackupsCounted { key, .. }
            | Self::BackupTested { key, .. } => Some(key),
        }
    }

    /// The snake-case name stored in the event log's `type` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ExecutionStarted { .. } => "execution_started",
            Self::ExecutionFinished { .. } => "execution_finished",
            Self::StepExpanded { .. } => "step_expanded",
            Self::StepWaiting { .. } => "step_waiting",
            Self::AttemptStarted { .. } => "attempt_started",
            Self::AttemptParams { .. } => "attempt_params",
            Self::AttemptInterrupted { .. } => "attempt_interrupted",
            Self::AttemptRetrying { .. } => "attempt_retrying",
            Self::StepSucceeded { .. } => "step_succeeded",
            Self::StepFailed { .. } => "step_failed",
            Self::StepSkipped { .. } => "step_skipped",
            Self::StepCanceled { .. } => "step_canceled",
            Self::StepCompensated { .. } => "step_compensated",
            Self::StepReset { .. } => "step_reset",
            Self::ExecutionRetried { .. } => "execution_retried",
            Self::NotifyQueued { .. } => "notify_queued",
            Self::Notified { .. } => "notified",
            Self::CompensationFailed { .. } => "compensation_failed",
            Self::TimerSet { .. } => "timer_set",
            Self::Log { .. } => "log",
            Self::Progress { .. } => "progress",
            Self::BackupRecorded { .. } => "backup_recorded",
            Self::BackupMarked { .. } => "backup_marked",
            Self::BackupsCounted { .. } => "backups_counted",
            Self::BackupTested { .. } => "backup_tested",
        }
    }

    /// Whether the change alters a step record (logs only go to the event
    /// log, catalog changes to the catalog).
    pub fn touches_step_record(&self) -> bool {
        self.step().is_some()
            && !matches!(
                self,
                Self::Log { .. }
                    | Self::BackupRecorded { .. }
                    | Self::BackupMarked { .. }
                    | Self::BackupsCounted { .. }
                    | Self::BackupTested { .. }
            )
    }

    /// Whether the change is for the backup catalog.
    pub fn is_backup(&self) -> bool {
        matches!(
            self,
            Self::BackupRecorded { .. }
                | Self::BackupMarked { .. }
                | Self::BackupsCounted { .. }
                | Self::BackupTested { .. }
        )
    }
}

/// An entry of an execution's append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    #[serde(flatten)]
    pub change: Change,
}

impl ExecutionRecord {
    pub fn new(new: &NewExecution) -> Self {
        Self {
            id: new.id,
            workflow: new.workflow.clone(),
            plan_hash: new.plan_hash.clone(),
            state: ExecutionState::Queued,
            inputs: new.inputs.clone(),
            outputs: None,
            error: None,
            created_at: new.created_at,
            started_at: None,
            finished_at: None,
            last_seq: 0,
            notifications: Vec::new(),
            pending_notices: Vec::new(),
        }
    }
}

impl StepRecord {
    /// Tries that count against the `retry` policy.
    pub fn counted_attempts(&self) -> u32 {
        let counted = self
            .attempts
            .iter()
            .skip(self.counted_from)
            .filter(|a| !a.interrupted)
            .count();
        u32::try_from(counted).unwrap_or(u32::MAX)
    }
}

/// An execution with all its steps: what resume and `show` read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSnapshot {
    pub execution: ExecutionRecord,
    pub source: String,
    pub source_path: Option<String>,
    pub steps: Vec<StepRecord>,
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}
