//! Contract tests: the documented examples, the refusals, the round trips.

use chrono::{TimeZone, Utc};
use domain::{AmazonOrderId, ClientCode, MarketplaceId, OrderItemId, Pii, SellerId, Sku};
use serde_json::{Value, json};

use super::*;
use crate::order::{BuyShipping, LineRequirements, ServiceMapping, Shipping};

const CONTRACTS_MD: &str = include_str!("../CONTRACTS.md");

/// The ```json <contract> blocks of CONTRACTS.md.
fn documented_examples() -> Vec<(Contract, Value)> {
    let mut out = Vec::new();
    let mut lines = CONTRACTS_MD.lines();
    while let Some(line) = lines.next() {
        let Some(tag) = line.strip_prefix("```json ") else {
            continue;
        };
        let contract = match tag.trim() {
            "order-message" => Contract::OrderMessage,
            "shipment-message" => Contract::ShipmentMessage,
            "stock-page" => Contract::StockPage,
            "order-cancel-requested" => Contract::OrderCancelRequest,
            other => panic!("unknown example tag {other}"),
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let value = serde_json::from_str(&body.join("\n"))
            .unwrap_or_else(|e| panic!("CONTRACTS.md {tag} example is not JSON: {e}"));
        out.push((contract, value));
    }
    out
}

/// Every (contract, version) and its schema.
fn all_schemas() -> Vec<(Contract, u32, Value)> {
    Contract::ALL
        .iter()
        .flat_map(|c| {
            c.versions().iter().map(move |v| {
                let text = c.schema_text_of(*v).expect("a schema per version");
                (*c, *v, serde_json::from_str(text).unwrap())
            })
        })
        .collect()
}

#[test]
fn every_schema_compiles() {
    for (contract, version, schema) in all_schemas() {
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{contract} v{version}"
        );
        assert!(
            schema["$id"]
                .as_str()
                .unwrap()
                .ends_with(&format!(":{version}")),
            "{contract} v{version}"
        );
        assert!(contract.compiled(version).is_ok(), "{contract} v{version}");
        // The file on disk is the embedded text.
        let on_disk = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("schemas")
                .join(contract.schema_file_of(version)),
        )
        .unwrap();
        assert_eq!(Some(on_disk.as_str()), contract.schema_text_of(version));
    }
    assert_eq!(
        Contract::OrderMessage.schema_file(),
        "order-message.v2.json"
    );
}

#[test]
fn every_documented_example_is_accepted_and_parses() {
    let examples = documented_examples();
    for contract in Contract::ALL {
        for version in contract.versions() {
            assert!(
                examples
                    .iter()
                    .filter(|(c, v)| *c == contract && v["schema"] == *version)
                    .count()
                    >= 2,
                "CONTRACTS.md should show at least two {contract} examples of version {version}"
            );
        }
    }
    for (contract, value) in examples {
        contract
            .validate(&value)
            .unwrap_or_else(|e| panic!("documented {contract} example refused: {e}"));
        let text = value.to_string();
        // Parse into the Rust type and write it back: nothing lost, nothing added.
        let back: Value = match contract {
            Contract::OrderMessage | Contract::OrderCancelRequest => {
                let message = OrderMessage::parse(&text).unwrap();
                assert_eq!(message.contract(), contract, "the kind picks the schema");
                serde_json::from_str(&message.to_json().unwrap())
            }
            Contract::ShipmentMessage => {
                serde_json::from_str(&ShipmentMessage::parse(&text).unwrap().to_json().unwrap())
            }
            Contract::StockPage => {
                let page = StockPage::parse(&text).unwrap();
                let mut v: Value = serde_json::from_str(&page.to_json().unwrap()).unwrap();
                // `null` and absent mean the same for next_page.
                if value.get("next_page") == Some(&Value::Null) {
                    v["next_page"] = Value::Null;
                }
                Ok(v)
            }
        }
        .unwrap();
        let mut expected = value.clone();
        if contract == Contract::ShipmentMessage {
            // The connector normalises ship_date to UTC.
            let date = ShipmentMessage::parse(&text).unwrap().ship_date;
            expected["ship_date"] = json!(date);
        }
        assert_eq!(back, expected, "{contract} example changed in a round trip");
    }
}

