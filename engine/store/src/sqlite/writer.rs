//! The writer: the one write connection, which commits whatever is waiting
//! in a single transaction (group commit). Replies are sent only after the
//! commit: when `append` returns, the change is on disk. The writer thread
//! commits what is sent to it; under `Durability::Normal` a caller that finds
//! the writer idle, with nothing queued before it, commits its own small
//! request on its own thread instead, sparing the two thread hops a request
//! otherwise costs (see `SqliteStore::write`).
//!
//! Within a batch an execution's row and its step rows are written once,
//! at the end, however many appends changed them (a fan's branches finish
//! hundreds to a batch); the events are written as they come. An append
//! that fails before writing (a fenced or unknown execution) fails alone,
//! and so does any other request, which runs under a savepoint; an append
//! that fails after it may have written rolls the batch back, and the
//! batch's requests are then applied one transaction each, so only the
//! failing one fails. A failed begin or commit fails the whole batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use shutter_core::record::Timestamp;
use shutter_core::{
    AppendHold, Change, Claim, ExecutionId, ExecutionRecord, NewExecution, Owner, Renewal,
    SlotRequest, StepKey, StepRecord, StoreError, StoredWorkflow,
};
use tokio::sync::oneshot;

use super::error::db_error;
use crate::codec::{decode_execution, from_json, parse_time, time, to_json};
use crate::lease::{Lease, is_claimable, is_orphaned};

/// Most requests committed together.
const MAX_BATCH: usize = 1024;

/// Most requests of a batch the writer thread answers itself; a larger
/// batch's answers are sent by a thread of their own (see [`run`]).
const ANSWERED_HERE: usize = 8;

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
        /// Each change's JSON, as its event row holds it.
        events: Vec<String>,
        reply: Reply<u64>,
        /// Of an append its sender may take back until the writer takes it
        /// (`Store::send_append`).
        hold: Option<Arc<AppendHold>>,
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

/// What a request produced, answered once its transaction has committed.
enum Outcome {
    Record(ExecutionRecord),
    /// A sequence number or a count.
    Number(u64),
    Renewal(Renewal),
    Flag(bool),
    Claims(Vec<Claim>),
    Claim(Option<Claim>),
    Unit(()),
}

impl Op {
    /// Whether a caller may commit this request on its own (async)
    /// thread: small and bounded. A create writes a row per step, a claim
    /// of orphans or a prune scans the database, and a workflow's save is
    /// rare: those always go to the writer thread.
    ///
    /// An append sent and not waited for (`Store::send_append`) always
    /// goes to the writer thread: committed here it would block its
    /// sender's thread for no one, and queued it may still be taken back
    /// to ride with the outcome of its try.
    pub(crate) fn is_small(&self) -> bool {
        matches!(
            self,
            Self::Append { hold: None, .. }
                | Self::Renew { .. }
                | Self::Release { .. }
                | Self::RequestCancel { .. }
                | Self::TakeSlot { .. }
                | Self::FreeSlot { .. }
                | Self::ClaimOne { .. }
        )
    }

    /// Takes the request to commit it: false for an append its sender
    /// took back, which is dropped unwritten.
    pub(crate) fn take(&self) -> bool {
        match self {
            Self::Append {
                hold: Some(hold), ..
            } => hold.take(),
            _ => true,
        }
    }

    /// Sends `result` to whoever asked.
    fn answer(self, result: Result<Outcome, StoreError>) {
        fn send<T>(
            reply: Reply<T>,
            result: Result<Outcome, StoreError>,
            take: fn(Outcome) -> Option<T>,
        ) {
            let value = result.and_then(|outcome| {
                take(outcome).ok_or_else(|| {
                    StoreError::Fatal("the store writer answered out of kind".to_owned())
                })
            });
            let _ = reply.send(value);
        }
        /// The value of one kind of outcome, for `send`.
        macro_rules! take {
            ($kind:ident) => {
                |outcome| match outcome {
                    Outcome::$kind(value) => Some(value),
                    _ => None,
                }
            };
        }
        match self {
            Self::Create { reply, .. } => send(reply, result, take!(Record)),
            Self::Append { reply, .. } | Self::Prune { reply, .. } => {
                send(reply, result, take!(Number));
            }
            Self::Renew { reply, .. } => send(reply, result, take!(Renewal)),
            Self::RequestCancel { reply, .. } | Self::TakeSlot { reply, .. } => {
                send(reply, result, take!(Flag));
            }
            Self::ClaimOrphans { reply, .. } => send(reply, result, take!(Claims)),
            Self::ClaimOne { reply, .. } => send(reply, result, take!(Claim)),
            Self::FreeSlot { reply, .. }
            | Self::Release { reply, .. }
            | Self::SaveWorkflow { reply, .. } => send(reply, result, take!(Unit)),
        }
    }
}

