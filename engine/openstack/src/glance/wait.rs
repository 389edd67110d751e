//! Polling an image until it is `active`.

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use shutter_runtime::{ActionContext, ActionError};

use crate::session::Session;

#[derive(Debug, Clone, Copy)]
pub(crate) struct WaitOptions {
    pub(crate) interval: Duration,
    /// Giving up is retryable: the step's retry policy may wait again.
    pub(crate) timeout: Duration,
}

/// Progress shown for each status: Glance does not say how far along it is.
fn percent(status: &str) -> u8 {
    match status {
        "queued" => 10,
        "saving" | "uploading" => 50,
        "importing" => 75,
        _ => 90,
    }
}

pub(crate) async fn wait_active(
    session: &Session,
    ctx: &ActionContext,
    id: &str,
    options: WaitOptions,
) -> Result<Json, ActionError> {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let image = super::get(session, id).await?;
        let status = image
            .get("status")
            .and_then(Json::as_str)
            .unwrap_or("unknown")
            .to_owned();
        match status.as_str() {
            "active" => {
                ctx.progress(100, format!("image {id} is active"));
                return Ok(image);
            }
            "killed" => {
                return Err(ActionError::Fatal(format!(
                    "image {id} was killed: Glance failed to receive its data"
                )));
            }
            "deleted" | "pending_delete" => {
                return Err(ActionError::Fatal(format!(
                    "image {id} was deleted while waiting for it"
                )));
            }
            "deactivated" => {
                return Err(ActionError::Fatal(format!(
                    "image {id} is deactivated: it will not become active by waiting"
                )));
            }
            _ => {}
        }
        if status != last {
            ctx.progress(percent(&status), format!("image {id} is {status}"));
            let _ = ctx.flush().await;
            last = status;
        }
        if started.elapsed() >= options.timeout {
            return Err(ActionError::Retryable(format!(
                "image {id} is still {last} after {}s",
                options.timeout.as_secs()
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(options.interval) => {}
            () = ctx.cancel.cancelled() => return Err(ActionError::Canceled),
        }
    }
}
