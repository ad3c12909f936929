//! The label function against moto and the simulator, wired from
//! template.yaml: rates → purchase → documents → track → cancel; expired
//! rates; a purchase retried 5 times and sent 8 times at once buys one label;
//! a reused key with another request is refused; Amazon's errors become
//! clear messages; labels larger than a DynamoDB item; the Function URL.

use std::time::{Duration, Instant};

use domain::{AmazonOrderId, Operation, SellerId};
use serde_json::{Value, json};
use spapi_sim::{Fault, FaultTarget};
use store::ShipmentRecords;
use tests::labels::{LabelRig, file, package, warehouse};
use wms::label::{Channel, ErrorCode};

fn order_id(number: &str) -> AmazonOrderId {
    AmazonOrderId::new(number.trim_start_matches("MG")).unwrap()
}

#[tokio::test]
async fn rates_purchase_documents_track_cancel() {
    let rig = LabelRig::new("labels-flow").await;
    let number = rig.seed_order(1);
    let before = rig.sim.control().now();
    let rates = rig
        .rates(&number, vec![package("PKG-1", "1.25", &[("SKU-1-A", 1)])])
        .await;
    assert_eq!(rates.channel, Channel::Amazon);
    assert_eq!(rates.amazon_order_id, Some(order_id(&number)));
    assert_eq!(rates.offers.len(), 3, "{:?}", rates.offers);
    // Amazon's 10 minutes, compressed like the simulator (speed 10: 60 s).
    let lifetime = (rates.expires_at - before).num_seconds();
    assert!((55..=65).contains(&lifetime), "{lifetime}");
    // 1.25 kg: Amazon Shipping 3.90 + 2 × 0.50, DHL 4.99 + 2 × 0.30, UPS 12.50 + 2 × 1.00.
    let prices: Vec<(&str, &str)> = rates
        .offers
        .iter()
        .map(|o| (o.service_id.as_str(), o.price.amount.as_str()))
        .collect();
    assert_eq!(
        prices,
        [
            ("AMZN-STD", "4.90"),
            ("DHL-PAKET", "5.59"),
            ("UPS-EXPRESS", "14.50")
        ]
    );
    let cheapest = &rates.offers[0];
    assert_eq!(cheapest.price.currency, "GBP");

    // Purchase through the Function URL.
    let body = rig
        .purchase_request("PKG-1", &rates.request_token, &cheapest.rate_id, "PDF")
        .to_string();
    let (status, bought) = rig.invoke_url(&body, "POST", false).await;
    assert_eq!(status, 200, "{:?}", bought.error);
    let label = bought.label.unwrap();
    assert!(!label.replayed && label.shipment_confirmed_by_amazon);
    assert_eq!(label.channel, Channel::Amazon);
    assert_eq!(label.service_id, "AMZN-STD");
    assert_eq!(label.packages.len(), 1);
    let tracking = label.packages[0].tracking_id.clone().unwrap();
    let pdf = file(&label.packages[0].documents[0]);
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    assert_eq!(rig.purchases(), 1);
    assert_eq!(
        rig.sim
            .control()
            .last_shipping_business_id(&rig.seller.seller_id)
            .as_deref(),
        Some("AmazonShipping_UK")
    );

    // Amazon marked the order shipped; the shipment job is told not to confirm it.
    let order = rig
        .sim
        .control()
        .order_json(&rig.seller.seller_id, order_id(&number).as_str())
        .unwrap();
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    assert_eq!(order["packages"][0]["trackingNumber"], tracking.as_str());
    let seller = SellerId::new(&rig.seller.seller_id).unwrap();
    let mark = rig
        .store
        .label_bought(&seller, &order_id(&number), &tracking)
        .await
        .unwrap()
        .expect("the shipment job's mark");
    assert_eq!(
        mark.shipment_id.as_deref(),
        Some(label.shipment_id.as_str())
    );

    // Reprint in another format.
    let docs = rig
        .invoke(
            json!({"schema": 1, "operation": "documents", "client_code": "LBL",
            "shipment_id": label.shipment_id, "format": "PNG"}),
        )
        .await;
    let docs = docs.documents.expect("documents");
    assert_eq!(docs.package_id, "PKG-1");
    assert_eq!(docs.tracking_id.as_deref(), Some(tracking.as_str()));
    assert!(file(&docs.documents[0]).starts_with(&[0x89, b'P', b'N', b'G']));
    let zpl = rig
        .invoke(
            json!({"schema": 1, "operation": "documents", "seller_id": rig.seller.seller_id,
            "shipment_id": label.shipment_id, "package_id": "PKG-1", "format": "ZPL", "dpi": 300}),
        )
        .await;
    assert!(file(&zpl.documents.unwrap().documents[0]).starts_with(b"^XA"));

    // Track: created, then picked up after two (simulated) hours.
    let request = json!({"schema": 1, "operation": "track", "seller_id": rig.seller.seller_id,
        "shipment_id": label.shipment_id});
    let track = || async {
        rig.invoke(request.clone())
            .await
            .tracking
            .expect("tracking")
    };
    let t = track().await;
    assert_eq!((t.status.as_str(), t.events.len()), ("PreTransit", 1));
    assert_eq!(t.carrier_id, "AMZN");
    assert!(t.promised_delivery_date.is_some());

    // Cancel before pick-up; again: answered from the record, Amazon not asked.
    let cancel = json!({"schema": 1, "operation": "cancel", "seller_id": rig.seller.seller_id,
        "shipment_id": label.shipment_id});
    let c = rig
        .invoke(cancel.clone())
        .await
        .cancellation
        .expect("cancelled");
    assert!(!c.already_cancelled);
    let again = rig.invoke(cancel).await.cancellation.expect("cancelled");
    assert!(again.already_cancelled);
    assert_eq!(again.cancelled_at, c.cancelled_at);
    assert_eq!(rig.calls(Operation::CancelShipment), 1);
    let t = track().await;
    assert_eq!(t.status, "PickupCancelled");

    // A second order: tracked in transit, and no longer cancellable.
    let second = rig.seed_order(3);
    let rates = rig
        .rates(&second, vec![package("PKG-3", "0.5", &[("SKU-3-A", 1)])])
        .await;
    let bought = rig
        .invoke(rig.purchase_request(
            "PKG-3",
            &rates.request_token,
            &rates.offers[2].rate_id,
            "ZPL",
        ))
        .await;
    let label = bought.label.expect("label");
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(3 * 3600));
    let t = rig
        .invoke(
            json!({"schema": 1, "operation": "track", "seller_id": rig.seller.seller_id,
            "tracking_id": label.packages[0].tracking_id, "carrier_id": label.carrier_id}),
        )
        .await
        .tracking
        .unwrap();
    assert_eq!(t.status, "InTransit");
    assert_eq!(t.events[1].code, "PickupDone");
    let refused = rig
        .invoke(
            json!({"schema": 1, "operation": "cancel", "seller_id": rig.seller.seller_id,
            "shipment_id": label.shipment_id}),
        )
        .await;
    let e = refused.error.expect("refused");
    assert_eq!(e.code, ErrorCode::NotCancellable);
    assert!(e.message.contains("picked up"), "{}", e.message);

    // Nothing of the buyer was fetched or stored for Amazon-channel labels.
    let items = format!("{:?}", rig.table_items().await);
    assert!(!items.contains("Test Buyer") && !items.contains("Buyer Street"));
}

