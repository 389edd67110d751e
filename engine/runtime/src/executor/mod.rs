//! Running one execution: the scheduler.
//!
//! Rules (also in docs/execution.md):
//! - A step is ready once every step it needs has ended. A `finally` step
//!   then runs whatever their results; any other step runs only if they all
//!   succeeded: if one was skipped it is skipped too, otherwise canceled.
//! - A false `if` skips the step (and so, by the rule above, what needs it).
//! - The first failure stops new non-`finally` steps (they are canceled);
//!   running steps end on their own; `finally` steps still run. Once nothing
//!   runs, the `compensate` actions of succeeded steps run in reverse order
//!   of success, and the execution fails.
//! - A step with `on_error: continue` that fails is not a failure of the
//!   execution: its dependants run as if it had succeeded (they read
//!   `steps.ID.state` and `steps.ID.error`), the other items of a
//!   `for_each` go on, nothing is compensated, and the execution ends
//!   `succeeded_with_errors`, its error naming each such step.
//! - Cancel stops running steps and skips the rest, except `finally` steps,
//!   which run; no compensation. The execution ends `canceled`.
//! - A workflow `timeout` is a failure (with compensation).

mod compensate;
pub(crate) mod instance;
mod limit;
mod notices;
mod retry;
pub(crate) mod scope;
mod sink;
mod start;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value as Json;
use shutter_dsl::model::{OnError, Step};
use shutter_dsl::{Plan, StepId};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineError, Inner};
use crate::held::Halt;
pub(crate) use instance::panic_message;
use instance::{Finished, Work, run_instance};
use scope::{Scope, StepsView};
use shutter_core::action::ChangeSink;
use shutter_core::ids::{ExecutionId, StepKey};
use shutter_core::notify::NotifyEvent;
use shutter_core::record::{Change, ExecutionRecord, QueuedNotice, StepRecord};
use shutter_core::secrets::Secrets;
use shutter_core::state::{ExecutionState, StepState};
use shutter_core::store::{Claim, StoreError};
use sink::StoreSink;

/// What every task of one execution shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) inner: Arc<Inner>,
    pub(crate) id: ExecutionId,
    /// The claim the execution runs under (slots of limit pools are held
    /// under it).
    pub(crate) claim: Claim,
    pub(crate) plan: Arc<Plan>,
    pub(crate) sink: Arc<StoreSink>,
    pub(crate) scope: Scope,
    pub(crate) secrets: Secrets,
    /// The modules directory, for module paths relative to it.
    pub(crate) base_dir: Option<std::path::PathBuf>,
    /// Which host files steps may name.
    pub(crate) files: shutter_core::files::Files,
    /// Its webhooks.
    pub(crate) notices: notices::Notices,
}

/// Where a step (a node of the plan) stands.
#[derive(Debug)]
enum Node {
    /// Waiting for this many dependencies to end.
    Waiting(usize),
    /// Running: instances waiting for a slot, running, and their results.
    Active {
        queue: VecDeque<usize>,
        running: usize,
        results: Vec<Option<Finished>>,
        items: Option<Vec<Json>>,
    },
    Done(StepState),
}

struct Run {
    shared: Arc<Shared>,
    records: HashMap<StepKey, StepRecord>,
    nodes: IndexMap<StepId, Node>,
    ready: VecDeque<StepId>,
    tasks: JoinSet<Finished>,
    /// Which instance each task runs, to fail the right one if it panics.
    spawned: HashMap<tokio::task::Id, StepKey>,
    failing: Option<String>,
    /// Failures of `on_error: continue` steps, for the execution's error.
    tolerated: Vec<String>,
    canceled: bool,
    /// Canceled on failure or cancel: stops non-`finally` work.
    work: CancellationToken,
    /// A step's result not yet written, for the next change the scheduler
    /// writes or the instance it starts next to carry (see `fill`).
    carry: Vec<Change>,
}

