//! The writes: each in one transaction, answered after its commit.

use std::collections::HashMap;

use chrono::Utc;
use deadpool_postgres::Object;
use deadpool_postgres::Transaction;
use shutter_core::{
    Announcement, Change, Claim, ExecutionId, ExecutionRecord, ExecutionState, Holder,
    NewExecution, Renewal, StepKey, StepRecord, StoreError,
};

use super::error::{is_unique_violation, pg_error};
use crate::codec::{decode_execution, from_json, parse_time, time, to_json};
use crate::lease::{Lease, is_claimable, is_orphaned};

fn lease_until(holder: &Holder) -> String {
    time(shutter_core::clock::after(Utc::now(), holder.lease))
}

fn pid(holder: &Holder) -> i64 {
    i64::from(holder.owner.pid)
}

pub(super) async fn create(
    client: &mut Object,
    new: &NewExecution,
    holder: &Holder,
) -> Result<ExecutionRecord, StoreError> {
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    super::keys::lock(&tx, new).await?;
    if new.concurrency.is_some()
        && let Some(key) = &new.idempotency_key
    {
        // The same start asked again answers with the first execution,
        // not with the key it holds.
        let existing = tx
            .query_opt(
                "SELECT record FROM executions WHERE idempotency_key = $1",
                &[key],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        if let Some(existing) = existing {
            return decode_execution(existing.get(0));
        }
    }
    let key_seq = super::keys::place(&tx, new).await?;
    let record = ExecutionRecord::new(new);
    let owner = &holder.owner;
    // A taken idempotency key inserts nothing: the first execution is the answer.
    let inserted = tx
        .execute(
            "INSERT INTO executions (id, workflow, plan_hash, state, created_at, last_seq, record, source, source_path,
                                     owner_id, owner_host, owner_pid, lease_until, idempotency_key, epoch,
                                     concurrency_key, key_seq)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15)
             ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
            &[
                &new.id.to_string(),
                &new.workflow,
                &new.plan_hash,
                &record.state.as_str(),
                &time(new.created_at),
                &to_json(&record),
                &new.source,
                &new.source_path,
                &owner.id,
                &owner.host,
                &pid(holder),
                &lease_until(holder),
                &new.idempotency_key,
                &new.concurrency.as_ref().map(|c| c.key.as_str()),
                &key_seq,
            ],
        )
        .await;
    match inserted {
        Ok(0) => {
            let row = tx
                .query_one(
                    "SELECT record FROM executions WHERE idempotency_key = $1",
                    &[&new.idempotency_key],
                )
                .await
                .map_err(|e| pg_error(&e))?;
            return decode_execution(row.get(0));
        }
        Ok(_) => {}
        Err(err) if is_unique_violation(&err) => {
            return Err(StoreError::Conflict(format!("execution {} exists", new.id)));
        }
        Err(err) => return Err(pg_error(&err)),
    }
    let insert = tx
        .prepare("INSERT INTO steps (execution_id, key, position, record) VALUES ($1, $2, $3, $4)")
        .await
        .map_err(|e| pg_error(&e))?;
    let id = new.id.to_string();
    for (position, step) in (0_i64..).zip(&new.steps) {
        let key = StepKey::step(step);
        let step = to_json(&StepRecord::new(key.clone()));
        tx.execute(&insert, &[&id, &key.to_string(), &position, &step])
            .await
            .map_err(|e| pg_error(&e))?;
    }
    let seq = record.last_seq;
    notify(&tx, Announcement::Changed { id: new.id, seq }).await?;
    tx.commit().await.map_err(|e| pg_error(&e))?;
    Ok(record)
}

/// Announces to the nodes listening, at commit.
pub(super) async fn notify(
    tx: &Transaction<'_>,
    announcement: Announcement,
) -> Result<(), StoreError> {
    let payload = super::listen::payload(announcement);
    let statement = tx
        .prepare_cached("SELECT pg_notify($1, $2)")
        .await
        .map_err(|e| pg_error(&e))?;
    tx.execute(&statement, &[&super::listen::CHANNEL, &payload])
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(())
}

