//! The simulator's Amazon Shipping v2 over HTTP: every answer validated
//! against `shippingV2.json` (strict: no field the model does not define),
//! and its behaviour — request tokens that expire after 10 simulated
//! minutes, purchases keyed by `x-amzn-IdempotencyKey` as Amazon does,
//! counted; Amazon-channel purchases marking the order shipped; documents in
//! the asked format; tracking that follows simulated time; cancellation
//! until pick-up; the business-id header checked.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use jsonschema::Validator;
use serde_json::{Map, Value, json};
use tests::sim::{SimHandle, TestSeller, UK, access_token, add_seller_in, start_sim, test_order};

fn model() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/amazon/models/shippingV2.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("model")).expect("JSON")
}

/// Drops `x-` extensions and examples; every object with properties gets
/// `additionalProperties: false`.
fn strict(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                if k.starts_with("x-") || k == "example" {
                    continue;
                }
                let cleaned = if k == "properties" {
                    match child {
                        Value::Object(props) => Value::Object(
                            props.iter().map(|(n, s)| (n.clone(), strict(s))).collect(),
                        ),
                        other => other.clone(),
                    }
                } else {
                    strict(child)
                };
                out.insert(k.clone(), cleaned);
            }
            if m.contains_key("properties") {
                out.insert("additionalProperties".into(), json!(false));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(strict).collect()),
        other => other.clone(),
    }
}

