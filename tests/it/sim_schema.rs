//! The simulator's real HTTP answers, validated against the JSON schemas of
//! Amazon's official models (`shared/amazon/models/`): every `includedData`
//! value of searchOrders, getOrder, the error bodies, and
//! getMarketplaceParticipations. Validation is strict: every object of the
//! model gets `additionalProperties: false`, so a misspelt field fails too.

use std::path::PathBuf;

use jsonschema::Validator;
use serde_json::{Map, Value, json};
use spapi_sim::{CancelParty, CancelSpec, FulfilledBy, ShipItem, ShipSpec, SimHandle};
use tests::sim::{
    DE, PARTICIPATIONS, SEARCH_ORDERS, SpResponse, UK, access_token, add_seller_in, get_order_path,
    past_two_minutes, seed_orders, sp_get, start_sim, test_order,
};

pub(crate) fn model(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/amazon/models")
        .join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("model JSON")
}

/// Drops Swagger extensions (`x-...`) and `example`s, and with `strict`
/// forbids properties the model does not define.
fn clean(v: &Value, strict: bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                if k.starts_with("x-") || k == "example" {
                    continue;
                }
                // Property names are data, not keywords: clean their schemas only.
                let cleaned = if k == "properties" {
                    match child {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(name, s)| (name.clone(), clean(s, strict)))
                                .collect(),
                        ),
                        other => other.clone(),
                    }
                } else {
                    clean(child, strict)
                };
                out.insert(k.clone(), cleaned);
            }
            if strict && m.contains_key("properties") {
                out.insert("additionalProperties".into(), json!(false));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| clean(x, strict)).collect()),
        other => other.clone(),
    }
}

