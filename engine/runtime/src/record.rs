//! Execution records and the changes that build them.
//!
//! Every state change is a [`Change`]: the store appends it to the
//! execution's event log (with a sequence number) and folds it into the
//! records with [`ExecutionRecord::apply`] and [`StepRecord::apply`]. The
//! fold lives here, once, so every store backend projects the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::ids::{ExecutionId, StepKey};
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
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Sequence number of the last event; changes whenever the record does.
    pub last_seq: u64,
}

/// How one try of a step ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub number: u32,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub error: Option<String>,
    pub outputs: Option<Json>,
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
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// When a `retrying` step tries again.
    pub next_attempt_at: Option<Timestamp>,
    /// A durable timer (`core.sleep`): when it fires, whatever the restarts.
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
    AttemptStarted {
        key: StepKey,
        attempt: u32,
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
}

impl Change {
    /// The step this change is about, if any.
    pub fn step(&self) -> Option<&StepKey> {
        match self {
            Self::ExecutionStarted { .. }
            | Self::ExecutionFinished { .. }
            | Self::ExecutionRetried { .. } => None,
            Self::StepExpanded { key, .. }
            | Self::AttemptStarted { key, .. }
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
            | Self::Progress { key, .. } => Some(key),
        }
    }

    /// The snake-case name stored in the event log's `type` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ExecutionStarted { .. } => "execution_started",
            Self::ExecutionFinished { .. } => "execution_finished",
            Self::StepExpanded { .. } => "step_expanded",
            Self::AttemptStarted { .. } => "attempt_started",
            Self::AttemptInterrupted { .. } => "attempt_interrupted",
            Self::AttemptRetrying { .. } => "attempt_retrying",
            Self::StepSucceeded { .. } => "step_succeeded",
            Self::StepFailed { .. } => "step_failed",
            Self::StepSkipped { .. } => "step_skipped",
            Self::StepCanceled { .. } => "step_canceled",
            Self::StepCompensated { .. } => "step_compensated",
            Self::StepReset { .. } => "step_reset",
            Self::ExecutionRetried { .. } => "execution_retried",
            Self::CompensationFailed { .. } => "compensation_failed",
            Self::TimerSet { .. } => "timer_set",
            Self::Log { .. } => "log",
            Self::Progress { .. } => "progress",
        }
    }

    /// Whether the change alters a step record (logs only go to the event log).
    pub fn touches_step_record(&self) -> bool {
        self.step().is_some() && !matches!(self, Self::Log { .. })
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
        }
    }

    /// Folds one change (with its sequence number) into the record.
    pub fn apply(&mut self, seq: u64, change: &Change) {
        self.last_seq = seq;
        match change {
            Change::ExecutionStarted { at } => {
                self.state = ExecutionState::Running;
                self.started_at.get_or_insert(*at);
            }
            Change::ExecutionFinished {
                state,
                outputs,
                error,
                at,
            } => {
                self.state = *state;
                self.outputs.clone_from(outputs);
                self.error.clone_from(error);
                self.finished_at = Some(*at);
            }
            Change::ExecutionRetried { .. } => {
                self.state = ExecutionState::Running;
                self.outputs = None;
                self.error = None;
                self.finished_at = None;
            }
            _ => {}
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

    /// Folds one change about this step into the record.
    pub fn apply(&mut self, seq: u64, change: &Change) {
        match change {
            Change::StepExpanded { items, .. } => self.items = Some(items.clone()),
            Change::AttemptStarted { attempt, at, .. } => {
                self.state = StepState::Running;
                self.started_at.get_or_insert(*at);
                self.next_attempt_at = None;
                self.attempts.push(AttemptRecord {
                    number: *attempt,
                    started_at: *at,
                    finished_at: None,
                    error: None,
                    outputs: None,
                    interrupted: false,
                });
            }
            Change::AttemptInterrupted { attempt, at, .. } => {
                self.finish_attempt(
                    *attempt,
                    *at,
                    Some("interrupted: the engine stopped during this try".to_owned()),
                    None,
                );
                if let Some(last) = self
                    .attempts
                    .iter_mut()
                    .rev()
                    .find(|a| a.number == *attempt)
                {
                    last.interrupted = true;
                }
            }
            Change::AttemptRetrying {
                attempt,
                error,
                next_at,
                at,
                ..
            } => {
                self.state = StepState::Retrying;
                self.next_attempt_at = Some(*next_at);
                self.finish_attempt(*attempt, *at, Some(error.clone()), None);
            }
            Change::StepSucceeded {
                attempt,
                outputs,
                at,
                ..
            } => {
                self.state = StepState::Succeeded;
                self.outputs = Some(outputs.clone());
                self.finished_at = Some(*at);
                self.succeeded_seq = Some(seq);
                self.finish_attempt(*attempt, *at, None, Some(outputs.clone()));
            }
            Change::StepFailed {
                attempt, error, at, ..
            } => {
                self.state = StepState::Failed;
                self.error = Some(error.clone());
                self.finished_at = Some(*at);
                if let Some(attempt) = attempt {
                    self.finish_attempt(*attempt, *at, Some(error.clone()), None);
                }
            }
            Change::StepSkipped { reason, at, .. } => {
                self.state = StepState::Skipped;
                self.error = Some(reason.clone());
                self.finished_at = Some(*at);
            }
            Change::StepCanceled { reason, at, .. } => {
                self.state = StepState::Canceled;
                self.error = Some(reason.clone());
                self.finished_at = Some(*at);
                if let Some(last) = self.attempts.last_mut().filter(|a| a.finished_at.is_none()) {
                    last.finished_at = Some(*at);
                    last.error = Some(reason.clone());
                }
            }
            Change::StepCompensated { .. } => self.state = StepState::Compensated,
            Change::StepReset { .. } => {
                self.state = StepState::Pending;
                self.outputs = None;
                self.error = None;
                self.finished_at = None;
                self.next_attempt_at = None;
                self.timer = None;
                self.progress = None;
                self.succeeded_seq = None;
                self.compensation_error = None;
                self.counted_from = self.attempts.len();
            }
            Change::CompensationFailed { error, .. } => {
                self.compensation_error = Some(error.clone());
            }
            Change::TimerSet { fires_at, .. } => self.timer = Some(*fires_at),
            Change::Progress {
                percent, message, ..
            } => {
                self.progress = Some(Progress {
                    percent: *percent,
                    message: message.clone(),
                });
            }
            Change::Log { .. }
            | Change::ExecutionStarted { .. }
            | Change::ExecutionFinished { .. }
            | Change::ExecutionRetried { .. } => {}
        }
    }

    fn finish_attempt(
        &mut self,
        number: u32,
        at: Timestamp,
        error: Option<String>,
        outputs: Option<Json>,
    ) {
        if let Some(attempt) = self.attempts.iter_mut().rev().find(|a| a.number == number) {
            attempt.finished_at = Some(at);
            attempt.error = error;
            attempt.outputs = outputs;
        }
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
