//! A per-operation circuit breaker.
//!
//! After [`Breaker::THRESHOLD`] consecutive retryable failures (429/5xx/no
//! answer) the breaker opens for 4 s; when the period ends one probe call is
//! let through: success closes it, failure reopens it for twice as long, up to
//! 120 s. While open, callers get the time to come back instead of a call.
//! Times are passed in, so this is pure and table-testable.

use std::time::{Duration, Instant};

use crate::TimeScale;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Closed: call.
    Go,
    /// Half-open: this caller is the one probe.
    Probe,
    /// Open (or a probe is already out): come back after this long.
    Wait(Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

#[derive(Clone, Debug)]
pub struct Breaker {
    state: State,
    next_open: Duration,
    first_open: Duration,
    max_open: Duration,
}

impl Breaker {
    pub const THRESHOLD: u32 = 4;
    pub const FIRST_OPEN: Duration = Duration::from_secs(4);
    pub const MAX_OPEN: Duration = Duration::from_secs(120);

    pub fn new(scale: TimeScale) -> Self {
        let first_open = scale.duration(Self::FIRST_OPEN);
        Self {
            state: State::Closed { failures: 0 },
            next_open: first_open,
            first_open,
            max_open: scale.duration(Self::MAX_OPEN),
        }
    }

    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed { .. } => Admission::Go,
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen;
                Admission::Probe
            }
            State::Open { until } => Admission::Wait(until - now),
            // The probe is out; others wait a short while and ask again.
            State::HalfOpen => Admission::Wait(self.first_open / 4),
        }
    }

    pub fn on_success(&mut self) {
        self.state = State::Closed { failures: 0 };
        self.next_open = self.first_open;
    }

    /// A retryable failure (429, 5xx, no answer). Non-retryable answers are
    /// not the operation's fault and count as success for the breaker.
    pub fn on_failure(&mut self, now: Instant) {
        match self.state {
            State::Closed { failures } if failures + 1 < Self::THRESHOLD => {
                self.state = State::Closed {
                    failures: failures + 1,
                };
            }
            State::Closed { .. } | State::HalfOpen => self.open(now),
            // A late failure of a call started before opening: keep the period.
            State::Open { .. } => {}
        }
    }

    fn open(&mut self, now: Instant) {
        self.state = State::Open {
            until: now + self.next_open,
        };
        self.next_open = (self.next_open * 2).min(self.max_open);
    }

    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_probes_and_doubles_to_the_cap() {
        let t0 = Instant::now();
        let mut b = Breaker::new(TimeScale::REAL);
        for _ in 0..Breaker::THRESHOLD - 1 {
            b.on_failure(t0);
            assert_eq!(b.admit(t0), Admission::Go);
        }
        b.on_failure(t0);
        assert_eq!(b.admit(t0), Admission::Wait(Duration::from_secs(4)));
        // period over: exactly one probe
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(b.admit(t1), Admission::Probe);
        assert!(matches!(b.admit(t1), Admission::Wait(_)));
        // the probe fails: 8 s, then 16, 32, 64, 120, 120
        let mut now = t1;
        for expected in [8, 16, 32, 64, 120, 120] {
            b.on_failure(now);
            assert_eq!(b.admit(now), Admission::Wait(Duration::from_secs(expected)));
            now += Duration::from_secs(expected);
            assert_eq!(b.admit(now), Admission::Probe);
        }
        // the probe succeeds: closed, and the next opening starts at 4 s again
        b.on_success();
        assert_eq!(b.admit(now), Admission::Go);
        for _ in 0..Breaker::THRESHOLD {
            b.on_failure(now);
        }
        assert_eq!(b.admit(now), Admission::Wait(Duration::from_secs(4)));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(TimeScale::REAL);
        for _ in 0..10 {
            b.on_failure(t0);
            b.on_failure(t0);
            b.on_success();
        }
        assert_eq!(b.admit(t0), Admission::Go);
    }

    #[test]
    fn scaled_breaker_opens_for_compressed_periods() {
        let t0 = Instant::now();
        let mut b = Breaker::new(TimeScale::new(100.0));
        for _ in 0..Breaker::THRESHOLD {
            b.on_failure(t0);
        }
        assert_eq!(b.admit(t0), Admission::Wait(Duration::from_millis(40)));
    }
}
