//! The embedded store: one SQLite file.

#[cfg(test)]
mod answer_tests;
mod catalog;
mod error;
mod keys;
#[cfg(test)]
mod order_tests;
mod schema;
#[cfg(test)]
mod sent_tests;
mod slots;
#[cfg(test)]
mod test_execution;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use shutter_core::record::Timestamp;
use shutter_core::{
    AppendHold, Backup, BackupQuery, Change, Claim, Event, ExecutionId, ExecutionRecord,
    ExecutionSnapshot, ExecutionState, Holder, ListQuery, NewExecution, Page, Renewal, SentAppend,
    SlotRequest, StepKey, StepRecord, Store, StoreError, StoredWorkflow,
};
use tokio::sync::oneshot;

use crate::codec::{decode_execution, from_json, parse_time, time, to_json};
use error::db_error;
use writer::{Op, Writer};

/// Executions in one SQLite file (WAL). Reads use their own connections, so
/// polling never waits behind writes.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    requests: Mutex<Option<mpsc::Sender<Op>>>,
    /// The write connection; the writer thread commits what is sent to it.
    writer: Arc<Mutex<Writer>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    /// Requests sent to the writer thread and not yet taken into a batch.
    queued: Arc<AtomicUsize>,
    /// Whether a caller that finds the writer idle commits on its own
    /// thread (`Durability::Normal` only: see [`SqliteStore::write`]).
    commit_inline: bool,
    /// Idle read connections, at most [`READERS`].
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Reads running at once: a burst of thousands of polls waits here
    /// instead of opening (and keeping) a connection and a thread each.
    reading: Arc<tokio::sync::Semaphore>,
}

/// Most reads at once, and most idle read connections kept.
const READERS: usize = 8;

/// Page cache of a read connection, in KiB (SQLite's default is 2 MiB).
const READER_CACHE_KIB: i64 = 512;

