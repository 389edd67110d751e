//! Engine throughput on no-op DAGs, beside raw floors measured in the same
//! run, and peak memory of 10,000 concurrently sleeping steps.
//! `cargo bench -p shutter-runtime --bench throughput`
//!
//! - chain: 1,000 `core.noop` steps, each needing the one before;
//! - fan: 1 -> 2,000 -> 1;
//!
//! each on the SQLite store (a temp file) and on the in-memory store.
//! Floors: bare tokio tasks of the same shape, and bare SQLite inserts of
//! the same rows (one commit per step for the chain, one transaction for the fan).
//!
//! `-- chain` or `-- fan`: that shape alone on SQLite `normal`, for a
//! profiler.
//!
//! `-- postgres`: the same on PostgreSQL (the server tests use,
//! `SHUTTER_TEST_POSTGRES`), with one, two and three engines (nodes) each
//! running its own execution at once on one database, beside bare
//! tokio-postgres writes of the same rows.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Map;
use shutter_core::{ExecutionState, Store};
use shutter_dsl::Source;
use shutter_runtime::{Engine, EngineConfig, WorkflowSource};
use shutter_store::{Durability, MemoryStore, PostgresStore, SqliteStore};
use shutter_testpeers::postgres::ScratchDb;
use tokio_util::sync::CancellationToken;

/// The `shutter` binary's allocator (engine/cli/src/main.rs says why),
/// so that the rates are the binary's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn chain(steps: usize) -> String {
    let mut yaml = String::from("version: 1\nname: chain\nsteps:\n  s0: {uses: core.noop}\n");
    for i in 1..steps {
        let _ = writeln!(yaml, "  s{i}: {{uses: core.noop, needs: [s{}]}}", i - 1);
    }
    yaml
}

fn fan(width: usize) -> String {
    let mut yaml = String::from("version: 1\nname: fan\nsteps:\n  root: {uses: core.noop}\n");
    for i in 0..width {
        let _ = writeln!(yaml, "  b{i}: {{uses: core.noop, needs: [root]}}");
    }
    let needs: Vec<String> = (0..width).map(|i| format!("b{i}")).collect();
    let _ = writeln!(
        yaml,
        "  join: {{uses: core.noop, needs: [{}]}}",
        needs.join(", ")
    );
    yaml
}

fn sleepers(count: usize) -> String {
    format!(
        "version: 1\nname: sleepers\ninputs:\n  n: {{type: integer, default: {count}}}\nsteps:\n  nap:\n    uses: core.sleep\n    for_each: ${{{{ range(inputs.n) | list }}}}\n    with: {{duration: 3s}}\n"
    )
}

async fn run_once(store: Arc<dyn Store>, yaml: &str, config: EngineConfig) -> Duration {
    let engine = Engine::new(
        store,
        shutter_providers::registry(),
        shutter_providers::catalog(),
        config,
    );
    let plan = Arc::new(
        shutter_dsl::compile(&Source::new("bench.yaml", yaml), engine.catalog()).expect("valid"),
    );
    let claim = engine
        .start(
            &plan,
            WorkflowSource {
                text: yaml.to_owned(),
                path: None,
            },
            &Map::new(),
        )
        .await
        .expect("started");
    let start = Instant::now();
    // On a worker thread, as `shutter run` and `shutter serve` run it: the
    // steps it spawns then start on the same thread, without a hop.
    let record =
        tokio::spawn(async move { engine.run(claim, plan, CancellationToken::new()).await })
            .await
            .expect("the engine's task")
            .expect("ran");
    let elapsed = start.elapsed();
    assert_eq!(record.state, ExecutionState::Succeeded);
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The store a rate is measured on: SQLite with its durability, or memory.
#[derive(Debug, Clone, Copy)]
enum On {
    Sqlite(Durability),
    Memory,
}

async fn engine_rate(on: On, yaml: &str, steps: usize, runs: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut samples = Vec::new();
    for run in 0..runs {
        let store: Arc<dyn Store> = match on {
            On::Sqlite(durability) => Arc::new(
                SqliteStore::open_with(dir.path().join(format!("bench-{run}.db")), durability)
                    .expect("store"),
            ),
            On::Memory => Arc::new(MemoryStore::new()),
        };
        samples.push(run_once(store, yaml, EngineConfig::default()).await);
    }
    steps as f64 / median(samples).as_secs_f64()
}

async fn tokio_floor(chain: bool, steps: usize) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..5 {
        // From a worker thread, as the engine runs.
        let took = tokio::spawn(async move {
            let start = Instant::now();
            if chain {
                for _ in 0..steps {
                    tokio::spawn(async {}).await.expect("task");
                }
            } else {
                let tasks: Vec<_> = (0..steps).map(|_| tokio::spawn(async {})).collect();
                for task in tasks {
                    task.await.expect("task");
                }
            }
            start.elapsed()
        })
        .await
        .expect("task");
        samples.push(took);
    }
    steps as f64 / median(samples).as_secs_f64()
}