#[tokio::test]
async fn an_expired_rate_token_gives_a_clear_error_and_a_fresh_rates_hint() {
    let rig = LabelRig::new("labels-expired").await;
    let number = rig.seed_order(1);
    let rates = rig
        .rates(&number, vec![package("PKG-1", "1", &[("SKU-1-A", 1)])])
        .await;
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(11 * 60));
    let request = rig.purchase_request(
        "PKG-1",
        &rates.request_token,
        &rates.offers[0].rate_id,
        "PDF",
    );
    let (status, r) = rig.invoke_url(&request.to_string(), "POST", false).await;
    assert_eq!(status, 410);
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::RateTokenExpired);
    assert!(
        e.message.contains("expired at") && e.message.contains("10 minutes"),
        "{}",
        e.message
    );
    assert!(e.hint.unwrap().contains("fresh rates"));
    assert!(!e.retryable);
    assert_eq!(
        rig.calls(Operation::PurchaseShipment),
        0,
        "refused before Amazon"
    );

    // Fresh rates, the same key: bought (a failed purchase leaves no record).
    let fresh = rig
        .rates(&number, vec![package("PKG-1", "1", &[("SKU-1-A", 1)])])
        .await;
    let r = rig
        .invoke(rig.purchase_request(
            "PKG-1",
            &fresh.request_token,
            &fresh.offers[0].rate_id,
            "PDF",
        ))
        .await;
    assert!(r.ok, "{:?}", r.error);
    assert_eq!(rig.purchases(), 1);
}

