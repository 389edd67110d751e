//! The engine: starts executions, runs them to the end, takes back those a
//! stopped engine left behind.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value as Json};
use shutter_dsl::{Catalog, ExprEngine, Plan, Source, StepId};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::executor;
use crate::held::Held;
use shutter_core::action::ActionRegistry;
use shutter_core::clock::{Clock, TokioClock};
use shutter_core::config::ConfigSource;
use shutter_core::ids::ExecutionId;
use shutter_core::record::{Change, ExecutionRecord, ExecutionSnapshot, NewExecution};
use shutter_core::secrets::Secrets;
use shutter_core::state::{ExecutionState, StepState};
use shutter_core::store::{Claim, Holder, Owner, Store, StoreError};

/// Most step tries running at once by default ([`EngineConfig`]).
pub const DEFAULT_MAX_CONCURRENT_STEPS: usize = 4096;

/// Settings with defaults that suit one machine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most step tries running at once, over all executions. A try that
    /// sleeps or waits on a cloud's task holds its place, so this is well
    /// above the 1,000 executions a node runs at once by default.
    pub max_concurrent_steps: usize,
    /// How long a claim on an execution lasts without renewal.
    pub lease: Duration,
    /// Largest step output accepted, in bytes of JSON.
    pub max_output_bytes: usize,
    /// How long a running execution waits for an unavailable store (a full
    /// disk, a lost connection) before it is given up, to be taken back by
    /// the next claim once the store answers again.
    pub store_patience: Duration,
    /// Where WebAssembly module files are (`--modules DIR`); without it,
    /// an execution's modules are relative to its workflow file's
    /// directory, and an execution with neither may name none.
    pub modules_dir: Option<std::path::PathBuf>,
    /// Which host files steps may name by path: anywhere (relative to the
    /// workflow's directory) for `shutter run`; inside `--files DIR`, or
    /// nowhere, for `shutter serve`.
    pub files: shutter_core::files::Files,
    /// Shutter's config file, read when a step needs a section of it (the
    /// sizes of limit pools, `limits:`).
    pub config: Arc<dyn ConfigSource>,
    /// What delivers webhooks (`notify:`); without one, each delivery is
    /// recorded as not made, saying why.
    pub notifier: Option<Arc<dyn shutter_core::notify::Notifier>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_concurrent_steps: DEFAULT_MAX_CONCURRENT_STEPS,
            lease: Duration::from_secs(30),
            max_output_bytes: 1 << 20,
            store_patience: Duration::from_secs(60),
            modules_dir: None,
            files: shutter_core::files::Files::default(),
            config: Arc::new(shutter_core::config::NoConfig),
            notifier: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid inputs: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Inputs(Vec<shutter_dsl::inputs::InputError>),
    /// The workflow's `concurrency.key` could not be computed from the inputs.
    #[error("{0}")]
    ConcurrencyKey(String),
    #[error("execution {id} cannot be resumed: {reason}")]
    Unresumable { id: ExecutionId, reason: String },
    #[error(
        "execution {id} is {state}: only a failed, canceled or succeeded_with_errors execution can be retried (any ended one with `from`)"
    )]
    NotRetryable {
        id: ExecutionId,
        state: &'static str,
    },
    /// A retry `from` a step the workflow does not have.
    #[error("execution {id}: its workflow has no step `{step}` to retry from")]
    UnknownStep { id: ExecutionId, step: String },
    /// Another engine runs it (it was just retried or resumed elsewhere).
    #[error("execution {0} is held by another engine")]
    Held(ExecutionId),
    /// A bug: the executor panicked. The execution is recorded failed when
    /// the store allows.
    #[error("execution {id}: the engine panicked: {message}")]
    Panicked { id: ExecutionId, message: String },
}

