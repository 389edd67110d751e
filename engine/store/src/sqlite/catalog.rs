//! The backup catalog in SQLite: written by the writer with the append
//! that reports it, read on the read connections.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use shutter_core::{Backup, BackupQuery, Change, ExecutionId, StoreError};

use super::error::db_error;
use crate::codec::from_json;

/// Folds the catalog changes among `changes` into the catalog, in `tx`.
pub(super) fn write(
    tx: &rusqlite::Transaction<'_>,
    execution: ExecutionId,
    changes: &[Change],
) -> Result<(), StoreError> {
    let mut held = HashMap::new();
    {
        let mut read = tx
            .prepare_cached("SELECT record FROM backups WHERE location = ?1 AND native_id = ?2")
            .map_err(|e| db_error(&e))?;
        for reference in crate::catalog::touched(changes) {
            let row: Option<String> = read
                .query_row(params![reference.location, reference.native_id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(|e| db_error(&e))?;
            if let Some(row) = row {
                held.insert(reference, from_json::<Backup>(&row)?);
            }
        }
        for place in crate::catalog::censused(changes) {
            let entries = super::decoded_rows(
                tx,
                "SELECT record FROM backups WHERE location = ?1",
                params![place],
                from_json::<Backup>,
            )?;
            for entry in entries {
                held.insert(entry.reference(), entry);
            }
        }
    }
    let mut upsert = tx
        .prepare_cached(&crate::catalog::upsert(|n| format!("?{n}")))
        .map_err(|e| db_error(&e))?;
    for entry in crate::catalog::fold(held, changes, execution) {
        upsert
            .execute(params_from_iter(crate::catalog::row(&entry)))
            .map_err(|e| db_error(&e))?;
    }
    Ok(())
}

/// The page of entries `query` asks for, newest first.
pub(super) fn query(conn: &Connection, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
    let (sql, args) = crate::catalog::select(query, |n| format!("?{n}"));
    let mut values: Vec<Value> = args.into_iter().map(Value::Text).collect();
    values.push(Value::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX),
    ));
    super::decoded_rows(conn, &sql, params_from_iter(values), from_json::<Backup>)
}

pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<Backup>, StoreError> {
    let row: Option<String> = conn
        .prepare_cached("SELECT record FROM backups WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![id], |row| row.get(0)).optional())
        .map_err(|e| db_error(&e))?;
    row.map(|row| from_json(&row)).transpose()
}
