//! Issue 17, item 7: the SKU reconciliation end to end — the inventory-push
//! function (wired from template.yaml) against moto, the simulator's
//! listings and a fake WMS stock endpoint: the weekly job from the hourly
//! fan-out, its gauges and kept report, the operator CLI's `skus reconcile`
//! and `skus report`, Amazon's 1000-item search cap narrowed by creation
//! date, and a scan that cannot finish saying so instead of guessing.

use std::time::Duration;

use chrono::{TimeDelta, Timelike, Utc};
use connector_admin::Context;
use domain::{Deadline, Operation};
use spapi_sim::ListingSpec;
use tests::admin::{context_for, run_line};
use tests::emf::{documents, total};
use tests::inventory::{PushRig, client_code};
use tests::sim::{UK, add_seller_in};

/// The operator CLI against the rig's stack and simulator.
fn cli(rig: &PushRig) -> Context {
    context_for(&rig.stack, &rig.sim)
}

/// Amazon: 130 merchant-fulfilled listings (SKU-000..SKU-129) created over
/// the last days, plus one only Amazon has, one fulfilled by Amazon and a
/// closed one; the WMS: SKU-000..SKU-129 (SKU-007 under its own name,
/// mapped), one only it has, and the FBA SKU.
async fn seed(rig: &PushRig, seller: &tests::sim::TestSeller) {
    let start = Utc::now() - TimeDelta::days(10);
    let mut listings: Vec<ListingSpec> = (0..130)
        .map(|n| {
            ListingSpec::new(&format!("SKU-{n:03}"), 1)
                .created_at(start + TimeDelta::minutes(90 * n as i64))
        })
        .collect();
    listings.push(ListingSpec::new("AMAZON-ONLY", 3));
    listings.push(ListingSpec::new("FBA-MUG", 9).fba("AMAZON_EU"));
    listings.push(ListingSpec::new("CLOSED-CUP", 0).inactive());
    rig.sim
        .control()
        .seed_listings(&seller.seller_id, listings)
        .unwrap();
    // Amazon takes no merchant quantity for a listing it fulfils.
    rig.sim
        .control()
        .refuse_listing(
            &seller.seller_id,
            "FBA-MUG",
            "90220",
            "The fulfillment channel of this listing is Amazon.",
        )
        .unwrap();
    let mut stock: Vec<(String, u32, u32)> = (0..130)
        .filter(|n| *n != 7)
        .map(|n| (format!("SKU-{n:03}"), 2, 2))
        .collect();
    stock.push(("WMS-007".into(), 2, 2));
    stock.push(("WMS-ONLY".into(), 5, 5));
    stock.push(("FBA-MUG".into(), 1, 1));
    let refs: Vec<(&str, u32, u32)> = stock.iter().map(|(s, a, b)| (s.as_str(), *a, *b)).collect();
    rig.wms.set_stock(&client_code(seller), &refs);
}

