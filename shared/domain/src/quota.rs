//! Token buckets that mirror Amazon's usage plans, per (seller, operation).
//!
//! Amazon refills `rate` tokens per second up to `burst`; every call spends
//! one. We keep our own copy of each bucket, shared by every concurrent Lambda
//! through a [`BucketStore`] (DynamoDB in production), so that we spend a
//! token *before* Amazon would, and never get a 429 in steady state.
//!
//! Safety margins (why they exist):
//! - the refill rate we use is [`RATE_SAFETY`] of the published or observed
//!   rate, because our clock and Amazon's differ by network latency;
//! - a token taken from the shared bucket may be used a little later (a
//!   process may lease several tokens of a fast operation for at most
//!   [`LEASE_WINDOW`]), so the burst we allow is reduced by the largest lease
//!   ([`Limits::for_operation`]); a delayed spend can then never push Amazon's
//!   bucket below zero.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Operation, PortError, TimeScale};

/// Fraction of the published (or observed) rate we allow ourselves.
pub const RATE_SAFETY: f64 = 0.95;
/// How long a process may hold leased tokens before it must drop them.
pub const LEASE_WINDOW: Duration = Duration::from_millis(250);

/// Whose bucket: a seller (or `app` for grantless calls) and an operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BucketKey {
    pub scope: String,
    pub operation: Operation,
}

impl BucketKey {
    pub fn new(scope: impl Into<String>, operation: Operation) -> Self {
        Self {
            scope: scope.into(),
            operation,
        }
    }
}

impl fmt::Display for BucketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.scope, self.operation.name())
    }
}

/// The limits a bucket is run with, already scaled and with margins applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Tokens per (wall-clock) second.
    pub rate_per_sec: f64,
    /// Most tokens the bucket holds.
    pub burst: f64,
    /// Most tokens one process takes at once (1 for slow operations).
    pub lease: u32,
}

impl Limits {
    /// Limits for `op`: the observed rate (from `x-amzn-RateLimit-Limit`) when
    /// known, else the published one; compressed by `scale`; with margins.
    pub fn for_operation(op: Operation, observed_rate: Option<f64>, scale: TimeScale) -> Self {
        let spec = op.spec();
        let rate = observed_rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .unwrap_or(spec.rate_per_sec);
        let rate = scale.rate(rate) * RATE_SAFETY;
        let burst = f64::from(spec.burst);
        let max_lease = (spec.burst / 5).max(1);
        let lease = ((rate * LEASE_WINDOW.as_secs_f64()).floor() as u32).clamp(1, max_lease);
        // Keep back the tokens a lease (or one in-flight call) could spend late.
        let reserve = f64::from(lease.max(1));
        Self {
            rate_per_sec: rate,
            burst: (burst - reserve).max(1.0),
            lease,
        }
    }
}

/// A bucket's stored state. `updated_ms` is wall-clock epoch milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketState {
    pub tokens: f64,
    pub updated_ms: i64,
}

/// What a take gives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TakeOutcome {
    /// `granted` tokens (≥ 1) were spent; the bucket is now `state`.
    Granted { granted: u32, state: BucketState },
    /// Not even one token: try again at `retry_at_ms`.
    Empty { retry_at_ms: i64 },
}

impl BucketState {
    pub fn full(limits: &Limits, now_ms: i64) -> Self {
        Self {
            tokens: limits.burst,
            updated_ms: now_ms,
        }
    }

    /// The state at `now_ms`: refilled, capped at the burst. Clocks that step
    /// backwards never add tokens.
    pub fn refilled(&self, limits: &Limits, now_ms: i64) -> Self {
        let elapsed_ms = (now_ms - self.updated_ms).max(0) as f64;
        let tokens = (self.tokens + limits.rate_per_sec * elapsed_ms / 1000.0).min(limits.burst);
        Self {
            tokens,
            updated_ms: self.updated_ms.max(now_ms),
        }
    }

    /// Spend up to `want` tokens (at least one) at `now_ms`.
    pub fn take(&self, limits: &Limits, want: u32, now_ms: i64) -> TakeOutcome {
        let current = self.refilled(limits, now_ms);
        if current.tokens >= 1.0 {
            let granted = (current.tokens.floor() as u32).clamp(1, want.max(1));
            TakeOutcome::Granted {
                granted,
                state: BucketState {
                    tokens: current.tokens - f64::from(granted),
                    updated_ms: current.updated_ms,
                },
            }
        } else {
            let missing = 1.0 - current.tokens;
            let wait_ms = if limits.rate_per_sec > 0.0 {
                (missing / limits.rate_per_sec * 1000.0).ceil() as i64
            } else {
                i64::MAX / 4
            };
            TakeOutcome::Empty {
                retry_at_ms: current.updated_ms + wait_ms.max(1),
            }
        }
    }
}

