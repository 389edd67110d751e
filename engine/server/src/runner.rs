//! The executions this server runs: each on its own task, cancelable by id,
//! and stopped in order when the server shuts down. A server runs at most
//! `max_running` at once: an execution started or taken back beyond that
//! is released to the store, queued for any engine with room (this one
//! once one of its executions ends, or another node sharing the store).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::metrics::Metrics;
use shutter_core::{Claim, ExecutionId};
use shutter_dsl::Plan;
use shutter_runtime::{Engine, EngineError};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
struct Running {
    claim: Claim,
    cancel: CancellationToken,
    abort: Option<AbortHandle>,
}

#[derive(Debug)]
pub(crate) struct Runner {
    /// What it shares with each execution's task.
    context: Context,
    /// Set when the server begins to stop: it takes no more work.
    closing: std::sync::atomic::AtomicBool,
    /// Executions this node could not resume (a workflow that no longer
    /// compiles here, say), left to other nodes until the instant given.
    unresumable: Mutex<HashMap<ExecutionId, tokio::time::Instant>>,
}

/// How long a node leaves alone an execution it could not resume.
const UNRESUMABLE_FOR: Duration = Duration::from_secs(60);

impl Runner {
    pub(crate) fn new(engine: Engine, max_running: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            context: Context {
                engine,
                metrics,
                running: Arc::default(),
                idle: Arc::default(),
                work: Arc::default(),
                max_running: max_running.max(1),
            },
            closing: std::sync::atomic::AtomicBool::new(false),
            unresumable: Mutex::default(),
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.context.engine
    }

    /// Runs a recorded execution to its end in the background (one with a
    /// concurrency key first waits for its turn, inside the engine). With
    /// no room here, it is released instead: queued in the store for the
    /// first engine with room — unless secrets were given with its start,
    /// which live in this process only: it runs here regardless.
    pub(crate) fn launch(&self, claim: Claim, plan: Arc<Plan>) {
        if self.room() == 0 && !self.context.engine.holds_secrets_of(claim.id) {
            let engine = self.context.engine.clone();
            tracing::debug!("execution {}: no room here, queued for any node", claim.id);
            tokio::spawn(async move { engine.release(claim).await });
            return;
        }
        spawn(self.context.clone(), claim, plan, CancellationToken::new());
    }

    /// How many more executions this server may run now (none once it
    /// stops).
    fn room(&self) -> usize {
        if self.closing.load(std::sync::atomic::Ordering::Relaxed) {
            return 0;
        }
        self.context.max_running.saturating_sub(self.lock().len())
    }

    /// Wakes the sweep: there may be queued work to claim.
    pub(crate) fn wake(&self) {
        self.context.work.notify_one();
    }

    /// Waits until [`Runner::wake`] (or the room made by an execution that
    /// ended while this server was full).
    pub(crate) async fn woken(&self) {
        self.context.work.notified().await;
    }

    /// Takes back, as far as there is room, executions a stopped engine
    /// left running, queued ones released for any engine with room, and
    /// ones this engine gave up while its store was down, and runs them.
    /// Returns how many were taken and the ones that cannot resume.
    pub(crate) async fn resume_orphans(&self) -> Result<(usize, Vec<EngineError>), EngineError> {
        let skipped = self.skipped();
        let claims = self
            .context
            .engine
            .claim_orphans(self.room(), &skipped)
            .await?;
        let mut problems = Vec::new();
        let mut resumed = 0;
        for (at, &claim) in claims.iter().enumerate() {
            let snapshot = match self.context.engine.store().snapshot(claim.id).await {
                Ok(Some(snapshot)) => snapshot,
                Ok(None) => continue,
                Err(err) => {
                    // None of the rest is run here: give them all back.
                    for &left in &claims[at..] {
                        self.context.engine.release(left).await;
                    }
                    return Err(err.into());
                }
            };
            match self.context.engine.plan_of(&snapshot) {
                Ok(plan) => {
                    self.launch(claim, plan);
                    resumed += 1;
                }
                Err(err) => {
                    // Another node (another version) may run it; this one
                    // leaves it alone for a while instead of taking it back
                    // at every sweep.
                    lock(&self.unresumable)
                        .insert(claim.id, tokio::time::Instant::now() + UNRESUMABLE_FOR);
                    self.context.engine.release(claim).await;
                    problems.push(err);
                }
            }
        }
        Ok((resumed, problems))
    }

