//! The Shipping v2 operations against wiremock on 127.0.0.1: the typed
//! answers parse every 200 example of Amazon's `shippingV2.json`; a purchase
//! carries `x-amzn-IdempotencyKey` and the shipping business id, and is
//! retried after a 503 with the same key; a one-click (no key in the model)
//! is never retried; Amazon's error body keeps its code.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use domain::Deadline;
use serde_json::{Value, json};
use spapi::SpApiError;
use spapi::models::shipping::{
    Address, ChannelDetails, Currency, Decimal, Dimensions, DocumentFormat, DocumentSize,
    DocumentType, GetRatesResponse, GetShipmentDocumentsResponse, GetTrackingResponse, Item,
    OneClickShipmentRequest, OneClickShipmentResponse, Package, PurchaseShipmentRequest,
    PurchaseShipmentResponse, RequestedDocumentSpecification, ServiceSelection, Weight,
};
use spapi::ops::shipping::{Business, OneClickShipment, PurchaseShipment};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

mod common;
use common::fixture;

fn model() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/amazon/models/shippingV2.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The 200 example of an operation, wrapped in `payload` as the schema says
/// Amazon answers (the model's examples show the payload alone).
fn example(model: &Value, path: &str, method: &str) -> Value {
    let ex = &model["paths"][path][method]["responses"]["200"]["examples"]["application/json"];
    assert!(ex.is_object(), "no example for {method} {path}");
    if ex.get("payload").is_some() {
        ex.clone()
    } else {
        json!({ "payload": ex })
    }
}

#[test]
fn the_typed_answers_parse_every_example_of_the_model() {
    let m = model();
    let rates: GetRatesResponse =
        serde_json::from_value(example(&m, "/shipping/v2/shipments/rates", "post")).unwrap();
    assert!(!rates.payload.rates.is_empty());
    assert_eq!(rates.payload.rates[0].total_charge.value.as_str(), "7");
    let purchase: PurchaseShipmentResponse =
        serde_json::from_value(example(&m, "/shipping/v2/shipments", "post")).unwrap();
    // The example writes the tracking id as a number.
    assert_eq!(
        purchase.payload.package_document_details[0]
            .tracking_id
            .as_deref(),
        Some("1578648261977")
    );
    let one: OneClickShipmentResponse =
        serde_json::from_value(example(&m, "/shipping/v2/oneClickShipment", "post")).unwrap();
    assert_eq!(one.payload.total_charge.value.as_str(), "4.76");
    let tracking: GetTrackingResponse =
        serde_json::from_value(example(&m, "/shipping/v2/tracking", "get")).unwrap();
    assert_eq!(
        tracking.payload.summary.status.as_deref(),
        Some("Delivered")
    );
    assert_eq!(tracking.payload.event_history.len(), 3);
    let docs: GetShipmentDocumentsResponse = serde_json::from_value(example(
        &m,
        "/shipping/v2/shipments/{shipmentId}/documents",
        "get",
    ))
    .unwrap();
    assert_eq!(
        docs.payload.package_document_detail.package_documents.len(),
        1
    );
    let cancel: spapi::models::shipping::CancelShipmentResponse = serde_json::from_value(example(
        &m,
        "/shipping/v2/shipments/{shipmentId}/cancel",
        "put",
    ))
    .unwrap();
    assert!(cancel.payload.is_some());
}

fn d(s: &str) -> Decimal {
    Decimal::new(s).unwrap()
}

fn label_spec() -> RequestedDocumentSpecification {
    RequestedDocumentSpecification {
        format: DocumentFormat::Pdf,
        size: DocumentSize {
            width: d("4"),
            length: d("6"),
            unit: "INCH".into(),
        },
        dpi: None,
        page_layout: None,
        need_file_joining: false,
        requested_document_types: vec![DocumentType::Label],
    }
}

fn purchase_answer() -> Value {
    json!({"payload": {
        "shipmentId": "SH-1",
        "packageDocumentDetails": [{"packageClientReferenceId": "P1", "trackingId": "T-1",
            "packageDocuments": [{"type": "LABEL", "format": "PDF", "contents": "JVBERi0xLjQK"}]}],
        "promise": {}
    }})
}