#[tokio::test]
async fn amazons_token_expired_answer_is_mapped_to_the_same_error() {
    let mut rig = LabelRig::new("labels-amazon-expired").await;
    // Our copy of the lifetime is longer than Amazon's: Amazon decides.
    rig.service.options.rate_lifetime = Duration::from_secs(86_400);
    let number = rig.seed_order(1);
    let rates = rig
        .rates(&number, vec![package("PKG-1", "1", &[("SKU-1-A", 1)])])
        .await;
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(11 * 60));
    let r = rig
        .invoke(rig.purchase_request(
            "PKG-1",
            &rates.request_token,
            &rates.offers[0].rate_id,
            "PDF",
        ))
        .await;
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::RateTokenExpired);
    assert!(e.hint.unwrap().contains("fresh rates"));
    assert_eq!(rig.calls(Operation::PurchaseShipment), 1);
    assert_eq!(rig.purchases(), 0);
}

#[tokio::test]
async fn the_same_purchase_retried_five_times_buys_one_label() {
    let rig = LabelRig::new("labels-retried").await;
    let number = rig.seed_order(2);
    let rates = rig
        .rates(
            &number,
            vec![package("PKG-2", "2", &[("SKU-2-A", 1), ("SKU-2-B", 2)])],
        )
        .await;
    let mut request = rig.purchase_request(
        "PKG-2",
        &rates.request_token,
        &rates.offers[1].rate_id,
        "ZPL",
    );
    let mut labels = Vec::new();
    for attempt in 0..5 {
        // A retry may carry another request_id: still the same request.
        request["request_id"] = json!(format!("attempt-{attempt}"));
        let r = rig.invoke(request.clone()).await;
        assert_eq!(
            r.request_id.as_deref(),
            Some(format!("attempt-{attempt}").as_str())
        );
        labels.push(
            r.label
                .unwrap_or_else(|| panic!("attempt {attempt}: {:?}", r.error)),
        );
    }
    assert_eq!(rig.purchases(), 1, "exactly one label bought");
    assert_eq!(
        rig.calls(Operation::PurchaseShipment),
        1,
        "Amazon asked once"
    );
    assert_eq!(
        labels.iter().map(|l| l.replayed).collect::<Vec<_>>(),
        [false, true, true, true, true]
    );
    for l in &labels[1..] {
        assert_eq!(l.shipment_id, labels[0].shipment_id);
        assert_eq!(
            l.packages, labels[0].packages,
            "same tracking id and label file"
        );
    }
    assert_eq!(
        rig.calls(Operation::GetShipmentDocuments),
        0,
        "replays read the stored file"
    );
}