/// An execution being written: its records.
struct Active {
    record: ExecutionRecord,
    steps: HashMap<StepKey, StepRecord>,
    next_position: i64,
    /// What this batch's appends changed and has not written yet: the
    /// execution's row (with the epoch the appends were made under) and
    /// these step rows (a position for those created in the batch).
    unwritten: Option<Unwritten>,
}

impl Active {
    /// A new execution's records as `create` writes them: every step
    /// pending, at its position in `steps`.
    fn created(record: &ExecutionRecord, steps: &[String]) -> Self {
        Self {
            record: record.clone(),
            steps: steps
                .iter()
                .map(|step| {
                    let key = StepKey::step(step);
                    (key.clone(), StepRecord::new(key))
                })
                .collect(),
            // As `load` counts: a step added later goes after them all.
            next_position: steps.len() as i64,
            unwritten: None,
        }
    }
}

struct Unwritten {
    epoch: u64,
    steps: HashMap<StepKey, i64>,
}

/// The write connection and the executions being written, kept between
/// batches so an append does not re-read them. Entries hold uncommitted
/// state during a batch; when a batch fails they are all dropped, and the
/// next append reloads from the database.
///
/// Held by the writer thread while it commits, and by a caller that finds
/// it idle (`SqliteStore::write`): whoever holds it commits.
pub(crate) struct Writer {
    conn: Connection,
    cache: HashMap<ExecutionId, Active>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("executions_cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> Self {
        Self {
            conn,
            cache: HashMap::new(),
        }
    }

    /// Commits `batch` in one transaction and answers each request.
    pub(crate) fn apply(&mut self, batch: Vec<Op>) {
        self.commit(batch).send();
    }

    /// Commits `batch` in one transaction: the answers, to send.
    fn commit(&mut self, batch: Vec<Op>) -> Answers {
        let Self { conn, cache } = self;
        let outcomes = match commit(conn, cache, &batch) {
            Ok(outcomes) => outcomes,
            Err(NotCommitted::Batch(err)) => batch.iter().map(|_| Err(err.clone())).collect(),
            Err(NotCommitted::Request(err)) if batch.len() == 1 => vec![Err(err)],
            Err(NotCommitted::Request(err)) => {
                // One request failed the batch: each is applied again on
                // its own, so only the failing one fails.
                tracing::debug!("a batch of {} failed ({err}); one at a time", batch.len());
                batch
                    .iter()
                    .map(|op| match commit(conn, cache, std::slice::from_ref(op)) {
                        Ok(mut one) => one.pop().expect("one outcome per request"),
                        Err(NotCommitted::Request(err) | NotCommitted::Batch(err)) => Err(err),
                    })
                    .collect()
            }
        };
        Answers { batch, outcomes }
    }
}

/// A committed batch's requests and what each is answered.
struct Answers {
    batch: Vec<Op>,
    outcomes: Vec<Result<Outcome, StoreError>>,
}

impl Answers {
    fn send(self) {
        for (op, outcome) in self.batch.into_iter().zip(self.outcomes) {
            op.answer(outcome);
        }
    }
}

