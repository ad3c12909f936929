//! Issue 17, items 2 and 3, end to end on moto and the simulator:
//! - the seller's shipping method table maps Amazon's service level to the
//!   WMS's service code in `order.created` version 2 (per marketplace, the
//!   built-in defaults, an explicit `unmapped`), and maps the WMS's code
//!   back to Amazon's shipping method when the shipment is confirmed;
//! - Prime (Seller Fulfilled Prime) orders say they must ship on Amazon's
//!   labels and by when; a label bought through the label function for the
//!   order ships it (Amazon knows; the WMS's shipment message is not
//!   confirmed again), while one shipped with another carrier's label is
//!   confirmed but flagged: a WARN line and the `BuyShippingBypassed` metric.

use chrono::TimeDelta;
use domain::shipping::MethodRow;
use domain::{MarketplaceId, Operation};
use order_pull::Mode;
use serde_json::json;
use spapi_sim::TimeWindow;
use tests::labels::{package, warehouse, wire_labels};
use tests::logs::LogCapture;
use tests::pull::PullRig;
use tests::ship::{ShipRig, shipment};
use tests::sim::{DE, ItemSpec, TestSeller, UK, add_seller_in, test_order};
use wms::{OrderCreated, OrderMessage, ServiceMapping};

fn row(amazon: &str, market: Option<&str>, wms: Option<&str>) -> MethodRow {
    MethodRow {
        amazon: amazon.into(),
        marketplace: market.map(|m| MarketplaceId::new(m).unwrap()),
        wms: wms.map(str::to_string),
        shipping_method: None,
        carrier_code: None,
    }
}