#[tokio::test]
async fn eight_concurrent_purchases_buy_one_label() {
    let rig = LabelRig::new("labels-concurrent").await;
    let number = rig.seed_order(1);
    let rates = rig
        .rates(&number, vec![package("PKG-1", "1", &[("SKU-1-A", 1)])])
        .await;
    let request = rig.purchase_request(
        "PKG-1",
        &rates.request_token,
        &rates.offers[0].rate_id,
        "PDF",
    );
    // Amazon takes 400 ms: the other seven arrive while the first buys.
    rig.slow_purchases(1, 400);
    let started = Instant::now();
    let answers = futures::future::join_all((0..8).map(|_| rig.invoke(request.clone()))).await;
    let elapsed = started.elapsed();
    let labels: Vec<_> = answers
        .into_iter()
        .map(|r| r.label.unwrap_or_else(|| panic!("{:?}", r.error)))
        .collect();
    assert_eq!(rig.purchases(), 1, "exactly one label bought");
    assert_eq!(
        rig.calls(Operation::PurchaseShipment),
        1,
        "Amazon asked once"
    );
    assert_eq!(labels.iter().filter(|l| !l.replayed).count(), 1);
    assert!(
        labels
            .iter()
            .all(|l| l.shipment_id == labels[0].shipment_id && l.packages == labels[0].packages)
    );
    println!(
        "8 concurrent purchases with one key: {} label bought, {} purchaseShipment call, all 8 answered with it in {} ms",
        rig.purchases(),
        rig.calls(Operation::PurchaseShipment),
        elapsed.as_millis()
    );
}

#[tokio::test]
async fn a_changed_payload_under_a_used_key_is_refused() {
    let rig = LabelRig::new("labels-key-reused").await;
    let number = rig.seed_order(1);
    let rates = rig
        .rates(&number, vec![package("PKG-1", "1", &[("SKU-1-A", 1)])])
        .await;
    let first = rig
        .invoke(rig.purchase_request(
            "KEY-1",
            &rates.request_token,
            &rates.offers[0].rate_id,
            "PDF",
        ))
        .await;
    assert!(first.ok);
    for changed in [
        rig.purchase_request(
            "KEY-1",
            &rates.request_token,
            &rates.offers[2].rate_id,
            "PDF",
        ),
        rig.purchase_request(
            "KEY-1",
            &rates.request_token,
            &rates.offers[0].rate_id,
            "ZPL",
        ),
    ] {
        let (status, r) = rig.invoke_url(&changed.to_string(), "POST", false).await;
        assert_eq!(status, 409);
        let e = r.error.unwrap();
        assert_eq!(e.code, ErrorCode::IdempotencyKeyReused);
        assert!(
            e.message.contains("KEY-1") && e.message.contains("new key"),
            "{}",
            e.message
        );
        assert!(!e.retryable);
    }
    assert_eq!(rig.purchases(), 1);
    assert_eq!(rig.calls(Operation::PurchaseShipment), 1);
}