/// Folds the appends `ops` (each a claim and its changes, all of one
/// execution, in order) into the execution and writes them in `tx`: one
/// row lock with one read, then one multi-row write of the events, one of
/// the step records and one update, pipelined. Each op's result: the last
/// sequence number after its changes, or the refusal of a claim that is no
/// longer the current one (its changes are left out). With `announce`, the
/// change's `NOTIFY` goes out with the writes; otherwise the caller
/// announces.
pub(super) async fn append_all(
    tx: &Transaction<'_>,
    id: ExecutionId,
    ops: &[(Claim, &[Change])],
    announce: bool,
) -> Result<Vec<Result<u64, StoreError>>, StoreError> {
    let text_id = id.to_string();
    // The step records the changes touch are read in the same round trip
    // as the row lock, which the server takes first (one connection's
    // statements run in the order sent).
    let (row, steps) = tokio::try_join!(
        lock_execution(tx, &text_id),
        touched_steps(
            tx,
            &text_id,
            ops.iter().flat_map(|(_, changes)| changes.iter())
        ),
    )?;
    let row = row.ok_or(StoreError::NotFound(id))?;
    let current = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
    let mut record = decode_execution(row.get(0))?;
    let keyed: bool = row.get(2);
    let ended_before = record.state.is_terminal();
    let first_seq = record.last_seq + 1;
    let mut accepted: Vec<&Change> = Vec::new();
    let mut results = Vec::with_capacity(ops.len());
    for (claim, changes) in ops {
        if claim.epoch != current {
            results.push(Err(crate::memory::fenced(*claim, current)));
            continue;
        }
        for change in *changes {
            let seq = record.last_seq + 1;
            record.apply(seq, change);
            accepted.push(change);
        }
        results.push(Ok(record.last_seq));
    }
    if accepted.is_empty() {
        return Ok(results);
    }
    // Only the records of the changes taken (a fenced claim's are not).
    let mut steps = steps;
    steps.retain(|key, _| {
        accepted
            .iter()
            .any(|c| c.touches_step_record() && c.step() == Some(key))
    });
    let mut events = Events::default();
    for (seq, change) in (first_seq..).zip(&accepted) {
        if change.touches_step_record()
            && let Some(key) = change.step()
            && let Some((step, _)) = steps.get_mut(key)
        {
            step.apply(seq, change);
        }
        events.seqs.push(i64::try_from(seq).unwrap_or(i64::MAX));
        events.kinds.push(change.kind().to_owned());
        events.steps.push(change.step().map(ToString::to_string));
        events.data.push(to_json(*change));
    }
    // The writes go out together (tokio-postgres pipelines what one
    // connection is asked at once): one round trip instead of four.
    let announced = async {
        if announce {
            let changed = Announcement::Changed {
                id,
                seq: record.last_seq,
            };
            notify(tx, changed).await
        } else {
            Ok(())
        }
    };
    tokio::try_join!(
        events.write(tx, &text_id),
        write_steps(tx, &text_id, &steps),
        update_execution(tx, &text_id, &record),
        super::catalog::write(tx, id, &accepted),
        announced,
    )?;
    if keyed && record.state.is_terminal() && !ended_before {
        // Its concurrency key is free: the next in line may start.
        notify(tx, Announcement::SlotFreed).await?;
    }
    Ok(results)
}

