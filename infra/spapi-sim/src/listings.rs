//! Listings Items v2021-08-01 in the simulator: per-seller listings with
//! their attributes (the stock quantity is the `fulfillment_availability`
//! attribute), JSON Patch applied the way Amazon describes it (top-level
//! attributes only; `add`/`replace` set the value, `merge` merges entries by
//! `fulfillment_channel_code`, `delete` removes), and the routes
//! `patchListingsItem` / `getListingsItem`. `JSON_LISTINGS_FEED` messages
//! (in `feeds`) go through the same [`apply_patches`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Json, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::Operation;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::faults::OpCall;
use crate::http::error_list;
use crate::search::invalid_input;
use crate::spapi::pipeline;
use crate::state::{Inner, Shared, iso};

/// Issue codes the simulator uses (Amazon's are numeric and undocumented;
/// these are stable so tests can match them).
pub const SKU_NOT_FOUND: &str = "4000001";
pub const INVALID_VALUE: &str = "4000002";
pub const UNSUPPORTED_PATCH: &str = "4000003";

/// A listing as control seeds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingSpec {
    pub sku: String,
    /// `DEFAULT` (MFN) quantity; `None` = no fulfillment_availability yet.
    #[serde(default)]
    pub quantity: Option<u32>,
    #[serde(default = "default_product_type")]
    pub product_type: String,
    #[serde(default)]
    pub asin: Option<String>,
}

fn default_product_type() -> String {
    "PRODUCT".to_string()
}

