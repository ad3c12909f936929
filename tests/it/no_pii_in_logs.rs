//! A full client run at TRACE level — LWA exchange, paginated search with
//! buyer and address data, getOrder, a throttle, a 5xx, an expired token and
//! a revoked seller — writes no buyer name, address, email, phone, token or
//! secret into the logs. The capture is a JSON subscriber like Lambda's, so
//! this also checks what the libraries (reqwest, hyper, the AWS SDK) print.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use domain::{AmazonOrderId, Deadline, MarketplaceId, Operation};
use futures::TryStreamExt;
use spapi::models::orders::IncludedData;
use spapi::ops::orders::{GetOrder, SearchOrders, SearchWindow};
use spapi::ops::sellers::GetMarketplaceParticipations;
use tests::client::{context, sim_client_for};
use tests::logs::LogCapture;
use tests::sim::{
    CLIENT_SECRET, DE, Fault, FaultTarget, add_seller, past_two_minutes, seed_orders, start_sim,
};

#[tokio::test(flavor = "current_thread")]
async fn a_full_client_run_logs_no_pii_tokens_or_secrets() {
    let (logs, _guard) = LogCapture::start();
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1NOPIILOGS", true);
    let revoked = add_seller(&sim, "A1NOPIIREVOKED", true);
    let ids = seed_orders(&sim, &seller, 120);
    past_two_minutes(&sim);
    let (api, _) = sim_client_for(&sim, &[&seller, &revoked]);
    let ctx = context(&seller);
    let d = Deadline::after(Duration::from_secs(60));
    let target = FaultTarget::Operation(Operation::SearchOrders);
    sim.control().inject_fault(target, Fault::Throttle).unwrap();
    sim.control()
        .inject_fault(target, Fault::status(503))
        .unwrap();

    let mut search = SearchOrders::new(
        SearchWindow::Created {
            after: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
            before: None,
        },
        vec![MarketplaceId::new(DE).unwrap()],
    );
    search.max_results_per_page = Some(50);
    search.included_data = vec![
        IncludedData::Buyer,
        IncludedData::Recipient,
        IncludedData::Fulfillment,
    ];
    let pages: Vec<_> = api
        .pages(&ctx, search, &d)
        .try_collect()
        .await
        .expect("pages");
    let orders: usize = pages.iter().map(|p| p.output.orders.len()).sum();
    assert_eq!(orders, 120);
    // The data really passed through the process.
    let first = &pages[0].output.orders[0];
    assert!(first.buyer.is_some() && first.recipient.is_some());

    sim.control().expire_access_tokens();
    for id in ids.iter().take(3) {
        api.call(
            &ctx,
            &GetOrder {
                order_id: AmazonOrderId::new(id).unwrap(),
                included_data: vec![IncludedData::Buyer, IncludedData::Recipient],
            },
            &d,
        )
        .await
        .expect("getOrder");
    }
    sim.control()
        .revoke_refresh_token(&revoked.seller_id)
        .unwrap();
    api.call(&context(&revoked), &GetMarketplaceParticipations, &d)
        .await
        .expect_err("revoked");

    assert!(
        logs.lines() > 10,
        "the capture saw the run: {} lines",
        logs.lines()
    );
    let mut forbidden: Vec<String> = vec![
        "Atza|".into(),
        "Atzr|".into(),
        seller.refresh_token.clone(),
        CLIENT_SECRET.into(),
        "Buyer Street".into(),
        "Test Buyer".into(),
        "@marketplace.amazon.de".into(),
        "+49 30 555".into(),
        "10115".into(),
    ];
    for n in [1, 7, 42, 120] {
        forbidden.push(format!("Test Buyer {n}"));
        forbidden.push(format!("test-buyer-{n}@"));
    }
    let forbidden: Vec<&str> = forbidden.iter().map(String::as_str).collect();
    logs.assert_free_of(&forbidden);
}
