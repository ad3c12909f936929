//! Guarantees 2 and 4 against moto and the simulator: a shipment is
//! confirmed to Amazon once per package (full, partial and multi-package
//! shipments; the same message twice; a run that died after confirming; a
//! label already bought), bad input is dead-lettered with its reason while
//! the rest of the batch goes through, Amazon's refusals are surfaced and
//! its throttling retried, carriers reach Amazon as codes it accepts — and
//! for a seller with many packages, one order-fulfilment feed whose report
//! settles every package.

use std::time::Duration;

use domain::Operation;
use serde_json::Value;
use spapi_sim::{CancelSpec, Fault, FaultTarget, ShipItem, ShipSpec};
use store::{LabelRecord, PackageState, SettingsStore, ShipmentRecords, Via};
use tests::ship::{ShipRig, shipment};

fn packages(order: &Value) -> Vec<Value> {
    order["packages"].as_array().cloned().unwrap_or_default()
}

fn items(package: &Value) -> Vec<(String, u64)> {
    package["packageItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["orderItemId"].as_str().unwrap_or_default().to_string(),
                i["quantity"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn fulfilled(order: &Value) -> Vec<(u64, u64)> {
    order["orderItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["fulfillment"]["quantityFulfilled"].as_u64().unwrap_or(99),
                i["fulfillment"]["quantityUnfulfilled"]
                    .as_u64()
                    .unwrap_or(99),
            )
        })
        .collect()
}

#[tokio::test]
async fn full_partial_and_multi_package_shipments_end_shipped_with_tracking() {
    let rig = ShipRig::new("ship-full-partial", "A1SHIPPARTIAL", 2).await;
    // Order 2 has SKU-2-A x1 and SKU-2-B x2: first one unit of B...
    let p1 = rig.message(2, "PKG-2-1", "DHL", &[("SKU-2-B", 1)]);
    let answer = rig.batch(&[p1]).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    assert_eq!(rig.status(2), "PARTIALLY_SHIPPED");
    assert_eq!(fulfilled(&rig.order(2)), vec![(0, 1), (1, 1)]);
    // ...then a package with no lines: everything that remains.
    let p2 = shipment(
        &rig.seller.seller_id,
        &rig.order_id(2),
        "PKG-2-2",
        "Royal Mail 48",
        None,
        "RM123456785GB",
        &[],
    );
    rig.batch(&[p2]).await.expect("the batch");
    let order = rig.order(2);
    assert_eq!(rig.status(2), "SHIPPED");
    assert_eq!(fulfilled(&order), vec![(1, 0), (2, 0)]);
    let pk = packages(&order);
    assert_eq!(pk.len(), 2, "{order}");
    assert_eq!(pk[0]["packageReferenceId"], "1");
    assert_eq!(pk[0]["carrier"], "DHL");
    assert_eq!(pk[0]["trackingNumber"], "TRACK-PKG-2-1");
    assert_eq!(items(&pk[0]).iter().map(|(_, q)| q).sum::<u64>(), 1);
    assert_eq!(pk[1]["packageReferenceId"], "2");
    assert_eq!(
        pk[1]["carrier"], "Royal Mail",
        "the alias became Amazon's code"
    );
    assert_eq!(pk[1]["shippingService"], "Royal Mail 48");
    assert_eq!(pk[1]["trackingNumber"], "RM123456785GB");
    assert_eq!(items(&pk[1]).len(), 2, "both items, their remaining units");
    // Order 1 in one package, by bare Amazon order id and client code.
    let whole = serde_json::json!({
        "schema": 1, "client_code": "DEMO", "order_number": rig.order_id(1),
        "package_id": "PKG-1", "carrier": "UPS", "service": "Standard",
        "tracking_number": "1Z999AA10123456784", "ship_date": "2026-09-01T10:00:00+02:00"
    });
    rig.batch(&[whole.to_string()]).await.expect("the batch");
    assert_eq!(rig.status(1), "SHIPPED");
    let pk = packages(&rig.order(1));
    assert_eq!(
        (pk[0]["carrier"].as_str(), pk[0]["shippingService"].as_str()),
        (Some("UPS"), Some("Standard"))
    );
    assert_eq!(pk[0]["shipTime"], "2026-09-01T08:00:00Z");
    assert_eq!(rig.calls(Operation::ConfirmShipment).ok, 3);
    assert!(rig.dead_letters().await.is_empty());
    let record = rig.record(2).await;
    assert!(record.packages.values().all(|p| p.is_confirmed()));
    assert_eq!(
        record.units(&items(&pk[0])[0].0),
        0,
        "order 1's item is not order 2's"
    );
}

#[tokio::test]
async fn the_same_message_twice_is_confirmed_once() {
    let rig = ShipRig::new("ship-twice", "A1SHIPTWICE", 2).await;
    let m = rig.message(2, "PKG-2-1", "DHL", &[("SKU-2-A", 1)]);
    // Twice in one batch, then again later through the queue, as SQS's
    // at-least-once delivery or a WMS retry would.
    let answer = rig.batch(&[m.clone(), m.clone()]).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    rig.send(&[m.clone(), m.clone()]).await;
    rig.deliver().await;
    assert_eq!(rig.queued().await, 0);
    let confirm = rig.calls(Operation::ConfirmShipment);
    assert_eq!(
        confirm.calls, 1,
        "Amazon heard of the package once: {confirm:?}"
    );
    assert_eq!(packages(&rig.order(2)).len(), 1);
    assert!(
        rig.dead_letters().await.is_empty(),
        "repeats are acknowledged, not refused"
    );
    // A *different* message under the same package id is refused.
    let other = rig.message(2, "PKG-2-1", "DHL", &[("SKU-2-B", 2)]);
    let answer = rig
        .batch(&[other])
        .await
        .expect("dead-lettered, not failed");
    assert!(ShipRig::failures(&answer).is_empty());
    let dead = rig.dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .contains("already used for a different shipment"),
        "{}",
        dead[0].reason
    );
    assert_eq!(rig.calls(Operation::ConfirmShipment).calls, 1);
}

