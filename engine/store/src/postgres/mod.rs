//! [`PostgresStore`]: the store several Shutter nodes share.
//!
//! Every request runs on a pooled connection (deadpool) in its own
//! transaction; an append returns once its transaction committed, so it is
//! durable (PostgreSQL's `synchronous_commit`). Appends are fenced by the
//! claim's epoch under a row lock (`SELECT ... FOR UPDATE`), so two nodes
//! never interleave writes to one execution; claims of orphans skip rows
//! another node is claiming (`FOR UPDATE SKIP LOCKED`).
//!
//! - `schema.rs`: versioned migrations under an advisory lock.
//! - `write.rs`: create, append and the claims.
//! - `catalog.rs`: the backup catalog's writes and reads.
//! - `group.rs`: appends committed together (group commit).
//! - `error.rs`: PostgreSQL's errors as the store's.

mod catalog;
mod error;
mod group;
mod keys;
mod listen;
mod pgpass;
mod schema;
mod slots;
mod tls;
mod write;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use shutter_core::record::Timestamp;
use shutter_core::{
    Announcement, AppendHold, Backup, BackupQuery, Change, Claim, Event, ExecutionId,
    ExecutionRecord, ExecutionSnapshot, ExecutionState, Holder, ListQuery, NewExecution, Page,
    Renewal, SentAppend, SlotRequest, StepKey, StepRecord, Store, StoreError, StoredWorkflow,
};
use tokio_postgres::types::ToSql;

use crate::codec::{decode_execution, from_json, parse_time, time};
use error::{pg_error, pool_error};

/// Connections a store keeps open at most.
const POOL_SIZE: usize = 16;

/// Executions in PostgreSQL.
pub struct PostgresStore {
    pool: Pool,
    /// Where it is, without a password, for messages.
    place: String,
    /// What the nodes announce (see `listen.rs`).
    changes: tokio::sync::broadcast::Sender<Announcement>,
    /// Appends, to the group-commit writer (`group.rs`).
    appends: tokio::sync::mpsc::UnboundedSender<group::Pending>,
    /// Stops the listening connection and the writer when the store is
    /// dropped.
    stop: tokio_util::sync::CancellationToken,
}

