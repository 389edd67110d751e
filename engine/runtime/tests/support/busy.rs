//! A test action that sleeps 10 s (or until canceled), counting how many
//! run at once: for the executor's concurrency and limit tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_core::{Action, ActionContext, ActionError};

/// Sleeps 10 s, counting how many run at once.
#[derive(Debug, Default)]
pub(crate) struct Busy {
    /// Running now.
    pub(crate) now: AtomicUsize,
    /// The most that ran at once.
    pub(crate) max: AtomicUsize,
    /// Every run begun.
    pub(crate) runs: AtomicUsize,
}

#[async_trait]
impl Action for Busy {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.runs.fetch_add(1, Ordering::SeqCst);
        let slept = tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(10)) => Ok(json!({})),
            () = ctx.cancel.cancelled() => Err(ActionError::Canceled),
        };
        self.now.fetch_sub(1, Ordering::SeqCst);
        slept
    }
}
