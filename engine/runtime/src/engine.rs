//! The engine: starts executions, runs them to the end, takes back those a
//! stopped engine left behind.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value as Json};
use shutter_dsl::{Catalog, ExprEngine, Plan, Source};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::action::ActionRegistry;
use crate::clock::{Clock, TokioClock};
use crate::executor;
use crate::ids::ExecutionId;
use crate::record::{Change, ExecutionRecord, ExecutionSnapshot, NewExecution};
use crate::secrets::Secrets;
use crate::state::{ExecutionState, StepState};
use crate::store::{Owner, Store, StoreError};

/// Settings with defaults that suit one machine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most step tries running at once, over all executions.
    pub max_concurrent_steps: usize,
    /// How long a claim on an execution lasts without renewal.
    pub lease: Duration,
    /// Largest step output accepted, in bytes of JSON.
    pub max_output_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_concurrent_steps: 512,
            lease: Duration::from_secs(30),
            max_output_bytes: 1 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid inputs: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Inputs(Vec<shutter_dsl::inputs::InputError>),
    #[error("execution {id} cannot be resumed: {reason}")]
    Unresumable { id: ExecutionId, reason: String },
    #[error("execution {id} is {state}: only a failed or canceled execution can be retried")]
    NotRetryable {
        id: ExecutionId,
        state: &'static str,
    },
}

/// What [`Engine::start_once`] did.
#[derive(Debug, Clone)]
pub struct Started {
    /// The execution: the new one, or the one started earlier with the key.
    pub record: ExecutionRecord,
    /// False when the key named an existing execution.
    pub created: bool,
}

/// Where an execution's workflow came from.
#[derive(Debug, Clone)]
pub struct WorkflowSource {
    pub text: String,
    pub path: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) actions: ActionRegistry,
    pub(crate) catalog: Catalog,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) owner: Owner,
    pub(crate) config: EngineConfig,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) expr: ExprEngine,
    pub(crate) secrets: SecretSource,
}

/// Resolves the values of the secrets a workflow declares.
#[derive(Clone)]
pub(crate) struct SecretSource(Arc<SecretFn>);

type SecretFn = dyn Fn(&[String]) -> Secrets + Send + Sync;

impl SecretSource {
    pub(crate) fn resolve(&self, names: &[String]) -> Secrets {
        (self.0)(names)
    }
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSource")
    }
}

