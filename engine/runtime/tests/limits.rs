#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `limit:` on one engine, on the in-memory store with paused tokio time:
//! a pool's size bounds the steps running at once across executions, a
//! waiting step is recorded as waiting for its pool, and a pool the config
//! file lacks fails the step saying so. (Across nodes sharing PostgreSQL:
//! `engine/server/tests/nodes.rs`.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value as Json, json};
use shutter_core::config::{ConfigError, ConfigFile, ConfigSource};
use shutter_core::{
    Change, ExecutionRecord, ExecutionSnapshot, ExecutionState, Page, StepState, Store,
};
use shutter_dsl::ActionSpec;
use shutter_runtime::{Engine, EngineConfig};
use shutter_store::MemoryStore;
use tokio_util::sync::CancellationToken;

#[path = "support/busy.rs"]
mod busy;
mod support;
use busy::Busy;
use support::step;

/// A config file holding only `limits:`.
#[derive(Debug)]
struct Limits(Json);

impl ConfigSource for Limits {
    fn load(&self) -> Result<Option<ConfigFile>, ConfigError> {
        let sections = BTreeMap::from([("limits".to_owned(), self.0.clone())]);
        Ok(Some(ConfigFile::new(
            PathBuf::from("/etc/shutter/config.yaml"),
            sections,
            Arc::new(|_: &[&str]| None),
        )))
    }
}

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    busy: Arc<Busy>,
}

fn harness(limits: Json) -> Harness {
    harness_with(Arc::new(Limits(limits)))
}

fn harness_with(config: Arc<dyn ConfigSource>) -> Harness {
    let store = Arc::new(MemoryStore::new());
    let busy = Arc::new(Busy::default());
    let mut catalog = shutter_providers::catalog();
    catalog.register(ActionSpec::new("test.busy", "sleeps 10s"));
    let mut actions = shutter_providers::registry();
    actions.register("test.busy", busy.clone());
    let config = EngineConfig {
        config,
        ..EngineConfig::default()
    };
    Harness {
        engine: Engine::new(store.clone(), actions, catalog, config),
        store,
        busy,
    }
}

impl Harness {
    async fn run(&self, yaml: &str, inputs: Json, cancel: CancellationToken) -> Ran {
        let record = support::run_to_end(&self.engine, yaml, &inputs, cancel).await;
        let snapshot = self.store.snapshot(record.id).await.unwrap().unwrap();
        (record, snapshot)
    }

    async fn changes(&self, id: shutter_core::ExecutionId) -> Vec<Change> {
        let events = self.store.events(id, Page::new(0, 10_000)).await.unwrap();
        events.into_iter().map(|event| event.change).collect()
    }

    /// Runs [`SNAPSHOTS`] twice at once, of the vCenters `one` and `two`:
    /// both must succeed.
    async fn snapshots_at_once(&self, one: &str, two: &str) -> (Ran, Ran) {
        let ran = tokio::join!(
            self.run(SNAPSHOTS, json!({"vcenter": one}), CancellationToken::new()),
            self.run(SNAPSHOTS, json!({"vcenter": two}), CancellationToken::new()),
        );
        assert_eq!(ran.0.0.state, ExecutionState::Succeeded);
        assert_eq!(ran.1.0.state, ExecutionState::Succeeded);
        ran
    }
}

/// An ended execution: its record and its steps.
type Ran = (ExecutionRecord, ExecutionSnapshot);

const SNAPSHOTS: &str = "version: 1
name: snapshots
inputs:
  vcenter: {type: string}
steps:
  snap:
    uses: test.busy
    for_each: [a, b, c]
    limit: \"vcenter:${{ inputs.vcenter }}\"
";

