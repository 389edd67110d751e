//! Concurrency keys on SQLite: each keyed execution has a place in its
//! key's line (`key_seq`), given at creation by the writer (creates are
//! serialized by its lock; it also refuses a `skip` start while the key is
//! held), and moved
//! to the end when an ended execution is claimed to run again.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use shutter_core::{ExecutionId, NewExecution, StoreError};

use super::error::db_error;

/// The first execution not ended in a key's line.
const FIRST_IN_LINE: &str = "SELECT id FROM executions
     WHERE concurrency_key = ?1 AND state IN ('queued', 'running')
     ORDER BY key_seq, id LIMIT 1";

/// The place after the last one in a key's line.
const NEXT_IN_LINE: &str =
    "SELECT COALESCE(MAX(key_seq), 0) + 1 FROM executions WHERE concurrency_key = ?1";

/// The new execution's place in its key's line (0 without a key), or
/// [`StoreError::Busy`] for a `skip` key held by another.
pub(super) fn place(tx: &Transaction<'_>, new: &NewExecution) -> Result<i64, StoreError> {
    let Some(concurrency) = &new.concurrency else {
        return Ok(0);
    };
    if concurrency.skip
        && let Some(holder) = first_in_line(tx, &concurrency.key)?
    {
        return Err(StoreError::Busy {
            key: concurrency.key.clone(),
            holder,
        });
    }
    tx.query_row(NEXT_IN_LINE, params![concurrency.key], |row| row.get(0))
        .map_err(|e| db_error(&e))
}

/// Moves an ended execution about to run again to the end of its line.
pub(super) fn requeue(tx: &Transaction<'_>, id: ExecutionId) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE executions SET key_seq = (SELECT COALESCE(MAX(k.key_seq), 0) + 1 FROM executions k
                                          WHERE k.concurrency_key = executions.concurrency_key)
         WHERE id = ?1 AND concurrency_key IS NOT NULL",
        params![id.to_string()],
    )
    .map_err(|e| db_error(&e))?;
    Ok(())
}

pub(super) fn holds_key(conn: &Connection, id: ExecutionId) -> Result<bool, StoreError> {
    let key: Option<Option<String>> = super::one_row(
        conn,
        "SELECT concurrency_key FROM executions WHERE id = ?1",
        params![id.to_string()],
        |row| row.get(0),
    )?;
    let Some(key) = key.ok_or(StoreError::NotFound(id))? else {
        return Ok(true);
    };
    Ok(first_in_line(conn, &key)?.is_none_or(|first| first == id))
}

fn first_in_line(conn: &Connection, key: &str) -> Result<Option<ExecutionId>, StoreError> {
    let first: Option<String> = conn
        .prepare_cached(FIRST_IN_LINE)
        .and_then(|mut statement| {
            statement
                .query_row(params![key], |row| row.get(0))
                .optional()
        })
        .map_err(|e| db_error(&e))?;
    first
        .map(|id| id.parse().map_err(StoreError::Fatal))
        .transpose()
}
