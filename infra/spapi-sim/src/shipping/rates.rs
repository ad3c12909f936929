//! **getRates**: the shipment a rates (or one-click) body describes, and the
//! offers priced from its weight.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use domain::settings::OrderStatus;
use serde_json::{Value, json};

use super::common::{address_ok, body_of, business, call, cents_text, header, missing};
use super::types::{DHL_MAX_GRAMS, RateRequest, SERVICES, SimPackage, SimRate};
use crate::marketplaces::marketplace;
use crate::orders::{FulfilledBy, Included};
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::{Inner, Shared, iso};

/// A JSON number or decimal string as an integer count of thousandths.
pub(super) fn milli(v: &Value) -> Option<u64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int: u64 = int.parse().ok()?;
    let frac3: String = format!("{frac:0<3}").chars().take(3).collect();
    Some(int * 1000 + frac3.parse::<u64>().ok()?)
}

/// A package's weight in grams (rounded up).
pub(super) fn grams(weight: &Value) -> Result<u64, String> {
    let value = milli(&weight["value"]).ok_or("weight.value must be a non-negative number")?;
    let per_unit_milligrams: u64 = match weight["unit"].as_str() {
        Some("GRAM") => 1_000,
        Some("KILOGRAM") => 1_000_000,
        Some("OUNCE") => 28_350,
        Some("POUND") => 453_592,
        _ => return Err("weight.unit must be GRAM, KILOGRAM, OUNCE or POUND".into()),
    };
    // value is in thousandths of the unit.
    Ok((value * per_unit_milligrams).div_ceil(1_000_000))
}

/// The parts of a getRates / oneClickShipment body both share.
pub(super) struct Shipment {
    pub(super) amazon_order: Option<String>,
    pub(super) packages: Vec<SimPackage>,
    pub(super) total_grams: u64,
    pub(super) currency: String,
    pub(super) postal_code: Option<String>,
    pub(super) country_code: String,
    pub(super) ship_from: Value,
}

