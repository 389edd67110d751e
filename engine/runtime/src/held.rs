//! The executions an engine holds: the claim each was taken under, and how
//! each is stopped at once when it is lost — claimed by another engine
//! (this one stalled past its lease) or out of reach of the store for too
//! long — and how one is canceled when a cancel was asked for elsewhere
//! (another node, another process). Their leases are renewed together
//! (`Engine::keep_leases`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use shutter_core::ids::ExecutionId;
use shutter_core::store::{Claim, StoreError};

/// Why an execution stopped where it was, if it did.
#[derive(Debug, Default)]
pub(crate) struct Halt {
    token: CancellationToken,
    reason: Mutex<Option<StoreError>>,
    /// When this engine last knew it held the execution's lease: its claim,
    /// or a renewal sent then that kept it. `None`: not known here.
    confirmed: Mutex<Option<Instant>>,
}

impl Halt {
    /// Notes that the lease was held, and renewed from `at` on.
    pub(crate) fn confirm(&self, at: Instant) {
        let mut confirmed = lock(&self.confirmed);
        if confirmed.is_none_or(|known| known < at) {
            *confirmed = Some(at);
        }
    }

    /// Whether no other engine can have claimed the execution, with room
    /// to spare for clocks and a late renewal: less than half of `lease`
    /// has passed since the lease was last known held. An engine may then
    /// start an action before its start is committed, since the commit
    /// could not be refused for a lost lease (`instance::tries`).
    pub(crate) fn lease_fresh(&self, lease: Duration) -> bool {
        lock(&self.confirmed).is_some_and(|at| at.elapsed() < lease / 2)
    }

    /// Stops the execution's tasks; the first reason is kept.
    pub(crate) fn halt(&self, reason: StoreError) {
        lock(&self.reason).get_or_insert(reason);
        self.token.cancel();
    }

    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub(crate) fn reason(&self) -> Option<StoreError> {
        lock(&self.reason).clone()
    }
}

#[derive(Debug)]
struct Entry {
    epoch: u64,
    halt: std::sync::Arc<Halt>,
    /// Cancels the execution (its `finally` steps run), once it runs.
    cancel: Option<CancellationToken>,
}

#[derive(Debug, Default)]
pub(crate) struct Held {
    entries: Mutex<HashMap<ExecutionId, Entry>>,
}

impl Held {
    /// Notes a claim this engine has just taken (or an execution it has
    /// just created): its lease starts now. A newer claim replaces an
    /// older.
    pub(crate) fn insert(&self, claim: Claim) -> std::sync::Arc<Halt> {
        let halt = self.enter(claim);
        halt.confirm(Instant::now());
        halt
    }

    /// Notes a claim about to run: the one [`Held::insert`] noted, else a
    /// new entry whose lease is not known fresh until it is renewed.
    pub(crate) fn enter(&self, claim: Claim) -> std::sync::Arc<Halt> {
        let mut entries = lock(&self.entries);
        match entries.get(&claim.id) {
            Some(entry) if entry.epoch == claim.epoch => entry.halt.clone(),
            _ => {
                let halt = std::sync::Arc::new(Halt::default());
                entries.insert(
                    claim.id,
                    Entry {
                        epoch: claim.epoch,
                        halt: halt.clone(),
                        cancel: None,
                    },
                );
                halt
            }
        }
    }

    /// Notes how the execution `claim` names is canceled while it runs.
    pub(crate) fn cancels_with(&self, claim: Claim, cancel: CancellationToken) {
        if let Some(entry) = lock(&self.entries).get_mut(&claim.id)
            && entry.epoch == claim.epoch
        {
            entry.cancel = Some(cancel);
        }
    }

    /// Cancels the executions among `ids` that run here; returns whether
    /// any did.
    pub(crate) fn cancel(&self, ids: &[ExecutionId]) -> bool {
        let entries = lock(&self.entries);
        let mut any = false;
        for id in ids {
            if let Some(cancel) = entries.get(id).and_then(|entry| entry.cancel.as_ref()) {
                if !cancel.is_cancelled() {
                    tracing::info!("execution {id}: canceled, as asked elsewhere");
                }
                cancel.cancel();
                any = true;
            }
        }
        any
    }

    /// Forgets a claim (the execution ended, or was given up); its lease is
    /// no longer renewed.
    pub(crate) fn remove(&self, claim: Claim) {
        let mut entries = lock(&self.entries);
        if entries
            .get(&claim.id)
            .is_some_and(|e| e.epoch == claim.epoch)
        {
            entries.remove(&claim.id);
        }
    }

    pub(crate) fn claims(&self) -> Vec<Claim> {
        lock(&self.entries)
            .iter()
            .map(|(id, entry)| Claim {
                id: *id,
                epoch: entry.epoch,
            })
            .collect()
    }

    pub(crate) fn ids(&self) -> Vec<ExecutionId> {
        lock(&self.entries).keys().copied().collect()
    }

    /// Notes that a renewal sent `at` kept the leases of `claims`.
    pub(crate) fn confirm(&self, claims: &[Claim], at: Instant) {
        let entries = lock(&self.entries);
        for claim in claims {
            if let Some(entry) = entries.get(&claim.id)
                && entry.epoch == claim.epoch
            {
                entry.halt.confirm(at);
            }
        }
    }

    /// Stops and forgets executions another engine now holds.
    pub(crate) fn lose(&self, ids: &[ExecutionId]) {
        let mut entries = lock(&self.entries);
        for id in ids {
            if let Some(entry) = entries.remove(id) {
                tracing::warn!("execution {id} was claimed by another engine: stopping it here");
                entry.halt.halt(StoreError::Conflict(format!(
                    "execution {id} is now held by another engine"
                )));
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