/// When a commit is on disk (SQLite's `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every commit is on disk before the engine acts on it: a power cut
    /// loses nothing recorded (an fsync per commit; group commit shares it).
    #[default]
    Full,
    /// Every commit survives the process being killed, but a power cut or
    /// an OS crash can lose the last ones (fsync only at checkpoints): the
    /// steps they recorded run again, with their idempotency keys.
    Normal,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date; commits are [`Durability::Full`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::Full)
    }

    /// [`SqliteStore::open`] with the durability of commits chosen.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Fatal(format!("creating {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(&path)
            .map_err(|e| StoreError::Fatal(format!("opening {}: {e}", path.display())))?;
        schema::configure(&conn).map_err(|e| db_error(&e))?;
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(|e| db_error(&e))?;
        schema::migrate(&mut conn)
            .map_err(|e| StoreError::Fatal(format!("migrating {}: {e}", path.display())))?;
        let (requests, receiver) = mpsc::channel();
        let writer = Arc::new(Mutex::new(Writer::new(conn)));
        let queued = Arc::new(AtomicUsize::new(0));
        let (shared, counted) = (writer.clone(), queued.clone());
        let writer_thread = std::thread::Builder::new()
            .name("shutter-sqlite-writer".to_owned())
            .spawn(move || writer::run(&shared, &counted, receiver))
            .map_err(|e| StoreError::Fatal(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            path,
            requests: Mutex::new(Some(requests)),
            writer,
            writer_thread: Mutex::new(Some(writer_thread)),
            queued,
            commit_inline: durability == Durability::Normal,
            readers: Arc::new(Mutex::new(Vec::new())),
            reading: Arc::new(tokio::sync::Semaphore::new(READERS)),
        })
    }

    /// SQLite's `integrity_check`: an empty list when the file is sound,
    /// else what it found wrong.
    pub async fn check(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare("PRAGMA integrity_check")
                .map_err(|e| db_error(&e))?;
            let found = statement
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(|e| db_error(&e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| db_error(&e))?;
            Ok(found.into_iter().filter(|line| line != "ok").collect())
        })
        .await
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finishes pending writes and stops the writer thread.
    pub fn close(&self) {
        drop(
            self.requests
                .lock()
                .expect("no panic while holding this lock")
                .take(),
        );
        if let Some(writer) = self
            .writer_thread
            .lock()
            .expect("no panic while holding this lock")
            .take()
        {
            let _ = writer.join();
        }
        // A caller may still be committing its own request: wait for it.
        drop(self.writer.lock());
    }

    /// Has the writer commit a request, and waits for its answer.
    ///
    /// Sent to the writer thread, a request costs two thread hops (~55 us
    /// on a small VM, more than a `synchronous = NORMAL` commit itself): a
    /// chain of steps, each waiting for the one before to be recorded, is
    /// bound by them. So under `Durability::Normal` a caller commits a small
    /// request (an append, a renewal, a slot: `Op::is_small`) itself, on its
    /// own thread, when the writer is idle and nothing sent before it waits
    /// to be committed (`queued`), so commits keep the order requests were
    /// sent in. It blocks that thread for one commit: tens of microseconds,
    /// more when SQLite checkpoints its WAL or waits for another process
    /// holding the file's write lock, as the writer thread would wait. Under
    /// `Full` every commit waits for an fsync, too long to block an async
    /// thread that often, so requests always go to the writer thread, where
    /// concurrent ones share the fsync. The same code commits either way.
    /// Nor does a caller commit its own request while other tasks wait in
    /// the runtime's queue ([`others_waiting`]).
    async fn write<T>(&self, op: impl FnOnce(writer::Reply<T>) -> Op) -> Result<T, StoreError> {
        answered(self.send(op)?).await
    }

    /// Sends a request to the writer thread, or commits it here when
    /// [`SqliteStore::write`] says so: its answer, to wait for.
    fn send<T>(
        &self,
        op: impl FnOnce(writer::Reply<T>) -> Op,
    ) -> Result<oneshot::Receiver<Result<T, StoreError>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        {
            let requests = self
                .requests
                .lock()
                .expect("no panic while holding this lock");
            let sender = requests
                .as_ref()
                .ok_or_else(|| StoreError::Fatal("the store is closed".to_owned()))?;
            let request = op(reply);
            let idle = (self.commit_inline && request.is_small() && !others_waiting())
                .then(|| self.writer.try_lock().ok())
                .flatten()
                // Read under the writer's lock: the writer thread counts a
                // batch off only while it holds it.
                .filter(|_| self.queued.load(Ordering::SeqCst) == 0);
            match idle {
                Some(mut writer) => {
                    // Others may send to the writer thread meanwhile.
                    drop(requests);
                    // A panic in the commit drops the reply (read below as
                    // the writer having stopped) and poisons the lock,
                    // which stops the writer thread, as a panic there would.
                    let commit = std::panic::AssertUnwindSafe(|| writer.apply(vec![request]));
                    if std::panic::catch_unwind(commit).is_err() {
                        tracing::error!("a SQLite commit panicked; the store writer stopped");
                    }
                }
                None => {
                    self.queued.fetch_add(1, Ordering::SeqCst);
                    sender
                        .send(request)
                        .map_err(|_| StoreError::Fatal("the store writer stopped".to_owned()))?;
                }
            }
        }
        Ok(answer)
    }

    /// Runs a read on a pooled connection, off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        let permit = self
            .reading
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Fatal("the store is closed".to_owned()))?;
        tokio::task::spawn_blocking(move || {
            let _reading = permit;
            let pooled = readers
                .lock()
                .expect("no panic while holding this lock")
                .pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => {
                    let conn = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(|e| db_error(&e))?;
                    schema::configure(&conn).map_err(|e| db_error(&e))?;
                    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)
                        .map_err(|e| db_error(&e))?;
                    conn
                }
            };
            let result = query(&conn);
            let mut idle = readers.lock().expect("no panic while holding this lock");
            if idle.len() < READERS {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Fatal(format!("read task failed: {e}")))?
    }
}

/// `text` for a LIKE pattern with `\\` as the escape: `%` and `_` in a step
/// key are not wildcards (the trailing `%` added by the caller is kept).
fn escape_like(text: &str) -> String {
    let (body, wildcard) = text.strip_suffix('%').map_or((text, ""), |b| (b, "%"));
    let mut out = String::with_capacity(text.len() + 4);
    for c in body.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str(wildcard);
    out
}

/// `NotFound` unless the execution exists (a page of no events is not that).
fn must_exist(conn: &Connection, id: ExecutionId) -> Result<(), StoreError> {
    one_row(
        conn,
        "SELECT 1 FROM executions WHERE id = ?1",
        params![id.to_string()],
        |r| r.get::<_, i64>(0),
    )?
    .map(|_| ())
    .ok_or(StoreError::NotFound(id))
}

