//! Issue 15 against moto and the simulator: ORDER_CHANGE notifications bring
//! orders to the WMS at once through the order pull's own per-order step,
//! exactly once whichever path sees an order first — with duplicates,
//! out-of-order and lost notifications, ineligible and unknown orders,
//! malformed messages (dead-lettered with their reason), Pending orders
//! released, cancellations and buyers' cancellation requests, bursts
//! coalesced into one pull without a 429, setup that is idempotent, and the
//! backstop's cadence and silence alarm.

use std::time::Duration;

use domain::Operation;
use domain::settings::OrderStatus;
use lambda_kit::metrics::{NOTIFICATIONS_SILENT_SELLERS, ORDER_TO_WMS_DELAY};
use notifications::subscriptions::{Change, SubscribeError, seller_status, subscribe_seller};
use order_pull::Mode;
use serde_json::{Value, json};
use spapi_sim::{CancelSpec, FulfilledBy, NotificationDelivery};
use store::{PullNotes, SettingsStore};
use tests::emf::{documents, total};
use tests::notify::NotifyRig;
use tests::sim::{DE, TestSeller, add_seller, add_seller_in, test_order};
use wms::OrderMessage;

async fn rig(name: &str, seller_id: &str) -> (NotifyRig, TestSeller) {
    let rig = NotifyRig::new(name, 1000.0).await;
    let seller = add_seller(&rig.pull.sim, seller_id, true);
    rig.onboard_subscribed(&seller, |_| {}).await;
    (rig, seller)
}

fn seed(rig: &NotifyRig, seller: &TestSeller, from: u32, to: u32) -> Vec<String> {
    let specs = (from..=to).map(|n| test_order(n, DE)).collect();
    rig.pull
        .sim
        .control()
        .seed_orders(&seller.seller_id, specs)
        .expect("seed")
}

fn get_orders(rig: &NotifyRig, seller: &TestSeller) -> u64 {
    rig.pull
        .sim
        .control()
        .operation_metrics(&seller.seller_id, Operation::GetOrder)
        .calls
}

fn kinds(messages: &[OrderMessage]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| (m.kind().to_string(), m.amazon_order_id().to_string()))
        .collect()
}

fn assert_exactly_once(rig: &NotifyRig) {
    for ((kind, number), count) in rig.pull.delivered_counts() {
        assert_eq!(count, 1, "{kind} {number} reached the WMS {count} times");
    }
}

/// An ORDER_CHANGE body as Amazon sends it, for hand-made cases.
fn body(seller: &str, order: &str, kind: &str, fulfillment: &str, id: &str) -> String {
    json!({
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": "2026-09-01T10:00:01.000Z",
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": seller,
            "AmazonOrderId": order,
            "OrderChangeType": kind,
            "OrderChangeTrigger": {"TimeOfOrderChange": "2026-09-01T10:00:00.000Z", "ChangeReason": "test"},
            "Summary": {"MarketplaceId": DE, "OrderStatus": "Unshipped", "PurchaseDate": "2026-09-01T10:00:00.000Z",
                "DestinationPostalCode": "10115", "FulfillmentType": fulfillment, "OrderType": "StandardOrder",
                "OrderItems": []}
        }},
        "NotificationMetadata": {"ApplicationId": "app", "SubscriptionId": "sub",
            "PublishTime": "2026-09-01T10:00:01.000Z", "NotificationId": id}
    })
    .to_string()
}

#[tokio::test]
async fn an_order_reaches_the_wms_from_its_notification_and_the_pull_finds_it_sent() {
    let (logs, _guard) = tests::logs::LogCapture::start();
    let (rig, seller) = rig("notify-basic", "A1NOTIFYBASIC").await;
    let ids = seed(&rig, &seller, 1, 3);
    rig.deliver().await;
    let got = rig.pull.drain_wms().await;
    let mut created: Vec<String> = got
        .iter()
        .filter(|m| m.kind() == "order.created")
        .map(|m| m.amazon_order_id().to_string())
        .collect();
    created.sort();
    assert_eq!(created, ids, "every new order at once, no pull ran");
    assert_eq!(get_orders(&rig, &seller), 3, "one getOrder per hint");
    // The backstop later finds them sent and sends nothing.
    rig.pull.settle();
    let pulled = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!((pulled.sent, pulled.already_sent), (0, 3), "{pulled:?}");
    rig.pull.drain_wms().await;
    assert_exactly_once(&rig);
    // Metrics: sent by the notification path, each with its delay.
    let docs = documents(&rig.metrics);
    let job = [("Job", "notifications")];
    assert_eq!(total(&docs, "OrdersSent", &job), 3.0);
    assert_eq!(total(&docs, "NotificationsReceived", &job), 3.0);
    assert_eq!(total(&docs, "OrdersFetched", &job), 3.0);
    let delays: usize = docs
        .iter()
        .filter(|d| d.dimension("Job") == Some("notifications"))
        .filter_map(|d| d.samples.get(ORDER_TO_WMS_DELAY))
        .map(Vec::len)
        .sum();
    assert_eq!(delays, 3);
    assert!(
        docs.iter()
            .any(|d| d.samples.contains_key("NotificationPublishDelay")),
        "Amazon's delivery delay is measured"
    );
    // Nothing was missed: the backstop counted nothing.
    let (_, health) = rig
        .notifier
        .state
        .notify_state(&domain::SellerId::new(&seller.seller_id).unwrap())
        .await
        .unwrap();
    assert_eq!((health.received, health.missed), (3, 0));
    // The payload names the buyer's postal code and the orders carry the
    // buyer: none of it is logged.
    assert!(logs.lines() > 10, "the capture works");
    logs.assert_free_of(&["Test Buyer", "Buyer Street", "\"10115\"", "test-buyer-"]);
}

