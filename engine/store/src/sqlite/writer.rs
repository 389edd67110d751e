//! The writer thread: owns the one write connection and commits whatever is
//! waiting in a single transaction (group commit). Each request gets its own
//! savepoint, so one failing request does not undo the others, and its reply
//! is sent only after the commit: when `append` returns, the change is on disk.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use shutter_core::record::Timestamp;
use shutter_core::{
    Change, Claim, ExecutionId, ExecutionRecord, NewExecution, Owner, Renewal, SlotRequest,
    StepKey, StepRecord, StoreError, StoredWorkflow,
};
use tokio::sync::oneshot;

use super::error::db_error;
use crate::codec::{decode_execution, from_json, parse_time, time, to_json};
use crate::lease::{Lease, is_claimable, is_orphaned};

/// Most requests committed together.
const MAX_BATCH: usize = 1024;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

pub(crate) enum Op {
    Create {
        new: Box<NewExecution>,
        owner: Owner,
        lease: Duration,
        reply: Reply<ExecutionRecord>,
    },
    Append {
        claim: Claim,
        changes: Vec<Change>,
        reply: Reply<u64>,
    },
    ClaimOrphans {
        owner: Owner,
        lease: Duration,
        held: Vec<ExecutionId>,
        limit: usize,
        reply: Reply<Vec<Claim>>,
    },
    ClaimOne {
        id: ExecutionId,
        owner: Owner,
        lease: Duration,
        reply: Reply<Option<Claim>>,
    },
    Renew {
        owner: Owner,
        lease: Duration,
        claims: Vec<Claim>,
        reply: Reply<Renewal>,
    },
    RequestCancel {
        id: ExecutionId,
        reply: Reply<bool>,
    },
    TakeSlot {
        claim: Claim,
        request: Box<SlotRequest>,
        reply: Reply<bool>,
    },
    FreeSlot {
        claim: Claim,
        pool: String,
        step: StepKey,
        reply: Reply<()>,
    },
    Release {
        claim: Claim,
        reply: Reply<()>,
    },
    Prune {
        before: Timestamp,
        reply: Reply<u64>,
    },
    SaveWorkflow {
        workflow: Box<StoredWorkflow>,
        reply: Reply<()>,
    },
}

/// A finished request, waiting for the commit to be answered.
enum Done {
    Record(Reply<ExecutionRecord>, Result<ExecutionRecord, StoreError>),
    /// A sequence number or a count.
    Number(Reply<u64>, Result<u64, StoreError>),
    Renewal(Reply<Renewal>, Result<Renewal, StoreError>),
    Flag(Reply<bool>, Result<bool, StoreError>),
    Claims(Reply<Vec<Claim>>, Result<Vec<Claim>, StoreError>),
    Claim(Reply<Option<Claim>>, Result<Option<Claim>, StoreError>),
    Unit(Reply<()>, Result<(), StoreError>),
}

impl Done {
    fn answer(self, commit: Result<(), &StoreError>) {
        fn send<T>(
            reply: oneshot::Sender<Result<T, StoreError>>,
            result: Result<T, StoreError>,
            commit: Result<(), &StoreError>,
        ) {
            let _ = reply.send(commit.map_err(Clone::clone).and(result));
        }
        match self {
            Self::Record(reply, result) => send(reply, result, commit),
            Self::Number(reply, result) => send(reply, result, commit),
            Self::Renewal(reply, result) => send(reply, result, commit),
            Self::Flag(reply, result) => send(reply, result, commit),
            Self::Claims(reply, result) => send(reply, result, commit),
            Self::Claim(reply, result) => send(reply, result, commit),
            Self::Unit(reply, result) => send(reply, result, commit),
        }
    }
}

/// An execution being written: its records.
struct Active {
    record: ExecutionRecord,
    steps: HashMap<StepKey, StepRecord>,
    next_position: i64,
}

pub(crate) fn run(mut conn: Connection, requests: Receiver<Op>) {
    // Executions being written, kept between batches so an append does not
    // re-read them. Entries hold uncommitted state during a batch: a failed
    // request drops its entry, a failed commit drops them all, and the next
    // append reloads from the database.
    let mut cache: HashMap<ExecutionId, Active> = HashMap::new();
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(op) => batch.push(op),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let mut done = Vec::with_capacity(batch.len());
        let commit = conn.transaction().map_err(|e| db_error(&e)).and_then(|tx| {
            for op in batch {
                done.push(apply(&tx, &mut cache, op));
            }
            tx.commit().map_err(|e| db_error(&e))
        });
        match &commit {
            Ok(()) => {
                cache.retain(|_, active| !active.record.state.is_terminal());
                if cache.len() > 50_000 {
                    cache.clear();
                }
            }
            Err(err) => {
                tracing::error!("commit failed: {err}");
                cache.clear();
            }
        }
        for reply in done {
            reply.answer(commit.as_ref().copied());
        }
    }
}

