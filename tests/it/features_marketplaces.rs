//! Issue 17, item 1 — "Marketplace (Default All)": a seller whose settings
//! list no marketplace is served in every marketplace it participates in
//! (getMarketplaceParticipations, refreshed daily), end to end on moto and
//! the simulator: a seller in DE, FR, IT, ES and the UK gets its orders
//! pulled from all five, confirmed in each order's marketplace, and its
//! stock pushed to each; a marketplace it starts selling in is picked up
//! at the next daily refresh, with the orders it had there meanwhile.

use std::time::Duration;

use domain::participations::refresh_after;
use domain::{Deadline, Operation, SellerId};
use order_pull::Mode;
use serde_json::json;
use spapi_sim::{ListingSpec, NON_AMAZON_ID};
use store::{ParticipationStore, SettingsStore};
use tests::inventory::{WMS_TOKEN, wire_pusher};
use tests::pull::PullRig;
use tests::ship::ShipRig;
use tests::sim::{DE, SellerSpec, TestSeller, UK, test_order};
use tests::wms_stock::FakeWms;
use wms::OrderMessage;

const FR: &str = "A13V1IB3VIYZZH";
const IT: &str = "APJ6JRA9NG5V4";
const ES: &str = "A1RKKUPIHCS9HS";
const NL: &str = "A1805IZSGTT6HS";

/// A seller selling in `markets`, listed as dormant in NL and with a
/// non-Amazon channel, as Amazon lists such accounts.
fn eu_seller(rig: &PullRig, seller_id: &str, markets: &[&str]) -> TestSeller {
    let seller = TestSeller {
        seller_id: seller_id.to_string(),
        refresh_token: format!("Atzr|sim-refresh-{seller_id}"),
        marketplace_ids: markets.iter().map(|m| m.to_string()).collect(),
    };
    let mut spec = SellerSpec::new(seller_id, &seller.refresh_token, markets, true);
    spec.dormant_marketplace_ids = vec![NL.to_string()];
    spec.non_amazon_channel = true;
    rig.sim.control().add_seller(spec).expect("add seller");
    seller
}

fn participation_calls(rig: &PullRig, seller: &TestSeller) -> u64 {
    rig.sim
        .control()
        .operation_metrics(&seller.seller_id, Operation::GetMarketplaceParticipations)
        .calls
}

