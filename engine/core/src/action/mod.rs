//! The `Action` trait: what a step runs, built-in or WebAssembly alike.

mod error;
pub mod params;
mod registry;
mod typed;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::backup::{Backup, BackupQuery, BackupRef, BackupState, Census, NewBackup};
use crate::clock::{after, until};
use crate::files::Files;
use crate::ids::{ExecutionId, StepKey};
use crate::record::{Change, LogLevel, Timestamp};
use crate::secrets::Secrets;
use crate::store::StoreError;

pub use error::{ActionError, Cause};
pub use params::{parse as parse_params, parse_param};
pub use registry::ActionRegistry;
pub use typed::{ActionEntry, BoxFuture, Outcome, Run, RunFn, declared, with_params};

#[async_trait]
pub trait Action: Send + Sync + fmt::Debug {
    /// Runs one try. Outputs are a JSON object.
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError>;
}

/// Where an action's log lines, progress and timers go: buffered, and
/// written with the step's next recorded change (or on `flush`).
#[async_trait]
pub trait ChangeSink: Send + Sync + fmt::Debug {
    async fn record(&self, changes: Vec<Change>) -> Result<(), StoreError>;
    fn now(&self) -> Timestamp;

    /// Reads the backup catalog (`backups.query`, `restore` by entry id).
    /// A sink with no store behind it has no catalog.
    async fn backups(&self, _query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        Err(StoreError::Fatal(NO_CATALOG.to_owned()))
    }

    async fn backup(&self, _id: &str) -> Result<Option<Backup>, StoreError> {
        Err(StoreError::Fatal(NO_CATALOG.to_owned()))
    }
}

const NO_CATALOG: &str = "no backup catalog here: this step runs outside an execution store";

/// Everything an action may use for one try.
#[derive(Debug)]
pub struct ActionContext {
    /// Parameters, with expressions evaluated.
    pub params: Json,
    /// Stable across tries and restarts of this step instance: derived from
    /// execution id + step id + `for_each` item. Actions tag what they create
    /// with it, and adopt what carries it instead of creating it twice.
    pub idempotency_key: String,
    pub execution: ExecutionId,
    pub step: StepKey,
    pub attempt: u32,
    /// Canceled when the step must stop: check it at every long wait.
    pub cancel: CancellationToken,
    /// Only the secrets this step was granted.
    pub secrets: Secrets,
    /// The step's deadline for one try, when it has one.
    pub timeout: Option<Duration>,
    /// The modules directory (`--modules`, else the workflow file's):
    /// module files must be inside it, and relative paths resolve from it.
    pub base_dir: Option<std::path::PathBuf>,
    /// Which host files the step may name by path (image data, CA files).
    pub files: Files,
    /// The step's durable timer, when one was set before a restart.
    timer: Mutex<Option<Timestamp>>,
    pending: Mutex<Vec<Change>>,
    sink: Arc<dyn ChangeSink>,
}

/// What an executor gives one try of a step (see [`ActionContext`]'s
/// fields); [`ActionContext::new`] builds the context from it.
#[derive(Debug)]
pub struct ContextParts {
    pub params: Json,
    pub idempotency_key: String,
    pub execution: ExecutionId,
    pub step: StepKey,
    pub attempt: u32,
    pub cancel: CancellationToken,
    pub secrets: Secrets,
    pub timeout: Option<Duration>,
    pub base_dir: Option<std::path::PathBuf>,
    pub files: Files,
    /// The step's durable timer, when one was set before a restart.
    pub timer: Option<Timestamp>,
    /// Where log lines, progress and timers are recorded.
    pub sink: Arc<dyn ChangeSink>,
}

impl ActionContext {
    pub fn new(parts: ContextParts) -> Self {
        Self {
            params: parts.params,
            idempotency_key: parts.idempotency_key,
            execution: parts.execution,
            step: parts.step,
            attempt: parts.attempt,
            cancel: parts.cancel,
            secrets: parts.secrets,
            timeout: parts.timeout,
            base_dir: parts.base_dir,
            files: parts.files,
            timer: Mutex::new(parts.timer),
            pending: Mutex::new(Vec::new()),
            sink: parts.sink,
        }
    }

    /// The idempotency key for a step instance.
    pub fn key_for(execution: ExecutionId, step: &StepKey) -> String {
        format!("shutter:{execution}:{step}")
    }

