//! The simulator behaves like Amazon where the connector depends on it: the
//! two-minute rule and parameter rules, pagination, filters, PII gating, rate
//! limits and their headers, every fault kind, token expiry, LWA errors, and
//! the `/_sim` control API. Each test runs its own simulator.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, TimeDelta};
use domain::Operation;
use domain::settings::OrderStatus;
use serde_json::{Value, json};
use spapi_sim::{Fault, FaultTarget, FulfilledBy, ShipSpec, SimHandle};
use tests::sim::{
    CLIENT_ID, CLIENT_SECRET, DE, PARTICIPATIONS, SEARCH_ORDERS, UK, access_token, add_seller,
    add_seller_in, get_order_path, lwa_refresh, past_two_minutes, search_all, seed_orders, sp_get,
    start_sim, test_order,
};

const EPOCH: &str = "2020-01-01T00:00:00Z";

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn ids(orders: &[Value]) -> Vec<String> {
    orders
        .iter()
        .map(|o| o["orderId"].as_str().expect("orderId").to_string())
        .collect()
}

async fn sim_with_orders(n: u32, pii: bool) -> (SimHandle, tests::sim::TestSeller, String) {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1BEHAVE", pii);
    seed_orders(&sim, &seller, n);
    past_two_minutes(&sim);
    let token = access_token(&sim, &seller).await;
    (sim, seller, token)
}

#[tokio::test]
async fn the_two_minute_rule_and_amazons_parameter_rules() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1RULES", true);
    seed_orders(&sim, &seller, 2);
    let token = access_token(&sim, &seller).await;
    let now = sim.control().now();
    let one_minute_ago = iso(now - TimeDelta::minutes(1));
    let three_minutes_ago = iso(now - TimeDelta::minutes(3));
    let bad: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "Exactly one of createdAfter and lastUpdatedAfter"),
        (
            vec![("createdAfter", EPOCH), ("lastUpdatedAfter", EPOCH)],
            "Exactly one",
        ),
        (
            vec![
                ("createdAfter", EPOCH),
                ("lastUpdatedBefore", &three_minutes_ago),
            ],
            "lastUpdatedBefore",
        ),
        (
            vec![
                ("lastUpdatedAfter", EPOCH),
                ("createdBefore", &three_minutes_ago),
            ],
            "createdBefore",
        ),
        (
            vec![
                ("createdAfter", &three_minutes_ago),
                ("createdBefore", EPOCH),
            ],
            "equal to or after",
        ),
        (
            vec![("createdAfter", EPOCH), ("createdBefore", &one_minute_ago)],
            "at least 2 minutes before",
        ),
        (
            vec![
                ("lastUpdatedAfter", EPOCH),
                ("lastUpdatedBefore", &one_minute_ago),
            ],
            "at least 2 minutes before",
        ),
        (vec![("createdAfter", "last week")], "ISO 8601"),
        (
            vec![("createdAfter", EPOCH), ("maxResultsPerPage", "0")],
            "between 1 and 100",
        ),
        (
            vec![("createdAfter", EPOCH), ("maxResultsPerPage", "101")],
            "between 1 and 100",
        ),
        (
            vec![
                ("createdAfter", EPOCH),
                ("fulfillmentStatuses", "Unshipped"),
            ],
            "fulfillmentStatuses",
        ),
        (
            vec![("createdAfter", EPOCH), ("fulfilledBy", "MFN")],
            "fulfilledBy",
        ),
        (
            vec![("createdAfter", EPOCH), ("includedData", "ADDRESS")],
            "includedData",
        ),
        (
            vec![("createdAfter", EPOCH), ("marketplaceIds", UK)],
            "marketplaceId",
        ),
        (vec![("paginationToken", "not-a-token")], "paginationToken"),
    ];
    for (query, says) in &bad {
        let resp = sp_get(&sim, Some(&token), SEARCH_ORDERS, query).await;
        assert_eq!(resp.status, 400, "{query:?}: {}", resp.body);
        assert_eq!(resp.error_code(), "InvalidInput");
        let message = resp.json()["errors"][0]["message"].to_string();
        assert!(message.contains(says), "{query:?}: {message}");
    }
    let too_many: Vec<String> = (0..51).map(|_| DE.to_string()).collect();
    let joined = too_many.join(",");
    let resp = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("createdAfter", EPOCH), ("marketplaceIds", &joined)],
    )
    .await;
    assert_eq!(resp.status, 400, "51 marketplaces: {}", resp.body);

    // Without a "before", orders younger than two minutes are not returned yet...
    let resp = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("createdAfter", EPOCH)],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["orders"].as_array().map(Vec::len), Some(0));
    // The default "before" is two minutes before the request (whole seconds).
    let default_before = chrono::DateTime::parse_from_rfc3339(
        body["createdBefore"].as_str().expect("createdBefore"),
    )
    .expect("ISO 8601");
    let latest = sim.control().now() - TimeDelta::minutes(2);
    assert!(
        default_before >= now - TimeDelta::minutes(2) - TimeDelta::seconds(1)
            && default_before <= latest,
        "{default_before}"
    );
    // ...and are once the clock is past the rule (no waiting: the clock is advanced).
    past_two_minutes(&sim);
    let later = iso(sim.control().now() - TimeDelta::minutes(2));
    let resp = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("createdAfter", EPOCH), ("createdBefore", &later)],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["orders"].as_array().map(Vec::len), Some(2));
    assert_eq!(resp.json()["createdBefore"], json!(later));
}

