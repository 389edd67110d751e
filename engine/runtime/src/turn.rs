//! Waiting for a turn the store grants: a slot of a limit pool, or an
//! execution's concurrency key. The store is asked, and asked again when
//! this engine hears that a slot or key was freed (by its own work, or
//! announced by the store from another node), and every few seconds
//! anyway: that also notices what a dead node's expired leases freed.

use std::time::Duration;

use shutter_core::store::StoreError;
use tokio_util::sync::CancellationToken;

use crate::engine::Inner;

/// The longest pause between two asks.
const MOST_PATIENT: Duration = Duration::from_secs(2);

/// Asks `ask` until it grants (true) or `cancel` comes first (false).
/// `refused` runs once, at the first refusal (to record the wait). An
/// unavailable store is logged, naming `what`, and asked again.
// Closures returning futures, not async closures: the futures of async
// closures are not yet known to be `Send` for every lifetime, which the
// spawned step tasks need.
pub(crate) async fn wait_for_turn<Ask, Asked, Refused, Recorded>(
    inner: &Inner,
    what: &str,
    cancel: &CancellationToken,
    mut ask: Ask,
    refused: Refused,
) -> Result<bool, StoreError>
where
    Ask: FnMut() -> Asked,
    Asked: Future<Output = Result<bool, StoreError>>,
    Refused: FnOnce() -> Recorded,
    Recorded: Future<Output = Result<(), StoreError>>,
{
    let mut refused = Some(refused);
    let mut pause = Duration::from_millis(100);
    loop {
        // Listening before asking: a turn freed in between still wakes it.
        let freed = inner.slots_freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        match ask().await {
            Ok(true) => return Ok(true),
            Ok(false) => {
                if let Some(refused) = refused.take() {
                    refused().await?;
                }
            }
            Err(StoreError::Unavailable(why)) => tracing::warn!("{what}: {why}"),
            Err(err) => return Err(err),
        }
        tokio::select! {
            () = &mut freed => {}
            () = tokio::time::sleep(pause) => {}
            () = cancel.cancelled() => return Ok(false),
        }
        pause = (pause * 2).min(MOST_PATIENT);
    }
}
