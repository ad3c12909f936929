//! Orders API v0: `confirmShipment` (POST
//! `/orders/v0/orders/{orderId}/shipmentConfirmation`, 204 No Content).
//!
//! Retry safety: the catalogue marks it `Idempotent` because Amazon refuses
//! a second confirmation of the same `packageReferenceId`; the shipment job's
//! ledger is the first guard (it never sends a package twice unless it
//! checked Amazon's order first).

use domain::{AmazonOrderId, Operation};

use crate::call::{Call, Method, encode_path_segment};
use crate::models::orders_v0::{ConfirmShipmentRequest, OTHER_CARRIER};

/// `POST /orders/v0/orders/{orderId}/shipmentConfirmation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmShipment {
    pub order_id: AmazonOrderId,
    pub request: ConfirmShipmentRequest,
}

impl ConfirmShipment {
    /// Amazon's rules for the body, checked before anything is spent.
    pub fn check(&self) -> Result<(), String> {
        let r = &self.request;
        let p = &r.package_detail;
        if r.marketplace_id.trim().is_empty() {
            return Err("marketplaceId is empty".into());
        }
        let reference_ok = !p.package_reference_id.is_empty()
            && p.package_reference_id.bytes().all(|b| b.is_ascii_digit())
            && p.package_reference_id.bytes().any(|b| b != b'0');
        if !reference_ok {
            return Err(
                "packageReferenceId must be a positive number (Amazon accepts digits only)".into(),
            );
        }
        if p.carrier_code.trim().is_empty() {
            return Err("carrierCode is empty: it is required in every marketplace".into());
        }
        if p.carrier_code == OTHER_CARRIER
            && p.carrier_name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty())
        {
            return Err("carrierCode Other needs a carrierName".into());
        }
        if p.tracking_number.trim().is_empty() {
            return Err("trackingNumber is empty".into());
        }
        if chrono::DateTime::parse_from_rfc3339(&p.ship_date).is_err() {
            return Err("shipDate is not an ISO 8601 date-time".into());
        }
        if p.order_items.is_empty() {
            return Err("orderItems is empty: name at least one item and quantity".into());
        }
        if let Some(i) = p.order_items.iter().find(|i| i.quantity == 0) {
            return Err(format!("order item {} has quantity 0", i.order_item_id));
        }
        Ok(())
    }
}

