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

/// The shortest pause between two looks, whatever a workflow asks: a zero
/// interval must not turn a wait into a busy loop against a cloud's API.
pub const MIN_PAUSE: Duration = Duration::from_millis(100);

/// Calls `look` until it answers [`Polled::Done`], pausing between looks,
/// until `poll.deadline` or `cancel`. An error from `look` ends the wait.
/// A look that hangs is cut off at the deadline or by cancel too, and the
/// last pause is cut to the deadline, so the wait never overruns it.
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
    let start = tokio::time::Instant::now();
    // A deadline too far to represent is no deadline.
    let deadline = start.checked_add(poll.deadline);
    let cap = poll.cap.max(MIN_PAUSE);
    let growth = if poll.growth.is_finite() {
        poll.growth.max(1.0)
    } else {
        1.0
    };
    let mut pause = poll.first.clamp(MIN_PAUSE, cap);
    let mut waiting = None;
    let ended = |waiting: &Option<String>| {
        let after = shutter_core::units::format_duration(poll.deadline);
        WaitEnded::Deadline(match waiting {
            Some(on) => format!("{what}: still not done after {after}: {on}"),
            None => format!("{what}: still not done after {after}"),
        })
    };
    loop {
        let looked = tokio::select! {
            // A look that is ready at the deadline still counts.
            biased;
            looked = look() => looked?,
            () = cancel.cancelled() => return Err(WaitEnded::Canceled.into()),
            () = sleep_until(deadline) => return Err(ended(&waiting).into()),
        };
        match looked {
            Polled::Done(value) => return Ok(value),
            Polled::Pending => {}
            Polled::Waiting(on) => waiting = Some(on),
        }
        let now = tokio::time::Instant::now();
        let nap = match deadline {
            Some(deadline) if now >= deadline => return Err(ended(&waiting).into()),
            Some(deadline) => pause.min(deadline - now),
            None => pause,
        };
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = cancel.cancelled() => return Err(WaitEnded::Canceled.into()),
        }
        pause = Duration::try_from_secs_f64(pause.as_secs_f64() * growth)
            .unwrap_or(cap)
            .min(cap);
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
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

    #[tokio::test(start_paused = true)]
    async fn a_look_that_hangs_is_cut_off_by_the_deadline_or_cancel() {
        let start = tokio::time::Instant::now();
        let err: ActionError = poll_until(&CancellationToken::new(), "task", poll(30), || {
            std::future::pending::<Result<Polled<()>, ActionError>>()
        })
        .await
        .expect_err("never answers");
        assert_eq!(err.message(), "task: still not done after 30s");
        assert_eq!(start.elapsed(), Duration::from_secs(30));

        let cancel = CancellationToken::new();
        let canceler = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            canceler.cancel();
        });
        let err: ActionError = poll_until(&cancel, "task", poll(30), || {
            std::future::pending::<Result<Polled<()>, ActionError>>()
        })
        .await
        .expect_err("canceled");
        assert_eq!(err, ActionError::Canceled);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_interval_still_pauses_and_a_huge_deadline_is_no_deadline() {
        let start = tokio::time::Instant::now();
        let mut looks = 0;
        let never = Poll {
            first: Duration::ZERO,
            growth: f64::INFINITY,
            cap: Duration::ZERO,
            deadline: Duration::MAX,
        };
        let done: u32 = poll_until(&CancellationToken::new(), "x", never, || {
            looks += 1;
            let n = looks;
            async move {
                Ok::<_, ActionError>(if n == 11 {
                    Polled::Done(n)
                } else {
                    Polled::Pending
                })
            }
        })
        .await
        .expect("done");
        assert_eq!(done, 11);
        assert_eq!(start.elapsed(), MIN_PAUSE * 10);
    }
}
