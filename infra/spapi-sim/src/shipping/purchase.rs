//! **purchaseShipment**: buys one of a rate token's rates, idempotently under
//! `x-amzn-IdempotencyKey`, marking an Amazon order's items shipped.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::Operation;
use serde_json::{Value, json};

use super::common::{body_of, business, call, header, missing};
use super::label_files::package_detail;
use super::rates::window;
use super::types::{RateRequest, SERVICES, SimRate, SimShipment, TOKEN_LIFETIME};
use crate::http::{error_list, server_error};
use crate::marketplaces::marketplace;
use crate::orders::{Included, ShipItem, ShipSpec};
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::{Inner, Shared};

/// Checks the requested document specification against the rate's.
pub(super) fn document_format(spec: &Value, rate: &SimRate) -> Result<String, (StatusCode, Value)> {
    if spec.is_null() {
        return Err(missing("requestedDocumentSpecification"));
    }
    let format = spec["format"]
        .as_str()
        .ok_or_else(|| missing("requestedDocumentSpecification.format"))?;
    for f in ["size", "needFileJoining", "requestedDocumentTypes"] {
        if spec[f].is_null() {
            return Err(missing(&format!("requestedDocumentSpecification.{f}")));
        }
    }
    if !SERVICES[rate.service].formats.contains(&format) {
        return Err(invalid_input(format!(
            "The requested document format {format} is not supported by the rate {}.",
            rate.rate_id
        )));
    }
    if let Some(dpi) = spec["dpi"].as_u64()
        && ![203, 300].contains(&dpi)
    {
        return Err(invalid_input(format!("Unsupported dpi {dpi}.")));
    }
    Ok(format.to_string())
}

/// Buys `rate` of `request`: the shipment, its labels, the order marked shipped.
pub(super) fn buy(
    inner: &mut Inner,
    request: &RateRequest,
    rate: SimRate,
    format: String,
) -> Result<(String, Value), (StatusCode, Value)> {
    let now = inner.now();
    let id = inner.shipping.next_id();
    let shipment_id = format!("{}{:010}", 4_000 + id % 1000, id);
    let carrier = SERVICES[rate.service].carrier_id;
    let packages: Vec<(String, String)> = request
        .packages
        .iter()
        .enumerate()
        .map(|(n, p)| {
            (
                p.reference_id.clone(),
                format!("{carrier}{id:09}{:02}", n + 1),
            )
        })
        .collect();
    if let Some(order_id) = &request.amazon_order {
        ship_amazon_order(
            inner,
            &request.seller,
            order_id,
            request,
            &packages,
            &rate,
            now,
        )?;
    }
    let purchased = inner.stamp();
    let shipment = SimShipment {
        seller: request.seller.clone(),
        rate,
        currency: request.currency.clone(),
        packages,
        format,
        purchased_at: now,
        purchased,
        cancelled: None,
        amazon_order: request.amazon_order.clone(),
        postal_code: request.postal_code.clone(),
        country_code: request.country_code.clone(),
        ship_from: request.ship_from.clone(),
        serials: request
            .packages
            .iter()
            .flat_map(|p| p.serials.iter().cloned())
            .collect(),
        manifest: None,
    };
    *inner
        .shipping
        .purchases
        .entry(request.seller.clone())
        .or_default() += 1;
    let padding = inner.shipping.label_padding;
    let details: Vec<Value> = shipment
        .packages
        .iter()
        .map(|(reference, tracking)| {
            package_detail(reference, tracking, &shipment.format, None, padding)
        })
        .collect();
    let promise = json!({
        "pickupWindow": window(shipment.rate.pickup),
        "deliveryWindow": window(shipment.rate.delivery),
    });
    let answer = json!({
        "shipmentId": shipment_id,
        "packageDocumentDetails": details,
        "promise": promise,
        "benefits": { "includedBenefits": ["CLAIMS_PROTECTED"], "excludedBenefits": [] },
    });
    inner
        .shipping
        .shipments
        .insert(shipment_id.clone(), shipment);
    Ok((shipment_id, answer))
}