#[tokio::test]
async fn pagination_covers_every_order_exactly_once() {
    let (sim, seller, token) = sim_with_orders(23, true).await;
    // Some orders change between seeding and the search (not during it).
    let c = sim.control();
    c.set_status(
        &seller.seller_id,
        "302-0000005-0000005",
        OrderStatus::Shipped,
    )
    .expect("ship");
    past_two_minutes(&sim);
    for (field, size) in [
        ("createdAfter", "5"),
        ("lastUpdatedAfter", "4"),
        ("createdAfter", "100"),
    ] {
        let orders = search_all(&sim, &token, &[(field, EPOCH), ("maxResultsPerPage", size)]).await;
        let got = ids(&orders);
        let unique: BTreeSet<&String> = got.iter().collect();
        assert_eq!(got.len(), 23, "{field}/{size}: {got:?}");
        assert_eq!(unique.len(), 23, "{field}/{size} repeated an order");
    }
    // Asking again with the same token gives the same page (safe retries).
    let first = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("createdAfter", EPOCH), ("maxResultsPerPage", "10")],
    )
    .await
    .json();
    let next = first["pagination"]["nextToken"]
        .as_str()
        .expect("a next page");
    let a = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("paginationToken", next)],
    )
    .await
    .json();
    let b = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("paginationToken", next)],
    )
    .await
    .json();
    assert_eq!(a, b);
    assert_ne!(
        ids(first["orders"].as_array().expect("orders")),
        ids(a["orders"].as_array().expect("orders"))
    );
    // The same filters may be sent again with the token; different ones may not.
    let same = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[
            ("paginationToken", next),
            ("createdAfter", EPOCH),
            ("maxResultsPerPage", "3"),
        ],
    )
    .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.json()["orders"].as_array().map(Vec::len), Some(3));
    let other = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[
            ("paginationToken", next),
            ("createdAfter", "2021-01-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(other.status, 400, "{}", other.body);
    // Another seller cannot use the token.
    let stranger = add_seller(&sim, "A1STRANGER", true);
    let stranger_token = access_token(&sim, &stranger).await;
    let resp = sp_get(
        &sim,
        Some(&stranger_token),
        SEARCH_ORDERS,
        &[("paginationToken", next)],
    )
    .await;
    assert_eq!(resp.status, 400);
    // Tokens expire after 24 hours of simulated time.
    sim.control().advance_clock(Duration::from_secs(25 * 3600));
    let token = access_token(&sim, &seller).await;
    let resp = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("paginationToken", next)],
    )
    .await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(resp.body.contains("expired"), "{}", resp.body);
}

