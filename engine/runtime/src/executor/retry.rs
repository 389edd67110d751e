//! Waits between tries.

use std::time::Duration;

use rand::Rng;
use shutter_dsl::model::{Backoff, RetryPolicy};

/// The wait after the `failures`-th failed try (1 for the first).
///
/// Exponential doubles `delay` per failure, capped at `max_delay`. Jitter is
/// "equal jitter": a uniform wait between half and all of that, so retries of
/// many steps spread out but never retry at once.
pub(crate) fn backoff(policy: &RetryPolicy, failures: u32, rng: &mut impl Rng) -> Duration {
    let base = match policy.backoff {
        Backoff::Fixed => policy.delay,
        Backoff::Exponential => {
            let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
            policy.delay.saturating_mul(factor)
        }
    }
    .min(policy.max_delay.max(policy.delay));
    if !policy.jitter || base.is_zero() {
        return base;
    }
    let half = base / 2;
    half + rng.random_range(Duration::ZERO..=base - half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn policy(backoff: Backoff, jitter: bool) -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            backoff,
            delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
            jitter,
        }
    }

    #[test]
    fn exponential_doubles_up_to_the_cap() {
        let mut rng = StdRng::seed_from_u64(1);
        let waits: Vec<u64> = (1..=5)
            .map(|n| backoff(&policy(Backoff::Exponential, false), n, &mut rng).as_secs())
            .collect();
        assert_eq!(waits, vec![2, 4, 8, 10, 10]);
    }

    #[test]
    fn fixed_stays_put() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            backoff(&policy(Backoff::Fixed, false), 4, &mut rng),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let mut rng = StdRng::seed_from_u64(7);
        for failures in 1..=6 {
            let plain = backoff(&policy(Backoff::Exponential, false), failures, &mut rng);
            let jittered = backoff(&policy(Backoff::Exponential, true), failures, &mut rng);
            assert!(
                jittered >= plain / 2 && jittered <= plain,
                "{jittered:?} vs {plain:?}"
            );
        }
    }
}
