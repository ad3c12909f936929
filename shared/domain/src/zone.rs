//! Time zones by IANA name (a seller's `time_zone`): the one place the
//! connector turns a local day or hour into UTC and back. Backed by jiff's
//! bundled copy of the IANA database (compressed bytes in the binary, parsed
//! per zone on first use: no OS files are read, so Lambda's image does not
//! need tzdata, and the binary carries no table of pointers for the loader
//! to relocate at every start; BENCHMARKS.md, "Init").

use chrono::{DateTime, NaiveDate, Utc};
use jiff::tz::TimeZone;

/// A time zone the connector knows, looked up once by its IANA name.
#[derive(Clone, Debug)]
pub struct Zone(TimeZone);

impl Zone {
    /// The zone named `name` (e.g. `UTC`, `Europe/Berlin`); `None` if the
    /// database has no such zone.
    pub fn named(name: &str) -> Option<Zone> {
        jiff::tz::db().get(name).ok().map(Zone)
    }

    /// The first instant of `date` here: its local midnight, or — where a
    /// clock change skips midnight — the first local time after it; the
    /// first of two midnights where the clock goes back over it. `None`
    /// only for a date outside the database's range.
    pub fn start_of_day(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        use chrono::Datelike;
        let civil = jiff::civil::Date::new(
            i16::try_from(date.year()).ok()?,
            i8::try_from(date.month()).ok()?,
            i8::try_from(date.day()).ok()?,
        )
        .ok()?
        .at(0, 0, 0, 0);
        // `compatible`: a gap resolves to the instant after it, a fold to the
        // first of the two.
        let instant = self.0.to_ambiguous_timestamp(civil).compatible().ok()?;
        DateTime::from_timestamp(
            instant.as_second(),
            instant.subsec_nanosecond().unsigned_abs(),
        )
    }

    /// The local hour (0–23) of `at` here; `None` only for an instant
    /// outside the database's range.
    pub fn local_hour(&self, at: DateTime<Utc>) -> Option<u32> {
        let instant = jiff::Timestamp::from_second(at.timestamp()).ok()?;
        u32::try_from(instant.to_zoned(self.0.clone()).hour()).ok()
    }
}

/// Whether `name` is a time zone the connector knows.
pub fn is_known(name: &str) -> bool {
    Zone::named(name).is_some()
}

/// The local hour (0–23) of `at` in the zone `name`; `None` for an unknown
/// zone.
pub fn local_hour(name: &str, at: DateTime<Utc>) -> Option<u32> {
    Zone::named(name)?.local_hour(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn start_of_day(name: &str, date: NaiveDate) -> Option<DateTime<Utc>> {
        Zone::named(name)?.start_of_day(date)
    }

    #[test]
    fn names_are_iana_names() {
        for known in [
            "UTC",
            "Europe/Berlin",
            "America/Los_Angeles",
            "Asia/Tokyo",
            "Australia/Sydney",
        ] {
            assert!(is_known(known), "{known}");
        }
        for unknown in ["", "Mars/Olympus", "CEST+2", "europe/berlin "] {
            assert!(!is_known(unknown), "{unknown:?}");
        }
    }

    #[test]
    fn midnight_in_winter_summer_and_across_the_date_line() {
        assert_eq!(
            start_of_day("UTC", day(2026, 3, 1)),
            Some(utc("2026-03-01T00:00:00Z"))
        );
        assert_eq!(
            start_of_day("Europe/Berlin", day(2026, 3, 1)),
            Some(utc("2026-02-28T23:00:00Z"))
        );
        assert_eq!(
            start_of_day("Europe/Berlin", day(2026, 7, 1)),
            Some(utc("2026-06-30T22:00:00Z"))
        );
        assert_eq!(
            start_of_day("America/Los_Angeles", day(2026, 3, 1)),
            Some(utc("2026-03-01T08:00:00Z"))
        );
        assert_eq!(
            start_of_day("Pacific/Auckland", day(2026, 1, 1)),
            Some(utc("2025-12-31T11:00:00Z"))
        );
        assert_eq!(start_of_day("Mars/Olympus", day(2026, 1, 1)), None);
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_when_the_clocks_resume() {
        // Chile moved its clocks from 00:00 to 01:00 on 2022-09-11: the
        // day began at 01:00 -03, 04:00 UTC.
        assert_eq!(
            start_of_day("America/Santiago", day(2022, 9, 11)),
            Some(utc("2022-09-11T04:00:00Z"))
        );
        // Back from 00:00 to 23:00 on 2022-04-03: the 2nd's last hour came
        // twice, the 3rd's midnight once, at -04.
        assert_eq!(
            start_of_day("America/Santiago", day(2022, 4, 3)),
            Some(utc("2022-04-03T04:00:00Z"))
        );
    }

    #[test]
    fn local_hours_follow_summer_time() {
        assert_eq!(
            local_hour("Europe/Berlin", utc("2026-01-15T19:00:00Z")),
            Some(20)
        );
        assert_eq!(
            local_hour("Europe/Berlin", utc("2026-07-15T18:00:00Z")),
            Some(20)
        );
        assert_eq!(
            local_hour("Asia/Kolkata", utc("2026-07-15T18:29:00Z")),
            Some(23)
        );
        assert_eq!(
            local_hour("Asia/Kolkata", utc("2026-07-15T18:30:00Z")),
            Some(0)
        );
        assert_eq!(
            local_hour("Nowhere/Land", utc("2026-07-15T18:30:00Z")),
            None
        );
    }
}