#[tokio::test]
async fn filters_select_by_status_fulfilment_channel_and_marketplace() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller_in(&sim, "A1FILTER", &[DE, UK], true);
    let c = sim.control();
    let id = &seller.seller_id;
    let mut specs = vec![test_order(1, DE), test_order(2, DE), test_order(3, UK)];
    specs[1].fulfilled_by = FulfilledBy::Amazon;
    specs[2].status = Some(OrderStatus::Pending);
    c.seed_orders(id, specs).expect("seed");
    c.set_status(id, "302-0000001-0000001", OrderStatus::Shipped)
        .expect("ship");
    past_two_minutes(&sim);
    let token = access_token(&sim, &seller).await;
    let search = |q: Vec<(&'static str, &'static str)>| {
        let sim = &sim;
        let token = token.clone();
        async move {
            let mut query = vec![("createdAfter", EPOCH)];
            query.extend(q);
            let mut got = ids(&search_all(sim, &token, &query).await);
            got.sort();
            got
        }
    };
    let o1 = "302-0000001-0000001".to_string();
    let o2 = "302-0000002-0000002".to_string();
    let o3 = "302-0000003-0000003".to_string();
    assert_eq!(
        search(vec![]).await,
        vec![o1.clone(), o2.clone(), o3.clone()]
    );
    assert_eq!(
        search(vec![("fulfillmentStatuses", "SHIPPED")]).await,
        vec![o1.clone()]
    );
    assert_eq!(
        search(vec![("fulfillmentStatuses", "PENDING,UNSHIPPED")]).await,
        vec![o2.clone(), o3.clone()]
    );
    // Repeated keys work like a comma-separated list.
    assert_eq!(
        search(vec![
            ("fulfillmentStatuses", "PENDING"),
            ("fulfillmentStatuses", "SHIPPED")
        ])
        .await,
        vec![o1.clone(), o3.clone()]
    );
    assert_eq!(
        search(vec![("fulfilledBy", "AMAZON")]).await,
        vec![o2.clone()]
    );
    assert_eq!(
        search(vec![("fulfilledBy", "MERCHANT")]).await,
        vec![o1.clone(), o3.clone()]
    );
    assert_eq!(search(vec![("marketplaceIds", UK)]).await, vec![o3.clone()]);
    assert_eq!(
        search(vec![("marketplaceIds", "A1PA6795UKMFR9,A1F83G8C2ARO7P")])
            .await
            .len(),
        3
    );
    assert_eq!(
        search(vec![
            ("marketplaceIds", DE),
            ("fulfilledBy", "MERCHANT"),
            ("fulfillmentStatuses", "UNSHIPPED")
        ])
        .await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn created_after_and_last_updated_after_see_different_orders() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1TIMES", true);
    let c = sim.control();
    let three_days_ago = c.now() - TimeDelta::days(3);
    let mut specs = vec![test_order(1, DE), test_order(2, DE)];
    for s in &mut specs {
        s.created = Some(three_days_ago);
    }
    c.seed_orders(&seller.seller_id, specs).expect("seed");
    let before_update = c.now();
    c.advance_clock(Duration::from_secs(60));
    c.set_status(
        &seller.seller_id,
        "302-0000002-0000002",
        OrderStatus::Shipped,
    )
    .expect("ship");
    let shipped = c
        .order_json(&seller.seller_id, "302-0000002-0000002")
        .expect("order");
    assert_eq!(shipped["createdTime"], json!(iso(three_days_ago)));
    let updated_at =
        chrono::DateTime::parse_from_rfc3339(shipped["lastUpdatedTime"].as_str().expect("time"))
            .expect("ISO 8601");
    assert!(updated_at >= before_update + TimeDelta::seconds(59) && updated_at <= c.now());
    past_two_minutes(&sim);
    let token = access_token(&sim, &seller).await;
    let yesterday = iso(before_update - TimeDelta::days(1));
    let created = search_all(&sim, &token, &[("createdAfter", &yesterday)]).await;
    assert!(created.is_empty(), "{created:?}");
    let updated = search_all(&sim, &token, &[("lastUpdatedAfter", &yesterday)]).await;
    assert_eq!(ids(&updated), vec!["302-0000002-0000002".to_string()]);
    let response = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("lastUpdatedAfter", &yesterday)],
    )
    .await
    .json();
    assert!(response.get("lastUpdatedBefore").is_some() && response.get("createdBefore").is_none());
    let long_ago = iso(three_days_ago - TimeDelta::hours(1));
    let both = search_all(&sim, &token, &[("createdAfter", &long_ago)]).await;
    assert_eq!(both.len(), 2);
    // Sorted by the searched time field: the updated order comes last.
    let by_update = search_all(&sim, &token, &[("lastUpdatedAfter", &long_ago)]).await;
    assert_eq!(
        ids(&by_update),
        vec![
            "302-0000001-0000001".to_string(),
            "302-0000002-0000002".to_string()
        ]
    );
}

