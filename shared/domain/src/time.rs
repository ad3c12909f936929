//! Deadlines and time compression.
//!
//! A [`Deadline`] is the end of the current Lambda invocation (minus a safety
//! margin): nothing waits past it; work that cannot finish in time is handed
//! back as "resume later". A [`TimeScale`] compresses time for tests and the
//! demo: a speed of 1000 makes a 3-minute quota refill take 180 ms. Production
//! always runs at speed 1.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    pub fn at(at: Instant) -> Self {
        Self { at }
    }

    pub fn after(remaining: Duration) -> Self {
        Self {
            at: Instant::now() + remaining,
        }
    }

    /// From the Lambda context's deadline (milliseconds since the epoch) and
    /// the current epoch time, keeping `margin` for clean-up (writing a
    /// checkpoint, answering the runtime).
    pub fn from_epoch_millis(deadline_ms: u64, now_ms: u64, margin: Duration) -> Self {
        let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Self::after(remaining.saturating_sub(margin))
    }

    /// A deadline far away, for tools and tests that have no invocation limit.
    pub fn none() -> Self {
        Self::after(Duration::from_secs(365 * 24 * 3600))
    }

    pub fn instant(&self) -> Instant {
        self.at
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether waiting `wait` from now still ends before the deadline.
    pub fn allows(&self, wait: Duration) -> bool {
        Instant::now() + wait < self.at
    }

    pub fn is_past(&self) -> bool {
        Instant::now() >= self.at
    }
}

/// Time compression for tests and the demo. `speed` > 1 makes every quota
/// refill, back-off, breaker period and token lifetime that many times shorter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale {
    speed: f64,
}

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL
    }
}

impl TimeScale {
    pub const REAL: TimeScale = TimeScale { speed: 1.0 };

    /// `speed` is clamped to at least 1 (time is never stretched).
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed >= 1.0 {
            speed
        } else {
            1.0
        };
        Self { speed }
    }

    pub fn speed(self) -> f64 {
        self.speed
    }

    pub fn rate(self, per_second: f64) -> f64 {
        per_second * self.speed
    }

    pub fn duration(self, real: Duration) -> Duration {
        real.div_f64(self.speed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_scale_compresses_durations_and_speeds_up_rates() {
        let s = TimeScale::new(1000.0);
        assert_eq!(
            s.duration(Duration::from_secs(180)),
            Duration::from_millis(180)
        );
        assert!((s.rate(0.0056) - 5.6).abs() < 1e-9);
        assert_eq!(TimeScale::new(0.5).speed(), 1.0);
        assert_eq!(TimeScale::new(f64::NAN).speed(), 1.0);
    }

    #[test]
    fn deadline_from_lambda_context_keeps_a_margin() {
        let d = Deadline::from_epoch_millis(10_000, 4_000, Duration::from_secs(1));
        let r = d.remaining();
        assert!(
            r <= Duration::from_secs(5) && r > Duration::from_millis(4_900),
            "{r:?}"
        );
        assert!(d.allows(Duration::from_secs(4)));
        assert!(!d.allows(Duration::from_secs(6)));
        let past = Deadline::from_epoch_millis(1_000, 4_000, Duration::ZERO);
        assert!(past.is_past());
    }
}