#[tokio::test]
async fn duplicates_are_dropped_by_notification_id() {
    let (rig, seller) = rig("notify-dupes", "A1NOTIFYDUPES").await;
    rig.pull
        .sim
        .control()
        .set_notification_delivery(NotificationDelivery {
            duplicates: 1.0,
            automatic: false,
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..NotificationDelivery::default()
        });
    seed(&rig, &seller, 1, 4);
    rig.deliver().await;
    assert_eq!(rig.pull.sim.control().notification_stats().delivered, 8);
    rig.pull.drain_wms().await;
    assert_eq!(rig.pull.delivered_counts().len(), 4);
    assert_exactly_once(&rig);
    assert_eq!(
        get_orders(&rig, &seller),
        4,
        "a duplicate costs no getOrder"
    );
    let docs = documents(&rig.metrics);
    assert_eq!(
        total(&docs, "NotificationsDuplicate", &[("Job", "notifications")]),
        4.0
    );
}

#[tokio::test]
async fn out_of_order_notifications_never_send_a_cancelled_order_and_send_a_released_one_once() {
    let (rig, seller) = rig("notify-order", "A1NOTIFYORDER").await;
    let c = rig.pull.sim.control();
    c.hold_notifications();
    // Created then cancelled before anything was delivered...
    let cancelled = seed(&rig, &seller, 1, 1).remove(0);
    c.set_status(&seller.seller_id, &cancelled, OrderStatus::Cancelled)
        .unwrap();
    // ...and Pending then Unshipped.
    let mut pending = test_order(2, DE);
    pending.status = Some(OrderStatus::Pending);
    let released = c.seed_order(&seller.seller_id, pending).unwrap();
    c.set_status(&seller.seller_id, &released, OrderStatus::Unshipped)
        .unwrap();
    // The newest first.
    assert_eq!(c.release_notifications(true), 4);
    rig.deliver().await;
    let got = rig.pull.drain_wms().await;
    assert_eq!(
        kinds(&got),
        [("order.created".to_string(), released.clone())],
        "the cancelled order never reaches the WMS, the released one once"
    );
    rig.pull.settle();
    let pulled = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!(pulled.sent, 0, "{pulled:?}");
    assert_exactly_once(&rig);
}

