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
        after(self.wall, self.base.elapsed())
    }
}

/// How long from `now` until `at` (zero if past).
pub fn until(now: Timestamp, at: Timestamp) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// The latest time Shutter records: the end of year 9999, which every
/// store writes and reads as RFC 3339.
pub fn far_future() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
        .map(|t| t.to_utc())
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

/// `at` plus a duration, saturating at [`far_future`] (never a panic on
/// overflow, whatever a workflow or an input asks for).
pub fn after(at: Timestamp, duration: Duration) -> Timestamp {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|duration| at.checked_add_signed(duration))
        .map_or_else(far_future, |t| t.min(far_future()))
}

/// `duration` before `at` (the earliest time there is, if that is before it).
pub fn before(at: Timestamp, duration: Duration) -> Timestamp {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|duration| at.checked_sub_signed(duration))
        .unwrap_or(Timestamp::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_saturates_instead_of_panicking() {
        let now = Utc::now();
        assert_eq!(
            after(now, Duration::from_secs(1)),
            now + chrono::Duration::seconds(1)
        );
        assert_eq!(after(now, Duration::MAX), far_future());
        assert_eq!(after(now, Duration::from_secs(u64::MAX / 2)), far_future());
        assert!(until(now, far_future()).as_secs() / (365 * 24 * 3600) > 7900);
    }
}
