//! What bounds one step run, and how a guest's end is explained.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Defaults applied when the workflow does not say.
pub const DEFAULT_MEMORY: u64 = 64 << 20;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_OUTPUT: usize = 1 << 20;
/// Most guest stderr kept per run (log lines).
pub const STDERR_LIMIT: usize = 1 << 20;
/// Largest memory a step may ask for: the pooling allocator reserves this
/// much address space per memory slot.
pub const MAX_MEMORY: u64 = 1 << 30;

/// The bounds of one run.
#[derive(Debug, Clone)]
pub struct Limits {
    pub memory: u64,
    pub timeout: Duration,
    pub output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: DEFAULT_MEMORY,
            timeout: DEFAULT_TIMEOUT,
            output: DEFAULT_OUTPUT,
        }
    }
}

impl Limits {
    /// The store's resource limiter: growing memory past the cap traps, so
    /// the failure is reported as the cap, not as a guest's failed malloc.
    pub fn store_limits(&self) -> wasmtime::StoreLimits {
        wasmtime::StoreLimitsBuilder::new()
            .memory_size(usize::try_from(self.memory).unwrap_or(usize::MAX))
            .trap_on_grow_failure(true)
            .build()
    }
}

/// Why the host stopped a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupt {
    #[error("deadline exceeded")]
    Deadline,
    #[error("canceled")]
    Canceled,
}

/// Checked at every epoch tick: the run's deadline and its cancel flag.
#[derive(Debug, Clone)]
pub struct Watch {
    pub deadline: Instant,
    pub canceled: Arc<AtomicBool>,
}

impl Watch {
    pub fn new(timeout: Duration, canceled: Arc<AtomicBool>) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            canceled,
        }
    }

    /// Makes `store` check this watch at every epoch tick: a guest runs on
    /// one tick at a time until its deadline passes or it is canceled.
    pub fn install<T>(self, store: &mut wasmtime::Store<T>) {
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            self.check()
                .map(|()| wasmtime::UpdateDeadline::Continue(1))
                .map_err(wasmtime::Error::from)
        });
    }

    pub fn check(&self) -> Result<(), Interrupt> {
        if self.canceled.load(Ordering::Relaxed) {
            return Err(Interrupt::Canceled);
        }
        if Instant::now() >= self.deadline {
            return Err(Interrupt::Deadline);
        }
        Ok(())
    }
}