fn created(messages: &[OrderMessage], n: u32) -> OrderCreated {
    let number = format!("MG302-{n:07}-{n:07}");
    messages
        .iter()
        .find_map(|m| match m {
            OrderMessage::Created(c) if c.order_number == number => Some((**c).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no order.created for {number}"))
}

/// A seller in the UK and DE whose WMS reads version 2, with a table.
async fn rig(name: &str, seller_id: &str) -> (PullRig, TestSeller) {
    let rig = PullRig::new(name, 1000.0).await;
    let seller = add_seller_in(&rig.sim, seller_id, &[UK, DE], true);
    rig.onboard(&seller, |s| {
        s.order_message_version = 2;
        let mut uk_next_day = row("NEXT_DAY", Some(UK), Some("RM-TRACKED-24"));
        uk_next_day.shipping_method = Some("Tracked 24".into());
        uk_next_day.carrier_code = Some("Royal Mail".into());
        s.shipping.methods = vec![
            uk_next_day,
            row("NextDay", None, Some("DHL-EXPRESS")),
            row("EXPEDITED", None, None),
        ];
    })
    .await;
    (rig, seller)
}

#[tokio::test]
async fn the_shipping_method_table_maps_both_ways() {
    let (rig, seller) = rig("feat-methods", "A1SHIPMETHODS").await;
    let level = |n: u32, market: &str, level: &str| {
        let mut o = test_order(n, market);
        o.fulfillment_service_level = Some(level.into());
        o
    };
    let mut special = level(6, UK, "STANDARD");
    special.items = vec![ItemSpec {
        programs: vec!["TRANSPARENCY".into()],
        serial_number_required: true,
        shipping_constraints: vec!["signatureConfirmation".into()],
        ..ItemSpec::new("SKU-6-T", 2, "20.00", "GBP")
    }];
    let ids = rig
        .sim
        .control()
        .seed_orders(
            &seller.seller_id,
            vec![
                level(1, UK, "NEXT_DAY"),
                level(2, DE, "NEXT_DAY"),
                level(3, DE, "STANDARD"),
                level(4, DE, "SAME_DAY"),
                level(5, DE, "EXPEDITED"),
                special,
            ],
        )
        .expect("seed");
    rig.settle();
    assert_eq!(rig.pull(&seller, Mode::Incremental).await.sent, 6);
    let messages = rig.drain_wms().await;
    assert!(
        messages
            .iter()
            .all(|m| m.version() == wms::MessageVersion::V2)
    );

    let shipping = |n| {
        created(&messages, n)
            .shipping
            .expect("version 2 has shipping")
    };
    let s = shipping(1);
    assert_eq!(
        (s.wms_service.as_deref(), s.mapping),
        (Some("RM-TRACKED-24"), ServiceMapping::Seller),
        "the UK row"
    );
    let s = shipping(2);
    assert_eq!(
        (s.wms_service.as_deref(), s.mapping),
        (Some("DHL-EXPRESS"), ServiceMapping::Seller),
        "the row for any marketplace"
    );
    let s = shipping(3);
    assert_eq!(
        (s.wms_service.as_deref(), s.mapping),
        (Some("STANDARD"), ServiceMapping::Default)
    );
    for n in [4, 5] {
        let s = shipping(n);
        assert_eq!(
            (s.wms_service, s.mapping),
            (None, ServiceMapping::Unmapped),
            "order {n}"
        );
    }
    assert_eq!(shipping(4).service_level.as_deref(), Some("SAME_DAY"));
    assert!(!shipping(3).buy_shipping.required);
    let line = created(&messages, 6).lines[0].requirements.clone().unwrap();
    assert!(line.transparency_codes && line.serial_numbers);
    assert_eq!(line.shipping_constraints, ["SIGNATURE_CONFIRMATION"]);

    // The way back: the WMS confirms with its own service codes.
    let ship = ShipRig::on(rig, seller.clone(), ids).await;
    let bodies = vec![
        shipment(
            &seller.seller_id,
            &ship.number(1),
            "PKG-1",
            "RM",
            Some("RM-TRACKED-24"),
            "RM123456785GB",
            &[],
        ),
        shipment(
            &seller.seller_id,
            &ship.number(2),
            "PKG-2",
            "DHL",
            Some("DHL-EXPRESS"),
            "00340434161234567890",
            &[],
        ),
    ];
    let answer = ship.batch(&bodies).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    let packages = |n: u32| {
        ship.pull
            .sim
            .control()
            .packages(&seller.seller_id, &ship.order_id(n))
            .unwrap()
    };
    let p1 = &packages(1)[0];
    assert_eq!(
        (p1.carrier.as_str(), p1.shipping_service.as_deref()),
        ("Royal Mail", Some("Tracked 24")),
        "the row's carrier code and shipping method"
    );
    let p2 = &packages(2)[0];
    assert_eq!(
        (p2.carrier.as_str(), p2.shipping_service.as_deref()),
        ("DHL", Some("DHL-EXPRESS")),
        "no way back in the row: the service as sent"
    );
}

#[tokio::test]
async fn prime_orders_ship_on_amazon_labels_and_another_label_is_flagged() {
    let (log, _guard) = LogCapture::start();
    let (rig, seller) = rig("feat-prime", "A1SHIPPRIME").await;
    let c = rig.sim.control().clone();
    // Whole seconds, as Amazon (and the simulator) give times.
    let now = chrono::DateTime::from_timestamp(c.now().timestamp(), 0).unwrap();
    let ship_by = TimeWindow {
        earliest: now,
        latest: now + TimeDelta::hours(8),
    };
    let prime = |n: u32, market: &str| {
        let mut o = test_order(n, market);
        o.programs = vec!["PRIME".into()];
        o.fulfillment_service_level = Some("NEXT_DAY".into());
        o.ship_by = Some(ship_by);
        o.label_printing_earliest = Some(now);
        o
    };
    let ids = c
        .seed_orders(
            &seller.seller_id,
            vec![prime(1, UK), prime(2, UK), test_order(3, UK)],
        )
        .expect("seed");
    rig.settle();
    assert_eq!(rig.pull(&seller, Mode::Incremental).await.sent, 3);
    let messages = rig.drain_wms().await;

    // The order message says so, and by when.
    let b = created(&messages, 1).shipping.unwrap().buy_shipping;
    assert!(b.required);
    assert_eq!(b.reasons, ["PRIME"]);
    assert_eq!(b.ship_by, Some(ship_by.latest));
    assert_eq!(b.label_from, Some(now));
    assert!(created(&messages, 1).flags.prime);
    assert!(
        !created(&messages, 3)
            .shipping
            .unwrap()
            .buy_shipping
            .required
    );

    let ship = ShipRig::on(rig, seller.clone(), ids).await;
    let (_, labels, _) = wire_labels(&ship.pull.stack, &ship.pull.sim, 1000.0);

    // Order 1: the label function buys on the order's channel, one call.
    let out = labels::handle(
        &labels,
        json!({
            "schema": 1, "operation": "one_click", "seller_id": seller.seller_id,
            "idempotency_key": "PKG-P1",
            "shipment": {
                "order_number": ship.number(1), "ship_from": warehouse(),
                "packages": [package("PKG-P1", "1.0", &[("SKU-1-A", 1)])]
            },
            "select": {"rule": "cheapest_on_time"},
            "label": {"format": "PDF"}
        }),
        domain::Deadline::after(std::time::Duration::from_secs(30)),
    )
    .await;
    let label = wms::LabelResponse::parse(&out.to_string())
        .unwrap()
        .label
        .unwrap_or_else(|| panic!("a label: {out}"));
    assert!(label.shipment_confirmed_by_amazon);
    let tracking = label.packages[0].tracking_id.clone().expect("tracking");
    assert_eq!(ship.status(1), "SHIPPED", "Amazon marked it shipped");

    // The WMS's messages: order 1 with the label's tracking number, order 2
    // with another carrier's label, order 3 (not Prime) likewise.
    let bodies = vec![
        shipment(
            &seller.seller_id,
            &ship.number(1),
            "PKG-P1",
            "Amazon Shipping",
            None,
            &tracking,
            &[],
        ),
        shipment(
            &seller.seller_id,
            &ship.number(2),
            "PKG-P2",
            "DHL",
            None,
            "DHL-0002",
            &[],
        ),
        shipment(
            &seller.seller_id,
            &ship.number(3),
            "PKG-P3",
            "DHL",
            None,
            "DHL-0003",
            &[],
        ),
    ];
    let answer = ship.batch(&bodies).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    // Orders 2 and 3 confirmed; order 1 not again.
    assert_eq!(ship.calls(Operation::ConfirmShipment).ok, 2);
    assert_eq!(ship.status(2), "SHIPPED");
    assert_eq!(
        ship.pull
            .sim
            .control()
            .packages(&seller.seller_id, &ship.order_id(1))
            .unwrap()
            .len(),
        1,
        "one package on order 1: the label's"
    );

    // Flagged once, for order 2 only: metric and WARN line.
    let bypassed = |sink| {
        tests::emf::total(
            &tests::emf::documents(sink),
            "BuyShippingBypassed",
            &[
                ("Seller", seller.seller_id.as_str()),
                ("Job", "shipment-confirm"),
            ],
        )
    };
    assert_eq!(bypassed(&ship.metrics), 1.0);
    let warns: Vec<String> = log
        .text()
        .lines()
        .filter(|l| l.contains("buy_shipping.bypassed"))
        .map(str::to_string)
        .collect();
    assert_eq!(warns.len(), 1, "{warns:#?}");
    assert!(warns[0].contains("\"level\":\"WARN\""), "{}", warns[0]);
    assert!(warns[0].contains(&ship.order_id(2)), "{}", warns[0]);
    assert!(warns[0].contains("PRIME"), "{}", warns[0]);

    // The same message again: nothing sent, nothing counted twice.
    ship.batch(&bodies[1..2]).await.expect("the batch");
    assert_eq!(ship.calls(Operation::ConfirmShipment).ok, 2);
    assert_eq!(bypassed(&ship.metrics), 1.0);
    // No buyer data in any of it.
    log.assert_free_of(&["Test Buyer", "Buyer Street"]);
}