/// Runs workflows durably. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        actions: ActionRegistry,
        catalog: Catalog,
        config: EngineConfig,
    ) -> Self {
        Self::with_clock(store, actions, catalog, config, Arc::new(TokioClock::new()))
    }

    pub fn with_clock(
        store: Arc<dyn Store>,
        actions: ActionRegistry,
        catalog: Catalog,
        config: EngineConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                actions,
                catalog,
                clock,
                owner: Owner::this_process(),
                permits: Arc::new(Semaphore::new(config.max_concurrent_steps.max(1))),
                config,
                expr: ExprEngine::new(),
                secrets: SecretSource(Arc::new(Secrets::from_env)),
            }),
        }
    }

    /// Where secret values come from (default: `SHUTTER_SECRET_<NAME>`).
    #[must_use]
    pub fn with_secrets(
        self,
        source: impl Fn(&[String]) -> Secrets + Send + Sync + 'static,
    ) -> Self {
        let inner =
            Arc::into_inner(self.inner).expect("with_secrets is called while building the engine");
        Self {
            inner: Arc::new(Inner {
                secrets: SecretSource(Arc::new(source)),
                ..inner
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// Records a new execution (`queued`) after checking its inputs.
    pub async fn start(
        &self,
        plan: &Plan,
        source: WorkflowSource,
        inputs: &Map<String, Json>,
    ) -> Result<ExecutionId, EngineError> {
        let started = self.start_once(plan, source, inputs, None).await?;
        Ok(started.record.id)
    }

    /// Like [`Engine::start`], but with a client's idempotency key: when an
    /// execution was already started with `key`, that one is returned
    /// (`created: false`) and nothing new is recorded.
    pub async fn start_once(
        &self,
        plan: &Plan,
        source: WorkflowSource,
        inputs: &Map<String, Json>,
        key: Option<String>,
    ) -> Result<Started, EngineError> {
        let inputs = shutter_dsl::inputs::resolve_inputs(&plan.workflow, inputs)
            .map_err(EngineError::Inputs)?;
        let new = NewExecution {
            id: ExecutionId::new(),
            workflow: plan.workflow.name.to_string(),
            plan_hash: plan.hash.to_string(),
            source: source.text,
            source_path: source.path,
            inputs: Json::Object(inputs),
            steps: plan
                .workflow
                .steps
                .keys()
                .map(|id| id.to_string())
                .collect(),
            created_at: self.inner.clock.now(),
            idempotency_key: key,
        };
        let id = new.id;
        let record = self
            .inner
            .store
            .create(new, &self.inner.owner, self.inner.config.lease)
            .await?;
        Ok(Started {
            created: record.id == id,
            record,
        })
    }

    /// Runs an execution to its end and returns its final record. `cancel`
    /// cancels it (finally steps still run).
    pub async fn run(
        &self,
        id: ExecutionId,
        plan: Arc<Plan>,
        cancel: CancellationToken,
    ) -> Result<ExecutionRecord, EngineError> {
        executor::run(self.inner.clone(), id, plan, cancel).await
    }

    /// Recompiles the workflow an execution recorded.
    pub fn plan_of(&self, snapshot: &ExecutionSnapshot) -> Result<Arc<Plan>, EngineError> {
        let id = snapshot.execution.id;
        let name = snapshot
            .source_path
            .clone()
            .unwrap_or_else(|| format!("{}.yaml", snapshot.execution.workflow));
        let plan = shutter_dsl::compile(
            &Source::new(name, snapshot.source.clone()),
            &self.inner.catalog,
        )
        .map_err(|d| EngineError::Unresumable {
            id,
            reason: format!("its workflow no longer compiles:\n{d}"),
        })?;
        if plan.hash.as_str() != snapshot.execution.plan_hash {
            return Err(EngineError::Unresumable {
                id,
                reason: "the plan hash of its workflow changed".to_owned(),
            });
        }
        Ok(Arc::new(plan))
    }

    /// Claims executions left behind by stopped engines and runs them all
    /// to their end. Returns their final records.
    pub async fn resume_orphans(
        &self,
        cancel: CancellationToken,
    ) -> Result<Vec<Result<ExecutionRecord, EngineError>>, EngineError> {
        let ids = self.claim_orphans().await?;
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids {
            let engine = self.clone();
            let cancel = cancel.clone();
            tasks.spawn(async move {
                let snapshot = engine
                    .inner
                    .store
                    .snapshot(id)
                    .await?
                    .ok_or(StoreError::NotFound(id))?;
                let plan = engine.plan_of(&snapshot)?;
                engine.run(id, plan, cancel).await
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.unwrap_or_else(|err| {
                Err(EngineError::Store(StoreError::Fatal(format!(
                    "resume task failed: {err}"
                ))))
            }));
        }
        Ok(results)
    }

    /// Prepares a failed or canceled execution to run again: the steps that
    /// did not succeed (failed, canceled, skipped, compensated) go back to
    /// `pending`, what succeeded is kept. Returns its plan, for
    /// [`Engine::run`]. Steps run again with their idempotency keys, so
    /// what a failed try created is adopted, not made twice.
    pub async fn retry(&self, id: ExecutionId) -> Result<Arc<Plan>, EngineError> {
        let snapshot = self
            .inner
            .store
            .snapshot(id)
            .await?
            .ok_or(StoreError::NotFound(id))?;
        let state = snapshot.execution.state;
        if !matches!(state, ExecutionState::Failed | ExecutionState::Canceled) {
            return Err(EngineError::NotRetryable {
                id,
                state: state.as_str(),
            });
        }
        let plan = self.plan_of(&snapshot)?;
        let at = self.inner.clock.now();
        let mut changes = vec![Change::ExecutionRetried { at }];
        changes.extend(
            snapshot
                .steps
                .iter()
                .filter(|step| step.state != StepState::Succeeded)
                .map(|step| Change::StepReset {
                    key: step.key.clone(),
                    at,
                }),
        );
        self.inner.store.append(id, changes).await?;
        Ok(plan)
    }

    /// Claims executions left behind by stopped engines, for the caller to
    /// run (see [`Engine::plan_of`] and [`Engine::run`]).
    pub async fn claim_orphans(&self) -> Result<Vec<ExecutionId>, EngineError> {
        Ok(self
            .inner
            .store
            .claim_orphans(&self.inner.owner, self.inner.config.lease)
            .await?)
    }

    /// Keeps this engine's leases alive until `stop` is canceled.
    pub async fn keep_leases(&self, stop: CancellationToken) {
        let every = self.inner.config.lease / 3;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {
                    if let Err(err) = self.inner.store.renew(&self.inner.owner, self.inner.config.lease).await {
                        tracing::warn!("renewing leases failed: {err}");
                    }
                }
            }
        }
    }
}
