//! Waiting for a vSphere task: polls `TaskInfo` with backoff, reports its
//! progress, cancels it when the step is canceled.

use std::time::Duration;

use shutter_runtime::ActionContext;
use tokio_util::sync::CancellationToken;

use super::client::Client;
use super::error::{VsphereError, fault_from};
use super::moref::MoRef;
use super::properties::retrieve;
use super::request::Request;
use super::xml::Element;

const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(5);

/// Who hears about a long call: progress, and a way to stop it.
pub trait Observer: Send + Sync {
    fn progress(&self, _percent: u8, _message: &str) {}
    /// Canceled when the caller wants the wait to stop.
    fn cancel_token(&self) -> Option<&CancellationToken> {
        None
    }
}

/// Nobody is watching and nothing cancels.
impl Observer for () {}

impl Observer for ActionContext {
    fn progress(&self, percent: u8, message: &str) {
        ActionContext::progress(self, percent, message);
    }
    fn cancel_token(&self) -> Option<&CancellationToken> {
        Some(&self.cancel)
    }
}

/// Waits until `task` ends; its `info.result` on success. `what` names the
/// work in progress and error messages ("creating snapshot ... of vm-42").
pub async fn wait_for_task(
    client: &Client,
    task: &MoRef,
    what: &str,
    observer: &dyn Observer,
) -> Result<Option<Element>, VsphereError> {
    let mut delay = FIRST_POLL;
    let mut last_percent = None;
    let never = CancellationToken::new();
    let cancel = observer.cancel_token().unwrap_or(&never);
    loop {
        let content = retrieve(client, task, &["info"]).await?;
        let info = content
            .get("info")
            .ok_or_else(|| VsphereError::Invalid(format!("{what}: {task} has no info")))?;
        match info.text_of("state").unwrap_or_default() {
            "success" => {
                observer.progress(100, what);
                return Ok(info.child("result").cloned());
            }
            "error" => {
                let error = info.child("error");
                let message = error
                    .and_then(|e| e.text_of("localizedMessage"))
                    .unwrap_or_default();
                return Err(fault_from(error.and_then(|e| e.child("fault")), message).context(what));
            }
            _ => {
                let percent = info
                    .text_of("progress")
                    .and_then(|p| p.trim().parse::<u8>().ok())
                    .unwrap_or(0);
                if last_percent != Some(percent) {
                    observer.progress(percent, what);
                    last_percent = Some(percent);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cancel.cancelled() => {
                // Best effort: not every task is cancelable, and the step
                // is over either way.
                let _ = client.call(&Request::new("CancelTask", task)).await;
                return Err(VsphereError::Canceled);
            }
        }
        delay = (delay * 2).min(MAX_POLL);
    }
}