#[tokio::test]
async fn a_poison_message_among_good_ones_goes_to_the_dead_letter_queue_with_its_reason() {
    let rig = ShipRig::new("ship-poison", "A1SHIPPOISON", 3).await;
    let id = rig.seller.seller_id.clone();
    let mut no_tracking: Value =
        serde_json::from_str(&rig.message(3, "PKG-3", "DHL", &[])).expect("json");
    no_tracking
        .as_object_mut()
        .expect("an object")
        .remove("tracking_number");
    let no_tracking = no_tracking.to_string();
    let bad: Vec<(String, &str)> = vec![
        (
            "{\"schema\": 1, \"seller_id\": ".to_string(),
            "not valid JSON",
        ),
        (
            shipment(
                "A1NOBODYKNOWSME",
                &rig.number(1),
                "P-X1",
                "DHL",
                None,
                "T",
                &[],
            ),
            "unknown seller A1NOBODYKNOWSME",
        ),
        (
            shipment(&id, "MG302-9999999-9999999", "P-X2", "DHL", None, "T", &[]),
            "unknown order MG302-9999999-9999999",
        ),
        (
            rig.message(2, "P-X3", "DHL", &[("NO-SUCH-SKU", 1)]),
            "`/lines/0/sku` NO-SUCH-SKU is not on order",
        ),
        (
            rig.message(2, "P-X4", "DHL", &[("SKU-2-B", 3)]),
            "only 2 remain unshipped",
        ),
        (no_tracking, "`/tracking_number` is required"),
    ];
    let mut batch = vec![rig.message(1, "PKG-1", "DHL", &[])];
    batch.extend(bad.iter().map(|(b, _)| b.clone()));
    batch.push(rig.message(2, "PKG-2", "GLS", &[]));
    // Through the real queue: nothing may stay behind or get lost.
    rig.send(&batch).await;
    let answers = rig.deliver().await;
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().is_ok_and(|v| ShipRig::failures(v).is_empty())),
        "{answers:?}"
    );
    assert_eq!(rig.queued().await, 0);
    assert_eq!(
        (rig.status(1).as_str(), rig.status(2).as_str()),
        ("SHIPPED", "SHIPPED")
    );
    let dead = rig.dead_letters().await;
    assert_eq!(dead.len(), bad.len(), "{dead:?}");
    for (body, expected) in &bad {
        let d = dead
            .iter()
            .find(|d| &d.body == body)
            .unwrap_or_else(|| panic!("{expected}: not dead-lettered"));
        assert!(
            d.reason.contains(expected),
            "expected {expected:?} in {:?}",
            d.reason
        );
    }
    assert_eq!(
        rig.status(3),
        "UNSHIPPED",
        "the refused package confirmed nothing"
    );
    // Refusals are also kept on the order for the operator.
    let record = rig.record(2).await;
    assert!(record.refused["P-X4"].reason.contains("only 2 remain"));
    // The refused package ids are free: the corrected message goes through.
    rig.batch(&[rig.message(3, "PKG-3", "DHL", &[])])
        .await
        .expect("fixed");
    assert_eq!(rig.status(3), "SHIPPED");
}