pub(crate) async fn run(
    inner: Arc<Inner>,
    claim: Claim,
    halt: Arc<Halt>,
    plan: Arc<Plan>,
    cancel: CancellationToken,
) -> Result<ExecutionRecord, EngineError> {
    let id = claim.id;
    let snapshot = inner
        .store
        .snapshot_to_run(id)
        .await?
        .ok_or(StoreError::NotFound(id))?;
    let ended = snapshot.execution.state.is_terminal();
    if ended && snapshot.execution.pending_notices.is_empty() {
        return Ok(snapshot.execution);
    }
    if plan.workflow.concurrency.is_some() && !ended {
        // Its turn under its concurrency key first (still `queued`).
        let halted = halt.token().clone();
        tokio::select! {
            waited = crate::concurrency::wait_for_key(&inner, id, &cancel) => waited?,
            () = halted.cancelled() => {
                let reason = halt.reason().unwrap_or_else(|| {
                    StoreError::Fatal("the execution was halted".to_owned())
                });
                return Err(reason.into());
            }
        }
    }
    let given = lock(&inner.given).get(&id).cloned().unwrap_or_default();
    let secrets = inner.secrets.resolve(&plan.workflow.secrets).merged(&given);
    let sink = Arc::new(StoreSink {
        store: inner.store.clone(),
        clock: inner.clock.clone(),
        claim,
        secrets: secrets.clone(),
        halt: halt.clone(),
        patience: inner.config.store_patience,
        lease: inner.config.lease,
    });
    let notices = notices::Notices::new(
        &inner,
        id,
        &plan.workflow,
        sink.clone(),
        secrets.clone(),
        halt.token().child_token(),
        &snapshot.execution,
    );
    // Deliveries an engine before this one decided on and did not end.
    notices.dispatch(snapshot.execution.pending_notices.clone());
    if ended {
        // Only its webhooks were left to do.
        notices.settle().await;
        return inner.stored_record(id).await;
    }
    if snapshot.execution.state == ExecutionState::Queued {
        let at = inner.clock.now();
        let now = notices.execution("running", None, Some(at.to_rfc3339()), None);
        let queued = notices.queue(NotifyEvent::Started, now, None);
        let mut changes = vec![Change::ExecutionStarted { at }];
        changes.extend(notices::changes(&queued));
        sink.record(changes).await?;
        notices.dispatch(queued);
    }
    if let Some(error) = missing_secrets(&plan, &secrets) {
        // Before any step runs: a step would otherwise go on with no value.
        let at = inner.clock.now();
        let now = notices.execution("failed", Some(&error), None, Some(at.to_rfc3339()));
        let queued = notices.queue(NotifyEvent::Failed, now, None);
        let mut changes = vec![Change::ExecutionFinished {
            state: ExecutionState::Failed,
            outputs: None,
            error: Some(error),
            at,
        }];
        changes.extend(notices::changes(&queued));
        sink.record(changes).await?;
        notices.dispatch(queued);
        notices.settle().await;
        lock(&inner.given).remove(&id);
        return inner.stored_record(id).await;
    }
    let started_at = snapshot
        .execution
        .started_at
        .unwrap_or_else(|| inner.clock.now());
    let scope = Scope {
        inputs: minijinja::Value::from_serialize(&snapshot.execution.inputs),
        execution: minijinja::Value::from_serialize(serde_json::json!({
            "id": id.to_string(),
            "started_at": started_at.to_rfc3339(),
            "workflow": snapshot.execution.workflow,
            "plan": false,
        })),
        secrets: minijinja::Value::from_serialize(secrets.as_map()),
        steps: Arc::new(StepsView::default()),
    };
    let deadline = plan
        .workflow
        .timeout
        .map(|limit| shutter_core::clock::after(started_at, limit));
    let (base_dir, files) = places(&inner.config, snapshot.source_path.as_deref());
    let shared = Arc::new(Shared {
        inner,
        id,
        claim,
        plan,
        sink,
        scope,
        secrets,
        base_dir,
        files,
        notices,
    });
    let mut run = Run::new(shared, snapshot.steps);
    let halted = halt.token().clone();
    let driven = tokio::select! {
        result = run.drive(cancel, deadline) => Some(result),
        () = halted.cancelled() => None,
    };
    // Lost to another engine, or the store stayed down: every task stops
    // now, and nothing more is written.
    let result = match (driven, halt.reason()) {
        (Some(Ok(record)), _) => Ok(record),
        (_, Some(reason)) => {
            run.tasks.abort_all();
            Err(reason.into())
        }
        (Some(Err(err)), None) => Err(err),
        (None, None) => Err(StoreError::Fatal("the execution was halted".to_owned()).into()),
    };
    if result.is_ok() {
        lock(&run.shared.inner.given).remove(&id);
    }
    result
}