/// A draft-4 validator for `#/definitions/<name>` of a model, formats checked.
pub(crate) fn validator(model: &Value, name: &str, strict: bool) -> Validator {
    assert!(
        model["definitions"].get(name).is_some(),
        "the model has no definition {name}"
    );
    let schema = json!({
        "$ref": format!("#/definitions/{name}"),
        "definitions": clean(&model["definitions"], strict),
    });
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

fn errors(v: &Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

pub(crate) fn assert_valid(v: &Validator, doc: &Value, what: &str) {
    let errs = errors(v, doc);
    assert!(errs.is_empty(), "{what}: {errs:#?}\n{doc:#}");
}

/// The headers the orders model lists for `operation`'s answer `status`.
fn model_headers(model: &Value, path: &str, status: u16) -> Vec<String> {
    model["paths"][path]["get"]["responses"][status.to_string()]["headers"]
        .as_object()
        .map(|h| h.keys().cloned().collect())
        .unwrap_or_default()
}

fn assert_model_headers(model: &Value, path: &str, resp: &SpResponse) {
    let listed = model_headers(model, path, resp.status);
    assert!(
        !listed.is_empty(),
        "model lists no headers for {}",
        resp.status
    );
    for h in &listed {
        assert!(
            resp.header(h).is_some(),
            "{path} {} lacks header {h}",
            resp.status
        );
    }
    // Headers the model does not list for this status must not appear.
    if !listed.iter().any(|h| h == "x-amzn-RateLimit-Limit") {
        assert!(resp.header("x-amzn-RateLimit-Limit").is_none());
    }
}

/// The `includedData` values the model's searchOrders parameter lists.
fn included_data_values(orders: &Value) -> Vec<String> {
    let params = orders["paths"]["/orders/2026-01-01/orders"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let p = params
        .iter()
        .find(|p| p["name"] == "includedData")
        .expect("includedData parameter");
    p["items"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

/// A seller with orders in every shape the simulator can produce.
async fn rich_sim(pii: bool) -> (SimHandle, String) {
    let sim = start_sim(1000.0).await;
    let seller = add_seller_in(&sim, "A1SCHEMA", &[DE, UK], pii);
    let ids = seed_orders(&sim, &seller, 6);
    let c = sim.control();
    let id = &seller.seller_id;
    // Partly shipped (with a package), shipped, line-cancelled, cancelled,
    // a buyer's cancellation request, an FBA Prime business order in the UK.
    c.ship(
        id,
        &ids[1],
        ShipSpec {
            items: vec![ShipItem {
                sku: "SKU-2-B".into(),
                quantity: 1,
            }],
            carrier: Some("DHL".into()),
            tracking_number: Some("00340434161234567890".into()),
            shipping_service: Some("Paket".into()),
        },
    )
    .expect("ship part");
    c.set_status(id, &ids[2], domain::settings::OrderStatus::Shipped)
        .expect("ship");
    c.cancel(
        id,
        &ids[3],
        CancelSpec {
            skus: vec!["SKU-4-B".into()],
            by: CancelParty::Merchant,
            reason: Some("NoInventory".into()),
            request_only: false,
        },
    )
    .expect("cancel a line");
    c.set_status(id, &ids[4], domain::settings::OrderStatus::Cancelled)
        .expect("cancel");
    c.cancel(
        id,
        &ids[5],
        CancelSpec {
            request_only: true,
            reason: Some("Ordered by mistake".into()),
            ..CancelSpec::default()
        },
    )
    .expect("request cancellation");
    let mut fba = test_order(7, UK);
    fba.fulfilled_by = FulfilledBy::Amazon;
    fba.programs = vec!["PRIME".into(), "AMAZON_BUSINESS".into(), "PREMIUM".into()];
    fba.fulfillment_service_level = Some("NEXT_DAY".into());
    let now = c.now();
    fba.ship_by = Some(spapi_sim::TimeWindow {
        earliest: now,
        latest: now + chrono::TimeDelta::days(1),
    });
    fba.deliver_by = Some(spapi_sim::TimeWindow {
        earliest: now + chrono::TimeDelta::days(1),
        latest: now + chrono::TimeDelta::days(3),
    });
    c.seed_order(id, fba).expect("fba order");
    // The schema tests page through every includedData value: more calls than
    // searchOrders' burst of 20.
    c.set_rate(id, domain::Operation::SearchOrders, 50.0, Some(200))
        .expect("rate");
    past_two_minutes(&sim);
    let token = access_token(&sim, &seller).await;
    (sim, token)
}

#[tokio::test]
async fn search_orders_pages_match_the_model_for_every_included_data() {
    let orders = model("orders_2026-01-01.json");
    let v = validator(&orders, "SearchOrdersResponse", true);
    for pii in [true, false] {
        let (sim, token) = rich_sim(pii).await;
        let after = "2020-01-01T00:00:00Z";
        let mut values = included_data_values(&orders);
        assert!(values.len() >= 11, "{values:?}");
        values.push(values.join(","));
        for included in &values {
            let mut query: Vec<(String, String)> = vec![
                ("createdAfter".into(), after.into()),
                ("maxResultsPerPage".into(), "3".into()),
                ("includedData".into(), included.clone()),
            ];
            let mut pages = 0;
            let mut seen = 0;
            loop {
                let q: Vec<(&str, &str)> = query
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let resp = sp_get(&sim, Some(&token), SEARCH_ORDERS, &q).await;
                assert_eq!(resp.status, 200, "{}", resp.body);
                assert_model_headers(&orders, "/orders/2026-01-01/orders", &resp);
                let body = resp.json();
                assert_valid(&v, &body, &format!("searchOrders includedData={included}"));
                pages += 1;
                seen += body["orders"].as_array().map_or(0, Vec::len);
                let Some(next) = body["pagination"]["nextToken"].as_str() else {
                    break;
                };
                query = vec![
                    ("paginationToken".into(), next.to_string()),
                    ("includedData".into(), included.clone()),
                ];
            }
            assert_eq!((pages, seen), (3, 7), "includedData={included}");
        }
    }
}

#[tokio::test]
async fn get_order_matches_the_model() {
    let orders = model("orders_2026-01-01.json");
    let v = validator(&orders, "GetOrderResponse", true);
    let (sim, token) = rich_sim(true).await;
    let all = included_data_values(&orders).join(",");
    let ids: Vec<String> =
        tests::sim::search_all(&sim, &token, &[("createdAfter", "2020-01-01T00:00:00Z")])
            .await
            .iter()
            .map(|o| o["orderId"].as_str().expect("orderId").to_string())
            .collect();
    assert_eq!(ids.len(), 7);
    for id in &ids {
        for included in ["", all.as_str()] {
            let resp = sp_get(
                &sim,
                Some(&token),
                &get_order_path(id),
                &[("includedData", included)],
            )
            .await;
            assert_eq!(resp.status, 200, "{}", resp.body);
            assert_model_headers(&orders, "/orders/2026-01-01/orders/{orderId}", &resp);
            assert_valid(&v, &resp.json(), &format!("getOrder {id} {included}"));
        }
    }
    // The richest order really carries the optional parts the schema allows.
    let full = sp_get(
        &sim,
        Some(&token),
        &get_order_path(&ids[1]),
        &[("includedData", &all)],
    )
    .await
    .json();
    for key in ["buyer", "recipient", "proceeds", "fulfillment", "packages"] {
        assert!(full["order"].get(key).is_some(), "{key} missing: {full:#}");
    }
}

#[tokio::test]
async fn error_bodies_match_the_model() {
    let orders = model("orders_2026-01-01.json");
    let v = validator(&orders, "ErrorList", true);
    let (sim, token) = rich_sim(true).await;
    let search = "/orders/2026-01-01/orders";
    let get = "/orders/2026-01-01/orders/{orderId}";
    let bad = sp_get(&sim, Some(&token), SEARCH_ORDERS, &[]).await;
    let missing = sp_get(
        &sim,
        Some(&token),
        &get_order_path("999-9999999-9999999"),
        &[],
    )
    .await;
    let denied = sp_get(
        &sim,
        None,
        SEARCH_ORDERS,
        &[("createdAfter", "2020-01-01T00:00:00Z")],
    )
    .await;
    sim.control().storm(domain::Operation::GetOrder, 1);
    let throttled = sp_get(
        &sim,
        Some(&token),
        &get_order_path("999-9999999-9999999"),
        &[],
    )
    .await;
    sim.control()
        .inject_fault(spapi_sim::FaultTarget::Any, spapi_sim::Fault::status(503))
        .expect("fault");
    let unavailable = sp_get(&sim, Some(&token), &get_order_path("x"), &[]).await;
    for (resp, path, status) in [
        (&bad, search, 400),
        (&missing, get, 404),
        (&denied, search, 403),
        (&throttled, get, 429),
        (&unavailable, get, 503),
    ] {
        assert_eq!(resp.status, status, "{}", resp.body);
        assert_model_headers(&orders, path, resp);
        assert_valid(&v, &resp.json(), &format!("{status} body"));
    }
}

#[tokio::test]
async fn marketplace_participations_match_the_sellers_model() {
    let sellers = model("sellers.json");
    let v = validator(&sellers, "GetMarketplaceParticipationsResponse", true);
    let sim = start_sim(1000.0).await;
    let seller = add_seller_in(&sim, "A1PARTS", &[DE, UK, "ATVPDKIKX0DER"], false);
    let token = access_token(&sim, &seller).await;
    let resp = sp_get(&sim, Some(&token), PARTICIPATIONS, &[]).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.header("x-amzn-RateLimit-Limit").is_some());
    let body = resp.json();
    assert_valid(&v, &body, "getMarketplaceParticipations");
    assert_eq!(body["payload"].as_array().map(Vec::len), Some(3));
    // The error answers use the same response type (`errors` beside `payload`).
    let denied = sp_get(&sim, Some("Atza|nope"), PARTICIPATIONS, &[]).await;
    assert_eq!(denied.status, 403);
    assert_valid(&v, &denied.json(), "403 getMarketplaceParticipations");
}

/// One way to break a valid document.
type Breakage = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn the_validation_can_fail() {
    let orders = model("orders_2026-01-01.json");
    let strict = validator(&orders, "GetOrderResponse", true);
    let loose = validator(&orders, "GetOrderResponse", false);
    let (sim, token) = rich_sim(true).await;
    let all = included_data_values(&orders).join(",");
    let good = sp_get(
        &sim,
        Some(&token),
        &get_order_path("302-0000002-0000002"),
        &[("includedData", &all)],
    )
    .await
    .json();
    assert_valid(&strict, &good, "the unbroken document");
    let breakages: Vec<(&str, Breakage)> = vec![
        (
            "required orderId removed",
            Box::new(|d| {
                d["order"].as_object_mut().expect("order").remove("orderId");
            }),
        ),
        (
            "quantity as a string",
            Box::new(|d| {
                d["order"]["orderItems"][0]["quantityOrdered"] = json!("1");
            }),
        ),
        (
            "status outside the enum",
            Box::new(|d| {
                d["order"]["fulfillment"]["fulfillmentStatus"] = json!("Unshipped");
            }),
        ),
        (
            "date-time not ISO 8601",
            Box::new(|d| {
                d["order"]["createdTime"] = json!("yesterday");
            }),
        ),
        (
            "money without currency",
            Box::new(|d| {
                d["order"]["orderItems"][0]["product"]["price"]["unitPrice"]
                    .as_object_mut()
                    .expect("money")
                    .remove("currencyCode");
            }),
        ),
        (
            "orders wrapped in payload",
            Box::new(|d| {
                *d = json!({ "payload": d.clone() });
            }),
        ),
    ];
    for (what, breakage) in &breakages {
        let mut doc = good.clone();
        breakage(&mut doc);
        assert!(!errors(&loose, &doc).is_empty(), "{what} passed the model");
    }
    // Strict mode also catches a misspelt field the model does not define.
    let mut doc = good.clone();
    doc["order"]["orderItems"][0]["sellerSKU"] = json!("SKU-2-A");
    assert!(errors(&loose, &doc).is_empty());
    assert!(!errors(&strict, &doc).is_empty(), "a misspelt field passed");
    // And the simulator's own WrongType fault produces a document the model rejects.
    sim.control()
        .inject_fault(
            spapi_sim::FaultTarget::Operation(domain::Operation::GetOrder),
            spapi_sim::Fault::WrongType,
        )
        .expect("fault");
    let wrong = sp_get(
        &sim,
        Some(&token),
        &get_order_path("302-0000002-0000002"),
        &[],
    )
    .await;
    assert_eq!(wrong.status, 200);
    assert!(!errors(&loose, &wrong.json()).is_empty());
}