pub(super) fn parse_shipment(
    inner: &Inner,
    seller: &str,
    body: &Value,
) -> Result<Shipment, (StatusCode, Value)> {
    let ship_from = &body["shipFrom"];
    if ship_from.is_null() {
        return Err(missing("shipFrom"));
    }
    if !address_ok(ship_from) {
        return Err(invalid_input(
            "shipFrom is missing a required address field.",
        ));
    }
    let packages = body["packages"]
        .as_array()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| missing("packages"))?;
    let channel = &body["channelDetails"];
    let channel_type = channel["channelType"]
        .as_str()
        .ok_or_else(|| missing("channelDetails.channelType"))?;
    let seller_state = inner
        .seller(seller)
        .map_err(|_| invalid_input("Unknown seller."))?;
    let (amazon_order, currency, postal_code, country_code, open_items) = match channel_type {
        "AMAZON" => {
            let order_id = channel["amazonOrderDetails"]["orderId"]
                .as_str()
                .ok_or_else(|| missing("channelDetails.amazonOrderDetails.orderId"))?;
            let order = seller_state.orders.get(order_id).ok_or_else(|| {
                invalid_input(format!("Order {order_id} was not found for this seller."))
            })?;
            if order.fulfilled_by != FulfilledBy::Merchant
                || !matches!(
                    order.status,
                    OrderStatus::Unshipped | OrderStatus::PartiallyShipped
                )
            {
                return Err(invalid_input(format!(
                    "Order {order_id} is not eligible for shipping (it must be merchant fulfilled and unshipped)."
                )));
            }
            let market = marketplace(&order.marketplace_id);
            let json = order.to_json(Included::all(), true, market);
            let open: HashMap<String, u64> = json["orderItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    Some((
                        i["orderItemId"].as_str()?.to_string(),
                        i["fulfillment"]["quantityUnfulfilled"].as_u64()?,
                    ))
                })
                .collect();
            let address = &json["recipient"]["deliveryAddress"];
            (
                Some(order_id.to_string()),
                market.map_or("EUR", |m| m.currency).to_string(),
                address["postalCode"].as_str().map(str::to_string),
                address["countryCode"]
                    .as_str()
                    .or(market.map(|m| m.country_code))
                    .unwrap_or("DE")
                    .to_string(),
                Some(open),
            )
        }
        "EXTERNAL" => {
            let ship_to = &body["shipTo"];
            if ship_to.is_null() {
                return Err(missing("shipTo"));
            }
            if !address_ok(ship_to) {
                return Err(invalid_input("shipTo is missing a required address field."));
            }
            let currency = packages[0]["insuredValue"]["unit"]
                .as_str()
                .unwrap_or("EUR")
                .to_string();
            (
                None,
                currency,
                ship_to["postalCode"].as_str().map(str::to_string),
                ship_to["countryCode"].as_str().unwrap_or("DE").to_string(),
                None,
            )
        }
        other => {
            return Err(invalid_input(format!("Invalid channelType '{other}'.")));
        }
    };
    let mut parsed = Vec::new();
    let mut total_grams = 0;
    for (n, p) in packages.iter().enumerate() {
        let reference = p["packageClientReferenceId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing(&format!("packages[{n}].packageClientReferenceId")))?;
        if parsed
            .iter()
            .any(|q: &SimPackage| q.reference_id == reference)
        {
            return Err(invalid_input("packageClientReferenceId must be unique."));
        }
        for f in ["dimensions", "weight", "insuredValue", "items"] {
            if p[f].is_null() {
                return Err(missing(&format!("packages[{n}].{f}")));
            }
        }
        total_grams += grams(&p["weight"]).map_err(invalid_input)?;
        let items = p["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Err(invalid_input(format!(
                "packages[{n}].items must not be empty."
            )));
        }
        let mut named = Vec::new();
        let mut serials = Vec::new();
        for item in &items {
            let quantity = item["quantity"]
                .as_u64()
                .filter(|q| *q >= 1)
                .ok_or_else(|| invalid_input("Every item needs a quantity of at least 1."))?;
            if let Some(list) = item.get("serialNumbers") {
                let list: Vec<String> = list
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .ok_or_else(|| invalid_input("serialNumbers must be an array of strings."))?;
                if !list.is_empty() && channel_type != "AMAZON" {
                    return Err(invalid_input(
                        "serialNumbers are only applicable when the channel source is Amazon.",
                    ));
                }
                if list.len() as u64 > quantity {
                    return Err(invalid_input(format!(
                        "An item has {} serial numbers for {quantity} unit(s): at most one per unit.",
                        list.len()
                    )));
                }
                for n in list {
                    if n.trim().is_empty() || serials.contains(&n) {
                        return Err(invalid_input(
                            "Serial numbers must be non-empty and unique in the package.",
                        ));
                    }
                    serials.push(n);
                }
            }
            if let Some(id) = item["itemIdentifier"].as_str() {
                if let Some(open) = &open_items {
                    let left = open.get(id).copied().ok_or_else(|| {
                        invalid_input(format!("itemIdentifier {id} is not an item of the order."))
                    })?;
                    if quantity > left {
                        return Err(invalid_input(format!(
                            "itemIdentifier {id}: {quantity} units asked, {left} left to ship."
                        )));
                    }
                }
                named.push((id.to_string(), u32::try_from(quantity).unwrap_or(u32::MAX)));
            }
        }
        parsed.push(SimPackage {
            reference_id: reference.to_string(),
            items: named,
            serials,
        });
    }
    Ok(Shipment {
        amazon_order,
        packages: parsed,
        total_grams,
        currency,
        postal_code,
        country_code,
        ship_from: ship_from.clone(),
    })
}

pub(super) fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(t)
}

