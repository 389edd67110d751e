//! How changes fold into records: the one projection every store backend
//! applies, so they all show the same execution.

use serde_json::Value as Json;

use super::{AttemptRecord, Change, ExecutionRecord, Progress, StepRecord, Timestamp};
use crate::state::{ExecutionState, StepState};

impl ExecutionRecord {
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
            Change::NotifyQueued { notice } => self.pending_notices.push(notice.clone()),
            Change::Notified { notification } => {
                if let Some(id) = &notification.id {
                    self.pending_notices.retain(|notice| &notice.id != id);
                }
                self.notifications.push(notification.clone());
            }
            _ => {}
        }
    }
}

impl StepRecord {
    /// Folds one change about this step into the record.
    pub fn apply(&mut self, seq: u64, change: &Change) {
        match change {
            Change::StepExpanded { items, .. } => self.items = Some(items.clone()),
            Change::StepWaiting { pool, .. } => {
                self.state = StepState::Waiting;
                self.waiting_for = Some(pool.clone());
            }
            Change::AttemptStarted { attempt, at, .. } => self.start_attempt(*attempt, *at),
            Change::AttemptParams {
                attempt, params, ..
            } => {
                if let Some(tried) = self.attempts.iter_mut().find(|a| a.number == *attempt) {
                    tried.params = Some(params.clone());
                }
            }
            Change::AttemptInterrupted { attempt, at, .. } => {
                self.interrupt_attempt(*attempt, *at);
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
            } => self.succeed(seq, *attempt, outputs, *at),
            Change::StepFailed {
                attempt, error, at, ..
            } => {
                self.end(StepState::Failed, error, *at);
                if let Some(attempt) = attempt {
                    self.finish_attempt(*attempt, *at, Some(error.clone()), None);
                }
            }
            Change::StepSkipped { reason, at, .. } => self.end(StepState::Skipped, reason, *at),
            Change::StepCanceled { reason, at, .. } => {
                self.end(StepState::Canceled, reason, *at);
                if let Some(last) = self.attempts.last_mut().filter(|a| a.finished_at.is_none()) {
                    last.finished_at = Some(*at);
                    last.error = Some(reason.clone());
                }
            }
            Change::StepCompensated { .. } => self.state = StepState::Compensated,
            Change::StepReset { .. } => self.reset(),
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
            | Change::BackupRecorded { .. }
            | Change::BackupMarked { .. }
            | Change::BackupsCounted { .. }
            | Change::BackupTested { .. }
            | Change::ExecutionStarted { .. }
            | Change::ExecutionFinished { .. }
            | Change::ExecutionRetried { .. }
            | Change::NotifyQueued { .. }
            | Change::Notified { .. } => {}
        }
    }

    fn start_attempt(&mut self, number: u32, at: Timestamp) {
        self.state = StepState::Running;
        self.started_at.get_or_insert(at);
        self.next_attempt_at = None;
        self.waiting_for = None;
        self.attempts.push(AttemptRecord {
            number,
            started_at: at,
            finished_at: None,
            error: None,
            outputs: None,
            params: None,
            interrupted: false,
        });
    }

    /// A try the engine's stop cut short: closed, and not counted.
    fn interrupt_attempt(&mut self, number: u32, at: Timestamp) {
        self.finish_attempt(
            number,
            at,
            Some("interrupted: the engine stopped during this try".to_owned()),
            None,
        );
        if let Some(last) = self.attempts.iter_mut().rev().find(|a| a.number == number) {
            last.interrupted = true;
        }
    }

    fn succeed(&mut self, seq: u64, attempt: u32, outputs: &Json, at: Timestamp) {
        self.state = StepState::Succeeded;
        self.outputs = Some(outputs.clone());
        self.finished_at = Some(at);
        self.succeeded_seq = Some(seq);
        self.finish_attempt(attempt, at, None, Some(outputs.clone()));
    }

    /// The step ends without outputs (failed, skipped, canceled), and why.
    fn end(&mut self, state: StepState, why: &str, at: Timestamp) {
        self.state = state;
        self.error = Some(why.to_owned());
        self.finished_at = Some(at);
        self.waiting_for = None;
    }

    /// Back to `pending` for a retry of the execution: its tries so far
    /// are kept as history and no longer counted.
    fn reset(&mut self) {
        self.state = StepState::Pending;
        self.outputs = None;
        self.error = None;
        self.finished_at = None;
        self.next_attempt_at = None;
        self.waiting_for = None;
        self.timer = None;
        self.progress = None;
        self.succeeded_seq = None;
        self.compensation_error = None;
        // A `for_each` evaluates its items again: what it reads may have
        // run again too.
        self.items = None;
        self.counted_from = self.attempts.len();
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