#[tokio::test]
async fn amazon_refusals_are_surfaced_and_throttling_is_retried_not_dead_lettered() {
    let rig = ShipRig::new("ship-refusals", "A1SHIPREFUSE", 3).await;
    let c = rig.pull.sim.control();
    // Amazon cancelled order 1 after it reached the WMS.
    c.cancel(
        &rig.seller.seller_id,
        &rig.order_id(1),
        CancelSpec::default(),
    )
    .expect("cancel");
    // confirmShipment is throttled longer than the client's retries, and
    // then answers 503 once.
    c.storm(Operation::ConfirmShipment, 4);
    c.inject_fault(
        FaultTarget::Operation(Operation::ConfirmShipment),
        Fault::status(503),
    )
    .expect("fault");
    let good = rig.message(2, "PKG-2", "DHL", &[]);
    let cancelled = rig.message(1, "PKG-1", "DHL", &[]);
    rig.send(std::slice::from_ref(&good)).await;
    let first = rig.deliver().await;
    assert!(
        first.iter().any(|a| a.is_err()),
        "the throttled record was reported failed: {first:?}"
    );
    assert!(
        rig.dead_letters().await.is_empty(),
        "throttling is never dead-lettered"
    );
    assert_eq!(
        rig.status(2),
        "SHIPPED",
        "redelivered until it went through"
    );
    assert_eq!(rig.calls(Operation::ConfirmShipment).ok, 1);
    // The later delivery checked Amazon's order before confirming again.
    assert!(rig.calls(Operation::GetOrder).ok >= 1);
    rig.batch(&[cancelled])
        .await
        .expect("dead-lettered, not failed");
    let dead = rig.dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .contains("Amazon did not accept package PKG-1")
            && dead[0].reason.contains("cancelled")
            && dead[0].reason.contains("request id"),
        "{}",
        dead[0].reason
    );
    let record = rig.record(1).await;
    assert!(
        record.packages.is_empty(),
        "nothing reserved for a refused package"
    );
    assert!(record.refused["PKG-1"].reason.contains("cancelled"));
}

#[tokio::test]
async fn carrier_aliases_overrides_and_the_other_fallback_reach_amazon() {
    let rig = ShipRig::new("ship-carriers", "A1SHIPCARRIER", 5).await;
    let mut settings = rig
        .pull
        .store
        .get_settings(&rig.seller_id())
        .await
        .expect("read settings")
        .expect("settings");
    settings.carrier_overrides.insert(
        "Hausbote".into(),
        domain::settings::CarrierOverride {
            carrier_code: "DPD".into(),
            shipping_method: Some("Classic".into()),
        },
    );
    rig.pull.set_settings(&settings).await;
    let cases = [
        (
            1,
            "USPS Priority Mail",
            None,
            ("USPS", Some("USPS Priority Mail")),
        ),
        (
            2,
            "dhl express",
            Some("Worldwide"),
            ("DHL", Some("Worldwide")),
        ),
        (3, "Evri", None, ("Hermes UK", Some("Evri"))),
        (
            4,
            "Kurier Müller",
            Some("Same day"),
            ("Kurier Müller", Some("Same day")),
        ),
        (5, "Hausbote", None, ("DPD", Some("Classic"))),
    ];
    let bodies: Vec<String> = cases
        .iter()
        .map(|(n, carrier, service, _)| {
            shipment(
                &rig.seller.seller_id,
                &rig.number(*n),
                &format!("PKG-{n}"),
                carrier,
                *service,
                &format!("T{n}"),
                &[],
            )
        })
        .collect();
    let answer = rig.batch(&bodies).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    for (n, _, _, (carrier, service)) in cases {
        let pk = packages(&rig.order(n));
        assert_eq!(pk[0]["carrier"].as_str(), Some(carrier), "order {n}");
        assert_eq!(pk[0]["shippingService"].as_str(), service, "order {n}");
    }
    // What the connector sent for the unknown carrier: Other with its name.
    let record = rig.record(4).await;
    let p = &record.packages["PKG-4"];
    assert_eq!(
        (p.carrier_code.as_str(), p.carrier_name.as_deref()),
        ("Other", Some("Kurier Müller"))
    );
}