#[tokio::test]
async fn buyer_data_needs_included_data_and_the_role() {
    for pii in [true, false] {
        let (sim, _seller, token) = sim_with_orders(1, pii).await;
        let get = |included: &'static str| {
            let sim = &sim;
            let token = token.clone();
            async move {
                let resp = sp_get(
                    sim,
                    Some(&token),
                    &get_order_path("302-0000001-0000001"),
                    &[("includedData", included)],
                )
                .await;
                assert_eq!(resp.status, 200, "{}", resp.body);
                resp.json()["order"].clone()
            }
        };
        let bare = get("").await;
        for key in ["buyer", "recipient", "fulfillment", "proceeds", "packages"] {
            assert!(bare.get(key).is_none(), "{key} without includedData");
        }
        // Items are always there.
        let item = &bare["orderItems"][0];
        assert_eq!(item["product"]["sellerSku"], "SKU-1-A");
        assert_eq!(
            item["product"]["price"]["unitPrice"],
            json!({"amount": "12.50", "currencyCode": "EUR"})
        );
        assert_eq!(item["quantityOrdered"], 1);
        assert_eq!(
            item["fulfillment"],
            json!({"quantityFulfilled": 0, "quantityUnfulfilled": 1})
        );

        let with = get("BUYER,RECIPIENT,FULFILLMENT,PROCEEDS").await;
        let address = &with["recipient"]["deliveryAddress"];
        assert_eq!(address["city"], "Berlin");
        assert_eq!(address["postalCode"], "10115");
        assert_eq!(address["countryCode"], "DE");
        assert_eq!(with["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
        assert_eq!(with["proceeds"]["grandTotal"]["amount"], "12.50");
        let text = with.to_string();
        if pii {
            assert_eq!(with["buyer"]["buyerName"], "Test Buyer 1");
            assert_eq!(
                with["buyer"]["buyerEmail"],
                "test-buyer-1@marketplace.amazon.de"
            );
            assert_eq!(address["name"], "Test Buyer 1");
            assert_eq!(address["addressLine1"], "1 Buyer Street");
            assert!(address.get("phone").is_some());
        } else {
            assert!(with.get("buyer").is_none());
            for gone in ["name", "addressLine1", "phone", "addressType"] {
                assert!(address.get(gone).is_none(), "{gone} without the role");
            }
            assert!(!text.contains("Buyer"), "buyer data leaked: {text}");
        }
        // BUYER alone gives no address, RECIPIENT alone no buyer.
        assert!(get("BUYER").await.get("recipient").is_none());
        assert!(get("RECIPIENT").await.get("buyer").is_none());
    }
}

#[tokio::test]
async fn packages_and_cancellations_follow_the_order() {
    let (sim, seller, token) = sim_with_orders(2, true).await;
    let c = sim.control();
    let id = &seller.seller_id;
    c.ship(
        id,
        "302-0000002-0000002",
        ShipSpec {
            items: vec![spapi_sim::ShipItem {
                sku: "SKU-2-B".into(),
                quantity: 2,
            }],
            ..ShipSpec::default()
        },
    )
    .expect("ship");
    c.cancel(
        id,
        "302-0000002-0000002",
        spapi_sim::CancelSpec {
            skus: vec!["SKU-2-A".into()],
            ..Default::default()
        },
    )
    .expect("cancel");
    let order = sp_get(
        &sim,
        Some(&token),
        &get_order_path("302-0000002-0000002"),
        &[("includedData", "PACKAGES,CANCELLATION,FULFILLMENT")],
    )
    .await
    .json()["order"]
        .clone();
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    assert_eq!(order["packages"][0]["packageItems"][0]["quantity"], 2);
    assert_eq!(
        order["orderItems"][0]["cancellation"]["cancellationExecution"]["cancelledBy"],
        "BUYER"
    );
    assert_eq!(
        order["orderItems"][0]["fulfillment"]["quantityUnfulfilled"],
        0
    );
    assert!(order["orderItems"][1].get("cancellation").is_none());
    // Forward only.
    assert!(
        c.set_status(id, "302-0000002-0000002", OrderStatus::Unshipped)
            .is_err()
    );
    c.set_status(id, "302-0000001-0000001", OrderStatus::Cancelled)
        .expect("cancel");
    let resp = sp_get(
        &sim,
        Some(&token),
        &get_order_path("302-0000009-0000009"),
        &[],
    )
    .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.error_code(), "NotFound");
}

