//! A step's `limit:`: before each try it waits for a slot of its pool,
//! recorded as `waiting` with the pool's name, and gives the slot back
//! once the try ends (a step waiting to retry holds none). The store keeps
//! the slots, so a pool's size holds across every node sharing it; how a
//! waiting step is woken is `turn.rs`'s.

use shutter_core::StepKey;
use shutter_core::action::ChangeSink;
use shutter_core::limits::{LIMITS_SECTION, LimitPools, SlotRequest};
use shutter_core::record::Change;
use shutter_core::store::StoreError;
use shutter_dsl::template::Template;
use tokio_util::sync::CancellationToken;

use super::Shared;

/// The slot a step's tries wait for, from its `limit:` evaluated with its
/// item and the config file's `limits:`; an error says why there is none.
pub(super) fn request(
    shared: &Shared,
    limit: &Template,
    item: Option<&serde_json::Value>,
    step: &StepKey,
) -> Result<SlotRequest, String> {
    let scope = shared.scope.with_item(item);
    let pool = match shared.inner.expr.eval(limit, &scope) {
        Ok(serde_json::Value::String(pool)) if !pool.trim().is_empty() => pool,
        Ok(other) => return Err(format!("`limit` gave {other} instead of a pool's name")),
        Err(err) => return Err(format!("evaluating `limit`: {err}")),
    };
    let file = shared
        .inner
        .config
        .config
        .load()
        .map_err(|err| format!("limit pool `{pool}`: {err}"))?;
    let pools = match &file {
        Some(file) => file
            .section::<LimitPools>(LIMITS_SECTION)
            .map_err(|err| err.to_string())?,
        None => None,
    };
    let Some(pools) = pools else {
        let example = format!("`limits: {{{pool}: 4}}`");
        return Err(match &file {
            Some(file) => format!(
                "limit pool `{pool}` is not configured: {} has no `limits:` section (e.g. {example})",
                file.path().display()
            ),
            None => format!(
                "limit pool `{pool}` is not configured: this engine found no config file (it looks at {}); give it one with {example}",
                shutter_core::config::SEARCHED
            ),
        });
    };
    let capacity = pools.capacity(&pool).ok_or_else(|| {
        format!(
            "limit pool `{pool}` is not in the config file's `limits:` (it has {})",
            list(&pools.names())
        )
    })?;
    Ok(SlotRequest {
        pool,
        capacity,
        step: step.clone(),
    })
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits until the step holds a slot: true, or false when canceled first
/// (it then leaves the line). Its first refusal is recorded: the step is
/// `waiting` for the pool.
pub(super) async fn take(
    shared: &Shared,
    request: &SlotRequest,
    cancel: &CancellationToken,
) -> Result<bool, StoreError> {
    let what = format!("{}: asking for a slot of `{}`", request.step, request.pool);
    let taken = crate::turn::wait_for_turn(
        &shared.inner,
        &what,
        cancel,
        || shared.inner.store.take_slot(shared.claim, request),
        || async {
            let waiting = Change::StepWaiting {
                key: request.step.clone(),
                pool: request.pool.clone(),
                at: shared.sink.now(),
            };
            shared.sink.record(vec![waiting]).await
        },
    )
    .await?;
    if !taken {
        give_back(shared, request).await;
    }
    Ok(taken)
}

/// Gives the step's slot back (or its place in line). A failure is only
/// logged: the slot stops counting once the execution ends or is claimed
/// anew.
pub(super) async fn give_back(shared: &Shared, request: &SlotRequest) {
    let freed = shared
        .inner
        .store
        .free_slot(shared.claim, &request.pool, &request.step)
        .await;
    match freed {
        Ok(()) => shared.inner.slots_freed.notify_waiters(),
        Err(err) => tracing::warn!(
            "{}: giving back its slot of `{}`: {err}",
            request.step,
            request.pool
        ),
    }
}
