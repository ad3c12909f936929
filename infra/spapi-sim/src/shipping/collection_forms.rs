//! Amazon Shipping v2 collection forms in the simulator (end of day at the
//! warehouse), with state:
//!
//! - **getUnmanifestedShipments** lists, per carrier, the ship-from
//!   addresses that have bought, uncancelled parcels not yet on a form, with
//!   the last time a form was made there.
//! - **generateCollectionForm** puts every such parcel of one carrier (at
//!   one ship-from address, or all of the carrier's when none is given) on a
//!   new form and answers it as a base64 PDF. With `x-amzn-IdempotencyKey`
//!   the same key and body answer the same form again; another body under
//!   the key is refused. Nothing to manifest is a 400. A parcel on a form can
//!   no longer be cancelled (see `shipping`).
//! - **getCollectionFormHistory** lists the forms, newest first, filtered by
//!   carrier, ship-from address and date range, at most `maxResults`.
//! - **getCollectionForm** reprints a form by id.
//!
//! Answers are not wrapped in `payload` (the model's shapes). Every call
//! checks `x-amzn-shipping-business-id` like the other Shipping routes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::Operation;
use serde::Serialize;
use serde_json::{Value, json};

use super::common::{address_ok, body_of, business, call, header, missing, not_found};
use super::label_files::pdf_with;
use super::types::Form;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::{Inner, Shared, iso};

/// A form as control shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CollectionFormView {
    pub collection_form_id: String,
    pub carrier_id: String,
    pub ship_from_postal_code: String,
    pub shipment_ids: Vec<String>,
    pub tracking_ids: Vec<String>,
}

/// Two addresses are the same place: first line, postal code and country,
/// compared without case or surrounding spaces.
pub fn same_place(a: &Value, b: &Value) -> bool {
    let key = |v: &Value| {
        ["addressLine1", "postalCode", "countryCode"]
            .iter()
            .map(|f| {
                v[*f]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .collect::<Vec<_>>()
    };
    key(a) == key(b)
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/shipping/v2/collectionForms", post(generate_route))
        .route("/shipping/v2/collectionForms/history", put(history_route))
        .route(
            "/shipping/v2/collectionForms/{collection_form_id}",
            get(reprint_route),
        )
        .route(
            "/shipping/v2/unmanifestedShipments",
            put(unmanifested_route),
        )
}

fn form_pdf(id: &str, form: &Form) -> String {
    let mut lines = vec![
        format!("Collection form {id}"),
        format!("Carrier {} ({})", form.carrier_name, form.carrier_id),
        format!(
            "Collected from postal code {}",
            form.ship_from["postalCode"].as_str().unwrap_or("")
        ),
        format!("Parcels: {}", form.tracking_ids.len()),
    ];
    lines.extend(form.tracking_ids.iter().cloned());
    base64::engine::general_purpose::STANDARD.encode(pdf_with(&lines, 0))
}

fn document(id: &str, form: &Form) -> Value {
    json!({ "collectionsFormDocument": {
        "base64EncodedContent": form_pdf(id, form),
        "documentFormat": "PDF",
    }})
}

/// The seller's uncancelled parcels not on a form, as (shipment id, carrier
/// id, carrier name, ship-from).
fn unmanifested(inner: &Inner, seller: &str) -> Vec<(String, String, String, Value)> {
    inner
        .shipping
        .shipments
        .iter()
        .filter(|(_, s)| s.seller == seller && !s.cancelled() && s.manifest.is_none())
        .map(|(id, s)| {
            let (carrier_id, carrier_name) = s.carrier();
            (
                id.clone(),
                carrier_id.to_string(),
                carrier_name.to_string(),
                s.ship_from.clone(),
            )
        })
        .collect()
}

fn last_form_at(
    inner: &Inner,
    seller: &str,
    carrier: &str,
    place: &Value,
) -> Option<DateTime<Utc>> {
    inner
        .shipping
        .forms
        .forms
        .values()
        .filter(|f| {
            f.seller == seller && f.carrier_id == carrier && same_place(&f.ship_from, place)
        })
        .map(|f| f.created)
        .max()
}

async fn unmanifested_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::GetUnmanifestedShipments),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            body_of(body)?;
            // carrier id → (name, places)
            let mut by_carrier: BTreeMap<String, (String, Vec<Value>)> = BTreeMap::new();
            for (_, carrier_id, carrier_name, place) in unmanifested(inner, seller) {
                let entry = by_carrier
                    .entry(carrier_id)
                    .or_insert_with(|| (carrier_name, Vec::new()));
                if !entry.1.iter().any(|p| same_place(p, &place)) {
                    entry.1.push(place);
                }
            }
            let list: Vec<Value> = by_carrier
                .into_iter()
                .map(|(carrier_id, (carrier_name, places))| {
                    let locations: Vec<Value> = places
                        .into_iter()
                        .map(|p| {
                            let mut location = json!({ "address": p });
                            if let Some(at) = last_form_at(inner, seller, &carrier_id, &p) {
                                location["lastManifestDate"] = json!(iso(at));
                            }
                            location
                        })
                        .collect();
                    json!({
                        "carrierId": carrier_id,
                        "carrierName": carrier_name,
                        "unmanifestedShipmentLocationList": locations,
                    })
                })
                .collect();
            Ok(json!({ "unmanifestedCarrierInformationList": list }))
        },
    )
    .await
}