/// The writer thread: takes what is waiting once the writer is free, and
/// commits it as one batch (group commit). `queued` counts the requests
/// sent and not yet taken into a batch: a caller commits its own request
/// only when it is zero (`SqliteStore::write`), so commits keep the order
/// requests were sent in.
///
/// A thread of its own answers each batch larger than [`ANSWERED_HERE`]
/// (waking each caller, dropping each request): for batches of a thousand
/// that was ~7% of the writer's time, which all appends wait for (issue
/// 19). It ends, having answered all, before this returns.
pub(crate) fn run(writer: &Mutex<Writer>, queued: &AtomicUsize, requests: Receiver<Op>) {
    let (answers, answering) = std::sync::mpsc::channel::<Answers>();
    // Moved in: however the loop ends, the answering thread's channel
    // closes with it, and the scope's join does not wait forever.
    std::thread::scope(move |scope| {
        let answerer = std::thread::Builder::new()
            .name("shutter-sqlite-answers".to_owned())
            .spawn_scoped(scope, move || {
                while let Ok(answered) = answering.recv() {
                    answered.send();
                }
            });
        if let Err(err) = &answerer {
            tracing::warn!("no thread to answer SQLite requests ({err}): the writer answers");
        }
        while let Ok(first) = requests.recv() {
            // Locked before the batch is gathered: what arrives while a
            // caller commits its own request joins this batch.
            let Ok(mut writer) = writer.lock() else {
                // A commit panicked: the requests' replies are dropped,
                // which their callers read as the writer having stopped.
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            let received = batch.len();
            batch.retain(Op::take);
            // Under the lock: a caller holding it sees these as still
            // queued, or as committed.
            queued.fetch_sub(received, Ordering::SeqCst);
            if batch.is_empty() {
                continue;
            }
            let answered = writer.commit(batch);
            drop(writer);
            // A few answers cost less than the hop to another thread (a
            // chain under `full` commits one request at a time here).
            if answered.batch.len() <= ANSWERED_HERE || answerer.is_err() {
                answered.send();
            } else if let Err(std::sync::mpsc::SendError(answered)) = answers.send(answered) {
                answered.send();
            }
        }
    });
}

/// Why a batch was not committed.
enum NotCommitted {
    /// A request failed after it may have written: the batch is applied
    /// again a request at a time.
    Request(StoreError),
    /// The transaction itself failed (begin, the deferred writes, commit):
    /// every request of the batch gets the error.
    Batch(StoreError),
}

/// Applies `batch` in one transaction (group commit) and commits it. A
/// request that fails before writing (a fenced or unknown execution, or
/// any request but an append, which runs under a savepoint) fails alone;
/// an append that fails after it may have written rolls the whole
/// transaction back.
fn commit(
    conn: &mut Connection,
    cache: &mut HashMap<ExecutionId, Active>,
    batch: &[Op],
) -> Result<Vec<Result<Outcome, StoreError>>, NotCommitted> {
    let whole = |e: rusqlite::Error| NotCommitted::Batch(db_error(&e));
    let applied = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(whole)
        .and_then(|tx| {
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut dirty = Vec::new();
            for op in batch {
                let outcome = if matches!(op, Op::Append { .. }) {
                    apply(&tx, cache, op, &mut dirty)
                } else {
                    // Whatever else it does may read or change the rows
                    // of executions appended to: they are written first.
                    write_unwritten(&tx, cache, &mut dirty).map_err(NotCommitted::Batch)?;
                    under_savepoint(&tx, || apply(&tx, cache, op, &mut dirty))
                };
                match outcome {
                    Ok(outcome) => outcomes.push(Ok(outcome)),
                    Err(Failure::Clean(err)) => outcomes.push(Err(err)),
                    Err(Failure::Dirty(err)) => return Err(NotCommitted::Request(err)),
                }
            }
            write_unwritten(&tx, cache, &mut dirty).map_err(NotCommitted::Batch)?;
            tx.commit().map_err(whole)?;
            Ok(outcomes)
        });
    match &applied {
        Ok(_) => {
            cache.retain(|_, active| !active.record.state.is_terminal());
            if cache.len() > 50_000 {
                cache.clear();
            }
        }
        Err(NotCommitted::Request(err) | NotCommitted::Batch(err)) => {
            tracing::debug!("a write transaction failed: {err}");
            cache.clear();
        }
    }
    applied
}

/// Runs a request that is not an append under a savepoint: its failure
/// undoes its own writes only, and so fails it alone.
fn under_savepoint(
    tx: &rusqlite::Transaction<'_>,
    apply: impl FnOnce() -> Result<Outcome, Failure>,
) -> Result<Outcome, Failure> {
    tx.execute_batch("SAVEPOINT op")
        .map_err(|e| Failure::Dirty(db_error(&e)))?;
    match apply() {
        Ok(outcome) => {
            tx.execute_batch("RELEASE op")
                .map_err(|e| Failure::Dirty(db_error(&e)))?;
            Ok(outcome)
        }
        Err(Failure::Clean(err) | Failure::Dirty(err)) => {
            tx.execute_batch("ROLLBACK TO op; RELEASE op")
                .map_err(|e| Failure::Dirty(db_error(&e)))?;
            Err(Failure::Clean(err))
        }
    }
}

/// How a request failed: before it wrote anything (the rest of its batch
/// stands), or after it may have (the batch is rolled back).
enum Failure {
    Clean(StoreError),
    Dirty(StoreError),
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self::Dirty(err)
    }
}

