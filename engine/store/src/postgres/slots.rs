//! Limit pools on PostgreSQL: a pool's rows are read and written in one
//! transaction under an advisory lock of the pool, so two nodes asking at
//! once take turns; a freed slot is announced to every node.

use chrono::Utc;
use deadpool_postgres::Object;
use shutter_core::{Announcement, Claim, SlotRequest, StepKey, StoreError};

use super::error::pg_error;
use super::write::notify;
use crate::codec::{parse_time, time};
use crate::slots::{SlotRow, turn};

/// The advisory lock of a pool: a hash of its name, apart from the
/// migrations' lock by its prefix.
const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended('shutter-limit:' || $1, 0))";

pub(super) async fn take_slot(
    client: &mut Object,
    claim: Claim,
    request: &SlotRequest,
) -> Result<bool, StoreError> {
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    tx.execute(LOCK, &[&request.pool])
        .await
        .map_err(|e| pg_error(&e))?;
    let id = claim.id.to_string();
    let current = tx
        .query_opt("SELECT epoch FROM executions WHERE id = $1", &[&id])
        .await
        .map_err(|e| pg_error(&e))?
        .ok_or(StoreError::NotFound(claim.id))?;
    let current = u64::try_from(current.get::<_, i64>(0)).unwrap_or(0);
    if current != claim.epoch {
        return Err(crate::memory::fenced(claim, current));
    }
    let now = Utc::now();
    let rows = tx
        .query(
            "SELECT s.execution_id, s.step, s.epoch, s.since, s.held,
                    COALESCE(e.epoch = s.epoch AND e.state IN ('queued', 'running')
                             AND e.owner_id IS NOT NULL AND e.lease_until >= $2, FALSE)
             FROM slots s LEFT JOIN executions e ON e.id = s.execution_id
             WHERE s.pool = $1",
            &[&request.pool, &time(now)],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    let mut read = Vec::with_capacity(rows.len());
    for row in rows {
        read.push(SlotRow {
            execution: row.get(0),
            step: row.get(1),
            epoch: u64::try_from(row.get::<_, i64>(2)).unwrap_or(0),
            since: parse_time(row.get(3))?,
            held: row.get(4),
            live: row.get(5),
        });
    }
    let step = request.step.to_string();
    let decided = turn(read, &id, &step, claim.epoch, request.capacity, now);
    for (execution, step) in &decided.dead {
        tx.execute(
            "DELETE FROM slots WHERE pool = $1 AND execution_id = $2 AND step = $3",
            &[&request.pool, execution, step],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    }
    let mine = &decided.mine;
    tx.execute(
        "INSERT INTO slots (pool, execution_id, step, epoch, since, held) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (pool, execution_id, step) DO UPDATE SET epoch = excluded.epoch, since = excluded.since, held = excluded.held",
        &[
            &request.pool,
            &mine.execution,
            &mine.step,
            &i64::try_from(mine.epoch).unwrap_or(i64::MAX),
            &time(mine.since),
            &mine.held,
        ],
    )
    .await
    .map_err(|e| pg_error(&e))?;
    if !decided.dead.is_empty() {
        // Slots of dead leases were freed: others in line may go now.
        notify(&tx, Announcement::SlotFreed).await?;
    }
    tx.commit().await.map_err(|e| pg_error(&e))?;
    Ok(decided.granted())
}

pub(super) async fn free_slot(
    client: &mut Object,
    claim: Claim,
    pool: &str,
    step: &StepKey,
) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    let freed = tx
        .execute(
            "DELETE FROM slots WHERE pool = $1 AND execution_id = $2 AND step = $3 AND epoch = $4",
            &[
                &pool,
                &claim.id.to_string(),
                &step.to_string(),
                &i64::try_from(claim.epoch).unwrap_or(i64::MAX),
            ],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    if freed > 0 {
        notify(&tx, Announcement::SlotFreed).await?;
    }
    tx.commit().await.map_err(|e| pg_error(&e))
}
