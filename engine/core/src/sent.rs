//! An append sent to a store's writer without waiting for it, which the
//! sender may take back until the writer begins to write it.
//!
//! Why: a try's start and its outcome were two commits, since the outcome
//! was sent only once the start had committed. When the writer is busy (a
//! fan of a thousand branches), the start of a short try still waits in
//! its queue when the outcome is known: taken back, it is sent with the
//! outcome, and the step's row is written once instead of twice (issue 19).
//! Either the writer writes the append as sent, or the sender sends its
//! changes again in a later append: never both, never neither.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::store::StoreError;

const QUEUED: u8 = 0;
const WITHDRAWN: u8 = 1;
const TAKEN: u8 = 2;

/// Who has a sent append: still its sender (queued), its sender for good
/// (withdrawn), or the store's writer (taken).
#[derive(Debug, Default)]
pub struct AppendHold(AtomicU8);

impl AppendHold {
    /// The writer takes the append to write it; false when its sender took
    /// it back first (the writer then drops it unwritten).
    pub fn take(&self) -> bool {
        match self
            .0
            .compare_exchange(QUEUED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == TAKEN,
        }
    }

    /// The sender takes the append back; false when the writer took it
    /// first (it will be written, or fail, as sent).
    pub fn withdraw(&self) -> bool {
        match self
            .0
            .compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == WITHDRAWN,
        }
    }
}

type Committed = Pin<Box<dyn Future<Output = Result<u64, StoreError>> + Send>>;

/// An append on its way: take it back ([`SentAppend::withdraw`]) or wait
/// for its commit ([`SentAppend::committed`]).
pub struct SentAppend {
    hold: Arc<AppendHold>,
    committed: Committed,
}

impl std::fmt::Debug for SentAppend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentAppend")
            .field("hold", &self.hold)
            .finish_non_exhaustive()
    }
}

impl SentAppend {
    /// An append the writer takes through `hold` and whose commit
    /// `committed` answers (with the last sequence number, as
    /// [`crate::Store::append`] does).
    pub fn new(
        hold: Arc<AppendHold>,
        committed: impl Future<Output = Result<u64, StoreError>> + Send + 'static,
    ) -> Self {
        Self {
            hold,
            committed: Box::pin(committed),
        }
    }

    /// Takes the append back if the writer has not taken it: its changes
    /// are then the sender's to send again, and it will never be written.
    pub fn withdraw(&self) -> bool {
        self.hold.withdraw()
    }

    /// Waits for the commit of an append the writer took.
    pub async fn committed(self) -> Result<u64, StoreError> {
        self.committed.await
    }

    /// The same append, with `then` run on its commit's answer as soon as
    /// it comes (on a task of its own), not when the sender asks for it: a
    /// try's sender asks only once its action ended, maybe minutes after
    /// its start was committed, and whoever watches the store (a long
    /// poll) is told of the start at once. An append taken back gets an
    /// error (its writer drops it unanswered). Outside a runtime, run when
    /// the sender asks.
    #[must_use]
    pub fn watched(self, then: impl FnOnce(&Result<u64, StoreError>) + Send + 'static) -> Self {
        let Self { hold, committed } = self;
        let watch = async move {
            let answer = committed.await;
            then(&answer);
            answer
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Self::new(hold, watch);
        };
        let (tell, told) = tokio::sync::oneshot::channel();
        // An append taken back is dropped unanswered by the writer: its
        // answer is an error, and no one waits for it.
        runtime.spawn(async move {
            let _ = tell.send(watch.await);
        });
        Self::new(hold, async move {
            told.await.unwrap_or_else(|_| {
                Err(StoreError::Fatal(
                    "the store stopped before answering".to_owned(),
                ))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_and_the_sender_cannot_both_have_it() {
        let hold = AppendHold::default();
        assert!(hold.take());
        assert!(!hold.withdraw(), "taken: the sender must wait for it");
        assert!(hold.take(), "taking twice is still taken");

        let hold = AppendHold::default();
        assert!(hold.withdraw());
        assert!(!hold.take(), "withdrawn: the writer must drop it");
        assert!(hold.withdraw());
    }

    #[tokio::test]
    async fn a_watched_append_is_told_of_its_commit_before_its_sender_asks() {
        let told = Arc::new(std::sync::Mutex::new(None));
        let sent = SentAppend::new(Arc::new(AppendHold::default()), async { Ok(7) }).watched({
            let told = told.clone();
            move |answer| *told.lock().expect("not poisoned") = Some(answer.clone())
        });
        for _ in 0..100 {
            if told.lock().expect("not poisoned").is_some() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(
            *told.lock().expect("not poisoned"),
            Some(Ok(7)),
            "told before asked"
        );
        assert_eq!(sent.committed().await, Ok(7));
    }
}
