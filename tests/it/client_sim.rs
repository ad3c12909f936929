//! The real SP-API client against the stateful simulator: pagination, typed
//! answers, retries through throttles and 5xx, the errors that must not be
//! retried, token expiry and revocation, and deadlines.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use domain::{AmazonOrderId, Deadline, MarketplaceId, Operation};
use futures::TryStreamExt;
use spapi::SpApiError;
use spapi::models::orders::IncludedData;
use spapi::ops::orders::{GetOrder, SearchOrders, SearchWindow};
use spapi::ops::sellers::GetMarketplaceParticipations;
use tests::client::{context, sim_client_for};
use tests::sim::{DE, Fault, FaultTarget, add_seller, past_two_minutes, seed_orders, start_sim};

fn search_all_since_2020() -> SearchOrders {
    let mut s = SearchOrders::new(
        SearchWindow::LastUpdated {
            after: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
            before: None,
        },
        vec![MarketplaceId::new(DE).unwrap()],
    );
    s.max_results_per_page = Some(100);
    s.included_data = vec![IncludedData::Recipient, IncludedData::Fulfillment];
    s
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(60))
}

#[tokio::test]
async fn pages_stream_every_order_once_with_typed_answers() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1CLIENTPAGES", true);
    let seeded: BTreeSet<String> = seed_orders(&sim, &seller, 250).into_iter().collect();
    past_two_minutes(&sim);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let d = deadline();
    let pages: Vec<_> = api
        .pages(&ctx, search_all_since_2020(), &d)
        .try_collect()
        .await
        .expect("all pages");
    assert_eq!(pages.len(), 3, "250 orders at 100 per page");
    let mut got = BTreeSet::new();
    for p in &pages {
        for o in &p.output.orders {
            assert!(got.insert(o.order_id.clone()), "{} twice", o.order_id);
            assert!(o.recipient.is_some(), "RECIPIENT was requested");
            assert!(!o.order_items.is_empty());
        }
    }
    assert_eq!(got, seeded);

    let one = seeded.iter().next().unwrap();
    let order = api
        .call(
            &ctx,
            &GetOrder {
                order_id: AmazonOrderId::new(one).unwrap(),
                included_data: vec![IncludedData::Buyer, IncludedData::Recipient],
            },
            &d,
        )
        .await
        .expect("getOrder");
    assert_eq!(&order.order.order_id, one);
    assert!(order.order.buyer.is_some());

    let parts = api
        .call(&ctx, &GetMarketplaceParticipations, &d)
        .await
        .expect("participations");
    assert!(parts.payload.iter().any(|p| p.marketplace.id == DE));
    assert_eq!(
        sim.control().token_requests(&seller.seller_id),
        1,
        "one LWA exchange, then cached"
    );
}

#[tokio::test]
async fn throttles_storms_and_5xx_are_retried_to_success() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1CLIENTRETRY", false);
    seed_orders(&sim, &seller, 30);
    past_two_minutes(&sim);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let target = FaultTarget::Operation(Operation::SearchOrders);
    sim.control().inject_fault(target, Fault::Throttle).unwrap();
    sim.control()
        .inject_fault(target, Fault::status(503))
        .unwrap();
    sim.control()
        .inject_fault(target, Fault::status(500))
        .unwrap();
    let d = deadline();
    let out = api
        .call(&ctx, &search_all_since_2020(), &d)
        .await
        .expect("three retries are enough for three faults");
    assert_eq!(out.orders.len(), 30);
    let m = sim
        .control()
        .operation_metrics(&seller.seller_id, Operation::SearchOrders);
    assert_eq!((m.throttled, m.server_errors, m.ok), (1, 2, 1), "{m:?}");
    assert_eq!(sim.control().pending_faults(), 0);
}

