//! Guarantees 5 and 6 for the order pull: in steady state at Amazon's
//! published rates (no time compression) there is no 429 and about one
//! `searchOrders` call per 100 orders, no per-order call; buyer data is never
//! logged and never stored (the ledger keeps ids, SKUs and quantities only,
//! with a TTL).

use std::time::Duration;

use domain::Operation;
use order_pull::Mode;
use spapi_sim::CancelSpec;
use tests::logs::LogCapture;
use tests::pull::PullRig;
use tests::sim::{CLIENT_SECRET, add_seller, seed_orders};

#[tokio::test(flavor = "current_thread")]
async fn a_full_pull_logs_and_stores_no_buyer_data() {
    let (logs, _guard) = LogCapture::start();
    let rig = PullRig::new("pull-pii", 1000.0).await;
    let seller = add_seller(&rig.sim, "A1PULLPII", true);
    rig.onboard(&seller, |_| {}).await;
    let ids = seed_orders(&rig.sim, &seller, 120);
    rig.settle();
    rig.schedule().await;
    rig.run_jobs(5).await;
    rig.sim
        .control()
        .cancel(&seller.seller_id, &ids[0], CancelSpec::default())
        .unwrap();
    rig.settle();
    rig.pull(&seller, Mode::Incremental).await;
    let delivered = rig.drain_wms().await;
    assert_eq!(delivered.len(), 121, "120 orders and one cancellation");
    // The buyer data did travel: the WMS got it.
    let wms::OrderMessage::Created(first) = &delivered[0] else {
        panic!("order.created first");
    };
    assert!(first.ship_to.name.expose().starts_with("Test Buyer"));

    let forbidden = [
        "Test Buyer",
        "Buyer Street",
        "@marketplace.amazon.de",
        "+49 30 555",
        "Atza|",
        "Atzr|",
        CLIENT_SECRET,
    ];
    assert!(
        logs.text().contains("order sent to the WMS"),
        "the run was captured"
    );
    logs.assert_free_of(&forbidden);

    // Nothing in the table holds buyer data; ledger entries expire.
    let items = rig
        .stack
        .dynamo()
        .scan()
        .table_name(&rig.stack.table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let mut ledger = 0;
    for item in &items {
        let text = format!("{item:?}");
        for needle in &forbidden[..4] {
            assert!(
                !text.contains(needle),
                "the table stores {needle:?}: {text}"
            );
        }
        if item["sk"].as_s().is_ok_and(|s| s.starts_with("ORDER#")) {
            ledger += 1;
            assert!(item.contains_key("expires_at"), "ledger entries have a TTL");
        }
    }
    assert_eq!(ledger, 120);
}

#[tokio::test]
async fn steady_state_at_published_rates_has_no_429_and_one_call_per_100_orders() {
    // speed 1: Amazon's real searchOrders quota (0.0056/s, burst 20).
    let rig = PullRig::new("pull-steady", 1.0).await;
    let seller = add_seller(&rig.sim, "A1PULLSTEADY", true);
    rig.onboard(&seller, |_| {}).await;
    let mut total = 0;
    // Four scheduled runs, 15 minutes apart, 150 new orders before each.
    for run in 0..4u32 {
        let specs = (0..150)
            .map(|i| tests::sim::test_order(run * 1000 + i + 1, tests::sim::DE))
            .collect();
        rig.sim
            .control()
            .seed_orders(&seller.seller_id, specs)
            .unwrap();
        total += 150;
        rig.sim
            .control()
            .advance_clock(Duration::from_secs(15 * 60));
        rig.schedule().await;
        let runs = rig.run_jobs(10).await;
        assert!(runs.iter().all(|r| r.is_ok()), "{runs:?}");
    }
    let delivered = rig.drain_wms().await;
    assert_eq!(delivered.len(), total);
    let c = rig.sim.control();
    let search = c.operation_metrics(&seller.seller_id, Operation::SearchOrders);
    let get = c.operation_metrics(&seller.seller_id, Operation::GetOrder);
    let per_100 = search.calls as f64 * 100.0 / total as f64;
    eprintln!(
        "steady state: {total} orders, {} searchOrders calls ({per_100:.2} per 100 orders), {} getOrder calls, {} × 429",
        search.calls, get.calls, search.throttled
    );
    assert_eq!(search.throttled, 0, "{search:?}");
    assert_eq!(get.calls, 0, "no per-order call");
    assert!(
        per_100 <= 1.5,
        "{per_100} searchOrders calls per 100 orders"
    );
}