/// An Amazon-channel purchase ships the package's items (all open items
/// when the package names none) with the label's carrier and tracking id.
pub(super) fn ship_amazon_order(
    inner: &mut Inner,
    seller: &str,
    order_id: &str,
    request: &RateRequest,
    packages: &[(String, String)],
    rate: &SimRate,
    now: DateTime<Utc>,
) -> Result<(), (StatusCode, Value)> {
    let order = inner
        .seller_mut(seller)
        .map_err(|_| invalid_input("Unknown seller."))?
        .orders
        .get_mut(order_id)
        .ok_or_else(|| invalid_input(format!("Order {order_id} was not found for this seller.")))?;
    let json = order.to_json(Included::all(), true, marketplace(&order.marketplace_id));
    let sku_of = |item_id: &str| -> Option<String> {
        json["orderItems"]
            .as_array()?
            .iter()
            .find(|i| i["orderItemId"] == item_id)?["product"]["sellerSku"]
            .as_str()
            .map(str::to_string)
    };
    let service = &SERVICES[rate.service];
    // Check every package first, so a refused purchase changes nothing.
    let mut specs = Vec::new();
    for (p, (_, tracking)) in request.packages.iter().zip(packages) {
        let mut items = Vec::new();
        for (item_id, quantity) in &p.items {
            let sku = sku_of(item_id).ok_or_else(|| {
                invalid_input(format!(
                    "itemIdentifier {item_id} is not an item of the order."
                ))
            })?;
            items.push(ShipItem {
                sku,
                quantity: *quantity,
            });
        }
        specs.push(ShipSpec {
            items,
            carrier: Some(service.carrier_name.to_string()),
            tracking_number: Some(tracking.clone()),
            shipping_service: Some(service.service_name.to_string()),
        });
    }
    let mut trial = order.clone();
    for spec in &specs {
        trial.ship(spec, now).map_err(|e| {
            invalid_input(format!("Order {order_id} cannot ship this package: {e}"))
        })?;
    }
    *order = trial;
    Ok(())
}

pub(super) async fn purchase_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let key = header(&headers, "x-amzn-IdempotencyKey");
    let speed = shared.speed;
    pipeline(
        &shared,
        call(Operation::PurchaseShipment),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            if let Some(key) = &key
                && let Some((seen, answer)) = inner
                    .shipping
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
            let token = body["requestToken"]
                .as_str()
                .ok_or_else(|| missing("RequestToken"))?
                .to_string();
            let rate_id = body["rateId"]
                .as_str()
                .ok_or_else(|| missing("RateId"))?
                .to_string();
            let request = inner
                .shipping
                .rate_requests
                .get(&token)
                .filter(|r| r.seller == seller)
                .cloned()
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
                .find(|r| r.rate_id == rate_id)
                .cloned()
                .ok_or_else(|| {
                    invalid_input(format!(
                        "The rateId {rate_id} is not one of the rates of this requestToken."
                    ))
                })?;
            let format = document_format(&body["requestedDocumentSpecification"], &rate)?;
            if rate.requires_inputs {
                super::inputs::check(&body["additionalInputs"])?;
            }
            let (_, result) = buy(inner, &request, rate, format)?;
            let answer = json!({ "payload": result });
            if let Some(key) = key {
                inner
                    .shipping
                    .idempotency
                    .insert((seller.to_string(), key), (body, answer.clone()));
            }
            lost_answer(inner, seller)?;
            Ok(answer)
        },
    )
    .await
}

/// The purchase happened; answer 503 if control asked to lose the answer.
pub(super) fn lost_answer(inner: &mut Inner, seller: &str) -> Result<(), (StatusCode, Value)> {
    if let Some(n) = inner.shipping.lost_answers.get_mut(seller)
        && *n > 0
    {
        *n -= 1;
        return Err((StatusCode::SERVICE_UNAVAILABLE, server_error(503)));
    }
    Ok(())
}