/// Every row `sql` answers for `values`, each read by `read`, from a
/// cached statement.
fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    values: impl rusqlite::Params,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(|e| db_error(&e))?;
    let rows = statement
        .query_map(values, read)
        .map_err(|e| db_error(&e))?;
    rows.collect::<rusqlite::Result<Vec<T>>>()
        .map_err(|e| db_error(&e))
}

/// Every row `sql` answers for `values`, each one JSON text (a `record`
/// column) read by `decode`.
fn decoded_rows<T>(
    conn: &Connection,
    sql: &str,
    values: impl rusqlite::Params,
    decode: impl Fn(&str) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    all_rows(conn, sql, values, |row| row.get::<_, String>(0))?
        .iter()
        .map(String::as_str)
        .map(decode)
        .collect()
}

/// The first row `sql` answers for `values`, if there is one, read by
/// `read` (an uncached `query_row`: these run once in a while).
fn one_row<T>(
    conn: &Connection,
    sql: &str,
    values: impl rusqlite::Params,
    read: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, StoreError> {
    conn.query_row(sql, values, read)
        .optional()
        .map_err(|e| db_error(&e))
}

/// The events `sql` answers for `values` (`seq, data` rows) of execution
/// `id`, which must exist.
fn events_of(
    conn: &Connection,
    id: ExecutionId,
    sql: &str,
    values: impl rusqlite::Params,
) -> Result<Vec<Event>, StoreError> {
    must_exist(conn, id)?;
    all_rows(conn, sql, values, event_row)?
        .into_iter()
        .map(decode_event)
        .collect()
}

/// One `(seq, data)` row of the events table.
fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String)> {
    Ok((row.get(0)?, row.get(1)?))
}

