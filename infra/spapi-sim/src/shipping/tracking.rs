//! **getTracking**: events that follow simulated time since the purchase.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use serde_json::{Value, json};

use super::common::{business, call, header, missing, not_found};
use super::types::{SERVICES, SimShipment};
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::{Shared, iso};

pub(super) async fn tracking_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let speed = shared.speed;
    pipeline(
        &shared,
        call(Operation::GetTracking),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let tracking_id = query
                .get("trackingId")
                .ok_or_else(|| missing("trackingId"))?;
            let carrier_id = query.get("carrierId").ok_or_else(|| missing("carrierId"))?;
            let shipment = inner
                .shipping
                .shipments
                .values()
                .find(|s| s.seller == seller && s.packages.iter().any(|(_, t)| t == tracking_id))
                .ok_or_else(|| not_found("No shipment with this trackingId."))?;
            if SERVICES[shipment.rate.service].carrier_id != carrier_id {
                return Err(invalid_input(format!(
                    "trackingId {tracking_id} does not belong to carrier {carrier_id}."
                )));
            }
            let elapsed = inner.sim_elapsed(shipment.purchased, speed);
            let (events, status) = tracking_events(shipment, elapsed);
            Ok(json!({ "payload": {
                "trackingId": tracking_id,
                "alternateLegTrackingId": "",
                "eventHistory": events,
                "promisedDeliveryDate": iso(shipment.rate.delivery.1),
                "summary": { "status": status },
            }}))
        },
    )
    .await
}

/// The events that have happened `elapsed` (simulated) after the purchase.
pub(super) fn tracking_events(s: &SimShipment, elapsed: Duration) -> (Vec<Value>, &'static str) {
    let hub = json!({ "city": "Leipzig", "countryCode": s.country_code });
    let mut destination = json!({ "countryCode": s.country_code });
    if let Some(p) = &s.postal_code {
        destination["postalCode"] = json!(p);
    }
    let h = |hours: i64| TimeDelta::hours(hours);
    let delivered_at = s.rate.delivery.0 + h(4);
    let since = |t: DateTime<Utc>| (t - s.purchased_at).to_std().unwrap_or_default();
    let mut timeline: Vec<(&str, DateTime<Utc>, Value, &'static str)> = vec![(
        "ReadyForReceive",
        s.purchased_at,
        json!({ "countryCode": s.country_code }),
        "PreTransit",
    )];
    if let Some(cancelled) = s.cancelled {
        timeline.push((
            "PickupCancelled",
            cancelled,
            json!({ "countryCode": s.country_code }),
            "PickupCancelled",
        ));
    } else {
        timeline.extend([
            (
                "PickupDone",
                s.purchased_at + h(2),
                hub.clone(),
                "InTransit",
            ),
            (
                "ArrivedAtCarrierFacility",
                s.purchased_at + h(6),
                hub.clone(),
                "InTransit",
            ),
            ("Departed", s.purchased_at + h(8), hub, "InTransit"),
            (
                "OutForDelivery",
                delivered_at - h(3),
                destination.clone(),
                "OutForDelivery",
            ),
            ("Delivered", delivered_at, destination, "Delivered"),
        ]);
    }
    let mut events = Vec::new();
    let mut status = "PreTransit";
    for (code, at, location, summary) in timeline {
        if code == "ReadyForReceive" || code == "PickupCancelled" || since(at) <= elapsed {
            events.push(json!({
                "eventCode": code, "eventTime": iso(at), "location": location,
                "shipmentType": "FORWARD",
            }));
            status = summary;
        }
    }
    (events, status)
}
