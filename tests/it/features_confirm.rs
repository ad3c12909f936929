//! Issue 17, item 5, end to end on moto and the simulator: the supply source
//! (per seller or per message), Transparency codes and the COD collection
//! method travel from the WMS's shipment message (version 2) to Amazon,
//! through `confirmShipment` and through the order-fulfilment feed alike;
//! what Amazon refuses is dead-lettered with its reason, what the contract
//! refuses never reaches Amazon.

use std::time::Duration;

use domain::{Operation, Region};
use order_pull::Mode;
use serde_json::{Value, json};
use tests::pull::PullRig;
use tests::ship::ShipRig;
use tests::sim::{DE, ItemSpec, add_seller_in, test_order};

const JP: &str = "A1VC38T7YXB528";

fn v2(rig: &ShipRig, n: u32, package: &str, extra: Value) -> String {
    let mut m = json!({
        "schema": 2,
        "seller_id": rig.seller.seller_id,
        "order_number": rig.number(n),
        "package_id": package,
        "carrier": "DHL",
        "tracking_number": format!("TRACK-{package}"),
        "ship_date": "2026-09-01T14:00:00Z",
    });
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    m.to_string()
}

/// A DE seller with supply sources WH-LEIPZIG (its setting) and WH-BERLIN;
/// orders 1..=n each with a Transparency item `T-n` (2 units) and a plain one.
async fn de_rig(name: &str, seller_id: &str, orders: u32) -> ShipRig {
    let pull = PullRig::new(name, 1000.0).await;
    let seller = add_seller_in(&pull.sim, seller_id, &[DE], true);
    pull.sim
        .control()
        .set_supply_sources(seller_id, &["WH-LEIPZIG", "WH-BERLIN"])
        .unwrap();
    pull.onboard(&seller, |s| {
        s.shipping.ship_from_supply_source_id = Some("WH-LEIPZIG".into());
    })
    .await;
    let specs = (1..=orders)
        .map(|n| {
            let mut o = test_order(n, DE);
            o.items = vec![
                ItemSpec {
                    programs: vec!["TRANSPARENCY".into()],
                    ..ItemSpec::new(&format!("T-{n}"), 2, "30.00", "EUR")
                },
                ItemSpec::new(&format!("P-{n}"), 1, "5.00", "EUR"),
            ];
            o
        })
        .collect();
    let ids = pull
        .sim
        .control()
        .seed_orders(seller_id, specs)
        .expect("seed");
    pull.settle();
    assert_eq!(pull.pull(&seller, Mode::Incremental).await.sent, orders);
    pull.drain_wms().await;
    ShipRig::on(pull, seller, ids).await
}

