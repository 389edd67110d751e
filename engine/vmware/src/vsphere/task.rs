//! Waiting for a vSphere task: polls `TaskInfo` through the kit's
//! [`poll_until`], reports its progress, and asks vCenter to cancel the
//! task when the step is canceled or the wait runs past its deadline.

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use shutter_core::ActionContext;
use shutter_kit::{Poll, Polled, WaitEnded, poll_until};
use tokio_util::sync::CancellationToken;

use super::client::Client;
use super::error::{VsphereError, fault_from};
use super::moref::MoRef;
use super::properties::retrieve;
use super::request::Request;
use super::xml::Element;

/// How long a task may run when neither the step nor the action says: a
/// backstop against a task vCenter never ends, not a performance limit
/// (a memory snapshot or a consolidation of a large VM can take hours).
pub const DEFAULT_TASK_DEADLINE: Duration = Duration::from_secs(6 * 3600);

const POLL: Poll = Poll {
    first: Duration::from_millis(100),
    growth: 2.0,
    cap: Duration::from_secs(5),
    deadline: DEFAULT_TASK_DEADLINE,
};

/// Who hears about a long call: progress, a way to stop it, and how long
/// it may take.
pub trait Observer: Send + Sync {
    fn progress(&self, _percent: u8, _message: &str) {}
    /// Canceled when the caller wants the wait to stop.
    fn cancel_token(&self) -> Option<&CancellationToken> {
        None
    }
    /// How long one task may run before the wait gives up on it.
    fn task_deadline(&self) -> Duration {
        DEFAULT_TASK_DEADLINE
    }
}

/// Nobody is watching and nothing cancels.
impl Observer for () {}

/// A step watches: its progress is recorded, its cancel stops the wait,
/// and a task may run as long as the step's `task_timeout`.
#[derive(Debug)]
pub struct StepWatch<'a> {
    pub ctx: &'a ActionContext,
    pub deadline: Duration,
}

impl Observer for StepWatch<'_> {
    fn progress(&self, percent: u8, message: &str) {
        self.ctx.progress(percent, message);
    }
    fn cancel_token(&self) -> Option<&CancellationToken> {
        Some(&self.ctx.cancel)
    }
    fn task_deadline(&self) -> Duration {
        self.deadline
    }
}

/// Why a wait for a task ended without its result: the task (or the
/// call looking at it) failed, or the wait itself ended.
enum Ended {
    Task(VsphereError),
    Wait(WaitEnded),
}

impl From<WaitEnded> for Ended {
    fn from(ended: WaitEnded) -> Self {
        Self::Wait(ended)
    }
}

impl From<VsphereError> for Ended {
    fn from(err: VsphereError) -> Self {
        Self::Task(err)
    }
}

/// Waits until `task` ends; its `info.result` on success. `what` names the
/// work in progress and error messages ("creating snapshot ... of vm-42").
/// When the step is canceled or the deadline passes, vCenter is asked to
/// cancel the task; a deadline is retryable, as another try adopts what
/// the task made meanwhile through the idempotency key.
pub async fn wait_for_task(
    client: &Client,
    task: &MoRef,
    what: &str,
    observer: &dyn Observer,
) -> Result<Option<Element>, VsphereError> {
    // u16::MAX: no progress reported yet.
    let last_percent = AtomicU16::new(u16::MAX);
    let never = CancellationToken::new();
    let cancel = observer.cancel_token().unwrap_or(&never);
    let poll = Poll {
        deadline: observer.task_deadline(),
        ..POLL
    };
    let outcome = poll_until(cancel, what, poll, || async {
        let info = task_info(client, task, what).await?;
        Ok::<_, Ended>(look(&info, what, observer, &last_percent)?)
    })
    .await;
    match outcome {
        Ok(result) => Ok(result),
        Err(Ended::Task(err)) => Err(err),
        Err(Ended::Wait(ended)) => {
            // Best effort: not every task is cancelable, and this try is
            // over either way.
            let _ = client.call(&Request::new("CancelTask", task)).await;
            Err(match ended {
                WaitEnded::Deadline(message) => VsphereError::Unavailable(format!(
                    "{message} (vCenter was asked to cancel {task}); raise `task_timeout` if the task needs longer"
                )),
                WaitEnded::Canceled => VsphereError::Canceled,
            })
        }
    }
}

async fn task_info(client: &Client, task: &MoRef, what: &str) -> Result<Element, VsphereError> {
    let content = retrieve(client, task, &["info"]).await?;
    content
        .get("info")
        .cloned()
        .ok_or_else(|| VsphereError::Invalid(format!("{what}: {task} has no info")))
}

/// What one look at the task's info says.
fn look(
    info: &Element,
    what: &str,
    observer: &dyn Observer,
    last_percent: &AtomicU16,
) -> Result<Polled<Option<Element>>, VsphereError> {
    match info.text_of("state").unwrap_or_default() {
        "success" => {
            observer.progress(100, what);
            Ok(Polled::Done(info.child("result").cloned()))
        }
        "error" => {
            let error = info.child("error");
            let message = error
                .and_then(|e| e.text_of("localizedMessage"))
                .unwrap_or_default();
            Err(fault_from(error.and_then(|e| e.child("fault")), message).context(what))
        }
        _ => {
            let percent = info
                .text_of("progress")
                .and_then(|p| p.trim().parse::<u8>().ok())
                .unwrap_or(0);
            if last_percent.swap(u16::from(percent), Ordering::Relaxed) != u16::from(percent) {
                observer.progress(percent, what);
            }
            Ok(Polled::Pending)
        }
    }
}