#[tokio::test]
async fn amazon_errors_are_mapped_to_clear_messages() {
    let rig = LabelRig::new("labels-errors").await;
    let number = rig.seed_order(1);
    let pkg = || vec![package("PKG-1", "1", &[("SKU-1-A", 1)])];

    // Unknown order, unknown SKU, too many units (Amazon refuses).
    let r = rig
        .invoke(rig.rates_request("MG999-0000000-0000000", pkg()))
        .await;
    assert_eq!(r.error.unwrap().code, ErrorCode::UnknownOrder);
    let r = rig
        .invoke(rig.rates_request(&number, vec![package("P", "1", &[("NO-SUCH-SKU", 1)])]))
        .await;
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::UnknownSku);
    assert!(e.message.contains("NO-SUCH-SKU"), "{}", e.message);
    let r = rig
        .invoke(rig.rates_request(&number, vec![package("P", "1", &[("SKU-1-A", 5)])]))
        .await;
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::AmazonRejected);
    assert!(e.message.contains("5 units asked, 1 left"), "{}", e.message);
    assert!(e.amazon_request_id.is_some());
    assert!(!e.retryable);

    // Amazon fails four times in a row: the client retries three, then a
    // clear retryable error; the retry with the same key buys once.
    let rates = rig.rates(&number, pkg()).await;
    let request = rig.purchase_request(
        "PKG-1",
        &rates.request_token,
        &rates.offers[0].rate_id,
        "PDF",
    );
    for _ in 0..4 {
        rig.sim
            .control()
            .inject_fault(
                FaultTarget::Operation(Operation::PurchaseShipment),
                Fault::status(503),
            )
            .unwrap();
    }
    let (status, r) = rig.invoke_url(&request.to_string(), "POST", false).await;
    assert_eq!(status, 503);
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::AmazonUnavailable);
    assert!(e.retryable && e.hint.unwrap().contains("same idempotency_key"));
    assert_eq!(rig.purchases(), 0);
    let r = rig.invoke(request).await;
    assert!(r.ok, "{:?}", r.error);
    assert_eq!(rig.purchases(), 1);

    // Amazon bought but its answer was lost: the client's retry carries the
    // same x-amzn-IdempotencyKey and gets the same shipment.
    let second = rig.seed_order(3);
    let rates = rig
        .rates(&second, vec![package("PKG-3", "1", &[("SKU-3-A", 1)])])
        .await;
    rig.sim
        .control()
        .lose_purchase_answers(&rig.seller.seller_id, 1);
    let r = rig
        .invoke(rig.purchase_request(
            "PKG-3",
            &rates.request_token,
            &rates.offers[0].rate_id,
            "PDF",
        ))
        .await;
    assert!(r.ok, "{:?}", r.error);
    assert_eq!(rig.purchases(), 2, "one label per order");
    assert_eq!(rig.sim.control().shipments(&rig.seller.seller_id).len(), 2);

    // The order is shipped now (by the label): no more labels for it.
    let r = rig
        .invoke(rig.rates_request(&second, vec![package("P", "1", &[("SKU-3-A", 1)])]))
        .await;
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::OrderNotShippable);
    assert!(e.message.contains("SHIPPED"), "{}", e.message);

    // Unknown token, unknown shipment, a format the offer cannot print.
    let r = rig
        .invoke(rig.purchase_request("K9", "RT-NOPE", "R", "PDF"))
        .await;
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::UnknownRateToken);
    assert!(e.hint.unwrap().contains("fresh rates"));
    let r = rig
        .invoke(json!({"schema": 1, "operation": "cancel", "seller_id": rig.seller.seller_id, "shipment_id": "404"}))
        .await;
    assert_eq!(r.error.unwrap().code, ErrorCode::UnknownShipment);
    let third = rig.seed_order(5);
    let rates = rig
        .rates(&third, vec![package("PKG-5", "1", &[("SKU-5-A", 1)])])
        .await;
    let dhl = rates
        .offers
        .iter()
        .find(|o| o.service_id == "DHL-PAKET")
        .unwrap();
    let r = rig
        .invoke(rig.purchase_request("PKG-5", &rates.request_token, &dhl.rate_id, "PNG"))
        .await;
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::UnsupportedLabelFormat);
    assert!(e.message.contains("cannot print PNG"), "{}", e.message);
    assert_eq!(rig.purchases(), 2);
}

