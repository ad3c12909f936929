//! Amazon's usage plans, simulated: one token bucket per (seller, operation),
//! starting full, refilled at the published (or overridden) rate times the
//! simulator's speed, and the per-(seller, operation) call metrics.
//!
//! Buckets refill with wall time only: advancing the simulator's clock (to get
//! past the two-minute rule) does not refill them.

use std::time::Instant;

use domain::Operation;
use serde::{Deserialize, Serialize};

/// A rate set by control instead of the published one (Amazon's "dynamic
/// usage plans"); `x-amzn-RateLimit-Limit` then reports it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateOverride {
    /// Requests per second, unscaled (as the header reports it).
    pub rate: f64,
    /// The burst; `None` keeps the published one.
    #[serde(default)]
    pub burst: Option<u32>,
}

/// The usage plan in force for one bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    pub rate: f64,
    pub burst: u32,
}

impl Plan {
    pub fn for_operation(op: Operation, over: Option<RateOverride>) -> Self {
        let spec = op.spec();
        match over {
            Some(o) => Plan {
                rate: o.rate,
                burst: o.burst.unwrap_or(spec.burst),
            },
            None => Plan {
                rate: spec.rate_per_sec,
                burst: spec.burst,
            },
        }
    }

    /// The header value: the unscaled rate as a decimal string (`0.0056`).
    pub fn header_value(&self) -> String {
        format!("{}", self.rate)
    }
}

#[derive(Clone, Debug)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(burst: u32, now: Instant) -> Self {
        Self {
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Refills for the time since the last call, then spends one token if
    /// there is one. `speed` multiplies the plan's rate.
    pub fn try_take(&mut self, plan: Plan, speed: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let burst = f64::from(plan.burst);
        self.tokens = (self.tokens + elapsed * plan.rate * speed).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the simulator counted for one (seller, operation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationMetrics {
    /// Every authenticated call.
    pub calls: u64,
    /// 2xx answers.
    pub ok: u64,
    /// 429 answers (quota, injected throttles and storms).
    pub throttled: u64,
    /// 400 and 404 answers.
    pub client_errors: u64,
    /// 5xx answers (injected).
    pub server_errors: u64,
    /// Of the 429s, those injected (a `Throttle` fault or a storm), not
    /// the quota's.
    #[serde(default)]
    pub injected_throttles: u64,
}

impl OperationMetrics {
    pub fn record(&mut self, status: u16) {
        self.calls += 1;
        match status {
            200..=299 => self.ok += 1,
            429 => self.throttled += 1,
            500..=599 => self.server_errors += 1,
            _ => self.client_errors += 1,
        }
    }
}

/// One row of [`crate::SimControl::metrics`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsRow {
    pub seller_id: String,
    /// Amazon's operationId, e.g. `searchOrders`.
    pub operation: String,
    #[serde(flatten)]
    pub metrics: OperationMetrics,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_spends_the_burst_then_refills_at_speed() {
        let t0 = Instant::now();
        let plan = Plan::for_operation(Operation::SearchOrders, None);
        let mut b = Bucket::full(plan.burst, t0);
        for _ in 0..20 {
            assert!(b.try_take(plan, 1000.0, t0));
        }
        assert!(!b.try_take(plan, 1000.0, t0));
        // 0.0056/s * 1000 = 5.6/s: one token after ~179 ms.
        assert!(!b.try_take(plan, 1000.0, t0 + Duration::from_millis(100)));
        assert!(b.try_take(plan, 1000.0, t0 + Duration::from_millis(300)));
        assert_eq!(plan.header_value(), "0.0056");
    }

    #[test]
    fn override_reports_its_rate_and_keeps_the_burst() {
        let o = RateOverride {
            rate: 0.5,
            burst: None,
        };
        let plan = Plan::for_operation(Operation::GetOrder, Some(o));
        assert_eq!(plan.header_value(), "0.5");
        assert_eq!(plan.burst, 30);
    }
}