#[tokio::test]
async fn a_seller_in_de_fr_it_es_and_uk_with_no_marketplace_listed_is_served_in_all_five() {
    let rig = PullRig::new("feat-all-markets", 1000.0).await;
    let markets = [DE, FR, IT, ES, UK];
    let seller = eu_seller(&rig, "A1EUFIVEMARKETS", &markets);
    let settings = rig.onboard(&seller, |s| s.marketplaces.clear()).await;
    assert!(settings.marketplaces.is_empty(), "stored as 'all'");
    let seller_id = SellerId::new(&seller.seller_id).unwrap();

    // One order in each marketplace.
    let specs = markets
        .iter()
        .enumerate()
        .map(|(i, m)| test_order(i as u32 + 1, m))
        .collect();
    let order_ids = rig
        .sim
        .control()
        .seed_orders(&seller.seller_id, specs)
        .expect("seed");
    rig.settle();

    // Orders: every marketplace, none other; the participations are kept.
    let report = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.sent, 5, "{report:?}");
    let mut got: Vec<String> = rig
        .drain_wms()
        .await
        .iter()
        .map(|m| match m {
            OrderMessage::Created(c) => c.marketplace_id.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = markets.iter().map(|m| m.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(participation_calls(&rig, &seller), 1);
    let kept = rig
        .store
        .get_participations(&seller_id)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(kept.marketplaces.len(), 7, "five, NL dormant, non-Amazon");
    let (effective, excluded) = kept.effective(domain::Region::Eu);
    assert_eq!(effective.len(), 5);
    let excluded: Vec<&str> = excluded.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(excluded, [NL, NON_AMAZON_ID]);
    // The settings still say "all": the list lives beside them.
    assert!(
        rig.store
            .get_settings(&seller_id)
            .await
            .unwrap()
            .unwrap()
            .marketplaces
            .is_empty()
    );

    // Within the day the kept list is used: no second call.
    rig.settle();
    rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(participation_calls(&rig, &seller), 1);

    // Confirmations: each package to its own order's marketplace.
    let ship = ShipRig::on(rig, seller.clone(), order_ids).await;
    let bodies: Vec<String> = (1..=5u32)
        .map(|n| ship.message(n, &format!("PKG-M{n}"), "DHL", &[]))
        .collect();
    let answer = ship.batch(&bodies).await.expect("the batch");
    assert!(ShipRig::failures(&answer).is_empty(), "{answer}");
    assert!(ship.dead_letters().await.is_empty());
    for n in 1..=5u32 {
        assert_eq!(ship.status(n), "SHIPPED", "order {n}");
    }
    assert_eq!(ship.calls(Operation::ConfirmShipment).ok, 5);

    // Stock: pushed to each of the five marketplaces, to nothing else.
    let wms = FakeWms::start(WMS_TOKEN, 50).await;
    let (_, pusher, dead_letters, _) =
        wire_pusher(&ship.pull.stack, &ship.pull.sim, &wms, 1000.0).await;
    let c = ship.pull.sim.control().clone();
    c.seed_listings(
        &seller.seller_id,
        vec![ListingSpec::new("MUG-1", 0), ListingSpec::new("MUG-2", 0)],
    )
    .expect("listings");
    wms.set_stock(
        settings.client_code.as_str(),
        &[("MUG-1", 7, 7), ("MUG-2", 3, 3)],
    );
    let out = inventory_push::handle(
        &pusher,
        &dead_letters,
        json!({"kind": "push", "seller_id": seller.seller_id}),
        Deadline::after(Duration::from_secs(120)),
    )
    .await
    .expect("the push");
    let report: inventory_push::PushReport = serde_json::from_value(out).unwrap();
    assert_eq!(report.accepted, 2, "{report:?}");
    let mut pushed = report.marketplaces.clone();
    pushed.sort();
    assert_eq!(pushed, want);
    for m in markets {
        assert_eq!(
            c.listing_quantity_in(&seller.seller_id, "MUG-1", m),
            Some(7),
            "{m}"
        );
        assert_eq!(
            c.listing_quantity_in(&seller.seller_id, "MUG-2", m),
            Some(3),
            "{m}"
        );
    }
    assert_eq!(
        c.listing_quantity_in(&seller.seller_id, "MUG-1", NL),
        Some(0),
        "a dormant marketplace is not pushed to"
    );
    // The push used the list the pull kept: still one call that day.
    assert_eq!(
        c.operation_metrics(&seller.seller_id, Operation::GetMarketplaceParticipations)
            .calls,
        1
    );
    println!(
        "five marketplaces, no list in the settings: searchOrders {} calls, getMarketplaceParticipations {}, confirmShipment {}, patchListingsItem {}",
        c.operation_metrics(&seller.seller_id, Operation::SearchOrders)
            .calls,
        c.operation_metrics(&seller.seller_id, Operation::GetMarketplaceParticipations)
            .calls,
        c.operation_metrics(&seller.seller_id, Operation::ConfirmShipment)
            .calls,
        c.operation_metrics(&seller.seller_id, Operation::PatchListingsItem)
            .calls,
    );
}

#[tokio::test]
async fn a_marketplace_the_seller_starts_selling_in_is_picked_up_at_the_daily_refresh() {
    let rig = PullRig::new("feat-new-market", 1000.0).await;
    let seller = eu_seller(&rig, "A1EUNEWMARKET", &[DE]);
    rig.onboard(&seller, |s| s.marketplaces.clear()).await;
    rig.sim
        .control()
        .seed_order(&seller.seller_id, test_order(1, DE))
        .expect("seed");
    rig.settle();
    assert_eq!(rig.pull(&seller, Mode::Incremental).await.sent, 1);
    rig.drain_wms().await;
    assert_eq!(participation_calls(&rig, &seller), 1);

    // The seller starts selling in NL; an order comes in there at once.
    let c = rig.sim.control().clone();
    c.set_marketplaces(&seller.seller_id, &[DE, NL]).unwrap();
    c.advance_clock(Duration::from_secs(3600));
    c.seed_order(&seller.seller_id, test_order(2, NL))
        .expect("seed");
    rig.settle();
    // Before the next refresh the NL order is not asked for.
    let report = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.sent, 0, "{report:?}");
    assert_eq!(participation_calls(&rig, &seller), 1);

    // A day after the last refresh: refreshed, NL served — and its order,
    // though older than the incremental window, is caught up once.
    c.advance_clock(refresh_after().to_std().unwrap());
    c.seed_order(&seller.seller_id, test_order(3, NL))
        .expect("seed");
    rig.settle();
    let report = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(participation_calls(&rig, &seller), 2);
    assert_eq!(
        report.sent, 2,
        "the new order and the caught-up one: {report:?}"
    );
    let numbers: Vec<String> = rig
        .drain_wms()
        .await
        .iter()
        .map(|m| m.order_number().to_string())
        .collect();
    assert!(
        numbers.contains(&"MG302-0000002-0000002".to_string()),
        "{numbers:?}"
    );
    assert!(
        numbers.contains(&"MG302-0000003-0000003".to_string()),
        "{numbers:?}"
    );
    let kept = rig
        .store
        .get_participations(&SellerId::new(&seller.seller_id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(kept.catch_up.is_empty(), "done once: {:?}", kept.catch_up);

    // Nothing twice.
    rig.settle();
    let report = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.sent, 0, "{report:?}");
}

#[tokio::test]
async fn when_participations_cannot_be_read_the_kept_list_serves_and_none_is_a_retry() {
    let rig = PullRig::new("feat-markets-down", 1000.0).await;
    let seller = eu_seller(&rig, "A1EUMARKETSDOWN", &[DE, UK]);
    rig.onboard(&seller, |s| s.marketplaces.clear()).await;
    let c = rig.sim.control().clone();

    // No list yet and Amazon failing: the job is continued later, nothing lost.
    for _ in 0..4 {
        c.inject_fault(
            tests::sim::FaultTarget::Operation(Operation::GetMarketplaceParticipations),
            tests::sim::Fault::status(503),
        )
        .unwrap();
    }
    c.seed_order(&seller.seller_id, test_order(1, UK))
        .expect("seed");
    rig.settle();
    let report = rig.pull(&seller, Mode::Incremental).await;
    assert!(
        matches!(report.outcome, order_pull::Outcome::Continued { .. }),
        "{report:?}"
    );
    assert_eq!(report.sent, 0);
    // The follow-up job succeeds once Amazon answers.
    let answers = rig.run_jobs(3).await;
    assert!(answers.iter().all(|a| a.is_ok()), "{answers:?}");
    assert_eq!(rig.drain_wms().await.len(), 1);

    // A day later Amazon fails again: the kept list serves, with a warning.
    c.advance_clock(refresh_after().to_std().unwrap());
    for _ in 0..4 {
        c.inject_fault(
            tests::sim::FaultTarget::Operation(Operation::GetMarketplaceParticipations),
            tests::sim::Fault::status(503),
        )
        .unwrap();
    }
    c.seed_order(&seller.seller_id, test_order(2, DE))
        .expect("seed");
    rig.settle();
    let report = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.sent, 1, "{report:?}");
}