/// A database of the floors' shape: WAL, `synchronous`, the three tables.
fn floor_db(path: &std::path::Path, synchronous: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("db");
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};
         CREATE TABLE events (e TEXT, seq INTEGER, data TEXT, PRIMARY KEY (e, seq)) WITHOUT ROWID;
         CREATE TABLE steps (e TEXT, key TEXT, record TEXT, PRIMARY KEY (e, key)) WITHOUT ROWID;
         CREATE TABLE executions (id TEXT PRIMARY KEY, record TEXT);
         INSERT INTO executions VALUES ('x', '{{}}');"
    ))
    .expect("schema");
    conn
}

/// The rows the engine writes for step `i`: two events, a step record
/// upsert, an execution update.
fn write_floor_step(tx: &rusqlite::Transaction<'_>, i: usize) {
    let record =
        "{\"key\":\"s1\",\"state\":\"succeeded\",\"attempts\":[{\"number\":1}],\"outputs\":{}}";
    for half in 0..2 {
        tx.execute(
            "INSERT INTO events VALUES ('x', ?1, ?2)",
            rusqlite::params![(2 * i + half) as i64, record],
        )
        .expect("insert");
    }
    tx.execute(
        "INSERT INTO steps VALUES ('x', ?1, ?2) ON CONFLICT (e, key) DO UPDATE SET record = excluded.record",
        rusqlite::params![format!("s{i}"), record],
    )
    .expect("upsert");
    tx.execute(
        "UPDATE executions SET record = ?1 WHERE id = 'x'",
        rusqlite::params![record],
    )
    .expect("update");
}

/// The rows the engine writes per step, with the same settings, one
/// commit per step (chain) or all in one transaction (fan).
fn sqlite_floor(per_step_commit: bool, steps: usize, synchronous: &str) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut samples = Vec::new();
    for run in 0..3 {
        let mut conn = floor_db(&dir.path().join(format!("floor-{run}.db")), synchronous);
        let start = Instant::now();
        if per_step_commit {
            for i in 0..steps {
                let tx = conn.transaction().expect("tx");
                write_floor_step(&tx, i);
                tx.commit().expect("commit");
            }
        } else {
            let tx = conn.transaction().expect("tx");
            for i in 0..steps {
                write_floor_step(&tx, i);
            }
            tx.commit().expect("commit");
        }
        samples.push(start.elapsed());
    }
    steps as f64 / median(samples).as_secs_f64()
}

/// The chain's commit-per-step floor as an async engine must pay it: a
/// tokio task hands each step's rows to a thread owning the connection
/// and awaits its answer after the commit (two hops between threads per
/// step, as with the engine's writer thread).
async fn sqlite_thread_floor(steps: usize, synchronous: &str) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut samples = Vec::new();
    for run in 0..3 {
        let mut conn = floor_db(&dir.path().join(format!("thread-{run}.db")), synchronous);
        let (send, receive) =
            std::sync::mpsc::channel::<(usize, tokio::sync::oneshot::Sender<()>)>();
        let writer = std::thread::spawn(move || {
            while let Ok((i, done)) = receive.recv() {
                let tx = conn.transaction().expect("tx");
                write_floor_step(&tx, i);
                tx.commit().expect("commit");
                let _ = done.send(());
            }
        });
        let took = tokio::spawn(async move {
            let start = Instant::now();
            for i in 0..steps {
                let (done, answer) = tokio::sync::oneshot::channel();
                send.send((i, done)).expect("writer");
                answer.await.expect("committed");
            }
            start.elapsed()
        })
        .await
        .expect("task");
        writer.join().expect("writer");
        samples.push(took);
    }
    steps as f64 / median(samples).as_secs_f64()
}

