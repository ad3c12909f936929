//! The simulator's notions of time and its random ids, below everything
//! else: ISO timestamps as Amazon writes them, the [`Stamp`] lifetimes are
//! measured from (see `state` for the two clocks), random tokens.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// ISO 8601 UTC with whole seconds, as Amazon writes it (`2026-01-01T12:00:00Z`).
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A moment, remembered both as wall time and as the clock offset then.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub(crate) at: Instant,
    pub(crate) offset: TimeDelta,
}

impl Stamp {
    /// Now, with the clock `offset` control has advanced by.
    pub fn now(offset: TimeDelta) -> Self {
        Self {
            at: Instant::now(),
            offset,
        }
    }

    /// Wall time from `earlier` to this stamp.
    pub fn wall_since(&self, earlier: Stamp) -> Duration {
        self.at.saturating_duration_since(earlier.at)
    }

    /// Simulated time from `earlier` to this stamp: wall time × `speed` plus
    /// the clock advances in between (as `Inner::sim_elapsed` counts it).
    pub fn sim_since(&self, earlier: Stamp, speed: f64) -> Duration {
        let advanced = (self.offset - earlier.offset).to_std().unwrap_or_default();
        self.wall_since(earlier).mul_f64(speed) + advanced
    }
}

/// A random string of ASCII letters and digits.
pub fn random_token(len: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(len)
        .collect()
}
