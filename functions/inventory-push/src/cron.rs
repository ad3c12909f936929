//! EventBridge `cron(...)` expressions for a seller's own push schedule:
//! `cron(Minutes Hours Day-of-month Month Day-of-week Year)` in UTC, with
//! `*`, `?`, numbers, ranges `a-b`, lists `a,b`, steps `*/n`, `a/n`, `a-b/n`,
//! month names `JAN`–`DEC` and day names `SUN`–`SAT` (EventBridge numbers
//! days 1 = Sunday … 7 = Saturday). `L`, `W` and `#` are not supported: such
//! an expression does not parse, and the caller falls back to the default.
//!
//! The hourly fan-out asks [`Cron::fired_between`]: did the schedule fire
//! after the seller's last push and up to now? So a seller on
//! `cron(30 20 ? * MON-FRI *)` is pushed by the first fan-out after 20:30 on
//! weekdays.

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};

/// A parsed expression: the allowed values of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// `None` = `?` (the day is chosen by the day of the week).
    days_of_month: Option<Vec<bool>>,
    months: Vec<bool>,
    /// `None` = `?`; index 1 = Sunday … 7 = Saturday.
    days_of_week: Option<Vec<bool>>,
    /// `None` = `*`.
    years: Option<(i32, i32)>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The longest gap searched minute by minute; longer gaps are due anyway if
/// the schedule fires at all within it.
const SEARCH_LIMIT: TimeDelta = TimeDelta::days(32);

fn value(token: &str, names: &[&str], first: u32) -> Option<u32> {
    if let Ok(n) = token.parse::<u32>() {
        return Some(n);
    }
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(token))
        .map(|i| i as u32 + first)
}

/// One field: allowed values in `min..=max` as a table indexed by value.
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Option<Vec<bool>> {
    let mut allowed = vec![false; max as usize + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, min)?, value(b, names, min)?)
        } else {
            let v = value(range, names, min)?;
            // `a/n` runs from a to the end of the range.
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return None;
        }
        let mut v = lo;
        while v <= hi {
            allowed[v as usize] = true;
            v += step;
        }
    }
    Some(allowed)
}

impl Cron {
    /// `cron(...)` as EventBridge writes it; `None` for anything else or an
    /// unsupported form.
    pub fn parse(expr: &str) -> Option<Cron> {
        let inner = expr.trim().strip_prefix("cron(")?.strip_suffix(')')?;
        let parts: Vec<&str> = inner.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = parts.as_slice() else {
            return None;
        };
        // L, W and # (last, weekday, nth) are not supported; day and month
        // names (JUL, WED...) may contain those letters, so drop them first.
        let without_names = DAYS
            .iter()
            .chain(MONTHS.iter())
            .fold(inner.to_ascii_uppercase(), |acc, n| acc.replace(n, ""));
        if without_names.contains(['L', 'W', '#']) {
            return None;
        }
        let days_of_month = match *dom {
            "?" => None,
            d => Some(field(d, 1, 31, &[])?),
        };
        let days_of_week = match *dow {
            "?" => None,
            d => Some(field(d, 1, 7, &DAYS)?),
        };
        // EventBridge: exactly one of the two day fields is `?`.
        if days_of_month.is_some() == days_of_week.is_some() {
            return None;
        }
        let years = match *year {
            "*" => None,
            y => {
                let (a, b) = match y.split_once('-') {
                    Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                    None => {
                        let v = y.parse().ok()?;
                        (v, v)
                    }
                };
                Some((a, b))
            }
        };
        Some(Cron {
            minutes: field(minutes, 0, 59, &[])?,
            hours: field(hours, 0, 23, &[])?,
            days_of_month,
            months: field(month, 1, 12, &MONTHS)?,
            days_of_week,
            years,
        })
    }

