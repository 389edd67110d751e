//! The database schema and its versioned migrations (`PRAGMA user_version`).

use rusqlite::Connection;

/// Each entry upgrades the schema by one version; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    // 1: executions, their step records and their event log.
    "
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,            -- UUIDv7: sorts by creation time
        workflow TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,       -- RFC 3339, UTC, fixed width: sorts as time
        finished_at TEXT,
        last_seq INTEGER NOT NULL,
        record TEXT NOT NULL,           -- ExecutionRecord as JSON
        source TEXT NOT NULL,
        source_path TEXT,
        owner_id TEXT,
        owner_host TEXT,
        owner_pid INTEGER,
        lease_until TEXT
    ) STRICT;
    CREATE INDEX executions_by_workflow ON executions (workflow, id);
    CREATE INDEX executions_by_state ON executions (state, id);
    CREATE INDEX executions_by_finish ON executions (finished_at) WHERE finished_at IS NOT NULL;
    CREATE TABLE steps (
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        position INTEGER NOT NULL,
        record TEXT NOT NULL,           -- StepRecord as JSON
        PRIMARY KEY (execution_id, key)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE events (
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        step TEXT,
        data TEXT NOT NULL,             -- the Change as JSON
        PRIMARY KEY (execution_id, seq)
    ) STRICT, WITHOUT ROWID;
    ",
];

/// Settings for every connection: WAL so readers never block the writer,
/// NORMAL sync (durable across a killed process; a power cut may lose the
/// last commits), a busy timeout for other processes sharing the file.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;",
    )
}

pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {version} is newer than this shutter ({}): upgrade shutter",
            MIGRATIONS.len()
        )));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}