#[tokio::test]
async fn the_weekly_job_reports_skus_on_one_side_and_mappings_that_point_nowhere() {
    let mut rig = PushRig::new("feat-skus-weekly", 1000.0).await;
    let seller = add_seller_in(&rig.sim, "A1SKURECSELLER", &[UK], true);
    rig.onboard(&seller, |s| {
        s.time_zone = "UTC".into();
        s.inventory
            .sku_map
            .insert("WMS-007".into(), "SKU-007".into());
        s.inventory
            .sku_map
            .insert("WMS-RETIRED".into(), "SKU-001".into());
        s.inventory
            .sku_map
            .insert("WMS-ONLY".into(), "AMZ-NEVER-LISTED".into());
    })
    .await;
    seed(&rig, &seller).await;
    // Amazon pages through 50 per search here: the scan must narrow by date.
    rig.sim.control().set_listings_search_cap(50);

    // The hourly fan-out enqueues the reconciliation at 03:00 in the seller's zone.
    let now = rig.sim.control().now();
    rig.pusher.options.reconcile_hour = (now.hour() + 1) % 24;
    let fanout = rig.schedule().await;
    assert_eq!(fanout["reconciliations"], 0, "not the hour: {fanout}");
    rig.pusher.options.reconcile_hour = now.hour(); // the seller's zone: UTC
    let fanout = rig.schedule().await;
    assert_eq!(fanout["reconciliations"], 1, "{fanout}");
    let results = rig.run_jobs(5).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");

    // What it kept.
    let kept = rig
        .pusher
        .last_reconciliation(&domain::SellerId::new(&seller.seller_id).unwrap())
        .await
        .unwrap()
        .expect("a report");
    let report = kept.report.unwrap();
    assert!(report.complete, "{:?}", report.incomplete_reason);
    assert!(
        report.windows > 3,
        "the 1000-item cap (50 here) split the search: {}",
        report.windows
    );
    assert_eq!(report.amazon_listings, 133);
    assert_eq!(report.only_on_amazon.skus, ["AMAZON-ONLY"]);
    assert_eq!(report.only_in_wms.as_ref().unwrap().skus, ["WMS-ONLY"]);
    assert_eq!(report.not_mfn_on_amazon.as_ref().unwrap().skus, ["FBA-MUG"]);
    let dangling: Vec<(&str, &str)> = report
        .dangling_mappings
        .iter()
        .map(|d| (d.wms_sku.as_str(), d.reason.as_str()))
        .collect();
    assert_eq!(
        dangling,
        [
            ("WMS-ONLY", "amazon_sku_unlisted"),
            ("WMS-RETIRED", "wms_sku_unknown")
        ]
    );
    assert_eq!(report.matched, 130, "SKU-007 through the map");

    // Its gauges, per seller.
    let docs = documents(&rig.metrics);
    let of = |m: &str| total(&docs, m, &[("Seller", seller.seller_id.as_str())]);
    assert_eq!(of("SkusOnlyOnAmazon"), 1.0);
    assert_eq!(of("SkusOnlyInWms"), 1.0);
    assert_eq!(of("SkuMapDangling"), 2.0);

    // Not again until next week; the push itself still runs when due.
    let fanout = rig.schedule().await;
    assert_eq!(fanout["reconciliations"], 0, "{fanout}");

    // The operator reads the kept report: exit 4, the SKUs named.
    let ctx = cli(&rig);
    let shown = run_line(
        &ctx,
        &format!(
            "connector-admin --stage prod skus report {}",
            seller.seller_id
        ),
    )
    .await;
    assert_eq!(shown.code, 4, "{}\n{}", shown.out, shown.err);
    for sku in ["AMAZON-ONLY", "WMS-ONLY", "FBA-MUG", "WMS-RETIRED"] {
        assert!(shown.out.contains(sku), "{sku}:\n{}", shown.out);
    }
    assert!(shown.err.contains("sku_map"), "{}", shown.err);

    // Fixed on both sides (the mapped SKU listed, the others stocked, the
    // mug merchant-fulfilled), a reconciliation now passes.
    rig.sim
        .control()
        .seed_listings(
            &seller.seller_id,
            vec![
                ListingSpec::new("AMZ-NEVER-LISTED", 0),
                ListingSpec::new("FBA-MUG", 9),
            ],
        )
        .unwrap();
    let mut stock: Vec<(String, u32, u32)> = (0..130)
        .filter(|n| *n != 7)
        .map(|n| (format!("SKU-{n:03}"), 2, 2))
        .collect();
    for s in [
        "WMS-007",
        "WMS-ONLY",
        "FBA-MUG",
        "AMAZON-ONLY",
        "WMS-RETIRED",
    ] {
        stock.push((s.into(), 1, 1));
    }
    let refs: Vec<(&str, u32, u32)> = stock.iter().map(|(s, a, b)| (s.as_str(), *a, *b)).collect();
    rig.wms.set_stock(&client_code(&seller), &refs);
    let run = run_line(
        &ctx,
        &format!(
            "connector-admin --stage prod --json skus reconcile {}",
            seller.seller_id
        ),
    )
    .await;
    let doc: serde_json::Value =
        serde_json::from_str(&run.out).unwrap_or_else(|e| panic!("{e}: {}", run.out));
    assert_eq!(run.code, 0, "{doc:#}\n{}", run.err);
    assert_eq!(doc["only_on_amazon"]["count"], 0, "{doc:#}");
    assert_eq!(doc["only_in_wms"]["count"], 0, "{doc:#}");
    assert!(doc["dangling_mappings"].as_array().unwrap().is_empty());
    // The CLI's run is the kept report now.
    let shown = run_line(
        &ctx,
        &format!(
            "connector-admin --stage prod skus report {}",
            seller.seller_id
        ),
    )
    .await;
    assert_eq!(shown.code, 0, "{}\n{}", shown.out, shown.err);
}

