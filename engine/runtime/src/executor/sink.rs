//! Writing an execution's changes to the store, with secrets redacted:
//! the one place every change passes through on its way to a record.

use std::sync::Arc;

use async_trait::async_trait;

use crate::action::ChangeSink;
use crate::clock::Clock;
use crate::ids::ExecutionId;
use crate::record::{Change, Timestamp};
use crate::secrets::Secrets;
use crate::store::{Store, StoreError};

#[derive(Debug)]
pub(crate) struct StoreSink {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) id: ExecutionId,
    pub(crate) secrets: Secrets,
}

#[async_trait]
impl ChangeSink for StoreSink {
    async fn record(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let changes = changes
            .into_iter()
            .map(|c| redact(&self.secrets, c))
            .collect();
        self.store.append(self.id, changes).await.map(|_| ())
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// Hides secret values in every free-text and data field of a change.
pub(crate) fn redact(secrets: &Secrets, change: Change) -> Change {
    if secrets.is_empty() {
        return change;
    }
    let text = |t: String| secrets.redact(&t);
    match change {
        Change::Log {
            key,
            attempt,
            level,
            message,
            at,
        } => Change::Log {
            key,
            attempt,
            level,
            message: text(message),
            at,
        },
        Change::Progress {
            key,
            percent,
            message,
            at,
        } => Change::Progress {
            key,
            percent,
            message: text(message),
            at,
        },
        Change::AttemptRetrying {
            key,
            attempt,
            error,
            next_at,
            at,
        } => Change::AttemptRetrying {
            key,
            attempt,
            error: text(error),
            next_at,
            at,
        },
        Change::StepSucceeded {
            key,
            attempt,
            outputs,
            at,
        } => Change::StepSucceeded {
            key,
            attempt,
            outputs: secrets.redact_json(&outputs),
            at,
        },
        Change::StepFailed {
            key,
            attempt,
            error,
            at,
        } => Change::StepFailed {
            key,
            attempt,
            error: text(error),
            at,
        },
        Change::StepSkipped { key, reason, at } => Change::StepSkipped {
            key,
            reason: text(reason),
            at,
        },
        Change::StepCanceled { key, reason, at } => Change::StepCanceled {
            key,
            reason: text(reason),
            at,
        },
        Change::CompensationFailed { key, error, at } => Change::CompensationFailed {
            key,
            error: text(error),
            at,
        },
        Change::StepExpanded { key, items, at } => Change::StepExpanded {
            key,
            items: items.iter().map(|i| secrets.redact_json(i)).collect(),
            at,
        },
        Change::ExecutionFinished {
            state,
            outputs,
            error,
            at,
        } => Change::ExecutionFinished {
            state,
            outputs: outputs.map(|o| secrets.redact_json(&o)),
            error: error.map(text),
            at,
        },
        other @ (Change::ExecutionStarted { .. }
        | Change::AttemptStarted { .. }
        | Change::AttemptInterrupted { .. }
        | Change::StepCompensated { .. }
        | Change::StepReset { .. }
        | Change::ExecutionRetried { .. }
        | Change::TimerSet { .. }) => other,
    }
}
