//! The functions' EMF metrics, read back from what their real handlers
//! wrote during a simulated run (moto + the SP-API simulator): every
//! document valid EMF, values summed as CloudWatch would.

use std::time::Duration;

use domain::Operation;
use order_pull::Mode;
use serde_json::json;
use spapi_sim::ListingSpec;
use tests::emf::{documents, total, with};
use tests::inventory::{PushRig, client_code};
use tests::labels::{LabelRig, package};
use tests::pull::rig_with_seller;
use tests::ship::ShipRig;
use tests::sim::{Fault, FaultTarget, add_seller, seed_orders};

/// No dimension value or member of any document carries an order id, a SKU
/// or buyer data.
fn assert_no_business_data(lines: &[String]) {
    for line in lines {
        for needle in ["302-", "SKU-", "Test Buyer", "Buyer Street", "PKG-"] {
            assert!(!line.contains(needle), "{needle:?} in a metric: {line}");
        }
    }
}

#[tokio::test]
async fn an_order_pull_writes_the_orders_a_429_and_a_dead_letter() {
    let (rig, seller) = rig_with_seller("metrics-pull", "A1METRICSPULL").await;
    seed_orders(&rig.sim, &seller, 150);
    rig.settle();
    // Amazon throttles the first searchOrders once: retried, then answered.
    rig.sim
        .control()
        .inject_fault(
            FaultTarget::Operation(Operation::SearchOrders),
            Fault::Throttle,
        )
        .unwrap();
    // The schedule fans out one job; the job queue runs it: page 1, then
    // (the rig's 60 s deadline leaves no room for another page) a follow-up
    // job for page 2.
    let fan_out = rig.schedule().await;
    assert_eq!(fan_out["jobs"], 1, "{fan_out}");
    let runs = rig.run_jobs(10).await;
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.is_ok()), "{runs:?}");
    assert_eq!(rig.drain_wms().await.len(), 150);
    // A job for a seller nobody onboarded is dead-lettered.
    rig.stack
        .sqs()
        .send_message()
        .queue_url(&rig.config.job_queue_url)
        .message_body(r#"{"seller_id": "A1NOBODY", "mode": "incremental"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(rig.run_jobs(10).await.len(), 1);

    let docs = documents(&rig.metrics);
    let stage = rig.config.common.stage.as_str();
    let pull = [
        ("Stage", stage),
        ("Job", "order-pull"),
        ("Seller", "A1METRICSPULL"),
    ];
    assert_eq!(total(&docs, "OrdersSeen", &pull), 150.0);
    assert_eq!(total(&docs, "OrdersSent", &pull), 150.0);
    assert_eq!(
        total(&docs, "OrderPullRuns", &pull),
        1.0,
        "one job finished the window, the first was continued"
    );
    assert_eq!(total(&docs, "OrdersHeld", &pull), 0.0);
    assert_eq!(total(&docs, "CancellationsSent", &pull), 0.0);
    let search = [("Stage", stage), ("Operation", "searchOrders")];
    assert_eq!(
        total(&docs, "SpApiCalls", &search),
        3.0,
        "page 1 twice (429, then the retry) and page 2"
    );
    assert_eq!(total(&docs, "SpApiThrottled", &search), 1.0);
    assert_eq!(total(&docs, "SpApiRetries", &search), 1.0);
    assert_eq!(total(&docs, "SpApiErrors", &search), 0.0);
    let job = [("Stage", stage), ("Job", "order-pull")];
    assert_eq!(total(&docs, "DeadLettered", &job), 1.0);
    for d in with(&docs, "DeadLettered") {
        assert_eq!(
            d.sets_of("DeadLettered"),
            [vec!["Stage".to_string(), "Job".to_string()]]
        );
    }
    for d in with(&docs, "OrdersSent") {
        assert_eq!(
            d.sets_of("OrdersSent"),
            [
                vec!["Stage".to_string(), "Job".to_string()],
                vec!["Stage".to_string(), "Job".to_string(), "Seller".to_string()],
            ]
        );
    }
    for d in with(&docs, "SpApiCalls") {
        assert_eq!(d.unit_of("SpApiCalls"), Some("Count"));
        assert_eq!(
            d.sets_of("SpApiCalls"),
            [
                vec!["Stage".to_string()],
                vec!["Stage".to_string(), "Operation".to_string()],
            ]
        );
    }
    // The first fan-out found no checkpoint: the seller starts at age 0.
    let ages = with(&docs, "OrderPullMaxAgeSeconds");
    assert_eq!(ages.len(), 1);
    assert_eq!(ages[0].values["OrderPullMaxAgeSeconds"], 0.0);
    assert_eq!(ages[0].unit_of("OrderPullMaxAgeSeconds"), Some("Seconds"));

    // The next fan-out measures the pull that finished: now − done_until.
    rig.metrics.take();
    let again = rig.schedule().await;
    let age = again["max_pull_age_seconds"].as_u64().expect("the age");
    assert!(age >= 130, "the window ended 130 s before the pull: {age}");
    let docs = documents(&rig.metrics);
    assert_eq!(
        total(&docs, "OrderPullMaxAgeSeconds", &[("Stage", stage)]),
        age as f64
    );
    assert_eq!(
        total(
            &docs,
            "OrderPullAgeSeconds",
            &[("Stage", stage), ("Seller", "A1METRICSPULL")]
        ),
        age as f64
    );
    assert_no_business_data(&rig.metrics.lines());
}

