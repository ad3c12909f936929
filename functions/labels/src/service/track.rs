//! `track`: a shipment's tracking, by the label bought here or by tracking
//! id and carrier.

use domain::Deadline;
use domain::settings::SellerSettings;
use spapi::SellerContext;
use spapi::ops::shipping::{Business, GetTracking};
use wms::label::{Location, TrackRequest, Tracking, TrackingEvent};

use super::LabelService;
use crate::error::LabelError;

impl LabelService {
    pub(super) async fn track(
        &self,
        seller: &SellerSettings,
        request: &TrackRequest,
        deadline: &Deadline,
    ) -> Result<Tracking, LabelError> {
        let (shipment_id, tracking_id, carrier_id, marketplace) = match &request.shipment_id {
            Some(id) => {
                let (_, purchase) = self.bought(seller, id).await?;
                let tracking = match &request.tracking_id {
                    Some(t) => t.clone(),
                    None => purchase
                        .packages
                        .iter()
                        .find_map(|p| p.tracking_id.clone())
                        .ok_or_else(|| {
                            LabelError::Internal(format!("shipment {id} has no tracking id"))
                        })?,
                };
                (
                    Some(id.clone()),
                    tracking,
                    purchase.rate.carrier_id.clone(),
                    purchase.marketplace_id.clone(),
                )
            }
            None => match (&request.tracking_id, &request.carrier_id) {
                (Some(t), Some(c)) => (
                    None,
                    t.clone(),
                    c.clone(),
                    seller
                        .marketplaces
                        .first()
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default(),
                ),
                _ => {
                    return Err(LabelError::Invalid(
                        "give `shipment_id`, or `tracking_id` and `carrier_id`".into(),
                    ));
                }
            },
        };
        let call = GetTracking {
            tracking_id: tracking_id.clone(),
            carrier_id: carrier_id.clone(),
            business: Business::for_marketplace(&marketplace),
        };
        let answer = self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?
            .payload;
        Ok(Tracking {
            shipment_id,
            tracking_id,
            carrier_id,
            status: answer
                .summary
                .status
                .clone()
                .unwrap_or_else(|| "Unknown".to_string()),
            promised_delivery_date: answer.promised_delivery_date,
            events: answer
                .event_history
                .iter()
                .map(|e| TrackingEvent {
                    code: e.event_code.clone(),
                    time: e.event_time,
                    location: e.location.as_ref().map(|l| Location {
                        city: l.city.clone(),
                        state_or_region: l.state_or_region.clone(),
                        postal_code: l.postal_code.clone(),
                        country_code: l.country_code.clone(),
                    }),
                })
                .collect(),
        })
    }
}
