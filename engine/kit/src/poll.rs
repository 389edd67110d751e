//! One polling loop for every wait on a cloud (a task, an image, a
//! snapshot, a remote execution): waits that grow to a cap, a deadline,
//! and cancel.

use std::future::Future;
use std::time::Duration;

use shutter_core::ActionError;
use tokio_util::sync::CancellationToken;

/// How a wait polls.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    /// The first pause between two looks.
    pub first: Duration,
    /// Each pause is the last one times this (1 keeps it fixed).
    pub growth: f64,
    /// The longest pause.
    pub cap: Duration,
    /// Giving up after this long is a retryable failure: the step's retry
    /// policy may wait again.
    pub deadline: Duration,
}

/// What one look found.
#[derive(Debug)]
pub enum Polled<T> {
    Done(T),
    Pending,
    /// Not done, and what it is still waiting for (`snap-1 pending 40%`):
    /// the deadline's message ends with the last one seen.
    Waiting(String),
}

/// Why a wait ended without an answer; each provider's error type says
/// what that means for it (`ActionError`: the deadline is retryable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEnded {
    Deadline(String),
    Canceled,
}

impl From<WaitEnded> for ActionError {
    fn from(ended: WaitEnded) -> Self {
        match ended {
            WaitEnded::Deadline(message) => Self::retryable(message),
            WaitEnded::Canceled => Self::Canceled,
        }
    }
}

/// Calls `look` until it answers [`Polled::Done`], pausing between looks,
/// until `poll.deadline` or `cancel`. An error from `look` ends the wait.
/// The last pause is cut to the deadline, so the wait never overruns it.
pub async fn poll_until<T, E, F, Fut>(
    cancel: &CancellationToken,
    what: &str,
    poll: Poll,
    mut look: F,
) -> Result<T, E>
where
    E: From<WaitEnded>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Polled<T>, E>>,
{
    let deadline = tokio::time::Instant::now() + poll.deadline;
    let mut pause = poll.first.min(poll.cap);
    let mut waiting = None;
    loop {
        match look().await? {
            Polled::Done(value) => return Ok(value),
            Polled::Pending => {}
            Polled::Waiting(on) => waiting = Some(on),
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            let after = shutter_core::units::format_duration(poll.deadline);
            return Err(WaitEnded::Deadline(match &waiting {
                Some(on) => format!("{what}: still not done after {after}: {on}"),
                None => format!("{what}: still not done after {after}"),
            })
            .into());
        }
        let nap = pause.min(deadline - now);
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = cancel.cancelled() => return Err(WaitEnded::Canceled.into()),
        }
        pause = pause.mul_f64(poll.growth.max(1.0)).min(poll.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(deadline: u64) -> Poll {
        Poll {
            first: Duration::from_secs(1),
            growth: 2.0,
            cap: Duration::from_secs(5),
            deadline: Duration::from_secs(deadline),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_grow_to_the_cap_and_the_deadline_ends_the_wait() {
        let start = tokio::time::Instant::now();
        let mut looks = Vec::new();
        let err: ActionError = poll_until(&CancellationToken::new(), "image", poll(20), || {
            looks.push(start.elapsed().as_secs());
            let look = looks.len();
            async move { Ok::<_, ActionError>(Polled::<()>::Waiting(format!("look {look}"))) }
        })
        .await
        .expect_err("never done");
        assert!(err.is_retryable());
        assert_eq!(err.message(), "image: still not done after 20s: look 7");
        // 1, 2, 4, then the cap of 5, then cut to the deadline.
        assert_eq!(looks, vec![0, 1, 3, 7, 12, 17, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn done_and_cancel_end_the_wait() {
        let mut count = 0;
        let value: i32 = poll_until(&CancellationToken::new(), "x", poll(60), || {
            count += 1;
            let done = count == 3;
            async move {
                Ok::<_, ActionError>(if done {
                    Polled::Done(count)
                } else {
                    Polled::Pending
                })
            }
        })
        .await
        .expect("done");
        assert_eq!(value, 3);
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err: ActionError = poll_until(&cancel, "x", poll(60), || async {
            Ok::<_, ActionError>(Polled::<()>::Pending)
        })
        .await
        .expect_err("canceled");
        assert_eq!(err, ActionError::Canceled);
    }
}