fn apply(tx: &rusqlite::Transaction<'_>, cache: &mut HashMap<ExecutionId, Active>, op: Op) -> Done {
    let savepoint = |f: &mut dyn FnMut() -> Result<(), StoreError>| -> Result<(), StoreError> {
        tx.execute_batch("SAVEPOINT op").map_err(|e| db_error(&e))?;
        match f() {
            Ok(()) => tx.execute_batch("RELEASE op").map_err(|e| db_error(&e)),
            Err(err) => {
                let _ = tx.execute_batch("ROLLBACK TO op; RELEASE op");
                Err(err)
            }
        }
    };
    match op {
        Op::Create {
            new,
            owner,
            lease,
            reply,
        } => {
            let mut out = None;
            let result = savepoint(&mut || {
                out = Some(create(tx, &new, &owner, lease)?);
                Ok(())
            });
            Done::Record(reply, result.map(|()| out.expect("set on success")))
        }
        Op::Append {
            claim,
            changes,
            reply,
        } => {
            let id = claim.id;
            let mut active = match cache.remove(&id) {
                Some(active) => active,
                None => match load(tx, id) {
                    Ok(Some(active)) => active,
                    Ok(None) => return Done::Number(reply, Err(StoreError::NotFound(id))),
                    Err(err) => return Done::Number(reply, Err(err)),
                },
            };
            let result = savepoint(&mut || append(tx, &mut active, claim, &changes));
            let seq = active.record.last_seq;
            // On failure the savepoint undid the rows; the entry, changed in
            // memory, is dropped so the next append reloads the truth.
            if result.is_ok() {
                cache.insert(id, active);
            }
            Done::Number(reply, result.map(|()| seq))
        }
        Op::ClaimOrphans {
            owner,
            lease,
            held,
            limit,
            reply,
        } => {
            let mut out = Vec::new();
            let result = savepoint(&mut || {
                out = claim_orphans(tx, &owner, lease, &held, limit)?;
                Ok(())
            });
            // What another engine wrote since this one last did is not in
            // the cache: the next append reloads the claimed executions.
            for claim in &out {
                cache.remove(&claim.id);
            }
            Done::Claims(reply, result.map(|()| std::mem::take(&mut out)))
        }
        Op::ClaimOne {
            id,
            owner,
            lease,
            reply,
        } => {
            let mut out = None;
            let result = savepoint(&mut || {
                out = claim_one(tx, id, &owner, lease)?;
                Ok(())
            });
            cache.remove(&id);
            Done::Claim(reply, result.map(|()| out))
        }
        Op::Renew {
            owner,
            lease,
            claims,
            reply,
        } => Done::Renewal(reply, renew(tx, &owner, lease, &claims)),
        Op::RequestCancel { id, reply } => Done::Flag(reply, request_cancel(tx, id)),
        Op::TakeSlot {
            claim,
            request,
            reply,
        } => {
            let mut granted = false;
            let result = savepoint(&mut || {
                granted = super::slots::take_slot(tx, claim, &request)?;
                Ok(())
            });
            Done::Flag(reply, result.map(|()| granted))
        }
        Op::FreeSlot {
            claim,
            pool,
            step,
            reply,
        } => Done::Unit(reply, super::slots::free_slot(tx, claim, &pool, &step)),
        Op::Release { claim, reply } => {
            // No owner at all: a renewal sent before the release cannot
            // bring it back.
            let result = tx
                .execute(
                    "UPDATE executions SET owner_id = NULL, lease_until = NULL WHERE id = ?1 AND epoch = ?2",
                    params![claim.id.to_string(), claim.epoch as i64],
                )
                .map(|_| ())
                .map_err(|e| db_error(&e));
            Done::Unit(reply, result)
        }
        Op::SaveWorkflow { workflow, reply } => {
            let result = tx
                .execute(
                    "INSERT INTO workflows (name, plan_hash, source, path, registered_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (name, plan_hash) DO NOTHING",
                    params![
                        workflow.name,
                        workflow.plan_hash,
                        workflow.source,
                        workflow.path,
                        time(workflow.registered_at)
                    ],
                )
                .map(|_| ())
                .map_err(|e| db_error(&e));
            Done::Unit(reply, result)
        }
        Op::Prune { before, reply } => {
            let mut pruned = 0;
            let result = savepoint(&mut || {
                pruned = prune(tx, before)?;
                Ok(())
            });
            Done::Number(reply, result.map(|()| pruned))
        }
    }
}

