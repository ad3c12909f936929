use super::request::*;
use super::response::*;
use super::validate::*;
use domain::Pii;
use serde_json::{Value, json};

use crate::MessageVersion;

const CONTRACTS_MD: &str = include_str!("../../CONTRACTS.md");

/// The examples of CONTRACTS.md's label section: a line
/// `<!-- example: label-request -->` (or `label-response`) before a
/// ```json block.
fn documented() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut lines = CONTRACTS_MD.lines();
    while let Some(line) = lines.next() {
        let Some(tag) = line
            .strip_prefix("<!-- example: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines.next(),
            Some("```json"),
            "{tag}: a ```json block follows"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let value = serde_json::from_str(&body.join("\n"))
            .unwrap_or_else(|e| panic!("CONTRACTS.md {tag} example is not JSON: {e}"));
        out.push((tag.to_string(), value));
    }
    out
}

#[test]
fn both_schemas_compile() {
    for (name, text) in label_schema_texts() {
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            v["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
    }
    for version in [MessageVersion::V1, MessageVersion::V2] {
        assert!(Schema(Kind::Request, version).compiled().is_ok());
        assert!(Schema(Kind::Response, version).compiled().is_ok());
    }
}

#[test]
fn every_documented_example_is_valid_and_round_trips() {
    let examples = documented();
    let requests = examples
        .iter()
        .filter(|(t, _)| t == "label-request")
        .count();
    let responses = examples
        .iter()
        .filter(|(t, _)| t == "label-response")
        .count();
    assert!(
        requests >= 11,
        "one request example per operation, found {requests}"
    );
    assert!(responses >= 11, "response examples, found {responses}");
    let mut operations = std::collections::BTreeSet::new();
    for (tag, value) in examples {
        let text = value.to_string();
        let back: Value = match tag.as_str() {
            "label-request" => {
                let r = LabelRequest::parse(&text)
                    .unwrap_or_else(|e| panic!("documented request refused: {e}\n{value:#}"));
                operations.insert(r.operation.name());
                serde_json::from_str(&r.to_json().unwrap()).unwrap()
            }
            "label-response" => {
                let r = LabelResponse::parse(&text)
                    .unwrap_or_else(|e| panic!("documented response refused: {e}\n{value:#}"));
                serde_json::from_str(&r.to_json().unwrap()).unwrap()
            }
            other => panic!("unknown example tag {other}"),
        };
        assert_eq!(back, value, "{tag}: nothing lost, nothing added");
    }
    assert_eq!(
        operations.len(),
        OperationName::ALL.len(),
        "every operation has an example"
    );
}

fn rates_request() -> Value {
    json!({
        "schema": 1, "operation": "rates", "client_code": "ACME",
        "shipment": {
            "order_number": "MG302-1234567-1234567",
            "ship_from": {"name": "Warehouse 1", "address_line1": "1 Dock Road", "city": "Leipzig",
                "state_or_region": "SN", "postal_code": "04109", "country_code": "DE"},
            "packages": [{"package_id": "PKG-1", "weight": {"value": "1.25", "unit": "KILOGRAM"},
                "dimensions": {"length": "30", "width": "20", "height": "10", "unit": "CENTIMETER"},
                "items": [{"quantity": 1, "sku": "SKU-1"}]}]
        }
    })
}

#[test]
fn errors_name_the_field_and_rule_never_the_value() {
    let mut v = rates_request();
    v["shipment"]["packages"][0]["weight"]["value"] = json!("heavy Jane Buyer");
    v["shipment"]["ship_to"] = v["shipment"]["ship_from"].clone();
    let err = LabelRequest::parse(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("/shipment/packages/0/weight/value"), "{err}");
    assert!(err.contains("non-negative decimal"), "{err}");
    assert!(err.contains("exactly one of `order_number`"), "{err}");
    assert!(!err.contains("Jane"), "{err}");

    let purchase = json!({"schema": 1, "operation": "purchase", "seller_id": "A3EXAMPLESELLER",
        "idempotency_key": "bad key with spaces", "request_token": "RT", "label": {"format": "PDF"}});
    let err = LabelRequest::parse(&purchase.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/idempotency_key") && err.contains("idempotency key"),
        "{err}"
    );
    assert!(err.contains("`rate_id` or `select`"), "{err}");

    let no_seller = json!({"schema": 1, "operation": "cancel", "shipment_id": "1"});
    let err = LabelRequest::parse(&no_seller.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`seller_id` or `client_code`"), "{err}");

    let v3 = json!({"schema": 3, "operation": "cancel", "seller_id": "A3EXAMPLESELLER", "shipment_id": "1"});
    let err = LabelRequest::parse(&v3.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("versions 1 and 2"), "{err}");
    assert!(
        LabelRequest::parse("{")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON")
    );
}

#[test]
fn the_order_number_gives_the_amazon_order_id() {
    let r = LabelRequest::parse(&rates_request().to_string()).unwrap();
    let LabelOperation::Rates(rates) = r.operation else {
        panic!("rates")
    };
    assert_eq!(
        rates.shipment.amazon_order_id("MG").unwrap().as_str(),
        "302-1234567-1234567"
    );
    assert_eq!(rates.shipment.amazon_order_id("XX"), None);
}

#[test]
fn responses_are_checked_before_they_leave() {
    let ok_without_result =
        LabelResponse::empty(MessageVersion::V1, Some(OperationName::Rates), None, true);
    assert!(
        ok_without_result
            .to_json()
            .unwrap_err()
            .to_string()
            .contains("/rates")
    );
    let failure = LabelResponse::failure(
        MessageVersion::V1,
        None,
        Some("r-1".into()),
        LabelError {
            code: ErrorCode::InvalidRequest,
            message: "the body is not JSON".into(),
            retryable: false,
            hint: None,
            amazon_request_id: None,
        },
    );
    let text = failure.to_json().unwrap();
    assert_eq!(LabelResponse::parse(&text).unwrap(), failure);
}

#[test]
fn version_2_is_a_superset_and_version_1_refuses_its_fields() {
    // Every version 1 request is a valid version 2 request.
    let mut v = rates_request();
    v["schema"] = json!(2);
    assert!(LabelRequest::parse(&v.to_string()).is_ok());
    // A version 2 field in a version 1 request is refused, by name.
    let mut serials = rates_request();
    serials["shipment"]["packages"][0]["items"][0]["serial_numbers"] = json!(["SN1"]);
    let err = LabelRequest::parse(&serials.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/shipment/packages/0/items/0/serial_numbers")
            && err.contains("send \"schema\": 2"),
        "{err}"
    );
    serials["schema"] = json!(2);
    let parsed = LabelRequest::parse(&serials.to_string()).unwrap();
    let LabelOperation::Rates(r) = parsed.operation else {
        panic!("rates")
    };
    assert_eq!(r.shipment.packages[0].items[0].serial_numbers, ["SN1"]);
    let close_out = json!({"schema": 1, "operation": "unmanifested", "client_code": "ACME"});
    let err = LabelRequest::parse(&close_out.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`/operation` is part of label contract version 2"),
        "{err}"
    );
    let inputs = json!({"schema": 1, "operation": "purchase", "client_code": "ACME",
        "idempotency_key": "K1", "request_token": "RT", "rate_id": "R",
        "label": {"format": "PDF"}, "additional_inputs": {"x": 1}});
    assert!(
        LabelRequest::parse(&inputs.to_string())
            .unwrap_err()
            .to_string()
            .contains("/additional_inputs")
    );
    // A collection form needs its key, carrier and address.
    let form = json!({"schema": 2, "operation": "collection_form", "client_code": "ACME", "carrier_id": "AMZN"});
    let err = LabelRequest::parse(&form.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/idempotency_key") && err.contains("/ship_from"),
        "{err}"
    );
}

#[test]
fn version_2_error_codes_fall_back_in_version_1() {
    let error = LabelError {
        code: ErrorCode::AdditionalInputsRequired,
        message: "the offer needs additional inputs".into(),
        retryable: false,
        hint: None,
        amazon_request_id: None,
    };
    let v1 = LabelResponse::failure(
        MessageVersion::V1,
        Some(OperationName::Purchase),
        None,
        error.clone(),
    );
    assert_eq!(v1.error.as_ref().unwrap().code, ErrorCode::NoMatchingRate);
    assert!(v1.to_json().is_ok());
    let v2 = LabelResponse::failure(
        MessageVersion::V2,
        Some(OperationName::Purchase),
        None,
        error,
    );
    assert_eq!(
        v2.error.as_ref().unwrap().code,
        ErrorCode::AdditionalInputsRequired
    );
    assert!(v2.to_json().unwrap().contains("\"schema\":2"));
}

#[test]
fn label_files_never_print() {
    let d = Document {
        kind: "LABEL".into(),
        format: "PDF".into(),
        dpi: None,
        content_base64: Pii::new("SmFuZSBCdXllcg==".into()),
    };
    assert!(!format!("{d:?}").contains("SmFu"));
}
