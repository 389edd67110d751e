//! Workflow `concurrency: {key, policy}`: executions with the same key
//! (the same VM, say) never run at once, across every engine sharing the
//! store. The key is computed from the inputs when an execution is
//! created; the store keeps each key's line (and refuses a `skip` start
//! while the key is held). An execution that is not first in its line
//! waits, still `queued`, before its first step (`turn.rs`: woken when a
//! keyed execution ends here or, announced by the store, on another node).

use serde_json::{Map, Value as Json};
use shutter_core::{ConcurrencyKey, ExecutionId, StoreError};
use shutter_dsl::model::ConcurrencyPolicy;
use shutter_dsl::{ExprEngine, Plan};
use tokio_util::sync::CancellationToken;

use crate::engine::Inner;

/// The concurrency key of an execution of `plan` with (resolved) `inputs`:
/// the workflow's name, `/`, and what its `concurrency.key` gives.
pub(crate) fn key_of(
    plan: &Plan,
    inputs: &Map<String, Json>,
    expr: &ExprEngine,
) -> Result<Option<ConcurrencyKey>, String> {
    let Some(concurrency) = &plan.workflow.concurrency else {
        return Ok(None);
    };
    let scope = minijinja::Value::from_serialize(serde_json::json!({
        "inputs": inputs,
        "execution": {"workflow": plan.workflow.name.as_str()},
    }));
    let value = expr
        .eval(&concurrency.key, &scope)
        .map_err(|err| format!("concurrency key: {err}"))?;
    let key = match value {
        Json::String(text) => text,
        other => other.to_string(),
    };
    Ok(Some(ConcurrencyKey {
        key: format!("{}/{key}", plan.workflow.name),
        skip: concurrency.policy == ConcurrencyPolicy::Skip,
    }))
}

/// Waits until `id` is first in its key's line, or `cancel` (then it runs
/// canceled: only its `finally` steps).
pub(crate) async fn wait_for_key(
    inner: &Inner,
    id: ExecutionId,
    cancel: &CancellationToken,
) -> Result<(), StoreError> {
    let what = format!("execution {id}: asking for its concurrency key");
    crate::turn::wait_for_turn(
        inner,
        &what,
        cancel,
        || inner.store.holds_key(id),
        || std::future::ready(Ok(())),
    )
    .await?;
    Ok(())
}
