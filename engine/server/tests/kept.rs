#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Several nodes on one store: what one node registers another runs, a
//! long poll on one wakes for what another writes, and a restart forgets
//! nothing.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use shutter_store::{PostgresStore, SqliteStore};
use shutter_testpeers::postgres::ScratchDb;
use support::{TestServer, server_on_store};

const HELLO: &str =
    "version: 1\nname: hello\nsteps:\n  a: {uses: core.noop, with: {outputs: {greeting: hi}}}\n";

/// Two nodes on one scratch PostgreSQL database, given with them to be
/// kept as long as they are.
async fn two_nodes() -> (ScratchDb, TestServer, TestServer) {
    let db = ScratchDb::new().await;
    let a = server_on_store(Arc::new(PostgresStore::connect(&db.url).await.unwrap()));
    let b = server_on_store(Arc::new(PostgresStore::connect(&db.url).await.unwrap()));
    (db, a, b)
}

#[tokio::test]
async fn a_workflow_registered_on_one_node_runs_on_another() {
    let (_db, a, b) = two_nodes().await;
    // Node B has started before the workflow exists anywhere.
    assert_eq!(
        b.get("/workflows/hello").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.post_yaml("/workflows", HELLO).await.status,
        StatusCode::CREATED
    );
    let described = b.get("/workflows/hello").await;
    assert_eq!(described.status, StatusCode::OK, "{:?}", described.body);
    let id = b.start("hello").await;
    let detail = b.finished(&id).await;
    assert_eq!(detail["state"], "succeeded", "{detail}");
    // Node A sees node B's execution: they share the records.
    let seen = a.get(&format!("/executions/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK, "{:?}", seen.body);
}

#[tokio::test]
async fn a_restart_still_serves_what_was_registered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kept.db");
    {
        let first = server_on_store(Arc::new(SqliteStore::open(&path).unwrap()));
        assert_eq!(
            first.post_yaml("/workflows", HELLO).await.status,
            StatusCode::CREATED
        );
        let changed = HELLO.replace("hi", "hello again");
        assert_eq!(
            first.post_yaml("/workflows", &changed).await.status,
            StatusCode::CREATED
        );
    }
    let again = server_on_store(Arc::new(SqliteStore::open(&path).unwrap()));
    let problems = again.server.keep_workflows().await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let listed = again.get("/workflows").await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed:?}", listed = listed.body);
    assert_eq!(items[0]["name"], "hello");
    assert_eq!(items[0]["versions"], 2, "{:?}", items[0]);
    // The newest version is the one new executions run.
    let detail = again.get("/workflows/hello").await;
    let yaml = detail.body["definition"].as_str().unwrap();
    assert!(yaml.contains("hello again"), "{yaml}");
}

const SLOW: &str = "version: 1\nname: slow\nsteps:\n  nap: {uses: core.sleep, with: {duration: 2s}}\n  done: {uses: core.noop, needs: [nap]}\n";

#[tokio::test]
async fn a_long_poll_on_one_node_wakes_for_a_change_another_node_makes() {
    let (_db, a, b) = two_nodes().await;
    assert_eq!(
        a.post_yaml("/workflows", SLOW).await.status,
        StatusCode::CREATED
    );
    let id = a.start("slow").await;
    // Node A runs it (a 2 s nap); node B waits for its next change.
    let seen = b.get(&format!("/executions/{id}")).await;
    let state = seen.body["state"].as_str().unwrap();
    assert!(matches!(state, "queued" | "running"), "{:?}", seen.body);
    let etag = seen.header("etag").to_owned();
    let began = std::time::Instant::now();
    let woke = b
        .get_with(
            &format!("/executions/{id}?wait=60s"),
            &[("if-none-match", etag.as_str())],
        )
        .await;
    let waited = began.elapsed();
    assert_eq!(woke.status, StatusCode::OK, "{:?}", woke.body);
    assert_ne!(woke.header("etag"), etag, "a change, not the same record");
    // Without the database's announcement node B would wait out the 60 s.
    assert!(
        waited < std::time::Duration::from_secs(30),
        "woke after {waited:?}"
    );
}