async fn generate_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let key = header(&headers, "x-amzn-IdempotencyKey");
    pipeline(
        &shared,
        call(Operation::GenerateCollectionForm),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            if let Some(key) = &key
                && let Some((seen, answer)) = inner
                    .shipping
                    .forms
                    .idempotency
                    .get(&(seller.to_string(), key.clone()))
            {
                if *seen != body {
                    return Err(invalid_input(
                        "The x-amzn-IdempotencyKey was already used for a different request.",
                    ));
                }
                return Ok(answer.clone());
            }
            let carrier = body["carrierId"]
                .as_str()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| missing("carrierId"))?
                .to_string();
            let place = body.get("shipFromAddress").filter(|v| !v.is_null());
            if let Some(p) = place
                && !address_ok(p)
            {
                return Err(invalid_input(
                    "shipFromAddress is missing a required address field.",
                ));
            }
            let parcels: Vec<(String, Value)> = unmanifested(inner, seller)
                .into_iter()
                .filter(|(_, c, _, from)| *c == carrier && place.is_none_or(|p| same_place(p, from)))
                .map(|(id, _, _, from)| (id, from))
                .collect();
            let Some((_, first_place)) = parcels.first().cloned() else {
                return Err((
                    StatusCode::BAD_REQUEST,
                    crate::http::error_list(
                        "InvalidInput",
                        &format!(
                            "There are no unmanifested shipments of carrier {carrier} at this ship-from address."
                        ),
                        "",
                    ),
                ));
            };
            let now = inner.now();
            let id = format!("CF{:010}", inner.shipping.next_id());
            let mut tracking_ids = Vec::new();
            let mut carrier_name = carrier.clone();
            for (shipment_id, _) in &parcels {
                if let Some(s) = inner.shipping.shipments.get_mut(shipment_id) {
                    s.manifest = Some(id.clone());
                    tracking_ids.extend(s.tracking_ids());
                    carrier_name = s.carrier().1.to_string();
                }
            }
            let form = Form {
                seller: seller.to_string(),
                carrier_id: carrier,
                carrier_name,
                ship_from: place.cloned().unwrap_or(first_place),
                created: now,
                shipments: parcels.into_iter().map(|(id, _)| id).collect(),
                tracking_ids,
            };
            let answer = document(&id, &form);
            inner.shipping.forms.forms.insert(id, form);
            *inner
                .shipping
                .forms
                .generated
                .entry(seller.to_string())
                .or_default() += 1;
            if let Some(key) = key {
                inner
                    .shipping
                    .forms
                    .idempotency
                    .insert((seller.to_string(), key), (body, answer.clone()));
            }
            Ok(answer)
        },
    )
    .await
}