#[tokio::test]
async fn a_run_that_died_after_confirming_is_not_confirmed_twice() {
    let rig = ShipRig::new("ship-died", "A1SHIPDIED", 1).await;
    let m = rig.message(1, "PKG-1", "DHL", &[]);
    // A run claims the package (lease until its deadline) and dies after
    // Amazon accepted it: the package is on Amazon's order (reference 1),
    // the connector's record still says "confirming".
    let mut sellers = shipment_confirm::confirm::Sellers::default();
    let prepared = rig
        .function
        .confirmer
        .prepare(
            &m,
            &mut sellers,
            &domain::Deadline::after(Duration::from_secs(60)),
        )
        .await
        .expect("claimed");
    assert!(matches!(
        prepared,
        shipment_confirm::confirm::Prepared::Claimed(_)
    ));
    rig.pull
        .sim
        .control()
        .ship(
            &rig.seller.seller_id,
            &rig.order_id(1),
            ShipSpec {
                items: vec![ShipItem {
                    sku: "SKU-1-A".into(),
                    quantity: 1,
                }],
                carrier: Some("DHL".into()),
                tracking_number: Some("TRACK-PKG-1".into()),
                shipping_service: None,
            },
        )
        .expect("Amazon has it");
    // While its lease lasts, a redelivery leaves it alone (retry later)...
    let answer = rig.batch(std::slice::from_ref(&m)).await;
    assert!(answer.is_err(), "in flight: {answer:?}");
    // ...after it, the next delivery checks Amazon's order and finds it.
    rig.pull
        .sim
        .control()
        .advance_clock(Duration::from_secs(120));
    rig.batch(&[m]).await.expect("settled");
    assert_eq!(
        rig.calls(Operation::ConfirmShipment).calls,
        0,
        "never confirmed twice"
    );
    assert_eq!(rig.calls(Operation::GetOrder).ok, 1);
    let record = rig.record(1).await;
    assert!(matches!(
        record.packages["PKG-1"].state,
        PackageState::Confirmed {
            via: Via::Verified,
            ..
        }
    ));
    assert!(rig.dead_letters().await.is_empty());
}

#[tokio::test]
async fn a_label_bought_for_the_order_is_not_confirmed_again() {
    let rig = ShipRig::new("ship-label", "A1SHIPLABEL", 1).await;
    // The label function bought a label for order 1 (its hook).
    let order = domain::AmazonOrderId::new(rig.order_id(1)).unwrap();
    rig.pull
        .store
        .record_label_bought(
            &rig.seller_id(),
            &order,
            &LabelRecord {
                tracking_number: "TRACK-PKG-1".into(),
                shipment_id: Some("amzn1.shipment.1".into()),
                carrier: Some("Amazon Shipping".into()),
                bought_at: rig.pull.sim.control().now(),
            },
            (rig.pull.sim.control().now() + chrono::TimeDelta::days(30)).timestamp(),
        )
        .await
        .expect("label recorded");
    rig.batch(&[rig.message(1, "PKG-1", "Amazon Shipping", &[])])
        .await
        .expect("the batch");
    assert_eq!(rig.calls(Operation::ConfirmShipment).calls, 0);
    let record = rig.record(1).await;
    assert!(matches!(
        record.packages["PKG-1"].state,
        PackageState::Confirmed {
            via: Via::Label,
            ..
        }
    ));
    // Its units count: nothing is left to ship.
    rig.batch(&[rig.message(1, "PKG-1-B", "DHL", &[])])
        .await
        .expect("dead-lettered");
    assert!(
        rig.dead_letters().await[0]
            .reason
            .contains("nothing left to ship")
    );
}