#[tokio::test]
async fn supply_source_and_transparency_codes_reach_confirm_shipment() {
    let rig = de_rig("feat-confirm-api", "A1CONFIRMEXTRAS", 5).await;
    let codes = |n: u32| json!([format!("AZ:{n}A"), format!("AZ:{n}B")]);
    let bodies = vec![
        // 1: the message's supply source and the codes.
        v2(
            &rig,
            1,
            "PKG-1",
            json!({"ship_from_supply_source_id": "WH-BERLIN",
                   "lines": [{"sku": "T-1", "quantity": 2, "transparency_codes": codes(1)},
                             {"sku": "P-1", "quantity": 1}]}),
        ),
        // 2: no supply source: the seller's.
        v2(
            &rig,
            2,
            "PKG-2",
            json!({"lines": [{"sku": "T-2", "quantity": 2, "transparency_codes": codes(2)}]}),
        ),
        // 3: a supply source Amazon does not know: refused by Amazon.
        v2(
            &rig,
            3,
            "PKG-3",
            json!({"ship_from_supply_source_id": "WH-NOWHERE",
                   "lines": [{"sku": "T-3", "quantity": 2, "transparency_codes": codes(3)}]}),
        ),
        // 4: a Transparency item without its codes: refused by Amazon.
        v2(
            &rig,
            4,
            "PKG-4",
            json!({"lines": [{"sku": "T-4", "quantity": 2}]}),
        ),
        // 5: version 1 with codes: refused by the contract, Amazon never asked.
        {
            let mut m: Value = serde_json::from_str(&v2(
                &rig,
                5,
                "PKG-5",
                json!({"lines": [{"sku": "T-5", "quantity": 2, "transparency_codes": codes(5)}]}),
            ))
            .unwrap();
            m["schema"] = json!(1);
            m.to_string()
        },
    ];
    let answer = rig.batch(&bodies).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    assert_eq!(rig.calls(Operation::ConfirmShipment).calls, 4);

    let c = rig.pull.sim.control().clone();
    let packages = |n: u32| c.packages(&rig.seller.seller_id, &rig.order_id(n)).unwrap();
    let p1 = &packages(1)[0];
    assert_eq!(p1.supply_source.as_deref(), Some("WH-BERLIN"));
    let t1 = p1.items.iter().find(|(_, q, _)| *q == 2).unwrap();
    assert_eq!(t1.2, ["AZ:1A", "AZ:1B"]);
    let p2 = &packages(2)[0];
    assert_eq!(
        p2.supply_source.as_deref(),
        Some("WH-LEIPZIG"),
        "the seller's"
    );
    assert_eq!(p2.items[0].2, ["AZ:2A", "AZ:2B"]);
    // Amazon's order shows the codes (getOrder, PACKAGES).
    assert_eq!(
        rig.order(2)["packages"][0]["packageItems"][0]["transparencyCodes"],
        json!(["AZ:2A", "AZ:2B"])
    );

    let mut dead = rig.dead_letters().await;
    dead.sort_by(|a, b| a.body.cmp(&b.body));
    assert_eq!(dead.len(), 3, "{dead:#?}");
    let reason = |package: &str| {
        dead.iter()
            .find(|d| d.body.contains(package))
            .map(|d| d.reason.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("PKG-3").contains("not a supply source"),
        "{}",
        reason("PKG-3")
    );
    assert!(
        reason("PKG-4").contains("Transparency"),
        "{}",
        reason("PKG-4")
    );
    assert!(
        reason("PKG-5").contains("`/lines/0/transparency_codes` is a field of schema version 2"),
        "{}",
        reason("PKG-5")
    );
    for n in [3, 4, 5] {
        assert!(packages(n).is_empty(), "order {n} not shipped");
    }

    // Corrected, the refused packages go through under the same package ids.
    let fixed = vec![
        v2(
            &rig,
            3,
            "PKG-3",
            json!({"ship_from_supply_source_id": "WH-BERLIN",
                   "lines": [{"sku": "T-3", "quantity": 2, "transparency_codes": codes(3)}]}),
        ),
        v2(
            &rig,
            4,
            "PKG-4",
            json!({"lines": [{"sku": "T-4", "quantity": 2, "transparency_codes": codes(4)}]}),
        ),
    ];
    let answer = rig.batch(&fixed).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    assert!(rig.dead_letters().await.is_empty());
    assert_eq!(packages(3)[0].supply_source.as_deref(), Some("WH-BERLIN"));
}

#[tokio::test]
async fn the_fulfilment_feed_carries_the_supply_source_and_transparency_codes() {
    let mut rig = de_rig("feat-confirm-feed", "A1CONFIRMFEED", 3).await;
    rig.function.confirmer.options.feed_threshold = 3;
    let bodies: Vec<String> = (1..=3u32)
        .map(|n| {
            v2(
                &rig,
                n,
                &format!("PKG-{n}"),
                json!({"ship_from_supply_source_id": if n == 1 { "WH-BERLIN" } else { "WH-LEIPZIG" },
                       "lines": [{"sku": format!("T-{n}"), "quantity": 2,
                                  "transparency_codes": [format!("AZ:{n}A"), format!("AZ:{n}B")]},
                                 {"sku": format!("P-{n}"), "quantity": 1}]}),
            )
        })
        .collect();
    let answer = rig.batch(&bodies).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    assert_eq!(rig.calls(Operation::ConfirmShipment).calls, 0, "one feed");
    let c = rig.pull.sim.control().clone();
    let feeds = c.feeds(&rig.seller.seller_id);
    assert_eq!(feeds.len(), 1);
    let (_, document) = c
        .feed_input(&rig.seller.seller_id, &feeds[0].feed_id)
        .expect("uploaded");

    // The document: the 2020 schema's structure (TransparencyCode in the
    // item), plus ShipFromSupplySourceId, which Amazon added in 2024 after
    // that copy, as the last element of OrderFulfillment.
    let mut doc = tests::xsd::parse(&document).expect("well-formed");
    let mut sources = Vec::new();
    for message in doc.children.iter_mut().filter(|m| m.name == "Message") {
        for f in message
            .children
            .iter_mut()
            .filter(|f| f.name == "OrderFulfillment")
        {
            let last = f.children.pop().expect("children");
            assert_eq!(last.name, "ShipFromSupplySourceId");
            sources.push(last.text.trim().to_string());
        }
    }
    assert_eq!(sources, ["WH-BERLIN", "WH-LEIPZIG", "WH-LEIPZIG"]);
    tests::xsd::order_fulfillment_schema()
        .validate(&doc)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&document)));
    let text = String::from_utf8(document).unwrap();
    assert!(
        text.contains("<TransparencyCode>AZ:2B</TransparencyCode>"),
        "{text}"
    );

    // Amazon processes it: each package with its supply source and codes.
    c.advance_clock(Duration::from_secs(300));
    let checks = rig.run_feed_jobs(5).await;
    assert!(checks.iter().all(|a| a.is_ok()), "{checks:?}");
    for n in 1..=3u32 {
        assert_eq!(rig.status(n), "SHIPPED", "order {n}");
        let p = &c.packages(&rig.seller.seller_id, &rig.order_id(n)).unwrap()[0];
        let want = if n == 1 { "WH-BERLIN" } else { "WH-LEIPZIG" };
        assert_eq!(p.supply_source.as_deref(), Some(want));
        let t = p.items.iter().find(|(_, q, _)| *q == 2).unwrap();
        assert_eq!(t.2, [format!("AZ:{n}A"), format!("AZ:{n}B")]);
    }
    assert!(rig.dead_letters().await.is_empty());
}

