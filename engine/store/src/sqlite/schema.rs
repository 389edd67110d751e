//! The database schema and its versioned migrations (`PRAGMA user_version`).

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

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
    // 2: clients' idempotency keys for starting executions.
    "
    ALTER TABLE executions ADD COLUMN idempotency_key TEXT;
    CREATE UNIQUE INDEX executions_by_idempotency_key ON executions (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    ",
    // 3: the epoch of the current claim: every append is fenced by it.
    // Executions written before it are at epoch 1, their creator's claim
    // (`Claim::created`), so the next claim of one is a new epoch.
    "
    ALTER TABLE executions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1;
    ",
    // 4: registered workflow versions, so they survive a restart.
    "
    CREATE TABLE workflows (
        name TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        source TEXT NOT NULL,
        path TEXT,
        registered_at TEXT NOT NULL,
        PRIMARY KEY (name, plan_hash)
    ) STRICT;
    ",
    // 5: a cancel asked for by another process, which the one running the
    // execution sees when it renews its lease.
    "
    ALTER TABLE executions ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    ",
    // 6: limit pools: the steps holding a slot of a pool, or waiting for one.
    "
    CREATE TABLE slots (
        pool TEXT NOT NULL,
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        since TEXT NOT NULL,
        held INTEGER NOT NULL,
        PRIMARY KEY (pool, execution_id, step)
    ) STRICT;
    CREATE INDEX slots_by_execution ON slots (execution_id);
    ",
    // 7: concurrency keys: an execution's key and its place in the key's
    // line, so that keys hold across processes sharing the file.
    "
    ALTER TABLE executions ADD COLUMN concurrency_key TEXT;
    ALTER TABLE executions ADD COLUMN key_seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX executions_by_key ON executions (concurrency_key, key_seq, id)
        WHERE concurrency_key IS NOT NULL AND state IN ('queued', 'running');
    ",
    // 8: the backup catalog. No foreign key to executions: entries outlive
    // the executions that made them (pruning keeps them).
    "
    CREATE TABLE backups (
        id TEXT PRIMARY KEY,            -- UUIDv7: sorts by when first recorded
        location TEXT NOT NULL,         -- Location::key
        native_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        kind TEXT NOT NULL,
        source_ref TEXT,
        source_id TEXT,
        source_uuid TEXT,
        state TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        execution_id TEXT,
        record TEXT NOT NULL,           -- Backup as JSON
        UNIQUE (location, native_id)
    ) STRICT;
    CREATE INDEX backups_by_source_ref ON backups (source_ref, id) WHERE source_ref IS NOT NULL;
    CREATE INDEX backups_by_source_id ON backups (source_id, id) WHERE source_id IS NOT NULL;
    CREATE INDEX backups_by_source_uuid ON backups (source_uuid, id) WHERE source_uuid IS NOT NULL;
    CREATE INDEX backups_by_provider ON backups (provider, id);
    ",
    // 9: executions with webhook deliveries not ended, which an engine
    // takes over even when they have ended (`ExecutionRecord::needs_engine`).
    "
    ALTER TABLE executions ADD COLUMN notices_pending INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX executions_with_notices ON executions (id) WHERE notices_pending = 1;
    ",
    // 10: executions counted by workflow and state, kept by every write
    // (counting a million rows took seconds on each metrics scrape).
    "
    CREATE TABLE execution_counts (
        workflow TEXT NOT NULL,
        state TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (workflow, state)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO execution_counts (workflow, state, count)
        SELECT workflow, state, count(*) FROM executions GROUP BY workflow, state;
    ",
    // 11: a workflow's source in a table of its own. SQLite rewrites a
    // whole row on every update, so with the source in the executions row
    // each append rewrote tens of kilobytes of YAML (overflow pages) to
    // change a few hundred bytes of record: most of a step's write. Rows
    // written before keep their source where it was (new rows leave it
    // empty): moving it would rewrite the whole table at upgrade (79 s and
    // four times the file's size on disk for a million executions), and
    // those rows, ended, are not updated again.
    "
    CREATE TABLE execution_sources (
        execution_id TEXT PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        source_path TEXT
    ) STRICT;
    ",
];

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for every connection: WAL so readers never block the writer,
/// NORMAL sync (the writer's connection then sets the durability asked
/// for), a busy timeout for other processes sharing the file.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    // WAL is a property of the file, switched on by whoever opens it first.
    // The switch needs the file to itself, and when another process opens
    // the same fresh file at that moment SQLite answers BUSY without
    // consulting the busy timeout, so wait for the other side here.
    let started = Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Ok(_) => return Ok(()),
            Err(err) if is_busy(&err) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(err) => return Err(err),
        }
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Brings the schema up to date. The version is read inside an IMMEDIATE
/// transaction so that two processes opening a fresh file at once (a `run`
/// and an `executions list`, say) do not both apply the same migration: the
/// second waits for the first, then sees the new version.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: usize = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {version} is newer than this shutter ({}): upgrade shutter",
            MIGRATIONS.len()
        )));
    }
    for migration in MIGRATIONS.iter().skip(version) {
        tx.execute_batch(migration)?;
    }
    if version < MIGRATIONS.len() {
        tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    }
    tx.commit()
}
