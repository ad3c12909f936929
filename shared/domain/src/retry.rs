//! The retry policy, as a pure function of what happened.
//!
//! 429 and 5xx are retried at most [`RetryPolicy::max_retries`] times, after
//! `base`, `2·base`, `4·base` plus 0–25 % jitter. A request that may have
//! reached Amazon is retried only when doing it twice is harmless
//! ([`RetrySafety`]). The caller checks the wait against its deadline.

use std::time::Duration;

use crate::TimeScale;
use crate::operation::RetrySafety;

/// What went wrong with one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// An HTTP answer with this status.
    Status(u16),
    /// The connection was never made: the request did not reach Amazon.
    NotSent,
    /// Sent, but no answer (timeout, reset): Amazon may have acted on it.
    NoAnswer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Retry { after: Duration },
    GiveUp,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base: Duration,
    /// Largest extra wait, as a fraction of the back-off (0.25 = up to +25 %).
    pub max_jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base: Duration::from_secs(1),
            max_jitter: 0.25,
        }
    }
}

/// Statuses that a later identical request can succeed on.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The smallest first back-off of a [`RetryPolicy::scaled`] policy.
pub const MIN_SCALED_BASE: Duration = Duration::from_millis(10);

impl RetryPolicy {
    /// The default policy with time compressed by `scale` (tests, demo).
    /// The first back-off never drops below [`MIN_SCALED_BASE`]: a local
    /// hiccup (a busy simulator, a pooled connection closed under us) needs a
    /// few milliseconds to pass, which compression would otherwise remove.
    pub fn scaled(scale: TimeScale) -> Self {
        Self {
            base: scale
                .duration(Duration::from_secs(1))
                .max(MIN_SCALED_BASE.min(Duration::from_secs(1))),
            ..Self::default()
        }
    }

    /// `retries_done`: how many retries already happened (0 after the first
    /// attempt). `jitter_unit` is a random number in `[0, 1)`.
    pub fn decide(
        &self,
        failure: Failure,
        retries_done: u32,
        safety: RetrySafety,
        has_idempotency_key: bool,
        jitter_unit: f64,
    ) -> Decision {
        if retries_done >= self.max_retries {
            return Decision::GiveUp;
        }
        let safe_to_repeat = match safety {
            RetrySafety::Idempotent => true,
            RetrySafety::WithIdempotencyKey => has_idempotency_key,
            RetrySafety::Unsafe => false,
        };
        let retry = match failure {
            // Amazon did not process a throttled request: always safe.
            Failure::Status(429) => true,
            Failure::NotSent => true,
            Failure::Status(s) if is_retryable_status(s) => safe_to_repeat,
            Failure::Status(_) => false,
            Failure::NoAnswer => safe_to_repeat,
        };
        if !retry {
            return Decision::GiveUp;
        }
        let backoff = self.base.saturating_mul(1u32 << retries_done.min(16));
        let jitter = jitter_unit.clamp(0.0, 1.0) * self.max_jitter;
        Decision::Retry {
            after: backoff.mul_f64(1.0 + jitter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use RetrySafety::*;

    fn secs(s: f64) -> Decision {
        Retry {
            after: Duration::from_secs_f64(s),
        }
    }

    /// One row per case: (failure, retries done, safety, idempotency key, jitter, expected).
    #[test]
    fn decision_table() {
        let p = RetryPolicy::default();
        let table = [
            (Failure::Status(429), 0, Idempotent, false, 0.0, secs(1.0)),
            (Failure::Status(429), 1, Idempotent, false, 0.0, secs(2.0)),
            (Failure::Status(429), 2, Idempotent, false, 0.0, secs(4.0)),
            (Failure::Status(429), 3, Idempotent, false, 0.0, GiveUp),
            (Failure::Status(429), 0, Idempotent, false, 1.0, secs(1.25)),
            (Failure::Status(429), 2, Idempotent, false, 0.5, secs(4.5)),
            (Failure::Status(429), 0, Unsafe, false, 0.0, secs(1.0)),
            (Failure::Status(503), 0, Idempotent, false, 0.0, secs(1.0)),
            (Failure::Status(500), 1, Idempotent, false, 0.0, secs(2.0)),
            (Failure::Status(503), 0, Unsafe, false, 0.0, GiveUp),
            (
                Failure::Status(503),
                0,
                WithIdempotencyKey,
                false,
                0.0,
                GiveUp,
            ),
            (
                Failure::Status(503),
                0,
                WithIdempotencyKey,
                true,
                0.0,
                secs(1.0),
            ),
            (Failure::Status(400), 0, Idempotent, false, 0.0, GiveUp),
            (Failure::Status(403), 0, Idempotent, false, 0.0, GiveUp),
            (Failure::Status(404), 0, Idempotent, false, 0.0, GiveUp),
            (Failure::NotSent, 0, Unsafe, false, 0.0, secs(1.0)),
            (Failure::NoAnswer, 0, Unsafe, false, 0.0, GiveUp),
            (Failure::NoAnswer, 0, Idempotent, false, 0.0, secs(1.0)),
            (
                Failure::NoAnswer,
                1,
                WithIdempotencyKey,
                true,
                0.0,
                secs(2.0),
            ),
        ];
        for (i, (failure, done, safety, key, jitter, expected)) in table.into_iter().enumerate() {
            assert_eq!(
                p.decide(failure, done, safety, key, jitter),
                expected,
                "row {i}"
            );
        }
    }

    #[test]
    fn scaled_policy_keeps_the_shape() {
        let p = RetryPolicy::scaled(TimeScale::new(100.0));
        assert_eq!(
            p.decide(Failure::Status(429), 2, Idempotent, false, 0.0),
            Retry {
                after: Duration::from_millis(40)
            }
        );
    }

    #[test]
    fn jitter_never_exceeds_a_quarter() {
        let p = RetryPolicy::default();
        for j in [0.0, 0.3, 0.99, 5.0, -1.0] {
            let Retry { after } = p.decide(Failure::Status(500), 0, Idempotent, false, j) else {
                panic!()
            };
            assert!(after >= Duration::from_secs(1) && after <= Duration::from_millis(1250));
        }
    }
}