#[tokio::test]
async fn labels_larger_than_a_dynamodb_item_are_stored_in_chunks() {
    let rig = LabelRig::new("labels-large").await;
    // A 1 MB label (about 1.33 million base64 characters): 5 items of 300,000.
    rig.sim.control().set_label_padding(1_000_000);
    let number = rig.seed_order(1);
    let rates = rig
        .rates(&number, vec![package("PKG-1", "1", &[("SKU-1-A", 1)])])
        .await;
    let request = rig.purchase_request(
        "PKG-1",
        &rates.request_token,
        &rates.offers[0].rate_id,
        "PDF",
    );
    let first = rig.invoke(request.clone()).await.label.expect("label");
    let original = file(&first.packages[0].documents[0]);
    assert!(original.len() >= 1_000_000);
    let items = rig.table_items().await;
    let chunks = items
        .iter()
        .filter(|i| i["sk"].as_s().is_ok_and(|s| s.starts_with("LABELDOC#")))
        .count();
    assert_eq!(chunks, 5);
    let replay = rig.invoke(request).await.label.expect("label");
    assert!(replay.replayed);
    assert_eq!(
        file(&replay.packages[0].documents[0]),
        original,
        "put back together exactly"
    );
    assert_eq!(
        rig.calls(Operation::GetShipmentDocuments),
        0,
        "from the store, not Amazon"
    );

    // Above 4 MiB of base64 the files are not stored; a replay asks Amazon.
    rig.sim.control().set_label_padding(3_300_000);
    let second = rig.seed_order(3);
    let rates = rig
        .rates(&second, vec![package("PKG-3", "1", &[("SKU-3-A", 1)])])
        .await;
    let request = rig.purchase_request(
        "PKG-3",
        &rates.request_token,
        &rates.offers[0].rate_id,
        "PDF",
    );
    let first = rig.invoke(request.clone()).await.label.expect("label");
    let replay = rig.invoke(request).await.label.expect("label");
    assert!(replay.replayed);
    assert_eq!(
        file(&replay.packages[0].documents[0]),
        file(&first.packages[0].documents[0])
    );
    assert_eq!(rig.calls(Operation::GetShipmentDocuments), 1);
    let items = rig.table_items().await;
    assert!(!items.iter().any(|i| {
        i["sk"]
            .as_s()
            .is_ok_and(|s| s.starts_with(&format!("LABELDOC#{}", first.shipment_id)))
    }));
}

#[tokio::test]
async fn one_click_buys_once_for_an_external_shipment() {
    let rig = LabelRig::new("labels-one-click").await;
    let request = json!({
        "schema": 1, "operation": "one_click", "client_code": "LBL", "idempotency_key": "SHOP-1",
        "shipment": {
            "ship_to": {"name": "Shop Customer", "address_line1": "2 High Street", "city": "Leeds",
                "state_or_region": "West Yorkshire", "postal_code": "LS1 1AA", "country_code": "GB"},
            "ship_from": warehouse(),
            "packages": [{"package_id": "SHOP-1-P1", "weight": {"value": "800", "unit": "GRAM"},
                "dimensions": {"length": "25", "width": "15", "height": "8", "unit": "CENTIMETER"},
                "items": [{"description": "Mug", "quantity": 2, "value": {"amount": "9.95", "currency": "GBP"}}]}]
        },
        "select": {"rule": "cheapest"},
        "label": {"format": "PNG"}
    });
    let first = rig.invoke(request.clone()).await.label.expect("label");
    assert_eq!(first.channel, Channel::External);
    assert!(!first.shipment_confirmed_by_amazon && first.amazon_order_id.is_none());
    // Cheapest that prints PNG (DHL does not): Amazon Shipping.
    assert_eq!(first.service_id, "AMZN-STD");
    assert!(file(&first.packages[0].documents[0]).starts_with(&[0x89, b'P', b'N', b'G']));
    let again = rig.invoke(request.clone()).await.label.expect("label");
    assert!(again.replayed && again.shipment_id == first.shipment_id);
    assert_eq!(rig.purchases(), 1);
    assert_eq!(
        rig.calls(Operation::GetRates),
        1,
        "the replay asks Amazon nothing"
    );
    let mut other = request;
    other["select"] = json!({"rule": "fastest"});
    let e = rig.invoke(other).await.error.expect("refused");
    assert_eq!(e.code, ErrorCode::IdempotencyKeyReused);
}

