//! Running one step instance: its tries, with retry, timeout, durable
//! waits and cancellation. Every change is recorded before it is acted on.

use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::action::{Action, ActionContext, ActionError, ChangeSink, ContextParts};
use shutter_core::clock::{after, until};
use shutter_core::ids::StepKey;
use shutter_core::record::{Change, StepRecord};
use shutter_core::secrets::Secrets;
use shutter_core::state::StepState;
use shutter_core::store::StoreError;
use shutter_dsl::model::{ActionCall, ActionRef, RetryPolicy};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::retry::backoff;
use super::sink::{Redacting, redact};
use super::start::StartFirst;

/// How an instance ended, for the scheduler.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) key: StepKey,
    pub(crate) state: StepState,
    pub(crate) outputs: Option<Json>,
    pub(crate) error: Option<String>,
    /// The step's result, not yet recorded: the scheduler writes it with
    /// the start of the one step that needs it (see [`Work::carry`]).
    pub(crate) unwritten: Vec<Change>,
}

impl Finished {
    pub(crate) fn new(
        key: StepKey,
        state: StepState,
        outputs: Option<Json>,
        error: Option<String>,
    ) -> Self {
        Self {
            key,
            state,
            outputs,
            error,
            unwritten: Vec::new(),
        }
    }

    fn failed(key: StepKey, error: String) -> Self {
        Self::new(key, StepState::Failed, None, Some(error))
    }
}

/// What to run and how, for one instance.
#[derive(Debug)]
pub(crate) struct Work {
    pub(crate) key: StepKey,
    pub(crate) call: ActionCall,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<std::time::Duration>,
    /// The step's `limit:`, if any.
    pub(crate) limit: Option<Box<shutter_dsl::template::Template>>,
    pub(crate) item: Option<Json>,
    pub(crate) record: StepRecord,
    /// Leave the result for the scheduler to write (exactly one step needs
    /// this one, and only it: see `Run::fill`).
    pub(crate) stage_result: bool,
    /// A result the scheduler hands over, written in the same commit as
    /// this instance's first change (its start, in the common case): the
    /// one commit a step of a chain costs. It is durable before this
    /// instance's action runs, since that waits for the start's commit.
    pub(crate) carry: Vec<Change>,
}

pub(crate) async fn run_instance(
    shared: Arc<Shared>,
    mut work: Work,
    cancel: CancellationToken,
) -> Finished {
    let key = work.key.clone();
    let mut carry = std::mem::take(&mut work.carry);
    match tries(&shared, work, &mut carry, &cancel).await {
        Ok(finished) => finished,
        Err(err) => {
            // The store failed: say so in the record if it still can be
            // written, after the result this instance carried.
            let error = format!("recording the step failed: {err}");
            carry.push(Change::StepFailed {
                key: key.clone(),
                attempt: None,
                error: error.clone(),
                at: shared.sink.now(),
            });
            let _ = shared.sink.record(carry).await;
            Finished::failed(key, error)
        }
    }
}

/// The action a call runs, or why there is none.
pub(crate) fn resolve(
    actions: &shutter_core::ActionRegistry,
    call: &ActionCall,
) -> Result<Arc<dyn Action>, String> {
    match &call.action {
        ActionRef::Wasm(module) => actions
            .module(module)
            .ok_or_else(|| "WebAssembly steps are not available in this build".to_owned()),
        ActionRef::Builtin(name) => actions
            .get(name)
            .ok_or_else(|| format!("action `{name}` has no implementation in this build")),
    }
}