/// Where an execution's steps find files: module files relative to the
/// modules directory (the engine's, else the workflow file's own), data
/// files as the engine allows (anywhere: relative to the workflow file).
pub(crate) fn places(
    config: &crate::engine::EngineConfig,
    source_path: Option<&str>,
) -> (Option<std::path::PathBuf>, shutter_core::files::Files) {
    let workflow_dir = source_path
        .and_then(|p| std::path::Path::new(p).parent())
        .map(std::path::Path::to_path_buf);
    let files = match &config.files {
        shutter_core::files::Files::Anywhere { base: None } => {
            shutter_core::files::Files::Anywhere {
                base: workflow_dir.clone(),
            }
        }
        other => other.clone(),
    };
    (config.modules_dir.clone().or(workflow_dir), files)
}

/// Why the execution cannot run: declared secrets without a value. (Those
/// given with a vRO start are never stored: an execution resumed after a
/// restart does not have them, and ends here.)
pub(crate) fn missing_secrets(plan: &Plan, secrets: &Secrets) -> Option<String> {
    let missing: Vec<String> = plan
        .workflow
        .secrets
        .iter()
        .filter(|name| secrets.get(name).is_none())
        .map(|name| format!("`{name}` (set {})", Secrets::variable(name)))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "secret{} not set: {}",
        if missing.len() == 1 { " is" } else { "s are" },
        missing.join(", ")
    ))
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Run {
    fn new(shared: Arc<Shared>, step_records: Vec<StepRecord>) -> Self {
        let records: HashMap<StepKey, StepRecord> = step_records
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        let plan = shared.plan.clone();
        let mut nodes = IndexMap::with_capacity(plan.workflow.steps.len());
        let mut failing = None;
        let mut tolerated = Vec::new();
        // Steps already ended (on resume) are done; the rest wait for theirs.
        for (id, _) in &plan.workflow.steps {
            let state = records.get(&StepKey::step(id.as_str())).map(|r| r.state);
            match state {
                Some(state) if state.is_terminal() => {
                    let record = &records[&StepKey::step(id.as_str())];
                    shared.scope.steps.set(
                        id.as_str(),
                        state,
                        record.outputs.as_ref(),
                        record.error.as_deref(),
                    );
                    if state == StepState::Failed {
                        let why = format!(
                            "step `{id}` failed: {}",
                            record.error.clone().unwrap_or_default()
                        );
                        if plan.workflow.steps[id].on_error == OnError::Continue {
                            tolerated.push(why);
                        } else if failing.is_none() {
                            failing = Some(why);
                        }
                    }
                    nodes.insert(id.clone(), Node::Done(state));
                }
                _ => {
                    nodes.insert(id.clone(), Node::Waiting(0));
                }
            }
        }
        let mut ready = VecDeque::new();
        for (id, step) in &plan.workflow.steps {
            if matches!(nodes.get(id), Some(Node::Waiting(_))) {
                let waiting = step
                    .needs
                    .iter()
                    .filter(|dep| !matches!(nodes.get(*dep), Some(Node::Done(_))))
                    .count();
                nodes.insert(id.clone(), Node::Waiting(waiting));
                if waiting == 0 {
                    ready.push_back(id.clone());
                }
            }
        }
        Self {
            shared,
            records,
            nodes,
            ready,
            tasks: JoinSet::new(),
            spawned: HashMap::new(),
            failing,
            tolerated,
            canceled: false,
            work: CancellationToken::new(),
            carry: Vec::new(),
        }
    }

    async fn drive(
        &mut self,
        cancel: CancellationToken,
        deadline: Option<shutter_core::record::Timestamp>,
    ) -> Result<ExecutionRecord, EngineError> {
        if self.failing.is_some() {
            self.work.cancel();
        }
        // Canceled before it started (e.g. while waiting for its
        // concurrency key): no step starts but `finally` ones.
        if cancel.is_cancelled() {
            self.canceled = true;
            self.work.cancel();
        }
        let mut timed_out = false;
        loop {
            self.dispatch().await?;
            // A result that no start carried (its dependant was settled
            // without running) is written before anything else waits.
            self.record(Vec::new()).await?;
            if self.tasks.is_empty() {
                break;
            }
            let wait = deadline.map(|d| shutter_core::clock::until(self.shared.sink.now(), d));
            tokio::select! {
                joined = self.tasks.join_next_with_id() => {
                    let finished = match joined.expect("the set is not empty") {
                        Ok((task, finished)) => {
                            self.spawned.remove(&task);
                            finished
                        }
                        Err(err) => self.panicked(err).await?,
                    };
                    self.finished(finished).await?;
                }
                () = cancel.cancelled(), if !self.canceled => {
                    self.canceled = true;
                    self.work.cancel();
                }
                () = sleep_opt(wait), if !timed_out && wait.is_some() => {
                    timed_out = true;
                    let limit = self.shared.plan.workflow.timeout.map(shutter_core::units::format_duration).unwrap_or_default();
                    self.failing.get_or_insert_with(|| format!("the workflow timed out after {limit}"));
                    self.work.cancel();
                }
            }
        }
        if let Some(stuck) = self
            .nodes
            .iter()
            .find(|(_, node)| !matches!(node, Node::Done(_)))
        {
            return Err(StoreError::Fatal(format!(
                "step `{}` can never run: internal scheduling error",
                stuck.0
            ))
            .into());
        }
        let (state, outputs, error) = if let Some(error) = self.failing.clone() {
            compensate::run(&self.shared, &cancel).await?;
            (ExecutionState::Failed, None, Some(error))
        } else if self.canceled {
            (ExecutionState::Canceled, None, Some("canceled".to_owned()))
        } else {
            match self.outputs() {
                Ok(outputs) if self.tolerated.is_empty() => {
                    (ExecutionState::Succeeded, Some(outputs), None)
                }
                Ok(outputs) => (
                    ExecutionState::SucceededWithErrors,
                    Some(outputs),
                    Some(self.tolerated.join("; ")),
                ),
                Err(error) => (ExecutionState::Failed, None, Some(error)),
            }
        };
        let at = self.shared.sink.now();
        let queued = self.end_notices(state, error.as_deref(), at);
        let mut changes = vec![Change::ExecutionFinished {
            state,
            outputs,
            error,
            at,
        }];
        changes.extend(notices::changes(&queued));
        self.record(changes).await?;
        // Handed back only once every delivery has ended and is recorded.
        self.shared.notices.dispatch(queued);
        self.shared.notices.settle().await;
        self.shared.inner.stored_record(self.shared.id).await
    }

    /// Starts or settles every ready step.
    async fn dispatch(&mut self) -> Result<(), StoreError> {
        while let Some(id) = self.ready.pop_front() {
            // The plan's own step, not a copy: a fan launches thousands.
            let plan = self.shared.plan.clone();
            let step = &plan.workflow.steps[&id];
            if let Some((state, reason)) = self.blocked(step) {
                self.settle(&id, state, reason).await?;
                continue;
            }
            // The scope is built only for a step that evaluates something here.
            if let Some(condition) = &step.condition {
                let scope = self.shared.scope.with_item(None);
                match self.shared.inner.expr.eval(condition, &scope) {
                    Ok(value) if !truthy(&value) => {
                        self.settle(&id, StepState::Skipped, "its `if` was false".to_owned())
                            .await?;
                        continue;
                    }
                    Ok(_) => {}
                    Err(err) => {
                        self.settle(&id, StepState::Failed, format!("evaluating `if`: {err}"))
                            .await?;
                        continue;
                    }
                }
            }
            let parent = StepKey::step(id.as_str());
            let items = match &step.for_each {
                None => None,
                Some(template) => match self.records.get(&parent).and_then(|r| r.items.clone()) {
                    Some(items) => Some(items),
                    None => match self
                        .shared
                        .inner
                        .expr
                        .eval(template, &self.shared.scope.with_item(None))
                    {
                        Ok(Json::Array(items)) => {
                            let at = self.shared.sink.now();
                            self.record(vec![Change::StepExpanded {
                                key: parent.clone(),
                                items: items.clone(),
                                at,
                            }])
                            .await?;
                            Some(items)
                        }
                        Ok(other) => {
                            let message = format!("`for_each` gave {other} instead of a list");
                            self.settle(&id, StepState::Failed, message).await?;
                            continue;
                        }
                        Err(err) => {
                            self.settle(
                                &id,
                                StepState::Failed,
                                format!("evaluating `for_each`: {err}"),
                            )
                            .await?;
                            continue;
                        }
                    },
                },
            };
            let count = items.as_ref().map_or(1, Vec::len);
            let mut results: Vec<Option<Finished>> = (0..count).map(|_| None).collect();
            let mut queue = VecDeque::new();
            for (index, result) in results.iter_mut().enumerate() {
                let key = instance_key(&id, items.is_some(), index);
                match self.records.get(&key) {
                    Some(record) if record.state.is_terminal() && items.is_some() => {
                        *result = Some(Finished::new(
                            key,
                            record.state,
                            record.outputs.clone(),
                            record.error.clone(),
                        ));
                    }
                    _ => queue.push_back(index),
                }
            }
            if items.is_some() {
                // Only a lone instance carries a result (see `fill`).
                self.record(Vec::new()).await?;
            }
            self.nodes.insert(
                id.clone(),
                Node::Active {
                    queue,
                    running: 0,
                    results,
                    items,
                },
            );
            self.fill(&id, step);
            self.maybe_complete(&id).await?;
        }
        Ok(())
    }

    /// Why a ready step must not run, if it must not.
    fn blocked(&self, step: &Step) -> Option<(StepState, String)> {
        if step.finally {
            return None;
        }
        if self.canceled {
            return Some((StepState::Canceled, "the execution was canceled".to_owned()));
        }
        if let Some(reason) = &self.failing {
            return Some((StepState::Canceled, format!("not run: {reason}")));
        }
        for dep in &step.needs {
            match self.nodes.get(dep) {
                Some(Node::Done(StepState::Succeeded)) => {}
                // Its failure was allowed: what needs it goes on.
                Some(Node::Done(StepState::Failed)) if self.tolerates(dep) => {}
                Some(Node::Done(StepState::Skipped)) => {
                    return Some((
                        StepState::Skipped,
                        format!("it needs `{dep}`, which was skipped"),
                    ));
                }
                _ => {
                    return Some((
                        StepState::Canceled,
                        format!("it needs `{dep}`, which did not succeed"),
                    ));
                }
            }
        }
        None
    }

    /// Spawns queued instances of a step up to its concurrency.
    fn fill(&mut self, id: &StepId, step: &Step) {
        let limit = step.concurrency.map_or(usize::MAX, |c| c as usize);
        let Some(Node::Active {
            queue,
            running,
            items,
            ..
        }) = self.nodes.get_mut(id)
        else {
            return;
        };
        while *running < limit {
            let Some(index) = queue.pop_front() else {
                break;
            };
            let key = instance_key(id, items.is_some(), index);
            let record = self
                .records
                .remove(&key)
                .unwrap_or_else(|| StepRecord::new(key.clone()));
            let lone = items.is_none();
            let work = Work {
                key: key.clone(),
                call: step.call.clone(),
                retry: step.retry.clone(),
                timeout: step.timeout,
                limit: step.limit.clone(),
                item: items.as_ref().and_then(|items| items.get(index).cloned()),
                record,
                stage_result: lone && sole_reader(&self.shared.plan, id),
                carry: if lone {
                    std::mem::take(&mut self.carry)
                } else {
                    Vec::new()
                },
            };
            let cancel = if step.finally {
                CancellationToken::new()
            } else {
                self.work.child_token()
            };
            let task = self
                .tasks
                .spawn(run_instance(self.shared.clone(), work, cancel));
            self.spawned.insert(task.id(), key);
            *running += 1;
        }
    }

    /// A step's task ended without an answer (a bug in the executor's step
    /// code panicked): the step fails with the panic's message.
    async fn panicked(&mut self, err: tokio::task::JoinError) -> Result<Finished, StoreError> {
        let key = self
            .spawned
            .remove(&err.id())
            .ok_or_else(|| StoreError::Fatal(format!("an unknown step task ended: {err}")))?;
        let error = match err.try_into_panic() {
            Ok(panic) => format!("the step panicked: {}", panic_message(panic.as_ref())),
            Err(err) => format!("the step's task ended: {err}"),
        };
        let at = self.shared.sink.now();
        self.record(vec![Change::StepFailed {
            key: key.clone(),
            attempt: None,
            error: error.clone(),
            at,
        }])
        .await?;
        Ok(Finished::new(key, StepState::Failed, None, Some(error)))
    }

    async fn finished(&mut self, mut finished: Finished) -> Result<(), StoreError> {
        self.carry.append(&mut finished.unwritten);
        let id = StepId::parse(&finished.key.step).expect("instance keys come from step ids");
        if finished.state == StepState::Failed {
            let key = finished.key.to_string();
            let queued =
                self.step_failed_notices(&key, finished.error.as_deref().unwrap_or_default());
            if !queued.is_empty() {
                // With the step's result, which the carry holds.
                self.record(notices::changes(&queued)).await?;
                self.shared.notices.dispatch(queued);
            }
        }
        if finished.state == StepState::Failed && self.failing.is_none() && !self.tolerates(&id) {
            self.failing = Some(format!(
                "step `{}` failed: {}",
                finished.key,
                finished.error.clone().unwrap_or_default()
            ));
            self.work.cancel();
        }
        let plan = self.shared.plan.clone();
        let step = &plan.workflow.steps[&id];
        if let Some(Node::Active {
            running,
            results,
            queue,
            ..
        }) = self.nodes.get_mut(&id)
        {
            *running -= 1;
            let index = finished.key.item.unwrap_or(0);
            if self.work.is_cancelled() && !step.finally {
                // No new items once the execution is failing or canceled.
                for index in queue.drain(..) {
                    let key = instance_key(&id, finished.key.item.is_some(), index);
                    results[index] = Some(Finished::new(key, StepState::Canceled, None, None));
                }
            }
            results[index] = Some(finished);
        }
        self.fill(&id, step);
        self.maybe_complete(&id).await
    }

    /// Ends a step whose instances have all ended.
    async fn maybe_complete(&mut self, id: &StepId) -> Result<(), StoreError> {
        let Some(Node::Active {
            running: 0,
            queue,
            results,
            items,
        }) = self.nodes.get(id)
        else {
            return Ok(());
        };
        if !queue.is_empty() || results.iter().any(Option::is_none) {
            return Ok(());
        }
        if items.is_none() {
            // A single instance recorded its own end.
            let result = results[0].as_ref().expect("checked above");
            let (state, outputs, error) =
                (result.state, result.outputs.clone(), result.error.clone());
            // Its own failure already stopped the execution (`finished`),
            // unless it may fail.
            if state == StepState::Failed && self.tolerates(id) {
                let why = format!(
                    "step `{id}` failed: {}",
                    error.as_deref().unwrap_or_default()
                );
                self.step_failed(id, why);
            }
            self.done(id, state, outputs.as_ref(), error.as_deref());
            return Ok(());
        }
        let results: Vec<&Finished> = results
            .iter()
            .map(|r| r.as_ref().expect("checked above"))
            .collect();
        let parent = StepKey::step(id.as_str());
        let at = self.shared.sink.now();
        let (state, outputs, change) =
            if let Some(failed) = results.iter().find(|r| r.state == StepState::Failed) {
                // Of several failed items, the first says why.
                let error = format!(
                    "item {} failed: {}",
                    failed.key.item.unwrap_or(0),
                    failed.error.clone().unwrap_or_default()
                );
                (
                    StepState::Failed,
                    None,
                    Change::StepFailed {
                        key: parent,
                        attempt: None,
                        error,
                        at,
                    },
                )
            } else if results.iter().any(|r| r.state == StepState::Canceled) {
                (
                    StepState::Canceled,
                    None,
                    Change::StepCanceled {
                        key: parent,
                        reason: "items were canceled".to_owned(),
                        at,
                    },
                )
            } else {
                let outputs = Json::Array(
                    results
                        .iter()
                        .map(|r| r.outputs.clone().unwrap_or(Json::Null))
                        .collect(),
                );
                let outputs = serde_json::json!({ "items": outputs });
                (
                    StepState::Succeeded,
                    Some(outputs.clone()),
                    Change::StepSucceeded {
                        key: parent,
                        attempt: 0,
                        outputs,
                        at,
                    },
                )
            };
        let error = match &change {
            Change::StepFailed { error, .. } => Some(error.clone()),
            _ => None,
        };
        self.record(vec![change]).await?;
        if state == StepState::Failed {
            let why = if self.tolerates(id) {
                format!(
                    "step `{id}` failed: {}",
                    error.as_deref().unwrap_or_default()
                )
            } else {
                format!("step `{id}` failed")
            };
            self.step_failed(id, why);
        }
        self.done(id, state, outputs.as_ref(), error.as_deref());
        Ok(())
    }

    /// Records a step that ends without running.
    async fn settle(
        &mut self,
        id: &StepId,
        state: StepState,
        reason: String,
    ) -> Result<(), StoreError> {
        let key = StepKey::step(id.as_str());
        let at = self.shared.sink.now();
        let error = (state == StepState::Failed).then(|| reason.clone());
        let mut queued = Vec::new();
        let change = match state {
            StepState::Skipped => Change::StepSkipped { key, reason, at },
            StepState::Failed => {
                queued = self.step_failed_notices(id.as_str(), &reason);
                self.step_failed(id, format!("step `{id}` failed: {reason}"));
                Change::StepFailed {
                    key,
                    attempt: None,
                    error: reason,
                    at,
                }
            }
            _ => Change::StepCanceled { key, reason, at },
        };
        let mut changes = vec![change];
        changes.extend(notices::changes(&queued));
        self.record(changes).await?;
        self.shared.notices.dispatch(queued);
        self.done(id, state, None, error.as_deref());
        Ok(())
    }

    /// Writes `changes` after the result the scheduler carries, if any.
    async fn record(&mut self, changes: Vec<Change>) -> Result<(), StoreError> {
        let mut all = std::mem::take(&mut self.carry);
        all.extend(changes);
        if all.is_empty() {
            return Ok(());
        }
        self.shared.sink.record(all).await
    }

    /// Step `id` failed for `why`: noted when it may fail (`on_error:
    /// continue`), else the execution fails (the first reason kept) and no
    /// new work starts.
    fn step_failed(&mut self, id: &StepId, why: String) {
        if self.tolerates(id) {
            self.tolerated.push(why);
        } else if self.failing.is_none() {
            self.failing = Some(why);
            self.work.cancel();
        }
    }

    /// The deliveries that a step (or an item of one, `copy[2]`) failing
    /// after its last try, or not starting, calls for.
    fn step_failed_notices(&self, key: &str, error: &str) -> Vec<QueuedNotice> {
        let notices = &self.shared.notices;
        let now = notices.execution("running", None, None, None);
        notices.queue(NotifyEvent::StepFailed, now, Some((key, error)))
    }

    /// The deliveries the execution's end calls for.
    fn end_notices(
        &self,
        state: ExecutionState,
        error: Option<&str>,
        at: shutter_core::record::Timestamp,
    ) -> Vec<QueuedNotice> {
        let event = match state {
            ExecutionState::Succeeded => NotifyEvent::Succeeded,
            ExecutionState::SucceededWithErrors => NotifyEvent::SucceededWithErrors,
            ExecutionState::Failed => NotifyEvent::Failed,
            ExecutionState::Canceled => NotifyEvent::Canceled,
            _ => return Vec::new(),
        };
        let notices = &self.shared.notices;
        let now = notices.execution(state.as_str(), error, None, Some(at.to_rfc3339()));
        notices.queue(event, now, None)
    }

    /// Whether a failure of step `id` lets the execution go on
    /// (`on_error: continue`).
    fn tolerates(&self, id: &StepId) -> bool {
        self.shared.plan.workflow.steps[id].on_error == OnError::Continue
    }

    /// Marks a step ended and readies what waited only for it.
    fn done(&mut self, id: &StepId, state: StepState, outputs: Option<&Json>, error: Option<&str>) {
        self.shared
            .scope
            .steps
            .set(id.as_str(), state, outputs, error);
        self.nodes.insert(id.clone(), Node::Done(state));
        let plan = self.shared.plan.clone();
        for next_id in plan.dependants(id) {
            if let Some(Node::Waiting(count)) = self.nodes.get_mut(next_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.ready.push_back(next_id.clone());
                }
            }
        }
    }

    fn outputs(&self) -> Result<Json, String> {
        let scope = self.shared.scope.with_item(None);
        let mut outputs = serde_json::Map::new();
        for (name, template) in &self.shared.plan.workflow.outputs {
            let value = self
                .shared
                .inner
                .expr
                .eval(template, &scope)
                .map_err(|err| format!("evaluating output `{name}`: {err}"))?;
            outputs.insert(name.clone(), value);
        }
        Ok(Json::Object(outputs))
    }
}

/// Whether `id`'s result may wait to be written with the next step's start:
/// exactly one step needs it and needs nothing else, so that step is ready
/// the moment this one ends, and the scheduler hands it the result at once
/// (or writes it with the change that settles that step without running).
/// Every other result is written before the scheduler hears of it, since
/// several steps may start from it, or none for a while.
fn sole_reader(plan: &Plan, id: &StepId) -> bool {
    let mut dependants = plan.dependants(id);
    match (dependants.next(), dependants.next()) {
        (Some(next), None) => plan.workflow.steps[next].needs.len() == 1,
        _ => false,
    }
}

fn instance_key(id: &StepId, for_each: bool, index: usize) -> StepKey {
    if for_each {
        StepKey::item(id.as_str(), index)
    } else {
        StepKey::step(id.as_str())
    }
}

/// JSON truthiness for `if`: false, null, 0, "", [] and {} are false.
pub(crate) fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

async fn sleep_opt(wait: Option<std::time::Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}