fn validator(model: &Value, name: &str) -> Validator {
    let schema = json!({
        "$ref": format!("#/definitions/{name}"),
        "definitions": strict(&model["definitions"]),
    });
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

fn assert_valid(model: &Value, name: &str, doc: &Value) {
    let v = validator(model, name);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{doc:#}");
}

struct Answer {
    status: u16,
    body: Value,
}

async fn send(
    sim: &SimHandle,
    token: &str,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .header("x-amz-access-token", token)
        .query(query);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    }
}

fn address(name: &str) -> Value {
    json!({"name": name, "addressLine1": "1 Dock Road", "city": "London",
        "stateOrRegion": "London", "postalCode": "E16 2QU", "countryCode": "GB"})
}

fn rates_body(order_id: Option<&str>, kilograms: f64, items: Value) -> Value {
    let channel = match order_id {
        Some(id) => json!({"channelType": "AMAZON", "amazonOrderDetails": {"orderId": id}}),
        None => json!({"channelType": "EXTERNAL"}),
    };
    let mut body = json!({
        "shipFrom": address("Warehouse"),
        "packages": [{
            "dimensions": {"length": 30, "width": 20, "height": 10, "unit": "CENTIMETER"},
            "weight": {"unit": "KILOGRAM", "value": kilograms},
            "insuredValue": {"value": 0, "unit": "GBP"},
            "packageClientReferenceId": "PKG-1",
            "items": items
        }],
        "channelDetails": channel
    });
    if order_id.is_none() {
        body["shipTo"] = address("Shop Customer");
    }
    body
}

fn spec(format: &str) -> Value {
    json!({"format": format, "size": {"width": 4, "length": 6, "unit": "INCH"},
        "needFileJoining": false, "requestedDocumentTypes": ["LABEL"]})
}

struct Fixture {
    sim: SimHandle,
    seller: TestSeller,
    /// Access tokens live an hour of simulated time: renewed after clock jumps.
    token: std::sync::Mutex<String>,
}

async fn fixture() -> Fixture {
    let sim = start_sim(100.0).await;
    let seller = add_seller_in(&sim, "A1SHIPSELLER", &[UK], true);
    let token = access_token(&sim, &seller).await;
    Fixture {
        sim,
        seller,
        token: std::sync::Mutex::new(token),
    }
}

impl Fixture {
    fn token(&self) -> String {
        self.token.lock().unwrap().clone()
    }

    /// Moves the clock and takes a new access token.
    async fn advance(&self, by: Duration) {
        self.sim.control().advance_clock(by);
        let fresh = access_token(&self.sim, &self.seller).await;
        *self.token.lock().unwrap() = fresh;
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Answer {
        send(
            &self.sim,
            &self.token(),
            reqwest::Method::POST,
            path,
            headers,
            &[],
            Some(body),
        )
        .await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        send(
            &self.sim,
            &self.token(),
            reqwest::Method::GET,
            path,
            &[],
            query,
            None,
        )
        .await
    }

    async fn put(&self, path: &str) -> Answer {
        send(
            &self.sim,
            &self.token(),
            reqwest::Method::PUT,
            path,
            &[],
            &[],
            None,
        )
        .await
    }

    fn order(&self, n: u32) -> String {
        self.sim
            .control()
            .seed_order(&self.seller.seller_id, test_order(n, UK))
            .expect("seed")
    }
}

const RATES: &str = "/shipping/v2/shipments/rates";
const PURCHASE: &str = "/shipping/v2/shipments";

#[tokio::test]
async fn every_answer_matches_the_model() {
    let m = model();
    let f = fixture().await;
    let order = f.order(1);
    let rates = f
        .post(
            RATES,
            &[("x-amzn-shipping-business-id", "AmazonShipping_UK")],
            &rates_body(Some(&order), 1.25, json!([{"quantity": 1}])),
        )
        .await;
    assert_eq!(rates.status, 200, "{}", rates.body);
    assert_valid(&m, "GetRatesResponse", &rates.body);
    let heavy = f
        .post(
            RATES,
            &[],
            &rates_body(None, 40.0, json!([{"quantity": 1}])),
        )
        .await;
    assert_valid(&m, "GetRatesResponse", &heavy.body);
    assert_eq!(
        heavy.body["payload"]["ineligibleRates"][0]["ineligibilityReasons"][0]["code"],
        "WEIGHT_RESTRICTIONS"
    );
    let payload = &rates.body["payload"];
    let bought = f
        .post(
            PURCHASE,
            &[("x-amzn-IdempotencyKey", "k-1")],
            &json!({
            "requestToken": payload["requestToken"], "rateId": payload["rates"][0]["rateId"],
            "requestedDocumentSpecification": spec("PDF")}),
        )
        .await;
    assert_eq!(bought.status, 200, "{}", bought.body);
    assert_valid(&m, "PurchaseShipmentResponse", &bought.body);
    let shipment = bought.body["payload"]["shipmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let tracking = bought.body["payload"]["packageDocumentDetails"][0]["trackingId"]
        .as_str()
        .unwrap()
        .to_string();
    let docs = f
        .get(
            &format!("/shipping/v2/shipments/{shipment}/documents"),
            &[("packageClientReferenceId", "PKG-1"), ("format", "ZPL")],
        )
        .await;
    assert_eq!(docs.status, 200, "{}", docs.body);
    assert_valid(&m, "GetShipmentDocumentsResponse", &docs.body);
    let track = f
        .get(
            "/shipping/v2/tracking",
            &[("trackingId", &tracking), ("carrierId", "AMZN")],
        )
        .await;
    assert_eq!(track.status, 200, "{}", track.body);
    assert_valid(&m, "GetTrackingResponse", &track.body);
    let cancel = f
        .put(&format!("/shipping/v2/shipments/{shipment}/cancel"))
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    assert_valid(&m, "CancelShipmentResponse", &cancel.body);
    let one = f
        .post("/shipping/v2/oneClickShipment", &[], &{
            let mut b = rates_body(None, 0.5, json!([{"quantity": 1}]));
            b["labelSpecifications"] = spec("PNG");
            b["serviceSelection"] = json!({"serviceId": ["UPS-EXPRESS", "AMZN-STD"]});
            b
        })
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_valid(&m, "OneClickShipmentResponse", &one.body);
    assert_eq!(
        one.body["payload"]["service"]["id"], "AMZN-STD",
        "the cheaper of the two"
    );
    let refused = f
        .put(&format!("/shipping/v2/shipments/{shipment}/cancel"))
        .await;
    assert_eq!(refused.status, 400);
    assert_valid(&m, "ErrorList", &refused.body);
}

#[tokio::test]
async fn request_tokens_expire_after_ten_simulated_minutes() {
    let f = fixture().await;
    let order = f.order(1);
    let body = rates_body(Some(&order), 1.0, json!([{"quantity": 1}]));
    let rates = f.post(RATES, &[], &body).await.body["payload"].clone();
    let purchase = |rate: usize| {
        json!({"requestToken": rates["requestToken"],
        "rateId": rates["rates"][rate]["rateId"], "requestedDocumentSpecification": spec("PDF")})
    };
    f.advance(Duration::from_secs(601)).await;
    let expired = f.post(PURCHASE, &[], &purchase(0)).await;
    assert_eq!(expired.status, 400);
    assert_eq!(expired.body["errors"][0]["code"], "TOKEN_EXPIRED");
    assert_eq!(f.sim.control().label_purchases(&f.seller.seller_id), 0);
    // Fresh rates can be bought.
    let rates = f.post(RATES, &[], &body).await.body["payload"].clone();
    let ok = f
        .post(
            PURCHASE,
            &[],
            &json!({"requestToken": rates["requestToken"],
            "rateId": rates["rates"][0]["rateId"], "requestedDocumentSpecification": spec("PDF")}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn purchases_are_keyed_by_the_idempotency_key_and_counted() {
    let f = fixture().await;
    let body = rates_body(None, 1.0, json!([{"quantity": 1}]));
    let rates = f.post(RATES, &[], &body).await.body["payload"].clone();
    let purchase = |rate: usize, format: &str| {
        json!({"requestToken": rates["requestToken"],
        "rateId": rates["rates"][rate]["rateId"], "requestedDocumentSpecification": spec(format)})
    };
    let key = [("x-amzn-IdempotencyKey", "same-key")];
    let first = f.post(PURCHASE, &key, &purchase(0, "PDF")).await;
    let again = f.post(PURCHASE, &key, &purchase(0, "PDF")).await;
    assert_eq!(
        first.body, again.body,
        "the same key and body: the same shipment"
    );
    assert_eq!(f.sim.control().label_purchases(&f.seller.seller_id), 1);
    let other = f.post(PURCHASE, &key, &purchase(0, "ZPL")).await;
    assert_eq!(other.status, 400);
    assert!(
        other.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("different request")
    );
    // Without a key (or with another) a second purchase is a second label.
    let second = f.post(PURCHASE, &[], &purchase(1, "PDF")).await;
    assert_eq!(second.status, 200);
    assert_ne!(
        second.body["payload"]["shipmentId"],
        first.body["payload"]["shipmentId"]
    );
    assert_eq!(f.sim.control().label_purchases(&f.seller.seller_id), 2);
    // A lost answer: bought, 503; the retry with the key gets it.
    f.sim
        .control()
        .lose_purchase_answers(&f.seller.seller_id, 1);
    let lost_key = [("x-amzn-IdempotencyKey", "lost")];
    let lost = f.post(PURCHASE, &lost_key, &purchase(2, "PDF")).await;
    assert_eq!(lost.status, 503);
    let retried = f.post(PURCHASE, &lost_key, &purchase(2, "PDF")).await;
    assert_eq!(retried.status, 200);
    assert_eq!(f.sim.control().label_purchases(&f.seller.seller_id), 3);
    let shipments = f.sim.control().shipments(&f.seller.seller_id);
    assert_eq!(shipments.len(), 3);
    assert_eq!(
        shipments[2].shipment_id,
        retried.body["payload"]["shipmentId"].as_str().unwrap()
    );
}

#[tokio::test]
async fn an_amazon_channel_purchase_ships_the_order() {
    let f = fixture().await;
    let order = f.order(2); // SKU-2-A × 1, SKU-2-B × 2
    let json = f
        .sim
        .control()
        .order_json(&f.seller.seller_id, &order)
        .unwrap();
    let item_b = json["orderItems"][1]["orderItemId"]
        .as_str()
        .unwrap()
        .to_string();
    // One unit of B in this package: partially shipped.
    let body = rates_body(
        Some(&order),
        1.0,
        json!([{"quantity": 1, "itemIdentifier": item_b}]),
    );
    let rates = f.post(RATES, &[], &body).await.body["payload"].clone();
    let bought = f
        .post(
            PURCHASE,
            &[],
            &json!({"requestToken": rates["requestToken"],
            "rateId": rates["rates"][1]["rateId"], "requestedDocumentSpecification": spec("ZPL")}),
        )
        .await;
    assert_eq!(bought.status, 200, "{}", bought.body);
    let tracking = bought.body["payload"]["packageDocumentDetails"][0]["trackingId"].clone();
    let json = f
        .sim
        .control()
        .order_json(&f.seller.seller_id, &order)
        .unwrap();
    assert_eq!(
        json["fulfillment"]["fulfillmentStatus"],
        "PARTIALLY_SHIPPED"
    );
    assert_eq!(json["packages"][0]["trackingNumber"], tracking);
    assert_eq!(json["packages"][0]["carrier"], "DHL");
    assert_eq!(
        json["packages"][0]["packageItems"],
        json!([{"orderItemId": item_b, "quantity": 1}])
    );
    // No identifiers: everything still open ships; then nothing is left.
    let rest = rates_body(Some(&order), 1.0, json!([{"quantity": 2}]));
    let rates = f.post(RATES, &[], &rest).await.body["payload"].clone();
    let bought = f
        .post(
            PURCHASE,
            &[],
            &json!({"requestToken": rates["requestToken"],
            "rateId": rates["rates"][0]["rateId"], "requestedDocumentSpecification": spec("PDF")}),
        )
        .await;
    assert_eq!(bought.status, 200, "{}", bought.body);
    let json = f
        .sim
        .control()
        .order_json(&f.seller.seller_id, &order)
        .unwrap();
    assert_eq!(json["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    let again = f.post(RATES, &[], &rest).await;
    assert_eq!(again.status, 400);
    assert!(
        again.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not eligible")
    );
    // An order the seller does not have, and too many units.
    let unknown = f
        .post(
            RATES,
            &[],
            &rates_body(Some("302-9999999-9999999"), 1.0, json!([{"quantity": 1}])),
        )
        .await;
    assert_eq!(unknown.status, 400);
    let other = f.order(1);
    let too_many = f
        .post(RATES, &[], &rates_body(Some(&other), 1.0, json!([{"quantity": 3,
            "itemIdentifier": f.sim.control().order_json(&f.seller.seller_id, &other).unwrap()["orderItems"][0]["orderItemId"]}])))
        .await;
    assert_eq!(too_many.status, 400);
    assert!(
        too_many.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3 units asked, 1 left")
    );
}

#[tokio::test]
async fn documents_tracking_cancellation_and_the_business_id() {
    let f = fixture().await;
    let bad = f
        .post(
            RATES,
            &[("x-amzn-shipping-business-id", "AmazonShipping_DE")],
            &rates_body(None, 1.0, json!([{"quantity": 1}])),
        )
        .await;
    assert_eq!(bad.status, 400);
    let rates = f
        .post(
            RATES,
            &[("x-amzn-shipping-business-id", "AmazonShipping_UK")],
            &rates_body(None, 1.0, json!([{"quantity": 1}])),
        )
        .await
        .body["payload"]
        .clone();
    assert_eq!(
        f.sim
            .control()
            .last_shipping_business_id(&f.seller.seller_id)
            .as_deref(),
        Some("AmazonShipping_UK")
    );
    let bought = f
        .post(
            PURCHASE,
            &[],
            &json!({"requestToken": rates["requestToken"],
            "rateId": rates["rates"][0]["rateId"], "requestedDocumentSpecification": spec("PNG")}),
        )
        .await
        .body["payload"]
        .clone();
    let shipment = bought["shipmentId"].as_str().unwrap();
    let tracking = bought["packageDocumentDetails"][0]["trackingId"]
        .as_str()
        .unwrap();
    let decode = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let png = decode(&bought["packageDocumentDetails"][0]["packageDocuments"][0]["contents"]);
    assert!(png.starts_with(&[0x89, b'P', b'N', b'G']));
    for (format, magic) in [
        ("PDF", &b"%PDF"[..]),
        ("ZPL", &b"^XA"[..]),
        ("PNG", &[0x89, b'P'][..]),
    ] {
        let d = f
            .get(
                &format!("/shipping/v2/shipments/{shipment}/documents"),
                &[
                    ("packageClientReferenceId", "PKG-1"),
                    ("format", format),
                    ("dpi", "300"),
                ],
            )
            .await;
        let doc = &d.body["payload"]["packageDocumentDetail"]["packageDocuments"][0];
        assert_eq!(doc["format"], format);
        assert!(decode(&doc["contents"]).starts_with(magic), "{format}");
    }
    let missing = f
        .get(
            &format!("/shipping/v2/shipments/{shipment}/documents"),
            &[("packageClientReferenceId", "NOPE")],
        )
        .await;
    assert_eq!(missing.status, 404);
    let query = [("trackingId", tracking), ("carrierId", "AMZN")];
    let track = || f.get("/shipping/v2/tracking", &query);
    let codes = |a: &Answer| -> Vec<String> {
        a.body["payload"]["eventHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventCode"].as_str().unwrap().to_string())
            .collect()
    };
    let t = track().await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(
        (
            t.body["payload"]["summary"]["status"].as_str(),
            codes(&t).len()
        ),
        (Some("PreTransit"), 1)
    );
    f.advance(Duration::from_secs(7 * 3600)).await;
    let t = track().await;
    assert_eq!(
        codes(&t),
        ["ReadyForReceive", "PickupDone", "ArrivedAtCarrierFacility"]
    );
    assert_eq!(t.body["payload"]["summary"]["status"], "InTransit");
    // Picked up: too late to cancel.
    let late = f
        .put(&format!("/shipping/v2/shipments/{shipment}/cancel"))
        .await;
    assert_eq!(late.status, 400);
    assert!(
        late.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("picked up")
    );
    f.advance(Duration::from_secs(4 * 24 * 3600)).await;
    let t = track().await;
    assert_eq!(t.body["payload"]["summary"]["status"], "Delivered");
    assert_eq!(codes(&t).last().map(String::as_str), Some("Delivered"));
    let wrong = f
        .get(
            "/shipping/v2/tracking",
            &[("trackingId", tracking), ("carrierId", "UPS")],
        )
        .await;
    assert_eq!(wrong.status, 400);
}
