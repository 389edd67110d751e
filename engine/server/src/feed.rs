//! Who is told when an execution changes: the store decorator every write
//! of this process goes through, so long polls wake the moment a change is
//! durable, without polling the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use shutter_core::record::Timestamp;
use shutter_core::{
    Change, Claim, Event, ExecutionId, ExecutionRecord, ExecutionSnapshot, ExecutionState,
    ListQuery, NewExecution, Owner, Store, StoreError,
};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// Per-execution channels carrying the last durable sequence number.
#[derive(Debug, Default)]
pub(crate) struct ChangeFeed {
    watchers: Mutex<HashMap<ExecutionId, watch::Sender<u64>>>,
}

/// Above this many channels, subscribing sweeps the ones nobody listens to.
const SWEEP_ABOVE: usize = 1024;

impl ChangeFeed {
    /// A receiver that sees every change to `id` made after this call.
    /// Subscribe before reading the record, so no change falls in between.
    pub(crate) fn subscribe(&self, id: ExecutionId) -> watch::Receiver<u64> {
        let mut watchers = self.lock();
        if watchers.len() > SWEEP_ABOVE {
            watchers.retain(|_, sender| sender.receiver_count() > 0);
        }
        watchers
            .entry(id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    fn publish(&self, id: ExecutionId, seq: u64) {
        let mut watchers = self.lock();
        if let Some(sender) = watchers.get(&id) {
            if sender.receiver_count() == 0 {
                watchers.remove(&id);
            } else {
                sender.send_replace(seq);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionId, watch::Sender<u64>>> {
        self.watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A [`Store`] that tells the feed (and the metrics) about every write.
#[derive(Debug)]
pub(crate) struct WatchedStore {
    inner: Arc<dyn Store>,
    feed: Arc<ChangeFeed>,
    metrics: Arc<Metrics>,
}

impl WatchedStore {
    pub(crate) fn new(inner: Arc<dyn Store>, feed: Arc<ChangeFeed>, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            feed,
            metrics,
        }
    }
}

#[async_trait]
impl Store for WatchedStore {
    async fn create(
        &self,
        new: NewExecution,
        owner: &Owner,
        lease: Duration,
    ) -> Result<ExecutionRecord, StoreError> {
        let record = self.inner.create(new, owner, lease).await?;
        self.feed.publish(record.id, record.last_seq);
        Ok(record)
    }

    async fn append(&self, claim: Claim, changes: Vec<Change>) -> Result<u64, StoreError> {
        self.metrics.observe(claim.id, &changes);
        let seq = self.inner.append(claim, changes).await?;
        self.feed.publish(claim.id, seq);
        Ok(seq)
    }

    async fn get(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError> {
        self.inner.get(id).await
    }

    async fn snapshot(&self, id: ExecutionId) -> Result<Option<ExecutionSnapshot>, StoreError> {
        self.inner.snapshot(id).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.inner.list(query).await
    }

    async fn count_by_state(&self) -> Result<Vec<(ExecutionState, u64)>, StoreError> {
        self.inner.count_by_state().await
    }

    async fn events(
        &self,
        id: ExecutionId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.events(id, after, limit).await
    }

    async fn logs(
        &self,
        id: ExecutionId,
        step: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.logs(id, step, after, limit).await
    }

    async fn claim_orphans(
        &self,
        owner: &Owner,
        lease: Duration,
        held: &[ExecutionId],
    ) -> Result<Vec<Claim>, StoreError> {
        self.inner.claim_orphans(owner, lease, held).await
    }

    async fn claim(
        &self,
        id: ExecutionId,
        owner: &Owner,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        self.inner.claim(id, owner, lease).await
    }

    async fn renew(
        &self,
        owner: &Owner,
        lease: Duration,
        claims: &[Claim],
    ) -> Result<Vec<ExecutionId>, StoreError> {
        self.inner.renew(owner, lease, claims).await
    }

    async fn release(&self, claim: Claim) -> Result<(), StoreError> {
        self.inner.release(claim).await
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.inner.prune(before).await
    }
}
