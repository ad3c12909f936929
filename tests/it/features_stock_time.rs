//! Issue 17, item 6, on moto and the simulator: the hourly fan-out of the
//! inventory push gives a seller with no schedule of its own its daily job
//! at 20:00 in the seller's time zone — not at 20:00 UTC.

use std::time::Duration;

use chrono::Timelike;
use tests::inventory::PushRig;
use tests::sim::add_seller;

/// A fixed-offset IANA zone in which `utc_hour` is `local_hour` o'clock.
fn zone_where(utc_hour: u32, local_hour: u32) -> String {
    let offset = (i64::from(local_hour) - i64::from(utc_hour)).rem_euclid(24);
    // Etc/GMT-N is UTC+N (POSIX sign); offsets run from -12 to +14.
    let offset = if offset > 14 { offset - 24 } else { offset };
    match offset {
        0 => "Etc/UTC".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

#[tokio::test]
async fn the_daily_push_runs_at_20_in_the_sellers_own_time_zone() {
    let rig = PushRig::new("feat-stock-local-time", 1000.0).await;
    let evening = add_seller(&rig.sim, "A1STOCKEVENING", false);
    let morning = add_seller(&rig.sim, "A1STOCKMORNING", false);
    let c = rig.sim.control().clone();
    // Both pushed once now (a first run is always due).
    rig.onboard(&evening, |_| {}).await;
    rig.onboard(&morning, |_| {}).await;
    rig.schedule().await;
    rig.run_jobs(4).await;

    // Thirteen hours later, minute 5 of the hour (the hourly schedule's).
    c.advance_clock(Duration::from_secs(13 * 3600));
    let now = c.now();
    c.advance_clock(Duration::from_secs(
        u64::from((65 - now.minute()) % 60) * 60,
    ));
    let hour = c.now().hour();
    // It is 20:xx where one seller is and 08:xx where the other is.
    rig.onboard(&evening, |s| s.time_zone = zone_where(hour, 20))
        .await;
    rig.onboard(&morning, |s| s.time_zone = zone_where(hour, 8))
        .await;
    let out = rig.schedule().await;
    assert_eq!(out["jobs"], 1, "{out}");
    let answers = rig.run_jobs(2).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(answers[0].is_ok(), "{answers:?}");
    assert!(pushed_within_the_hour(&rig, "A1STOCKEVENING").await);
    assert!(!pushed_within_the_hour(&rig, "A1STOCKMORNING").await);
    // An hour later neither is due again (the evening seller ran today).
    c.advance_clock(Duration::from_secs(3600));
    assert_eq!(rig.schedule().await["jobs"], 0);
}

/// Whether the seller's last push ran less than an hour ago (simulator time).
async fn pushed_within_the_hour(rig: &PushRig, seller: &str) -> bool {
    use store::Checkpoints;
    let seller = domain::SellerId::new(seller).unwrap();
    rig.store
        .get_checkpoint(&seller, "inventory-push")
        .await
        .unwrap()
        .and_then(|c| c.value["last_run_at"].as_str().map(str::to_string))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .is_some_and(|t| {
            rig.sim.control().now() - t.with_timezone(&chrono::Utc) < chrono::TimeDelta::hours(1)
        })
}

#[test]
fn the_zones_used_put_the_hour_where_asked() {
    for utc in 0..24 {
        for local in [8, 20] {
            let t =
                chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 1, utc, 5, 0).unwrap();
            assert_eq!(
                domain::zone::local_hour(&zone_where(utc, local), t),
                Some(local),
                "{utc} -> {local}"
            );
        }
    }
}