fn carrier_codes() -> std::collections::BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/amazon/carrier-codes.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn many_packages_of_one_seller_go_as_one_feed_whose_report_settles_each() {
    let mut rig = ShipRig::new("ship-feed", "A1SHIPFEED", 6).await;
    rig.function.confirmer.options.feed_threshold = 5;
    let c = rig.pull.sim.control().clone();
    let seller = rig.seller.seller_id.clone();
    // Amazon cancels order 3 after the WMS packed it: its message fails.
    c.cancel(&seller, &rig.order_id(3), CancelSpec::default())
        .expect("cancel");
    let carriers = ["DHL", "Royal Mail 48", "UPS", "Kurier Müller", "GLS", "dpd"];
    let bodies: Vec<String> = (1..=6u32)
        .map(|n| {
            shipment(
                &seller,
                &rig.number(n),
                &format!("PKG-{n}"),
                carriers[n as usize - 1],
                Some("Standard"),
                &format!("T{n}"),
                &[],
            )
        })
        .collect();
    let answer = rig.batch(&bodies).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    assert_eq!(
        rig.calls(Operation::ConfirmShipment).calls,
        0,
        "no per-package calls"
    );
    assert_eq!(rig.calls(Operation::CreateFeed).ok, 1);
    let feeds = c.feeds(&seller);
    assert_eq!(feeds.len(), 1);
    let feed_id = feeds[0].feed_id.clone();
    assert_eq!(feeds[0].feed_type, "POST_ORDER_FULFILLMENT_DATA");

    // The document: the order-fulfilment schema's structure, codes Amazon accepts.
    let (content_type, document) = c.feed_input(&seller, &feed_id).expect("uploaded");
    assert_eq!(content_type, "text/xml; charset=UTF-8");
    let doc = tests::xsd::parse(&document).expect("well-formed XML");
    tests::xsd::order_fulfillment_schema()
        .validate(&doc)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&document)));
    let text = String::from_utf8(document).expect("UTF-8");
    assert_eq!(text.matches("<Message>").count(), 6);
    let codes = carrier_codes();
    for code in text.split("<CarrierCode>").skip(1) {
        let code = code.split('<').next().unwrap_or_default();
        assert!(
            codes.contains(code),
            "{code} is not an accepted carrier code"
        );
    }
    assert!(
        text.contains("<CarrierName>Kurier Müller</CarrierName>"),
        "Other goes as a name"
    );
    assert!(text.contains("<CarrierCode>Royal Mail</CarrierCode>"));

    // A repeat while the feed is processed: acknowledged, nobody called.
    let again = rig.batch(&bodies[..1]).await.expect("the batch");
    assert!(ShipRig::failures(&again).is_empty());
    assert_eq!(rig.calls(Operation::ConfirmShipment).calls, 0);

    // Amazon processes the feed; the checks settle every package.
    c.advance_clock(Duration::from_secs(300));
    let checks = rig.run_feed_jobs(5).await;
    assert!(checks.iter().all(|a| a.is_ok()), "{checks:?}");
    for n in [1, 2, 4, 5, 6] {
        assert_eq!(rig.status(n), "SHIPPED", "order {n}");
        let record = rig.record(n).await;
        assert!(
            matches!(
                record.packages[&format!("PKG-{n}")].state,
                PackageState::Confirmed { via: Via::Feed, .. }
            ),
            "order {n}: {:?}",
            record.packages
        );
    }
    assert_eq!(packages(&rig.order(2))[0]["carrier"], "Royal Mail");
    // The refusal in the report is surfaced with Amazon's reason, as sent.
    let dead = rig.dead_letters().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].body, bodies[2]);
    assert!(
        dead[0].reason.contains(&format!("feed {feed_id}")) && dead[0].reason.contains("cancelled"),
        "{}",
        dead[0].reason
    );
    let record = rig.record(3).await;
    assert!(record.packages.is_empty() && record.refused.contains_key("PKG-3"));

    // The processing report has the schema's structure too.
    let report = c.feed_report(&seller, &feed_id).expect("a report");
    let report = tests::xsd::parse(&report).expect("well-formed");
    tests::xsd::order_fulfillment_schema()
        .validate(&report)
        .expect("ProcessingReport envelope");
}

