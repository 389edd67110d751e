#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! A panic inside the executor itself (not inside an action) fails the
//! execution with the panic's message: never a task stuck `running`.
//! The panic is planted in the store: the first time the executor records
//! a given change, the store panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use shutter_core::record::Timestamp;
use shutter_core::{
    Change, Claim, Event, ExecutionId, ExecutionRecord, ExecutionSnapshot, ExecutionState,
    ListQuery, NewExecution, Owner, Store, StoreError,
};
use shutter_dsl::Source;
use shutter_runtime::{Engine, EngineConfig, WorkflowSource};
use shutter_store::MemoryStore;
use tokio_util::sync::CancellationToken;

/// A memory store that panics once, on the first append with a change
/// `on` picks.
#[derive(Debug)]
struct PanicsOnce {
    inner: MemoryStore,
    on: fn(&Change) -> bool,
    panicked: AtomicBool,
}

#[async_trait]
impl Store for PanicsOnce {
    async fn create(
        &self,
        new: NewExecution,
        owner: &Owner,
        lease: Duration,
    ) -> Result<ExecutionRecord, StoreError> {
        self.inner.create(new, owner, lease).await
    }

    async fn append(&self, claim: Claim, changes: Vec<Change>) -> Result<u64, StoreError> {
        if changes.iter().any(self.on) && !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("the store tripped over its own feet");
        }
        self.inner.append(claim, changes).await
    }

    async fn get(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError> {
        self.inner.get(id).await
    }

    async fn snapshot(&self, id: ExecutionId) -> Result<Option<ExecutionSnapshot>, StoreError> {
        self.inner.snapshot(id).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.inner.list(query).await
    }

    async fn count_by_state(&self) -> Result<Vec<(ExecutionState, u64)>, StoreError> {
        self.inner.count_by_state().await
    }

    async fn events(
        &self,
        id: ExecutionId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.events(id, after, limit).await
    }

    async fn logs(
        &self,
        id: ExecutionId,
        step: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.logs(id, step, after, limit).await
    }

    async fn claim_orphans(
        &self,
        owner: &Owner,
        lease: Duration,
        held: &[ExecutionId],
    ) -> Result<Vec<Claim>, StoreError> {
        self.inner.claim_orphans(owner, lease, held).await
    }

    async fn claim(
        &self,
        id: ExecutionId,
        owner: &Owner,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        self.inner.claim(id, owner, lease).await
    }

    async fn renew(
        &self,
        owner: &Owner,
        lease: Duration,
        claims: &[Claim],
    ) -> Result<Vec<ExecutionId>, StoreError> {
        self.inner.renew(owner, lease, claims).await
    }

    async fn release(&self, claim: Claim) -> Result<(), StoreError> {
        self.inner.release(claim).await
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.inner.prune(before).await
    }
}

/// Runs a one-step workflow on a store that panics once on `on`; the
/// execution's record.
async fn run_with_a_panic(on: fn(&Change) -> bool) -> ExecutionRecord {
    let store = Arc::new(PanicsOnce {
        inner: MemoryStore::default(),
        on,
        panicked: AtomicBool::new(false),
    });
    let engine = Engine::new(
        store.clone(),
        shutter_providers::registry(),
        shutter_providers::catalog(),
        EngineConfig::default(),
    );
    let yaml = "version: 1\nname: t\nsteps:\n  a: {uses: core.noop}\n";
    let plan = shutter_dsl::compile(&Source::new("t.yaml", yaml), engine.catalog()).unwrap();
    let source = WorkflowSource {
        text: yaml.to_owned(),
        path: None,
    };
    let started = engine
        .start(&plan, source, json!({}).as_object().unwrap())
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        engine.run(
            Claim::created(started.id),
            Arc::new(plan),
            CancellationToken::new(),
        ),
    )
    .await
    .expect("a panic never leaves the execution hanging")
    .ok();
    assert!(
        store.panicked.load(Ordering::SeqCst),
        "the planted panic fired"
    );
    store.get(started.id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_panic_in_the_executor_fails_the_execution_with_its_message() {
    let record = run_with_a_panic(|c| matches!(c, Change::ExecutionStarted { .. })).await;
    assert_eq!(record.state, ExecutionState::Failed);
    let error = record.error.unwrap_or_default();
    assert!(
        error.contains("the engine panicked") && error.contains("tripped over its own feet"),
        "{error}"
    );
}

#[tokio::test]
async fn a_panic_while_a_step_runs_fails_that_step_with_its_message() {
    let record = run_with_a_panic(|c| matches!(c, Change::AttemptStarted { .. })).await;
    assert_eq!(record.state, ExecutionState::Failed);
    let error = record.error.unwrap_or_default();
    assert!(
        error.contains("step `a` failed: the step panicked: the store tripped over its own feet"),
        "{error}"
    );
}
