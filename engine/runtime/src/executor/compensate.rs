//! Compensation: when an execution fails, the `compensate` actions of the
//! steps that succeeded run, most recent success first. A compensation that
//! fails is recorded and the others still run. Each try is bounded by the
//! step's `timeout` (else [`DEFAULT_TIMEOUT`]); a cancel of the execution
//! stops the one running and the rest are recorded as not run. Resumable: a
//! compensated step is not compensated twice.

use std::sync::Arc;
use std::time::Duration;

use shutter_dsl::model::ActionCall;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::instance::{resolve, run_once};
use super::retry::backoff;
use shutter_core::action::{ActionContext, ActionError, ChangeSink, ContextParts};
use shutter_core::ids::StepKey;
use shutter_core::record::Change;
use shutter_core::state::StepState;
use shutter_core::store::StoreError;

/// How long one try of a compensation may take when its step sets no `timeout`.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub(crate) async fn run(
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
) -> Result<(), StoreError> {
    let snapshot = shared
        .inner
        .store
        .snapshot(shared.id)
        .await?
        .ok_or(StoreError::NotFound(shared.id))?;
    let mut done: Vec<_> = snapshot
        .steps
        .iter()
        .filter(|r| r.state == StepState::Succeeded && r.compensation_error.is_none())
        .filter_map(|r| {
            let step = shared
                .plan
                .workflow
                .steps
                .iter()
                .find(|(id, _)| id.as_str() == r.key.step)?
                .1;
            // A for_each step is undone item by item, not as a whole.
            let is_parent = step.for_each.is_some() && r.key.item.is_none();
            let call = step.compensate.clone().filter(|_| !is_parent)?;
            let item = r.key.item.and_then(|i| {
                snapshot
                    .steps
                    .iter()
                    .find(|p| p.key == StepKey::step(&r.key.step))
                    .and_then(|p| p.items.as_ref()?.get(i).cloned())
            });
            Some((
                r.succeeded_seq.unwrap_or(0),
                r.key.clone(),
                call,
                item,
                step.retry.clone(),
                step.timeout.unwrap_or(DEFAULT_TIMEOUT),
            ))
        })
        .collect();
    done.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    for (_, key, call, item, retry, timeout) in done {
        let outcome = if cancel.is_cancelled() {
            Err("not run: the execution was canceled".to_owned())
        } else {
            let bounds = Bounds {
                retry: &retry,
                timeout,
                cancel,
            };
            compensate_one(shared, &key, &call, item.as_ref(), &bounds).await
        };
        let at = shared.sink.now();
        let change = match outcome {
            Ok(()) => Change::StepCompensated { key, at },
            Err(error) => Change::CompensationFailed { key, error, at },
        };
        shared.sink.record(vec![change]).await?;
    }
    Ok(())
}

/// What bounds one compensation.
struct Bounds<'a> {
    retry: &'a shutter_dsl::model::RetryPolicy,
    timeout: Duration,
    cancel: &'a CancellationToken,
}

async fn compensate_one(
    shared: &Arc<Shared>,
    key: &StepKey,
    call: &ActionCall,
    item: Option<&serde_json::Value>,
    bounds: &Bounds<'_>,
) -> Result<(), String> {
    let action = resolve(&shared.inner.actions, call)?;
    let scope = shared.scope.with_item(item);
    let mut params = serde_json::Map::new();
    for (name, template) in &call.with {
        let value = shared
            .inner
            .expr
            .eval(template, &scope)
            .map_err(|e| e.to_string())?;
        params.insert(name.clone(), value);
    }
    let mut tries = 0;
    loop {
        tries += 1;
        // Its own idempotency key, so an undo that is retried or resumed
        // is applied once.
        let ctx = ActionContext::new(ContextParts {
            params: serde_json::Value::Object(params.clone()),
            idempotency_key: format!("{}:compensate", ActionContext::key_for(shared.id, key)),
            execution: shared.id,
            step: key.clone(),
            attempt: tries,
            cancel: bounds.cancel.child_token(),
            secrets: super::instance::granted_secrets(shared, call),
            timeout: Some(bounds.timeout),
            base_dir: shared.base_dir.clone(),
            files: shared.files.clone(),
            timer: None,
            sink: shared.sink.clone(),
        });
        let result = run_once(action.as_ref(), &ctx, Some(bounds.timeout), bounds.cancel).await;
        let pending = ctx.take_pending();
        if !pending.is_empty() {
            shared
                .sink
                .record(pending)
                .await
                .map_err(|e| e.to_string())?;
        }
        match result {
            Ok(_) => return Ok(()),
            Err(error) if error.is_retryable() && tries < bounds.retry.attempts => {
                tracing::info!(
                    "compensation of {key} failed ({}); trying again",
                    shared.secrets.redact(&error.report())
                );
                let wait = backoff(bounds.retry, tries, &mut rand::rng());
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = bounds.cancel.cancelled() => return Err("canceled while waiting to try again".to_owned()),
                }
            }
            Err(ActionError::Canceled) => return Err("canceled while running".to_owned()),
            Err(err) => return Err(err.report()),
        }
    }
}
