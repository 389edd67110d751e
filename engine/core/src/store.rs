//! The `Store` trait: where executions are recorded.
//!
//! Designed for several engines sharing one database: an execution is held
//! under a lease by one owner, and orphans (a dead owner, an expired lease)
//! are claimed by others. Every claim starts a new *epoch* of the
//! execution, and every append carries the [`Claim`] it was made under: a
//! store refuses (with [`StoreError::Conflict`], writing nothing) an append
//! whose epoch is no longer the execution's, so an engine that stalled past
//! its lease cannot write over the records of the one that took over.

use std::time::Duration;

use async_trait::async_trait;

use crate::backup::{Backup, BackupQuery};
use crate::ids::{ExecutionId, StepKey};
use crate::limits::SlotRequest;
use crate::occupancy::Occupancy;
use crate::record::{Change, Event, ExecutionRecord, ExecutionSnapshot, NewExecution, Timestamp};
use crate::sent::SentAppend;
use crate::state::ExecutionState;

/// Errors grouped by what the caller does about them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("execution {0} not found")]
    NotFound(ExecutionId),
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is busy or unreachable: try again.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store failure: {0}")]
    Fatal(String),
    /// A `skip` concurrency key is held by an execution that has not ended:
    /// nothing was created.
    #[error("concurrency key `{key}` is held by execution {holder}")]
    Busy { key: String, holder: ExecutionId },
}

/// The right to write an execution: its id and the epoch of the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    pub id: ExecutionId,
    /// Grows by one with every claim of the execution; a created execution
    /// is at epoch 1.
    pub epoch: u64,
}

impl Claim {
    /// The claim of an execution its creator holds.
    pub fn created(id: ExecutionId) -> Self {
        Self { id, epoch: 1 }
    }
}

/// Who holds executions: an engine process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Unique per engine start.
    pub id: String,
    /// Where its process id means something: two owners with the same
    /// `host` see the same processes, so one may tell that the other's
    /// process is gone (see the stores' lease rules).
    pub host: String,
    pub pid: u32,
}

impl Owner {
    /// This process.
    pub fn this_process() -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            host: host_identity(),
            pid: std::process::id(),
        }
    }
}

/// The host name, and the process-id namespace when it is not the
/// initial one: containers sharing a host name (`--uts=host`) but not
/// their processes must not count as one host, or one would take the
/// other's executions for orphans.
fn host_identity() -> String {
    let name = hostname();
    match std::fs::read_link("/proc/self/ns/pid") {
        Ok(ns) => {
            let ns = ns.to_string_lossy().into_owned();
            // `pid:[4026531836]` is the initial namespace's inode.
            if ns == "pid:[4026531836]" {
                name
            } else {
                format!("{name}/{ns}")
            }
        }
        Err(_) => name,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Counts by workflow and state ([`Store::count_by_workflow`]) summed by
/// state (states with none are left out).
pub fn totals_by_state(
    by_workflow: &[(String, ExecutionState, u64)],
) -> Vec<(ExecutionState, u64)> {
    let mut totals: Vec<(ExecutionState, u64)> = Vec::new();
    for (_, state, count) in by_workflow {
        match totals.iter_mut().find(|(s, _)| s == state) {
            Some((_, total)) => *total += count,
            None => totals.push((*state, *count)),
        }
    }
    totals
}

/// A page request for executions, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub workflow: Option<String>,
    pub state: Option<ExecutionState>,
    /// Only executions created at or after this time.
    pub since: Option<Timestamp>,
    /// Keyset cursor: only executions older than this one.
    pub before: Option<ExecutionId>,
    pub limit: usize,
}

/// Who takes executions and for how long: an engine, and the lease its
/// claims get (renewed while it runs them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub owner: Owner,
    pub lease: Duration,
}

impl Holder {
    pub fn new(owner: Owner, lease: Duration) -> Self {
        Self { owner, lease }
    }
}

/// What renewing leases found among the claims renewed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renewal {
    /// Executions held by another engine now (this one stalled past its
    /// lease): to be stopped here at once.
    pub lost: Vec<ExecutionId>,
    /// Executions still held here whose cancel was asked for elsewhere (on
    /// another node, or by another process): to be canceled here.
    pub cancel: Vec<ExecutionId>,
}