/// The execution's row, locked: its record, epoch, and whether it has a
/// concurrency key.
async fn lock_execution(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<tokio_postgres::Row>, StoreError> {
    let lock = tx
        .prepare_cached(
            "SELECT record, epoch, concurrency_key IS NOT NULL FROM executions WHERE id = $1 FOR UPDATE",
        )
        .await
        .map_err(|e| pg_error(&e))?;
    tx.query_opt(&lock, &[&id]).await.map_err(|e| pg_error(&e))
}

async fn update_execution(
    tx: &Transaction<'_>,
    id: &str,
    record: &ExecutionRecord,
) -> Result<(), StoreError> {
    let last_seq = i64::try_from(record.last_seq).unwrap_or(i64::MAX);
    let update = tx
        .prepare_cached(
            "UPDATE executions SET state = $1, finished_at = $2, last_seq = $3, record = $4, notices_pending = $6 WHERE id = $5",
        )
        .await
        .map_err(|e| pg_error(&e))?;
    tx.execute(
        &update,
        &[
            &record.state.as_str(),
            &record.finished_at.map(time),
            &last_seq,
            &to_json(record),
            &id,
            &!record.pending_notices.is_empty(),
        ],
    )
    .await
    .map_err(|e| pg_error(&e))?;
    Ok(())
}

/// Event rows as columns, for one multi-row insert.
#[derive(Default)]
struct Events {
    seqs: Vec<i64>,
    kinds: Vec<String>,
    steps: Vec<Option<String>>,
    data: Vec<String>,
}

impl Events {
    async fn write(&self, tx: &Transaction<'_>, id: &str) -> Result<(), StoreError> {
        // One row is the common case (a chain's step, one change at a
        // time): the plain insert measured faster there than `UNNEST`.
        let (statement, one) = if self.seqs.len() == 1 {
            (
                "INSERT INTO events (execution_id, seq, type, step, data) VALUES ($1, $2, $3, $4, $5)",
                true,
            )
        } else {
            (
                "INSERT INTO events (execution_id, seq, type, step, data)
                 SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])",
                false,
            )
        };
        let insert = tx
            .prepare_cached(statement)
            .await
            .map_err(|e| pg_error(&e))?;
        let written = if one {
            tx.execute(
                &insert,
                &[
                    &id,
                    &self.seqs[0],
                    &self.kinds[0],
                    &self.steps[0],
                    &self.data[0],
                ],
            )
            .await
        } else {
            tx.execute(
                &insert,
                &[&id, &self.seqs, &self.kinds, &self.steps, &self.data],
            )
            .await
        };
        written.map_err(|e| pg_error(&e))?;
        Ok(())
    }
}

