//! The SP-API simulator for one test: started on a free 127.0.0.1 port with the
//! test application registered, plus helpers to add sellers, seed orders whose
//! buyer data is easy to spot in logs ("Test Buyer 3", "3 Buyer Street"), get
//! an access token and call an operation.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
pub use spapi_sim::{
    AddressSpec, BuyerSpec, CancelParty, CancelSpec, Fault, FaultTarget, FulfilledBy, ItemSpec,
    MARKETPLACES, OrderSpec, SellerSpec, ShipItem, ShipSpec, SimConfig, SimControl, SimHandle,
    TimeWindow,
};

/// The LWA application every simulator from [`start_sim`] knows.
pub const CLIENT_ID: &str = "amzn1.application-oa2-client.simtest";
pub const CLIENT_SECRET: &str = "sim-test-client-secret";
/// Amazon.de and Amazon.co.uk.
pub const DE: &str = "A1PA6795UKMFR9";
pub const UK: &str = "A1F83G8C2ARO7P";

/// Starts a simulator at `speed` (≥ 1; tests use ≥ 100) with [`CLIENT_ID`] registered.
pub async fn start_sim(speed: f64) -> SimHandle {
    let sim = spapi_sim::start(SimConfig { speed, port: 0 })
        .await
        .expect("start the SP-API simulator");
    sim.control().register_app(CLIENT_ID, CLIENT_SECRET);
    sim
}

/// A seller registered in a simulator.
#[derive(Clone, Debug)]
pub struct TestSeller {
    pub seller_id: String,
    pub refresh_token: String,
    pub marketplace_ids: Vec<String>,
}

/// Adds a seller in Amazon.de; `pii` = whether the app has the buyer/address roles.
pub fn add_seller(sim: &SimHandle, seller_id: &str, pii: bool) -> TestSeller {
    add_seller_in(sim, seller_id, &[DE], pii)
}

pub fn add_seller_in(
    sim: &SimHandle,
    seller_id: &str,
    marketplaces: &[&str],
    pii: bool,
) -> TestSeller {
    let seller = TestSeller {
        seller_id: seller_id.to_string(),
        refresh_token: format!("Atzr|sim-refresh-{seller_id}"),
        marketplace_ids: marketplaces.iter().map(|m| m.to_string()).collect(),
    };
    sim.control()
        .add_seller(SellerSpec {
            seller_id: seller.seller_id.clone(),
            refresh_token: seller.refresh_token.clone(),
            marketplace_ids: seller.marketplace_ids.clone(),
            pii,
            store_name: None,
            dormant_marketplace_ids: Vec::new(),
            non_amazon_channel: false,
            supply_source_ids: Vec::new(),
        })
        .expect("add seller");
    seller
}

/// Test order number `n` (id `302-000000n-000000n`), MFN, unshipped, created at
/// the simulator's now, with recognisable buyer data; odd `n` have one line,
/// even `n` two.
pub fn test_order(n: u32, marketplace_id: &str) -> OrderSpec {
    let market = MARKETPLACES
        .iter()
        .find(|m| m.id == marketplace_id)
        .expect("a marketplace the simulator knows");
    let mut items = vec![ItemSpec {
        title: Some(format!("Test product {n}")),
        ..ItemSpec::new(&format!("SKU-{n}-A"), 1, "12.50", market.currency)
    }];
    if n.is_multiple_of(2) {
        items.push(ItemSpec::new(
            &format!("SKU-{n}-B"),
            2,
            "3.99",
            market.currency,
        ));
    }
    OrderSpec {
        order_id: Some(format!("302-{n:07}-{n:07}")),
        marketplace_id: marketplace_id.to_string(),
        buyer: Some(BuyerSpec {
            name: Some(format!("Test Buyer {n}")),
            email: Some(format!("test-buyer-{n}@marketplace.amazon.de")),
            ..BuyerSpec::default()
        }),
        recipient: Some(AddressSpec {
            name: Some(format!("Test Buyer {n}")),
            address_line1: Some(format!("{n} Buyer Street")),
            city: Some("Berlin".to_string()),
            state_or_region: Some("Berlin".to_string()),
            postal_code: Some("10115".to_string()),
            country_code: Some(market.country_code.to_string()),
            phone: Some(format!("+49 30 555{n:04}")),
            address_type: Some("RESIDENTIAL".to_string()),
            ..AddressSpec::default()
        }),
        items,
        ..OrderSpec::default()
    }
}

/// Seeds test orders 1..=n in the seller's first marketplace.
pub fn seed_orders(sim: &SimHandle, seller: &TestSeller, n: u32) -> Vec<String> {
    let specs = (1..=n)
        .map(|i| test_order(i, &seller.marketplace_ids[0]))
        .collect();
    sim.control()
        .seed_orders(&seller.seller_id, specs)
        .expect("seed orders")
}

/// Moves the simulator's clock past Amazon's two-minute rule for orders seeded now.
pub fn past_two_minutes(sim: &SimHandle) {
    sim.control().advance_clock(Duration::from_secs(180));
}

/// The raw LWA answer for the seller's refresh token (status, JSON body).
pub async fn lwa_refresh(sim: &SimHandle, refresh_token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(sim.lwa_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("LWA request");
    let status = resp.status().as_u16();
    let body = resp.json().await.expect("LWA JSON");
    (status, body)
}

/// A fresh access token for the seller (counts as one token request).
pub async fn access_token(sim: &SimHandle, seller: &TestSeller) -> String {
    let (status, body) = lwa_refresh(sim, &seller.refresh_token).await;
    assert_eq!(status, 200, "LWA answered {body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// An SP-API answer, kept raw so tests can look at headers and broken bodies.
#[derive(Debug)]
pub struct SpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl SpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error code of an `ErrorList` body.
    pub fn error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// `GET base_url + path` with `x-amz-access-token` (when given) and a query.
pub async fn sp_get(
    sim: &SimHandle,
    token: Option<&str>,
    path: &str,
    query: &[(&str, &str)],
) -> SpResponse {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .query(query);
    if let Some(t) = token {
        req = req.header("x-amz-access-token", t);
    }
    let resp = req.send().await.expect("SP-API request");
    SpResponse {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

pub const SEARCH_ORDERS: &str = "/orders/2026-01-01/orders";
pub const PARTICIPATIONS: &str = "/sellers/v1/marketplaceParticipations";

pub fn get_order_path(order_id: &str) -> String {
    format!("/orders/2026-01-01/orders/{order_id}")
}

/// Every order id of a search, following `nextToken` to the end (at most 1000 pages).
pub async fn search_all(sim: &SimHandle, token: &str, query: &[(&str, &str)]) -> Vec<Value> {
    let mut orders = Vec::new();
    let first = sp_get(sim, Some(token), SEARCH_ORDERS, query).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let mut page = first.json();
    for _ in 0..1000 {
        orders.extend(page["orders"].as_array().cloned().unwrap_or_default());
        let Some(next) = page["pagination"]["nextToken"].as_str().map(str::to_string) else {
            return orders;
        };
        let resp = sp_get(
            sim,
            Some(token),
            SEARCH_ORDERS,
            &[("paginationToken", &next)],
        )
        .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        page = resp.json();
    }
    panic!("more than 1000 pages")
}