fn shipment() -> Value {
    json!({
        "schema": 1,
        "client_code": "ACME",
        "order_number": "MG302-1234567-1234567",
        "package_id": "PKG-1",
        "carrier": "DHL",
        "tracking_number": "00340434161234567890",
        "ship_date": "2026-09-01T14:00:00Z",
        "lines": [{ "sku": "MUG-BLUE-350", "quantity": 2 }]
    })
}

/// Applies `mutate` to a valid message and checks the error names `expected`.
fn check_refused(
    base: fn() -> Value,
    parse: fn(&str) -> Result<(), ContractError>,
    mutate: fn(&mut Value),
    expected: &str,
) {
    let mut v = base();
    mutate(&mut v);
    let err = parse(&v.to_string()).expect_err(expected).to_string();
    assert!(err.contains(expected), "{err}\n  should contain {expected}");
    assert!(
        err.contains("CONTRACTS.md"),
        "{err} should say where to look"
    );
}

#[test]
fn shipment_refusals_name_the_field_and_the_rule() {
    let parse = |s: &str| ShipmentMessage::parse(s).map(|_| ());
    type Case = (fn(&mut Value), &'static str);
    let cases: Vec<Case> = vec![
        (
            |v| {
                v.as_object_mut().unwrap().remove("package_id");
            },
            "`/package_id` is required",
        ),
        (
            |v| {
                v.as_object_mut().unwrap().remove("schema");
            },
            "`/schema` is required",
        ),
        (
            |v| {
                v.as_object_mut().unwrap().remove("client_code");
            },
            "`/` needs at least one of `seller_id`, `client_code`",
        ),
        (
            |v| v["lines"][0]["quantity"] = json!(-1),
            "`/lines/0/quantity` must be at least 1",
        ),
        (
            |v| v["lines"][0]["quantity"] = json!(0),
            "`/lines/0/quantity` must be at least 1",
        ),
        (
            |v| v["lines"][0]["quantity"] = json!("2"),
            "`/lines/0/quantity` must be of type integer",
        ),
        (
            |v| v["lines"][0]["quantity"] = json!(1.5),
            "`/lines/0/quantity` must be of type integer",
        ),
        (
            |v| {
                v["lines"][0].as_object_mut().unwrap().remove("sku");
            },
            "`/lines/0/sku` is required",
        ),
        (
            |v| v["lines"][0]["sku"] = json!(" MUG"),
            "`/lines/0/sku` must be a SKU",
        ),
        (
            |v| v["ship_date"] = json!("01.09.2026 14:00"),
            "`/ship_date` must be an RFC 3339 date-time",
        ),
        (
            |v| v["ship_date"] = json!("2026-09-01T14:00:00"),
            "`/ship_date` must be an RFC 3339 date-time",
        ),
        (
            |v| v["order_number"] = json!("MG-302-1234567"),
            "`/order_number` must be the order number as sent",
        ),
        (
            |v| v["package_id"] = json!(""),
            "`/package_id` must have at least 1 character",
        ),
        (
            |v| v["seller_id"] = json!("seller one"),
            "`/seller_id` must be an Amazon id",
        ),
        (|v| v["lines"] = json!({}), "`/lines` must be of type array"),
        (
            |v| v["schema"] = json!(3),
            "`/schema` is 3, but this connector reads only schema version 1 or 2",
        ),
        (|v| v["schema"] = json!("1"), "`/schema` must be 1"),
    ];
    for (mutate, expected) in cases {
        check_refused(shipment, parse, mutate, expected);
    }
}

#[test]
fn refusals_never_quote_the_values() {
    let mut v = shipment();
    v["carrier"] = json!({ "name": "Jane Buyer" });
    v["tracking_number"] = json!(" Baker Street 221b ");
    v["lines"][0]["sku"] = json!(42);
    v["order_number"] = json!("jane@example.com");
    let err = ShipmentMessage::parse(&v.to_string()).unwrap_err();
    let text = err.to_string();
    for secret in ["Jane", "Baker", "42", "jane@example.com"] {
        assert!(!text.contains(secret), "{text} quotes {secret}");
    }
    let paths: Vec<&str> = err.violations().iter().map(|v| v.path.as_str()).collect();
    for field in [
        "/carrier",
        "/tracking_number",
        "/lines/0/sku",
        "/order_number",
    ] {
        assert!(paths.contains(&field), "{paths:?} should name {field}");
    }
    assert!(!err.is_retryable());
}

#[test]
fn malformed_json_is_refused_with_its_position() {
    let err = ShipmentMessage::parse("{\"schema\": 1,").unwrap_err();
    assert!(
        matches!(err, ContractError::NotJson { line: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    let err = StockPage::parse("[1, 2 3]").unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
}

#[test]
fn a_shipment_parses_into_typed_fields() {
    let m = ShipmentMessage::parse(&shipment().to_string()).unwrap();
    assert_eq!(m.client_code, Some(ClientCode::new("ACME").unwrap()));
    assert_eq!(m.seller_id, None);
    assert_eq!(
        m.ship_date,
        Utc.with_ymd_and_hms(2026, 9, 1, 14, 0, 0).unwrap()
    );
    assert_eq!(m.lines[0].sku, Sku::new("MUG-BLUE-350").unwrap());
    assert!(!m.ships_all_remaining());

    // Unknown fields from the WMS are ignored; no lines = all that remains.
    let mut v = shipment();
    v["warehouse"] = json!("LEJ-1");
    v.as_object_mut().unwrap().remove("lines");
    let m = ShipmentMessage::parse(&v.to_string()).unwrap();
    assert!(m.ships_all_remaining());
}

#[test]
fn the_order_number_resolves_with_or_without_the_prefix() {
    let mut m = ShipmentMessage::parse(&shipment().to_string()).unwrap();
    let id = AmazonOrderId::new("302-1234567-1234567").unwrap();
    assert_eq!(m.amazon_order_id("MG"), Some(id.clone()));
    assert_eq!(m.amazon_order_id("XX"), None);
    m.order_number = "302-1234567-1234567".into();
    assert_eq!(m.amazon_order_id("MG"), Some(id.clone()));
    assert_eq!(m.amazon_order_id(""), Some(id));
}

fn stock() -> Value {
    json!({
        "schema": 1,
        "items": [{ "sku": "MUG-BLUE-350", "on_hand": 5, "available": 3 }],
        "next_page": "abc"
    })
}

#[test]
fn stock_page_refusals_name_the_field_and_the_rule() {
    let parse = |s: &str| StockPage::parse(s).map(|_| ());
    type Case = (fn(&mut Value), &'static str);
    let cases: Vec<Case> = vec![
        (
            |v| v["items"][0]["on_hand"] = json!(-1),
            "`/items/0/on_hand` must be at least 0",
        ),
        (
            |v| v["items"][0]["available"] = json!(-3),
            "`/items/0/available` must be at least 0",
        ),
        (
            |v| v["items"][0]["available"] = json!("3"),
            "`/items/0/available` must be of type integer",
        ),
        (
            |v| {
                v["items"][0].as_object_mut().unwrap().remove("on_hand");
            },
            "`/items/0/on_hand` is required",
        ),
        (
            |v| {
                v.as_object_mut().unwrap().remove("items");
            },
            "`/items` is required",
        ),
        (
            |v| v["next_page"] = json!(7),
            "`/next_page` must be one of the types",
        ),
        (
            |v| v["next_page"] = json!(""),
            "`/next_page` must have at least 1 character",
        ),
        (
            |v| v["items"][0]["on_hand"] = json!(4_294_967_296_u64),
            "`/items/0/on_hand` must be at most 4294967295",
        ),
        (
            |v| v["schema"] = json!(3),
            "`/schema` is 3, but this connector reads only schema version 1: send",
        ),
    ];
    for (mutate, expected) in cases {
        check_refused(stock, parse, mutate, expected);
    }
    let page = StockPage::parse(&stock().to_string()).unwrap();
    assert_eq!(page.items[0].on_hand, 5);
    assert_eq!(page.next_page.as_deref(), Some("abc"));
}

fn created() -> OrderCreated {
    let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
    let order = AmazonOrderId::new("302-1234567-1234567").unwrap();
    let unit = Money {
        amount: Decimal::new("12.90").unwrap(),
        currency: "EUR".into(),
    };
    OrderCreated {
        schema: MessageVersion::V1,
        message_id: OrderCreated::message_id_for(&seller, &order),
        seller_id: seller,
        client_code: ClientCode::new("ACME").unwrap(),
        order_number: format!("MG{order}"),
        amazon_order_id: order,
        marketplace_id: MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
        purchase_date: Utc.with_ymd_and_hms(2026, 9, 1, 8, 15, 0).unwrap(),
        earliest_ship_date: None,
        latest_ship_date: Some(Utc.with_ymd_and_hms(2026, 9, 2, 21, 59, 59).unwrap()),
        earliest_delivery_date: None,
        latest_delivery_date: None,
        ship_service_level: Some("STANDARD".into()),
        flags: OrderFlags {
            prime: true,
            ..OrderFlags::default()
        },
        programs: vec!["PRIME".into()],
        shipping: None,
        ship_to: Address {
            name: Pii::new("Erika Mustermann".into()),
            company_name: None,
            address_line1: Pii::new("Heidestrasse 17".into()),
            address_line2: Some(Pii::new("Hinterhaus".into())),
            address_line3: None,
            city: Pii::new("Koeln".into()),
            district_or_county: None,
            state_or_region: Some(Pii::new("Nordrhein-Westfalen".into())),
            municipality: None,
            postal_code: Some(Pii::new("51147".into())),
            country_code: "DE".into(),
            phone: Some(Pii::new("+49 221 1234567".into())),
            address_type: Some("RESIDENTIAL".into()),
        },
        buyer: Some(Buyer {
            name: Some(Pii::new("Max Mustermann".into())),
            email: Some(Pii::new("abc123xyz@marketplace.amazon.de".into())),
            company_name: Some(Pii::new("Muster GmbH".into())),
            purchase_order_number: None,
        }),
        lines: vec![OrderLine {
            order_item_id: OrderItemId::new("12345678901234").unwrap(),
            sku: Sku::new("MUG-BLUE-350").unwrap(),
            asin: Some("B0EXAMPLE1".into()),
            title: Some("Tasse blau".into()),
            quantity: 2,
            quantity_ordered: 2,
            line_price: unit.times(2),
            unit_price: Some(unit),
            requirements: None,
        }],
    }
}

#[test]
fn what_we_send_validates_against_our_own_schema_and_round_trips() {
    let message = OrderMessage::from(created());
    let text = message.to_json().unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["kind"], "order.created");
    assert_eq!(value["schema"], 1);
    assert_eq!(value["lines"][0]["line_price"]["amount"], "25.80");
    assert_eq!(value["ship_to"]["name"], "Erika Mustermann");
    assert!(
        value.get("earliest_ship_date").is_none(),
        "absent, not null"
    );
    assert_eq!(OrderMessage::parse(&text).unwrap(), message);
    assert_eq!(
        message.message_id(),
        "A3EXAMPLESELLER:302-1234567-1234567:created"
    );

    let c = created();
    let cancelled = OrderMessage::from(OrderCancelled {
        schema: MessageVersion::V1,
        message_id: OrderCancelled::message_id_for(&c.seller_id, &c.amazon_order_id, 2),
        seller_id: c.seller_id,
        client_code: c.client_code,
        order_number: c.order_number,
        amazon_order_id: c.amazon_order_id,
        marketplace_id: c.marketplace_id,
        scope: CancelScope::Order,
        cancelled_at: Utc.with_ymd_and_hms(2026, 9, 1, 9, 0, 0).unwrap(),
        reason: None,
        lines: vec![CancelledLine {
            order_item_id: OrderItemId::new("12345678901234").unwrap(),
            sku: Sku::new("MUG-BLUE-350").unwrap(),
            quantity_cancelled: 2,
            quantity_remaining: 0,
        }],
    });
    let text = cancelled.to_json().unwrap();
    assert!(text.contains("\"scope\":\"order\""), "{text}");
    assert_eq!(OrderMessage::parse(&text).unwrap(), cancelled);
    assert_eq!(cancelled.kind(), "order.cancelled");
}

#[test]
fn a_broken_outbound_message_is_caught_before_it_leaves() {
    let mut c = created();
    c.lines.clear();
    c.ship_to.country_code = "Germany".into();
    let err = OrderMessage::from(c).to_json().unwrap_err().to_string();
    assert!(err.contains("`/lines` must have at least 1 item"), "{err}");
    assert!(
        err.contains("`/ship_to/country_code` must be an upper-case ISO 3166-1"),
        "{err}"
    );

    let mut v: Value =
        serde_json::from_str(&OrderMessage::from(created()).to_json().unwrap()).unwrap();
    v["gift_message"] = json!("Happy birthday");
    v["lines"][0]["quantity"] = json!(0);
    let err = OrderMessage::parse(&v.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("`/` has field(s) the contract does not define: `gift_message`"),
        "{err}"
    );
    assert!(
        err.contains("`/lines/0/quantity` must be at least 1"),
        "{err}"
    );
    assert!(!err.contains("Happy birthday"), "{err}");

    let mut v: Value =
        serde_json::from_str(&OrderMessage::from(created()).to_json().unwrap()).unwrap();
    v["kind"] = json!("order.updated");
    let err = OrderMessage::parse(&v.to_string()).unwrap_err();
    assert_eq!(
        err.violations(),
        [Violation {
            path: "/kind".into(),
            rule: r#"must be one of ["order.created","order.cancelled"]"#.into()
        }],
        "an unknown kind is one clear error, not the rules of another kind"
    );
}

#[test]
fn every_pattern_in_our_schemas_is_explained_in_words() {
    fn patterns(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("pattern", Value::String(p)) => out.push(p.clone()),
                        _ => patterns(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| patterns(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    for (_, _, schema) in all_schemas() {
        patterns(&schema, &mut all);
    }
    assert!(all.len() > 10);
    for p in all {
        let words = contract::pattern_rule(&p);
        assert!(!words.contains("pattern"), "no words for {p}");
    }
}

#[test]
fn debug_of_an_order_message_shows_no_buyer_data() {
    let message = OrderMessage::from(created());
    let debug = format!("{message:?} {message:#?}");
    for pii in [
        "Erika",
        "Mustermann",
        "Heidestrasse",
        "Hinterhaus",
        "Koeln",
        "Nordrhein",
        "51147",
        "+49",
        "abc123xyz",
        "Muster GmbH",
    ] {
        assert!(!debug.contains(pii), "Debug prints {pii}: {debug}");
    }
    // What is not buyer data stays readable in logs.
    for visible in [
        "302-1234567-1234567",
        "MUG-BLUE-350",
        "DE",
        "A3EXAMPLESELLER",
    ] {
        assert!(debug.contains(visible), "Debug hides {visible}");
    }
}

#[test]
fn a_value_the_schema_allows_but_the_type_cannot_hold_names_its_path_not_its_value() {
    #[derive(Debug, serde::Deserialize)]
    struct Narrow {
        #[allow(dead_code)]
        lines: Vec<NarrowLine>,
    }
    #[derive(Debug, serde::Deserialize)]
    struct NarrowLine {
        #[allow(dead_code)]
        quantity: u8,
    }
    let mut v = shipment();
    v["lines"][0]["quantity"] = json!(4321);
    let err = Contract::ShipmentMessage
        .parse::<Narrow>(&v.to_string())
        .unwrap_err();
    assert_eq!(err.violations()[0].path, "/lines/0/quantity");
    assert!(!err.to_string().contains("4321"), "{err}");
}

fn cancel_request() -> OrderCancelRequested {
    OrderCancelRequested {
        schema: SchemaVersion,
        message_id: OrderCancelRequested::message_id_for(
            &SellerId::new("A3EXAMPLESELLER").unwrap(),
            &AmazonOrderId::new("302-1234567-1234567").unwrap(),
            1,
        ),
        seller_id: SellerId::new("A3EXAMPLESELLER").unwrap(),
        client_code: ClientCode::new("ACME").unwrap(),
        order_number: "MG302-1234567-1234567".into(),
        amazon_order_id: AmazonOrderId::new("302-1234567-1234567").unwrap(),
        marketplace_id: MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
        scope: CancelScope::Order,
        requested_at: Utc.with_ymd_and_hms(2026, 9, 1, 8, 40, 0).unwrap(),
        reason: Some("Ordered by mistake".into()),
        lines: vec![RequestedLine {
            order_item_id: OrderItemId::new("12345678901234").unwrap(),
            sku: Sku::new("MUG-BLUE-350").unwrap(),
            quantity: 2,
        }],
    }
}

#[test]
fn a_cancel_request_has_its_own_schema_and_leaves_version_1_unchanged() {
    let message = OrderMessage::from(cancel_request());
    assert_eq!(message.kind(), "order.cancel_requested");
    assert_eq!(message.contract(), Contract::OrderCancelRequest);
    assert_eq!(
        message.message_id(),
        "A3EXAMPLESELLER:302-1234567-1234567:cancel_requested:1"
    );
    let text = message.to_json().unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["kind"], "order.cancel_requested");
    assert_eq!(value["schema"], 1);
    assert_eq!(OrderMessage::parse(&text).unwrap(), message);
    // order-message.v1.json is untouched: it still knows two kinds only, so
    // a WMS validating with it refuses this one (hence WmsCancelRequests).
    let refused = Contract::OrderMessage.validate(&value).unwrap_err();
    assert!(refused.to_string().contains("/kind"), "{refused}");
    let schema: Value = serde_json::from_str(Contract::OrderMessage.schema_text()).unwrap();
    assert_eq!(
        schema["properties"]["kind"]["enum"],
        json!(["order.created", "order.cancelled"])
    );
}

#[test]
fn cancel_request_refusals_name_the_field() {
    let base = || serde_json::to_value(OrderMessage::from(cancel_request())).unwrap();
    for (mutate, expected) in [
        (
            (|v: &mut Value| v["lines"] = json!([])) as fn(&mut Value),
            "`/lines` must have at least 1 item(s)",
        ),
        (
            |v: &mut Value| v["lines"][0]["quantity"] = json!(0),
            "`/lines/0/quantity` must be at least 1",
        ),
        (
            |v: &mut Value| v["scope"] = json!("some"),
            "`/scope` must be one of",
        ),
        (
            |v: &mut Value| {
                v.as_object_mut().unwrap().remove("requested_at");
            },
            "`/requested_at` is required",
        ),
        (
            |v: &mut Value| v["schema"] = json!(2),
            "reads only schema version 1",
        ),
    ] {
        let mut v = base();
        mutate(&mut v);
        let err = OrderMessage::parse(&v.to_string())
            .expect_err(expected)
            .to_string();
        assert!(err.contains(expected), "{err}\n  should contain {expected}");
        assert!(err.contains("order cancellation request"), "{err}");
    }
}

fn created_v2() -> OrderCreated {
    let mut c = created();
    c.schema = MessageVersion::V2;
    c.shipping = Some(Shipping {
        service_level: Some("NEXT_DAY".into()),
        wms_service: Some("DHL-EXPRESS".into()),
        mapping: ServiceMapping::Seller,
        buy_shipping: BuyShipping {
            required: true,
            reasons: vec!["PRIME".into()],
            ship_by: c.latest_ship_date,
            label_from: None,
        },
    });
    c.lines[0].requirements = Some(LineRequirements {
        transparency_codes: true,
        serial_numbers: false,
        shipping_constraints: vec!["SIGNATURE_CONFIRMATION".into()],
    });
    c
}

#[test]
fn version_2_carries_the_shipping_method_and_line_requirements() {
    let message = OrderMessage::from(created_v2());
    let text = message.to_json().unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], 2);
    assert_eq!(v["shipping"]["wms_service"], "DHL-EXPRESS");
    assert_eq!(v["shipping"]["mapping"], "seller");
    assert_eq!(v["shipping"]["buy_shipping"]["required"], true);
    assert_eq!(
        v["shipping"]["buy_shipping"]["ship_by"],
        "2026-09-02T21:59:59Z"
    );
    assert_eq!(v["lines"][0]["requirements"]["transparency_codes"], true);
    assert!(
        v["lines"][0]["requirements"]
            .get("serial_numbers")
            .is_none(),
        "false is left out"
    );
    assert_eq!(OrderMessage::parse(&text).unwrap(), message);
    assert_eq!(message.version(), MessageVersion::V2);

    // Version 1 cannot carry them: the v1 schema catches a mapping bug.
    let mut v1 = created_v2();
    v1.schema = MessageVersion::V1;
    let err = OrderMessage::from(v1).to_json().unwrap_err().to_string();
    assert!(err.contains("`shipping`"), "{err}");
    assert!(err.contains("`requirements`"), "{err}");

    // Version 2 requires `shipping`.
    let mut bare = created_v2();
    bare.shipping = None;
    let err = OrderMessage::from(bare).to_json().unwrap_err().to_string();
    assert!(err.contains("`/shipping` is required"), "{err}");
}

#[test]
fn unmapped_is_explicit_and_consistent() {
    type Case = (fn(&mut Shipping), Option<&'static str>);
    let cases: Vec<Case> = vec![
        (
            |s| {
                s.mapping = ServiceMapping::Unmapped;
                s.wms_service = None;
            },
            None,
        ),
        (
            |s| s.mapping = ServiceMapping::Unmapped,
            Some("`/shipping`"),
        ),
        (
            |s| s.wms_service = None,
            Some("`/shipping/wms_service` is required"),
        ),
        (
            |s| s.buy_shipping.reasons.clear(),
            Some("`/shipping/buy_shipping/reasons` is required"),
        ),
        (
            |s| {
                s.buy_shipping.required = false;
            },
            Some("`/shipping/buy_shipping`"),
        ),
        (
            |s| {
                s.buy_shipping = BuyShipping::default();
            },
            None,
        ),
    ];
    for (n, (change, expected)) in cases.into_iter().enumerate() {
        let mut c = created_v2();
        change(c.shipping.as_mut().unwrap());
        let result = OrderMessage::from(c).to_json();
        match (result, expected) {
            (Ok(_), None) => {}
            (Err(e), Some(text)) => {
                assert!(e.to_string().contains(text), "case {n}: {e}")
            }
            (Ok(t), Some(text)) => panic!("case {n}: accepted, expected {text}: {t}"),
            (Err(e), None) => panic!("case {n}: refused: {e}"),
        }
    }
}

#[test]
fn shipment_version_2_adds_supply_source_cod_and_transparency_codes() {
    let mut v = shipment();
    v["schema"] = json!(2);
    v["ship_from_supply_source_id"] = json!("057d3fcc-b750-419f-bbcd-4d340c60c430");
    v["cod_collection_method"] = json!("DirectPayment");
    v["lines"][0]["transparency_codes"] = json!(["AZ:ONE", "AZ:TWO"]);
    let m = ShipmentMessage::parse(&v.to_string()).unwrap();
    assert_eq!(m.schema, MessageVersion::V2);
    assert_eq!(
        m.ship_from_supply_source_id.as_deref(),
        Some("057d3fcc-b750-419f-bbcd-4d340c60c430")
    );
    assert_eq!(m.lines[0].transparency_codes, ["AZ:ONE", "AZ:TWO"]);
    let back: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
    assert_eq!(
        back["lines"][0]["transparency_codes"],
        v["lines"][0]["transparency_codes"]
    );

    // A version 1 message with a version 2 field is refused, not ignored.
    for (field, path) in [
        (
            "ship_from_supply_source_id",
            "`/ship_from_supply_source_id`",
        ),
        ("cod_collection_method", "`/cod_collection_method`"),
        ("transparency_codes", "`/lines/0/transparency_codes`"),
    ] {
        let mut v1 = v.clone();
        v1["schema"] = json!(1);
        for other in ["ship_from_supply_source_id", "cod_collection_method"] {
            if other != field {
                v1.as_object_mut().unwrap().remove(other);
            }
        }
        if field != "transparency_codes" {
            v1["lines"][0]
                .as_object_mut()
                .unwrap()
                .remove("transparency_codes");
        }
        let err = ShipmentMessage::parse(&v1.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains(path), "{err}");
        assert!(err.contains("send \"schema\": 2"), "{err}");
        assert!(!err.contains("057d3fcc"), "no values: {err}");
    }

    let parse = |s: &str| ShipmentMessage::parse(s).map(|_| ());
    type Case = (fn(&mut Value), &'static str);
    let cases: Vec<Case> = vec![
        (
            |v| v["cod_collection_method"] = json!("Cash"),
            "`/cod_collection_method` must be one of",
        ),
        (
            |v| v["lines"][0]["transparency_codes"] = json!([]),
            "`/lines/0/transparency_codes` must have at least 1 item",
        ),
        (
            |v| v["lines"][0]["transparency_codes"] = json!([" AZ"]),
            "`/lines/0/transparency_codes/0` must not start or end with spaces",
        ),
        (
            |v| v["ship_from_supply_source_id"] = json!("has space"),
            "`/ship_from_supply_source_id` must be printable ASCII",
        ),
    ];
    for (mutate, expected) in cases {
        let mut m = v.clone();
        mutate(&mut m);
        let err = parse(&m.to_string()).expect_err(expected).to_string();
        assert!(err.contains(expected), "{err}\n  should contain {expected}");
    }
}