/// What [`Engine::start_once`] did.
#[derive(Debug, Clone)]
pub struct Started {
    /// The execution: the new one, or the one started earlier with the key.
    pub record: ExecutionRecord,
    /// False when the key named an existing execution.
    pub created: bool,
    /// The claim to run it under ([`Engine::run`]), when it was created.
    pub claim: Option<Claim>,
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
    /// This engine as claims name it, with the lease they get.
    pub(crate) holder: Holder,
    pub(crate) config: EngineConfig,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) expr: ExprEngine,
    pub(crate) secrets: SecretSource,
    /// The executions this engine holds, renewed by `keep_leases`.
    pub(crate) held: Held,
    /// Secrets given with an execution's start (vRO `secure-string`
    /// parameters), held in memory only, until the execution ends.
    pub(crate) given: std::sync::Mutex<std::collections::HashMap<ExecutionId, Secrets>>,
    /// Wakes steps waiting for a slot of a limit pool, and executions
    /// waiting for their concurrency key: one was freed.
    pub(crate) slots_freed: tokio::sync::Notify,
}

impl Inner {
    /// The execution's snapshot as stored; an error when there is none.
    pub(crate) async fn stored_snapshot(
        &self,
        id: ExecutionId,
    ) -> Result<ExecutionSnapshot, EngineError> {
        let snapshot = self.store.snapshot(id).await?;
        snapshot.ok_or_else(|| StoreError::NotFound(id).into())
    }

    /// The execution's record as stored; an error when there is none.
    pub(crate) async fn stored_record(
        &self,
        id: ExecutionId,
    ) -> Result<ExecutionRecord, EngineError> {
        let record = self.store.get(id).await?;
        record.ok_or_else(|| StoreError::NotFound(id).into())
    }
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
                holder: Holder::new(Owner::this_process(), config.lease),
                permits: Arc::new(Semaphore::new(config.max_concurrent_steps.max(1))),
                config,
                expr: ExprEngine::new(),
                secrets: SecretSource(Arc::new(Secrets::from_env)),
                given: std::sync::Mutex::default(),
                held: Held::default(),
                slots_freed: tokio::sync::Notify::new(),
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

    /// Steps waiting for a slot of a limit pool, and executions waiting for
    /// their concurrency key, ask again now: another node freed one (its
    /// store announced it).
    pub fn slot_freed(&self) {
        self.inner.slots_freed.notify_waiters();
    }