    /// The executions this node leaves alone for now.
    fn skipped(&self) -> Vec<ExecutionId> {
        let now = tokio::time::Instant::now();
        let mut unresumable = lock(&self.unresumable);
        unresumable.retain(|_, until| *until > now);
        unresumable.keys().copied().collect()
    }

    /// Asks an execution running here to cancel (its `finally` steps still
    /// run; one waiting for its concurrency key runs only those). False
    /// when this server is not running it.
    pub(crate) fn cancel(&self, id: ExecutionId) -> bool {
        match self.lock().get(&id) {
            Some(running) => {
                running.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Most executions this server runs at once (`--max-executions`).
    pub(crate) fn max_running(&self) -> usize {
        self.context.max_running
    }

    pub(crate) fn count(&self) -> usize {
        self.lock().len()
    }

    /// Waits up to `grace` for running executions to end, then stops the
    /// rest where they are. Every state change is recorded before it is
    /// acted on, so a stopped execution stays `running` in the store and the
    /// next start takes it back (a step cut mid-try runs again with the same
    /// idempotency key).
    pub(crate) async fn shutdown(&self, grace: Duration) {
        // What it releases from now on is for other nodes to take.
        self.closing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let idle = self.context.idle.notified();
            if self.lock().is_empty() {
                return;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                break;
            }
        }
        let left: Vec<_> = self.lock().drain().collect();
        if !left.is_empty() {
            tracing::info!(
                "stopping {} execution(s) still running; the next start resumes them",
                left.len()
            );
        }
        for (_, running) in left {
            if let Some(abort) = running.abort {
                abort.abort();
            }
            // Stopped where it is: another engine may take it at once.
            self.context.engine.release(running.claim).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionId, Running>> {
        lock(&self.context.running)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a running execution's task needs from the runner.
#[derive(Debug, Clone)]
struct Context {
    engine: Engine,
    running: Arc<Mutex<HashMap<ExecutionId, Running>>>,
    idle: Arc<tokio::sync::Notify>,
    /// Wakes the sweep that claims queued work: room was made here, or
    /// another node released work.
    work: Arc<tokio::sync::Notify>,
    max_running: usize,
    metrics: Arc<Metrics>,
}

/// Runs `id` on its own task.
fn spawn(context: Context, claim: Claim, plan: Arc<Plan>, cancel: CancellationToken) {
    let id = claim.id;
    let mut running = lock(&context.running);
    if running.contains_key(&id) {
        // The task of an earlier claim is still ending here (it was taken
        // over, or retried, meanwhile): give this claim back to be taken
        // again once that task is gone.
        tracing::warn!("execution {id}: still ending here; releasing its new claim");
        let engine = context.engine.clone();
        tokio::spawn(async move { engine.release(claim).await });
        return;
    }
    running.insert(
        id,
        Running {
            claim,
            cancel: cancel.clone(),
            abort: None,
        },
    );
    let task = tokio::spawn({
        let context = context.clone();
        async move {
            context.metrics.running(id, plan.workflow.name.as_str());
            if let Err(err) = context.engine.run(claim, plan, cancel).await {
                tracing::error!("execution {id} stopped: {err}");
            }
            context.metrics.ended(id);
            let mut running = lock(&context.running);
            let was_full = running.len() >= context.max_running;
            running.remove(&id);
            if running.is_empty() {
                context.idle.notify_waiters();
            }
            if was_full {
                // Work may have been turned away while full.
                context.work.notify_one();
            }
        }
    });
    if let Some(entry) = running.get_mut(&id) {
        entry.abort = Some(task.abort_handle());
    }
}
