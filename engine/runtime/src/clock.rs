//! Time, injected: wall-clock timestamps for records and sleeping until
//! one. Built on tokio's clock, so tests with paused time control both.

use std::fmt;
use std::time::Duration;

use chrono::Utc;

use crate::record::Timestamp;

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// Wall time that advances with tokio's clock: real in production, paused
/// and advanced by hand in tests.
#[derive(Debug, Clone)]
pub struct TokioClock {
    wall: Timestamp,
    base: tokio::time::Instant,
}

impl TokioClock {
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock that reads `wall` now (tests pin the wall time this way).
    pub fn starting_at(wall: Timestamp) -> Self {
        Self {
            wall,
            base: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.base.elapsed();
        self.wall + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
    }
}

/// How long from `now` until `at` (zero if past).
pub fn until(now: Timestamp, at: Timestamp) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// `at` plus a duration, saturating.
pub fn after(at: Timestamp, duration: Duration) -> Timestamp {
    at + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}
