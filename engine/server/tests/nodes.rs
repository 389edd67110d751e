#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Several nodes on one store share the work: a cancel sent to any node
//! reaches the one running the execution, and a node without room leaves
//! what it was asked to start to one with room.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use shutter_runtime::EngineConfig;
use shutter_server::ServerConfig;
use shutter_store::{PostgresStore, SqliteStore};
use shutter_testpeers::postgres::ScratchDb;
use support::{TestServer, newest, node_on_store, scheduled_server, start_per_vm};
use tokio_util::sync::CancellationToken;

/// A workflow that naps long enough to be canceled midway.
const LONG: &str =
    "version: 1\nname: long\nsteps:\n  nap: {uses: core.sleep, with: {duration: 10m}}\n";

/// A workflow that naps a moment.
const SHORT: &str =
    "version: 1\nname: short\nsteps:\n  nap: {uses: core.sleep, with: {duration: 1500ms}}\n";

fn node(store: Arc<dyn shutter_core::Store>, max_executions: usize) -> TestServer {
    node_on_store(
        store,
        ServerConfig {
            max_executions,
            ..ServerConfig::default()
        },
        EngineConfig {
            lease: Duration::from_millis(900),
            ..EngineConfig::default()
        },
    )
}

/// A node on the scratch database `db`, as [`node`].
async fn node_on(db: &ScratchDb, max_executions: usize) -> TestServer {
    node(
        Arc::new(PostgresStore::connect(&db.url).await.unwrap()),
        max_executions,
    )
}

/// Waits until `id` is running (its nap began).
async fn running(on: &TestServer, id: &str) {
    for _ in 0..200 {
        let seen = on.get(&format!("/executions/{id}")).await;
        if seen.body["state"] == "running" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("execution {id} never ran");
}

/// How many executions a node runs now (its health report).
async fn runs(on: &TestServer) -> u64 {
    on.get("/healthz").await.body["running"].as_u64().unwrap()
}

async fn cancel_on_the_other_node(a: &TestServer, b: &TestServer) -> Duration {
    a.register(LONG).await;
    let id = a.start("long").await;
    running(a, &id).await;
    let asked = Instant::now();
    let canceled = b.post(&format!("/executions/{id}/cancel"), "").await;
    assert_eq!(canceled.status, StatusCode::ACCEPTED, "{:?}", canceled.body);
    let detail = tokio::time::timeout(Duration::from_secs(60), b.finished(&id))
        .await
        .expect("the execution ends soon after the cancel");
    assert_eq!(detail["state"], "canceled", "{detail}");
    // Ended: a second cancel says so, on either node.
    let again = a.post(&format!("/executions/{id}/cancel"), "").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.body["error"]["code"], "already_finished",
        "{:?}",
        again.body
    );
    asked.elapsed()
}