fn decode_event((seq, data): (i64, String)) -> Result<Event, StoreError> {
    Ok(Event {
        seq: seq as u64,
        change: from_json(&data)?,
    })
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(
        &self,
        new: NewExecution,
        holder: &Holder,
    ) -> Result<ExecutionRecord, StoreError> {
        let Holder { owner, lease } = holder.clone();
        self.write(|reply| Op::Create {
            new: Box::new(new),
            owner,
            lease,
            reply,
        })
        .await
    }

    async fn append(&self, claim: Claim, changes: Vec<Change>) -> Result<u64, StoreError> {
        // Each event's JSON is made here, on the caller's thread: the
        // writer thread, which all appends wait for, only writes it.
        let events = changes.iter().map(to_json).collect();
        self.write(|reply| Op::Append {
            claim,
            changes,
            events,
            reply,
            hold: None,
        })
        .await
    }

    fn send_append(&self, claim: Claim, changes: Vec<Change>) -> Option<SentAppend> {
        let events = changes.iter().map(to_json).collect();
        let hold = Arc::new(AppendHold::default());
        let answer = self.send(|reply| Op::Append {
            claim,
            changes,
            events,
            reply,
            hold: Some(hold.clone()),
        });
        Some(SentAppend::new(
            hold,
            async move { answered(answer?).await },
        ))
    }

    async fn get(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError> {
        self.read(move |conn| {
            let record: Option<String> = conn
                .prepare_cached("SELECT record FROM executions WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row(params![id.to_string()], |row| row.get(0))
                        .optional()
                })
                .map_err(|e| db_error(&e))?;
            record.map(|r| decode_execution(&r)).transpose()
        })
        .await
    }

    async fn holds_key(&self, id: ExecutionId) -> Result<bool, StoreError> {
        self.read(move |conn| keys::holds_key(conn, id)).await
    }

    async fn count_by_workflow(&self) -> Result<Vec<(String, ExecutionState, u64)>, StoreError> {
        self.read(|conn| {
            let rows = all_rows(
                conn,
                "SELECT workflow, state, count FROM execution_counts WHERE count > 0",
                [],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                },
            )?;
            let mut counts = Vec::new();
            for (workflow, state, count) in rows {
                let state = ExecutionState::parse(&state).ok_or_else(|| {
                    StoreError::Fatal(format!("unknown execution state `{state}`"))
                })?;
                counts.push((workflow, state, u64::try_from(count).unwrap_or(0)));
            }
            Ok(counts)
        })
        .await
    }

    async fn snapshot(&self, id: ExecutionId) -> Result<Option<ExecutionSnapshot>, StoreError> {
        self.read(move |conn| read_snapshot(conn, id, Steps::All))
            .await
    }

    async fn snapshot_to_run(
        &self,
        id: ExecutionId,
    ) -> Result<Option<ExecutionSnapshot>, StoreError> {
        self.read(move |conn| read_snapshot(conn, id, Steps::UnlessQueued))
            .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        let query = query.clone();
        self.read(move |conn| {
            let mut sql = String::from("SELECT record FROM executions WHERE 1 = 1");
            let mut args: Vec<String> = Vec::new();
            if let Some(workflow) = &query.workflow {
                args.push(workflow.clone());
                sql.push_str(&format!(" AND workflow = ?{}", args.len()));
            }
            if let Some(state) = query.state {
                args.push(state.as_str().to_owned());
                sql.push_str(&format!(" AND state = ?{}", args.len()));
            }
            if let Some(since) = query.since {
                args.push(time(since));
                sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
            }
            if let Some(before) = query.before {
                args.push(before.to_string());
                sql.push_str(&format!(" AND id < ?{}", args.len()));
            }
            sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", query.limit));
            decoded_rows(
                conn,
                &sql,
                rusqlite::params_from_iter(args.iter()),
                decode_execution,
            )
        })
        .await
    }

    async fn events(&self, id: ExecutionId, page: Page) -> Result<Vec<Event>, StoreError> {
        self.read(move |conn| {
            events_of(
                conn,
                id,
                "SELECT seq, data FROM events WHERE execution_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                params![id.to_string(), page.after as i64, page.limit as i64],
            )
        })
        .await
    }

    async fn logs(
        &self,
        id: ExecutionId,
        step: &str,
        page: Page,
    ) -> Result<Vec<Event>, StoreError> {
        let step = step.to_owned();
        self.read(move |conn| {
            // `snap` matches `snap` and its items `snap[N]`; `snap[3]` itself.
            let items = format!("{step}[%");
            let values = params![
                id.to_string(),
                step,
                escape_like(&items),
                page.after as i64,
                page.limit as i64
            ];
            events_of(
                conn,
                id,
                "SELECT seq, data FROM events WHERE execution_id = ?1 AND type = 'log'
                 AND (step = ?2 OR (instr(?2, '[') = 0 AND step LIKE ?3 ESCAPE '\\'))
                 AND seq > ?4 ORDER BY seq LIMIT ?5",
                values,
            )
        })
        .await
    }

    async fn claim_orphans(
        &self,
        holder: &Holder,
        held: &[ExecutionId],
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let Holder { owner, lease } = holder.clone();
        let held = held.to_vec();
        self.write(|reply| Op::ClaimOrphans {
            owner,
            lease,
            held,
            limit,
            reply,
        })
        .await
    }

    async fn claim(&self, id: ExecutionId, holder: &Holder) -> Result<Option<Claim>, StoreError> {
        let Holder { owner, lease } = holder.clone();
        self.write(|reply| Op::ClaimOne {
            id,
            owner,
            lease,
            reply,
        })
        .await
    }

    async fn renew(&self, holder: &Holder, claims: &[Claim]) -> Result<Renewal, StoreError> {
        let Holder { owner, lease } = holder.clone();
        let claims = claims.to_vec();
        self.write(|reply| Op::Renew {
            owner,
            lease,
            claims,
            reply,
        })
        .await
    }

    async fn release(&self, claim: Claim) -> Result<(), StoreError> {
        self.write(|reply| Op::Release { claim, reply }).await
    }

    async fn request_cancel(&self, id: ExecutionId) -> Result<bool, StoreError> {
        self.write(|reply| Op::RequestCancel { id, reply }).await
    }

    async fn take_slot(&self, claim: Claim, request: &SlotRequest) -> Result<bool, StoreError> {
        let request = Box::new(request.clone());
        self.write(|reply| Op::TakeSlot {
            claim,
            request,
            reply,
        })
        .await
    }

    async fn free_slot(&self, claim: Claim, pool: &str, step: &StepKey) -> Result<(), StoreError> {
        let (pool, step) = (pool.to_owned(), step.clone());
        self.write(|reply| Op::FreeSlot {
            claim,
            pool,
            step,
            reply,
        })
        .await
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.write(|reply| Op::Prune { before, reply }).await
    }

    async fn save_workflow(&self, workflow: &StoredWorkflow) -> Result<(), StoreError> {
        let workflow = Box::new(workflow.clone());
        self.write(|reply| Op::SaveWorkflow { workflow, reply })
            .await
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        let query = query.clone();
        self.read(move |conn| catalog::query(conn, &query)).await
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| catalog::get(conn, &id)).await
    }

    async fn occupancy(&self) -> Result<shutter_core::Occupancy, StoreError> {
        use crate::occupancy::{ExecutionRow, SlotRowRead, executions_sql, slots_sql};
        self.read(|conn| {
            let rows = all_rows(conn, &executions_sql(), [], |row| {
                Ok(ExecutionRow {
                    id: row.get(0)?,
                    workflow: row.get(1)?,
                    state: row.get(2)?,
                    owner_id: row.get(3)?,
                    owner_host: row.get(4)?,
                    owner_pid: row.get(5)?,
                    lease_until: row.get(6)?,
                })
            })?;
            let mut executions = Vec::new();
            for row in rows {
                executions.push(row.decode()?);
            }
            let rows = all_rows(
                conn,
                &slots_sql("?1", "0"),
                params![time(chrono::Utc::now())],
                |row| {
                    Ok(SlotRowRead {
                        pool: row.get(0)?,
                        execution: row.get(1)?,
                        step: row.get(2)?,
                        since: row.get(3)?,
                        held: row.get(4)?,
                        live: row.get(5)?,
                    })
                },
            )?;
            let mut slots = Vec::new();
            for row in rows {
                if let Some(row) = row.decode()? {
                    slots.push(row);
                }
            }
            Ok(shutter_core::Occupancy { executions, slots })
        })
        .await
    }

    async fn workflows(&self) -> Result<Vec<StoredWorkflow>, StoreError> {
        self.read(|conn| {
            let rows = all_rows(
                conn,
                "SELECT name, plan_hash, source, path, registered_at FROM workflows ORDER BY registered_at, rowid",
                [],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                },
            )?;
            rows.into_iter()
                .map(|(name, plan_hash, source, path, at)| {
                    Ok(StoredWorkflow {
                        name,
                        plan_hash,
                        source,
                        path,
                        registered_at: parse_time(&at)?,
                    })
                })
                .collect()
        })
        .await
    }
}