/// The step records `changes` touch, as stored (or new), each with the
/// position a new one gets (an existing one keeps its own).
async fn touched_steps<'c>(
    tx: &Transaction<'_>,
    id: &str,
    changes: impl Iterator<Item = &'c Change>,
) -> Result<HashMap<StepKey, (StepRecord, i64)>, StoreError> {
    // In the order the changes name them: new records take positions so.
    let mut keys: Vec<&StepKey> = Vec::new();
    for key in changes
        .filter(|c| c.touches_step_record())
        .filter_map(Change::step)
    {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut steps = HashMap::new();
    if keys.is_empty() {
        return Ok(steps);
    }
    let names: Vec<String> = keys.iter().map(ToString::to_string).collect();
    let read = tx
        .prepare_cached("SELECT record FROM steps WHERE execution_id = $1 AND key = ANY($2)")
        .await
        .map_err(|e| pg_error(&e))?;
    let rows = tx
        .query(&read, &[&id, &names])
        .await
        .map_err(|e| pg_error(&e))?;
    for row in rows {
        let step: StepRecord = from_json(row.get(0))?;
        steps.insert(step.key.clone(), (step, 0));
    }
    let new: Vec<&StepKey> = keys
        .into_iter()
        .filter(|k| !steps.contains_key(*k))
        .collect();
    if new.is_empty() {
        return Ok(steps);
    }
    let next: i64 = tx
        .query_one(
            "SELECT coalesce(max(position) + 1, 0) FROM steps WHERE execution_id = $1",
            &[&id],
        )
        .await
        .map_err(|e| pg_error(&e))?
        .get(0);
    for (position, key) in (next..).zip(new) {
        steps.insert(key.clone(), (StepRecord::new(key.clone()), position));
    }
    Ok(steps)
}

/// Writes the step records: new ones at their position, existing ones in
/// place, all in one statement.
async fn write_steps(
    tx: &Transaction<'_>,
    id: &str,
    steps: &HashMap<StepKey, (StepRecord, i64)>,
) -> Result<(), StoreError> {
    if steps.is_empty() {
        return Ok(());
    }
    if let [(key, (step, position))] = steps.iter().collect::<Vec<_>>()[..] {
        let upsert = tx
            .prepare_cached(
                "INSERT INTO steps (execution_id, key, position, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (execution_id, key) DO UPDATE SET record = excluded.record",
            )
            .await
            .map_err(|e| pg_error(&e))?;
        tx.execute(&upsert, &[&id, &key.to_string(), position, &to_json(step)])
            .await
            .map_err(|e| pg_error(&e))?;
        return Ok(());
    }
    let upsert = tx
        .prepare_cached(
            "INSERT INTO steps (execution_id, key, position, record)
             SELECT $1, * FROM UNNEST($2::TEXT[], $3::BIGINT[], $4::TEXT[])
             ON CONFLICT (execution_id, key) DO UPDATE SET record = excluded.record",
        )
        .await
        .map_err(|e| pg_error(&e))?;
    let (mut keys, mut positions, mut records) = (Vec::new(), Vec::new(), Vec::new());
    for (key, (step, position)) in steps {
        keys.push(key.to_string());
        positions.push(*position);
        records.push(to_json(step));
    }
    tx.execute(&upsert, &[&id, &keys, &positions, &records])
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(())
}

/// A row's lease, if it has one.
fn lease_of(row: &tokio_postgres::Row, first: usize) -> Result<Option<Lease>, StoreError> {
    let owner_id: Option<String> = row.get(first);
    let host: Option<String> = row.get(first + 1);
    let pid: Option<i64> = row.get(first + 2);
    let until: Option<String> = row.get(first + 3);
    Ok(match (owner_id, host, pid, until) {
        (Some(owner_id), Some(host), Some(pid), Some(until)) => Some(Lease {
            owner_id,
            host,
            pid: u32::try_from(pid).unwrap_or(0),
            until: parse_time(&until)?,
        }),
        _ => None,
    })
}

/// Takes the orphans of dead owners. Rows another node is claiming at the
/// same moment are skipped (it takes them), not waited for.
pub(super) async fn claim_orphans(
    client: &mut Object,
    holder: &Holder,
    held: &[ExecutionId],
    limit: usize,
) -> Result<Vec<Claim>, StoreError> {
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    let now = Utc::now();
    // Only rows that may be orphans are locked: an expired (or no) lease,
    // or another owner on this host (whose process may be gone). Live
    // leases of other hosts, and this owner's own, stay unlocked, so their
    // appends never wait for this.
    let rows = tx
        .query(
            "SELECT id, owner_id, owner_host, owner_pid, lease_until FROM executions
             WHERE (state IN ('queued', 'running') OR notices_pending)
               AND (lease_until IS NULL OR lease_until < $1 OR (owner_host = $2 AND owner_id <> $3))
             ORDER BY id FOR UPDATE SKIP LOCKED",
            &[&time(now), &holder.owner.host, &holder.owner.id],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    let mut claims = Vec::new();
    for row in rows {
        if claims.len() >= limit {
            break;
        }
        let id: ExecutionId = row.get::<_, &str>(0).parse().map_err(StoreError::Fatal)?;
        if held.contains(&id) || !is_orphaned(lease_of(&row, 1)?.as_ref(), &holder.owner, now) {
            continue;
        }
        claims.push(take(&tx, id, holder).await?);
    }
    tx.commit().await.map_err(|e| pg_error(&e))?;
    Ok(claims)
}

pub(super) async fn claim_one(
    client: &mut Object,
    id: ExecutionId,
    holder: &Holder,
) -> Result<Option<Claim>, StoreError> {
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    let row = tx
        .query_opt(
            "SELECT state, owner_id, owner_host, owner_pid, lease_until FROM executions WHERE id = $1 FOR UPDATE",
            &[&id.to_string()],
        )
        .await
        .map_err(|e| pg_error(&e))?
        .ok_or(StoreError::NotFound(id))?;
    let terminal = ExecutionState::parse(row.get(0)).is_some_and(ExecutionState::is_terminal);
    let lease = lease_of(&row, 1)?;
    if !is_claimable(terminal, lease.as_ref(), &holder.owner, Utc::now()) {
        return Ok(None);
    }
    if terminal {
        // To run again (a retry): to the end of its key's line.
        super::keys::requeue(&tx, id).await?;
    }
    let claim = take(&tx, id, holder).await?;
    tx.commit().await.map_err(|e| pg_error(&e))?;
    Ok(Some(claim))
}

/// Claims one execution for `holder` at the next epoch.
async fn take(tx: &Transaction<'_>, id: ExecutionId, holder: &Holder) -> Result<Claim, StoreError> {
    let owner = &holder.owner;
    let row = tx
        .query_one(
            "UPDATE executions SET owner_id = $1, owner_host = $2, owner_pid = $3, lease_until = $4, epoch = epoch + 1,
                 cancel_requested = cancel_requested AND state IN ('queued', 'running')
             WHERE id = $5 RETURNING epoch",
            &[&owner.id, &owner.host, &pid(holder), &lease_until(holder), &id.to_string()],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(Claim {
        id,
        epoch: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
    })
}

/// Extends the leases `holder` still holds; says which it lost and which
/// of the others a node asked to cancel.
pub(super) async fn renew(
    client: &Object,
    holder: &Holder,
    claims: &[Claim],
) -> Result<Renewal, StoreError> {
    let until = lease_until(holder);
    let statement = client
        .prepare_cached(
            "UPDATE executions SET lease_until = $1 WHERE id = $2 AND epoch = $3 AND owner_id = $4
             RETURNING cancel_requested",
        )
        .await
        .map_err(|e| pg_error(&e))?;
    let mut renewal = Renewal::default();
    for claim in claims {
        let epoch = i64::try_from(claim.epoch).unwrap_or(i64::MAX);
        let row = client
            .query_opt(
                &statement,
                &[&until, &claim.id.to_string(), &epoch, &holder.owner.id],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        match row.map(|row| row.get::<_, bool>(0)) {
            None => renewal.lost.push(claim.id),
            Some(true) => renewal.cancel.push(claim.id),
            Some(false) => {}
        }
    }
    Ok(renewal)
}

/// Ends the lease of `claim` now, if it is still the current one, and
/// announces the execution as work for any node with room.
pub(super) async fn release(client: &mut Object, claim: Claim) -> Result<(), StoreError> {
    let epoch = i64::try_from(claim.epoch).unwrap_or(i64::MAX);
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    // No owner at all (not a lease in the past): a renewal sent before the
    // release cannot bring it back, and no clock decides when it is free.
    let released = tx
        .execute(
            "UPDATE executions SET owner_id = NULL, lease_until = NULL
             WHERE id = $1 AND epoch = $2 AND state IN ('queued', 'running')",
            &[&claim.id.to_string(), &epoch],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    if released > 0 {
        notify(&tx, Announcement::WorkQueued).await?;
    }
    tx.commit().await.map_err(|e| pg_error(&e))
}

/// Keeps a cancel request on an execution that has not ended, and
/// announces it to the node running it.
pub(super) async fn request_cancel(
    client: &mut Object,
    id: ExecutionId,
) -> Result<bool, StoreError> {
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    let kept = tx
        .execute(
            "UPDATE executions SET cancel_requested = TRUE WHERE id = $1 AND state IN ('queued', 'running')",
            &[&id.to_string()],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    if kept == 0 {
        // Ended, or never was.
        let exists = tx
            .query_opt("SELECT 1 FROM executions WHERE id = $1", &[&id.to_string()])
            .await
            .map_err(|e| pg_error(&e))?;
        return match exists {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound(id)),
        };
    }
    notify(&tx, Announcement::CancelRequested(id)).await?;
    tx.commit().await.map_err(|e| pg_error(&e))?;
    Ok(true)
}
