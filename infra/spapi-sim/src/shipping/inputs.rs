//! Amazon Shipping v2 `getAdditionalInputs` in the simulator: a rate with
//! `requiresAdditionalInputs` (UPS across a border: a customs declaration)
//! has a JSON schema the purchase's `additionalInputs` must follow. The
//! model says only that the payload *is* a JSON schema; its content here is
//! the simulator's own, shaped like a customs declaration (contents type,
//! per line a description, HS code, country of origin, quantity and unit
//! value). A rate that needs nothing answers an empty payload, as the
//! model's sandbox example does. The purchase of such a rate without its
//! inputs (or with inputs that break the schema) is refused with
//! `InvalidInput` naming the field: what the connector must avoid by
//! checking first.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use domain::Operation;
use serde_json::{Value, json};

use super::common::{business, call, header, missing};
use super::types::TOKEN_LIFETIME;
use crate::http::error_list;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::Shared;

/// Carriers that need a customs declaration for a cross-border parcel.
pub const CUSTOMS_CARRIERS: [&str; 1] = ["UPS"];

const CONTENTS_TYPES: [&str; 5] = ["SALE_OF_GOODS", "GIFT", "SAMPLE", "RETURN", "DOCUMENTS"];

/// The schema of the customs declaration.
pub fn customs_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Customs declaration",
        "type": "object",
        "required": ["customsDeclaration"],
        "properties": {
            "customsDeclaration": {
                "type": "object",
                "required": ["contentsType", "items"],
                "properties": {
                    "contentsType": { "type": "string", "enum": CONTENTS_TYPES },
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["description", "hsCode", "countryOfOrigin", "quantity", "unitValue"],
                            "properties": {
                                "description": { "type": "string", "minLength": 1, "maxLength": 100 },
                                "hsCode": { "type": "string", "pattern": "^[0-9]{6,10}$" },
                                "countryOfOrigin": { "type": "string", "pattern": "^[A-Z]{2}$" },
                                "quantity": { "type": "integer", "minimum": 1 },
                                "unitValue": {
                                    "type": "object",
                                    "required": ["value", "unit"],
                                    "properties": {
                                        "value": { "type": "number", "minimum": 0 },
                                        "unit": { "type": "string", "pattern": "^[A-Z]{3}$" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

fn refuse(field: &str, rule: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        error_list(
            "InvalidInput",
            "The additionalInputs do not match the schema of getAdditionalInputs.",
            &format!("{field} {rule}"),
        ),
    )
}

/// Checks `additionalInputs` against [`customs_schema`] (by hand: the
/// simulator carries no JSON Schema engine).
pub fn check(inputs: &Value) -> Result<(), (StatusCode, Value)> {
    if inputs.is_null() {
        return Err(refuse(
            "additionalInputs",
            "is required for this rate: call getAdditionalInputs",
        ));
    }
    let declaration = &inputs["customsDeclaration"];
    if !declaration.is_object() {
        return Err(refuse("additionalInputs.customsDeclaration", "is required"));
    }
    if !declaration["contentsType"]
        .as_str()
        .is_some_and(|t| CONTENTS_TYPES.contains(&t))
    {
        return Err(refuse(
            "customsDeclaration.contentsType",
            "must be one of SALE_OF_GOODS, GIFT, SAMPLE, RETURN, DOCUMENTS",
        ));
    }
    let items = declaration["items"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| refuse("customsDeclaration.items", "needs at least one item"))?;
    for (n, item) in items.iter().enumerate() {
        let at = |f: &str| format!("customsDeclaration.items[{n}].{f}");
        if !item["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty() && d.len() <= 100)
        {
            return Err(refuse(&at("description"), "is required (1-100 characters)"));
        }
        if !item["hsCode"]
            .as_str()
            .is_some_and(|c| (6..=10).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(refuse(&at("hsCode"), "must be 6 to 10 digits"));
        }
        if !item["countryOfOrigin"]
            .as_str()
            .is_some_and(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(refuse(&at("countryOfOrigin"), "must be a country code"));
        }
        if item["quantity"].as_u64().is_none_or(|q| q < 1) {
            return Err(refuse(&at("quantity"), "must be at least 1"));
        }
        let value = &item["unitValue"];
        if value["value"].as_f64().is_none_or(|v| v < 0.0)
            || value["unit"].as_str().is_none_or(|u| u.len() != 3)
        {
            return Err(refuse(&at("unitValue"), "needs a value and a currency"));
        }
    }
    Ok(())
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/shipping/v2/shipments/additionalInputs/schema",
        get(additional_inputs_route),
    )
}

async fn additional_inputs_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let speed = shared.speed;
    pipeline(
        &shared,
        call(Operation::GetAdditionalInputs),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let token = query
                .get("requestToken")
                .ok_or_else(|| missing("requestToken"))?;
            let rate_id = query.get("rateId").ok_or_else(|| missing("rateId"))?;
            let request = inner
                .shipping
                .rate_requests
                .get(token)
                .filter(|r| r.seller == seller)
                .ok_or_else(|| invalid_input("The requestToken is invalid."))?;
            if inner.sim_elapsed(request.issued, speed) > TOKEN_LIFETIME {
                return Err((
                    StatusCode::BAD_REQUEST,
                    error_list(
                        "TOKEN_EXPIRED",
                        "The requestToken has expired.",
                        "Rates expire 10 minutes after getRates: call getRates again.",
                    ),
                ));
            }
            let rate = request
                .rates
                .iter()
                .find(|r| &r.rate_id == rate_id)
                .ok_or_else(|| {
                    invalid_input(format!(
                        "The rateId {rate_id} is not one of the rates of this requestToken."
                    ))
                })?;
            let payload = if rate.requires_inputs {
                customs_schema()
            } else {
                json!({})
            };
            Ok(json!({ "payload": payload }))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declaration() -> Value {
        json!({"customsDeclaration": {"contentsType": "SALE_OF_GOODS", "items": [
            {"description": "Mug", "hsCode": "691200", "countryOfOrigin": "GB", "quantity": 2,
             "unitValue": {"value": 9.95, "unit": "GBP"}}
        ]}})
    }

    #[test]
    fn a_declaration_that_follows_the_schema_passes_and_a_gap_is_named() {
        assert!(check(&declaration()).is_ok());
        assert!(check(&Value::Null).is_err());
        let mut bad = declaration();
        bad["customsDeclaration"]["items"][0]["hsCode"] = json!("69");
        let (_, body) = check(&bad).unwrap_err();
        assert!(body.to_string().contains("items[0].hsCode"), "{body}");
        let schema = customs_schema();
        assert_eq!(schema["required"], json!(["customsDeclaration"]));
    }
}