impl ListingSpec {
    pub fn new(sku: &str, quantity: u32) -> Self {
        Self {
            sku: sku.to_string(),
            quantity: Some(quantity),
            product_type: default_product_type(),
            asin: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Listing {
    pub product_type: String,
    pub asin: String,
    pub attributes: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// How many patches were applied (tests count writes).
    pub patches_applied: u64,
    /// Every patch of this listing is refused with this issue (code,
    /// message): a listing Amazon will not take a quantity for.
    pub refusal: Option<(String, String)>,
    /// `fulfillment_availability` as last set for each marketplace a patch
    /// or feed named; a marketplace never named keeps the seeded value.
    pub by_marketplace: BTreeMap<String, Value>,
    seeded_availability: Option<Value>,
}

impl Listing {
    pub fn from_spec(spec: &ListingSpec, now: DateTime<Utc>) -> Self {
        let mut attributes = Map::new();
        if let Some(q) = spec.quantity {
            attributes.insert(
                "fulfillment_availability".into(),
                json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": q }]),
            );
        }
        let asin = spec
            .asin
            .clone()
            .unwrap_or_else(|| format!("B0{}", crate::state::random_token(8).to_ascii_uppercase()));
        Self {
            product_type: spec.product_type.clone(),
            asin,
            seeded_availability: attributes.get("fulfillment_availability").cloned(),
            attributes,
            created: now,
            updated: now,
            patches_applied: 0,
            refusal: None,
            by_marketplace: BTreeMap::new(),
        }
    }

    /// The quantity offered on `channel` in `marketplace`.
    pub fn quantity_in(&self, marketplace: &str, channel: &str) -> Option<u32> {
        let availability = self
            .by_marketplace
            .get(marketplace)
            .or(self.seeded_availability.as_ref())?;
        availability
            .as_array()?
            .iter()
            .find(|e| e["fulfillment_channel_code"] == channel)
            .and_then(|e| e["quantity"].as_u64())
            .and_then(|q| u32::try_from(q).ok())
    }

    /// The quantity offered on `channel`.
    pub fn quantity(&self, channel: &str) -> Option<u32> {
        self.attributes
            .get("fulfillment_availability")?
            .as_array()?
            .iter()
            .find(|e| e["fulfillment_channel_code"] == channel)
            .and_then(|e| e["quantity"].as_u64())
            .and_then(|q| u32::try_from(q).ok())
    }

    fn fulfillment_availability(&self) -> Vec<Value> {
        self.attributes
            .get("fulfillment_availability")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let mut out =
                            json!({ "fulfillmentChannelCode": e["fulfillment_channel_code"] });
                        if let Some(q) = e["quantity"].as_u64() {
                            out["quantity"] = json!(q);
                        }
                        out
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Listings per seller: seller id → SKU → listing.
#[derive(Debug, Default)]
pub struct Listings {
    pub by_seller: BTreeMap<String, BTreeMap<String, Listing>>,
}

/// One problem with a patch, as Amazon reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchIssue {
    pub code: String,
    pub message: String,
    pub attribute: Option<String>,
}

/// Validates all patches first, then applies them all (or none), in each of
/// `markets` (the request's `marketplaceIds`).
pub fn apply_patches(
    listings: &mut Listings,
    seller: &str,
    sku: &str,
    patches: &Value,
    markets: &[String],
    now: DateTime<Utc>,
    apply: bool,
) -> Vec<PatchIssue> {
    let Some(listing) = listings
        .by_seller
        .get_mut(seller)
        .and_then(|l| l.get_mut(sku))
    else {
        return vec![PatchIssue {
            code: SKU_NOT_FOUND.to_string(),
            message: format!(
                "The SKU '{sku}' is not listed for this selling partner; a PATCH needs an existing listing."
            ),
            attribute: None,
        }];
    };
    if let Some((code, message)) = &listing.refusal {
        return vec![PatchIssue {
            code: code.clone(),
            message: message.clone(),
            attribute: Some("fulfillment_availability".into()),
        }];
    }
    let Some(patches) = patches.as_array().filter(|p| !p.is_empty()) else {
        return vec![PatchIssue {
            code: INVALID_VALUE.to_string(),
            message: "'patches' must be a non-empty array.".into(),
            attribute: None,
        }];
    };
    let mut issues = Vec::new();
    let mut steps = Vec::new();
    for p in patches {
        match check_patch(p) {
            Ok(step) => steps.push(step),
            Err(issue) => issues.push(issue),
        }
    }
    if issues.is_empty() && apply {
        for (op, name, value) in steps {
            apply_one(&mut listing.attributes, op, &name, value);
            listing.patches_applied += 1;
        }
        if let Some(availability) = listing.attributes.get("fulfillment_availability") {
            for m in markets {
                listing
                    .by_marketplace
                    .insert(m.clone(), availability.clone());
            }
        }
        listing.updated = now;
    }
    issues
}

type Step = (String, String, Option<Vec<Value>>);

fn check_patch(p: &Value) -> Result<Step, PatchIssue> {
    let op = p["op"].as_str().unwrap_or_default();
    if !matches!(op, "add" | "replace" | "merge" | "delete") {
        return Err(PatchIssue {
            code: UNSUPPORTED_PATCH.to_string(),
            message: format!(
                "Patch operation '{op}' is not supported; use add, replace, merge or delete."
            ),
            attribute: None,
        });
    }
    let path = p["path"].as_str().unwrap_or_default();
    let name = path
        .strip_prefix("/attributes/")
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| PatchIssue {
            code: UNSUPPORTED_PATCH.to_string(),
            message: format!("Path '{path}' is not a top-level attribute (/attributes/<name>)."),
            attribute: None,
        })?
        .to_string();
    let value = match p.get("value") {
        None | Some(Value::Null) if op == "delete" => None,
        Some(Value::Array(v)) => Some(v.clone()),
        _ => {
            return Err(PatchIssue {
                code: INVALID_VALUE.to_string(),
                message: format!("The value of '{name}' must be an array."),
                attribute: Some(name),
            });
        }
    };
    if name == "fulfillment_availability"
        && let Some(values) = &value
    {
        for v in values {
            if !v["fulfillment_channel_code"].is_string() {
                return Err(PatchIssue {
                    code: INVALID_VALUE.to_string(),
                    message: "'fulfillment_channel_code' is required but not supplied.".into(),
                    attribute: Some(name),
                });
            }
            if let Some(q) = v.get("quantity")
                && q.as_u64().is_none_or(|q| q > i32::MAX as u64)
            {
                return Err(PatchIssue {
                    code: INVALID_VALUE.to_string(),
                    message: format!(
                        "The value '{q}' for 'quantity' is not a whole number of 0 or more."
                    ),
                    attribute: Some(name),
                });
            }
        }
    }
    Ok((op.to_string(), name, value))
}

fn apply_one(attrs: &mut Map<String, Value>, op: String, name: &str, value: Option<Vec<Value>>) {
    match (op.as_str(), value) {
        ("delete", _) => {
            attrs.remove(name);
        }
        ("merge", Some(values)) if name == "fulfillment_availability" => {
            let mut current = attrs
                .get(name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for v in values {
                let channel = v["fulfillment_channel_code"].clone();
                match current
                    .iter_mut()
                    .find(|e| e["fulfillment_channel_code"] == channel)
                {
                    Some(existing) => {
                        if let (Some(e), Some(n)) = (existing.as_object_mut(), v.as_object()) {
                            for (k, x) in n {
                                e.insert(k.clone(), x.clone());
                            }
                        }
                    }
                    None => current.push(v),
                }
            }
            attrs.insert(name.to_string(), Value::Array(current));
        }
        (_, Some(values)) => {
            attrs.insert(name.to_string(), Value::Array(values));
        }
        (_, None) => {}
    }
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/listings/2021-08-01/items/{seller_id}/{sku}",
        get(get_route).patch(patch_route),
    )
}

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The checks both operations share: the path's seller is the caller, and
/// `marketplaceIds` names marketplaces the seller sells in.
fn check_call(
    inner: &Inner,
    caller: &str,
    path_seller: &str,
    pairs: &[(String, String)],
) -> Result<(), (StatusCode, Value)> {
    if caller != path_seller {
        return Err((
            StatusCode::FORBIDDEN,
            error_list(
                "Unauthorized",
                "Access to requested resource is denied.",
                "The sellerId in the path is not the selling partner of the access token.",
            ),
        ));
    }
    let markets = param(pairs, "marketplaceIds")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid_input("Missing required 'marketplaceIds'."))?;
    let seller = inner
        .seller(caller)
        .map_err(|_| invalid_input("Unknown seller."))?;
    for m in markets.split(',') {
        if !seller.marketplace_ids.iter().any(|x| x == m) {
            return Err(invalid_input(format!(
                "Marketplace '{m}' is not one the selling partner participates in."
            )));
        }
    }
    Ok(())
}

async fn patch_route(
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

async fn get_route(
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
        crate::feeds::settle(inner, speed);
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
                                    "status": if listing.quantity("DEFAULT").unwrap_or(0) > 0 { json!(["BUYABLE", "DISCOVERABLE"]) } else { json!(["DISCOVERABLE"]) },
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
                    item["fulfillmentAvailability"] = Value::Array(listing.fulfillment_availability())
                }
                "productTypes" => {
                    item["productTypes"] = Value::Array(
                        markets
                            .iter()
                            .map(|m| json!({"marketplaceId": m, "productType": listing.product_type}))
                            .collect(),
                    )
                }
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
