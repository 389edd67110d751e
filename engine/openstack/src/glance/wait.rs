//! Polling an image until it is `active`.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value as Json;
use shutter_core::{ActionContext, ActionError};
use shutter_kit::{Polled, poll_until};

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

/// Polls the image every `interval` (fixed) until it is `active`, for at
/// most `timeout`; a status that can never become active fails at once.
pub(crate) async fn wait_active(
    session: &Session,
    ctx: &ActionContext,
    id: &str,
    options: WaitOptions,
) -> Result<Json, ActionError> {
    let last = Mutex::new(String::new());
    let poll = crate::servers::every(options.interval, options.timeout);
    poll_until(&ctx.cancel, &format!("image {id}"), poll, || async {
        let image = super::get(session, id).await?;
        let status = super::status(&image).to_owned();
        match status.as_str() {
            "active" => {
                ctx.progress(100, format!("image {id} is active"));
                return Ok(Polled::Done(image));
            }
            "killed" => {
                return Err(ActionError::fatal(format!(
                    "image {id} was killed: Glance failed to receive its data"
                )));
            }
            "deleted" | "pending_delete" => {
                return Err(ActionError::fatal(format!(
                    "image {id} was deleted while waiting for it"
                )));
            }
            "deactivated" => {
                return Err(ActionError::fatal(format!(
                    "image {id} is deactivated: it will not become active by waiting"
                )));
            }
            _ => {}
        }
        if crate::servers::changed(&last, &status) {
            ctx.progress(percent(&status), format!("image {id} is {status}"));
            ctx.flush().await?;
        }
        Ok(Polled::Pending)
    })
    .await
}