/// Every try of one instance until it succeeds, fails for good or is
/// canceled: resume where a stopped engine left it, then try, settle, and
/// wait before the next try.
async fn tries(
    shared: &Arc<Shared>,
    work: Work,
    carry: &mut Vec<Change>,
    cancel: &CancellationToken,
) -> Result<Finished, StoreError> {
    let Work {
        key,
        call,
        retry,
        timeout,
        limit,
        item,
        record,
        stage_result,
        carry: _,
    } = work;
    let action = match resolve(&shared.inner.actions, &call) {
        Ok(action) => action,
        Err(error) => return fail(shared, carry, key, None, error).await,
    };
    let slot = match limit.map(|limit| super::limit::request(shared, &limit, item.as_ref(), &key)) {
        None => None,
        Some(Ok(request)) => Some(request),
        Some(Err(error)) => return fail(shared, carry, key, None, error).await,
    };
    if slot.is_some() || record.state != StepState::Pending {
        // Waits may come before this instance's start: the carried result
        // does not wait with it.
        write_carry(shared, carry).await?;
    }
    let Some((mut attempt, mut counted)) = resume(shared, &key, &record, cancel).await? else {
        return canceled(shared, carry, key, "canceled while waiting to retry").await;
    };
    let instance = Instance {
        key: &key,
        call: &call,
        item: item.as_ref(),
        timeout,
        timer: record.timer,
    };
    loop {
        attempt += 1;
        if let Some(request) = &slot
            && !super::limit::take(shared, request, cancel).await?
        {
            let reason = format!("canceled while waiting for a slot of `{}`", request.pool);
            return canceled(shared, carry, key, &reason).await;
        }
        let free = (!cancel.is_cancelled())
            .then(|| shared.inner.permits.clone().try_acquire_owned().ok())
            .flatten();
        let permit = if let Some(permit) = free {
            Some(Some(permit))
        } else {
            // No free slot, or canceled: the carried result does not wait.
            write_carry(shared, carry).await?;
            tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                permit = shared.inner.permits.clone().acquire_owned() => Some(permit.ok()),
            }
        };
        let Some(permit) = permit else {
            if let Some(request) = &slot {
                super::limit::give_back(shared, request).await;
            }
            return canceled(shared, carry, key, "canceled before it started").await;
        };
        let start = Change::AttemptStarted {
            key: key.clone(),
            attempt,
            at: shared.sink.now(),
        };
        // A start that carries a result is committed before the action
        // runs: the result is durable before anything acts on it. Another
        // may be sent and not waited for (`StoreSink::send_start`): the
        // try then writes everything after it, or with it (`StartFirst`).
        let sent = carry
            .is_empty()
            .then(|| shared.sink.send_start(&start))
            .flatten();
        if sent.is_none() {
            shared.sink.record(with_carry(carry, start)).await?;
            carry.clear();
        }
        let first = Arc::new(StartFirst::new(shared.sink.clone(), sent));
        let tried = try_once(shared, &first, action.as_ref(), &instance, attempt, cancel).await;
        drop(permit);
        if let Some(request) = &slot {
            // Free while the step waits to retry, or once it has ended.
            super::limit::give_back(shared, request).await;
        }
        counted += 1;
        let settled = match tried {
            Ok(tried) => settle(shared, &key, attempt, counted, &retry, stage_result, tried).await,
            Err(error) => Ok(Next::Fail(error)),
        };
        // The start, if nothing written since carried it, goes first.
        let unsettled = first.settle().await;
        carry.extend(unsettled?);
        match settled? {
            Next::Finished(mut finished) => {
                // A start left (its result staged for the scheduler) goes
                // ahead of that result.
                carry.append(&mut finished.unwritten);
                finished.unwritten = std::mem::take(carry);
                return Ok(finished);
            }
            Next::Fail(error) => return fail(shared, carry, key, Some(attempt), error).await,
            Next::Canceled => return canceled(shared, carry, key, "canceled while running").await,
            Next::RetryAt(next_at) => {
                if wait_until(shared, next_at, cancel).await.is_err() {
                    return canceled(shared, carry, key, "canceled while waiting to retry").await;
                }
            }
        }
    }
}

/// The carried result ahead of `change`, for one append.
fn with_carry(carry: &[Change], change: Change) -> Vec<Change> {
    let mut changes = Vec::with_capacity(carry.len() + 1);
    changes.extend_from_slice(carry);
    changes.push(change);
    changes
}

/// Writes the carried result on its own, when this instance's start is
/// not next.
async fn write_carry(shared: &Shared, carry: &mut Vec<Change>) -> Result<(), StoreError> {
    if !carry.is_empty() {
        shared.sink.record(carry.clone()).await?;
        carry.clear();
    }
    Ok(())
}

/// What does not change from one try of an instance to the next.
struct Instance<'a> {
    key: &'a StepKey,
    call: &'a ActionCall,
    item: Option<&'a Json>,
    timeout: Option<std::time::Duration>,
    /// The step's durable timer, when one was set before a restart.
    timer: Option<shutter_core::record::Timestamp>,
}

