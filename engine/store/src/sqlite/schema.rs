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

/// The schema the migrations above make, written at once: a new file is
/// created from it (in one parse) rather than by replaying each
/// migration, since each `ALTER TABLE ... ADD COLUMN` has SQLite re-read
/// the whole schema: 1.59 -> 1.14 ms of a one-step `shutter run` on a new
/// file (issue 19). A test proves it equal to the migrated schema, table
/// by table and index by index; a new migration must be added here too.
const CURRENT: &str = "
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        last_seq INTEGER NOT NULL,
        record TEXT NOT NULL,
        source TEXT NOT NULL,
        source_path TEXT,
        owner_id TEXT,
        owner_host TEXT,
        owner_pid INTEGER,
        lease_until TEXT,
        idempotency_key TEXT,
        epoch INTEGER NOT NULL DEFAULT 1,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        concurrency_key TEXT,
        key_seq INTEGER NOT NULL DEFAULT 0,
        notices_pending INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX executions_by_workflow ON executions (workflow, id);
    CREATE INDEX executions_by_state ON executions (state, id);
    CREATE INDEX executions_by_finish ON executions (finished_at) WHERE finished_at IS NOT NULL;
    CREATE TABLE steps (
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        position INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (execution_id, key)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE events (
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        step TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (execution_id, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX executions_by_idempotency_key ON executions (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE TABLE workflows (
        name TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        source TEXT NOT NULL,
        path TEXT,
        registered_at TEXT NOT NULL,
        PRIMARY KEY (name, plan_hash)
    ) STRICT;
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
    CREATE INDEX executions_by_key ON executions (concurrency_key, key_seq, id)
        WHERE concurrency_key IS NOT NULL AND state IN ('queued', 'running');
    CREATE TABLE backups (
        id TEXT PRIMARY KEY,
        location TEXT NOT NULL,
        native_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        kind TEXT NOT NULL,
        source_ref TEXT,
        source_id TEXT,
        source_uuid TEXT,
        state TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        execution_id TEXT,
        record TEXT NOT NULL,
        UNIQUE (location, native_id)
    ) STRICT;
    CREATE INDEX backups_by_source_ref ON backups (source_ref, id) WHERE source_ref IS NOT NULL;
    CREATE INDEX backups_by_source_id ON backups (source_id, id) WHERE source_id IS NOT NULL;
    CREATE INDEX backups_by_source_uuid ON backups (source_uuid, id) WHERE source_uuid IS NOT NULL;
    CREATE INDEX backups_by_provider ON backups (provider, id);
    CREATE INDEX executions_with_notices ON executions (id) WHERE notices_pending = 1;
    CREATE TABLE execution_counts (
        workflow TEXT NOT NULL,
        state TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (workflow, state)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE execution_sources (
        execution_id TEXT PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        source_path TEXT
    ) STRICT;
";

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
    let empty = version == 0
        && tx.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        })? == 0;
    if empty {
        tx.execute_batch(CURRENT)?;
    } else {
        for migration in MIGRATIONS.iter().skip(version) {
            tx.execute_batch(migration)?;
        }
    }
    if version < MIGRATIONS.len() {
        tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table's columns, keys and options, and every index's columns
    /// and condition, as SQLite reports them.
    fn shape(conn: &Connection) -> Vec<String> {
        let rows = |sql: &str| -> Vec<String> {
            let mut statement = conn.prepare(sql).expect("prepares");
            let count = statement.column_count();
            statement
                .query_map([], |row| {
                    (0..count)
                        .map(|i| {
                            row.get::<_, rusqlite::types::Value>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map(|values| values.join("|"))
                })
                .expect("queries")
                .collect::<rusqlite::Result<Vec<_>>>()
                .expect("reads")
        };
        let mut shape = Vec::new();
        let objects: Vec<(String, String)> = conn
            .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .and_then(|mut s| {
                s.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .expect("lists the schema");
        for (kind, name) in &objects {
            shape.push(format!("{kind} {name}"));
            if kind == "table" {
                shape.extend(rows(&format!("PRAGMA table_xinfo({name})")));
                shape.extend(rows(&format!("PRAGMA foreign_key_list({name})")));
                shape.extend(rows(&format!(
                    "SELECT strict, wr FROM pragma_table_list WHERE name = '{name}'"
                )));
            } else {
                shape.extend(rows(&format!("PRAGMA index_xinfo({name})")));
                // A partial index's condition, as written (the same text
                // in the migrations and in CURRENT).
                shape.extend(rows(&format!(
                    "SELECT substr(sql, instr(sql, ' ON ')) FROM sqlite_master WHERE name = '{name}'"
                )));
            }
        }
        shape
    }

    #[test]
    fn a_new_file_gets_the_schema_the_migrations_make() {
        let mut fresh = Connection::open_in_memory().expect("opens");
        migrate(&mut fresh).expect("migrates");
        let mut migrated = Connection::open_in_memory().expect("opens");
        // Replayed one at a time, as a file of each earlier version was
        // upgraded.
        for (version, migration) in MIGRATIONS.iter().enumerate() {
            let tx = migrated.transaction().expect("begins");
            tx.execute_batch(migration).expect("migration applies");
            tx.pragma_update(None, "user_version", version + 1)
                .expect("versioned");
            tx.commit().expect("commits");
        }
        let fresh_shape = shape(&fresh);
        assert!(
            fresh_shape.len() > 100,
            "the shape reads every table: {fresh_shape:?}"
        );
        assert_eq!(fresh_shape, shape(&migrated));
        let version = |conn: &Connection| -> usize {
            conn.query_row("PRAGMA user_version", [], |row| row.get(0))
                .expect("reads")
        };
        assert_eq!(version(&fresh), MIGRATIONS.len());
        // And a file already migrated is left as it is.
        migrate(&mut migrated).expect("migrates again");
        assert_eq!(shape(&migrated), fresh_shape);
    }
}