    /// Secrets for one execution besides the engine's source (vRO
    /// `secure-string` parameters): never stored, so an execution resumed
    /// by another process or after a restart does not have them, and fails
    /// saying so unless the source has them too.
    pub fn give_secrets(&self, id: ExecutionId, secrets: Secrets) {
        if !secrets.is_empty() {
            self.inner
                .given
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id, secrets);
        }
    }

    /// Whether secrets were given with `id`'s start (held in this
    /// process only, until it ends).
    pub fn holds_secrets_of(&self, id: ExecutionId) -> bool {
        self.inner
            .given
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&id)
    }

    /// This engine, as its leases name it.
    pub fn owner(&self) -> &Owner {
        &self.inner.holder.owner
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Records a new execution (`queued`) after checking its inputs; run
    /// it under the claim returned.
    pub async fn start(
        &self,
        plan: &Plan,
        source: WorkflowSource,
        inputs: &Map<String, Json>,
    ) -> Result<Claim, EngineError> {
        let started = self.start_once(plan, source, inputs, None).await?;
        Ok(started
            .claim
            .unwrap_or_else(|| Claim::created(started.record.id)))
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
        let concurrency = crate::concurrency::key_of(plan, &inputs, &self.inner.expr)
            .map_err(EngineError::ConcurrencyKey)?;
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
            concurrency,
        };
        let id = new.id;
        let record = self.inner.store.create(new, &self.inner.holder).await?;
        let created = record.id == id;
        let claim = created.then(|| Claim::created(id));
        if let Some(claim) = claim {
            self.inner.held.insert(claim);
        }
        Ok(Started {
            created,
            record,
            claim,
        })
    }

    /// What a run of `plan` with `inputs` would do, without recording
    /// anything: read steps run for real, writes are shown with their
    /// parameters (see `dry_run`). `source_path` places module and data
    /// files as for a run of that file.
    pub async fn dry_run(
        &self,
        plan: &Plan,
        inputs: &Map<String, Json>,
        source_path: Option<&str>,
    ) -> Result<crate::DryRun, EngineError> {
        crate::dry_run::plan(self.inner.clone(), plan, inputs, source_path).await
    }

    /// Runs an execution to its end and returns its final record. `cancel`
    /// cancels it (finally steps still run). It stops where it is, with an
    /// error, if the claim is lost or the store stays unavailable longer
    /// than `store_patience` (it is not renewed after that, so the next
    /// claim takes it back); a panic of the executor is recorded as the
    /// execution's failure.
    pub async fn run(
        &self,
        claim: Claim,
        plan: Arc<Plan>,
        cancel: CancellationToken,
    ) -> Result<ExecutionRecord, EngineError> {
        use futures_util::FutureExt as _;
        let halt = self.inner.held.enter(claim);
        self.inner.held.cancels_with(claim, cancel.clone());
        if claim.epoch > Claim::created(claim.id).epoch {
            // Taken over from another engine: a cancel asked for while no
            // one ran it is learnt now, not at the next renewal.
            self.renew_claims(&[claim]).await;
        }
        let plan_keyed = plan.workflow.concurrency.is_some();
        let run = executor::run(self.inner.clone(), claim, halt.clone(), plan, cancel);
        let result = match std::panic::AssertUnwindSafe(run).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let message = executor::panic_message(panic.as_ref());
                Err(self.record_panic(claim, message).await)
            }
        };
        self.inner.held.remove(claim);
        if plan_keyed {
            // Its concurrency key may be free: the next in line here asks.
            self.inner.slots_freed.notify_waiters();
        }
        if let Err(EngineError::Store(StoreError::Unavailable(_))) = &result {
            // Given up: let another engine (or this one, later) take it.
            let _ = self.inner.store.release(claim).await;
        }
        result
    }

    /// Records a panic of the executor as the execution's failure.
    async fn record_panic(&self, claim: Claim, message: String) -> EngineError {
        tracing::error!("execution {}: the engine panicked: {message}", claim.id);
        let finished = Change::ExecutionFinished {
            state: ExecutionState::Failed,
            outputs: None,
            error: Some(format!("the engine panicked: {message}")),
            at: self.inner.clock.now(),
        };
        if let Err(err) = self.inner.store.append(claim, vec![finished]).await {
            tracing::error!("execution {}: recording the panic failed: {err}", claim.id);
        }
        EngineError::Panicked {
            id: claim.id,
            message,
        }
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
        let claims = self.claim_orphans(usize::MAX, &[]).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for claim in claims {
            let engine = self.clone();
            let cancel = cancel.clone();
            tasks.spawn(async move {
                let plan = match engine.plan_of_id(claim.id).await {
                    Ok(plan) => plan,
                    Err(err) => {
                        engine.inner.held.remove(claim);
                        return Err(err);
                    }
                };
                engine.run(claim, plan, cancel).await
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

    /// The plan of a recorded execution.
    pub async fn plan_of_id(&self, id: ExecutionId) -> Result<Arc<Plan>, EngineError> {
        let snapshot = self.inner.stored_snapshot(id).await?;
        self.plan_of(&snapshot)
    }

    /// Prepares an ended execution to run again (see `rerun.rs` for which
    /// steps): without `from`, a failed, canceled or
    /// `succeeded_with_errors` one, from the steps that did not succeed;
    /// with `from`, any ended one, from that step. The steps chosen go back
    /// to `pending` (their tries so far kept as history), the others keep
    /// their results. Returns its plan and the claim to run it under, for
    /// [`Engine::run`]. Steps run again with their idempotency keys, so
    /// what a failed try created is adopted, not made twice.
    pub async fn retry(
        &self,
        id: ExecutionId,
        from: Option<&str>,
    ) -> Result<(Arc<Plan>, Claim), EngineError> {
        let snapshot = self.inner.stored_snapshot(id).await?;
        let state = snapshot.execution.state;
        let retryable = match from {
            Some(_) => state.is_terminal(),
            None => matches!(
                state,
                ExecutionState::Failed
                    | ExecutionState::Canceled
                    | ExecutionState::SucceededWithErrors
            ),
        };
        if !retryable {
            return Err(EngineError::NotRetryable {
                id,
                state: state.as_str(),
            });
        }
        let plan = self.plan_of(&snapshot)?;
        let from = from
            .map(|name| {
                StepId::parse(name)
                    .ok()
                    .filter(|step| plan.workflow.steps.contains_key(step))
                    .ok_or_else(|| EngineError::UnknownStep {
                        id,
                        step: name.to_owned(),
                    })
            })
            .transpose()?;
        let again = crate::rerun::steps_to_rerun(&plan, &snapshot.steps, from.as_ref());
        let claim = self
            .inner
            .store
            .claim(id, &self.inner.holder)
            .await?
            .ok_or(EngineError::Held(id))?;
        let at = self.inner.clock.now();
        let mut changes = vec![Change::ExecutionRetried { at }];
        // A `for_each` whose inputs stay the same (nothing it needs runs
        // again) keeps its succeeded items on a plain retry: of a hundred
        // VMs, only the one that failed is snapshotted again.
        let keeps = |record: &shutter_core::record::StepRecord, step: &StepId| {
            from.is_none()
                && record.key.item.is_some()
                && record.state == StepState::Succeeded
                && !plan.workflow.steps[step]
                    .needs
                    .iter()
                    .any(|dep| again.contains(dep))
        };
        changes.extend(
            snapshot
                .steps
                .iter()
                .filter(|record| {
                    StepId::parse(&record.key.step)
                        .is_ok_and(|step| again.contains(&step) && !keeps(record, &step))
                })
                .map(|step| Change::StepReset {
                    key: step.key.clone(),
                    at,
                }),
        );
        match self.inner.store.append(claim, changes).await {
            Ok(_) => {
                self.inner.held.insert(claim);
                Ok((plan, claim))
            }
            // Another retry took it between the claim and now.
            Err(StoreError::Conflict(_)) => Err(EngineError::Held(id)),
            Err(err) => Err(err.into()),
        }
    }

    /// Claims at most `limit` executions left behind by stopped engines or
    /// released for an engine with room (not those this engine holds, nor
    /// those in `except`), for the caller to run (see [`Engine::plan_of`]
    /// and [`Engine::run`]).
    pub async fn claim_orphans(
        &self,
        limit: usize,
        except: &[ExecutionId],
    ) -> Result<Vec<Claim>, EngineError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut held = self.inner.held.ids();
        held.extend_from_slice(except);
        let claims = self
            .inner
            .store
            .claim_orphans(&self.inner.holder, &held, limit)
            .await?;
        for claim in &claims {
            self.inner.held.insert(*claim);
        }
        Ok(claims)
    }

    /// Gives up a claim this engine will not run (a stop before it
    /// started): another engine may take it at once.
    pub async fn release(&self, claim: Claim) {
        self.inner.held.remove(claim);
        if let Err(err) = self.inner.store.release(claim).await {
            tracing::warn!("releasing execution {}: {err}", claim.id);
        }
    }

    /// Keeps the leases of the executions this engine holds alive until
    /// `stop` is canceled; one claimed by another engine meanwhile is
    /// stopped here at once.
    pub async fn keep_leases(&self, stop: CancellationToken) {
        let every = self.inner.config.lease / 3;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => self.renew().await,
            }
        }
    }

    /// Renews every lease once; stops the executions lost meanwhile and
    /// cancels those whose cancel was asked for elsewhere.
    pub async fn renew(&self) {
        self.renew_claims(&self.inner.held.claims()).await;
    }

    async fn renew_claims(&self, claims: &[Claim]) {
        if claims.is_empty() {
            return;
        }
        let sent = std::time::Instant::now();
        match self.inner.store.renew(&self.inner.holder, claims).await {
            Ok(renewal) => {
                self.inner.held.lose(&renewal.lost);
                // Those lost are forgotten: the rest were kept.
                self.inner.held.confirm(claims, sent);
                self.inner.held.cancel(&renewal.cancel);
            }
            Err(err) => tracing::warn!("renewing leases failed: {err}"),
        }
    }

    /// Asks for `id` to be canceled wherever it runs: kept in the store,
    /// which tells the engine holding it (at once where the store
    /// announces it, else at that engine's next lease renewal). False when
    /// it has ended.
    pub async fn request_cancel(&self, id: ExecutionId) -> Result<bool, EngineError> {
        Ok(self.inner.store.request_cancel(id).await?)
    }
}
