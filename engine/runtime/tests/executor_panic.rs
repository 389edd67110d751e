#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! A panic inside the executor itself (not inside an action) fails the
//! execution with the panic's message: never a task stuck `running`.
//! The panic is planted in the store: the first time the executor records
//! a given change, the store panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use shutter_core::store_hook::{Hooked, WriteHook};
use shutter_core::{Change, Claim, ExecutionState, Store};
use shutter_runtime::{Engine, EngineConfig};
use shutter_store::MemoryStore;
use tokio_util::sync::CancellationToken;

mod support;

/// A hook that panics once, on the first append with a change `on` picks.
#[derive(Debug)]
struct PanicsOnce {
    on: fn(&Change) -> bool,
    panicked: AtomicBool,
}

impl WriteHook for PanicsOnce {
    fn appending(&self, _claim: Claim, changes: &[Change]) {
        if changes.iter().any(self.on) && !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("the store tripped over its own feet");
        }
    }
}

/// Runs a one-step workflow on a store that panics once on `on`: the
/// execution must fail; its error.
async fn error_of_a_panic(on: fn(&Change) -> bool) -> String {
    let hook = PanicsOnce {
        on,
        panicked: AtomicBool::new(false),
    };
    let store = Arc::new(Hooked::new(Arc::new(MemoryStore::default()), hook));
    let engine = Engine::new(
        store.clone(),
        shutter_providers::registry(),
        shutter_providers::catalog(),
        EngineConfig::default(),
    );
    let yaml = "version: 1\nname: t\nsteps:\n  a: {uses: core.noop}\n";
    let (id, plan) = support::start(&engine, yaml, &json!({})).await;
    tokio::time::timeout(
        Duration::from_secs(30),
        engine.run(Claim::created(id), plan, CancellationToken::new()),
    )
    .await
    .expect("a panic never leaves the execution hanging")
    .ok();
    assert!(
        store.hook().panicked.load(Ordering::SeqCst),
        "the planted panic fired"
    );
    let record = store.get(id).await.unwrap().unwrap();
    assert_eq!(record.state, ExecutionState::Failed);
    record.error.unwrap_or_default()
}

#[tokio::test]
async fn a_panic_in_the_executor_fails_the_execution_with_its_message() {
    let error = error_of_a_panic(|c| matches!(c, Change::ExecutionStarted { .. })).await;
    assert!(
        error.contains("the engine panicked") && error.contains("tripped over its own feet"),
        "{error}"
    );
}

#[tokio::test]
async fn a_panic_while_a_step_runs_fails_that_step_with_its_message() {
    let error = error_of_a_panic(|c| matches!(c, Change::AttemptStarted { .. })).await;
    assert!(
        error.contains("step `a` failed: the step panicked: the store tripped over its own feet"),
        "{error}"
    );
}