#[tokio::test]
async fn a_storm_longer_than_the_retries_ends_in_a_typed_error_not_a_hang() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1CLIENTSTORM", false);
    seed_orders(&sim, &seller, 3);
    past_two_minutes(&sim);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    sim.control().storm(Operation::SearchOrders, 50);
    let err = api
        .call(&ctx, &search_all_since_2020(), &deadline())
        .await
        .expect_err("the storm outlasts 3 retries");
    assert_eq!(err.status(), Some(429), "{err}");
    assert!(
        err.request_id().is_some(),
        "Amazon's request id is kept: {err}"
    );
    let m = sim
        .control()
        .operation_metrics(&seller.seller_id, Operation::SearchOrders);
    assert_eq!(m.calls, 4, "one call and at most 3 retries: {m:?}");
}

#[tokio::test]
async fn a_deadline_too_close_for_the_backoff_gives_resume_later() {
    let sim = start_sim(1.0).await; // real-time back-offs: 1 s, 2 s, 4 s
    let seller = add_seller(&sim, "A1CLIENTDEADLINE", false);
    seed_orders(&sim, &seller, 3);
    past_two_minutes(&sim);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    sim.control()
        .inject_fault(
            FaultTarget::Operation(Operation::SearchOrders),
            Fault::status(503),
        )
        .unwrap();
    let started = std::time::Instant::now();
    let d = Deadline::after(Duration::from_millis(300));
    let err = api
        .call(&ctx, &search_all_since_2020(), &d)
        .await
        .expect_err("no time to back off");
    assert!(matches!(err, SpApiError::ResumeLater { .. }), "{err:?}");
    assert!(err.resume_after().is_some());
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "never sleeps past the deadline"
    );
}

#[tokio::test]
async fn duplicate_pages_and_malformed_bodies_stop_loudly() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1CLIENTBROKEN", false);
    seed_orders(&sim, &seller, 250);
    past_two_minutes(&sim);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let target = FaultTarget::Operation(Operation::SearchOrders);
    sim.control()
        .inject_fault(target, Fault::DuplicatePage)
        .unwrap();
    let d = deadline();
    let err = api
        .pages(&ctx, search_all_since_2020(), &d)
        .try_collect::<Vec<_>>()
        .await
        .expect_err("a repeated token is a loop");
    assert!(matches!(err, SpApiError::PaginationLoop { .. }), "{err:?}");

    sim.control()
        .inject_fault(target, Fault::WrongType)
        .unwrap();
    let err = api
        .call(&ctx, &search_all_since_2020(), &d)
        .await
        .expect_err("a field of the wrong type");
    assert!(matches!(err, SpApiError::Decode { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("orders"),
        "the error names the JSON path: {text}"
    );
}

#[tokio::test]
async fn expired_access_tokens_are_refreshed_once() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1CLIENTEXPIRY", false);
    seed_orders(&sim, &seller, 2);
    past_two_minutes(&sim);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let d = deadline();
    api.call(&ctx, &search_all_since_2020(), &d)
        .await
        .expect("first call");
    sim.control().expire_access_tokens();
    api.call(&ctx, &search_all_since_2020(), &d)
        .await
        .expect("the client gets a new token and repeats the call");
    assert_eq!(sim.control().token_requests(&seller.seller_id), 2);
}

#[tokio::test]
async fn a_revoked_refresh_token_flags_the_seller_and_is_not_retried() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1CLIENTREVOKED", false);
    let (api, creds) = sim_client_for(&sim, &[&seller]);
    sim.control()
        .revoke_refresh_token(&seller.seller_id)
        .unwrap();
    let ctx = context(&seller);
    let err = api
        .call(&ctx, &GetMarketplaceParticipations, &deadline())
        .await
        .expect_err("invalid_grant");
    assert!(
        matches!(err, SpApiError::AuthorizationRevoked { .. }),
        "{err:?}"
    );
    assert_eq!(creds.revoked_sellers(), vec![seller.seller_id.clone()]);
    assert_eq!(
        sim.control().token_requests(&seller.seller_id),
        1,
        "invalid_grant is final"
    );
}
