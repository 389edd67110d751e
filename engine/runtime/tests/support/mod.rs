#![allow(dead_code, reason = "each test binary uses part of the shared support")]

//! What the executor's test files share.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;
use shutter_core::store_hook::WriteHook;
use shutter_core::{
    ActionRegistry, Catalog, Change, Claim, ExecutionId, ExecutionRecord, ExecutionSnapshot,
    Secrets, StepRecord, Store,
};
use shutter_dsl::{Plan, Source};
use shutter_runtime::{Engine, EngineConfig, WorkflowSource};
use tokio_util::sync::CancellationToken;

/// A store hook that notes every batch of changes it is told of (an
/// append, or an append sent), one entry each.
#[derive(Debug, Default, Clone)]
pub(crate) struct Appends(pub(crate) Arc<Mutex<Vec<Vec<Change>>>>);

impl WriteHook for Appends {
    fn appending(&self, _claim: Claim, changes: &[Change]) {
        self.0
            .lock()
            .expect("no panic while holding this lock")
            .push(changes.to_vec());
    }
}

/// Secrets holding only `token`, whose value `hunter2-very-secret` the
/// redaction tests look for.
pub(crate) fn token_secret() -> Secrets {
    Secrets::new(BTreeMap::from([(
        "token".to_owned(),
        "hunter2-very-secret".to_owned(),
    )]))
}

/// An engine on `store` with the default config, whose executions are
/// given `secrets`.
pub(crate) fn engine_with_secrets(
    store: Arc<dyn Store>,
    actions: ActionRegistry,
    catalog: Catalog,
    secrets: Secrets,
) -> Engine {
    Engine::new(store, actions, catalog, EngineConfig::default())
        .with_secrets(move |_| secrets.clone())
}

/// Compiles `yaml` with the engine's catalog and starts it with `inputs`
/// (a JSON object): the execution and its plan, to run.
///
/// # Panics
/// When the workflow does not compile or cannot be started.
pub(crate) async fn start(engine: &Engine, yaml: &str, inputs: &Json) -> (ExecutionId, Arc<Plan>) {
    let plan = shutter_dsl::compile(&Source::new("test.yaml", yaml), engine.catalog())
        .unwrap_or_else(|d| panic!("{d}"));
    let source = WorkflowSource {
        text: yaml.to_owned(),
        path: None,
    };
    let inputs = inputs.as_object().expect("inputs are a JSON object");
    let started = engine
        .start(&plan, source, inputs)
        .await
        .unwrap_or_else(|e| panic!("starting: {e}"));
    (started.id, Arc::new(plan))
}

/// Starts `yaml` as [`start`] does and runs it until it ends (or `cancel`
/// stops it): its record.
///
/// # Panics
/// As [`start`], and when the engine fails to run it.
pub(crate) async fn run_to_end(
    engine: &Engine,
    yaml: &str,
    inputs: &Json,
    cancel: CancellationToken,
) -> ExecutionRecord {
    let (id, plan) = start(engine, yaml, inputs).await;
    engine
        .run(Claim::created(id), plan, cancel)
        .await
        .unwrap_or_else(|e| panic!("running: {e}"))
}

/// The step `key` of `snapshot` (`a`, or an item: `a[2]`).
///
/// # Panics
/// When it has no such step.
pub(crate) fn step<'s>(snapshot: &'s ExecutionSnapshot, key: &str) -> &'s StepRecord {
    snapshot
        .steps
        .iter()
        .find(|step| step.key.to_string() == key)
        .unwrap_or_else(|| panic!("no step {key}"))
}
