//! Concurrency keys on PostgreSQL: each keyed execution has a place in its
//! key's line (`key_seq`), given at creation under an advisory lock of the
//! key (so two nodes starting the same key take turns, and a `skip` start
//! sees any holder), and moved to the end when an ended execution is
//! claimed to run again.

use deadpool_postgres::{Object, Transaction};
use shutter_core::{ExecutionId, NewExecution, StoreError};

use super::error::pg_error;

const FIRST_IN_LINE: &str = "SELECT id FROM executions
     WHERE concurrency_key = $1 AND state IN ('queued', 'running')
     ORDER BY key_seq, id LIMIT 1";

/// Takes the lock of the new execution's key, if it has one, until `tx`
/// ends.
pub(super) async fn lock(tx: &Transaction<'_>, new: &NewExecution) -> Result<(), StoreError> {
    if let Some(concurrency) = &new.concurrency {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('shutter-key:' || $1, 0))",
            &[&concurrency.key],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    }
    Ok(())
}

/// The new execution's place in its key's line (0 without a key), or
/// [`StoreError::Busy`] for a `skip` key held by another; under the key's
/// [`lock`].
pub(super) async fn place(tx: &Transaction<'_>, new: &NewExecution) -> Result<i64, StoreError> {
    let Some(concurrency) = &new.concurrency else {
        return Ok(0);
    };
    if concurrency.skip {
        let holder = tx
            .query_opt(FIRST_IN_LINE, &[&concurrency.key])
            .await
            .map_err(|e| pg_error(&e))?;
        if let Some(holder) = holder {
            return Err(StoreError::Busy {
                key: concurrency.key.clone(),
                holder: holder
                    .get::<_, &str>(0)
                    .parse()
                    .map_err(StoreError::Fatal)?,
            });
        }
    }
    let row = tx
        .query_one(
            "SELECT COALESCE(MAX(key_seq), 0) + 1 FROM executions WHERE concurrency_key = $1",
            &[&concurrency.key],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(row.get(0))
}

/// Moves an ended execution about to run again to the end of its line.
/// (Not under the key's lock: a start at the same moment may share its
/// place, and ties go by id.)
pub(super) async fn requeue(tx: &Transaction<'_>, id: ExecutionId) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE executions SET key_seq = (SELECT COALESCE(MAX(k.key_seq), 0) + 1 FROM executions k
                                          WHERE k.concurrency_key = executions.concurrency_key)
         WHERE id = $1 AND concurrency_key IS NOT NULL",
        &[&id.to_string()],
    )
    .await
    .map_err(|e| pg_error(&e))?;
    Ok(())
}

pub(super) async fn holds_key(client: &Object, id: ExecutionId) -> Result<bool, StoreError> {
    let row = client
        .query_opt(
            "SELECT concurrency_key FROM executions WHERE id = $1",
            &[&id.to_string()],
        )
        .await
        .map_err(|e| pg_error(&e))?
        .ok_or(StoreError::NotFound(id))?;
    let Some(key) = row.get::<_, Option<String>>(0) else {
        return Ok(true);
    };
    let first = client
        .query_opt(FIRST_IN_LINE, &[&key])
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(first.is_none_or(|row| row.get::<_, &str>(0) == id.to_string()))
}