#[tokio::test]
async fn a_scan_that_cannot_finish_reports_only_what_it_knows() {
    let rig = PushRig::new("feat-skus-partial", 1000.0).await;
    let seller = add_seller_in(&rig.sim, "A1SKUPARTIAL", &[UK], true);
    rig.onboard(&seller, |_| {}).await;
    // 15 listings created in the same second, a cap of 10: no window can hold them.
    let at = Utc::now() - TimeDelta::days(2);
    let listings = (0..15)
        .map(|n| ListingSpec::new(&format!("BULK-{n:02}"), 1).created_at(at))
        .collect();
    rig.sim
        .control()
        .seed_listings(&seller.seller_id, listings)
        .unwrap();
    rig.sim.control().set_listings_search_cap(10);
    rig.wms.set_stock(&client_code(&seller), &[("WMS-A", 1, 1)]);
    let report = rig
        .pusher
        .reconcile_skus(
            &seller.seller_id,
            &Deadline::after(Duration::from_secs(300)),
            false,
        )
        .await
        .unwrap();
    assert!(!report.complete);
    assert!(
        report
            .incomplete_reason
            .as_deref()
            .unwrap()
            .contains("within one second"),
        "{:?}",
        report.incomplete_reason
    );
    assert!(report.only_in_wms.is_none(), "never guessed");
    assert_eq!(report.listings_read, 10);

    // Out of time before the first call: nothing read, nothing claimed.
    let calls = rig
        .sim
        .control()
        .operation_metrics(&seller.seller_id, Operation::SearchListingsItems)
        .calls;
    let report = rig
        .pusher
        .reconcile_skus(
            &seller.seller_id,
            &Deadline::after(Duration::from_secs(15)),
            false,
        )
        .await
        .unwrap();
    assert!(!report.complete && report.only_in_wms.is_none());
    assert!(report.incomplete_reason.unwrap().contains("skus reconcile"));
    assert_eq!(
        rig.sim
            .control()
            .operation_metrics(&seller.seller_id, Operation::SearchListingsItems)
            .calls,
        calls
    );
    // A CLI run with nothing kept yet says so.
    let none = run_line(
        &cli(&rig),
        &format!(
            "connector-admin --stage prod skus report {}",
            seller.seller_id
        ),
    )
    .await;
    assert_eq!(none.code, 3, "{}", none.err);
    assert!(none.err.contains("skus reconcile"), "{}", none.err);
}

/// Measured (README, "Measured"): a catalogue over Amazon's 1000-item cap is
/// read whole, the search narrowed by creation date as often as needed.
#[tokio::test]
async fn a_catalogue_beyond_amazons_cap_is_read_whole() {
    let rig = PushRig::new("feat-skus-large", 1000.0).await;
    let seller = add_seller_in(&rig.sim, "A1SKULARGE", &[UK], true);
    rig.onboard(&seller, |_| {}).await;
    let start = Utc::now() - TimeDelta::days(400);
    let n = 2_500;
    let listings = (0..n)
        .map(|i| {
            ListingSpec::new(&format!("BIG-{i:05}"), 1)
                .created_at(start + TimeDelta::minutes(i as i64 * 200))
        })
        .collect();
    rig.sim
        .control()
        .seed_listings(&seller.seller_id, listings)
        .unwrap();
    let stock: Vec<String> = (0..n).map(|i| format!("BIG-{i:05}")).collect();
    let refs: Vec<(&str, u32, u32)> = stock.iter().map(|s| (s.as_str(), 1, 1)).collect();
    rig.wms.set_stock(&client_code(&seller), &refs);
    let started = std::time::Instant::now();
    let report = rig
        .pusher
        .reconcile_skus(
            &seller.seller_id,
            &Deadline::after(Duration::from_secs(600)),
            false,
        )
        .await
        .unwrap();
    println!(
        "{n} listings: {} searchListingsItems calls, {} date windows, {:?} here (Amazon's 5 calls/s would take about {} s)",
        report.calls,
        report.windows,
        started.elapsed(),
        report.calls / 5
    );
    assert!(report.complete, "{:?}", report.incomplete_reason);
    assert_eq!(report.listings_read, n);
    assert_eq!((report.matched, report.problems()), (n, 0));
    let pages = n.div_ceil(20) as u32;
    assert!(
        report.calls < pages + 2 * report.windows,
        "{} calls for {pages} pages",
        report.calls
    );
}
