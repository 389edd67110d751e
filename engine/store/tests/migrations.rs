#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! A database written by an earlier Shutter opens, migrates, reads and
//! takes new writes. The fixture was written by the engine at commit
//! 9100cf1 (schema version 2) running four workflows: a diamond and a
//! `for_each` that succeeded, a retried step whose failure compensated the
//! step before it, and an execution killed during a 60 s `core.sleep`.
//! Each test works on its own copy; the fixture is never written.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde_json::json;
use shutter_core::{
    Change, Claim, ExecutionId, ExecutionSnapshot, ExecutionState, Holder, ListQuery, NewExecution,
    Owner, Page, StepKey, StepRecord, StepState, Store,
};
use shutter_store::SqliteStore;

const DIAMOND: &str = "01a22a1b-b9a8-72c1-b500-08ae4da0b20b";
const FOR_EACH: &str = "01a22a1b-bdb5-7034-a6fe-833d566676f9";
const RETRY: &str = "01a22a1b-bdd5-7168-a527-789a25f4fe12";
const INTERRUPTED: &str = "01a22a1b-d3c3-77a0-a6d5-503e3e9ba9a7";

fn id(text: &str) -> ExecutionId {
    ExecutionId::from_str(text).unwrap()
}

/// A copy of the fixture in a temporary directory.
fn copy_of_fixture() -> (tempfile::TempDir, PathBuf) {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/written-by-9100cf1.db");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shutter.db");
    std::fs::copy(fixture, &path).unwrap();
    (dir, path)
}

/// The record of step `key` (not an item) of `snapshot`.
fn step<'a>(snapshot: &'a ExecutionSnapshot, key: &str) -> Option<&'a StepRecord> {
    snapshot.steps.iter().find(|s| s.key == StepKey::step(key))
}

fn user_version(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn every_execution_of_the_old_database_reads_as_it_was_written() {
    let (_dir, path) = copy_of_fixture();
    assert_eq!(user_version(&path), 2, "the fixture is at schema 2");
    let store = SqliteStore::open(&path).unwrap();
    assert!(user_version(&path) > 2, "opening migrates the schema");
    assert!(store.check().await.unwrap().is_empty());
    // The counts the metrics read start from the rows already there.
    let counted: u64 = store
        .count_by_state()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(counted, 4);

    let all = store
        .list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    let states: Vec<(String, ExecutionState)> = all
        .iter()
        .map(|record| (record.workflow.clone(), record.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("interrupted".to_owned(), ExecutionState::Running),
            ("retry".to_owned(), ExecutionState::Failed),
            ("for-each".to_owned(), ExecutionState::Succeeded),
            ("diamond".to_owned(), ExecutionState::Succeeded),
        ],
        "newest first"
    );

    let diamond = store.snapshot(id(DIAMOND)).await.unwrap().unwrap();
    assert_eq!(diamond.steps.len(), 5);
    assert!(
        diamond
            .steps
            .iter()
            .all(|s| s.state == StepState::Succeeded)
    );
    assert!(diamond.execution.finished_at.is_some());
    // Its workflow's source, kept in its row (schema 11 gave new ones a
    // table of their own), still reads whole.
    assert!(
        diamond.source.contains("\nname: diamond\n"),
        "{}",
        diamond.source
    );
    assert_eq!(
        diamond.source_path.as_deref(),
        Some("/tmp/main-9100/workflows/diamond.yaml")
    );

    let for_each = store.snapshot(id(FOR_EACH)).await.unwrap().unwrap();
    let fanned = step(&for_each, "each_volume").unwrap();
    assert_eq!(fanned.items.as_ref().map(Vec::len), Some(4));
    let items = for_each
        .steps
        .iter()
        .filter(|s| s.key.to_string().starts_with("each_volume["))
        .filter(|s| s.state == StepState::Succeeded)
        .count();
    assert_eq!(items, 4);

    let retry = store.snapshot(id(RETRY)).await.unwrap().unwrap();
    let state_of = |key: &str| step(&retry, key).map(|s| (s.state, s.attempts.len()));
    assert_eq!(state_of("reserve"), Some((StepState::Compensated, 1)));
    assert_eq!(state_of("flaky"), Some((StepState::Failed, 3)));
    assert!(retry.execution.error.is_some());

    let interrupted = store.snapshot(id(INTERRUPTED)).await.unwrap().unwrap();
    let nap = step(&interrupted, "nap").unwrap();
    assert_eq!(nap.state, StepState::Running);
    assert!(nap.timer.is_some(), "the durable timer survives");
}

#[tokio::test]
async fn the_old_event_logs_read_in_order_with_their_logs() {
    let (_dir, path) = copy_of_fixture();
    let store = SqliteStore::open(&path).unwrap();
    for (execution, count) in [(DIAMOND, 17), (FOR_EACH, 19), (RETRY, 13), (INTERRUPTED, 6)] {
        let events = store
            .events(id(execution), Page::new(0, 100))
            .await
            .unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=count).collect::<Vec<u64>>(), "{execution}");
        assert_eq!(
            store.get(id(execution)).await.unwrap().unwrap().last_seq,
            count
        );
    }
    let retry = store.events(id(RETRY), Page::new(0, 100)).await.unwrap();
    assert!(
        retry.iter().any(|e| matches!(
            e.change,
            Change::ExecutionFinished {
                state: ExecutionState::Failed,
                ..
            }
        )),
        "{retry:?}"
    );
    // Whatever the old engine logged is read by the per-step filter.
    let logs = store
        .logs(id(RETRY), "flaky", Page::new(0, 100))
        .await
        .unwrap();
    assert!(logs.iter().all(|e| matches!(e.change, Change::Log { .. })));
}