#[tokio::test]
async fn quota_throttles_after_the_burst_and_refills_at_speed() {
    let speed = 400.0;
    let sim = start_sim(speed).await;
    let seller = add_seller(&sim, "A1QUOTA", false);
    let token = access_token(&sim, &seller).await;
    let spec = Operation::GetMarketplaceParticipations.spec();
    let per_token = Duration::from_secs_f64(1.0 / (spec.rate_per_sec * speed));
    let started = Instant::now();
    let mut ok = 0u32;
    let throttled = loop {
        let resp = sp_get(&sim, Some(&token), PARTICIPATIONS, &[]).await;
        if resp.status == 429 {
            break resp;
        }
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(resp.header("x-amzn-RateLimit-Limit"), Some("0.016"));
        ok += 1;
        assert!(ok < 200, "never throttled");
    };
    // The burst, plus whatever refilled while we were calling.
    let refilled = (started.elapsed().as_secs_f64() * spec.rate_per_sec * speed).floor() as u32;
    assert!(
        ok >= spec.burst && ok <= spec.burst + refilled,
        "ok={ok} refilled={refilled}"
    );
    assert_eq!(throttled.error_code(), "QuotaExceeded");
    assert_eq!(
        throttled.json()["errors"][0]["message"],
        "You exceeded your quota for the requested resource."
    );
    assert!(throttled.header("x-amzn-RequestId").is_some());
    assert!(throttled.header("x-amzn-RateLimit-Limit").is_none());
    // A token comes back after 1/(rate*speed) seconds (156 ms here), not 62 s.
    tokio::time::sleep(per_token * 2).await;
    let resp = sp_get(&sim, Some(&token), PARTICIPATIONS, &[]).await;
    assert_eq!(resp.status, 200, "no refill at speed");
    let m = sim
        .control()
        .operation_metrics(&seller.seller_id, Operation::GetMarketplaceParticipations);
    assert_eq!((m.ok, m.throttled), (u64::from(ok) + 1, 1));
    // Buckets are per seller.
    let other = add_seller(&sim, "A1OTHER", false);
    let other_token = access_token(&sim, &other).await;
    assert_eq!(
        sp_get(&sim, Some(&other_token), PARTICIPATIONS, &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn rate_override_shows_in_the_header_and_the_bucket() {
    let (sim, seller, token) = sim_with_orders(1, false).await;
    let path = get_order_path("302-0000001-0000001");
    let resp = sp_get(&sim, Some(&token), &path, &[]).await;
    assert_eq!(resp.header("x-amzn-RateLimit-Limit"), Some("0.5"));
    sim.control()
        .set_rate(&seller.seller_id, Operation::GetOrder, 0.0002, Some(3))
        .expect("override");
    // 404s carry the header too.
    let missing = sp_get(
        &sim,
        Some(&token),
        &get_order_path("302-1111111-1111111"),
        &[],
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-amzn-RateLimit-Limit"), Some("0.0002"));
    let resp = sp_get(&sim, Some(&token), &path, &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-amzn-RateLimit-Limit"), Some("0.0002"));
    // Burst 3 (two spent): 0.2 tokens/s at speed 1000 cannot keep up.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(sp_get(&sim, Some(&token), &path, &[]).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        sim.control()
            .set_rate(&seller.seller_id, Operation::GetOrder, 0.0, None)
            .is_err()
    );
    sim.control()
        .clear_rate(&seller.seller_id, Operation::GetOrder);
    let bad = sp_get(&sim, Some(&token), SEARCH_ORDERS, &[]).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("x-amzn-RateLimit-Limit"), Some("0.0056"));
}

#[tokio::test]
async fn request_ids_are_unique_and_always_present() {
    let (sim, _seller, token) = sim_with_orders(1, false).await;
    let mut seen = BTreeSet::new();
    for (t, path) in [
        (Some(token.as_str()), get_order_path("302-0000001-0000001")),
        (Some(token.as_str()), get_order_path("302-0000009-0000009")),
        (None, get_order_path("302-0000001-0000001")),
        (Some(token.as_str()), SEARCH_ORDERS.to_string()),
        (Some(token.as_str()), PARTICIPATIONS.to_string()),
    ] {
        let resp = sp_get(&sim, t, &path, &[]).await;
        let id = resp
            .header("x-amzn-RequestId")
            .expect("request id")
            .to_string();
        assert!(seen.insert(id), "repeated request id");
    }
}

#[tokio::test]
async fn injected_throttles_errors_and_storms() {
    let (sim, seller, token) = sim_with_orders(1, false).await;
    let c = sim.control();
    let path = get_order_path("302-0000001-0000001");
    c.inject_fault(FaultTarget::Operation(Operation::GetOrder), Fault::Throttle)
        .expect("fault");
    c.inject_fault(FaultTarget::Any, Fault::status(500))
        .expect("fault");
    c.inject_fault(
        FaultTarget::Operation(Operation::GetOrder),
        Fault::status(503),
    )
    .expect("fault");
    assert!(
        c.inject_fault(FaultTarget::Any, Fault::status(404))
            .is_err()
    );
    let statuses = [
        sp_get(&sim, Some(&token), &path, &[]).await,
        sp_get(&sim, Some(&token), &path, &[]).await,
        sp_get(&sim, Some(&token), &path, &[]).await,
        sp_get(&sim, Some(&token), &path, &[]).await,
    ];
    let codes: Vec<u16> = statuses.iter().map(|r| r.status).collect();
    assert_eq!(codes, vec![429, 500, 503, 200]);
    assert_eq!(statuses[0].error_code(), "QuotaExceeded");
    assert_eq!(statuses[1].error_code(), "InternalFailure");
    assert_eq!(statuses[2].error_code(), "ServiceUnavailable");
    assert!(statuses[1].header("x-amzn-RateLimit-Limit").is_none());
    // A fault for another operation waits for it.
    c.inject_fault(
        FaultTarget::Operation(Operation::SearchOrders),
        Fault::Throttle,
    )
    .expect("fault");
    assert_eq!(sp_get(&sim, Some(&token), &path, &[]).await.status, 200);
    assert_eq!(c.pending_faults(), 1);
    assert_eq!(
        sp_get(
            &sim,
            Some(&token),
            SEARCH_ORDERS,
            &[("createdAfter", EPOCH)]
        )
        .await
        .status,
        429
    );
    // A storm throttles N calls, then the bucket decides again.
    c.storm(Operation::GetOrder, 3);
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(sp_get(&sim, Some(&token), &path, &[]).await.status);
    }
    assert_eq!(codes, vec![429, 429, 429, 200]);
    let m = c.operation_metrics(&seller.seller_id, Operation::GetOrder);
    assert_eq!((m.calls, m.ok, m.throttled, m.server_errors), (9, 3, 4, 2));
}

#[tokio::test]
async fn slow_and_malformed_answers() {
    let (sim, _seller, token) = sim_with_orders(2, false).await;
    let c = sim.control();
    let path = get_order_path("302-0000002-0000002");
    c.inject_fault(FaultTarget::Any, Fault::slow(Duration::from_millis(150)))
        .expect("fault");
    let started = Instant::now();
    let resp = sp_get(&sim, Some(&token), &path, &[]).await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    c.inject_fault(FaultTarget::Any, Fault::Malformed)
        .expect("fault");
    let resp = sp_get(&sim, Some(&token), &path, &[]).await;
    assert_eq!(resp.status, 200);
    assert!(
        serde_json::from_str::<Value>(&resp.body).is_err(),
        "{}",
        resp.body
    );
    c.inject_fault(FaultTarget::Any, Fault::WrongType)
        .expect("fault");
    let resp = sp_get(&sim, Some(&token), &path, &[]).await;
    assert_eq!(resp.status, 200);
    assert!(resp.json()["order"]["orderItems"][0]["quantityOrdered"].is_string());
    c.inject_fault(FaultTarget::Any, Fault::WrongType)
        .expect("fault");
    let resp = sp_get(&sim, Some(&token), PARTICIPATIONS, &[]).await;
    assert!(resp.json()["payload"].is_string());
    // Untouched afterwards.
    assert!(sp_get(&sim, Some(&token), &path, &[]).await.json()["order"]["orderItems"][0]["quantityOrdered"].is_number());
}

#[tokio::test]
async fn duplicate_page_serves_the_same_token_twice() {
    let (sim, _seller, token) = sim_with_orders(5, false).await;
    let first = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("createdAfter", EPOCH), ("maxResultsPerPage", "2")],
    )
    .await
    .json();
    let t1 = first["pagination"]["nextToken"]
        .as_str()
        .expect("t1")
        .to_string();
    sim.control()
        .inject_fault(FaultTarget::Any, Fault::DuplicatePage)
        .expect("fault");
    // The fault waits for a continuation call (it does not hit getOrder or a first page).
    assert_eq!(
        sp_get(
            &sim,
            Some(&token),
            &get_order_path("302-0000001-0000001"),
            &[]
        )
        .await
        .status,
        200
    );
    assert_eq!(sim.control().pending_faults(), 1);
    let again = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("paginationToken", &t1)],
    )
    .await
    .json();
    assert_eq!(again, first, "the previous page, token and all");
    assert_eq!(again["pagination"]["nextToken"], json!(t1));
    // A client that follows blindly would loop; the real next page is still there.
    let second = sp_get(
        &sim,
        Some(&token),
        SEARCH_ORDERS,
        &[("paginationToken", &t1)],
    )
    .await
    .json();
    assert_ne!(second["pagination"]["nextToken"], json!(t1));
    assert_ne!(
        ids(second["orders"].as_array().expect("orders")),
        ids(first["orders"].as_array().expect("orders"))
    );
}