#[tokio::test]
async fn a_seller_whose_first_pull_has_not_finished_ages_from_its_start() {
    let (rig, seller) = rig_with_seller("metrics-first", "A1METRICSFIRST").await;
    seed_orders(&rig.sim, &seller, 150);
    rig.settle();
    let before = rig.sim.control().now();
    // 60 s left: one page, then the job stops and leaves a follow-up.
    let first = rig
        .try_pull(
            &seller,
            Mode::Incremental,
            domain::Deadline::after(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert!(
        matches!(first.outcome, order_pull::Outcome::Continued { .. }),
        "{first:?}"
    );
    let fan_out = rig.schedule().await;
    let elapsed = (rig.sim.control().now() - before).num_seconds() as u64;
    let age = fan_out["max_pull_age_seconds"].as_u64().expect("the age");
    // Counted from when the first window began (simulated time runs 1000×:
    // the page's moto round trips alone are minutes), not from the seller's
    // start date 30 days back, nor 0 as for a seller with no checkpoint.
    assert!(age > 0 && age <= elapsed, "{age} s, {elapsed} s elapsed");
    let docs = documents(&rig.metrics);
    assert_eq!(
        total(
            &docs,
            "OrderPullAgeSeconds",
            &[("Seller", "A1METRICSFIRST")]
        ),
        age as f64
    );
    assert_eq!(
        total(&docs, "OrderPullRuns", &[("Seller", "A1METRICSFIRST")]),
        0.0,
        "the window is not finished"
    );
    assert_eq!(
        total(&docs, "OrdersSent", &[("Seller", "A1METRICSFIRST")]),
        100.0
    );
}

#[tokio::test]
async fn a_revoked_authorisation_is_an_authorization_failure_of_the_seller() {
    let (rig, seller) = rig_with_seller("metrics-revoked", "A1METRICSREVOKED").await;
    rig.sim
        .control()
        .revoke_refresh_token(&seller.seller_id)
        .unwrap();
    rig.pull(&seller, Mode::Incremental).await;
    let docs = documents(&rig.metrics);
    let stage = rig.config.common.stage.as_str();
    assert_eq!(
        total(
            &docs,
            "AuthorizationFailures",
            &[("Stage", stage), ("Seller", "A1METRICSREVOKED")]
        ),
        1.0
    );
    let search = [("Stage", stage), ("Operation", "searchOrders")];
    assert_eq!(total(&docs, "SpApiErrors", &search), 1.0);
    assert_eq!(
        total(&docs, "SpApiCalls", &search),
        0.0,
        "no request reached Amazon"
    );
}

#[tokio::test]
async fn shipment_confirmations_and_a_refused_message() {
    let rig = ShipRig::new("metrics-ship", "A1METRICSSHIP", 2).await;
    let good = rig.message(1, "PKG-1", "DHL", &[]);
    let unknown = tests::ship::shipment(
        &rig.seller.seller_id,
        "MG302-9999999-9999999",
        "PKG-X",
        "DHL",
        None,
        "TRACK-X",
        &[],
    );
    rig.batch(&[good, unknown]).await.expect("the batch");
    assert_eq!(rig.dead_letters().await.len(), 1);
    let docs = documents(&rig.metrics);
    let stage = rig.config.common.stage.as_str();
    let seller = [
        ("Stage", stage),
        ("Job", "shipment-confirm"),
        ("Seller", "A1METRICSSHIP"),
    ];
    assert_eq!(total(&docs, "ConfirmationsAccepted", &seller), 1.0);
    assert_eq!(total(&docs, "ConfirmationsRejected", &seller), 0.0);
    assert_eq!(
        total(
            &docs,
            "DeadLettered",
            &[("Stage", stage), ("Job", "shipment-confirm")]
        ),
        1.0
    );
    assert_eq!(
        total(
            &docs,
            "SpApiCalls",
            &[("Stage", stage), ("Operation", "confirmShipment")]
        ),
        1.0
    );
    assert_eq!(docs.len(), 3, "one flush: seller, job, operation: {docs:?}");
    assert_no_business_data(&rig.metrics.lines());
}

#[tokio::test]
async fn skus_pushed_and_rejected_by_patch_then_by_feed() {
    let mut rig = PushRig::new("metrics-inv", 1000.0).await;
    let seller = add_seller(&rig.sim, "A1METRICSINV", false);
    rig.sim
        .control()
        .seed_listings(
            "A1METRICSINV",
            vec![ListingSpec::new("A", 0), ListingSpec::new("B", 0)],
        )
        .unwrap();
    rig.onboard(&seller, |_| {}).await;
    let code = client_code(&seller);
    rig.wms
        .set_stock(&code, &[("A", 3, 3), ("B", 4, 4), ("NOT-LISTED", 1, 1)]);
    let first = rig.push(&seller).await;
    assert_eq!((first.via.as_str(), first.rejected), ("patch", 1));
    let stage = rig.config.common.stage.clone();
    let seller_dims = [
        ("Stage", stage.as_str()),
        ("Job", "inventory-push"),
        ("Seller", "A1METRICSINV"),
    ];
    let docs = documents(&rig.metrics);
    assert_eq!(total(&docs, "SkusPushed", &seller_dims), 2.0);
    assert_eq!(total(&docs, "SkusRejected", &seller_dims), 1.0);
    assert_eq!(
        total(
            &docs,
            "SpApiCalls",
            &[
                ("Stage", stage.as_str()),
                ("Operation", "patchListingsItem")
            ]
        ),
        3.0
    );
    // More changes than the patch threshold: one feed, settled next run.
    rig.pusher.options.patch_threshold = 1;
    rig.wms
        .set_stock(&code, &[("A", 5, 5), ("B", 6, 6), ("NOT-LISTED", 2, 2)]);
    rig.metrics.take();
    let second = rig.push(&seller).await;
    assert_eq!(second.feeds_submitted.len(), 1, "{second:?}");
    rig.sim.control().advance_clock(Duration::from_secs(120));
    let third = rig.push(&seller).await;
    assert_eq!((third.accepted, third.rejected), (2, 1), "{third:?}");
    let docs = documents(&rig.metrics);
    assert_eq!(total(&docs, "FeedsSubmitted", &seller_dims), 1.0);
    assert_eq!(total(&docs, "SkusPushed", &seller_dims), 2.0);
    assert_eq!(total(&docs, "SkusRejected", &seller_dims), 1.0);
    assert_eq!(total(&docs, "FeedErrors", &seller_dims), 0.0);
    assert_no_business_data(&rig.metrics.lines());
}

#[tokio::test]
async fn labels_bought_replayed_and_failed() {
    let rig = LabelRig::new("metrics-labels").await;
    let number = rig.seed_order(3);
    let rates = rig
        .rates(&number, vec![package("PKG-3", "1", &[("SKU-3-A", 1)])])
        .await;
    let request = rig.purchase_request(
        "PKG-3",
        &rates.request_token,
        &rates.offers[0].rate_id,
        "PDF",
    );
    assert!(rig.invoke(request.clone()).await.ok);
    assert!(rig.invoke(request).await.label.expect("replayed").replayed);
    // A purchase of a rate nobody quoted, and one that breaks the contract.
    let bad_rate = rig.purchase_request("PKG-4", &rates.request_token, "no-such-rate", "PDF");
    assert!(!rig.invoke(bad_rate).await.ok);
    let broken = json!({"schema": 1, "operation": "purchase", "seller_id": rig.seller.seller_id});
    assert!(!rig.invoke(broken).await.ok);

    let docs = documents(&rig.metrics);
    let stage = rig.config.common.stage.as_str();
    let seller = [
        ("Stage", stage),
        ("Job", "labels"),
        ("Seller", "A1LABELSELLER"),
    ];
    assert_eq!(total(&docs, "LabelsBought", &seller), 1.0);
    assert_eq!(total(&docs, "LabelsReplayed", &seller), 1.0);
    assert_eq!(total(&docs, "LabelsFailed", &seller), 1.0);
    assert_eq!(
        total(
            &docs,
            "LabelsFailed",
            &[("Stage", stage), ("Job", "labels")]
        ),
        2.0,
        "the request that broke the contract names no verified seller"
    );
    assert_eq!(
        total(
            &docs,
            "SpApiCalls",
            &[("Stage", stage), ("Operation", "purchaseShipment")]
        ),
        1.0
    );
    assert_no_business_data(&rig.metrics.lines());
}