/// Steps per second of `nodes` engines on one PostgreSQL database, each
/// running one execution of `yaml` at the same time (median of `runs`).
async fn postgres_rate(url: &str, nodes: usize, yaml: &str, steps: usize, runs: usize) -> f64 {
    let mut stores = Vec::new();
    for _ in 0..nodes {
        let store: Arc<dyn Store> =
            Arc::new(PostgresStore::connect(url).await.expect("postgres store"));
        stores.push(store);
    }
    let mut samples = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let runs: Vec<_> = stores
            .iter()
            .map(|store| {
                let (store, yaml) = (store.clone(), yaml.to_owned());
                tokio::spawn(async move { run_once(store, &yaml, EngineConfig::default()).await })
            })
            .collect();
        for run in runs {
            run.await.expect("a run");
        }
        samples.push(start.elapsed());
    }
    (steps * nodes) as f64 / median(samples).as_secs_f64()
}

/// The rows the engine writes per step, as on SQLite's floor, through
/// tokio-postgres: one transaction per step (chain) or one for all (fan).
async fn postgres_floor(url: &str, per_step_commit: bool, steps: usize) -> f64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("postgres");
    tokio::spawn(connection);
    client
        .batch_execute(
            "DROP TABLE IF EXISTS floor_events, floor_steps, floor_executions;
             CREATE TABLE floor_events (e TEXT, seq BIGINT, data TEXT, PRIMARY KEY (e, seq));
             CREATE TABLE floor_steps (e TEXT, key TEXT, record TEXT, PRIMARY KEY (e, key));
             CREATE TABLE floor_executions (id TEXT PRIMARY KEY, record TEXT);",
        )
        .await
        .expect("schema");
    let record =
        "{\"key\":\"s1\",\"state\":\"succeeded\",\"attempts\":[{\"number\":1}],\"outputs\":{}}";
    let mut samples = Vec::new();
    for run in 0..3 {
        let execution = format!("x{run}");
        client
            .execute(
                "INSERT INTO floor_executions VALUES ($1, '{}')",
                &[&execution],
            )
            .await
            .expect("execution");
        let event = client
            .prepare("INSERT INTO floor_events VALUES ($1, $2, $3)")
            .await
            .expect("prepare");
        let upsert = client
            .prepare("INSERT INTO floor_steps VALUES ($1, $2, $3) ON CONFLICT (e, key) DO UPDATE SET record = excluded.record")
            .await
            .expect("prepare");
        let update = client
            .prepare("UPDATE floor_executions SET record = $2 WHERE id = $1")
            .await
            .expect("prepare");
        let start = Instant::now();
        let mut seq = 0i64;
        client.batch_execute("BEGIN").await.expect("begin");
        for i in 0..steps {
            for _ in 0..2 {
                seq += 1;
                client
                    .execute(&event, &[&execution, &seq, &record])
                    .await
                    .expect("insert");
            }
            client
                .execute(&upsert, &[&execution, &format!("s{i}"), &record])
                .await
                .expect("upsert");
            client
                .execute(&update, &[&execution, &record])
                .await
                .expect("update");
            if per_step_commit && i + 1 < steps {
                client.batch_execute("COMMIT; BEGIN").await.expect("commit");
            }
        }
        client.batch_execute("COMMIT").await.expect("commit");
        samples.push(start.elapsed());
    }
    steps as f64 / median(samples).as_secs_f64()
}

