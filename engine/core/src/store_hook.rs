//! A store decorator for what a process does around writes (tell long
//! polls, count metrics, or, in tests, fail on cue), with every read and
//! lease call passed through unchanged: a decorator writes only its hook.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::backup::{Backup, BackupQuery};
use crate::ids::{ExecutionId, StepKey};
use crate::limits::SlotRequest;
use crate::record::{Change, Event, ExecutionRecord, ExecutionSnapshot, NewExecution, Timestamp};
use crate::sent::SentAppend;
use crate::state::ExecutionState;
use crate::store::{
    Announcement, Claim, Holder, ListQuery, Page, Renewal, Store, StoreError, StoredWorkflow,
};

/// What happens around the writes of a [`Hooked`] store.
pub trait WriteHook: Send + Sync + fmt::Debug {
    /// Before `changes` reach the store (an append), or once they are sent
    /// ([`Store::send_append`]).
    fn appending(&self, _claim: Claim, _changes: &[Change]) {}

    /// After a write is durable: the execution and its last sequence number.
    fn written(&self, _id: ExecutionId, _seq: u64) {}
}

/// `inner` with `hook` called around every create and append.
#[derive(Debug)]
pub struct Hooked<H> {
    inner: Arc<dyn Store>,
    /// Shared with the commits of sent appends, which call it later.
    hook: Arc<H>,
}

impl<H: WriteHook> Hooked<H> {
    pub fn new(inner: Arc<dyn Store>, hook: H) -> Self {
        Self {
            inner,
            hook: Arc::new(hook),
        }
    }

    pub fn hook(&self) -> &H {
        &self.hook
    }
}

#[async_trait]
impl<H: WriteHook + 'static> Store for Hooked<H> {
    async fn create(
        &self,
        new: NewExecution,
        holder: &Holder,
    ) -> Result<ExecutionRecord, StoreError> {
        let record = self.inner.create(new, holder).await?;
        self.hook.written(record.id, record.last_seq);
        Ok(record)
    }

    async fn append(&self, claim: Claim, changes: Vec<Change>) -> Result<u64, StoreError> {
        self.hook.appending(claim, &changes);
        let seq = self.inner.append(claim, changes).await?;
        self.hook.written(claim.id, seq);
        Ok(seq)
    }

    /// Told once the changes are sent (a store that sends none tells
    /// nothing here: the caller appends them); one taken back is told again
    /// with the append that carries it, so a hook must take a change told
    /// twice as told once (the metrics keep a step's start time by key).
    fn send_append(&self, claim: Claim, changes: Vec<Change>) -> Option<SentAppend> {
        let told = changes.clone();
        let sent = self.inner.send_append(claim, changes)?;
        self.hook.appending(claim, &told);
        let hook = self.hook.clone();
        Some(sent.watched(move |answer| {
            if let Ok(seq) = answer {
                hook.written(claim.id, *seq);
            }
        }))
    }

    async fn get(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError> {
        self.inner.get(id).await
    }

    async fn snapshot(&self, id: ExecutionId) -> Result<Option<ExecutionSnapshot>, StoreError> {
        self.inner.snapshot(id).await
    }

    async fn snapshot_to_run(
        &self,
        id: ExecutionId,
    ) -> Result<Option<ExecutionSnapshot>, StoreError> {
        self.inner.snapshot_to_run(id).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.inner.list(query).await
    }

    async fn count_by_workflow(&self) -> Result<Vec<(String, ExecutionState, u64)>, StoreError> {
        self.inner.count_by_workflow().await
    }

    async fn events(&self, id: ExecutionId, page: Page) -> Result<Vec<Event>, StoreError> {
        self.inner.events(id, page).await
    }

    async fn logs(
        &self,
        id: ExecutionId,
        step: &str,
        page: Page,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.logs(id, step, page).await
    }

    async fn claim_orphans(
        &self,
        holder: &Holder,
        held: &[ExecutionId],
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        self.inner.claim_orphans(holder, held, limit).await
    }

    async fn claim(&self, id: ExecutionId, holder: &Holder) -> Result<Option<Claim>, StoreError> {
        self.inner.claim(id, holder).await
    }

    async fn renew(&self, holder: &Holder, claims: &[Claim]) -> Result<Renewal, StoreError> {
        self.inner.renew(holder, claims).await
    }

    async fn request_cancel(&self, id: ExecutionId) -> Result<bool, StoreError> {
        self.inner.request_cancel(id).await
    }

    async fn release(&self, claim: Claim) -> Result<(), StoreError> {
        self.inner.release(claim).await
    }

    async fn holds_key(&self, id: ExecutionId) -> Result<bool, StoreError> {
        self.inner.holds_key(id).await
    }

    async fn take_slot(&self, claim: Claim, request: &SlotRequest) -> Result<bool, StoreError> {
        self.inner.take_slot(claim, request).await
    }

    async fn free_slot(&self, claim: Claim, pool: &str, step: &StepKey) -> Result<(), StoreError> {
        self.inner.free_slot(claim, pool, step).await
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.inner.prune(before).await
    }

    async fn save_workflow(&self, workflow: &StoredWorkflow) -> Result<(), StoreError> {
        self.inner.save_workflow(workflow).await
    }

    async fn workflows(&self) -> Result<Vec<StoredWorkflow>, StoreError> {
        self.inner.workflows().await
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        self.inner.backups(query).await
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        self.inner.backup(id).await
    }

    async fn occupancy(&self) -> Result<crate::occupancy::Occupancy, StoreError> {
        self.inner.occupancy().await
    }

    fn announcements(&self) -> Option<tokio::sync::broadcast::Receiver<Announcement>> {
        self.inner.announcements()
    }
}