/// Picks up where an engine that stopped left the instance: closes a try
/// it cut short (which does not count against `retry`) and waits out a
/// retry it was waiting for. The tries made and counted so far; none when
/// canceled while waiting.
async fn resume(
    shared: &Shared,
    key: &StepKey,
    record: &StepRecord,
    cancel: &CancellationToken,
) -> Result<Option<(u32, u32)>, StoreError> {
    let attempt = u32::try_from(record.attempts.len()).unwrap_or(u32::MAX);
    let mut counted = record.counted_attempts();
    if record.state == StepState::Running
        && let Some(last) = record.attempts.last().filter(|a| a.finished_at.is_none())
    {
        shared
            .sink
            .record(vec![Change::AttemptInterrupted {
                key: key.clone(),
                attempt: last.number,
                at: shared.sink.now(),
            }])
            .await?;
        counted = counted.saturating_sub(1);
    }
    if record.state == StepState::Retrying
        && let Some(next_at) = record.next_attempt_at
        && wait_until(shared, next_at, cancel).await.is_err()
    {
        return Ok(None);
    }
    Ok(Some((attempt, counted)))
}

/// One try's result and what it left to record.
struct Tried {
    result: Result<Json, Failure>,
    /// The try's log lines and progress, recorded with its outcome.
    changes: Vec<Change>,
    /// What the step's sensitive parameters resolved to, hidden everywhere.
    hidden: Secrets,
    sink: Arc<dyn ChangeSink>,
}

/// One try: evaluates the parameters, builds the context, runs the action.
/// An error is a parameter that could not be evaluated.
async fn try_once(
    shared: &Shared,
    first: &Arc<StartFirst>,
    action: &dyn Action,
    instance: &Instance<'_>,
    attempt: u32,
    cancel: &CancellationToken,
) -> Result<Tried, String> {
    let params = if instance.call.with.is_empty() {
        // No scope to build (seven allocations) for nothing to evaluate.
        serde_json::Map::new()
    } else {
        let scope = shared.scope.with_item(instance.item);
        instance
            .call
            .with
            .iter()
            .map(|(name, template)| Ok((name.clone(), shared.inner.expr.eval(template, &scope)?)))
            .collect::<Result<serde_json::Map<_, _>, shutter_dsl::EvalError>>()
            .map_err(|err| err.to_string())?
    };
    let params = Json::Object(params);
    // What a sensitive parameter resolved to (`Bearer <token>`) is hidden
    // like a secret in everything this try records.
    let hidden = sensitive_values(shared, instance.call, &params);
    let shown = shown_params(shared, &hidden, &params).map(|params| Change::AttemptParams {
        key: instance.key.clone(),
        attempt,
        params,
        at: shared.sink.now(),
    });
    let sink: Arc<dyn ChangeSink> = if hidden.is_empty() {
        first.clone()
    } else {
        Arc::new(Redacting::new(first.clone(), hidden.clone()))
    };
    let ctx = ActionContext::new(ContextParts {
        params,
        idempotency_key: ActionContext::key_for(shared.id, instance.key),
        execution: shared.id,
        step: instance.key.clone(),
        attempt,
        cancel: cancel.child_token(),
        secrets: granted_secrets(shared, instance.call),
        timeout: instance.timeout,
        base_dir: shared.base_dir.clone(),
        files: shared.files.clone(),
        timer: instance.timer,
        sink: sink.clone(),
    });
    let result = run_once(action, &ctx, instance.timeout, cancel).await;
    // Recorded as reported: the message and its causes, with what the
    // sensitive parameters resolved to hidden (the sink hides secrets).
    let result = result.map_err(|err| match err {
        ActionError::Canceled => Failure::Canceled,
        err => Failure::Error {
            retryable: err.is_retryable(),
            report: hidden.redact(&err.report()),
        },
    });
    let mut changes = ctx.take_pending();
    if let Some(shown) = shown {
        changes.insert(0, shown);
    }
    Ok(Tried {
        result,
        changes,
        hidden,
        sink,
    })
}

/// What comes after a try.
enum Next {
    Finished(Finished),
    Fail(String),
    Canceled,
    RetryAt(shutter_core::record::Timestamp),
}