#[tokio::test]
async fn purchase_by_rule_meets_the_orders_promise() {
    let rig = LabelRig::new("labels-rules").await;
    let now = rig.sim.control().now();
    let mut spec = tests::sim::test_order(7, tests::sim::UK);
    // Deliver within two days: Amazon Shipping (3 days) is too slow.
    let by = (now + chrono::TimeDelta::days(2))
        .date_naive()
        .and_hms_opt(23, 0, 0)
        .unwrap()
        .and_utc();
    spec.deliver_by = Some(spapi_sim::TimeWindow {
        earliest: now,
        latest: by,
    });
    let id = rig
        .sim
        .control()
        .seed_order(&rig.seller.seller_id, spec)
        .unwrap();
    let rates = rig
        .rates(
            &format!("MG{id}"),
            vec![package("PKG-7", "1", &[("SKU-7-A", 1)])],
        )
        .await;
    assert_eq!(rates.deliver_by, Some(by));
    let on_time: Vec<_> = rates
        .offers
        .iter()
        .filter(|o| o.on_time == Some(true))
        .map(|o| o.service_id.as_str())
        .collect();
    assert_eq!(on_time, ["DHL-PAKET", "UPS-EXPRESS"]);
    let r = rig
        .invoke(
            json!({"schema": 1, "operation": "purchase", "seller_id": rig.seller.seller_id,
            "idempotency_key": "PKG-7", "request_token": rates.request_token,
            "select": {"rule": "cheapest_on_time"}, "label": {"format": "PDF"}}),
        )
        .await;
    assert_eq!(r.label.expect("label").service_id, "DHL-PAKET");
}

