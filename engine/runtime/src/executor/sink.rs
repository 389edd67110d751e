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
use shutter_core::{Backup, BackupQuery, SentAppend};

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
    /// How long a claim lasts unrenewed (see [`StoreSink::send_start`]).
    pub(crate) lease: Duration,
}

/// A try's start sent to the store and not waited for (see
/// [`StoreSink::send_start`]).
#[derive(Debug)]
pub(crate) struct SentStart {
    sent: SentAppend,
    /// As sent (redacted): to send again if taken back.
    changes: Vec<Change>,
}

impl StoreSink {
    /// Sends a try's start without waiting for its commit, so that its
    /// action runs meanwhile, and a short try's outcome, known before the
    /// writer got to the start, goes in the same commit (the start taken
    /// back and sent with it): one commit a step where the writer is busy,
    /// not two (issue 19). `None` (the caller records the start and waits)
    /// where the store sends no appends, or the execution was halted, or
    /// its lease is not known fresh: a start not yet committed has not yet
    /// been checked against the claim, so the action may run before it only
    /// while no other engine can have claimed the execution.
    pub(crate) fn send_start(&self, start: &Change) -> Option<SentStart> {
        if self.halt.reason().is_some() || !self.halt.lease_fresh(self.lease) {
            return None;
        }
        let changes = vec![redact(&self.secrets, start.clone())];
        let sent = self.store.send_append(self.claim, changes.clone())?;
        Some(SentStart { sent, changes })
    }

    /// Settles a sent start before anything else of its try is written:
    /// its changes, when they were taken back and are for the caller to
    /// write first; nothing once its commit came (after trying it again,
    /// with the patience of [`ChangeSink::record`], if the store was
    /// unavailable).
    pub(crate) async fn settle_start(&self, start: SentStart) -> Result<Vec<Change>, StoreError> {
        let SentStart { sent, changes } = start;
        if sent.withdraw() {
            return Ok(changes);
        }
        match sent.committed().await {
            Ok(_) => Ok(Vec::new()),
            Err(StoreError::Unavailable(_)) => self.record(changes).await.map(|()| Vec::new()),
            Err(err @ StoreError::Conflict(_)) => {
                self.halt.halt(err.clone());
                Err(err)
            }
            Err(err) => Err(err),
        }
    }
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
