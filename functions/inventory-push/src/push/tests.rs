use super::*;

#[test]
fn rates_parse() {
    assert_eq!(parse_rate("rate(1 hour)"), Some(chrono::Duration::hours(1)));
    assert_eq!(
        parse_rate("rate(30 minutes)"),
        Some(chrono::Duration::minutes(30))
    );
    assert_eq!(parse_rate("rate(2 days)"), Some(chrono::Duration::days(2)));
    assert_eq!(parse_rate("cron(0 20 * * ? *)"), None);
    assert_eq!(parse_rate("rate(0 hours)"), None);
}

#[test]
fn unknown_skus_are_recognised_by_code_not_by_message() {
    assert!(is_unknown_sku_code("4000001"));
    // A message that *says* "not found" under another code is a rejection.
    assert!(!is_unknown_sku_code("8541"));
    assert!(!is_unknown_sku_code("4000002"));
}

#[test]
fn codes_are_listed_most_frequent_first() {
    let by_code = BTreeMap::from([
        ("4000002".to_string(), 1),
        ("4000001".to_string(), 3),
        ("90220".to_string(), 1),
    ]);
    assert_eq!(codes(&by_code), "4000001: 3, 4000002: 1, 90220: 1");
}

#[test]
fn the_reconciliation_is_weekly_at_3_in_the_sellers_time_zone() {
    use chrono::TimeZone;
    let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0).unwrap();
    // Berlin in winter: 03:00 local is 02:00 UTC.
    assert!(reconcile_is_due(3, "Europe/Berlin", None, at(5, 2)));
    assert!(!reconcile_is_due(3, "Europe/Berlin", None, at(5, 3)));
    assert!(reconcile_is_due(
        3,
        "Europe/Berlin",
        Some(at(5, 2)),
        at(12, 2)
    ));
    assert!(
        !reconcile_is_due(3, "Europe/Berlin", Some(at(6, 2)), at(12, 2)),
        "six days"
    );
    assert!(
        reconcile_is_due(3, "Europe/Berlin", Some(at(1, 2)), at(9, 10)),
        "a day overdue runs at any hour"
    );
}

#[test]
fn the_default_push_is_at_20_in_the_sellers_own_time_zone() {
    use chrono::TimeZone;
    let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0).unwrap();
    let summer = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 7, d, h, 0, 0).unwrap();
    let due = |tz: &str, last, now| is_due(20, None, tz, Some(last), now);
    // UTC: 20:00 UTC.
    assert!(due("UTC", at(1, 20), at(2, 20)));
    assert!(!due("UTC", at(2, 5), at(2, 19)));
    // Berlin: 20:00 local is 19:00 UTC in winter, 18:00 UTC in summer.
    assert!(due("Europe/Berlin", at(1, 19), at(2, 19)));
    assert!(!due("Europe/Berlin", at(2, 5), at(2, 20)));
    assert!(due("Europe/Berlin", summer(1, 18), summer(2, 18)));
    assert!(!due("Europe/Berlin", summer(2, 5), summer(2, 19)));
    // Los Angeles: 20:00 PST is 04:00 UTC the next day.
    assert!(due("America/Los_Angeles", at(1, 4), at(2, 4)));
    assert!(!due("America/Los_Angeles", at(1, 21), at(2, 20)));
    // Not twice in one evening, and never more than 25 hours apart.
    assert!(!due("Europe/Berlin", at(2, 18), at(2, 19)));
    assert!(due("Europe/Berlin", at(1, 10), at(2, 11)));
    // A first run is always due; an own schedule stays UTC.
    assert!(is_due(20, None, "Europe/Berlin", None, at(2, 3)));
    assert!(is_due(
        20,
        Some("cron(0 20 * * ? *)"),
        "Europe/Berlin",
        Some(at(1, 20)),
        at(2, 20)
    ));
}