#[tokio::test]
async fn the_function_url_refuses_bad_requests_with_the_field_named() {
    let rig = LabelRig::new("labels-url").await;
    let (status, r) = rig.invoke_url("{\"schema\": 1", "POST", false).await;
    assert_eq!(status, 400);
    assert!(r.error.unwrap().message.contains("not valid JSON"));
    let bad = json!({"schema": 1, "operation": "rates", "seller_id": rig.seller.seller_id,
        "request_id": "req-1",
        "shipment": {"order_number": "MG302-0000001-0000001", "ship_from": warehouse(),
            "packages": [{"package_id": "P", "weight": {"value": "-1", "unit": "KILOGRAM"},
                "dimensions": {"length": "1", "width": "1", "height": "1", "unit": "CENTIMETER"},
                "items": []}]}});
    let (status, r) = rig.invoke_url(&bad.to_string(), "POST", true).await;
    assert_eq!(status, 400);
    assert_eq!(r.request_id.as_deref(), Some("req-1"));
    assert_eq!(r.operation, Some(wms::label::OperationName::Rates));
    let message = r.error.unwrap().message;
    assert!(
        message.contains("/shipment/packages/0/weight/value"),
        "{message}"
    );
    assert!(message.contains("/shipment/packages/0/items"), "{message}");
    let (status, r) = rig.invoke_url("{}", "GET", false).await;
    assert_eq!(status, 400);
    assert!(r.error.unwrap().message.contains("POST"));
    // A base64 body works like a plain one.
    let number = rig.seed_order(1);
    let (status, r) = rig
        .invoke_url(
            &rig.rates_request(&number, vec![package("P", "1", &[("SKU-1-A", 1)])])
                .to_string(),
            "POST",
            true,
        )
        .await;
    assert_eq!(status, 200, "{:?}", r.error);
    // Direct invoke of something that is not a label request.
    let r = rig.invoke(json!({"kind": "schedule"})).await;
    assert!(!r.ok && r.error.unwrap().code == ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn sellers_are_named_by_id_or_client_code_and_must_have_labels_enabled() {
    let rig = LabelRig::with("labels-disabled", |s| s.jobs.labels = false).await;
    let number = rig.seed_order(1);
    let request = rig.rates_request(&number, vec![package("P", "1", &[("SKU-1-A", 1)])]);
    let (status, r) = rig.invoke_url(&request.to_string(), "POST", false).await;
    assert_eq!(status, 403);
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::LabelsDisabled);
    assert!(e.message.contains("enable"), "{}", e.message);
    let mut by_code: Value = request.clone();
    by_code.as_object_mut().unwrap().remove("seller_id");
    by_code["client_code"] = json!("NOPE");
    let (status, r) = rig.invoke_url(&by_code.to_string(), "POST", false).await;
    assert_eq!(status, 404);
    assert_eq!(r.error.unwrap().code, ErrorCode::UnknownSeller);
    assert_eq!(rig.calls(Operation::GetRates), 0);
}

#[tokio::test]
async fn the_demo_buys_a_label_and_writes_it_to_a_file() {
    use devstack::demo::{self, DemoOptions};
    let stack = tests::moto::fresh_stack("labels-demo").await;
    let sim = demo::start_simulator(&DemoOptions {
        speed: 60.0,
        orders: 2,
    })
    .await
    .expect("simulator");
    demo::run(&stack.sdk, &stack.resources, &sim)
        .await
        .expect("the demo onboards its seller");
    let dir = std::env::temp_dir().join(format!("labels-demo-{}", stack.stage));
    let report =
        devstack::demo_labels::buy_label(&stack.sdk, &stack.resources, &stack.template, &sim, &dir)
            .await
            .expect("the label step runs");
    println!("{report}");
    assert_eq!(report.offers.len(), 3);
    assert!(report.replayed_same_label);
    assert_eq!(report.labels_bought, 1);
    let bytes = std::fs::read(&report.file).expect("the label file");
    assert!(bytes.starts_with(b"%PDF") && bytes.len() == report.bytes);
    assert!(report.file.starts_with(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "current_thread")]
async fn label_calls_log_no_buyer_data_label_files_or_secrets() {
    let (logs, _guard) = tests::logs::LogCapture::start();
    let rig = LabelRig::new("labels-no-pii").await;
    let number = rig.seed_order(4);
    let rates = rig
        .rates(&number, vec![package("PKG-4", "1", &[("SKU-4-A", 1)])])
        .await;
    let bought = rig
        .invoke(rig.purchase_request(
            "PKG-4",
            &rates.request_token,
            &rates.offers[0].rate_id,
            "PDF",
        ))
        .await
        .label
        .expect("label");
    let external = json!({
        "schema": 1, "operation": "one_click", "seller_id": rig.seller.seller_id, "idempotency_key": "SHOP-9",
        "shipment": {
            "ship_to": {"name": "Shop Customer", "address_line1": "2 High Street", "city": "Leeds",
                "state_or_region": "West Yorkshire", "postal_code": "LS1 1AA", "country_code": "GB",
                "phone": "+44 113 4960000", "email": "shop.customer@example.com"},
            "ship_from": warehouse(),
            "packages": [package("SHOP-9-P1", "0.8", &[("MUG", 1)])]
        },
        "select": {"rule": "cheapest"}, "label": {"format": "ZPL"}
    });
    let one = rig.invoke(external.clone()).await.label.expect("label");
    let _ = rig.invoke(external).await; // a replay
    let _ = rig
        .invoke(
            json!({"schema": 1, "operation": "track", "seller_id": rig.seller.seller_id,
            "shipment_id": one.shipment_id}),
        )
        .await;
    let _ = rig
        .invoke(rig.rates_request(&number, vec![package("P", "1", &[("SKU-4-A", 9)])]))
        .await; // refused by Amazon
    assert!(logs.lines() > 10, "the run was logged");
    let label_file = bought.packages[0].documents[0].content_base64.expose();
    logs.assert_free_of(&[
        "Shop Customer",
        "High Street",
        "LS1 1AA",
        "4960000",
        "shop.customer@example.com",
        "Test Buyer 4",
        "4 Buyer Street",
        &label_file[..40.min(label_file.len())],
        "Atza|",
        &rig.seller.refresh_token,
        tests::sim::CLIENT_SECRET,
    ]);
}