fn apply(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut HashMap<ExecutionId, Active>,
    op: &Op,
    dirty: &mut Vec<ExecutionId>,
) -> Result<Outcome, Failure> {
    Ok(match op {
        Op::Create {
            new, owner, lease, ..
        } => {
            let record = create(tx, new, owner, *lease)?;
            // Kept as written (unless an earlier create with the same key
            // answered): its first append need not read its rows back,
            // which took 4 ms for a fan of 2,000 (issue 19).
            if record.id == new.id {
                cache.insert(new.id, Active::created(&record, &new.steps));
            }
            Outcome::Record(record)
        }
        Op::Append {
            claim,
            changes,
            events,
            ..
        } => {
            let id = claim.id;
            let active = match cache.entry(id) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => match load(tx, id) {
                    Ok(Some(active)) => entry.insert(active),
                    Ok(None) => return Err(Failure::Clean(StoreError::NotFound(id))),
                    Err(err) => return Err(Failure::Clean(err)),
                },
            };
            match append(tx, active, *claim, changes, events, dirty) {
                Ok(()) => Outcome::Number(active.record.last_seq),
                Err(Failure::Clean(err)) => {
                    // Refused (another engine holds it): what is kept of it
                    // here is stale, unless this batch wrote it.
                    if active.unwritten.is_none() {
                        cache.remove(&id);
                    }
                    return Err(Failure::Clean(err));
                }
                Err(dirty) => return Err(dirty),
            }
        }
        Op::ClaimOrphans {
            owner,
            lease,
            held,
            limit,
            ..
        } => {
            let claims = claim_orphans(tx, owner, *lease, held, *limit)?;
            // What another engine wrote since this one last did is not in
            // the cache: the next append reloads the claimed executions.
            for claim in &claims {
                cache.remove(&claim.id);
            }
            Outcome::Claims(claims)
        }
        Op::ClaimOne {
            id, owner, lease, ..
        } => {
            cache.remove(id);
            Outcome::Claim(claim_one(tx, *id, owner, *lease)?)
        }
        Op::Renew {
            owner,
            lease,
            claims,
            ..
        } => Outcome::Renewal(renew(tx, owner, *lease, claims)?),
        Op::RequestCancel { id, .. } => Outcome::Flag(request_cancel(tx, *id)?),
        Op::TakeSlot { claim, request, .. } => {
            Outcome::Flag(super::slots::take_slot(tx, *claim, request)?)
        }
        Op::FreeSlot {
            claim, pool, step, ..
        } => Outcome::Unit(super::slots::free_slot(tx, *claim, pool, step)?),
        Op::Release { claim, .. } => {
            // No owner at all: a renewal sent before the release cannot
            // bring it back.
            tx.execute(
                "UPDATE executions SET owner_id = NULL, lease_until = NULL WHERE id = ?1 AND epoch = ?2",
                params![claim.id.to_string(), claim.epoch as i64],
            )
            .map_err(|e| db_error(&e))?;
            Outcome::Unit(())
        }
        Op::SaveWorkflow { workflow, .. } => {
            tx.execute(
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
            .map_err(|e| db_error(&e))?;
            Outcome::Unit(())
        }
        Op::Prune { before, .. } => Outcome::Number(prune(tx, *before)?),
    })
}

