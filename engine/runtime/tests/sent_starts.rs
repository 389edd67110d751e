#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! A try's start sent to SQLite's writer and not waited for: its action
//! runs meanwhile, and when the writer is busy the start is written with
//! the try's outcome, in one append. Each step's records keep their order,
//! and an engine that does not know its lease fresh still commits the
//! start before the action.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_core::store_hook::Hooked;
use shutter_core::{
    Action, ActionContext, ActionError, Change, ExecutionRecord, ExecutionState, StepState, Store,
};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Engine, EngineConfig};
use shutter_store::{Durability, SqliteStore};
use tokio_util::sync::CancellationToken;

mod support;

use support::Appends;

/// Reads the stored state of its own step while it runs.
#[derive(Debug)]
struct Witness {
    store: Arc<dyn Store>,
}

#[async_trait]
impl Action for Witness {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let snapshot = self.store.snapshot(ctx.execution).await.unwrap().unwrap();
        let mine = support::step(&snapshot, &ctx.step.to_string());
        Ok(json!({ "stored": mine.state, "tries": mine.attempts.len() }))
    }
}

/// Fails its first try (retryable), succeeds after.
#[derive(Debug, Default)]
struct FailsOnce(AtomicU32);

#[async_trait]
impl Action for FailsOnce {
    async fn run(&self, _ctx: &ActionContext) -> Result<Json, ActionError> {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(ActionError::retryable("not yet"));
        }
        Ok(json!({}))
    }
}

struct Harness {
    engine: Engine,
    store: Arc<dyn Store>,
    told: Appends,
    _dir: tempfile::TempDir,
}

/// An engine on a SQLite store under `full` durability, where every
/// commit waits for an fsync and requests always go to the writer thread:
/// a start sent there is still queued when a no-op's outcome is known.
fn harness(lease: Duration) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open_with(dir.path().join("shutter.db"), Durability::Full).unwrap();
    let told = Appends::default();
    let store: Arc<dyn Store> = Arc::new(Hooked::new(Arc::new(sqlite), told.clone()));
    let mut catalog = shutter_providers::catalog();
    catalog.register(
        ActionSpec::new("test.witness", "reads its own step's stored state")
            .output("stored", ParamType::Any, "")
            .output("tries", ParamType::Any, ""),
    );
    catalog.register(ActionSpec::new("test.fails_once", "fails its first try"));
    let mut actions = shutter_providers::registry();
    actions.register(
        "test.witness",
        Arc::new(Witness {
            store: store.clone(),
        }),
    );
    actions.register("test.fails_once", Arc::new(FailsOnce::default()));
    let config = EngineConfig {
        lease,
        ..EngineConfig::default()
    };
    let engine = Engine::new(store.clone(), actions, catalog, config);
    Harness {
        engine,
        store,
        told,
        _dir: dir,
    }
}

impl Harness {
    async fn run(&self, yaml: &str) -> ExecutionRecord {
        support::run_to_end(&self.engine, yaml, &json!({}), CancellationToken::new()).await
    }
}

fn fan(width: usize) -> String {
    let mut yaml = String::from("version: 1\nname: fan\nsteps:\n  root: {uses: core.noop}\n");
    for i in 0..width {
        yaml.push_str(&format!("  b{i}: {{uses: core.noop, needs: root}}\n"));
    }
    let all: Vec<String> = (0..width).map(|i| format!("b{i}")).collect();
    yaml.push_str(&format!(
        "  join: {{uses: core.noop, needs: [{}]}}\n",
        all.join(", ")
    ));
    yaml
}

/// The step a change of a try is about.
fn step_of(change: &Change) -> Option<&str> {
    match change {
        Change::AttemptStarted { key, .. }
        | Change::AttemptParams { key, .. }
        | Change::TimerSet { key, .. }
        | Change::Log { key, .. }
        | Change::AttemptRetrying { key, .. }
        | Change::StepSucceeded { key, .. }
        | Change::StepFailed { key, .. } => Some(key.step.as_str()),
        _ => None,
    }
}

