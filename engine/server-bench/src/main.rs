//! Figures for the HTTP API with 1,000,000 executions in SQLite (or
//! PostgreSQL): requests/s and p50/p99 latency of `GET /executions/{id}`,
//! of a 304 revalidation, of a filtered `GET /executions` page and of the
//! console's executions page (`/ui/executions`), from
//! `wrk` (Debian's) on loopback; and the idle server's RSS. With `catalog`,
//! the same for `GET /backups?source=` with 1,000,000 catalog entries
//! (`catalog.rs`).
//!
//! ```sh
//! cargo run --release -p shutter-server-bench
//! cargo run --release -p shutter-server-bench -- catalog
//! SHUTTER_BENCH_DB=postgres://postgres@127.0.0.1/shutter_bench cargo run --release -p shutter-server-bench
//! ```
//!
//! Its own crate, so a release build needs only the server and the store
//! (not the providers the server's tests use).
//!
//! `SHUTTER_BENCH_RECORDS` (default 1,000,000), `SHUTTER_BENCH_DB` (default
//! `$SHUTTER_CACHE/bench/api-N.db`, kept between runs: generating takes a
//! while; a `postgres://` URL names a PostgreSQL database, which must
//! exist and is filled the same way), `SHUTTER_BENCH_SECONDS` per wrk run
//! (default 10).
//!
//! The server runs in a child process (this binary with `serve DB`) so its
//! RSS is the server's alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shutter_core::record::Change;
use shutter_core::{
    ActionRegistry, ExecutionId, ExecutionState, Holder, ListQuery, NewExecution, Owner, Store,
};
use shutter_runtime::EngineConfig;
use shutter_server::{Server, ServerConfig};
use shutter_store::{PostgresStore, SqliteStore};

mod catalog;