#[tokio::test]
async fn a_pending_order_is_held_then_released_at_once_when_it_becomes_unshipped() {
    let (rig, seller) = rig("notify-pending", "A1NOTIFYPENDING").await;
    let c = rig.pull.sim.control();
    let mut spec = test_order(1, DE);
    spec.status = Some(OrderStatus::Pending);
    let id = c.seed_order(&seller.seller_id, spec).unwrap();
    rig.deliver().await;
    assert!(rig.pull.drain_wms().await.is_empty(), "Pending is held");
    let notes = rig
        .pull
        .store
        .notes(
            &domain::SellerId::new(&seller.seller_id).unwrap(),
            &domain::AmazonOrderId::new(&id).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(notes.len(), 1, "the order's history says it was held");
    c.set_status(&seller.seller_id, &id, OrderStatus::Unshipped)
        .unwrap();
    rig.deliver().await;
    let got = rig.pull.drain_wms().await;
    assert_eq!(kinds(&got), [("order.created".to_string(), id)]);
}

#[tokio::test]
async fn cancellations_and_buyers_cancellation_requests_reach_the_wms_once() {
    let (rig, seller) = rig("notify-cancel", "A1NOTIFYCANCEL").await;
    let c = rig.pull.sim.control();
    let ids = seed(&rig, &seller, 1, 2);
    rig.deliver().await;
    rig.pull.drain_wms().await;
    // The buyer asks to cancel order 1; Amazon cancels order 2.
    c.cancel(
        &seller.seller_id,
        &ids[0],
        CancelSpec {
            request_only: true,
            reason: Some("Ordered by mistake".into()),
            ..CancelSpec::default()
        },
    )
    .unwrap();
    c.set_status(&seller.seller_id, &ids[1], OrderStatus::Cancelled)
        .unwrap();
    rig.deliver().await;
    let got = rig.pull.drain_wms().await;
    let mut k = kinds(&got);
    k.sort();
    assert_eq!(
        k,
        [
            ("order.cancel_requested".to_string(), ids[0].clone()),
            ("order.cancelled".to_string(), ids[1].clone()),
        ]
    );
    let OrderMessage::CancelRequested(request) = got
        .iter()
        .find(|m| m.kind() == "order.cancel_requested")
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(request.scope, wms::CancelScope::Order);
    assert_eq!(request.reason.as_deref(), Some("Ordered by mistake"));
    // The same notification again, and the backstop: nothing new.
    c.notify_order_change(&seller.seller_id, &ids[0], true)
        .unwrap();
    rig.deliver().await;
    rig.pull.settle();
    let pulled = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!((pulled.cancellations, pulled.cancel_requests), (0, 0));
    rig.pull.drain_wms().await;
    assert_exactly_once(&rig);
}

#[tokio::test]
async fn with_wms_cancel_requests_off_a_request_is_noted_not_sent() {
    let rig = NotifyRig::new("notify-nocancel", 1000.0).await;
    let seller = add_seller(&rig.pull.sim, "A1NOTIFYNOCANCEL", true);
    rig.onboard_subscribed(&seller, |_| {}).await;
    let mut off = rig.notifier.clone();
    off.handoff.options.cancel_requests = false;
    let ids = seed(&rig, &seller, 1, 1);
    rig.deliver().await;
    rig.pull.drain_wms().await;
    rig.pull
        .sim
        .control()
        .cancel(
            &seller.seller_id,
            &ids[0],
            CancelSpec {
                request_only: true,
                ..CancelSpec::default()
            },
        )
        .unwrap();
    rig.pull.sim.control().deliver_notifications().await;
    let sqs = rig.pull.stack.sqs();
    devstack::lambda_sqs::Trigger {
        sqs: &sqs,
        queue_url: &rig.queue_url,
        queue_arn: &rig.queue_arn,
        batch_size: 10,
        redeliver_failed: false,
    }
    .run(5, |event| {
        let off = off.clone();
        let dl = &rig.dead_letters;
        async move {
            notifications::handle(
                &off,
                dl,
                event,
                domain::Deadline::after(Duration::from_secs(60)),
            )
            .await
            .map_err(|e| e.to_string())
        }
    })
    .await
    .unwrap();
    assert!(rig.pull.drain_wms().await.is_empty());
    let notes = rig
        .pull
        .store
        .notes(
            &domain::SellerId::new(&seller.seller_id).unwrap(),
            &domain::AmazonOrderId::new(&ids[0]).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        notes.iter().any(|n| n.reason.contains("WmsCancelRequests")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn lost_notifications_are_caught_by_the_backstop_and_a_silent_seller_alarms() {
    let (rig, seller) = rig("notify-lost", "A1NOTIFYLOST").await;
    rig.pull
        .sim
        .control()
        .set_notification_delivery(NotificationDelivery {
            loss: 1.0,
            automatic: false,
            ..NotificationDelivery::default()
        });
    let ids = seed(&rig, &seller, 1, 5);
    rig.deliver().await;
    assert_eq!(rig.pull.sim.control().notification_stats().lost, 5);
    assert!(rig.pull.drain_wms().await.is_empty());
    // The backstop: the schedule's job sends them, and counts them missed.
    rig.pull.settle();
    rig.pull.schedule().await;
    rig.pull.run_jobs(10).await;
    let got = rig.pull.drain_wms().await;
    assert_eq!(got.len(), 5);
    let mut sent: Vec<String> = got
        .iter()
        .map(|m| m.amazon_order_id().to_string())
        .collect();
    sent.sort();
    assert_eq!(sent, ids);
    let docs = documents(&rig.pull.metrics);
    assert_eq!(
        total(&docs, "OrdersSentByBackstop", &[("Job", "order-pull")]),
        5.0
    );
    // No notification ever arrived while orders keep coming: silent.
    let report = rig.pull.schedule().await;
    assert_eq!(report["silent_sellers"], 1, "{report}");
    let docs = documents(&rig.pull.metrics);
    let silent: Vec<f64> = docs
        .iter()
        .filter_map(|d| d.values.get(NOTIFICATIONS_SILENT_SELLERS).copied())
        .collect();
    assert_eq!(silent.last(), Some(&1.0), "{silent:?}");
    let settings = rig
        .pull
        .store
        .get_settings(&domain::SellerId::new(&seller.seller_id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let status = seller_status(
        rig.notifier.state.as_ref(),
        &settings,
        &order_pull::backstop::BackstopPolicy::default(),
        rig.pull.sim.control().now(),
    )
    .await
    .unwrap();
    assert!(status.silent && status.missed == 5, "{status:?}");
    assert!(
        status.backstop.starts_with("every 15 minutes"),
        "{status:?}"
    );
}

#[tokio::test]
async fn ineligible_unknown_and_ignored_notifications_send_nothing_and_are_counted() {
    let rig = NotifyRig::new("notify-ignored", 1000.0).await;
    let seller = add_seller_in(
        &rig.pull.sim,
        "A1NOTIFYIGNORED",
        &[DE, tests::sim::UK],
        true,
    );
    // Onboarded for DE only.
    rig.onboard_subscribed(&seller, |s| {
        s.marketplaces = vec![domain::MarketplaceId::new(DE).unwrap()];
    })
    .await;
    let c = rig.pull.sim.control();
    // FBA, another marketplace, and a status the seller does not pull.
    let mut fba = test_order(1, DE);
    fba.fulfilled_by = FulfilledBy::Amazon;
    let uk = test_order(2, tests::sim::UK);
    let mut shipped = test_order(3, DE);
    shipped.status = Some(OrderStatus::Shipped);
    c.seed_orders(&seller.seller_id, vec![fba, uk, shipped])
        .unwrap();
    rig.deliver().await;
    assert!(rig.pull.drain_wms().await.is_empty());
    assert_eq!(
        get_orders(&rig, &seller),
        1,
        "FBA and other marketplaces cost no getOrder; the shipped one is fetched and filtered"
    );
    // Hand-made: a tip, another type, a seller never onboarded, an order
    // Amazon does not know (left to the seller's next pull).
    let other_type = json!({
        "NotificationVersion": "1.0", "NotificationType": "FEED_PROCESSING_FINISHED", "PayloadVersion": "2020-09-04",
        "EventTime": "2026-09-01T10:00:00Z", "Payload": {},
        "NotificationMetadata": {"ApplicationId": "a", "SubscriptionId": "s", "PublishTime": "2026-09-01T10:00:00Z", "NotificationId": "n-feed"}
    })
    .to_string();
    let now = rig.pull.sim.control().now();
    let fresh = |b: String| {
        // Published just now (not a backlog).
        b.replace(
            "2026-09-01T10:00:01.000Z",
            &now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
    };
    let bodies = vec![
        fresh(body(
            &seller.seller_id,
            "302-0000009-0000009",
            "DeliveryTipChange",
            "MFN",
            "n-tip",
        )),
        other_type,
        fresh(body(
            "A1NEVERONBOARDED",
            "302-0000010-0000010",
            "OrderStatusChange",
            "MFN",
            "n-stranger",
        )),
        fresh(body(
            &seller.seller_id,
            "302-9999999-9999999",
            "OrderStatusChange",
            "MFN",
            "n-unknown",
        )),
    ];
    let (summary, answer) = rig.handle_bodies(&bodies).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    assert_eq!(summary.ignored, 3, "{summary:?}");
    assert_eq!(summary.coalesced, 1, "the unknown order: {summary:?}");
    assert_eq!(summary.pulls_scheduled, 1, "{summary:?}");
    assert!(rig.pull.drain_wms().await.is_empty());
    assert_eq!(
        rig.job_count().await,
        1,
        "one pull job for the unknown order"
    );
    assert!(rig.drain_dlq().await.is_empty());
    let docs = documents(&rig.metrics);
    assert!(total(&docs, "NotificationsIgnored", &[("Job", "notifications")]) >= 5.0);
}

#[tokio::test]
async fn a_malformed_message_goes_to_the_dead_letter_queue_with_its_reason() {
    let (rig, seller) = rig("notify-malformed", "A1NOTIFYMALFORMED").await;
    let ids = seed(&rig, &seller, 1, 1);
    rig.pull.sim.control().deliver_notifications().await;
    let sqs = rig.pull.stack.sqs();
    let mut bad_payload: Value = serde_json::from_str(&body(
        &seller.seller_id,
        &ids[0],
        "OrderStatusChange",
        "MFN",
        "n-bad",
    ))
    .unwrap();
    bad_payload["Payload"]["OrderChangeNotification"]
        .as_object_mut()
        .unwrap()
        .remove("AmazonOrderId");
    for b in [
        "this is not JSON".to_string(),
        json!({"hello": "world"}).to_string(),
        bad_payload.to_string(),
    ] {
        sqs.send_message()
            .queue_url(&rig.queue_url)
            .message_body(b)
            .send()
            .await
            .unwrap();
    }
    rig.run_queue().await;
    // The good notification in the same batches went through.
    let got = rig.pull.drain_wms().await;
    assert_eq!(kinds(&got), [("order.created".to_string(), ids[0].clone())]);
    let dead = rig.drain_dlq().await;
    assert_eq!(dead.len(), 3, "{dead:?}");
    let reason_of = |needle: &str| {
        dead.iter()
            .find(|(b, _)| b.contains(needle))
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(reason_of("not JSON").contains("not valid JSON"), "{dead:?}");
    assert!(
        reason_of("hello").contains("NotificationVersion"),
        "{dead:?}"
    );
    let r = reason_of("n-bad");
    assert!(r.contains("AmazonOrderId") && r.contains("missing"), "{r}");
    let docs = documents(&rig.metrics);
    assert_eq!(
        total(&docs, "DeadLettered", &[("Job", "notifications")]),
        3.0
    );
}

#[tokio::test]
async fn a_burst_is_coalesced_into_one_pull_with_no_429() {
    // Amazon's real rates (speed 1): getOrder 0.5/s, burst 30.
    let rig = NotifyRig::new("notify-burst", 1.0).await;
    let seller = add_seller(&rig.pull.sim, "A1NOTIFYBURST", true);
    rig.onboard_subscribed(&seller, |_| {}).await;
    let mut rig = rig;
    // A hint that cannot have a token at once is coalesced.
    rig.notifier.options.fetch_wait = Duration::ZERO;
    let ids = seed(&rig, &seller, 1, 60);
    rig.deliver().await;
    let fetched = get_orders(&rig, &seller);
    assert!(
        (25..=40).contains(&fetched),
        "about the bucket's burst fetched one by one, the rest coalesced: {fetched}"
    );
    let docs = documents(&rig.metrics);
    let job = [("Job", "notifications")];
    let coalesced = total(&docs, "OrdersCoalesced", &job);
    assert_eq!(coalesced as u64 + fetched, 60);
    assert_eq!(
        total(&docs, "CoalescedPulls", &job),
        1.0,
        "one pull for the burst"
    );
    assert_eq!(rig.job_count().await, 1);
    // The pull runs once Amazon's two minutes have passed.
    rig.pull
        .sim
        .control()
        .advance_clock(Duration::from_secs(150));
    rig.pull.run_jobs(10).await;
    let got = rig.pull.drain_wms().await;
    let mut sent: Vec<String> = got
        .iter()
        .map(|m| m.amazon_order_id().to_string())
        .collect();
    sent.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(sent, expected, "every order of the burst, once");
    assert_exactly_once(&rig);
    let c = rig.pull.sim.control();
    for op in [Operation::GetOrder, Operation::SearchOrders] {
        assert_eq!(
            c.operation_metrics(&seller.seller_id, op).throttled,
            0,
            "{op}"
        );
    }
    assert_eq!(
        c.operation_metrics(&seller.seller_id, Operation::SearchOrders)
            .calls,
        1,
        "one page"
    );
    // What the coalesced pull sent was announced, not missed.
    let docs = documents(&rig.pull.metrics);
    assert_eq!(total(&docs, "OrdersSentByBackstop", &[]), 0.0);
}

#[tokio::test]
async fn a_backlog_in_our_queue_is_coalesced_not_fetched_one_by_one() {
    let (rig, seller) = rig("notify-backlog", "A1NOTIFYBACKLOG").await;
    seed(&rig, &seller, 1, 5);
    rig.pull.sim.control().deliver_notifications().await;
    // The notifications waited two minutes in our queue.
    rig.pull
        .sim
        .control()
        .advance_clock(Duration::from_secs(120));
    rig.run_queue().await;
    assert_eq!(get_orders(&rig, &seller), 0);
    assert_eq!(rig.job_count().await, 1);
    rig.pull
        .sim
        .control()
        .advance_clock(Duration::from_secs(150));
    rig.pull.run_jobs(10).await;
    assert_eq!(rig.pull.drain_wms().await.len(), 5);
}

#[tokio::test]
async fn setup_and_subscribe_are_idempotent_and_say_what_is_wrong() {
    let rig = NotifyRig::new("notify-setup", 1000.0).await;
    let seller = add_seller(&rig.pull.sim, "A1NOTIFYSETUP", true);
    let settings = rig.pull.onboard(&seller, |_| {}).await;
    let err = subscribe_seller(
        &rig.notifier.api,
        rig.notifier.state.as_ref(),
        &settings,
        false,
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SubscribeError::NotSetUp { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("connector-admin notifications setup")
    );
    assert_eq!(rig.destination(&settings).await.change, Change::Created);
    assert_eq!(rig.destination(&settings).await.change, Change::Unchanged);
    let first = rig.subscribe(&settings).await;
    assert_eq!(first.change, Change::Created);
    assert_eq!(rig.subscribe(&settings).await.change, Change::Unchanged);
    let c = rig.pull.sim.control();
    assert_eq!(c.destinations().len(), 1, "one destination, however often");
    assert_eq!(
        c.subscription_id(&seller.seller_id),
        Some(first.subscription_id.clone())
    );

    // The seller was subscribed to another queue (another tool, an old
    // stack): named, and moved here only on request.
    c.remove_subscription(&seller.seller_id);
    let elsewhere = store::MemoryStore::new();
    notifications::subscriptions::ensure_destination(
        &rig.notifier.api,
        &elsewhere,
        settings.region,
        "arn:aws:sqs:us-east-1:123456789012:someone-else",
        "someone-else",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    subscribe_seller(
        &rig.notifier.api,
        &elsewhere,
        &settings,
        false,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let err = subscribe_seller(
        &rig.notifier.api,
        rig.notifier.state.as_ref(),
        &settings,
        false,
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, SubscribeError::OtherDestination { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--replace"), "{err}");
    let moved = subscribe_seller(
        &rig.notifier.api,
        rig.notifier.state.as_ref(),
        &settings,
        true,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(moved.change, Change::Replaced);
    assert_eq!(
        c.subscription_id(&seller.seller_id),
        Some(moved.subscription_id)
    );
    // Notifications reach this stack's queue again.
    let ids = seed(&rig, &seller, 1, 1);
    rig.deliver().await;
    assert_eq!(
        kinds(&rig.pull.drain_wms().await),
        [("order.created".to_string(), ids[0].clone())]
    );
}

#[tokio::test]
async fn the_backstop_runs_every_third_schedule_while_notifications_are_healthy() {
    let (mut rig, seller) = rig("notify-cadence", "A1NOTIFYCADENCE").await;
    // BackstopHealthyMinutes=45 (the default, 30, is every second run).
    rig.pull.puller.options.backstop.healthy_interval = chrono::TimeDelta::minutes(45);
    seed(&rig, &seller, 1, 1);
    rig.deliver().await;
    rig.pull.drain_wms().await;
    // First fan-out: no checkpoint yet, so the pull runs.
    rig.pull.settle();
    let first = rig.pull.schedule().await;
    assert_eq!(first["jobs"], 1, "{first}");
    rig.pull.run_jobs(5).await;
    let c = rig.pull.sim.control();
    let mut jobs = Vec::new();
    for _ in 0..3 {
        c.advance_clock(Duration::from_secs(15 * 60));
        // A notification keeps the seller healthy.
        seed(
            &rig,
            &seller,
            10 + jobs.len() as u32,
            10 + jobs.len() as u32,
        );
        rig.deliver().await;
        let r = rig.pull.schedule().await;
        jobs.push((
            r["jobs"].as_u64().unwrap(),
            r["backstop_deferred"].as_u64().unwrap(),
        ));
        rig.pull.run_jobs(5).await;
    }
    assert_eq!(jobs, [(0, 1), (0, 1), (1, 0)], "every 45 minutes");
    // The age stays under the stale alarm's hour.
    let docs = documents(&rig.pull.metrics);
    let max_age = docs
        .iter()
        .filter_map(|d| d.values.get("OrderPullMaxAgeSeconds"))
        .fold(0.0f64, |a, b| a.max(*b));
    assert!(max_age < 3600.0, "{max_age}");
    rig.pull.drain_wms().await;
    assert_exactly_once(&rig);
}

#[tokio::test]
async fn an_unsubscribed_seller_is_pulled_every_run() {
    let rig = NotifyRig::new("notify-plain", 1000.0).await;
    let seller = add_seller(&rig.pull.sim, "A1NOTIFYPLAIN", true);
    rig.pull.onboard(&seller, |_| {}).await;
    for _ in 0..2 {
        rig.pull.settle();
        let r = rig.pull.schedule().await;
        assert_eq!(
            (r["jobs"].as_u64(), r["backstop_deferred"].as_u64()),
            (Some(1), Some(0))
        );
        rig.pull.run_jobs(5).await;
    }
}

#[tokio::test]
async fn the_notification_queue_lets_exactly_amazon_send_and_a_queue_without_that_gets_nothing() {
    let t = devstack::Template::load(&devstack::template_path()).unwrap();
    let doc = t.document();
    let policy = &doc["Resources"]["NotificationQueuePolicy"]["Properties"]["PolicyDocument"];
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0]["Principal"]["AWS"],
        devstack::notify::AMAZON_NOTIFICATIONS_PRINCIPAL
    );
    assert_eq!(
        statements[0]["Action"],
        json!(["sqs:SendMessage", "sqs:GetQueueAttributes"])
    );
    let q = &doc["Resources"]["NotificationQueue"]["Properties"];
    assert!(
        q.get("FifoQueue").is_none(),
        "Amazon does not deliver to FIFO"
    );
    // Amazon's principal may use the key through SQS, for the queues it
    // delivers to (this one among them) and nothing else.
    let key_statements = doc["Resources"]["ConnectorKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap();
    let amazon = key_statements
        .iter()
        .find(|s| {
            serde_json::to_string(&s["Principal"])
                .unwrap()
                .contains(":iam::437568002678:root")
        })
        .expect("a key statement for Amazon's notification principal");
    let queues = serde_json::to_string(
        &amazon["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:sqs:arn"],
    )
    .unwrap();
    assert!(
        queues.contains(":connector-notifications-${Stage}"),
        "{queues}"
    );
    assert!(
        amazon["Condition"]["StringEquals"]["kms:ViaService"]
            .to_string()
            .contains("sqs."),
        "{amazon}"
    );
    for output in ["NotificationQueueUrl", "NotificationQueueArn"] {
        assert!(doc["Outputs"].get(output).is_some(), "{output}");
    }

    // In moto: the provisioned queue carries the policy, so the simulator
    // delivers; a queue without it gets nothing (Amazon drops silently).
    let rig = NotifyRig::new("notify-policy", 1000.0).await;
    let sqs = rig.pull.stack.sqs();
    let bare = sqs
        .create_queue()
        .queue_name(format!("bare-{}", rig.pull.stack.stage))
        .send()
        .await
        .unwrap();
    let bare_url = bare.queue_url.unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&bare_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let sink = devstack::notify::SqsNotificationSink::new(sqs.clone());
    use spapi_sim::NotificationSink;
    assert!(sink.deliver(&arn, "{}".into()).await.is_err());
    assert!(sink.deliver(&rig.queue_arn, "{}".into()).await.is_ok());
}

#[tokio::test]
async fn the_order_pull_and_notifications_racing_on_one_order_send_it_once() {
    let (rig, seller) = rig("notify-race", "A1NOTIFYRACE").await;
    let ids = seed(&rig, &seller, 1, 20);
    rig.pull.sim.control().deliver_notifications().await;
    rig.pull.settle();
    // The backstop and the notification handler at the same time.
    tokio::join!(rig.pull.pull(&seller, Mode::Incremental), rig.run_queue());
    rig.pull.drain_wms().await;
    assert_eq!(rig.pull.delivered_counts().len(), ids.len());
    assert_exactly_once(&rig);
    assert_eq!(
        rig.pull.sent_ids().len(),
        ids.len(),
        "each handed to the queue once"
    );
}

#[tokio::test]
async fn the_operator_sets_notifications_up_subscribes_sellers_and_reads_their_state() {
    use tests::admin::AdminRig;
    let rig = AdminRig::new("notify-cli").await;
    // Nothing onboarded: no region to set up unless named.
    let none = rig
        .run("connector-admin --stage prod notifications setup")
        .await;
    assert_eq!(none.code, 2, "{}", none.err);
    assert!(none.err.contains("--region"), "{}", none.err);
    for id in ["A1NOTIFYCLIONE", "A1NOTIFYCLITWO"] {
        let seller = add_seller(&rig.pull.sim, id, true);
        rig.pull.onboard(&seller, |_| {}).await;
    }
    let first = rig
        .run("connector-admin --stage prod --json notifications setup")
        .await;
    first.ok();
    assert_eq!(first.json()[0]["change"], "created", "{}", first.out);
    assert_eq!(first.json()[0]["region"], "EU");
    let again = rig
        .run("connector-admin --stage prod notifications setup")
        .await;
    again.ok();
    assert!(again.out.contains("unchanged"), "{}", again.out);
    assert_eq!(rig.pull.sim.control().destinations().len(), 1);

    let sub = rig
        .run("connector-admin --stage prod --json notifications subscribe --all")
        .await;
    sub.ok();
    let lines = sub.json();
    assert_eq!(lines.as_array().unwrap().len(), 2, "{}", sub.out);
    assert!(
        lines
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["subscribed"]["change"] == "created")
    );
    let one = rig
        .run("connector-admin --stage prod notifications subscribe A1NOTIFYCLIONE")
        .await;
    one.ok();
    assert!(one.out.contains("unchanged"), "{}", one.out);
    let unknown = rig
        .run("connector-admin --stage prod notifications subscribe A1NOBODYHERE")
        .await;
    assert_eq!(unknown.code, 3, "{}", unknown.err);

    let status = rig
        .run("connector-admin --stage prod --json notifications status")
        .await;
    status.ok();
    let doc = status.json();
    let sellers = doc["sellers"].as_array().unwrap();
    assert_eq!(sellers.len(), 2);
    assert!(
        sellers
            .iter()
            .all(|s| s["subscription_id"].is_string() && s["silent"] == false)
    );
    let eu = doc["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["region"] == "EU")
        .unwrap()
        .clone();
    assert!(eu["destination_id"].is_string());
    let table = rig
        .run("connector-admin --stage prod notifications status A1NOTIFYCLITWO")
        .await;
    table.ok();
    assert!(
        table.out.contains("A1NOTIFYCLITWO") && table.out.contains("every 15 minutes"),
        "{}",
        table.out
    );
}

/// The benchmark's short version (the full one is `bench-notify`,
/// BENCHMARKS.md): notifications steady, a burst, and 20 % lost, each order
/// at the WMS exactly once and no 429. Delays are printed, not asserted
/// (they are Amazon time on a compressed clock, so a loaded machine moves
/// them).
#[tokio::test]
async fn the_benchmark_short_run_sends_every_order_once_without_a_429() {
    use devstack::bench_notify::{BenchOptions, Load, Scenario, row, run};
    // Delays are printed, not asserted: on a loaded machine the compressed
    // clock runs ahead of the work, so the run may need the backstop's
    // later passes to finish. The drain ends as soon as every order is at
    // the WMS; its limit only bounds a run that never gets there.
    let options = BenchOptions {
        speed: 120.0,
        drain_minutes: 150,
        seed: 15,
    };
    let scenarios = [
        Scenario {
            name: "(b) short".into(),
            sellers: 2,
            load: Load::Steady {
                per_minute: 5.0,
                minutes: 4,
            },
            notifications: true,
            loss: 0.0,
            duplicates: 0.1,
        },
        Scenario {
            name: "(c) short".into(),
            sellers: 1,
            load: Load::Burst { orders: 80 },
            notifications: true,
            loss: 0.0,
            duplicates: 0.0,
        },
        Scenario {
            name: "(d) short".into(),
            sellers: 2,
            load: Load::Steady {
                per_minute: 5.0,
                minutes: 4,
            },
            notifications: true,
            loss: 0.2,
            duplicates: 0.0,
        },
    ];
    for s in &scenarios {
        let report = run(s, &options).await.expect("the bench runs");
        eprintln!("{}", row(&report));
        assert!(report.exactly_once(), "{report:?}");
        assert_eq!(report.throttled, 0, "{report:?}");
    }
}

/// The DynamoDB side of coalescing (moto): concurrent handlers placing the
/// same change schedule one job; a later change the next; an undo only
/// while nobody scheduled after it; seen marks expire in code.
#[tokio::test]
async fn coalescing_state_is_written_once_under_concurrency_in_dynamodb() {
    use store::{CoalescePlan, Coalesced, NotificationState};
    let rig = NotifyRig::new("notify-store", 1000.0).await;
    let store = &rig.pull.store;
    let seller = domain::SellerId::new("A1NOTIFYSTORE").unwrap();
    let plan = CoalescePlan {
        settle: chrono::TimeDelta::seconds(130),
        slack: chrono::TimeDelta::seconds(10),
        min_gap: chrono::TimeDelta::seconds(60),
        max_delay: chrono::TimeDelta::seconds(900),
    };
    let t0 = rig.pull.sim.control().now();
    let placed =
        futures::future::join_all((0..6).map(|_| store.schedule_coalesced(&seller, t0, t0, &plan)))
            .await;
    let scheduled: Vec<&Coalesced> = placed
        .iter()
        .map(|p| p.as_ref().unwrap())
        .filter(|p| matches!(p, Coalesced::Schedule { .. }))
        .collect();
    assert_eq!(scheduled.len(), 1, "{placed:?}");
    let later = store
        .schedule_coalesced(&seller, t0 + chrono::TimeDelta::seconds(30), t0, &plan)
        .await
        .unwrap();
    assert!(matches!(later, Coalesced::Schedule { .. }));
    // Undoing the first no longer applies (a later one is in place).
    store
        .unschedule_coalesced(&seller, scheduled[0])
        .await
        .unwrap();
    let state = store.coalesce_state(&seller).await.unwrap();
    assert_eq!(state.jobs, 2);
    // Undoing the latest restores the first.
    store.unschedule_coalesced(&seller, &later).await.unwrap();
    let state = store.coalesce_state(&seller).await.unwrap();
    assert_eq!(state.jobs, 1);
    assert_eq!(
        state.covered_until.map(|c| c.timestamp()),
        Some((t0 + chrono::TimeDelta::seconds(10)).timestamp())
    );
    // Seen marks.
    assert!(!store.seen("n-store").await.unwrap());
    store
        .mark_seen("n-store", (t0 + chrono::TimeDelta::days(7)).timestamp())
        .await
        .unwrap();
    assert!(store.seen("n-store").await.unwrap());
    store
        .mark_seen("n-old", (t0 - chrono::TimeDelta::seconds(1)).timestamp())
        .await
        .unwrap();
    assert!(
        !store.seen("n-old").await.unwrap(),
        "expired in code, whatever TTL did"
    );
}