/// Records how a try ended and decides what comes next: success, another
/// try (a retryable failure with tries left), or the end of the step.
async fn settle(
    shared: &Shared,
    key: &StepKey,
    attempt: u32,
    counted: u32,
    retry: &RetryPolicy,
    stage_result: bool,
    tried: Tried,
) -> Result<Next, StoreError> {
    let Tried {
        result,
        mut changes,
        hidden,
        sink,
    } = tried;
    let now = sink.now();
    let next = match result {
        Ok(outputs) => match check_outputs(outputs, shared.inner.config.max_output_bytes) {
            Ok(outputs) => {
                let outputs = shared.secrets.redact_json(&hidden.redact_json(&outputs));
                changes.push(Change::StepSucceeded {
                    key: key.clone(),
                    attempt,
                    outputs: outputs.clone(),
                    at: now,
                });
                let mut finished =
                    Finished::new(key.clone(), StepState::Succeeded, Some(outputs), None);
                if stage_result {
                    // Hidden as `sink` would hide them; the execution's
                    // secrets are hidden when the scheduler writes them.
                    finished.unwritten = std::mem::take(&mut changes)
                        .into_iter()
                        .map(|change| redact(&hidden, change))
                        .collect();
                }
                Next::Finished(finished)
            }
            Err(error) => Next::Fail(error),
        },
        Err(Failure::Error {
            retryable: true,
            report: error,
        }) if counted < retry.attempts => {
            let next_at = after(now, backoff(retry, counted, &mut rand::rng()));
            changes.push(Change::AttemptRetrying {
                key: key.clone(),
                attempt,
                error,
                next_at,
                at: now,
            });
            Next::RetryAt(next_at)
        }
        Err(Failure::Error { report: error, .. }) if counted > 1 => {
            Next::Fail(format!("{error} (after {counted} tries)"))
        }
        Err(Failure::Error { report: error, .. }) => Next::Fail(error),
        Err(Failure::Canceled) => Next::Canceled,
    };
    if !changes.is_empty() {
        sink.record(changes).await?;
    }
    Ok(next)
}

/// How a try ended, as the scheduler records it.
enum Failure {
    Error { retryable: bool, report: String },
    Canceled,
}

/// One try, bounded by the step's timeout and its cancellation.
pub(crate) async fn run_once(
    action: &dyn Action,
    ctx: &ActionContext,
    timeout: Option<std::time::Duration>,
    cancel: &CancellationToken,
) -> Result<Json, ActionError> {
    let run = async {
        match timeout {
            Some(limit) => tokio::time::timeout(limit, guarded(action, ctx))
                .await
                .unwrap_or_else(|_| {
                    Err(ActionError::retryable(format!(
                        "timed out after {}",
                        shutter_core::units::format_duration(limit)
                    )))
                }),
            None => guarded(action, ctx).await,
        }
    };
    tokio::select! {
        result = run => result,
        () = cancel.cancelled() => Err(ActionError::Canceled),
    }
}

/// An action's try, with a panic turned into a failure of the step: a
/// bug in one action must not leave the execution running forever.
async fn guarded(action: &dyn Action, ctx: &ActionContext) -> Result<Json, ActionError> {
    use futures_util::FutureExt as _;
    std::panic::AssertUnwindSafe(action.run(ctx))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            Err(ActionError::fatal(format!(
                "the action panicked: {}",
                panic_message(panic.as_ref())
            )))
        })
}

/// What a panic said, when it said it as text.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// Outputs are a JSON object (null counts as empty) of bounded size.
fn check_outputs(outputs: Json, limit: usize) -> Result<Json, String> {
    let outputs = match outputs {
        Json::Null => Json::Object(serde_json::Map::new()),
        Json::Object(_) => outputs,
        other => {
            return Err(format!(
                "the action returned {} instead of an object of outputs",
                kind(&other)
            ));
        }
    };
    let size = serde_json::to_vec(&outputs).map_or(usize::MAX, |bytes| bytes.len());
    if size > limit {
        return Err(format!(
            "outputs are {size} bytes, more than the limit of {limit}"
        ));
    }
    Ok(outputs)
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Array(_) => "a list",
        Json::String(_) => "a string",
        Json::Number(_) => "a number",
        Json::Bool(_) => "a boolean",
        _ => "something else",
    }
}

