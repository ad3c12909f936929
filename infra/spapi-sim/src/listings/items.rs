//! **patchListingsItem** and **getListingsItem**.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::Operation;
use serde_json::{Value, json};

use super::common::{Pairs, check_call, param};
use super::patch::apply_patches;
use crate::clock::iso;
use crate::faults::OpCall;
use crate::http::error_list;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::Shared;

pub(crate) async fn patch_route(
    State(shared): State<Arc<Shared>>,
    Path((seller_id, sku)): Path<(String, String)>,
    headers: HeaderMap,
    pairs: Pairs,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let call = OpCall {
        op: Operation::PatchListingsItem,
        has_page_token: false,
    };
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        let Query(pairs) = pairs.map_err(|_| invalid_input("The query string is malformed."))?;
        check_call(inner, seller, &seller_id, &pairs)?;
        let Json(body) = body.map_err(|_| invalid_input("The request body is not valid JSON."))?;
        if !body["productType"].is_string() {
            return Err(invalid_input("Missing required 'productType'."));
        }
        let preview = param(&pairs, "mode") == Some("VALIDATION_PREVIEW");
        let now = inner.now();
        let markets: Vec<String> = param(&pairs, "marketplaceIds")
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect();
        let issues = apply_patches(
            &mut inner.feeds.listings,
            seller,
            &sku,
            &body["patches"],
            &markets,
            now,
            !preview,
        );
        let status = match (issues.is_empty(), preview) {
            (false, _) => "INVALID",
            (true, true) => "VALID",
            (true, false) => "ACCEPTED",
        };
        let issues: Vec<Value> = issues
            .into_iter()
            .map(|i| {
                let mut v = json!({"code": i.code, "message": i.message, "severity": "ERROR"});
                if let Some(a) = i.attribute {
                    v["attributeNames"] = json!([a]);
                }
                v
            })
            .collect();
        Ok(json!({
            "sku": sku,
            "status": status,
            "submissionId": uuid::Uuid::new_v4().simple().to_string(),
            "issues": issues,
        }))
    })
    .await
}

pub(crate) async fn get_route(
    State(shared): State<Arc<Shared>>,
    Path((seller_id, sku)): Path<(String, String)>,
    headers: HeaderMap,
    pairs: Pairs,
) -> Response {
    let call = OpCall {
        op: Operation::GetListingsItem,
        has_page_token: false,
    };
    let speed = shared.speed;
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        let Query(pairs) = pairs.map_err(|_| invalid_input("The query string is malformed."))?;
        check_call(inner, seller, &seller_id, &pairs)?;
        // Feeds that finished by now have been applied.
        crate::feeds::settle::settle(inner, speed);
        let markets: Vec<String> = param(&pairs, "marketplaceIds")
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect();
        let included: Vec<&str> = param(&pairs, "includedData")
            .map(|v| v.split(',').collect())
            .unwrap_or_else(|| vec!["summaries"]);
        let listing = inner
            .feeds
            .listings
            .by_seller
            .get(seller)
            .and_then(|l| l.get(&sku))
            .ok_or_else(|| {
                (
                    StatusCode::NOT_FOUND,
                    error_list(
                        "NOT_FOUND",
                        &format!("SKU '{sku}' not found in marketplace {}", markets.join(",")),
                        "",
                    ),
                )
            })?;
        let mut item = json!({ "sku": sku });
        for part in included {
            match part {
                "summaries" => {
                    item["summaries"] = Value::Array(
                        markets
                            .iter()
                            .map(|m| {
                                json!({
                                    "marketplaceId": m,
                                    "asin": listing.asin,
                                    "productType": listing.product_type,
                                    "conditionType": "new_new",
                                    "status": listing.status(),
                                    "itemName": format!("Simulated item {sku}"),
                                    "createdDate": iso(listing.created),
                                    "lastUpdatedDate": iso(listing.updated),
                                })
                            })
                            .collect(),
                    )
                }
                "attributes" => item["attributes"] = Value::Object(listing.attributes.clone()),
                "issues" => item["issues"] = json!([]),
                "fulfillmentAvailability" => {
                    item["fulfillmentAvailability"] =
                        Value::Array(listing.fulfillment_availability())
                }
                "productTypes" => item["productTypes"] = Value::Array(
                    markets
                        .iter()
                        .map(|m| json!({"marketplaceId": m, "productType": listing.product_type}))
                        .collect(),
                ),
                "offers" | "procurement" | "relationships" => {}
                other => {
                    return Err(invalid_input(format!(
                        "'{other}' is not a valid includedData value."
                    )));
                }
            }
        }
        Ok(item)
    })
    .await
}