impl Call for ConfirmShipment {
    type Output = ();
    const OPERATION: Operation = Operation::ConfirmShipment;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        format!(
            "/orders/v0/orders/{}/shipmentConfirmation",
            encode_path_segment(self.order_id.as_str())
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.request).ok()
    }

    fn validate(&self) -> Result<(), String> {
        self.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::orders_v0::{ConfirmShipmentOrderItem, PackageDetail};
    use serde_json::{Value, json};

    fn model() -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/amazon/models/ordersV0.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("ordersV0.json")
    }

    fn call() -> ConfirmShipment {
        ConfirmShipment {
            order_id: AmazonOrderId::new("302-1234567-1234567").unwrap(),
            request: ConfirmShipmentRequest {
                marketplace_id: "A1PA6795UKMFR9".into(),
                package_detail: PackageDetail {
                    package_reference_id: "1".into(),
                    carrier_code: "DHL".into(),
                    carrier_name: None,
                    shipping_method: Some("Paket".into()),
                    tracking_number: "00340434161234567890".into(),
                    ship_date: "2026-09-01T12:00:00Z".into(),
                    ship_from_supply_source_id: None,
                    order_items: vec![ConfirmShipmentOrderItem {
                        order_item_id: "12345678901234".into(),
                        quantity: 1,
                        transparency_codes: vec![],
                    }],
                },
                cod_collection_method: None,
            },
        }
    }

    /// Every property we send exists in the model's definition (recursively)
    /// and every required one is present.
    fn conforms(value: &Value, definition: &str, model: &Value, at: &str) {
        let def = &model["definitions"][definition];
        let props = def["properties"].as_object().expect("properties");
        let obj = value
            .as_object()
            .unwrap_or_else(|| panic!("{at} is an object"));
        for required in def["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            assert!(obj.contains_key(name), "{at}: required {name} missing");
        }
        for (name, v) in obj {
            let prop = props
                .get(name)
                .unwrap_or_else(|| panic!("{at}.{name} is not in the model's {definition}"));
            assert!(!v.is_null(), "{at}.{name}: nulls are left out, not sent");
            let reference = prop["$ref"].as_str().unwrap_or_default();
            let target = reference.rsplit('/').next().unwrap_or_default();
            match (target, v) {
                ("PackageDetail", _) => conforms(v, target, model, &format!("{at}.{name}")),
                ("ConfirmShipmentOrderItemsList", Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        conforms(
                            item,
                            "ConfirmShipmentOrderItem",
                            model,
                            &format!("{at}.{name}[{i}]"),
                        );
                    }
                }
                _ => {
                    let ty = prop["type"].as_str().unwrap_or("string");
                    let ok = match ty {
                        "string" => v.is_string(),
                        "integer" => v.is_u64(),
                        "array" => v.is_array(),
                        _ => true,
                    };
                    assert!(ok, "{at}.{name} should be {ty}: {v}");
                }
            }
        }
    }

    #[test]
    fn the_body_follows_the_model() {
        let model = model();
        let c = call();
        assert_eq!(
            c.path(),
            "/orders/v0/orders/302-1234567-1234567/shipmentConfirmation"
        );
        let body = c.body().unwrap();
        conforms(&body, "ConfirmShipmentRequest", &model, "body");
        assert_eq!(body["packageDetail"]["packageReferenceId"], json!("1"));
        assert!(body["packageDetail"].get("carrierName").is_none());
        let op = &model["paths"]["/orders/v0/orders/{orderId}/shipmentConfirmation"]["post"];
        assert_eq!(op["operationId"], "confirmShipment");
        assert!(op["responses"]["204"].is_object(), "success is 204");
    }

    #[test]
    fn the_models_sandbox_example_round_trips() {
        let model = model();
        let op = &model["paths"]["/orders/v0/orders/{orderId}/shipmentConfirmation"]["post"];
        let example = &op["responses"]["204"]["x-amzn-api-sandbox"]["static"][0]["request"]["parameters"]
            ["body"]["value"];
        let parsed: ConfirmShipmentRequest =
            serde_json::from_value(example.clone()).expect("the example parses");
        assert_eq!(&serde_json::to_value(&parsed).unwrap(), example);
        let c = ConfirmShipment {
            order_id: AmazonOrderId::new("902-1106328-1059050").unwrap(),
            request: parsed,
        };
        assert!(c.check().is_ok(), "{:?}", c.check());
    }

    #[test]
    fn bad_bodies_are_refused_before_sending() {
        type Change = fn(&mut ConfirmShipment);
        let cases: [(Change, &str); 6] = [
            (
                |c| c.request.package_detail.package_reference_id = "PKG-1".into(),
                "positive number",
            ),
            (
                |c| c.request.package_detail.package_reference_id = "0".into(),
                "positive number",
            ),
            (
                |c| c.request.package_detail.carrier_code = "Other".into(),
                "carrierName",
            ),
            (
                |c| c.request.package_detail.tracking_number = " ".into(),
                "trackingNumber",
            ),
            (
                |c| c.request.package_detail.ship_date = "01.09.2026".into(),
                "shipDate",
            ),
            (
                |c| c.request.package_detail.order_items[0].quantity = 0,
                "quantity 0",
            ),
        ];
        for (change, expected) in cases {
            let mut c = call();
            change(&mut c);
            let err = c.validate().unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        let mut other = call();
        other.request.package_detail.carrier_code = "Other".into();
        other.request.package_detail.carrier_name = Some("Kurier Müller".into());
        assert!(other.validate().is_ok());
    }
}