/// The text a step's sensitive parameters resolved to, as secrets to hide.
/// Most bytes of one parameter's value kept in the record; a longer one
/// (a document, a body) is kept as its size only.
const KEPT_PARAM_BYTES: usize = 4096;

/// What a try's parameters resolved to, as the record keeps them: the
/// execution's secrets and the sensitive parameters' values hidden, a
/// value longer than [`KEPT_PARAM_BYTES`] replaced by its size; `None`
/// for a step without parameters.
fn shown_params(shared: &Shared, hidden: &Secrets, params: &Json) -> Option<Json> {
    let Json::Object(map) = params else {
        return None;
    };
    if map.is_empty() {
        return None;
    }
    let shown = shared.secrets.redact_json(&hidden.redact_json(params));
    let Json::Object(shown) = shown else {
        return Some(shown);
    };
    Some(Json::Object(
        shown
            .into_iter()
            .map(|(name, value)| {
                let size = serde_json::to_string(&value).map_or(0, |text| text.len());
                if size > KEPT_PARAM_BYTES {
                    (name, Json::String(format!("[{size} bytes, not kept]")))
                } else {
                    (name, value)
                }
            })
            .collect(),
    ))
}

fn sensitive_values(shared: &Shared, call: &ActionCall, params: &Json) -> Secrets {
    let ActionRef::Builtin(name) = &call.action else {
        return Secrets::default();
    };
    let Some(spec) = shared.inner.catalog.get(name) else {
        return Secrets::default();
    };
    let mut texts = Vec::new();
    for param in spec.params.iter().filter(|param| param.sensitive) {
        if let Some(value) = params.get(&param.name) {
            collect_texts(value, &mut texts);
        }
    }
    Secrets::new(
        texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| (format!("sensitive{i}"), text))
            .collect(),
    )
}

/// Every string inside a JSON value (not the keys: header names).
fn collect_texts(value: &Json, texts: &mut Vec<String>) {
    match value {
        Json::String(text) if !text.is_empty() => texts.push(text.clone()),
        Json::Array(items) => items.iter().for_each(|item| collect_texts(item, texts)),
        Json::Object(map) => map.values().for_each(|item| collect_texts(item, texts)),
        _ => {}
    }
}

/// What a step may read by name: a WebAssembly module only the secrets its
/// `allow.secrets` lists (it is untrusted code); a built-in action (part of
/// Shutter) the workflow's declared secrets, which its parameters name
/// (`password_secret: vro_password`).
pub(super) fn granted_secrets(
    shared: &Shared,
    call: &ActionCall,
) -> shutter_core::secrets::Secrets {
    match &call.action {
        ActionRef::Wasm(module) => shared.secrets.only(&module.allow_secrets),
        ActionRef::Builtin(_) => shared.secrets.clone(),
    }
}

async fn wait_until(
    shared: &Shared,
    at: shutter_core::record::Timestamp,
    cancel: &CancellationToken,
) -> Result<(), ()> {
    let wait = until(shared.sink.now(), at);
    tokio::select! {
        () = tokio::time::sleep(wait) => Ok(()),
        () = cancel.cancelled() => Err(()),
    }
}

async fn fail(
    shared: &Shared,
    carry: &mut Vec<Change>,
    key: StepKey,
    attempt: Option<u32>,
    error: String,
) -> Result<Finished, StoreError> {
    let failed = Change::StepFailed {
        key: key.clone(),
        attempt,
        error: error.clone(),
        at: shared.sink.now(),
    };
    shared.sink.record(with_carry(carry, failed)).await?;
    carry.clear();
    Ok(Finished::failed(key, shared.secrets.redact(&error)))
}

async fn canceled(
    shared: &Shared,
    carry: &mut Vec<Change>,
    key: StepKey,
    reason: &str,
) -> Result<Finished, StoreError> {
    let canceled = Change::StepCanceled {
        key: key.clone(),
        reason: reason.to_owned(),
        at: shared.sink.now(),
    };
    shared.sink.record(with_carry(carry, canceled)).await?;
    carry.clear();
    Ok(Finished::new(
        key,
        StepState::Canceled,
        None,
        Some(reason.to_owned()),
    ))
}