#[tokio::test]
async fn a_feed_that_never_finishes_falls_back_to_confirm_shipment() {
    let mut rig = ShipRig::new("ship-feed-stall", "A1SHIPSTALL", 5).await;
    rig.function.confirmer.options.feed_threshold = 5;
    rig.function.confirmer.options.feed_max_checks = 2;
    let c = rig.pull.sim.control().clone();
    c.stall_feeds(&rig.seller.seller_id, 1);
    let bodies: Vec<String> = (1..=5u32)
        .map(|n| rig.message(n, &format!("PKG-{n}"), "DHL", &[]))
        .collect();
    rig.batch(&bodies).await.expect("the batch");
    assert_eq!(rig.calls(Operation::CreateFeed).ok, 1);
    c.advance_clock(Duration::from_secs(300));
    rig.run_feed_jobs(5).await;
    assert_eq!(
        rig.queued().await,
        5,
        "the packages went back to the shipment queue"
    );
    rig.deliver().await;
    for n in 1..=5 {
        assert_eq!(rig.status(n), "SHIPPED", "order {n}");
    }
    // Each was checked on Amazon's order first, then confirmed once.
    assert_eq!(rig.calls(Operation::ConfirmShipment).ok, 5);
    assert_eq!(rig.calls(Operation::GetOrder).ok, 5);
    assert!(rig.dead_letters().await.is_empty());
}