/// The offers for a shipment, and the ineligible ones.
pub(super) fn offers(inner: &mut Inner, shipment: &Shipment) -> (Vec<SimRate>, Vec<Value>) {
    let now = inner.now();
    let kg = shipment.total_grams.div_ceil(1000).max(1);
    let mut rates = Vec::new();
    let mut ineligible = Vec::new();
    for (n, s) in SERVICES.iter().enumerate() {
        if s.service_id == "DHL-PAKET" && shipment.total_grams > DHL_MAX_GRAMS {
            ineligible.push(json!({
                "serviceId": s.service_id, "serviceName": s.service_name,
                "carrierName": s.carrier_name, "carrierId": s.carrier_id,
                "ineligibilityReasons": [{"code": "WEIGHT_RESTRICTIONS",
                    "message": "The package is heavier than 31.5 kg."}]
            }));
            continue;
        }
        let id = inner.shipping.next_id();
        let delivery_day = day_start(now) + TimeDelta::days(s.delivery_days);
        let cross_border =
            shipment.ship_from["countryCode"].as_str() != Some(shipment.country_code.as_str());
        rates.push(SimRate {
            rate_id: format!("RATE{id:08}{}", s.carrier_id),
            service: n,
            cents: s.base_cents + s.per_kg_cents * kg,
            pickup: (now + TimeDelta::hours(1), now + TimeDelta::hours(4)),
            delivery: (
                delivery_day + TimeDelta::hours(8),
                delivery_day + TimeDelta::hours(20),
            ),
            requires_inputs: cross_border
                && super::inputs::CUSTOMS_CARRIERS.contains(&s.carrier_id),
        });
    }
    (rates, ineligible)
}

pub(super) fn window(w: (DateTime<Utc>, DateTime<Utc>)) -> Value {
    json!({ "start": iso(w.0), "end": iso(w.1) })
}

pub(super) fn size_json() -> Value {
    json!({ "width": 4, "length": 6, "unit": "INCH" })
}

pub(super) fn rate_json(r: &SimRate, currency: &str) -> Value {
    let s = &SERVICES[r.service];
    let specs: Vec<Value> = s
        .formats
        .iter()
        .map(|f| {
            json!({
                "format": f,
                "size": size_json(),
                "printOptions": [{
                    "supportedDPIs": [203, 300],
                    "supportedPageLayouts": ["DEFAULT"],
                    "supportedFileJoiningOptions": [false],
                    "supportedDocumentDetails": [{ "name": "LABEL", "isMandatory": true }]
                }]
            })
        })
        .collect();
    json!({
        "rateId": r.rate_id,
        "carrierId": s.carrier_id,
        "carrierName": s.carrier_name,
        "serviceId": s.service_id,
        "serviceName": s.service_name,
        "totalCharge": { "value": money_number(r.cents), "unit": currency },
        "promise": { "pickupWindow": window(r.pickup), "deliveryWindow": window(r.delivery) },
        "supportedDocumentSpecifications": specs,
        "requiresAdditionalInputs": r.requires_inputs,
        "paymentType": "PAY_THROUGH_AMAZON",
    })
}

/// Cents as the JSON number Amazon writes (`4.76`).
pub(super) fn money_number(cents: u64) -> Value {
    serde_json::from_str(&cents_text(cents)).unwrap_or(json!(0))
}

pub(super) async fn rates_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::GetRates),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            let shipment = parse_shipment(inner, seller, &body)?;
            let (rates, ineligible) = offers(inner, &shipment);
            let token = format!("RT{:012}", inner.shipping.next_id());
            let answer = json!({ "payload": {
                "requestToken": token,
                "rates": rates.iter().map(|r| rate_json(r, &shipment.currency)).collect::<Vec<_>>(),
                "ineligibleRates": ineligible,
            }});
            let issued = inner.stamp();
            inner.shipping.rate_requests.insert(
                token,
                RateRequest {
                    seller: seller.to_string(),
                    issued,
                    amazon_order: shipment.amazon_order,
                    currency: shipment.currency,
                    packages: shipment.packages,
                    rates,
                    postal_code: shipment.postal_code,
                    country_code: shipment.country_code,
                    ship_from: shipment.ship_from,
                },
            );
            Ok(answer)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_convert_to_grams_rounding_up() {
        for (w, g) in [
            (json!({"unit": "KILOGRAM", "value": 1.25}), 1250),
            (json!({"unit": "GRAM", "value": 500}), 500),
            (json!({"unit": "POUND", "value": 1}), 454),
            (json!({"unit": "OUNCE", "value": "2.5"}), 71),
        ] {
            assert_eq!(grams(&w).unwrap(), g, "{w}");
        }
        assert!(grams(&json!({"unit": "STONE", "value": 1})).is_err());
    }
}