    /// Whether the schedule fires at minute `t` (seconds ignored).
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        let day_ok = match (&self.days_of_month, &self.days_of_week) {
            (Some(dom), _) => dom[t.day() as usize],
            (None, Some(dow)) => dow[t.weekday().num_days_from_sunday() as usize + 1],
            (None, None) => true,
        };
        self.minutes[t.minute() as usize]
            && self.hours[t.hour() as usize]
            && self.months[t.month() as usize]
            && day_ok
            && self.years.is_none_or(|(a, b)| (a..=b).contains(&t.year()))
    }

    /// Whether the schedule fired at some minute after `after` and up to
    /// `until` (both UTC).
    pub fn fired_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> bool {
        let from = after.max(until - SEARCH_LIMIT);
        let Some(mut t) = from
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .map(|t| t + TimeDelta::minutes(1))
        else {
            return false;
        };
        while t <= until {
            if self.matches(t) {
                return true;
            }
            t += TimeDelta::minutes(1);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn parses_what_eventbridge_writes_and_refuses_the_rest() {
        for ok in [
            "cron(0 20 * * ? *)",
            "cron(30 20 ? * MON-FRI *)",
            "cron(0/15 * * * ? *)",
            "cron(0 8,12,18 ? * 2-6 *)",
            "cron(0 6 1 JAN-MAR ? 2026-2030)",
            "cron(0 */6 ? * WED *)",
        ] {
            assert!(Cron::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "rate(1 hour)",
            "cron(0 20 * * * *)",
            "cron(0 20 ? * ? *)",
            "cron(0 20 L * ? *)",
            "cron(0 20 ? * 6#3 *)",
            "cron(0 20 15W * ? *)",
            "cron(60 20 * * ? *)",
            "cron(0 20 * * ?)",
            "cron(0 20 * FOO ? *)",
        ] {
            assert!(Cron::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn matches_minutes_days_and_weekdays() {
        let daily = Cron::parse("cron(0 20 * * ? *)").unwrap();
        assert!(daily.matches(at(2026, 11, 24, 20, 0)));
        assert!(!daily.matches(at(2026, 11, 24, 20, 1)));
        let weekdays = Cron::parse("cron(30 20 ? * MON-FRI *)").unwrap();
        // 2026-11-24 is a Tuesday, 2026-11-28 a Saturday.
        assert!(weekdays.matches(at(2026, 11, 24, 20, 30)));
        assert!(!weekdays.matches(at(2026, 11, 28, 20, 30)));
        let sunday = Cron::parse("cron(0 9 ? * 1 *)").unwrap();
        assert!(sunday.matches(at(2026, 11, 29, 9, 0)), "1 = Sunday");
        let quarter = Cron::parse("cron(0/15 * * * ? *)").unwrap();
        assert!(quarter.matches(at(2026, 11, 24, 3, 45)));
        assert!(!quarter.matches(at(2026, 11, 24, 3, 50)));
        let years = Cron::parse("cron(0 6 1 JAN ? 2027)").unwrap();
        assert!(!years.matches(at(2026, 1, 1, 6, 0)));
        assert!(years.matches(at(2027, 1, 1, 6, 0)));
    }

    #[test]
    fn fired_between_is_after_exclusive_until_inclusive() {
        let daily = Cron::parse("cron(30 20 * * ? *)").unwrap();
        let last = at(2026, 11, 23, 21, 0);
        assert!(!daily.fired_between(last, at(2026, 11, 24, 20, 0)));
        assert!(daily.fired_between(last, at(2026, 11, 24, 21, 0)));
        assert!(daily.fired_between(last, at(2026, 11, 24, 20, 30)));
        assert!(!daily.fired_between(at(2026, 11, 24, 20, 30), at(2026, 11, 24, 21, 0)));
        let never_again = Cron::parse("cron(0 6 1 JAN ? 2020)").unwrap();
        assert!(!never_again.fired_between(last, at(2026, 12, 31, 0, 0)));
    }
}