#[tokio::test(start_paused = true)]
async fn a_pool_bounds_the_steps_running_at_once_across_executions() {
    let h = harness(json!({"vcenter:*": 2}));
    let started = tokio::time::Instant::now();
    let (one, two) = h.snapshots_at_once("prod", "prod").await;
    assert_eq!(h.busy.runs.load(Ordering::SeqCst), 6);
    assert_eq!(
        h.busy.max.load(Ordering::SeqCst),
        2,
        "two slots in `vcenter:prod`"
    );
    // Six tries of 10 s, two at a time: three rounds.
    assert!(started.elapsed() >= Duration::from_secs(30));
    let mut changes = h.changes(one.0.id).await;
    changes.extend(h.changes(two.0.id).await);
    let waited: Vec<&Change> = changes
        .iter()
        .filter(|change| matches!(change, Change::StepWaiting { .. }))
        .collect();
    assert!(!waited.is_empty(), "some item waited for a slot");
    assert!(waited.iter().all(|change| matches!(change,
        Change::StepWaiting { pool, .. } if pool == "vcenter:prod")));
    // Once it ran, a step no longer says it waits.
    assert!(one.1.steps.iter().all(|step| step.waiting_for.is_none()));
}

#[tokio::test(start_paused = true)]
async fn pools_of_other_names_do_not_wait_for_each_other() {
    let h = harness(json!({"vcenter:*": 1}));
    let started = tokio::time::Instant::now();
    h.snapshots_at_once("east", "west").await;
    assert_eq!(h.busy.max.load(Ordering::SeqCst), 2, "one in each pool");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(30) && took < Duration::from_secs(40),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_waiting_for_a_slot_is_recorded_waiting_and_can_be_canceled() {
    let h = harness(json!({"vcenter-prod": 1}));
    let yaml = "version: 1\nname: one\nsteps:\n  snap: {uses: test.busy, limit: vcenter-prod}\n";
    let cancel = CancellationToken::new();
    let waiting = async {
        // Starts once the first holds the only slot.
        tokio::time::sleep(Duration::from_secs(1)).await;
        h.run(yaml, json!({}), cancel.clone()).await
    };
    let observe = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let waiting = h
            .store
            .list(&shutter_core::ListQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()[0]
            .id;
        let snapshot = h.store.snapshot(waiting).await.unwrap().unwrap();
        let snap = step(&snapshot, "snap").clone();
        cancel.cancel();
        snap
    };
    let (first, second, seen) = tokio::join!(
        h.run(yaml, json!({}), CancellationToken::new()),
        waiting,
        observe
    );
    assert_eq!(seen.state, StepState::Waiting);
    assert_eq!(seen.waiting_for.as_deref(), Some("vcenter-prod"));
    assert_eq!(first.0.state, ExecutionState::Succeeded);
    assert_eq!(second.0.state, ExecutionState::Canceled);
    let snap = step(&second.1, "snap");
    assert_eq!(snap.state, StepState::Canceled);
    assert_eq!(
        snap.error.as_deref(),
        Some("canceled while waiting for a slot of `vcenter-prod`")
    );
    assert!(snap.attempts.is_empty(), "it never ran");
    assert_eq!(h.busy.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_pool_the_config_file_lacks_fails_the_step_saying_so() {
    let h = harness(json!({"vcenter:*": 2, "nova-east": 8}));
    let yaml = "version: 1\nname: one\nsteps:\n  snap: {uses: test.busy, limit: nova-west}\n";
    let (record, snapshot) = h.run(yaml, json!({}), CancellationToken::new()).await;
    assert_eq!(record.state, ExecutionState::Failed);
    assert_eq!(
        step(&snapshot, "snap").error.as_deref(),
        Some(
            "limit pool `nova-west` is not in the config file's `limits:` (it has `nova-east`, `vcenter:*`)"
        )
    );
    assert_eq!(h.busy.runs.load(Ordering::SeqCst), 0);
    // No config file at all: the message says where one was looked for.
    let h = harness_with(Arc::new(shutter_core::config::NoConfig));
    let (record, snapshot) = h.run(yaml, json!({}), CancellationToken::new()).await;
    assert_eq!(record.state, ExecutionState::Failed);
    let error = step(&snapshot, "snap").error.clone().unwrap_or_default();
    assert!(
        error.starts_with("limit pool `nova-west` is not configured: this engine found no config file (it looks at `SHUTTER_CONFIG`, then")
            && error.ends_with("give it one with `limits: {nova-west: 4}`"),
        "{error}"
    );
}