#[tokio::test]
async fn a_cancel_sent_to_another_node_reaches_the_one_running_it() {
    let db = ScratchDb::new().await;
    let a = node_on(&db, 10).await;
    let b = node_on(&db, 10).await;
    // No lease renewals run here: the database's announcement alone
    // carries the request from B to A.
    let took = cancel_on_the_other_node(&a, &b).await;
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[tokio::test]
async fn a_cancel_recorded_by_another_process_is_seen_at_the_next_renewal() {
    // SQLite announces nothing across processes: the node running the
    // execution learns of the request when it renews its lease.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = node(Arc::new(SqliteStore::open(&path).unwrap()), 10);
    let b = node(Arc::new(SqliteStore::open(&path).unwrap()), 10);
    let stop = CancellationToken::new();
    let background = a.server.spawn_background(stop.clone());
    cancel_on_the_other_node(&a, &b).await;
    stop.cancel();
    background.join().await;
}

#[tokio::test]
async fn a_node_without_room_leaves_work_to_one_with_room() {
    let db = ScratchDb::new().await;
    let a = node_on(&db, 1).await;
    let b = node_on(&db, 10).await;
    let stop = CancellationToken::new();
    let background = [
        a.server.spawn_background(stop.clone()),
        b.server.spawn_background(stop.clone()),
    ];
    a.register(SHORT).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(a.start("short").await);
    }
    // A runs one; B, told of the work A released, takes the others long
    // before A could have run them one after the other.
    let mut most_on_a = 0;
    let mut seen_on_b = 0;
    for _ in 0..40 {
        most_on_a = most_on_a.max(runs(&a).await);
        seen_on_b = seen_on_b.max(runs(&b).await);
        if seen_on_b >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(most_on_a <= 1, "node A ran {most_on_a} at once");
    assert_eq!(seen_on_b, 2, "node B took the work node A had no room for");
    for id in &ids {
        let detail = b.finished(id).await;
        assert_eq!(detail["state"], "succeeded", "{detail}");
    }
    stop.cancel();
    for tasks in background {
        tasks.join().await;
    }
}

#[tokio::test]
async fn a_full_node_runs_what_it_queued_once_it_has_room() {
    let dir = tempfile::tempdir().unwrap();
    let a = node(
        Arc::new(SqliteStore::open(dir.path().join("one.db")).unwrap()),
        1,
    );
    let stop = CancellationToken::new();
    let background = a.server.spawn_background(stop.clone());
    a.register(SHORT).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(a.start("short").await);
    }
    let mut most = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &ids {
        loop {
            assert!(Instant::now() < deadline, "execution {id} never ran");
            most = most.max(runs(&a).await);
            let seen = a.get(&format!("/executions/{id}")).await;
            if seen.body["state"] == "succeeded" {
                break;
            }
            assert!(
                !["failed", "canceled"].contains(&seen.body["state"].as_str().unwrap()),
                "{:?}",
                seen.body
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    assert_eq!(most, 1, "one at a time, none lost");
    stop.cancel();
    background.join().await;
}

#[tokio::test]
async fn a_schedule_on_three_nodes_starts_each_tick_once() {
    use chrono::TimeZone as _;

    let db = ScratchDb::new().await;
    // A second before 02:00 on every node's clock: the 02:00 tick fires on
    // all three at once.
    let wall = chrono::Utc
        .with_ymd_and_hms(2026, 11, 30, 1, 59, 59)
        .unwrap();
    let stop = CancellationToken::new();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let server = scheduled_server(
            Arc::new(PostgresStore::connect(&db.url).await.unwrap()),
            wall,
            "version: 1\nname: nightly\nschedule: '0 2 * * *'\nsteps:\n  a: {uses: core.noop}\n",
        );
        let background = server.spawn_background(stop.clone());
        nodes.push((server, background));
    }
    let reader = PostgresStore::connect(&db.url).await.unwrap();
    let started = || newest(&reader, 10);
    let deadline = Instant::now() + Duration::from_secs(30);
    while started().await.is_empty() {
        assert!(Instant::now() < deadline, "the 02:00 tick never fired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every node's scheduler has fired by now; still one execution.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let records = started().await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].workflow, "nightly");
    stop.cancel();
    for (_, background) in nodes {
        background.join().await;
    }
}

/// One execution per VM at a time, however many nodes.
const PER_VM: &str = "version: 1
name: per-vm
inputs:
  vm: {type: string}
concurrency: {key: '${{ inputs.vm }}', policy: POLICY}
steps:
  work: {uses: core.sleep, with: {duration: 1h}}
";

async fn start_for(on: &TestServer, vm: &str) -> (StatusCode, serde_json::Value) {
    let started = start_per_vm(on, vm).await;
    (started.status, started.body)
}

#[tokio::test]
async fn a_concurrency_key_holds_across_nodes() {
    let db = ScratchDb::new().await;
    let a = node_on(&db, 10).await;
    let b = node_on(&db, 10).await;
    // `skip`: B refuses a start while A runs one for the same VM.
    a.register(&PER_VM.replace("POLICY", "skip")).await;
    b.register(&PER_VM.replace("POLICY", "skip")).await;
    let (status, first) = start_for(&a, "web").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first = first["id"].as_str().unwrap().to_owned();
    let (status, busy) = start_for(&b, "web").await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    assert_eq!(busy["error"]["code"], "concurrency_busy");
    assert_eq!(busy["error"]["details"]["execution"], first.as_str());
    let cancel = a.post(&format!("/executions/{first}/cancel"), "").await;
    assert_eq!(cancel.status, StatusCode::ACCEPTED);
    a.finished(&first).await;
    // `queue`: the second, started on B, waits for the first, on A, and
    // starts once A's ends (B learns of it from the database).
    a.register(&PER_VM.replace("POLICY", "queue")).await;
    b.register(&PER_VM.replace("POLICY", "queue")).await;
    let (_, first) = start_for(&a, "db").await;
    let first = first["id"].as_str().unwrap().to_owned();
    running(&a, &first).await;
    let (status, second) = start_for(&b, "db").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = second["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = b.get(&format!("/executions/{second}")).await;
    assert_eq!(waiting.body["state"], "queued", "{:?}", waiting.body);
    let ended = Instant::now();
    a.post(&format!("/executions/{first}/cancel"), "").await;
    a.finished(&first).await;
    running(&b, &second).await;
    assert!(
        ended.elapsed() < Duration::from_secs(3),
        "woken by the first's end, not by a poll: {:?}",
        ended.elapsed()
    );
    b.post(&format!("/executions/{second}/cancel"), "").await;
    b.finished(&second).await;
}
