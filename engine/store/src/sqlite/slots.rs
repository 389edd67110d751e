//! Limit pools on SQLite: the pool's rows read and written in the writer's
//! transaction (one writer per process: the pool needs no other lock).

use chrono::Utc;
use rusqlite::{Transaction, params};
use shutter_core::{Claim, SlotRequest, StepKey, StoreError};

use super::error::db_error;
use crate::codec::{parse_time, time};
use crate::slots::{SlotRow, turn};

/// Whether a row's execution runs at the row's claim under a live lease.
const LIVE: &str = "e.epoch = s.epoch AND e.state IN ('queued', 'running')
                    AND e.owner_id IS NOT NULL AND e.lease_until >= ?2";

pub(super) fn take_slot(
    tx: &Transaction<'_>,
    claim: Claim,
    request: &SlotRequest,
) -> Result<bool, StoreError> {
    let epoch: Option<i64> = super::one_row(
        tx,
        "SELECT epoch FROM executions WHERE id = ?1",
        params![claim.id.to_string()],
        |row| row.get(0),
    )?;
    let current = u64::try_from(epoch.ok_or(StoreError::NotFound(claim.id))?).unwrap_or(0);
    if current != claim.epoch {
        return Err(crate::memory::fenced(claim, current));
    }
    let now = Utc::now();
    let read = super::all_rows(
        tx,
        &format!(
            "SELECT s.execution_id, s.step, s.epoch, s.since, s.held,
                    COALESCE((SELECT {LIVE} FROM executions e WHERE e.id = s.execution_id), 0)
             FROM slots s WHERE s.pool = ?1"
        ),
        params![request.pool, time(now)],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, bool>(4)?,
                row.get::<_, bool>(5)?,
            ))
        },
    )?;
    let mut rows = Vec::with_capacity(read.len());
    for (execution, step, epoch, since, held, live) in read {
        rows.push(SlotRow {
            execution,
            step,
            epoch: u64::try_from(epoch).unwrap_or(0),
            since: parse_time(&since)?,
            held,
            live,
        });
    }
    let (execution, step) = (claim.id.to_string(), request.step.to_string());
    let decided = turn(rows, &execution, &step, claim.epoch, request.capacity, now);
    for (execution, step) in &decided.dead {
        tx.execute(
            "DELETE FROM slots WHERE pool = ?1 AND execution_id = ?2 AND step = ?3",
            params![request.pool, execution, step],
        )
        .map_err(|e| db_error(&e))?;
    }
    let mine = &decided.mine;
    tx.execute(
        "INSERT INTO slots (pool, execution_id, step, epoch, since, held) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (pool, execution_id, step) DO UPDATE SET epoch = excluded.epoch, since = excluded.since, held = excluded.held",
        params![
            request.pool,
            mine.execution,
            mine.step,
            i64::try_from(mine.epoch).unwrap_or(i64::MAX),
            time(mine.since),
            mine.held
        ],
    )
    .map_err(|e| db_error(&e))?;
    Ok(decided.granted())
}

pub(super) fn free_slot(
    tx: &Transaction<'_>,
    claim: Claim,
    pool: &str,
    step: &StepKey,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM slots WHERE pool = ?1 AND execution_id = ?2 AND step = ?3 AND epoch = ?4",
        params![
            pool,
            claim.id.to_string(),
            step.to_string(),
            i64::try_from(claim.epoch).unwrap_or(i64::MAX)
        ],
    )
    .map_err(|e| db_error(&e))?;
    Ok(())
}