/// Deletes the executions that ended before `before`, and takes them off
/// the counts.
fn prune(tx: &rusqlite::Transaction<'_>, before: Timestamp) -> Result<u64, StoreError> {
    const ENDED_BEFORE: &str = "finished_at IS NOT NULL AND finished_at < ?1 AND state IN ('succeeded', 'succeeded_with_errors', 'failed', 'canceled')";
    let gone: Vec<(String, String, i64)> = {
        let mut statement = tx
            .prepare_cached(&format!(
                "SELECT workflow, state, count(*) FROM executions WHERE {ENDED_BEFORE} GROUP BY workflow, state"
            ))
            .map_err(|e| db_error(&e))?;
        let rows = statement
            .query_map(params![time(before)], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(|e| db_error(&e))?;
        rows.collect::<Result<_, _>>().map_err(|e| db_error(&e))?
    };
    for (workflow, state, n) in &gone {
        count(tx, workflow, state, -n)?;
    }
    tx.execute(
        &format!("DELETE FROM executions WHERE {ENDED_BEFORE}"),
        params![time(before)],
    )
    .map(|n| n as u64)
    .map_err(|e| db_error(&e))
}

/// Moves the count of `workflow`'s executions in `state` by `delta`: the
/// counts `count_by_workflow` reads (in a step with every create, change
/// of state and prune, in the same transaction), so metrics and the
/// console never count a million rows.
fn count(
    tx: &rusqlite::Transaction<'_>,
    workflow: &str,
    state: &str,
    delta: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO execution_counts (workflow, state, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (workflow, state) DO UPDATE SET count = count + excluded.count",
    )
    .and_then(|mut statement| statement.execute(params![workflow, state, delta]))
    .map(|_| ())
    .map_err(|e| db_error(&e))
}

fn lease_until(lease: Duration) -> Timestamp {
    shutter_core::clock::after(Utc::now(), lease)
}

fn create(
    tx: &rusqlite::Transaction<'_>,
    new: &NewExecution,
    owner: &Owner,
    lease: Duration,
) -> Result<ExecutionRecord, StoreError> {
    if let Some(key) = &new.idempotency_key {
        // The writer thread is the only one creating, so look-then-insert
        // cannot race another create in this process; the unique index
        // catches another process.
        let existing: Option<String> = tx
            .query_row(
                "SELECT record FROM executions WHERE idempotency_key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| db_error(&e))?;
        if let Some(existing) = existing {
            return decode_execution(&existing);
        }
    }
    let key_seq = super::keys::place(tx, new)?;
    let record = ExecutionRecord::new(new);
    let inserted = tx.execute(
        "INSERT INTO executions (id, workflow, plan_hash, state, created_at, last_seq, record, source, source_path,
                                 owner_id, owner_host, owner_pid, lease_until, idempotency_key, epoch,
                                 concurrency_key, key_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?15)",
        params![
            new.id.to_string(),
            new.workflow,
            new.plan_hash,
            record.state.as_str(),
            time(new.created_at),
            to_json(&record),
            new.source,
            new.source_path,
            owner.id,
            owner.host,
            owner.pid,
            time(lease_until(lease)),
            new.idempotency_key,
            new.concurrency.as_ref().map(|c| &c.key),
            key_seq,
        ],
    );
    match inserted {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(code, _))
            if code.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Err(StoreError::Conflict(format!("execution {} exists", new.id)));
        }
        Err(err) => return Err(db_error(&err)),
    }
    count(tx, &new.workflow, record.state.as_str(), 1)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO steps (execution_id, key, position, record) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(|e| db_error(&e))?;
    for (position, step) in new.steps.iter().enumerate() {
        let key = StepKey::step(step);
        insert
            .execute(params![
                new.id.to_string(),
                key.to_string(),
                position as i64,
                to_json(&StepRecord::new(key))
            ])
            .map_err(|e| db_error(&e))?;
    }
    Ok(record)
}