    /// A log line for the execution record (secret values are redacted on write).
    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        let change = Change::Log {
            key: self.step.clone(),
            attempt: self.attempt,
            level,
            message: message.into(),
            at: self.sink.now(),
        };
        self.buffer(change);
    }

    pub fn progress(&self, percent: u8, message: impl Into<String>) {
        let change = Change::Progress {
            key: self.step.clone(),
            percent: percent.min(100),
            message: message.into(),
            at: self.sink.now(),
        };
        self.buffer(change);
    }

    /// Puts what this try made (or adopted) in the backup catalog, in the
    /// same write as the step's result. Report it as soon as it exists: it
    /// is recorded even if the try fails later (it is in the cloud).
    pub fn record_backup(&self, backup: NewBackup) {
        let change = Change::BackupRecorded {
            key: self.step.clone(),
            backup: Box::new(backup),
            at: self.sink.now(),
        };
        self.buffer(change);
    }

    /// Says in the backup catalog that an artifact is now `state` (a
    /// delete: [`BackupState::Deleted`]). An artifact the catalog does not
    /// hold is left out.
    pub fn mark_backup(&self, backup: BackupRef, state: BackupState) {
        let change = Change::BackupMarked {
            key: self.step.clone(),
            backup,
            state,
            at: self.sink.now(),
        };
        self.buffer(change);
    }

    /// Tells the backup catalog what a reconcile found at one place: it
    /// adds what it lacked and marks `missing` what is no longer there.
    pub fn count_backups(&self, census: Census) {
        let change = Change::BackupsCounted {
            key: self.step.clone(),
            census: Box::new(census),
            at: self.sink.now(),
        };
        self.buffer(change);
    }

    /// Gives the backup catalog a restore test's verdict on an artifact:
    /// `passed` sets when it was last proven restorable.
    pub fn record_test(&self, backup: BackupRef, passed: bool, detail: impl Into<String>) {
        let change = Change::BackupTested {
            key: self.step.clone(),
            backup,
            passed,
            detail: detail.into(),
            at: self.sink.now(),
        };
        self.buffer(change);
    }

    /// Entries of the backup catalog, newest first, as the store holds
    /// them now (what this try recorded is not among them until written).
    pub async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        self.sink.backups(query).await
    }

    /// One catalog entry by its id.
    pub async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        self.sink.backup(id).await
    }

    /// The time, as the execution's clock tells it.
    pub fn now(&self) -> Timestamp {
        self.sink.now()
    }

    /// Holds a change until the step's next recorded change or `flush`.
    fn buffer(&self, change: Change) {
        self.pending
            .lock()
            .expect("no panic while holding this lock")
            .push(change);
    }

    /// Writes buffered log lines and progress now.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let changes = self.take_pending();
        if changes.is_empty() {
            return Ok(());
        }
        self.sink.record(changes).await
    }

    /// Takes the log lines and progress buffered so far (the executor
    /// writes them with the try's outcome).
    pub fn take_pending(&self) -> Vec<Change> {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .expect("no panic while holding this lock"),
        )
    }

    /// Sleeps durably: the wake-up time is recorded before sleeping, so
    /// after a restart the step sleeps only for the time left.
    pub async fn sleep(&self, duration: Duration) -> Result<(), ActionError> {
        let existing = *self.timer.lock().expect("no panic while holding this lock");
        let fires_at = match existing {
            Some(fires_at) => fires_at,
            None => {
                let fires_at = after(self.sink.now(), duration);
                let mut changes = self.take_pending();
                changes.push(Change::TimerSet {
                    key: self.step.clone(),
                    fires_at,
                    at: self.sink.now(),
                });
                self.sink.record(changes).await?;
                *self.timer.lock().expect("no panic while holding this lock") = Some(fires_at);
                fires_at
            }
        };
        let wait = until(self.sink.now(), fires_at);
        tokio::select! {
            () = tokio::time::sleep(wait) => Ok(()),
            () = self.cancel.cancelled() => Err(ActionError::Canceled),
        }
    }

    /// Builds a context outside an execution, for tests of single actions
    /// and for `shutter step run`: records go to `sink`.
    pub fn standalone(params: Json, sink: Arc<dyn ChangeSink>) -> Self {
        let execution = ExecutionId::new();
        let step = StepKey::step("standalone");
        Self::new(ContextParts {
            params,
            idempotency_key: Self::key_for(execution, &step),
            execution,
            step,
            attempt: 1,
            cancel: CancellationToken::new(),
            secrets: Secrets::default(),
            timeout: None,
            base_dir: None,
            files: Files::default(),
            timer: None,
            sink,
        })
    }

    /// A context for running another action on this step's behalf (an
    /// action that dispatches to a provider's action): same step, key,
    /// cancellation, secrets and timer; other parameters. Give it back
    /// with [`ActionContext::absorb`] so its log lines and progress are kept.
    pub fn delegate(&self, params: Json) -> Self {
        Self {
            params,
            idempotency_key: self.idempotency_key.clone(),
            execution: self.execution,
            step: self.step.clone(),
            attempt: self.attempt,
            cancel: self.cancel.clone(),
            secrets: self.secrets.clone(),
            timeout: self.timeout,
            base_dir: self.base_dir.clone(),
            files: self.files.clone(),
            timer: Mutex::new(*self.timer.lock().expect("no panic while holding this lock")),
            pending: Mutex::new(Vec::new()),
            sink: self.sink.clone(),
        }
    }

    /// Takes back what a [`ActionContext::delegate`] buffered.
    pub fn absorb(&self, delegate: Self) {
        let changes = delegate.take_pending();
        self.pending
            .lock()
            .expect("no panic while holding this lock")
            .extend(changes);
    }

    /// The parameter `name` as given, or a fatal error naming it: for a
    /// parameter of any shape, read by its own parser (a VM reference).
    /// Everything else is read typed, through [`Self::params`].
    pub fn param(&self, name: &str) -> Result<&Json, ActionError> {
        self.params
            .get(name)
            .ok_or_else(|| ActionError::fatal(format!("missing parameter `{name}`")))
    }

    /// The secret `name` that parameter `param` names, if this step was
    /// granted it (a built-in action: the workflow's declared secrets).
    pub fn secret(&self, param: &str, name: &str) -> Result<&str, ActionError> {
        self.secrets.granted(param, name)
    }
}
