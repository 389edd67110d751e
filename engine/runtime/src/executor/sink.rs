//! Writing an execution's changes to the store, with secrets redacted:
//! the one place every change passes through on its way to a record.
//!
//! Each append carries the execution's claim. When the store refuses it
//! (another engine took the execution) or stays unavailable for longer
//! than the engine's patience, the execution is halted: its tasks stop at
//! once and nothing more is written.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use shutter_core::action::ChangeSink;
use shutter_core::clock::Clock;
use shutter_core::record::{Change, Timestamp};
use shutter_core::secrets::Secrets;
use shutter_core::store::{Claim, Store, StoreError};
use shutter_core::{Backup, BackupQuery};

use crate::held::Halt;

#[derive(Debug)]
pub(crate) struct StoreSink {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) claim: Claim,
    pub(crate) secrets: Secrets,
    pub(crate) halt: Arc<Halt>,
    /// How long to keep trying an unavailable store.
    pub(crate) patience: Duration,
}

/// First wait before trying an unavailable store again; it doubles up to
/// [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(50);
const MAX_WAIT: Duration = Duration::from_secs(5);

#[async_trait]
impl ChangeSink for StoreSink {
    async fn record(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        if let Some(reason) = self.halt.reason() {
            return Err(reason);
        }
        let changes: Vec<Change> = changes
            .into_iter()
            .map(|c| redact(&self.secrets, c))
            .collect();
        let deadline = tokio::time::Instant::now() + self.patience;
        let mut wait = FIRST_WAIT;
        loop {
            match self.store.append(self.claim, changes.clone()).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Unavailable(cause))
                    if tokio::time::Instant::now() + wait < deadline =>
                {
                    if wait == FIRST_WAIT {
                        tracing::warn!(
                            "execution {}: the store is unavailable ({cause}); trying again for up to {}s",
                            self.claim.id,
                            self.patience.as_secs()
                        );
                    }
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.halt.token().cancelled() => {
                            return Err(self.halt.reason().unwrap_or(StoreError::Unavailable(cause)));
                        }
                    }
                    wait = (wait * 2).min(MAX_WAIT);
                }
                Err(err @ (StoreError::Unavailable(_) | StoreError::Conflict(_))) => {
                    if let StoreError::Unavailable(cause) = &err {
                        tracing::error!(
                            "execution {}: the store stayed unavailable ({cause}); it stops here and is taken back once the store answers",
                            self.claim.id
                        );
                    }
                    self.halt.halt(err.clone());
                    return Err(err);
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        self.store.backups(query).await
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        self.store.backup(id).await
    }
}

/// A sink that hides more than the execution's secrets (what a step's
/// sensitive parameters resolved to) before passing changes on.
#[derive(Debug)]
pub(crate) struct Redacting {
    inner: Arc<dyn ChangeSink>,
    secrets: Secrets,
}

impl Redacting {
    pub(crate) fn new(inner: Arc<dyn ChangeSink>, secrets: Secrets) -> Self {
        Self { inner, secrets }
    }
}

#[async_trait]
impl ChangeSink for Redacting {
    async fn record(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let changes = changes
            .into_iter()
            .map(|c| redact(&self.secrets, c))
            .collect();
        self.inner.record(changes).await
    }

    fn now(&self) -> Timestamp {
        self.inner.now()
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        self.inner.backups(query).await
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        self.inner.backup(id).await
    }
}

/// Hides secret values in every free-text and data field of a change.
/// The match names every variant, so a new one must say what it hides.
pub(crate) fn redact(secrets: &Secrets, mut change: Change) -> Change {
    if secrets.is_empty() {
        return change;
    }
    let text = |t: &mut String| *t = secrets.redact(t);
    let data = |value: &mut Json| *value = secrets.redact_json(value);
    match &mut change {
        Change::Log { message, .. } | Change::Progress { message, .. } => text(message),
        Change::AttemptRetrying { error, .. }
        | Change::StepFailed { error, .. }
        | Change::CompensationFailed { error, .. } => text(error),
        Change::StepSkipped { reason, .. } | Change::StepCanceled { reason, .. } => text(reason),
        // A pool's name cannot be made of a secret (the compiler refuses).
        Change::StepWaiting { pool, .. } => text(pool),
        Change::StepSucceeded { outputs, .. }
        | Change::AttemptParams {
            params: outputs, ..
        } => {
            data(outputs);
        }
        Change::StepExpanded { items, .. } => items.iter_mut().for_each(data),
        Change::ExecutionFinished { outputs, error, .. } => {
            outputs.iter_mut().for_each(data);
            error.iter_mut().for_each(text);
        }
        // What an artifact was tagged with may come from anywhere; its
        // ids and place are the cloud's.
        Change::BackupRecorded { backup, .. } => backup.tags.values_mut().for_each(text),
        Change::BackupsCounted { census, .. } => census
            .found
            .iter_mut()
            .for_each(|found| found.backup.tags.values_mut().for_each(text)),
        Change::BackupTested { detail, .. } => text(detail),
        Change::Notified { notification } => notification.delivery.error.iter_mut().for_each(text),
        Change::NotifyQueued { notice } => data(&mut notice.body),
        Change::BackupMarked { .. }
        | Change::ExecutionStarted { .. }
        | Change::AttemptStarted { .. }
        | Change::AttemptInterrupted { .. }
        | Change::StepCompensated { .. }
        | Change::StepReset { .. }
        | Change::ExecutionRetried { .. }
        | Change::TimerSet { .. } => {}
    }
    change
}
