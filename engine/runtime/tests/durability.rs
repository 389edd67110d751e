#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! When a step's result becomes durable: written in the commit that starts
//! the one step needing it, so a chain costs one commit a step, yet always
//! durable before that step acts; written at once when no start follows.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_core::store_hook::Hooked;
use shutter_core::{
    Action, ActionContext, ActionError, Change, Claim, ExecutionId, ExecutionRecord,
    ExecutionState, StepState, Store,
};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Engine, EngineConfig};
use shutter_store::MemoryStore;
use tokio_util::sync::CancellationToken;

mod support;

use support::Appends;

/// Reads, while it runs, the stored state of the step its `of` parameter
/// names: what a step that acts on another's result can rely on.
#[derive(Debug)]
struct Witness {
    store: Arc<dyn Store>,
}

#[async_trait]
impl Action for Witness {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let of: String = shutter_core::parse_param("of", ctx.param("of")?)?;
        let snapshot = self.store.snapshot(ctx.execution).await.unwrap().unwrap();
        let state = snapshot
            .steps
            .iter()
            .find(|s| s.key.step == of && s.key.item.is_none())
            .map(|s| s.state);
        Ok(json!({ "stored": state }))
    }
}

struct Harness {
    engine: Engine,
    store: Arc<dyn Store>,
    appends: Appends,
}

fn harness() -> Harness {
    let appends = Appends::default();
    let store: Arc<dyn Store> =
        Arc::new(Hooked::new(Arc::new(MemoryStore::new()), appends.clone()));
    let mut catalog = shutter_providers::catalog();
    catalog.register(
        ActionSpec::new("test.witness", "reads another step's stored state")
            .param("of", ParamType::String, "")
            .output("stored", ParamType::Any, ""),
    );
    let mut actions = shutter_providers::registry();
    actions.register(
        "test.witness",
        Arc::new(Witness {
            store: store.clone(),
        }),
    );
    let engine = Engine::new(store.clone(), actions, catalog, EngineConfig::default());
    Harness {
        engine,
        store,
        appends,
    }
}

impl Harness {
    async fn start(&self, yaml: &str) -> (ExecutionId, Arc<shutter_dsl::Plan>) {
        support::start(&self.engine, yaml, &json!({})).await
    }

    /// Runs `yaml` until it ends: its record.
    async fn run(&self, yaml: &str) -> ExecutionRecord {
        support::run_to_end(&self.engine, yaml, &json!({}), CancellationToken::new()).await
    }

    async fn step_state(&self, id: ExecutionId, step: &str) -> Option<StepState> {
        let snapshot = self.store.snapshot(id).await.unwrap().unwrap();
        snapshot
            .steps
            .iter()
            .find(|s| s.key.step == step)
            .map(|s| s.state)
    }
}

fn chain(len: usize) -> String {
    let mut yaml = String::from("version: 1\nname: chain\nsteps:\n  s0: {uses: core.noop}\n");
    for i in 1..len {
        yaml.push_str(&format!("  s{i}: {{uses: core.noop, needs: s{}}}\n", i - 1));
    }
    yaml
}

// Paused time: the linger (real time otherwise) cannot run out while the
// next step's task waits for a busy machine to run it.
#[tokio::test(start_paused = true)]
async fn a_chain_commits_once_a_step() {
    let h = harness();
    let steps = 20;
    let record = h.run(&chain(steps)).await;
    assert_eq!(record.state, ExecutionState::Succeeded);
    let appends = h.appends.0.lock().unwrap().clone();
    // Creating is not an append; then the execution's start, one append a
    // step (its start, carrying its predecessor's result), the last
    // step's result and the end: before, every result was an append too.
    assert_eq!(
        appends.len(),
        steps + 3,
        "{} appends for a chain of {steps}: {appends:#?}",
        appends.len()
    );
    for i in 1..steps {
        let started = appends
            .iter()
            .position(|batch| {
                batch.iter().any(|c| {
                    matches!(c, Change::AttemptStarted { key, .. } if key.step == format!("s{i}"))
                })
            })
            .unwrap();
        let before = &appends[started];
        assert!(
            before.iter().any(|c| matches!(c,
                Change::StepSucceeded { key, .. } if key.step == format!("s{}", i - 1))),
            "s{i} started in an append without s{}'s result: {before:#?}",
            i - 1
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_result_is_durable_before_the_step_that_needs_it_acts() {
    let h = harness();
    let yaml = "version: 1\nname: t\nsteps:\n  a: {uses: core.noop}\n  b: {uses: test.witness, needs: a, with: {of: a}}\n  c: {uses: test.witness, needs: b, with: {of: b}}\noutputs:\n  b_saw: ${{ steps.b.outputs.stored }}\n  c_saw: ${{ steps.c.outputs.stored }}\n";
    let record = h.run(yaml).await;
    assert_eq!(record.state, ExecutionState::Succeeded, "{record:?}");
    assert_eq!(
        record.outputs,
        Some(json!({"b_saw": "succeeded", "c_saw": "succeeded"}))
    );
}

#[tokio::test(start_paused = true)]
async fn a_result_no_start_follows_at_once_is_written_at_once() {
    let h = Arc::new(harness());
    // `c` needs the hour-long `b` too: `a`'s result must not wait for it.
    let yaml = "version: 1\nname: t\nsteps:\n  a: {uses: core.noop}\n  b: {uses: core.sleep, with: {duration: 1h}}\n  c: {uses: core.noop, needs: [a, b]}\n";
    let (id, plan) = h.start(yaml).await;
    let cancel = CancellationToken::new();
    let running = {
        let (h, cancel) = (h.clone(), cancel.clone());
        tokio::spawn(async move { h.engine.run(Claim::created(id), plan, cancel).await })
    };
    let began = tokio::time::Instant::now();
    while h.step_state(id, "a").await != Some(StepState::Succeeded) {
        assert!(
            began.elapsed() < Duration::from_secs(1),
            "`a`'s result was not written within a second"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(h.step_state(id, "b").await, Some(StepState::Running));
    // Written on its own, not with a start.
    let appends = h.appends.0.lock().unwrap().clone();
    let alone = appends.iter().any(|batch| {
        batch
            .iter()
            .any(|c| matches!(c, Change::StepSucceeded { key, .. } if key.step == "a"))
            && !batch
                .iter()
                .any(|c| matches!(c, Change::AttemptStarted { .. }))
    });
    assert!(alone, "{appends:#?}");
    cancel.cancel();
    let record = running.await.unwrap().unwrap();
    assert_eq!(record.state, ExecutionState::Canceled);
}
