//! The backup catalog in PostgreSQL: written in the transaction of the
//! append that reports it, read like the executions.

use std::collections::HashMap;

use deadpool_postgres::Transaction;
use shutter_core::{Backup, Change, ExecutionId, StoreError};
use tokio_postgres::types::ToSql;

use super::error::pg_error;
use crate::codec::from_json;

/// Folds the catalog changes among `changes` into the catalog, in `tx`:
/// the entries they touch (and every entry at a census's place) are read
/// and locked, then written back together.
pub(super) async fn write(
    tx: &Transaction<'_>,
    execution: ExecutionId,
    changes: &[&Change],
) -> Result<(), StoreError> {
    let touched = crate::catalog::touched(changes.iter().copied());
    let places = crate::catalog::censused(changes.iter().copied());
    if touched.is_empty() && places.is_empty() {
        return Ok(());
    }
    // One writer at a time per place, in one order: two nodes recording
    // the same new artifact would both insert it (the later one's fold
    // winning), and row locks taken in two orders could deadlock.
    let mut locked: Vec<&str> = touched
        .iter()
        .map(|r| r.location.as_str())
        .chain(places.iter().map(String::as_str))
        .collect();
    locked.sort_unstable();
    locked.dedup();
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtext(l)) FROM unnest($1::TEXT[]) AS l")
        .await
        .map_err(|e| pg_error(&e))?;
    tx.query(&lock, &[&locked])
        .await
        .map_err(|e| pg_error(&e))?;
    let locations: Vec<&str> = touched.iter().map(|r| r.location.as_str()).collect();
    let ids: Vec<&str> = touched.iter().map(|r| r.native_id.as_str()).collect();
    let read = tx
        .prepare_cached(
            "SELECT record FROM backups WHERE (location, native_id) IN
                 (SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[])) FOR UPDATE",
        )
        .await
        .map_err(|e| pg_error(&e))?;
    let at_places = tx
        .prepare_cached("SELECT record FROM backups WHERE location = ANY($1) FOR UPDATE")
        .await
        .map_err(|e| pg_error(&e))?;
    let (named_args, place_args): ([&(dyn ToSql + Sync); 2], [&(dyn ToSql + Sync); 1]) =
        ([&locations, &ids], [&places]);
    let (named, placed) = tokio::try_join!(
        tx.query(&read, &named_args),
        tx.query(&at_places, &place_args),
    )
    .map_err(|e| pg_error(&e))?;
    let mut held = HashMap::new();
    for row in named.iter().chain(&placed) {
        let entry: Backup = from_json(row.get(0))?;
        held.insert(entry.reference(), entry);
    }
    let upsert = tx
        .prepare_cached(&crate::catalog::upsert(|n| format!("${n}")))
        .await
        .map_err(|e| pg_error(&e))?;
    let rows: Vec<[Option<String>; 12]> =
        crate::catalog::fold(held, changes.iter().copied(), execution)
            .iter()
            .map(crate::catalog::row)
            .collect();
    let writes = rows.iter().map(|row| {
        let args: Vec<&(dyn ToSql + Sync)> = row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let upsert = &upsert;
        async move { tx.execute(upsert, &args).await.map_err(|e| pg_error(&e)) }
    });
    // Pipelined: one round trip for every entry.
    futures_util::future::try_join_all(writes).await?;
    Ok(())
}