#[tokio::test]
async fn access_tokens_expire() {
    // By control: the fault expires every token, the next call gets 403 "expired".
    let (sim, seller, token) = sim_with_orders(1, false).await;
    let path = get_order_path("302-0000001-0000001");
    sim.control()
        .inject_fault(FaultTarget::Any, Fault::ExpireTokens)
        .expect("fault");
    let resp = sp_get(&sim, Some(&token), &path, &[]).await;
    assert_eq!(resp.status, 403);
    assert_eq!(
        resp.json(),
        json!({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": "The access token you provided has expired."}]})
    );
    assert!(resp.header("x-amzn-RateLimit-Limit").is_none());
    let fresh = access_token(&sim, &seller).await;
    assert_eq!(sp_get(&sim, Some(&fresh), &path, &[]).await.status, 200);
    // By the clock: an hour of simulated time.
    sim.control().advance_clock(Duration::from_secs(3600));
    let resp = sp_get(&sim, Some(&fresh), &path, &[]).await;
    assert_eq!(resp.status, 403);
    assert!(resp.body.contains("expired"));
    // By speed: at 36 000x an hour lasts 100 ms of wall time.
    let fast = start_sim(36_000.0).await;
    let s = add_seller(&fast, "A1FAST", false);
    let t = access_token(&fast, &s).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let resp = sp_get(&fast, Some(&t), PARTICIPATIONS, &[]).await;
    assert_eq!(resp.status, 403);
    assert!(resp.body.contains("expired"));
    // Unknown and missing tokens: 403 without "expired".
    for t in [Some("Atza|not-issued"), None] {
        let resp = sp_get(&sim, t, &path, &[]).await;
        assert_eq!(resp.status, 403);
        assert_eq!(resp.json()["errors"][0]["details"], "");
    }
}

#[tokio::test]
async fn lwa_answers_like_lwa() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1LWA", false);
    let (status, body) = lwa_refresh(&sim, &seller.refresh_token).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_token"], json!(seller.refresh_token));
    assert!(
        body["access_token"]
            .as_str()
            .expect("token")
            .starts_with("Atza|")
    );
    assert_eq!(sim.control().token_requests(&seller.seller_id), 1);

    let http = reqwest::Client::new();
    let post = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = sim.lwa_token_url();
        async move {
            let resp = http.post(url).form(&form).send().await.expect("LWA");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let base = |grant: &str| {
        vec![
            ("grant_type", grant.to_string()),
            ("client_id", CLIENT_ID.to_string()),
            ("client_secret", CLIENT_SECRET.to_string()),
        ]
    };
    let mut wrong_secret = base("refresh_token");
    wrong_secret[2].1 = "nope".into();
    wrong_secret.push(("refresh_token", seller.refresh_token.clone()));
    let (s, b) = post(wrong_secret).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    let (s, b) = post(base("refresh_token")).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
    let (s, b) = post(base("password")).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let mut unknown = base("refresh_token");
    unknown.push(("refresh_token", "Atzr|unknown".into()));
    let (s, b) = post(unknown).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    assert!(b["error_description"].is_string());

    // Grantless: a token for the scope, which is no good for seller operations.
    let mut grantless = base("client_credentials");
    grantless.push(("scope", "sellingpartnerapi::notifications".into()));
    let (s, b) = post(grantless).await;
    assert_eq!(s, 200, "{b}");
    assert!(b.get("refresh_token").is_none());
    let app_token = b["access_token"].as_str().expect("token").to_string();
    assert_eq!(
        sp_get(&sim, Some(&app_token), PARTICIPATIONS, &[])
            .await
            .status,
        403
    );
    let mut bad_scope = base("client_credentials");
    bad_scope.push(("scope", "sellingpartnerapi::orders".into()));
    assert_eq!(post(bad_scope).await.1["error"], "invalid_scope");

    // Revoked: invalid_grant from then on, and the attempts are counted.
    let token = access_token(&sim, &seller).await;
    sim.control()
        .revoke_refresh_token(&seller.seller_id)
        .expect("revoke");
    let (s, b) = lwa_refresh(&sim, &seller.refresh_token).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(sim.control().token_requests(&seller.seller_id), 3);
    // Tokens issued before the revocation live out their hour.
    assert_eq!(
        sp_get(&sim, Some(&token), PARTICIPATIONS, &[]).await.status,
        200
    );

    // LWA faults: a 500 and a body that is not JSON.
    let fresh = add_seller(&sim, "A1LWA2", false);
    let c = sim.control();
    c.inject_fault(FaultTarget::Lwa, Fault::status(500))
        .expect("fault");
    c.inject_fault(FaultTarget::Lwa, Fault::Malformed)
        .expect("fault");
    let (s, b) = lwa_refresh(&sim, &fresh.refresh_token).await;
    assert_eq!((s, b["error"].as_str()), (500, Some("server_error")));
    let raw = reqwest::Client::new()
        .post(sim.lwa_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", fresh.refresh_token.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("LWA");
    assert_eq!(raw.status().as_u16(), 200);
    assert!(serde_json::from_str::<Value>(&raw.text().await.expect("text")).is_err());
}

#[tokio::test]
async fn the_control_api_over_http_mirrors_the_rust_one() {
    let sim = start_sim(1000.0).await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http.request(method, format!("{base}/_sim{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.expect("control");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    use reqwest::Method;
    let ok = |r: (u16, Value)| {
        assert_eq!(r.0, 200, "{}", r.1);
        r.1
    };
    ok(call(
        Method::POST,
        "/apps",
        Some(json!({"client_id": "app2", "client_secret": "s2"})),
    )
    .await);
    ok(call(Method::POST, "/sellers", Some(json!({"seller_id": "A1HTTP", "refresh_token": "Atzr|http", "marketplace_ids": [DE], "pii": true}))).await);
    let seeded = ok(call(Method::POST, "/sellers/A1HTTP/orders", Some(json!([
        {"order_id": "303-0000001-0000001", "marketplace_id": DE, "programs": ["PRIME"],
         "buyer": {"name": "Http Buyer"}, "items": [{"sku": "H-1", "quantity": 2, "unit_price": "5.00", "currency": "EUR"}]},
        {"marketplace_id": DE, "fulfilled_by": "AMAZON", "status": "PENDING",
         "items": [{"sku": "H-2", "unit_price": "1", "currency": "EUR"}]}
    ]))).await);
    assert_eq!(seeded["order_ids"].as_array().map(Vec::len), Some(2));
    let one = ok(call(Method::POST, "/sellers/A1HTTP/orders", Some(json!({"marketplace_id": DE, "items": [{"sku": "H-3", "unit_price": "2", "currency": "EUR"}]}))).await);
    assert_eq!(one["order_ids"].as_array().map(Vec::len), Some(1));
    ok(call(
        Method::POST,
        "/sellers/A1HTTP/orders/303-0000001-0000001/status",
        Some(json!({"status": "PARTIALLY_SHIPPED"})),
    )
    .await);
    ok(call(
        Method::POST,
        "/sellers/A1HTTP/orders/303-0000001-0000001/ship",
        Some(json!({"carrier": "DPD"})),
    )
    .await);
    let order = ok(call(
        Method::GET,
        "/sellers/A1HTTP/orders/303-0000001-0000001",
        None,
    )
    .await);
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    assert_eq!(order["packages"].as_array().map(Vec::len), Some(2));
    let (s, _) = call(
        Method::POST,
        "/sellers/A1HTTP/orders/303-0000001-0000001/cancel",
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 400, "a shipped order cannot be cancelled");
    let (s, _) = call(
        Method::POST,
        "/sellers/NOPE/orders/1/status",
        Some(json!({"status": "SHIPPED"})),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(Method::POST, "/sellers", Some(json!({"seller_id": 5}))).await;
    assert_eq!(s, 400);
    let before = ok(call(Method::GET, "/clock", None).await);
    let after = ok(call(
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 180})),
    )
    .await);
    assert!(after["now"].as_str() > before["now"].as_str());
    ok(call(
        Method::PUT,
        "/sellers/A1HTTP/rates/getOrder",
        Some(json!({"rate": 0.25})),
    )
    .await);
    let (s, _) = call(
        Method::PUT,
        "/sellers/A1HTTP/rates/fetchEverything",
        Some(json!({"rate": 1})),
    )
    .await;
    assert_eq!(s, 404);
    let pending = ok(call(
        Method::POST,
        "/faults",
        Some(json!({"target": "getOrder", "fault": {"kind": "status", "code": 503}})),
    )
    .await);
    assert_eq!(pending["pending"], 1);
    ok(call(
        Method::POST,
        "/storms",
        Some(json!({"operation": "searchOrders", "calls": 1})),
    )
    .await);

    // The SP-API side sees all of it.
    let (status, lwa) = {
        let resp = http
            .post(sim.lwa_token_url())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "Atzr|http"),
                ("client_id", "app2"),
                ("client_secret", "s2"),
            ])
            .send()
            .await
            .expect("LWA");
        (
            resp.status().as_u16(),
            resp.json::<Value>().await.expect("json"),
        )
    };
    assert_eq!(status, 200);
    let token = lwa["access_token"].as_str().expect("token");
    let path = get_order_path("303-0000001-0000001");
    assert_eq!(sp_get(&sim, Some(token), &path, &[]).await.status, 503);
    let resp = sp_get(&sim, Some(token), &path, &[("includedData", "BUYER")]).await;
    assert_eq!(resp.header("x-amzn-RateLimit-Limit"), Some("0.25"));
    assert_eq!(resp.json()["order"]["buyer"]["buyerName"], "Http Buyer");
    assert_eq!(
        sp_get(&sim, Some(token), SEARCH_ORDERS, &[("createdAfter", EPOCH)])
            .await
            .status,
        429
    );
    let found = search_all(&sim, token, &[("createdAfter", EPOCH)]).await;
    assert_eq!(found.len(), 3);

    let metrics = ok(call(Method::GET, "/metrics", None).await);
    let get_order = metrics["operations"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["operation"] == "getOrder")
        .expect("getOrder row")
        .clone();
    assert_eq!(get_order["seller_id"], "A1HTTP");
    assert_eq!(
        (
            get_order["calls"].as_u64(),
            get_order["ok"].as_u64(),
            get_order["server_errors"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(metrics["token_requests"]["A1HTTP"], 1);
    ok(call(Method::POST, "/sellers/A1HTTP/revoke", None).await);
    ok(call(Method::POST, "/expire-tokens", None).await);
    assert_eq!(sp_get(&sim, Some(token), &path, &[]).await.status, 403);
    ok(call(Method::POST, "/reset", None).await);
    let metrics = ok(call(Method::GET, "/metrics", None).await);
    assert_eq!(metrics["operations"], json!([]));
    let (s, _) = call(
        Method::GET,
        "/sellers/A1HTTP/orders/303-0000001-0000001",
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn the_simulator_shuts_down_and_frees_its_port() {
    let sim = start_sim(100.0).await;
    let url = sim.base_url();
    assert!(url.starts_with("http://127.0.0.1:"));
    sim.shutdown().await.expect("shutdown");
    let err = reqwest::Client::new()
        .get(format!("{url}/_sim/health"))
        .send()
        .await;
    assert!(err.is_err(), "still answering after shutdown");
}