const WORKFLOWS: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        serve(&args[2]);
        return;
    }
    let seconds: u64 = env_or("SHUTTER_BENCH_SECONDS", 10);
    if args.get(1).map(String::as_str) == Some("catalog") {
        bench_catalog(seconds);
        return;
    }
    let records: usize = env_or("SHUTTER_BENCH_RECORDS", 1_000_000);
    let db = bench_db(&format!("api-{records}"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (id, version) = runtime.block_on(generate(&db, records));

    let (mut child, base) = start_server(&db);
    let rss = rss_kib(child.id());
    println!("records: {records}, db: {}", place(&db));
    println!("idle server RSS: {:.1} MiB", rss as f64 / 1024.0);
    println!("| request | wrk | requests/s | p50 | p99 |");
    println!("|---|---|---:|---:|---:|");
    let etag = format!("If-None-Match: \"v{version}\"");
    let cases: [(&str, String, Option<&str>); 5] = [
        (
            "GET /executions/{id}",
            format!("{base}/executions/{id}"),
            None,
        ),
        (
            "GET /executions/{id} (304)",
            format!("{base}/executions/{id}"),
            Some(&etag),
        ),
        (
            "GET /executions?workflow=&state=&limit=50",
            format!("{base}/executions?workflow=wf-7&state=succeeded&limit=50"),
            None,
        ),
        // The console's executions page (HTML, with the counts by state).
        ("GET /ui/executions", format!("{base}/ui/executions"), None),
        (
            "GET /ui/executions?workflow=&state=",
            format!("{base}/ui/executions?workflow=wf-7&state=succeeded"),
            None,
        ),
    ];
    for (name, url, header) in &cases {
        for connections in [4, 32] {
            let (rate, p50, p99) = wrk(url, *header, connections, seconds);
            println!("| {name} | -t2 -c{connections} | {rate:.0} | {p50} | {p99} |");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `GET /backups?source=` (one volume's 10 backups out of the whole
/// catalog) and a first page of the whole catalog.
fn bench_catalog(seconds: u64) {
    let entries: usize = env_or("SHUTTER_BENCH_BACKUPS", 1_000_000);
    let db = bench_db(&format!("catalog-{entries}"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = open(&db).await;
        catalog::generate(store.as_ref(), entries).await;
    });
    let (mut child, base) = start_server(&db);
    println!("catalog entries: {entries}, db: {}", place(&db));
    println!("| request | wrk | requests/s | p50 | p99 |");
    println!("|---|---|---:|---:|---:|");
    let middle = catalog::volume(entries / 2);
    let cases = [
        (
            "GET /backups?source=VOLUME",
            format!("{base}/backups?source={middle}"),
        ),
        ("GET /backups?limit=50", format!("{base}/backups?limit=50")),
    ];
    for (name, url) in &cases {
        for connections in [4, 32] {
            let (rate, p50, p99) = wrk(url, None, connections, seconds);
            println!("| {name} | -t2 -c{connections} | {rate:.0} | {p50} | {p99} |");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `SHUTTER_BENCH_DB`, else `$SHUTTER_CACHE/bench/NAME.db` (kept between
/// runs: generating takes a while).
fn bench_db(name: &str) -> String {
    std::env::var("SHUTTER_BENCH_DB").unwrap_or_else(|_| {
        let cache = std::env::var_os("SHUTTER_CACHE").map_or_else(
            || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/shutter"),
            PathBuf::from,
        );
        cache.join(format!("bench/{name}.db")).display().to_string()
    })
}

/// This binary as `serve DB` in a child process: the child and its URL.
fn start_server(db: &str) -> (std::process::Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .arg(db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    (child, line.trim().to_owned())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Fills the database up to `records` finished executions; one id and its
/// version to read.
async fn generate(db: &str, records: usize) -> (ExecutionId, u64) {
    let store = open(db).await;
    let have: u64 = store
        .count_by_state()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    let missing = records.saturating_sub(usize::try_from(have).unwrap());
    if missing > 0 {
        let started = Instant::now();
        let owner = Owner::this_process();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..missing {
            let store = store.clone();
            let owner = owner.clone();
            tasks.spawn(async move {
                let new = bench_execution(
                    format!("wf-{}", n % WORKFLOWS),
                    json!({"vm": format!("vm-{n}")}),
                    &["snapshot", "verify"],
                );
                let id = new.id;
                store
                    .create(new, &Holder::new(owner.clone(), Duration::from_secs(30)))
                    .await
                    .unwrap();
                let at = chrono::Utc::now();
                let state = if n % 10 == 0 {
                    ExecutionState::Failed
                } else {
                    ExecutionState::Succeeded
                };
                store
                    .append(
                        shutter_core::Claim::created(id),
                        vec![
                            Change::ExecutionStarted { at },
                            Change::ExecutionFinished {
                                state,
                                outputs: Some(json!({"snapshot": format!("snap-{n}")})),
                                error: None,
                                at,
                            },
                        ],
                    )
                    .await
                    .unwrap();
            });
            if tasks.len() >= 256 {
                tasks.join_next().await.unwrap().unwrap();
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        eprintln!(
            "generated {missing} executions in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    let newest = store
        .list(&ListQuery {
            limit: 1,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    (newest[0].id, newest[0].last_seq)
}

/// A new execution of `workflow` as the bench writes them: its plan and
/// source are placeholders, never run.
fn bench_execution(workflow: String, inputs: serde_json::Value, steps: &[&str]) -> NewExecution {
    NewExecution {
        id: ExecutionId::new(),
        workflow,
        plan_hash: "bench".to_owned(),
        source: "version: 1".to_owned(),
        source_path: None,
        inputs,
        steps: steps.iter().map(|step| (*step).to_owned()).collect(),
        created_at: chrono::Utc::now(),
        idempotency_key: None,
        concurrency: None,
    }
}

/// The store `db` names: a PostgreSQL URL, else a SQLite file.
async fn open(db: &str) -> Arc<dyn Store> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return Arc::new(PostgresStore::connect(db).await.unwrap());
    }
    Arc::new(SqliteStore::open(Path::new(db)).unwrap())
}

/// Where `db` is, for the report (no password).
fn place(db: &str) -> String {
    if db.starts_with("postgres") {
        PostgresStore::place_of(db)
    } else {
        db.to_owned()
    }
}

/// The child: the server alone on the database, its URL on stdout.
fn serve(db: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = open(db).await;
        let server = Server::new(
            store,
            ActionRegistry::new(),
            shutter_core::Catalog::with_core(),
            EngineConfig::default(),
            ServerConfig::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("http://{}", listener.local_addr().unwrap());
        server
            .serve(listener, std::future::pending::<()>())
            .await
            .unwrap();
    });
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Runs wrk; requests/s, p50 and p99 as wrk prints them.
fn wrk(url: &str, header: Option<&str>, connections: u32, seconds: u64) -> (f64, String, String) {
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    let out = command
        .arg(url)
        .output()
        .expect("wrk is installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_default()
    };
    let rate = field("Requests/sec:").parse().unwrap_or(0.0);
    // wrk counts answers of 400 and above as "Non-2xx or 3xx responses".
    assert!(!text.contains("Non-2xx"), "errors from {url}:\n{text}");
    (rate, field("50%"), field("99%"))
}