fn load(tx: &rusqlite::Transaction<'_>, id: ExecutionId) -> Result<Option<Active>, StoreError> {
    let record: Option<String> = tx
        .query_row(
            "SELECT record FROM executions WHERE id = ?1",
            params![id.to_string()],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| db_error(&e))?;
    let Some(record) = record else {
        return Ok(None);
    };
    let record = decode_execution(&record)?;
    let mut statement = tx
        .prepare_cached("SELECT record FROM steps WHERE execution_id = ?1")
        .map_err(|e| db_error(&e))?;
    let rows = statement
        .query_map(params![id.to_string()], |row| row.get::<_, String>(0))
        .map_err(|e| db_error(&e))?;
    let mut steps = HashMap::new();
    for row in rows {
        let step: StepRecord = from_json(&row.map_err(|e| db_error(&e))?)?;
        steps.insert(step.key.clone(), step);
    }
    let next_position = steps.len() as i64;
    Ok(Some(Active {
        record,
        steps,
        next_position,
    }))
}

/// Folds `changes` into the execution and writes them, if `claim` is the
/// current one: the fenced update of the execution's row comes first, so a
/// refused append writes nothing.
fn append(
    tx: &rusqlite::Transaction<'_>,
    active: &mut Active,
    claim: Claim,
    changes: &[Change],
) -> Result<(), StoreError> {
    let id = active.record.id.to_string();
    let was = active.record.state;
    let mut touched: Vec<StepKey> = Vec::new();
    let mut created: Vec<StepKey> = Vec::new();
    let first_seq = active.record.last_seq + 1;
    for change in changes {
        let seq = active.record.last_seq + 1;
        active.record.apply(seq, change);
    }
    let record = &active.record;
    let updated = tx
        .prepare_cached("UPDATE executions SET state = ?1, finished_at = ?2, last_seq = ?3, record = ?4, notices_pending = ?7 WHERE id = ?5 AND epoch = ?6")
        .and_then(|mut s| {
            s.execute(params![record.state.as_str(), record.finished_at.map(time), record.last_seq as i64, to_json(record), id, claim.epoch as i64, !record.pending_notices.is_empty()])
        })
        .map_err(|e| db_error(&e))?;
    if updated == 0 {
        let current: i64 = tx
            .query_row(
                "SELECT epoch FROM executions WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .map_err(|e| db_error(&e))?;
        return Err(crate::memory::fenced(
            claim,
            u64::try_from(current).unwrap_or(0),
        ));
    }
    if record.state != was {
        count(tx, &record.workflow, was.as_str(), -1)?;
        count(tx, &record.workflow, record.state.as_str(), 1)?;
    }
    {
        let mut insert = tx
            .prepare_cached("INSERT INTO events (execution_id, seq, type, step, data) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(|e| db_error(&e))?;
        for (seq, change) in (first_seq..).zip(changes) {
            if change.touches_step_record()
                && let Some(key) = change.step()
            {
                let step = active.steps.entry(key.clone()).or_insert_with(|| {
                    created.push(key.clone());
                    StepRecord::new(key.clone())
                });
                step.apply(seq, change);
                if !touched.contains(key) {
                    touched.push(key.clone());
                }
            }
            insert
                .execute(params![
                    id,
                    seq as i64,
                    change.kind(),
                    change.step().map(ToString::to_string),
                    to_json(change)
                ])
                .map_err(|e| db_error(&e))?;
        }
    }
    if changes.iter().any(Change::is_backup) {
        super::catalog::write(tx, claim.id, changes)?;
    }
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO steps (execution_id, key, position, record) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (execution_id, key) DO UPDATE SET record = excluded.record",
        )
        .map_err(|e| db_error(&e))?;
    for key in touched {
        let position = if created.contains(&key) {
            active.next_position += 1;
            active.next_position
        } else {
            0 // unused on update
        };
        upsert
            .execute(params![
                id,
                key.to_string(),
                position,
                to_json(&active.steps[&key])
            ])
            .map_err(|e| db_error(&e))?;
    }
    Ok(())
}

/// A row's lease, if it has one.
fn lease_of(
    owner_id: Option<String>,
    host: Option<String>,
    pid: Option<u32>,
    until: Option<String>,
) -> Result<Option<Lease>, StoreError> {
    Ok(match (owner_id, host, pid, until) {
        (Some(owner_id), Some(host), Some(pid), Some(until)) => Some(Lease {
            owner_id,
            host,
            pid,
            until: parse_time(&until)?,
        }),
        _ => None,
    })
}

fn claim_orphans(
    tx: &rusqlite::Transaction<'_>,
    owner: &Owner,
    lease: Duration,
    held: &[ExecutionId],
    limit: usize,
) -> Result<Vec<Claim>, StoreError> {
    let now = Utc::now();
    let mut candidates = Vec::new();
    {
        let mut statement = tx
            .prepare_cached(
                "SELECT id, owner_id, owner_host, owner_pid, lease_until FROM executions
                 WHERE state IN ('queued', 'running') OR notices_pending = 1 ORDER BY id",
            )
            .map_err(|e| db_error(&e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<u32>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(|e| db_error(&e))?;
        for row in rows {
            let (id, owner_id, host, pid, until) = row.map_err(|e| db_error(&e))?;
            let id: ExecutionId = id.parse().map_err(StoreError::Fatal)?;
            if held.contains(&id) {
                continue;
            }
            let lease = lease_of(owner_id, host, pid, until)?;
            if is_orphaned(lease.as_ref(), owner, now) {
                candidates.push(id);
                if candidates.len() == limit {
                    break;
                }
            }
        }
    }
    candidates.truncate(limit);
    candidates
        .into_iter()
        .map(|id| take(tx, id, owner, lease))
        .collect()
}

fn claim_one(
    tx: &rusqlite::Transaction<'_>,
    id: ExecutionId,
    owner: &Owner,
    lease: Duration,
) -> Result<Option<Claim>, StoreError> {
    let row = tx
        .query_row(
            "SELECT state, owner_id, owner_host, owner_pid, lease_until FROM executions WHERE id = ?1",
            params![id.to_string()],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<u32>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(|e| db_error(&e))?;
    let Some((state, owner_id, host, pid, until)) = row else {
        return Err(StoreError::NotFound(id));
    };
    let terminal = shutter_core::ExecutionState::parse(&state).is_some_and(|s| s.is_terminal());
    let lease_now = lease_of(owner_id, host, pid, until)?;
    if !is_claimable(terminal, lease_now.as_ref(), owner, Utc::now()) {
        return Ok(None);
    }
    if terminal {
        // To run again (a retry): to the end of its key's line.
        super::keys::requeue(tx, id)?;
    }
    take(tx, id, owner, lease).map(Some)
}

/// Claims one execution for `owner` at the next epoch.
fn take(
    tx: &rusqlite::Transaction<'_>,
    id: ExecutionId,
    owner: &Owner,
    lease: Duration,
) -> Result<Claim, StoreError> {
    let epoch: i64 = tx
        .prepare_cached(
            "UPDATE executions SET owner_id = ?1, owner_host = ?2, owner_pid = ?3, lease_until = ?4, epoch = epoch + 1,
                 cancel_requested = cancel_requested AND state IN ('queued', 'running')
             WHERE id = ?5 RETURNING epoch",
        )
        .and_then(|mut s| {
            s.query_row(
                params![owner.id, owner.host, owner.pid, time(lease_until(lease)), id.to_string()],
                |row| row.get(0),
            )
        })
        .map_err(|e| db_error(&e))?;
    Ok(Claim {
        id,
        epoch: u64::try_from(epoch).unwrap_or(0),
    })
}

/// Extends the leases `owner` still holds; says which it lost and which
/// of the others another process asked to cancel.
fn renew(
    tx: &rusqlite::Transaction<'_>,
    owner: &Owner,
    lease: Duration,
    claims: &[Claim],
) -> Result<Renewal, StoreError> {
    let until = time(lease_until(lease));
    let mut statement = tx
        .prepare_cached(
            "UPDATE executions SET lease_until = ?1 WHERE id = ?2 AND epoch = ?3 AND owner_id = ?4
             RETURNING cancel_requested",
        )
        .map_err(|e| db_error(&e))?;
    let mut renewal = Renewal::default();
    for claim in claims {
        let cancel: Option<bool> = statement
            .query_row(
                params![until, claim.id.to_string(), claim.epoch as i64, owner.id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| db_error(&e))?;
        match cancel {
            None => renewal.lost.push(claim.id),
            Some(true) => renewal.cancel.push(claim.id),
            Some(false) => {}
        }
    }
    Ok(renewal)
}

/// Keeps a cancel request on an execution that has not ended.
fn request_cancel(tx: &rusqlite::Transaction<'_>, id: ExecutionId) -> Result<bool, StoreError> {
    let updated = tx
        .execute(
            "UPDATE executions SET cancel_requested = 1 WHERE id = ?1 AND state IN ('queued', 'running')",
            params![id.to_string()],
        )
        .map_err(|e| db_error(&e))?;
    if updated == 0 {
        super::must_exist(tx, id)?;
    }
    Ok(updated > 0)
}