async fn postgres_rates() {
    let db = ScratchDb::new().await;
    let chain_yaml = chain(1_000);
    let fan_yaml = fan(2_000);
    println!(
        "\n{:<36} {:>12} {:>14}",
        "PostgreSQL", "chain 1,000", "fan 1-2,000-1"
    );
    for nodes in 1..=3 {
        let chain = postgres_rate(&db.url, nodes, &chain_yaml, 1_000, 3).await;
        let fan = postgres_rate(&db.url, nodes, &fan_yaml, 2_002, 3).await;
        let name = format!("engine, {nodes} node(s), all steps");
        println!("{name:<36} {chain:>10.0}/s {fan:>12.0}/s");
    }
    let chain = postgres_floor(&db.url, true, 1_000).await;
    let fan = postgres_floor(&db.url, false, 2_002).await;
    println!(
        "{:<36} {chain:>10.0}/s {fan:>12.0}/s",
        "floor: tokio-postgres rows"
    );
    println!("(steps per second, median of 3 runs; with n nodes, each runs one execution at once)");
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // `-- rates` or `-- sleepers` runs one part only.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |part: &str| only.as_deref().is_none_or(|o| o == part);
    runtime.block_on(async {
        if only.as_deref() == Some("postgres") {
            postgres_rates().await;
            return;
        }
        // `-- chain` or `-- fan`: that shape alone on SQLite `normal`, 20
        // runs, for a profiler (`perf record`) to see nothing else.
        if let Some(shape) = only.as_deref().filter(|o| ["chain", "fan"].contains(o)) {
            let (yaml, steps) = if shape == "chain" { (chain(1_000), 1_000) } else { (fan(2_000), 2_002) };
            let rate = engine_rate(On::Sqlite(Durability::Normal), &yaml, steps, 20).await;
            println!("{shape} on SQLite --sync normal: {rate:.0} steps/s (median of 20)");
            return;
        }
        if wanted("sleepers") {
        // First, while the process is small: 10,000 steps sleeping at once.
        let before = peak_rss_mib();
        let config = EngineConfig { max_concurrent_steps: 20_000, ..EngineConfig::default() };
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(
            SqliteStore::open_with(dir.path().join("sleepers.db"), Durability::Normal)
                .expect("store"),
        );
        let took = run_once(store, &sleepers(10_000), config).await;
        println!(
            "10,000 concurrent core.sleep(3s) steps on SQLite: {:.1} s, peak RSS {:.0} MiB (process before: {before:.0} MiB)",
            took.as_secs_f64(),
            peak_rss_mib()
        );
        }
        if !wanted("rates") {
            return;
        }

        let chain_yaml = chain(1_000);
        let fan_yaml = fan(2_000);
        println!("\n{:<32} {:>12} {:>12}", "", "chain 1,000", "fan 1-2,000-1");
        let full = On::Sqlite(Durability::Full);
        let normal = On::Sqlite(Durability::Normal);
        let rows = [
            ("engine, SQLite --sync full", engine_rate(full, &chain_yaml, 1_000, 5).await, engine_rate(full, &fan_yaml, 2_002, 5).await),
            ("engine, SQLite --sync normal", engine_rate(normal, &chain_yaml, 1_000, 5).await, engine_rate(normal, &fan_yaml, 2_002, 5).await),
            ("engine, in-memory store", engine_rate(On::Memory, &chain_yaml, 1_000, 5).await, engine_rate(On::Memory, &fan_yaml, 2_002, 5).await),
            ("floor: bare tokio tasks", tokio_floor(true, 1_000).await, tokio_floor(false, 2_002).await),
            ("floor: SQLite rows, FULL", sqlite_floor(true, 1_000, "FULL"), sqlite_floor(false, 2_002, "FULL")),
            ("floor: SQLite rows, NORMAL", sqlite_floor(true, 1_000, "NORMAL"), sqlite_floor(false, 2_002, "NORMAL")),
            ("floor: NORMAL, through a thread", sqlite_thread_floor(1_000, "NORMAL").await, f64::NAN),
        ];
        for (name, chain, fan) in rows {
            let fan = if fan.is_nan() { "-".to_owned() } else { format!("{fan:.0}/s") };
            println!("{name:<32} {chain:>10.0}/s {fan:>12}");
        }
        println!("(steps per second, median of 5 runs; floors median of 5 and 3)");
    });
}
