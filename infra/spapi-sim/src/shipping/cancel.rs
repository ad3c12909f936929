//! **cancelShipment**: until pick-up (2 simulated hours), once, and not once
//! the shipment is on a collection form.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use domain::Operation;
use serde_json::json;

use super::common::{business, call, header, not_found};
use super::types::PICKUP_AFTER;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::Shared;

pub(super) async fn cancel_route(
    State(shared): State<Arc<Shared>>,
    Path(shipment_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let speed = shared.speed;
    pipeline(
        &shared,
        call(Operation::CancelShipment),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let now = inner.now();
            let purchased = match inner.shipping.shipments.get(&shipment_id) {
                Some(s) if s.seller == seller => {
                    if s.cancelled.is_some() {
                        return Err(invalid_input(format!(
                            "Shipment {shipment_id} is already cancelled."
                        )));
                    }
                    if let Some(form) = &s.manifest {
                        return Err(invalid_input(format!(
                            "Shipment {shipment_id} is on collection form {form} and can no longer be cancelled."
                        )));
                    }
                    s.purchased
                }
                _ => return Err(not_found("The shipment was not found.")),
            };
            if inner.sim_elapsed(purchased, speed) > PICKUP_AFTER {
                return Err(invalid_input(format!(
                    "Shipment {shipment_id} was picked up and can no longer be cancelled."
                )));
            }
            if let Some(s) = inner.shipping.shipments.get_mut(&shipment_id) {
                s.cancelled = Some(now);
            }
            Ok(json!({ "payload": {} }))
        },
    )
    .await
}