#[tokio::test]
async fn the_interrupted_execution_can_be_claimed_and_continued() {
    let (_dir, path) = copy_of_fixture();
    let store = SqliteStore::open(&path).unwrap();
    let owner = Owner::this_process();
    let lease = Duration::from_secs(30);
    // Its engine is long dead and its lease long expired.
    let claim = store
        .claim(id(INTERRUPTED), &Holder::new(owner.clone(), lease))
        .await
        .unwrap()
        .expect("the orphan is claimable");
    assert_eq!(
        claim.epoch, 2,
        "a claim starts a new epoch after the creator's"
    );
    let at = chrono::Utc::now();
    let seq = store
        .append(
            claim,
            vec![Change::ExecutionFinished {
                state: ExecutionState::Canceled,
                outputs: None,
                error: Some("migrated and ended by a test".into()),
                at,
            }],
        )
        .await
        .unwrap();
    assert_eq!(seq, 7);
    let record = store.get(id(INTERRUPTED)).await.unwrap().unwrap();
    assert_eq!(record.state, ExecutionState::Canceled);
    // An append under the creator's old claim is refused.
    assert!(
        store
            .append(
                Claim::created(id(INTERRUPTED)),
                vec![Change::ExecutionStarted { at }]
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn new_executions_go_in_beside_the_old_ones() {
    let (_dir, path) = copy_of_fixture();
    let store = SqliteStore::open(&path).unwrap();
    let new = NewExecution {
        id: ExecutionId::new(),
        workflow: "after-migration".into(),
        plan_hash: "h".into(),
        source: "version: 1".into(),
        source_path: None,
        inputs: json!({}),
        steps: vec!["only".into()],
        created_at: chrono::Utc::now(),
        idempotency_key: None,
        concurrency: None,
    };
    let fresh = new.id;
    store
        .create(
            new,
            &Holder::new(Owner::this_process(), Duration::from_secs(30)),
        )
        .await
        .unwrap();
    store
        .append(
            Claim::created(fresh),
            vec![Change::ExecutionStarted {
                at: chrono::Utc::now(),
            }],
        )
        .await
        .unwrap();
    let counts = store.count_by_state().await.unwrap();
    let count = |state| {
        counts
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(count(ExecutionState::Running), 2);
    assert_eq!(count(ExecutionState::Succeeded), 2);
    assert_eq!(count(ExecutionState::Failed), 1);
    store.close();
    // And the migrated file opens again as it is.
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(
        again
            .list(&ListQuery {
                limit: 10,
                ..ListQuery::default()
            })
            .await
            .unwrap()
            .len(),
        5
    );
}