#[tokio::test]
async fn cash_on_delivery_is_confirmed_in_japan_and_refused_elsewhere() {
    let pull = PullRig::new("feat-confirm-cod", 1000.0).await;
    let seller = add_seller_in(&pull.sim, "A1CONFIRMCODJP", &[JP], true);
    pull.onboard(&seller, |s| s.region = Region::Fe).await;
    let ids = pull
        .sim
        .control()
        .seed_orders(&seller.seller_id, vec![test_order(1, JP)])
        .expect("seed");
    pull.settle();
    assert_eq!(pull.pull(&seller, Mode::Incremental).await.sent, 1);
    pull.drain_wms().await;
    let rig = ShipRig::on(pull, seller, ids).await;
    let body = v2(
        &rig,
        1,
        "PKG-COD",
        json!({"cod_collection_method": "DirectPayment"}),
    );
    let answer = rig.batch(&[body]).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    assert!(rig.dead_letters().await.is_empty());
    let p = &rig
        .pull
        .sim
        .control()
        .packages(&rig.seller.seller_id, &rig.order_id(1))
        .unwrap()[0];
    assert_eq!(p.cod_collection_method.as_deref(), Some("DirectPayment"));

    // In Germany Amazon refuses it, and says so.
    let de = de_rig("feat-confirm-cod-de", "A1CONFIRMCODDE", 1).await;
    let body = v2(
        &de,
        1,
        "PKG-COD",
        json!({"cod_collection_method": "DirectPayment",
               "lines": [{"sku": "T-1", "quantity": 2, "transparency_codes": ["AZ:1", "AZ:2"]}]}),
    );
    de.batch(&[body]).await.expect("the batch");
    let dead = de.dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .contains("only supported in the JP marketplace"),
        "{}",
        dead[0].reason
    );
}
