//! The store in memory: the reference implementation of the contract.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use indexmap::IndexMap;
use shutter_core::record::Timestamp;
use shutter_core::{
    Backup, BackupQuery, BackupRef, Change, Claim, Event, ExecutionId, ExecutionRecord,
    ExecutionSnapshot, ExecutionState, Holder, ListQuery, NewExecution, Occupancy, Occupant, Page,
    PoolRow, Renewal, SlotRequest, StepKey, StepRecord, Store, StoreError, StoredWorkflow,
};

use crate::lease::{Lease, is_claimable, is_orphaned};
use crate::slots::{SlotRow, turn};

#[derive(Debug)]
struct Entry {
    record: ExecutionRecord,
    source: String,
    source_path: Option<String>,
    steps: IndexMap<StepKey, StepRecord>,
    events: Vec<Event>,
    lease: Option<Lease>,
    /// The epoch of the current claim (see `Claim`).
    epoch: u64,
    idempotency_key: Option<String>,
    /// A cancel was asked for while it ran (kept until it is claimed again
    /// after it ended, for a retry).
    cancel_requested: bool,
    /// Its concurrency key, and its place in the key's line.
    concurrency_key: Option<String>,
    key_seq: u64,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    executions: Mutex<HashMap<ExecutionId, Entry>>,
    workflows: Mutex<Vec<StoredWorkflow>>,
    /// Limit pools: each pool's rows (taken under the executions' lock).
    slots: Mutex<HashMap<String, Vec<SlotRow>>>,
    /// The backup catalog (written under the executions' lock).
    backups: Mutex<IndexMap<BackupRef, Backup>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The events of `page` that `keep` keeps.
    fn page(
        &self,
        id: ExecutionId,
        page: Page,
        keep: impl Fn(&Change) -> bool,
    ) -> Result<Vec<Event>, StoreError> {
        let executions = self.lock();
        let entry = executions.get(&id).ok_or(StoreError::NotFound(id))?;
        Ok(entry
            .events
            .iter()
            .filter(|e| e.seq > page.after && keep(&e.change))
            .take(page.limit)
            .cloned()
            .collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionId, Entry>> {
        self.executions
            .lock()
            .expect("no panic while holding the store lock")
    }
}

/// The first execution not ended in `key`'s line.
fn first_in_line(executions: &HashMap<ExecutionId, Entry>, key: &str) -> Option<ExecutionId> {
    executions
        .iter()
        .filter(|(_, entry)| {
            entry.concurrency_key.as_deref() == Some(key) && !entry.record.state.is_terminal()
        })
        .min_by_key(|(id, entry)| (entry.key_seq, **id))
        .map(|(id, _)| *id)
}

/// The place after the last one in `key`'s line.
fn next_in_line(executions: &HashMap<ExecutionId, Entry>, key: &str) -> u64 {
    executions
        .values()
        .filter(|entry| entry.concurrency_key.as_deref() == Some(key))
        .map(|entry| entry.key_seq)
        .max()
        .unwrap_or(0)
        + 1
}

/// Claims an entry for `holder` at the next epoch.
fn take(id: ExecutionId, entry: &mut Entry, holder: &Holder) -> Claim {
    entry.epoch += 1;
    if entry.record.state.is_terminal() {
        entry.cancel_requested = false;
    }
    entry.lease = Some(lease_for(holder));
    Claim {
        id,
        epoch: entry.epoch,
    }
}

/// The refusal of an append under a claim that is no longer current.
pub(crate) fn fenced(claim: Claim, current: u64) -> StoreError {
    StoreError::Conflict(format!(
        "execution {} is held by another engine now (claim epoch {} is past, the current one is {current})",
        claim.id, claim.epoch
    ))
}

/// Whether a pool's row counts: its execution runs at the row's epoch
/// under a lease not expired at `now`.
fn counts(
    executions: &HashMap<ExecutionId, Entry>,
    execution: &str,
    epoch: u64,
    now: Timestamp,
) -> bool {
    execution
        .parse::<ExecutionId>()
        .ok()
        .and_then(|id| executions.get(&id))
        .is_some_and(|entry| {
            entry.epoch == epoch
                && !entry.record.state.is_terminal()
                && entry.lease.as_ref().is_some_and(|lease| lease.until >= now)
        })
}

fn lease_for(holder: &Holder) -> Lease {
    let owner = &holder.owner;
    Lease {
        owner_id: owner.id.clone(),
        host: owner.host.clone(),
        pid: owner.pid,
        until: shutter_core::clock::after(Utc::now(), holder.lease),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(
        &self,
        new: NewExecution,
        holder: &Holder,
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
        let mut key_seq = 0;
        if let Some(concurrency) = &new.concurrency {
            if concurrency.skip
                && let Some(holder) = first_in_line(&executions, &concurrency.key)
            {
                return Err(StoreError::Busy {
                    key: concurrency.key.clone(),
                    holder,
                });
            }
            key_seq = next_in_line(&executions, &concurrency.key);
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
                lease: Some(lease_for(holder)),
                epoch: 1,
                idempotency_key: new.idempotency_key,
                cancel_requested: false,
                concurrency_key: new.concurrency.map(|c| c.key),
                key_seq,
            },
        );
        Ok(record)
    }

    async fn append(&self, claim: Claim, changes: Vec<Change>) -> Result<u64, StoreError> {
        let mut executions = self.lock();
        let entry = executions
            .get_mut(&claim.id)
            .ok_or(StoreError::NotFound(claim.id))?;
        if entry.epoch != claim.epoch {
            return Err(fenced(claim, entry.epoch));
        }
        if changes.iter().any(Change::is_backup) {
            let mut catalog = self.backups.lock().unwrap_or_else(PoisonError::into_inner);
            let places = crate::catalog::censused(&changes);
            let mut held: HashMap<BackupRef, Backup> = crate::catalog::touched(&changes)
                .into_iter()
                .filter_map(|r| Some((r.clone(), catalog.get(&r)?.clone())))
                .collect();
            held.extend(
                catalog
                    .iter()
                    .filter(|(r, _)| places.contains(&r.location))
                    .map(|(r, b)| (r.clone(), b.clone())),
            );
            for backup in crate::catalog::fold(held, &changes, claim.id) {
                catalog.insert(backup.reference(), backup);
            }
        }
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

    async fn count_by_workflow(&self) -> Result<Vec<(String, ExecutionState, u64)>, StoreError> {
        let executions = self.lock();
        let mut counts: BTreeMap<(String, &'static str), (ExecutionState, u64)> = BTreeMap::new();
        for entry in executions.values() {
            let record = &entry.record;
            counts
                .entry((record.workflow.clone(), record.state.as_str()))
                .or_insert((record.state, 0))
                .1 += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((workflow, _), (state, count))| (workflow, state, count))
            .collect())
    }

    async fn events(&self, id: ExecutionId, page: Page) -> Result<Vec<Event>, StoreError> {
        self.page(id, page, |_| true)
    }

    async fn logs(
        &self,
        id: ExecutionId,
        step: &str,
        page: Page,
    ) -> Result<Vec<Event>, StoreError> {
        self.page(id, page, |change| match change {
            Change::Log { key, .. } => key.step == step || key.to_string() == step,
            _ => false,
        })
    }

    async fn claim_orphans(
        &self,
        holder: &Holder,
        held: &[ExecutionId],
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let now = Utc::now();
        let mut executions = self.lock();
        let mut orphans: Vec<ExecutionId> = executions
            .iter()
            .filter(|(id, entry)| {
                entry.record.needs_engine()
                    && !held.contains(id)
                    && is_orphaned(entry.lease.as_ref(), &holder.owner, now)
            })
            .map(|(id, _)| *id)
            .collect();
        orphans.sort();
        orphans.truncate(limit);
        Ok(orphans
            .into_iter()
            .filter_map(|id| Some(take(id, executions.get_mut(&id)?, holder)))
            .collect())
    }

    async fn claim(&self, id: ExecutionId, holder: &Holder) -> Result<Option<Claim>, StoreError> {
        let mut executions = self.lock();
        let entry = executions.get(&id).ok_or(StoreError::NotFound(id))?;
        let terminal = entry.record.state.is_terminal();
        if !is_claimable(terminal, entry.lease.as_ref(), &holder.owner, Utc::now()) {
            return Ok(None);
        }
        // Run again (a retry): to the end of its key's line.
        let requeued = match (&entry.concurrency_key, terminal) {
            (Some(key), true) => Some(next_in_line(&executions, key)),
            _ => None,
        };
        let entry = executions.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        if let Some(seq) = requeued {
            entry.key_seq = seq;
        }
        Ok(Some(take(id, entry, holder)))
    }

    async fn holds_key(&self, id: ExecutionId) -> Result<bool, StoreError> {
        let executions = self.lock();
        let entry = executions.get(&id).ok_or(StoreError::NotFound(id))?;
        Ok(match &entry.concurrency_key {
            None => true,
            Some(key) => first_in_line(&executions, key).is_none_or(|first| first == id),
        })
    }

    async fn renew(&self, holder: &Holder, claims: &[Claim]) -> Result<Renewal, StoreError> {
        let mut executions = self.lock();
        let mut renewal = Renewal::default();
        for claim in claims {
            match executions.get_mut(&claim.id) {
                // Released (no lease) or another's: not renewed.
                Some(entry)
                    if entry.epoch == claim.epoch
                        && entry
                            .lease
                            .as_ref()
                            .is_some_and(|lease| lease.owner_id == holder.owner.id) =>
                {
                    entry.lease = Some(lease_for(holder));
                    if entry.cancel_requested {
                        renewal.cancel.push(claim.id);
                    }
                }
                _ => renewal.lost.push(claim.id),
            }
        }
        Ok(renewal)
    }

    async fn request_cancel(&self, id: ExecutionId) -> Result<bool, StoreError> {
        let mut executions = self.lock();
        let entry = executions.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        if entry.record.state.is_terminal() {
            return Ok(false);
        }
        entry.cancel_requested = true;
        Ok(true)
    }

    async fn release(&self, claim: Claim) -> Result<(), StoreError> {
        if let Some(entry) = self.lock().get_mut(&claim.id)
            && entry.epoch == claim.epoch
        {
            entry.lease = None;
        }
        Ok(())
    }

    async fn take_slot(&self, claim: Claim, request: &SlotRequest) -> Result<bool, StoreError> {
        let executions = self.lock();
        let entry = executions
            .get(&claim.id)
            .ok_or(StoreError::NotFound(claim.id))?;
        if entry.epoch != claim.epoch {
            return Err(fenced(claim, entry.epoch));
        }
        let now = Utc::now();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let rows = slots.remove(&request.pool).unwrap_or_default();
        let rows: Vec<SlotRow> = rows
            .into_iter()
            .map(|mut row| {
                row.live = counts(&executions, &row.execution, row.epoch, now);
                row
            })
            .collect();
        let (execution, step) = (claim.id.to_string(), request.step.to_string());
        let decided = turn(
            rows.clone(),
            &execution,
            &step,
            claim.epoch,
            request.capacity,
            now,
        );
        // What stays: the live rows of other steps (the dead are dropped),
        // then this step's.
        let mut kept: Vec<SlotRow> = rows
            .into_iter()
            .filter(|row| row.live && (row.execution != execution || row.step != step))
            .collect();
        let granted = decided.granted();
        kept.push(decided.mine);
        slots.insert(request.pool.clone(), kept);
        Ok(granted)
    }

    async fn free_slot(&self, claim: Claim, pool: &str, step: &StepKey) -> Result<(), StoreError> {
        let _executions = self.lock();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let (execution, step) = (claim.id.to_string(), step.to_string());
        if let Some(rows) = slots.get_mut(pool) {
            rows.retain(|row| {
                !(row.execution == execution && row.step == step && row.epoch == claim.epoch)
            });
            if rows.is_empty() {
                slots.remove(pool);
            }
        }
        Ok(())
    }

    async fn save_workflow(&self, workflow: &StoredWorkflow) -> Result<(), StoreError> {
        let mut workflows = self
            .workflows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let kept = workflows
            .iter()
            .any(|w| w.name == workflow.name && w.plan_hash == workflow.plan_hash);
        if !kept {
            workflows.push(workflow.clone());
        }
        Ok(())
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        let catalog = self.backups.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(query.page(catalog.values()))
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        let catalog = self.backups.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(catalog.values().find(|entry| entry.id == id).cloned())
    }

    async fn occupancy(&self) -> Result<Occupancy, StoreError> {
        use shutter_core::occupancy::OCCUPANCY_ROWS;
        let executions = self.lock();
        let mut unended: Vec<Occupant> = executions
            .values()
            .filter(|entry| !entry.record.state.is_terminal())
            .map(|entry| Occupant {
                id: entry.record.id,
                workflow: entry.record.workflow.clone(),
                state: entry.record.state,
                lease: entry.lease.as_ref().map(|lease| {
                    (
                        shutter_core::Owner {
                            id: lease.owner_id.clone(),
                            host: lease.host.clone(),
                            pid: lease.pid,
                        },
                        lease.until,
                    )
                }),
            })
            .collect();
        unended.sort_by_key(|occupant| occupant.id);
        unended.truncate(OCCUPANCY_ROWS);
        let now = Utc::now();
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rows: Vec<PoolRow> = slots
            .iter()
            .flat_map(|(pool, rows)| rows.iter().map(move |row| (pool, row)))
            .filter_map(|(pool, row)| {
                Some(PoolRow {
                    pool: pool.clone(),
                    execution: row.execution.parse().ok()?,
                    step: row.step.clone(),
                    since: row.since,
                    held: row.held,
                    live: counts(&executions, &row.execution, row.epoch, now),
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.pool, !a.held, a.since, a.execution, &a.step).cmp(&(
                &b.pool,
                !b.held,
                b.since,
                b.execution,
                &b.step,
            ))
        });
        rows.truncate(OCCUPANCY_ROWS);
        Ok(Occupancy {
            executions: unended,
            slots: rows,
        })
    }

    async fn workflows(&self) -> Result<Vec<StoredWorkflow>, StoreError> {
        Ok(self
            .workflows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
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