/// The shared bucket state (DynamoDB in production, memory in unit tests).
/// `take` must be atomic across processes: two concurrent takes never spend
/// the same token.
#[async_trait::async_trait]
pub trait BucketStore: Send + Sync {
    async fn take(
        &self,
        key: &BucketKey,
        limits: &Limits,
        want: u32,
        now_ms: i64,
    ) -> Result<TakeOutcome, PortError>;

    /// Record the rate Amazon reported in `x-amzn-RateLimit-Limit`
    /// (requests per real second) so every process uses it.
    async fn observe_rate(&self, key: &BucketKey, rate_per_sec: f64) -> Result<(), PortError>;

    /// The last rate recorded by `observe_rate`, if any.
    async fn observed_rate(&self, key: &BucketKey) -> Result<Option<f64>, PortError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: f64, burst: f64) -> Limits {
        Limits {
            rate_per_sec: rate,
            burst,
            lease: 1,
        }
    }

    #[test]
    fn a_full_bucket_grants_up_to_want_and_then_waits_for_refill() {
        let l = limits(2.0, 5.0);
        let s = BucketState::full(&l, 0);
        let TakeOutcome::Granted { granted, state } = s.take(&l, 3, 0) else {
            panic!("expected tokens")
        };
        assert_eq!(granted, 3);
        assert_eq!(state.tokens, 2.0);
        let TakeOutcome::Granted { granted, state } = state.take(&l, 10, 0) else {
            panic!("expected tokens")
        };
        assert_eq!(granted, 2);
        // empty: one token at 2/s takes 500 ms
        assert_eq!(
            state.take(&l, 1, 0),
            TakeOutcome::Empty { retry_at_ms: 500 }
        );
        assert!(matches!(
            state.take(&l, 1, 500),
            TakeOutcome::Granted { granted: 1, .. }
        ));
    }

    #[test]
    fn refill_is_capped_and_ignores_clocks_going_back() {
        let l = limits(1.0, 3.0);
        let s = BucketState {
            tokens: 0.0,
            updated_ms: 10_000,
        };
        assert_eq!(s.refilled(&l, 1_000_000).tokens, 3.0);
        let back = s.refilled(&l, 5_000);
        assert_eq!(back.tokens, 0.0);
        assert_eq!(back.updated_ms, 10_000);
    }

    #[test]
    fn limits_apply_scale_margin_and_lease() {
        // searchOrders: 0.0056/s burst 20, at speed 1000 -> 5.32/s, lease 1, burst 19
        let l = Limits::for_operation(Operation::SearchOrders, None, TimeScale::new(1000.0));
        assert!((l.rate_per_sec - 5.32).abs() < 1e-9, "{l:?}");
        assert_eq!(l.lease, 1);
        assert_eq!(l.burst, 19.0);
        // purchaseShipment: 80/s burst 100 -> 76/s, lease floor(76*0.25)=19, burst 81
        let l = Limits::for_operation(Operation::PurchaseShipment, None, TimeScale::REAL);
        assert_eq!(l.lease, 19);
        assert_eq!(l.burst, 81.0);
        // an observed rate from the header wins over the published one
        let l = Limits::for_operation(Operation::GetOrder, Some(2.0), TimeScale::REAL);
        assert!((l.rate_per_sec - 1.9).abs() < 1e-9);
        // nonsense observations are ignored
        let l = Limits::for_operation(Operation::GetOrder, Some(f64::NAN), TimeScale::REAL);
        assert!((l.rate_per_sec - 0.475).abs() < 1e-9);
    }

    #[test]
    fn spending_never_exceeds_burst_plus_refill() {
        // Simulate a greedy taker polling every 7 ms for 10 s.
        let l = limits(3.0, 4.0);
        let mut s = BucketState::full(&l, 0);
        let mut spent = 0u32;
        let mut t = 0;
        while t <= 10_000 {
            if let TakeOutcome::Granted { granted, state } = s.take(&l, 2, t) {
                spent += granted;
                s = state;
            }
            t += 7;
        }
        let allowed = 4.0 + 3.0 * 10.0;
        assert!(f64::from(spent) <= allowed, "{spent} > {allowed}");
        assert!(f64::from(spent) >= allowed - 1.0, "{spent} too few");
    }
}