/// 503 first, then the purchase; records the idempotency keys seen.
#[derive(Clone, Default)]
struct FlakyPurchase {
    calls: Arc<AtomicUsize>,
    keys: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Respond for FlakyPurchase {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let key = req
            .headers
            .get("x-amzn-IdempotencyKey")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        self.keys.lock().unwrap().push(key);
        if n == 0 {
            ResponseTemplate::new(503).set_body_json(
                json!({"errors": [{"code": "ServiceUnavailable", "message": "try again"}]}),
            )
        } else {
            ResponseTemplate::new(200).set_body_json(purchase_answer())
        }
    }
}

#[tokio::test]
async fn a_purchase_is_retried_with_the_same_idempotency_key_and_business_id() {
    let (server, api, seller) = fixture().await;
    let flaky = FlakyPurchase::default();
    Mock::given(method("POST"))
        .and(path("/shipping/v2/shipments"))
        .and(header("x-amzn-shipping-business-id", "AmazonShipping_UK"))
        .respond_with(flaky.clone())
        .mount(&server)
        .await;
    let call = PurchaseShipment {
        request: PurchaseShipmentRequest {
            request_token: "RT-1".into(),
            rate_id: "R-1".into(),
            requested_document_specification: label_spec(),
            additional_inputs: None,
        },
        idempotency_key: "wms-key-1".into(),
        business: Business::for_marketplace("A1F83G8C2ARO7P"),
    };
    let out = api
        .call(
            &seller,
            &call,
            &Deadline::after(std::time::Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(out.payload.shipment_id, "SH-1");
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
    assert_eq!(*flaky.keys.lock().unwrap(), ["wms-key-1", "wms-key-1"]);
}

fn address() -> Address {
    Address {
        name: "Warehouse".to_string().into(),
        address_line1: "1 Dock Road".to_string().into(),
        address_line2: None,
        address_line3: None,
        company_name: None,
        state_or_region: "London".to_string().into(),
        city: "London".to_string().into(),
        country_code: "GB".into(),
        postal_code: "E1 6AN".to_string().into(),
        email: None,
        phone_number: None,
    }
}

#[tokio::test]
async fn a_one_click_is_never_retried_blindly_and_errors_keep_amazons_code() {
    let (server, api, seller) = fixture().await;
    let flaky = FlakyPurchase::default();
    Mock::given(method("POST"))
        .and(path("/shipping/v2/oneClickShipment"))
        .respond_with(flaky.clone())
        .mount(&server)
        .await;
    let call = OneClickShipment {
        request: OneClickShipmentRequest {
            ship_to: None,
            ship_from: address(),
            return_to: None,
            ship_date: None,
            packages: vec![Package {
                dimensions: Dimensions {
                    length: d("10"),
                    width: d("10"),
                    height: d("10"),
                    unit: "CENTIMETER".into(),
                },
                weight: Weight {
                    unit: "GRAM".into(),
                    value: d("500"),
                },
                insured_value: Currency {
                    value: d("0"),
                    unit: "GBP".into(),
                },
                package_client_reference_id: "P1".into(),
                items: vec![Item {
                    quantity: 1,
                    item_value: None,
                    description: None,
                    item_identifier: None,
                    weight: None,
                    serial_numbers: Vec::new(),
                }],
            }],
            channel_details: ChannelDetails::amazon("202-1234567-1234567"),
            label_specifications: label_spec(),
            service_selection: ServiceSelection {
                service_id: vec!["SWA-UK-PREM".into()],
            },
        },
        business: Business::default(),
    };
    let err = api
        .call(
            &seller,
            &call,
            &Deadline::after(std::time::Duration::from_secs(30)),
        )
        .await
        .unwrap_err();
    assert_eq!(
        flaky.calls.load(Ordering::SeqCst),
        1,
        "one call, no blind retry"
    );
    match err {
        SpApiError::Amazon { status, code, .. } => {
            assert_eq!((status, code.as_str()), (503, "ServiceUnavailable"))
        }
        other => panic!("{other}"),
    }
}