async fn history_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::GetCollectionFormHistory),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            let time = |v: &Value| -> Result<Option<DateTime<Utc>>, (StatusCode, Value)> {
                match v.as_str() {
                    None => Ok(None),
                    Some(t) => DateTime::parse_from_rfc3339(t)
                        .map(|t| Some(t.with_timezone(&Utc)))
                        .map_err(|_| invalid_input("dateRange dates must be ISO 8601 date-times.")),
                }
            };
            let start = time(&body["dateRange"]["startDate"])?;
            let end = time(&body["dateRange"]["endDate"])?;
            let carrier = body["carrierId"].as_str();
            let place = body.get("shipFromAddress").filter(|v| !v.is_null());
            let max = body["maxResults"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
            let mut forms: Vec<(&String, &Form)> = inner
                .shipping
                .forms
                .forms
                .iter()
                .filter(|(_, f)| f.seller == seller)
                .filter(|(_, f)| carrier.is_none_or(|c| f.carrier_id == c))
                .filter(|(_, f)| place.is_none_or(|p| same_place(p, &f.ship_from)))
                .filter(|(_, f)| start.is_none_or(|s| f.created >= s))
                .filter(|(_, f)| end.is_none_or(|e| f.created <= e))
                .collect();
            forms.sort_by(|a, b| b.1.created.cmp(&a.1.created).then(b.0.cmp(a.0)));
            let records: Vec<Value> = forms
                .into_iter()
                .take(max)
                .map(|(id, f)| {
                    json!({
                        "carrierName": f.carrier_name,
                        "creationDate": iso(f.created),
                        "generationStatus": "Completed",
                        "collectionFormId": id,
                        "shipFromAddress": f.ship_from,
                    })
                })
                .collect();
            Ok(json!({
                "collectionFormsHistoryRecordList": records,
                "lastRefreshedDate": iso(inner.now()),
            }))
        },
    )
    .await
}

async fn reprint_route(
    State(shared): State<Arc<Shared>>,
    Path(form_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::GetCollectionForm),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let form = inner
                .shipping
                .forms
                .forms
                .get(&form_id)
                .filter(|f| f.seller == seller)
                .ok_or_else(|| not_found("The collection form was not found."))?;
            Ok(document(&form_id, form))
        },
    )
    .await
}

impl crate::SimControl {
    /// The seller's collection forms, oldest first.
    pub fn collection_forms(&self, seller_id: &str) -> Vec<CollectionFormView> {
        self.with(|s| {
            s.shipping
                .forms
                .forms
                .iter()
                .filter(|(_, f)| f.seller == seller_id)
                .map(|(id, f)| CollectionFormView {
                    collection_form_id: id.clone(),
                    carrier_id: f.carrier_id.clone(),
                    ship_from_postal_code: f.ship_from["postalCode"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    shipment_ids: f.shipments.clone(),
                    tracking_ids: f.tracking_ids.clone(),
                })
                .collect()
        })
    }

    /// Forms really generated for the seller (replays of a key do not count).
    pub fn collection_forms_generated(&self, seller_id: &str) -> u64 {
        self.with(|s| {
            s.shipping
                .forms
                .generated
                .get(seller_id)
                .copied()
                .unwrap_or(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_compare_by_line_postal_code_and_country() {
        let a = json!({"name": "W1", "addressLine1": "1 Dock Road", "postalCode": "E16 2QU", "countryCode": "GB"});
        let b = json!({"name": "Warehouse", "addressLine1": " 1 dock road", "postalCode": "e16 2qu", "countryCode": "GB"});
        let c = json!({"name": "W1", "addressLine1": "2 Dock Road", "postalCode": "E16 2QU", "countryCode": "GB"});
        assert!(same_place(&a, &b));
        assert!(!same_place(&a, &c));
    }
}
