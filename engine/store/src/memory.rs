//! The store in memory: the reference implementation of the contract.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use indexmap::IndexMap;
use shutter_runtime::record::Timestamp;
use shutter_runtime::{
    Change, Event, ExecutionId, ExecutionRecord, ExecutionSnapshot, ExecutionState, ListQuery,
    NewExecution, Owner, StepKey, StepRecord, Store, StoreError,
};

use crate::lease::{Lease, is_orphaned};

#[derive(Debug)]
struct Entry {
    record: ExecutionRecord,
    source: String,
    source_path: Option<String>,
    steps: IndexMap<StepKey, StepRecord>,
    events: Vec<Event>,
    lease: Option<Lease>,
    idempotency_key: Option<String>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    executions: Mutex<HashMap<ExecutionId, Entry>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionId, Entry>> {
        self.executions
            .lock()
            .expect("no panic while holding the store lock")
    }
}

fn lease_for(owner: &Owner, lease: Duration) -> Lease {
    Lease {
        owner_id: owner.id.clone(),
        host: owner.host.clone(),
        pid: owner.pid,
        until: Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(
        &self,
        new: NewExecution,
        owner: &Owner,
        lease: Duration,
    ) -> Result<ExecutionRecord, StoreError> {
        let mut executions = self.lock();
        if let Some(key) = &new.idempotency_key
            && let Some(existing) = executions
                .values()
                .find(|entry| entry.idempotency_key.as_ref() == Some(key))
        {
            return Ok(existing.record.clone());
        }
        if executions.contains_key(&new.id) {
            return Err(StoreError::Conflict(format!("execution {} exists", new.id)));
        }
        let record = ExecutionRecord::new(&new);
        let steps = new
            .steps
            .iter()
            .map(|s| (StepKey::step(s), StepRecord::new(StepKey::step(s))))
            .collect();
        executions.insert(
            new.id,
            Entry {
                record: record.clone(),
                source: new.source,
                source_path: new.source_path,
                steps,
                events: Vec::new(),
                lease: Some(lease_for(owner, lease)),
                idempotency_key: new.idempotency_key,
            },
        );
        Ok(record)
    }

    async fn append(&self, id: ExecutionId, changes: Vec<Change>) -> Result<u64, StoreError> {
        let mut executions = self.lock();
        let entry = executions.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        for change in changes {
            let seq = entry.record.last_seq + 1;
            entry.record.apply(seq, &change);
            if change.touches_step_record()
                && let Some(key) = change.step()
            {
                entry
                    .steps
                    .entry(key.clone())
                    .or_insert_with(|| StepRecord::new(key.clone()))
                    .apply(seq, &change);
            }
            entry.events.push(Event { seq, change });
        }
        Ok(entry.record.last_seq)
    }

    async fn get(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError> {
        Ok(self.lock().get(&id).map(|e| e.record.clone()))
    }

    async fn snapshot(&self, id: ExecutionId) -> Result<Option<ExecutionSnapshot>, StoreError> {
        Ok(self.lock().get(&id).map(|e| ExecutionSnapshot {
            execution: e.record.clone(),
            source: e.source.clone(),
            source_path: e.source_path.clone(),
            steps: e.steps.values().cloned().collect(),
        }))
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        let executions = self.lock();
        let mut found: Vec<ExecutionRecord> = executions
            .values()
            .map(|e| &e.record)
            .filter(|r| query.workflow.as_ref().is_none_or(|w| &r.workflow == w))
            .filter(|r| query.state.is_none_or(|s| r.state == s))
            .filter(|r| query.since.is_none_or(|t| r.created_at >= t))
            .filter(|r| query.before.is_none_or(|b| r.id < b))
            .cloned()
            .collect();
        found.sort_by_key(|r| std::cmp::Reverse(r.id));
        found.truncate(query.limit);
        Ok(found)
    }

    async fn count_by_state(&self) -> Result<Vec<(ExecutionState, u64)>, StoreError> {
        let executions = self.lock();
        Ok(ExecutionState::ALL
            .into_iter()
            .map(|state| {
                let count = executions
                    .values()
                    .filter(|e| e.record.state == state)
                    .count();
                (state, count as u64)
            })
            .filter(|(_, count)| *count > 0)
            .collect())
    }

    async fn events(
        &self,
        id: ExecutionId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let executions = self.lock();
        let entry = executions.get(&id).ok_or(StoreError::NotFound(id))?;
        Ok(entry
            .events
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn claim_orphans(
        &self,
        owner: &Owner,
        lease: Duration,
    ) -> Result<Vec<ExecutionId>, StoreError> {
        let now = Utc::now();
        let mut claimed = Vec::new();
        for (id, entry) in self.lock().iter_mut() {
            if !entry.record.state.is_terminal() && is_orphaned(entry.lease.as_ref(), owner, now) {
                entry.lease = Some(lease_for(owner, lease));
                claimed.push(*id);
            }
        }
        claimed.sort();
        Ok(claimed)
    }

    async fn renew(&self, owner: &Owner, lease: Duration) -> Result<(), StoreError> {
        for entry in self.lock().values_mut() {
            if entry.lease.as_ref().is_some_and(|l| l.owner_id == owner.id) {
                entry.lease = Some(lease_for(owner, lease));
            }
        }
        Ok(())
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut executions = self.lock();
        let old = executions.len();
        executions.retain(|_, e| {
            !(e.record.state.is_terminal() && e.record.finished_at.is_some_and(|t| t < before))
        });
        Ok((old - executions.len()) as u64)
    }
}
