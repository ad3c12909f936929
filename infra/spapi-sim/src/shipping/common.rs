//! What every Shipping v2 route does alike: the operation call, the
//! `x-amzn-shipping-business-id` check, body and field errors.

use axum::extract::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use domain::Operation;
use serde_json::Value;

use crate::faults::OpCall;
use crate::http::error_list;
use crate::search::invalid_input;
use crate::state::Inner;

pub(super) const BUSINESS_IDS: [&str; 10] = [
    "AmazonShipping_US",
    "AmazonShipping_IN",
    "AmazonShipping_UK",
    "AmazonShipping_UAE",
    "AmazonShipping_SA",
    "AmazonShipping_EG",
    "AmazonShipping_IT",
    "AmazonShipping_ES",
    "AmazonShipping_FR",
    "AmazonShipping_JP",
];

pub(crate) fn call(op: Operation) -> OpCall {
    OpCall {
        op,
        has_page_token: false,
    }
}

pub(crate) fn not_found(message: &str) -> (StatusCode, Value) {
    (StatusCode::NOT_FOUND, error_list("NotFound", message, ""))
}

pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Checks and remembers `x-amzn-shipping-business-id`.
pub(crate) fn business(
    inner: &mut Inner,
    seller: &str,
    value: Option<&str>,
) -> Result<(), (StatusCode, Value)> {
    if let Some(v) = value {
        if !BUSINESS_IDS.contains(&v) {
            return Err(invalid_input(format!(
                "Invalid x-amzn-shipping-business-id '{v}'."
            )));
        }
        inner
            .shipping
            .business_ids
            .insert(seller.to_string(), v.to_string());
    }
    Ok(())
}

pub(crate) fn body_of(
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Value, (StatusCode, Value)> {
    body.map(|Json(v)| v).map_err(|_| {
        invalid_input("Request is missing or has invalid parameters: the body is not valid JSON.")
    })
}

pub(crate) fn missing(field: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        error_list(
            "InvalidRequest",
            "Request is missing or has invalid parameters",
            &format!("{field} cannot be null"),
        ),
    )
}

pub(super) fn cents_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

pub(crate) fn address_ok(a: &Value) -> bool {
    [
        "name",
        "addressLine1",
        "city",
        "stateOrRegion",
        "postalCode",
        "countryCode",
    ]
    .iter()
    .all(|f| a[*f].as_str().is_some_and(|s| !s.is_empty()))
}