/// What a store shared by several processes announces to each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    /// An execution was written: it is at this sequence number.
    Changed { id: ExecutionId, seq: u64 },
    /// Someone asked for an execution to be canceled: whoever runs it
    /// cancels it.
    CancelRequested(ExecutionId),
    /// An execution was released and waits for an engine with room to
    /// claim it.
    WorkQueued,
    /// A step gave a slot of a limit pool back: steps waiting for one try
    /// again.
    SlotFreed,
}

/// A workflow version as registered (`POST /workflows`, `--workflows DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWorkflow {
    pub name: String,
    pub plan_hash: String,
    /// The YAML.
    pub source: String,
    /// The file it was loaded from, if any (its directory resolves module
    /// paths).
    pub path: Option<String>,
    pub registered_at: Timestamp,
}

/// Which events to read: those with a sequence number above `after`, at
/// most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: u64,
    pub limit: usize,
}

impl Page {
    pub fn new(after: u64, limit: usize) -> Self {
        Self { after, limit }
    }
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Records a new execution (`queued`, a `pending` record per step), held by `holder`
    /// at epoch 1 ([`Claim::created`]).
    /// When `new.idempotency_key` names an execution that exists, nothing is
    /// created and that execution's record is returned (its id differs from
    /// `new.id`), atomically with respect to other creates. With a `skip`
    /// concurrency key held by an execution that has not ended, nothing is
    /// created either: [`StoreError::Busy`] names it.
    async fn create(
        &self,
        new: NewExecution,
        holder: &Holder,
    ) -> Result<ExecutionRecord, StoreError>;

    /// Whether `id` may run now under its concurrency key
    /// ([`NewExecution::concurrency`]): it is the first, in the order they
    /// were created, of the executions with that key that have not ended.
    /// An execution claimed again after it ended (a retry) goes to the end
    /// of the line. True for an execution without a key.
    async fn holds_key(&self, id: ExecutionId) -> Result<bool, StoreError>;

    /// Appends changes to the execution's event log and folds them into its
    /// records, atomically, if `claim` is still the execution's current one
    /// (else [`StoreError::Conflict`] and nothing is written). Returns once
    /// they are durable, with the last sequence number.
    async fn append(&self, claim: Claim, changes: Vec<Change>) -> Result<u64, StoreError>;

    /// Sends an append without waiting for it: it is ordered after every
    /// append sent before it, and the caller may take it back until the
    /// store begins to write it ([`SentAppend`]), to send its changes with
    /// a later append. `None` where the store writes each append as it is
    /// asked (the caller then appends as usual).
    fn send_append(&self, _claim: Claim, _changes: Vec<Change>) -> Option<SentAppend> {
        None
    }