/// Deletes the executions that ended before `before`, and takes them off
/// the counts.
fn prune(tx: &rusqlite::Transaction<'_>, before: Timestamp) -> Result<u64, StoreError> {
    const ENDED_BEFORE: &str = "finished_at IS NOT NULL AND finished_at < ?1 AND state IN ('succeeded', 'succeeded_with_errors', 'failed', 'canceled')";
    let gone: Vec<(String, String, i64)> = super::all_rows(
        tx,
        &format!(
            "SELECT workflow, state, count(*) FROM executions WHERE {ENDED_BEFORE} GROUP BY workflow, state"
        ),
        params![time(before)],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
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
        // Creates are serialized by the writer's lock (whoever commits
        // holds it), so look-then-insert cannot race another create in
        // this process; the unique index catches another process.
        let existing: Option<String> = super::one_row(
            tx,
            "SELECT record FROM executions WHERE idempotency_key = ?1",
            params![key],
            |row| row.get(0),
        )?;
        if let Some(existing) = existing {
            return decode_execution(&existing);
        }
    }
    let key_seq = super::keys::place(tx, new)?;
    let record = ExecutionRecord::new(new);
    let inserted = tx.execute(
        "INSERT INTO executions (id, workflow, plan_hash, state, created_at, last_seq, record, source,
                                 owner_id, owner_host, owner_pid, lease_until, idempotency_key, epoch,
                                 concurrency_key, key_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, '', ?7, ?8, ?9, ?10, ?11, 1, ?12, ?13)",
        params![
            new.id.to_string(),
            new.workflow,
            new.plan_hash,
            record.state.as_str(),
            time(new.created_at),
            to_json(&record),
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
    // The source has a table of its own (schema 11): the executions row
    // is rewritten on every append.
    tx.execute(
        "INSERT INTO execution_sources (execution_id, source, source_path) VALUES (?1, ?2, ?3)",
        params![new.id.to_string(), new.source, new.source_path],
    )
    .map_err(|e| db_error(&e))?;
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
    let record: Option<String> = super::one_row(
        tx,
        "SELECT record FROM executions WHERE id = ?1",
        params![id.to_string()],
        |row| row.get(0),
    )?;
    let Some(record) = record else {
        return Ok(None);
    };
    let record = decode_execution(&record)?;
    let rows = super::decoded_rows(
        tx,
        "SELECT record FROM steps WHERE execution_id = ?1",
        params![id.to_string()],
        from_json::<StepRecord>,
    )?;
    let mut steps = HashMap::new();
    for step in rows {
        steps.insert(step.key.clone(), step);
    }
    let next_position = steps.len() as i64;
    Ok(Some(Active {
        record,
        steps,
        next_position,
        unwritten: None,
    }))
}

/// Folds `changes` into the execution and writes their events, if `claim`
/// is the current one: checked before anything is written (once a batch:
/// the write lock is held until it commits), so a refused append writes
/// nothing. The execution's row and its step rows wait for the end of the
/// batch ([`write_unwritten`]): a row many appends changed is written once.
fn append(
    tx: &rusqlite::Transaction<'_>,
    active: &mut Active,
    claim: Claim,
    changes: &[Change],
    events: &[String],
    dirty: &mut Vec<ExecutionId>,
) -> Result<(), Failure> {
    let Active {
        record,
        steps,
        next_position,
        unwritten,
    } = active;
    let id = record.id.to_string();
    if unwritten.as_ref().is_none_or(|u| u.epoch != claim.epoch) {
        let current: Option<i64> = tx
            .prepare_cached("SELECT epoch FROM executions WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id], |row| row.get(0)).optional())
            .map_err(|e| Failure::Clean(db_error(&e)))?;
        match current {
            None => return Err(Failure::Clean(StoreError::NotFound(claim.id))),
            Some(epoch) if epoch != claim.epoch as i64 => {
                let epoch = u64::try_from(epoch).unwrap_or(0);
                return Err(Failure::Clean(crate::memory::fenced(claim, epoch)));
            }
            Some(_) => {}
        }
    }
    let unwritten = match unwritten {
        Some(unwritten) => unwritten,
        None => {
            dirty.push(claim.id);
            unwritten.insert(Unwritten {
                epoch: claim.epoch,
                steps: HashMap::new(),
            })
        }
    };
    let was = record.state;
    let first_seq = record.last_seq + 1;
    for change in changes {
        let seq = record.last_seq + 1;
        record.apply(seq, change);
    }
    if record.state != was {
        count(tx, &record.workflow, was.as_str(), -1)?;
        count(tx, &record.workflow, record.state.as_str(), 1)?;
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (execution_id, seq, type, step, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(|e| db_error(&e))?;
    for ((seq, change), event) in (first_seq..).zip(changes).zip(events) {
        if change.touches_step_record()
            && let Some(key) = change.step()
        {
            // Looked up before anything is cloned: most changes are of a
            // step already known and already marked in this batch.
            let step = match steps.get_mut(key) {
                Some(step) => step,
                None => {
                    *next_position += 1;
                    unwritten.steps.insert(key.clone(), *next_position);
                    steps
                        .entry(key.clone())
                        .or_insert_with(|| StepRecord::new(key.clone()))
                }
            };
            step.apply(seq, change);
            if !unwritten.steps.contains_key(key) {
                // 0: an update, whose position is not written.
                unwritten.steps.insert(key.clone(), 0);
            }
        }
        insert
            .execute(params![
                id,
                seq as i64,
                change.kind(),
                change.step().map(StepKey::text),
                event
            ])
            .map_err(|e| db_error(&e))?;
    }
    if changes.iter().any(Change::is_backup) {
        super::catalog::write(tx, claim.id, changes)?;
    }
    Ok(())
}

/// Writes what the batch's appends left for its end: the row of each
/// execution in `dirty` (fenced by its epoch once more) and each step row
/// they touched, once.
fn write_unwritten(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut HashMap<ExecutionId, Active>,
    dirty: &mut Vec<ExecutionId>,
) -> Result<(), StoreError> {
    for id in dirty.drain(..) {
        let Some(active) = cache.get_mut(&id) else {
            continue;
        };
        let Some(unwritten) = active.unwritten.take() else {
            continue;
        };
        let record = &active.record;
        let id = id.to_string();
        let updated = tx
            .prepare_cached("UPDATE executions SET state = ?1, finished_at = ?2, last_seq = ?3, record = ?4, notices_pending = ?7 WHERE id = ?5 AND epoch = ?6")
            .and_then(|mut s| {
                s.execute(params![record.state.as_str(), record.finished_at.map(time), record.last_seq as i64, to_json(record), id, unwritten.epoch as i64, !record.pending_notices.is_empty()])
            })
            .map_err(|e| db_error(&e))?;
        if updated == 0 {
            return Err(StoreError::Conflict(format!(
                "execution {id} was claimed by another engine while it was being written"
            )));
        }
        // A row that exists is updated in place; one this batch created
        // (its position given) is inserted, or updated should it exist.
        let mut update = tx
            .prepare_cached("UPDATE steps SET record = ?3 WHERE execution_id = ?1 AND key = ?2")
            .map_err(|e| db_error(&e))?;
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO steps (execution_id, key, position, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (execution_id, key) DO UPDATE SET record = excluded.record",
            )
            .map_err(|e| db_error(&e))?;
        for (key, position) in &unwritten.steps {
            let (key, record) = (key.text(), to_json(&active.steps[key]));
            let updated = if *position == 0 {
                update
                    .execute(params![id, key, record])
                    .map_err(|e| db_error(&e))?
            } else {
                0
            };
            if updated == 0 {
                insert
                    .execute(params![id, key, position, record])
                    .map_err(|e| db_error(&e))?;
            }
        }
    }
    Ok(())
}

/// A row of a text (column 0) and the lease columns: owner id, host, pid
/// and until (1 to 4), read as [`lease_of`] takes them.
type LeaseRow = (
    String,
    Option<String>,
    Option<String>,
    Option<u32>,
    Option<String>,
);

/// Reads a [`LeaseRow`]: claiming reads a row's lease the same way
/// whether it looks at every candidate or at one execution.
fn lease_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LeaseRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
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
            .query_map([], lease_row)
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
    let row = super::one_row(
        tx,
        "SELECT state, owner_id, owner_host, owner_pid, lease_until FROM executions WHERE id = ?1",
        params![id.to_string()],
        lease_row,
    )?;
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
