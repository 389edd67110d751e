//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use shutter_core::{ExecutionId, ExecutionSnapshot, Store};
use shutter_runtime::Engine;
use tokio_util::sync::CancellationToken;

use crate::feed::ChangeFeed;
use crate::metrics::Metrics;
use crate::runner::Runner;
use crate::workflows::Workflows;

/// Cheap to clone: one `Arc`.
#[derive(Debug, Clone)]
pub struct AppState(pub(crate) Arc<Shared>);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) runner: Runner,
    pub(crate) workflows: Workflows,
    pub(crate) feed: Arc<ChangeFeed>,
    pub(crate) metrics: Arc<Metrics>,
    /// Longest `?wait=` honoured; longer asks are cut to it.
    pub(crate) max_wait: Duration,
    /// Canceled when the server begins to stop: long polls answer at once.
    pub(crate) stopping: CancellationToken,
}

impl AppState {
    pub(crate) fn engine(&self) -> &Engine {
        self.0.runner.engine()
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        self.engine().store()
    }

    /// An execution's records, or the 404 that says it is not there.
    pub(crate) async fn execution(
        &self,
        id: ExecutionId,
    ) -> Result<ExecutionSnapshot, crate::error::ApiError> {
        self.store()
            .snapshot(id)
            .await?
            .ok_or_else(|| crate::error::ApiError::not_found(format_args!("execution {id}")))
    }

    pub fn workflows(&self) -> &Workflows {
        &self.0.workflows
    }

    pub(crate) fn runner(&self) -> &Runner {
        &self.0.runner
    }
}