    async fn get(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError>;

    /// The execution with every step record.
    async fn snapshot(&self, id: ExecutionId) -> Result<Option<ExecutionSnapshot>, StoreError>;

    /// The execution as an executor starts running it: [`Store::snapshot`],
    /// except that the step records of an execution never started
    /// (`queued`) may be left out, as each is then what
    /// `StepRecord::new` makes (steps change only once it has started).
    /// Reading 2,002 of them back was ~3 ms of a fan's ~50 ms (issue 19).
    async fn snapshot_to_run(
        &self,
        id: ExecutionId,
    ) -> Result<Option<ExecutionSnapshot>, StoreError> {
        self.snapshot(id).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ExecutionRecord>, StoreError>;

    /// How many executions each workflow has in each state (pairs with
    /// none are left out).
    async fn count_by_workflow(&self) -> Result<Vec<(String, ExecutionState, u64)>, StoreError>;

    /// How many executions are in each state (states with none are left out).
    async fn count_by_state(&self) -> Result<Vec<(ExecutionState, u64)>, StoreError> {
        Ok(totals_by_state(&self.count_by_workflow().await?))
    }

    /// Events of the `page`, oldest first.
    async fn events(&self, id: ExecutionId, page: Page) -> Result<Vec<Event>, StoreError>;

    /// The `log` events of one step in the `page`, oldest first: of the
    /// step `step` names (every item of a `for_each` step), or of the one
    /// instance `step` names (`snap[3]`).
    async fn logs(&self, id: ExecutionId, step: &str, page: Page)
    -> Result<Vec<Event>, StoreError>;

    /// Takes at most `limit` of the executions left `queued` or `running`
    /// whose owner is gone — its lease expired or was released (work
    /// waiting for an engine with room), or (same host) its process no
    /// longer exists — but those in `held` (the caller runs them already),
    /// oldest first. Each is claimed at a new epoch. Several engines may
    /// call this at once: each execution goes to one of them.
    async fn claim_orphans(
        &self,
        holder: &Holder,
        held: &[ExecutionId],
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Takes one execution at a new epoch, if no engine runs it: it has
    /// ended (to run it again), or its owner is gone. `None` otherwise.
    async fn claim(&self, id: ExecutionId, holder: &Holder) -> Result<Option<Claim>, StoreError>;

    /// Extends the leases of `claims`, which `holder` holds. Returns the
    /// executions among them it no longer holds (claimed by another since)
    /// and those whose cancel was asked for ([`Store::request_cancel`]).
    async fn renew(&self, holder: &Holder, claims: &[Claim]) -> Result<Renewal, StoreError>;

    /// Gives an execution up: it has no owner from now on (a renewal sent
    /// before does not bring one back), so another engine may claim it at
    /// once (announced as [`Announcement::WorkQueued`]). Does nothing when
    /// `claim` is no longer current.
    async fn release(&self, claim: Claim) -> Result<(), StoreError>;

    /// Asks whichever engine runs `id` to cancel it: kept with the
    /// execution until it ends (the engine holding it learns of it at its
    /// next renewal, as does one that claims it later) and announced
    /// ([`Announcement::CancelRequested`]) so it need not wait for that.
    /// False, with nothing kept, when the execution has ended.
    async fn request_cancel(&self, id: ExecutionId) -> Result<bool, StoreError>;

    /// Takes a slot of `request.pool` for a step of `claim`'s execution, or
    /// keeps the step in line for one: true once the step holds a slot. At
    /// most `request.capacity` steps hold a slot of a pool at once, across
    /// every engine sharing the store; they get them in the order they
    /// first asked. A step asks again until it holds one (and again after
    /// its execution was claimed anew: a slot is held under a claim). A
    /// slot or a place in line counts only while its execution runs under
    /// a live lease at that claim, so a dead node's slots are free once its
    /// leases expire. [`StoreError::Conflict`] when `claim` is past.
    async fn take_slot(&self, claim: Claim, request: &SlotRequest) -> Result<bool, StoreError>;

    /// Gives the step's slot of `pool` back, or takes it out of line, and
    /// announces it ([`Announcement::SlotFreed`]). Does nothing when `claim`
    /// is past (the slot is its new holder's).
    async fn free_slot(&self, claim: Claim, pool: &str, step: &StepKey) -> Result<(), StoreError>;

    /// Deletes finished executions (and their events) that ended before `before`.
    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// Keeps a workflow version, so it survives restarts and every node
    /// sharing the store can run it. Saving a version kept already (same
    /// name and plan hash) changes nothing.
    async fn save_workflow(&self, workflow: &StoredWorkflow) -> Result<(), StoreError>;

    /// Every workflow version kept, oldest first.
    async fn workflows(&self) -> Result<Vec<StoredWorkflow>, StoreError>;

    /// Entries of the backup catalog, newest first (by when Shutter first
    /// recorded them). Appends fold [`Change::BackupRecorded`],
    /// [`Change::BackupMarked`] and [`Change::BackupsCounted`] into it
    /// with the rest of their changes; [`Store::prune`] leaves it alone.
    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError>;

    /// One catalog entry by its id.
    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError>;

    /// The unended executions with their leases and the limit pools' rows,
    /// across every engine sharing the store (see [`Occupancy`]).
    async fn occupancy(&self) -> Result<Occupancy, StoreError>;

    /// What the processes sharing this store announce (this one's own
    /// writes included): changes, cancel requests, work released. `None`
    /// where it announces nothing (SQLite and memory: a process learns of
    /// its own writes from its own change feed, and of other processes'
    /// cancel requests at its next renewal).
    fn announcements(&self) -> Option<tokio::sync::broadcast::Receiver<Announcement>> {
        None
    }
}
