//! **oneClickShipment**: rates and buys the cheapest of the listed services.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::HeaderMap;
use axum::response::Response;
use domain::Operation;
use serde_json::{Value, json};

use super::common::{body_of, business, call, header, missing};
use super::purchase::{buy, document_format};
use super::rates::{money_number, offers, parse_shipment};
use super::types::{RateRequest, SERVICES};
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::Shared;

pub(super) async fn one_click_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::OneClickShipment),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            let shipment = parse_shipment(inner, seller, &body)?;
            let wanted: Vec<&str> = body["serviceSelection"]["serviceId"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if wanted.is_empty() {
                return Err(missing("serviceSelection.serviceId"));
            }
            let (rates, _) = offers(inner, &shipment);
            // One click has no additional inputs: offers that need them are out.
            let rate = rates
                .into_iter()
                .filter(|r| wanted.contains(&SERVICES[r.service].service_id))
                .filter(|r| !r.requires_inputs)
                .min_by_key(|r| r.cents)
                .ok_or_else(|| {
                    invalid_input("None of the selected services can ship this shipment.")
                })?;
            let format = document_format(&body["labelSpecifications"], &rate)?;
            let request = RateRequest {
                seller: seller.to_string(),
                issued: inner.stamp(),
                amazon_order: shipment.amazon_order,
                currency: shipment.currency,
                packages: shipment.packages,
                rates: vec![rate.clone()],
                postal_code: shipment.postal_code,
                country_code: shipment.country_code,
                ship_from: shipment.ship_from,
            };
            let cents = rate.cents;
            let service = &SERVICES[rate.service];
            let (_, mut result) = buy(inner, &request, rate, format)?;
            result["carrier"] = json!({ "id": service.carrier_id, "name": service.carrier_name });
            result["service"] = json!({ "id": service.service_id, "name": service.service_name });
            result["totalCharge"] =
                json!({ "value": money_number(cents), "unit": request.currency });
            if let Some(obj) = result.as_object_mut() {
                obj.remove("benefits");
            }
            Ok(json!({ "payload": result }))
        },
    )
    .await
}