/// Which step records a snapshot reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Steps {
    All,
    /// None for an execution never started: each is then as
    /// `StepRecord::new` makes it (`Store::snapshot_to_run`).
    UnlessQueued,
}

fn read_snapshot(
    conn: &Connection,
    id: ExecutionId,
    steps: Steps,
) -> Result<Option<ExecutionSnapshot>, StoreError> {
    let row: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            // Before schema 11 the source was in the executions row.
            "SELECT e.record, coalesce(s.source, e.source),
                    CASE WHEN s.execution_id IS NULL THEN e.source_path ELSE s.source_path END
             FROM executions e LEFT JOIN execution_sources s ON s.execution_id = e.id
             WHERE e.id = ?1",
        )
        .and_then(|mut s| {
            s.query_row(params![id.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(|e| db_error(&e))?;
    let Some((record, source, source_path)) = row else {
        return Ok(None);
    };
    let execution = decode_execution(&record)?;
    let steps = if steps == Steps::UnlessQueued && execution.state == ExecutionState::Queued {
        Vec::new()
    } else {
        decoded_rows(
            conn,
            "SELECT record FROM steps WHERE execution_id = ?1 ORDER BY position",
            params![id.to_string()],
            from_json::<StepRecord>,
        )?
    };
    Ok(Some(ExecutionSnapshot {
        execution,
        source,
        source_path,
        steps,
    }))
}

/// Whether tasks wait in the async runtime's shared queue: then a caller
/// sends its request to the writer thread and lets them run, instead of
/// holding its thread for a commit of one request. Their requests then
/// share a commit. A fan's launch spawns thousands of tasks at once: one
/// commit each, made one after the other by whichever thread ran them,
/// cost ~70 us a step while the writer thread stayed idle (issue 19). A
/// chain, with nothing else to run, still commits its own.
fn others_waiting() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|runtime| runtime.metrics().global_queue_depth() > 0)
}

/// What the writer answered a request [`SqliteStore::send`] sent.
async fn answered<T>(answer: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
    answer
        .await
        .map_err(|_| StoreError::Fatal("the store writer stopped".to_owned()))?
}
