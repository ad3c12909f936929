//! When a seller's push and its SKU reconciliation are due: the schedule
//! expressions a seller may set (`rate(...)`, `cron(...)`) and the defaults
//! (the evening push in the seller's time zone, the weekly reconciliation).

use chrono::{DateTime, Utc};

/// How often each seller's SKUs are reconciled.
pub const RECONCILE_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// `rate(N minute|minutes|hour|hours|day|days)`.
pub fn parse_rate(expr: &str) -> Option<chrono::Duration> {
    let inner = expr.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let mut parts = inner.split_whitespace();
    let n: i64 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    match parts.next()?.trim_end_matches('s') {
        "minute" => Some(chrono::Duration::minutes(n)),
        "hour" => Some(chrono::Duration::hours(n)),
        "day" => Some(chrono::Duration::days(n)),
        _ => None,
    }
}

/// See [`Pusher::fan_out`]: whether a seller's push is due at `now`.
pub fn is_due(
    default_hour: u32,
    schedule: Option<&str>,
    time_zone: &str,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    use chrono::Timelike;
    let Some(last) = last else { return true };
    let since = now - last;
    if let Some(every) = schedule.and_then(parse_rate) {
        // A little slack so an hourly rate on an hourly schedule is not skipped.
        return since >= every - chrono::Duration::minutes(5);
    }
    if let Some(cron) = schedule.and_then(crate::cron::Cron::parse) {
        return cron.fired_between(last, now);
    }
    if let Some(expr) = schedule {
        tracing::warn!(
            schedule = expr,
            "unsupported schedule expression; using the default daily push"
        );
    }
    // Settings are validated, so the zone parses; UTC if it ever does not.
    let local_hour = domain::zone::local_hour(time_zone, now).unwrap_or_else(|| now.hour());
    (local_hour == default_hour && since >= chrono::Duration::hours(12))
        || since >= chrono::Duration::hours(25)
}

/// Whether a seller's weekly SKU reconciliation is due: at `hour` in its
/// time zone (03:00 by default, away from the evening push) once the last
/// one is [`RECONCILE_EVERY`] old (12 hours of slack), or whenever it is a
/// day overdue; a seller never reconciled waits for that hour too.
pub fn reconcile_is_due(
    hour: u32,
    time_zone: &str,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    use chrono::Timelike;
    let local_hour = domain::zone::local_hour(time_zone, now).unwrap_or_else(|| now.hour());
    match last {
        None => local_hour == hour,
        Some(last) => {
            let since = now - last;
            (local_hour == hour && since >= RECONCILE_EVERY - chrono::TimeDelta::hours(12))
                || since >= RECONCILE_EVERY + chrono::TimeDelta::days(1)
        }
    }
}