#[test]
fn the_feed_schema_check_refuses_what_the_xsd_refuses() {
    let schema = tests::xsd::order_fulfillment_schema();
    let good = "<AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>A1</MerchantIdentifier></Header>\
        <MessageType>OrderFulfillment</MessageType><Message><MessageID>1</MessageID><OrderFulfillment>\
        <AmazonOrderID>302-1234567-1234567</AmazonOrderID><FulfillmentDate>2026-09-01T14:00:00Z</FulfillmentDate>\
        <FulfillmentData><CarrierCode>DHL</CarrierCode><ShipperTrackingNumber>T1</ShipperTrackingNumber></FulfillmentData>\
        <Item><AmazonOrderItemCode>12345678901234</AmazonOrderItemCode><Quantity>1</Quantity></Item>\
        </OrderFulfillment></Message></AmazonEnvelope>";
    let check = |xml: &str| schema.validate(&tests::xsd::parse(xml.as_bytes()).expect("XML"));
    check(good).expect("the good envelope passes");
    let bad = [
        (
            good.replace(
                "<CarrierCode>DHL</CarrierCode>",
                "<CarrierCode>Dhl Paket</CarrierCode>",
            ),
            "not one of",
        ),
        (
            good.replace(
                "<FulfillmentDate>2026-09-01T14:00:00Z</FulfillmentDate>",
                "",
            ),
            "FulfillmentDate",
        ),
        (
            good.replace(
                "<MessageType>OrderFulfillment</MessageType>",
                "<MessageType>Orders</MessageType>",
            ),
            "not one of",
        ),
        (good.replace("12345678901234", "123"), "does not match"),
        (
            good.replace("<Quantity>1</Quantity>", "<Quantity>0</Quantity>"),
            "positiveInteger",
        ),
        (
            good.replace(
                "<CarrierCode>DHL</CarrierCode>",
                "<CarrierCode>DHL</CarrierCode><CarrierName>x</CarrierName>",
            ),
            "CarrierName",
        ),
        (good.replace("<MessageID>1</MessageID>", ""), "MessageID"),
    ];
    for (xml, expected) in bad {
        let err = check(&xml).expect_err(expected);
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[tokio::test]
async fn the_simulator_answers_confirm_shipment_like_amazon_within_its_rate_limit() {
    use tests::sim::{DE, access_token, add_seller, start_sim, test_order};
    // Speed 1: the published 2 calls per second with a burst of 10.
    let sim = start_sim(1.0).await;
    let seller = add_seller(&sim, "A1SIMCONFIRM", true);
    let mut spec = test_order(1, DE);
    spec.items[0].quantity = 20;
    let order = sim
        .control()
        .seed_order(&seller.seller_id, spec)
        .expect("seed");
    let item = sim
        .control()
        .order_json(&seller.seller_id, &order)
        .expect("order")["orderItems"][0]["orderItemId"]
        .as_str()
        .expect("item id")
        .to_string();
    let token = access_token(&sim, &seller).await;
    let http = reqwest::Client::new();
    let post = |reference: String, order: String, quantity: u32| {
        let body = serde_json::json!({
            "marketplaceId": DE,
            "packageDetail": {
                "packageReferenceId": reference, "carrierCode": "DHL", "trackingNumber": "T",
                "shipDate": "2026-09-01T14:00:00Z",
                "orderItems": [{"orderItemId": item, "quantity": quantity}]
            }
        });
        http.post(format!(
            "{}/orders/v0/orders/{order}/shipmentConfirmation",
            sim.base_url()
        ))
        .header("x-amz-access-token", &token)
        .json(&body)
        .send()
    };
    let ok = post("1".into(), order.clone(), 1).await.expect("post");
    assert_eq!(ok.status().as_u16(), 204);
    assert!(ok.headers().get("x-amzn-RequestId").is_some());
    assert_eq!(ok.headers().get("x-amzn-RateLimit-Limit").unwrap(), "2");
    assert!(ok.text().await.unwrap().is_empty(), "204 has no body");
    let again = post("1".into(), order.clone(), 1).await.expect("post");
    assert_eq!(again.status().as_u16(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "InvalidInput");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already been used")
    );
    let too_many = post("2".into(), order.clone(), 50).await.expect("post");
    assert_eq!(too_many.status().as_u16(), 400);
    let unknown = post("2".into(), "302-9999999-9999999".into(), 1)
        .await
        .expect("post");
    assert_eq!(unknown.status().as_u16(), 404);
    // The burst of 10 is spent (4 calls so far): a quick run of 10 more
    // meets 429 before the end.
    let mut statuses = Vec::new();
    for n in 3..13 {
        statuses.push(
            post(n.to_string(), order.clone(), 1)
                .await
                .expect("post")
                .status()
                .as_u16(),
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 204).count() >= 6,
        "{statuses:?}"
    );
    let shipped = sim
        .control()
        .order_json(&seller.seller_id, &order)
        .expect("order");
    let confirmed = statuses.iter().filter(|s| **s == 204).count() as u64 + 1;
    assert_eq!(
        shipped["orderItems"][0]["fulfillment"]["quantityFulfilled"],
        confirmed
    );
    assert_eq!(
        shipped["fulfillment"]["fulfillmentStatus"],
        "PARTIALLY_SHIPPED"
    );
}

#[tokio::test]
async fn the_demo_step_ships_orders_through_the_queue_and_reports_the_refusal() {
    let rig = ShipRig::new("ship-demo", "A1SHIPDEMO", 4).await;
    let numbers: Vec<String> = (1..=4).map(|n| rig.number(n)).collect();
    // Order 2 first: it has two lines, so it is shipped in two packages.
    let numbers = [&numbers[1..], &numbers[..1]].concat();
    let report = devstack::demo_shipments::ship_orders(
        &rig.pull.stack.sdk,
        &rig.pull.stack.resources,
        &rig.pull.stack.template,
        &rig.pull.sim,
        &rig.seller.seller_id,
        &numbers,
        3,
    )
    .await
    .expect("the demo step");
    let text = report.to_string();
    assert_eq!(report.orders.len(), 3, "{text}");
    assert!(
        report.orders.iter().all(|o| o.status == "SHIPPED"),
        "{text}"
    );
    assert_eq!(
        report.orders[0].packages.len(),
        2,
        "partial, then the rest: {text}"
    );
    assert_eq!(
        report.confirm_calls, 4,
        "the repeated message was not confirmed again: {text}"
    );
    assert_eq!(report.dead_letters.len(), 1, "{text}");
    assert!(report.dead_letters[0].1.contains("unknown order"), "{text}");
    assert!(
        text.contains("Royal Mail") && text.contains("Kurier Müller"),
        "{text}"
    );
}
