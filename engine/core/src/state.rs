//! The states of executions and steps.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionState {
    Queued,
    Running,
    Succeeded,
    /// Ended with every step done, but steps marked `on_error: continue`
    /// failed: their dependants ran, nothing was compensated, and the
    /// record's `error` names them.
    #[serde(rename = "succeeded_with_errors")]
    SucceededWithErrors,
    Failed,
    Canceled,
}

impl ExecutionState {
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::SucceededWithErrors,
        Self::Failed,
        Self::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::SucceededWithErrors => "succeeded_with_errors",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::SucceededWithErrors | Self::Failed | Self::Canceled
        )
    }

    /// Whether the execution did its work: every step that had to succeed
    /// did (`succeeded`, or `succeeded_with_errors`).
    pub fn is_success(self) -> bool {
        matches!(self, Self::Succeeded | Self::SucceededWithErrors)
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

impl fmt::Display for ExecutionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Pending,
    /// Ready, and waiting for a slot of a limit pool (`limit:`): the step
    /// record's `waiting_for` names the pool.
    Waiting,
    Running,
    /// Failed a try and waits for the next one.
    Retrying,
    Succeeded,
    Failed,
    /// Not run: its `if` was false, or a step it needs was skipped.
    Skipped,
    /// Not run, or stopped, because the execution failed or was canceled.
    Canceled,
    /// Succeeded, then undone by its `compensate` action.
    Compensated,
}

impl StepState {
    pub const ALL: [Self; 9] = [
        Self::Pending,
        Self::Waiting,
        Self::Running,
        Self::Retrying,
        Self::Succeeded,
        Self::Failed,
        Self::Skipped,
        Self::Canceled,
        Self::Compensated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Canceled => "canceled",
            Self::Compensated => "compensated",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            Self::Pending | Self::Waiting | Self::Running | Self::Retrying
        )
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
