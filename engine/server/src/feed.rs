//! Who is told when an execution changes: the store decorator every write
//! of this process goes through, so long polls wake the moment a change is
//! durable, without polling the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shutter_core::store_hook::WriteHook;
use shutter_core::{Change, Claim, ExecutionId};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// Per-execution channels carrying the last durable sequence number, and
/// one that moves with every change of any execution (what a long poll of
/// a list waits for).
#[derive(Debug)]
pub(crate) struct ChangeFeed {
    watchers: Mutex<HashMap<ExecutionId, watch::Sender<u64>>>,
    any: watch::Sender<u64>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self {
            watchers: Mutex::default(),
            any: watch::channel(0).0,
        }
    }
}

/// Above this many channels, subscribing sweeps the ones nobody listens to.
const SWEEP_ABOVE: usize = 1024;

impl ChangeFeed {
    /// A receiver that sees every change to `id` made after this call.
    /// Subscribe before reading the record, so no change falls in between.
    pub(crate) fn subscribe(&self, id: ExecutionId) -> watch::Receiver<u64> {
        let mut watchers = self.lock();
        if watchers.len() > SWEEP_ABOVE {
            watchers.retain(|_, sender| sender.receiver_count() > 0);
        }
        watchers
            .entry(id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// A receiver that sees that some execution changed after this call
    /// (its value counts changes; only that it moved matters).
    pub(crate) fn subscribe_all(&self) -> watch::Receiver<u64> {
        self.any.subscribe()
    }

    pub(crate) fn publish(&self, id: ExecutionId, seq: u64) {
        // `send_modify` tells receivers even when there are none yet, and
        // never fails.
        self.any.send_modify(|count| *count = count.wrapping_add(1));
        let mut watchers = self.lock();
        if let Some(sender) = watchers.get(&id) {
            if sender.receiver_count() == 0 {
                watchers.remove(&id);
            } else {
                sender.send_replace(seq);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionId, watch::Sender<u64>>> {
        self.watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What the store decorator of this process does around writes: counts
/// them for the metrics, then tells the feed once they are durable.
#[derive(Debug)]
pub(crate) struct Watch {
    pub(crate) feed: Arc<ChangeFeed>,
    pub(crate) metrics: Arc<Metrics>,
}

impl WriteHook for Watch {
    fn appending(&self, claim: Claim, changes: &[Change]) {
        self.metrics.observe(claim.id, changes);
    }

    fn written(&self, id: ExecutionId, seq: u64) {
        self.feed.publish(id, seq);
    }
}