/// Whether one batch holds both the start and the success of `step`.
fn together(batch: &[Change], step: &str) -> bool {
    let started = batch
        .iter()
        .any(|c| matches!(c, Change::AttemptStarted { key, .. } if key.step == step));
    let succeeded = batch
        .iter()
        .any(|c| matches!(c, Change::StepSucceeded { key, .. } if key.step == step));
    started && succeeded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_writer_gets_a_short_trys_start_with_its_outcome_and_each_step_keeps_its_order() {
    let h = harness(Duration::from_secs(30));
    let width = 200;
    let record = h.run(&fan(width)).await;
    assert_eq!(record.state, ExecutionState::Succeeded, "{record:?}");

    let told = h.told.0.lock().unwrap().clone();
    let merged = (0..width)
        .filter(|i| told.iter().any(|batch| together(batch, &format!("b{i}"))))
        .count();
    // Before, a start was always its own commit: none was ever written
    // with its outcome. Under `full`, a no-op ends long before the fsync
    // of the commit before its start: nearly all of them are.
    assert!(
        merged > width / 2,
        "only {merged} of {width} branches were written with their start"
    );

    // Whatever went together, each branch has one try, started before it
    // succeeded, in the event log as in its record.
    let events = h
        .store
        .events(record.id, shutter_core::Page::new(0, 100_000))
        .await
        .unwrap();
    let snapshot = h.store.snapshot(record.id).await.unwrap().unwrap();
    for i in 0..width {
        let step = format!("b{i}");
        let mine: Vec<&Change> = events
            .iter()
            .map(|event| &event.change)
            .filter(|change| step_of(change) == Some(step.as_str()))
            .collect();
        assert!(
            matches!(
                mine.as_slice(),
                [
                    Change::AttemptStarted { attempt: 1, .. },
                    Change::StepSucceeded { attempt: 1, .. }
                ]
            ),
            "{step}: {mine:#?}"
        );
        let stored = support::step(&snapshot, &step);
        assert_eq!(stored.state, StepState::Succeeded);
        assert_eq!(stored.attempts.len(), 1);
        let attempt = &stored.attempts[0];
        assert!(
            attempt
                .finished_at
                .is_some_and(|end| end >= attempt.started_at)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_try_writes_while_its_start_is_unsent_comes_after_the_start() {
    let h = harness(Duration::from_secs(30));
    // A sleep records its wake-up time during the try; a retried step
    // records its retry as the first try's outcome.
    let yaml = "version: 1\nname: t\nsteps:\n  nap: {uses: core.sleep, with: {duration: 10ms}}\n  flaky: {uses: test.fails_once, retry: {attempts: 2, delay: 1ms}}\n";
    let record = h.run(yaml).await;
    assert_eq!(record.state, ExecutionState::Succeeded, "{record:?}");
    let events = h
        .store
        .events(record.id, shutter_core::Page::new(0, 1000))
        .await
        .unwrap();
    let of = |step: &str| -> Vec<&'static str> {
        events
            .iter()
            .map(|event| &event.change)
            .filter(|change| step_of(change) == Some(step))
            .map(|change| match change {
                Change::AttemptStarted { .. } => "started",
                Change::TimerSet { .. } => "timer",
                Change::AttemptParams { .. } => "params",
                Change::AttemptRetrying { .. } => "retrying",
                Change::StepSucceeded { .. } => "succeeded",
                _ => "other",
            })
            .collect()
    };
    // (What its parameters resolved to is written with its outcome.)
    assert_eq!(of("nap"), ["started", "timer", "params", "succeeded"]);
    assert_eq!(of("flaky"), ["started", "retrying", "started", "succeeded"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_does_not_know_its_lease_fresh_commits_a_start_before_the_action() {
    // A lease of nothing is never known fresh: no start may be sent ahead
    // of its action, since no commit has checked the claim yet.
    let h = harness(Duration::ZERO);
    let yaml = "version: 1\nname: t\nsteps:\n  w: {uses: test.witness}\n  v: {uses: test.witness}\noutputs:\n  w: ${{ steps.w.outputs }}\n  v: ${{ steps.v.outputs }}\n";
    let record = h.run(yaml).await;
    assert_eq!(record.state, ExecutionState::Succeeded, "{record:?}");
    let running = json!({"stored": "running", "tries": 1});
    assert_eq!(record.outputs, Some(json!({"w": running, "v": running})));
    let told = h.told.0.lock().unwrap().clone();
    assert!(
        !told
            .iter()
            .any(|batch| together(batch, "w") || together(batch, "v")),
        "{told:#?}"
    );
}
