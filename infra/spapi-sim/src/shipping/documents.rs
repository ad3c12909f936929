//! **getShipmentDocuments**: the label again, in the asked format.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use domain::Operation;
use serde_json::json;

use super::common::{business, call, header, missing, not_found};
use super::label_files::package_detail;
use super::types::SERVICES;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::Shared;

pub(super) async fn documents_route(
    State(shared): State<Arc<Shared>>,
    Path(shipment_id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::GetShipmentDocuments),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let reference = query
                .get("packageClientReferenceId")
                .ok_or_else(|| missing("packageClientReferenceId"))?;
            let padding = inner.shipping.label_padding;
            let shipment = inner
                .shipping
                .shipments
                .get(&shipment_id)
                .filter(|s| s.seller == seller)
                .ok_or_else(|| not_found("The shipment was not found."))?;
            let format = match query.get("format") {
                None => shipment.format.clone(),
                Some(f)
                    if SERVICES[shipment.rate.service]
                        .formats
                        .contains(&f.as_str()) =>
                {
                    f.clone()
                }
                Some(f) => {
                    return Err(invalid_input(format!(
                        "The format {f} is not supported for this shipment."
                    )));
                }
            };
            let dpi = query.get("dpi").and_then(|d| d.parse::<u32>().ok());
            let (_, tracking) = shipment
                .packages
                .iter()
                .find(|(r, _)| r == reference)
                .ok_or_else(|| not_found("The package was not found in the shipment."))?;
            Ok(json!({ "payload": {
                "shipmentId": shipment_id,
                "packageDocumentDetail": package_detail(reference, tracking, &format, dpi, padding),
                "benefits": { "includedBenefits": ["CLAIMS_PROTECTED"], "excludedBenefits": [] },
            }}))
        },
    )
    .await
}
