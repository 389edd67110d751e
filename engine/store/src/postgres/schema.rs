//! The PostgreSQL schema and its versioned migrations. Nodes starting at
//! the same time on an empty database migrate once: each migrates inside a
//! transaction holding an advisory lock, and reads the version after
//! taking it.

use deadpool_postgres::Object;
use shutter_core::StoreError;

use super::error::pg_error;

/// Each entry upgrades the schema by one version; never edit a shipped one.
/// The layout follows SQLite's (ids as UUIDv7 text, times as fixed-width
/// RFC 3339 text, records as JSON text), so the codec is shared.
const MIGRATIONS: &[&str] = &[
    // 1: executions (with their idempotency keys and claim epochs), their
    // step records and their event log.
    "
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        last_seq BIGINT NOT NULL,
        record TEXT NOT NULL,
        source TEXT NOT NULL,
        source_path TEXT,
        owner_id TEXT,
        owner_host TEXT,
        owner_pid BIGINT,
        lease_until TEXT,
        idempotency_key TEXT,
        epoch BIGINT NOT NULL DEFAULT 1
    );
    CREATE INDEX executions_by_workflow ON executions (workflow, id);
    CREATE INDEX executions_by_state ON executions (state, id);
    CREATE INDEX executions_by_finish ON executions (finished_at) WHERE finished_at IS NOT NULL;
    CREATE UNIQUE INDEX executions_by_idempotency_key ON executions (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE TABLE steps (
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        position BIGINT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (execution_id, key)
    );
    CREATE TABLE events (
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        seq BIGINT NOT NULL,
        type TEXT NOT NULL,
        step TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (execution_id, seq)
    );
    ",
    // 2: registered workflow versions, which every node can run.
    "
    CREATE TABLE workflows (
        name TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        source TEXT NOT NULL,
        path TEXT,
        registered_at TEXT NOT NULL,
        position BIGSERIAL,
        PRIMARY KEY (name, plan_hash)
    );
    ",
    // 3: a cancel asked for on another node, which the node running the
    // execution sees when it renews its lease (if it missed the NOTIFY).
    "
    ALTER TABLE executions ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
    ",
    // 4: limit pools: the steps holding a slot of a pool, or waiting for one.
    "
    CREATE TABLE slots (
        pool TEXT NOT NULL,
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        since TEXT NOT NULL,
        held BOOLEAN NOT NULL,
        PRIMARY KEY (pool, execution_id, step)
    );
    CREATE INDEX slots_by_execution ON slots (execution_id);
    ",
    // 5: concurrency keys: an execution's key and its place in the key's
    // line, so that keys hold across nodes.
    "
    ALTER TABLE executions ADD COLUMN concurrency_key TEXT;
    ALTER TABLE executions ADD COLUMN key_seq BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX executions_by_key ON executions (concurrency_key, key_seq, id)
        WHERE concurrency_key IS NOT NULL AND state IN ('queued', 'running');
    ",
    // 6: the backup catalog. No foreign key to executions: entries outlive
    // the executions that made them (pruning keeps them).
    "
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
    );
    CREATE INDEX backups_by_source_ref ON backups (source_ref, id) WHERE source_ref IS NOT NULL;
    CREATE INDEX backups_by_source_id ON backups (source_id, id) WHERE source_id IS NOT NULL;
    CREATE INDEX backups_by_source_uuid ON backups (source_uuid, id) WHERE source_uuid IS NOT NULL;
    CREATE INDEX backups_by_provider ON backups (provider, id);
    ",
    // 7: executions with webhook deliveries not ended, which a node takes
    // over even when they have ended (`ExecutionRecord::needs_engine`).
    "
    ALTER TABLE executions ADD COLUMN notices_pending BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX executions_with_notices ON executions (id) WHERE notices_pending;
    ",
];

/// The newest schema version.
pub(super) fn newest() -> usize {
    MIGRATIONS.len()
}

/// Any constant both nodes agree on: the advisory lock of migrations.
const MIGRATION_LOCK: i64 = 0x0053_4855_5454_4552; // "SHUTTER"

/// Brings the schema to the newest version; returns it.
pub(super) async fn migrate(client: &mut Object) -> Result<usize, StoreError> {
    let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| pg_error(&e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS shutter_schema (version INTEGER NOT NULL)")
        .await
        .map_err(|e| pg_error(&e))?;
    let row = tx
        .query_opt("SELECT version FROM shutter_schema", &[])
        .await
        .map_err(|e| pg_error(&e))?;
    let current = match row {
        Some(row) => usize::try_from(row.get::<_, i32>(0)).unwrap_or(0),
        None => {
            tx.execute("INSERT INTO shutter_schema (version) VALUES (0)", &[])
                .await
                .map_err(|e| pg_error(&e))?;
            0
        }
    };
    if current > MIGRATIONS.len() {
        return Err(StoreError::Fatal(format!(
            "the database is at schema version {current}, newer than this shutter knows ({}): upgrade shutter",
            MIGRATIONS.len()
        )));
    }
    for migration in &MIGRATIONS[current..] {
        tx.batch_execute(migration)
            .await
            .map_err(|e| pg_error(&e))?;
    }
    let newest = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    tx.execute("UPDATE shutter_schema SET version = $1", &[&newest])
        .await
        .map_err(|e| pg_error(&e))?;
    tx.commit().await.map_err(|e| pg_error(&e))?;
    Ok(MIGRATIONS.len())
}