/// Announced changes kept for a subscriber that falls behind.
const CHANGES_KEPT: usize = 4096;

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("place", &self.place)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Queues an append for the group writer, behind those sent before it:
    /// its answer, to wait for.
    fn send(
        &self,
        claim: Claim,
        changes: Vec<Change>,
        hold: Option<Arc<AppendHold>>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send + 'static {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let queued = self
            .appends
            .send(group::Pending {
                claim,
                changes,
                reply,
                hold,
            })
            .is_ok();
        async move {
            let stopped = || StoreError::Unavailable("postgres: the store is closing".to_owned());
            if !queued {
                return Err(stopped());
            }
            answer.await.map_err(|_| stopped())?
        }
    }

    /// Connects to `url` (`postgres://user@host:port/database`, or the
    /// key=value form) and brings the schema up to date. Without a password
    /// in `url`, the password file libpq reads gives it (`PGPASSFILE`, else
    /// `~/.pgpass`). The password is never part of a message.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, None).await
    }

    /// [`PostgresStore::connect`], with the password to use when `url`
    /// carries none (from Shutter's config file); without either, the
    /// password file gives it.
    pub async fn connect_with(url: &str, password: Option<String>) -> Result<Self, StoreError> {
        let (url, wanted) = tls::split(url)
            .map_err(|e| StoreError::Fatal(format!("postgres: bad connection string: {e}")))?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| StoreError::Fatal(format!("postgres: bad connection string: {e}")))?;
        let place = describe(&config);
        let tls = tls::Tls::new(&wanted)
            .map_err(|e| StoreError::Fatal(format!("postgres: {place}: {e}")))?;
        // A half-open connection must fail, not hang the appends of the
        // whole node: keepalives and a send timeout unless the URL says.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(std::time::Duration::from_secs(30));
        }
        if config.get_keepalives_idle() == std::time::Duration::from_secs(2 * 60 * 60) {
            // tokio-postgres's default, two hours.
            config.keepalives_idle(std::time::Duration::from_secs(30));
        }
        if config.get_password().is_none()
            && let Some(password) = password.or_else(|| password_file_entry(&config))
        {
            config.password(password);
        }
        let changes = tokio::sync::broadcast::Sender::new(CHANGES_KEPT);
        let stop = tokio_util::sync::CancellationToken::new();
        listen::spawn(config.clone(), tls.clone(), changes.clone(), stop.clone());
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Fatal(format!("postgres: {e}")))?;
        let (appends, pending) = tokio::sync::mpsc::unbounded_channel();
        group::spawn(pool.clone(), pending, stop.clone());
        let store = Self {
            pool,
            place,
            changes,
            appends,
            stop,
        };
        let mut client = store.client().await?;
        schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// The schema version this build migrates databases to.
    pub fn schema_version() -> usize {
        schema::newest()
    }

    /// Where the store is: user, hosts and database, never the password.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Where `url` points, for messages: user, hosts and database, never
    /// the password.
    pub fn place_of(url: &str) -> String {
        tls::split(url)
            .ok()
            .and_then(|(url, _)| tokio_postgres::Config::from_str(&url).ok())
            .map_or_else(
                || "PostgreSQL (an unreadable connection string)".to_owned(),
                |config| describe(&config),
            )
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| pool_error(&e))
    }

    /// One query's rows, on a pooled connection. The statement is prepared
    /// once per connection (its text is one of a few fixed shapes): a read
    /// is then one round trip, not two.
    async fn rows(
        &self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(|e| pg_error(&e))?;
        client
            .query(&statement, args)
            .await
            .map_err(|e| pg_error(&e))
    }

    /// The rows of a page: `sql` with its text `args`, then the page size
    /// as its last argument.
    async fn page(
        &self,
        sql: &str,
        args: &[String],
        limit: usize,
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut args: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        args.push(&limit);
        self.rows(sql, &args).await
    }

    /// The events of `id` in `page` matching `filter` (SQL on `events`,
    /// with `$3` and on free), oldest first; `NotFound` for no execution.
    async fn events_where(
        &self,
        id: ExecutionId,
        page: Page,
        filter: &str,
        extra: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Event>, StoreError> {
        let id_text = id.to_string();
        if self
            .rows("SELECT 1 FROM executions WHERE id = $1", &[&id_text])
            .await?
            .is_empty()
        {
            return Err(StoreError::NotFound(id));
        }
        let after = i64::try_from(page.after).unwrap_or(i64::MAX);
        let limit = i64::try_from(page.limit).unwrap_or(i64::MAX);
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&id_text, &after, &limit];
        args.extend_from_slice(extra);
        let sql = format!(
            "SELECT seq, data FROM events WHERE execution_id = $1 AND seq > $2 {filter} ORDER BY seq LIMIT $3"
        );
        self.rows(&sql, &args)
            .await?
            .iter()
            .map(|row| {
                Ok(Event {
                    seq: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                    change: from_json(row.get(1))?,
                })
            })
            .collect()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The password file's entry for the first host of `config`.
fn password_file_entry(config: &tokio_postgres::Config) -> Option<String> {
    let host = match config.get_hosts().first()? {
        tokio_postgres::config::Host::Tcp(name) => name.clone(),
        tokio_postgres::config::Host::Unix(_) => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user()?;
    let database = config.get_dbname().unwrap_or(user);
    pgpass::lookup(&host, port, database, user)
}

/// `user@host:port/database` of a connection string.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{}:{port}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

#[async_trait]
impl Store for PostgresStore {
    async fn create(
        &self,
        new: NewExecution,
        holder: &Holder,
    ) -> Result<ExecutionRecord, StoreError> {
        let mut client = self.client().await?;
        write::create(&mut client, &new, holder).await
    }

    async fn append(&self, claim: Claim, changes: Vec<Change>) -> Result<u64, StoreError> {
        self.send(claim, changes, None).await
    }

    fn send_append(&self, claim: Claim, changes: Vec<Change>) -> Option<SentAppend> {
        let hold = Arc::new(AppendHold::default());
        let answer = self.send(claim, changes, Some(hold.clone()));
        Some(SentAppend::new(hold, answer))
    }

    async fn get(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError> {
        let rows = self
            .rows(
                "SELECT record FROM executions WHERE id = $1",
                &[&id.to_string()],
            )
            .await?;
        rows.first()
            .map(|row| decode_execution(row.get(0)))
            .transpose()
    }

    async fn snapshot(&self, id: ExecutionId) -> Result<Option<ExecutionSnapshot>, StoreError> {
        let id_text = id.to_string();
        let rows = self
            .rows(
                "SELECT record, source, source_path FROM executions WHERE id = $1",
                &[&id_text],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let steps = self
            .rows(
                "SELECT record FROM steps WHERE execution_id = $1 ORDER BY position",
                &[&id_text],
            )
            .await?
            .iter()
            .map(|step| from_json::<StepRecord>(step.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ExecutionSnapshot {
            execution: decode_execution(row.get(0))?,
            source: row.get(1),
            source_path: row.get(2),
            steps,
        }))
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        let mut sql = String::from("SELECT record FROM executions WHERE true");
        let mut args: Vec<String> = Vec::new();
        let mut filter = |column: &str, op: &str, value: String| {
            args.push(value);
            sql.push_str(&format!(" AND {column} {op} ${}", args.len()));
        };
        if let Some(workflow) = &query.workflow {
            filter("workflow", "=", workflow.clone());
        }
        if let Some(state) = query.state {
            filter("state", "=", state.as_str().to_owned());
        }
        if let Some(since) = query.since {
            filter("created_at", ">=", time(since));
        }
        if let Some(before) = query.before {
            filter("id", "<", before.to_string());
        }
        // The limit is a parameter too: one statement per filter shape.
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len() + 1));
        self.page(&sql, &args, query.limit)
            .await?
            .iter()
            .map(|row| decode_execution(row.get(0)))
            .collect()
    }

    async fn count_by_workflow(&self) -> Result<Vec<(String, ExecutionState, u64)>, StoreError> {
        self.rows(
            "SELECT workflow, state, count(*) FROM executions GROUP BY workflow, state",
            &[],
        )
        .await?
        .iter()
        .map(|row| {
            let state: &str = row.get(1);
            let state = ExecutionState::parse(state)
                .ok_or_else(|| StoreError::Fatal(format!("unknown execution state `{state}`")))?;
            let count = u64::try_from(row.get::<_, i64>(2)).unwrap_or(0);
            Ok((row.get(0), state, count))
        })
        .collect()
    }

    async fn events(&self, id: ExecutionId, page: Page) -> Result<Vec<Event>, StoreError> {
        self.events_where(id, page, "", &[]).await
    }

    async fn logs(
        &self,
        id: ExecutionId,
        step: &str,
        page: Page,
    ) -> Result<Vec<Event>, StoreError> {
        // `snap` matches `snap` and its items `snap[N]`; `snap[3]` itself.
        let items = format!("{}[%", escape_like(step));
        let filter = "AND type = 'log' AND (step = $4 OR (strpos($4, '[') = 0 AND step LIKE $5))";
        let step = step.to_owned();
        self.events_where(id, page, filter, &[&step, &items]).await
    }

    async fn claim_orphans(
        &self,
        holder: &Holder,
        held: &[ExecutionId],
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut client = self.client().await?;
        write::claim_orphans(&mut client, holder, held, limit).await
    }

    async fn claim(&self, id: ExecutionId, holder: &Holder) -> Result<Option<Claim>, StoreError> {
        let mut client = self.client().await?;
        write::claim_one(&mut client, id, holder).await
    }

    async fn renew(&self, holder: &Holder, claims: &[Claim]) -> Result<Renewal, StoreError> {
        let client = self.client().await?;
        write::renew(&client, holder, claims).await
    }

    async fn release(&self, claim: Claim) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        write::release(&mut client, claim).await
    }

    async fn holds_key(&self, id: ExecutionId) -> Result<bool, StoreError> {
        let client = self.client().await?;
        keys::holds_key(&client, id).await
    }

    async fn request_cancel(&self, id: ExecutionId) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        write::request_cancel(&mut client, id).await
    }

    async fn take_slot(&self, claim: Claim, request: &SlotRequest) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        slots::take_slot(&mut client, claim, request).await
    }

    async fn free_slot(&self, claim: Claim, pool: &str, step: &StepKey) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        slots::free_slot(&mut client, claim, pool, step).await
    }

    async fn save_workflow(&self, workflow: &StoredWorkflow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO workflows (name, plan_hash, source, path, registered_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name, plan_hash) DO NOTHING",
                &[
                    &workflow.name,
                    &workflow.plan_hash,
                    &workflow.source,
                    &workflow.path,
                    &time(workflow.registered_at),
                ],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(())
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        let (sql, args) = crate::catalog::select(query, |n| format!("${n}"));
        self.page(&sql, &args, query.limit)
            .await?
            .iter()
            .map(|row| from_json(row.get(0)))
            .collect()
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        self.rows("SELECT record FROM backups WHERE id = $1", &[&id])
            .await?
            .first()
            .map(|row| from_json(row.get(0)))
            .transpose()
    }

    async fn occupancy(&self) -> Result<shutter_core::Occupancy, StoreError> {
        use crate::occupancy::{ExecutionRow, SlotRowRead, executions_sql, slots_sql};
        let executions = self
            .rows(&executions_sql(), &[])
            .await?
            .iter()
            .map(|row| {
                ExecutionRow {
                    id: row.get(0),
                    workflow: row.get(1),
                    state: row.get(2),
                    owner_id: row.get(3),
                    owner_host: row.get(4),
                    owner_pid: row.get(5),
                    lease_until: row.get(6),
                }
                .decode()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let now = time(chrono::Utc::now());
        let mut slots = Vec::new();
        for row in self.rows(&slots_sql("$1", "FALSE"), &[&now]).await? {
            let read = SlotRowRead {
                pool: row.get(0),
                execution: row.get(1),
                step: row.get(2),
                since: row.get(3),
                held: row.get(4),
                live: row.get(5),
            };
            if let Some(row) = read.decode()? {
                slots.push(row);
            }
        }
        Ok(shutter_core::Occupancy { executions, slots })
    }

    async fn workflows(&self) -> Result<Vec<StoredWorkflow>, StoreError> {
        self.rows(
            "SELECT name, plan_hash, source, path, registered_at FROM workflows ORDER BY registered_at, position",
            &[],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(StoredWorkflow {
                name: row.get(0),
                plan_hash: row.get(1),
                source: row.get(2),
                path: row.get(3),
                registered_at: parse_time(row.get(4))?,
            })
        })
        .collect()
    }

    fn announcements(&self) -> Option<tokio::sync::broadcast::Receiver<Announcement>> {
        Some(self.changes.subscribe())
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM executions WHERE finished_at IS NOT NULL AND finished_at < $1 AND state IN ('succeeded', 'succeeded_with_errors', 'failed', 'canceled')",
                &[&time(before)],
            )
            .await
            .map_err(|e| pg_error(&e))
    }
}

/// `text` for a LIKE pattern with `\` as the escape (PostgreSQL's default):
/// `%` and `_` in a step key are not wildcards.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
