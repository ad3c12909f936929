//! `cancel`: a bought label cancelled at Amazon and marked so (once: a
//! second cancellation answers the first).

use domain::Deadline;
use domain::settings::SellerSettings;
use spapi::ops::shipping::{Business, CancelShipment};
use spapi::{SellerContext, SpApiError};
use store::labels::Cancelled;
use wms::label::{CancelRequest, Cancellation};

use super::{CANCEL_ACTION, LabelService};
use crate::error::LabelError;

impl LabelService {
    pub(super) async fn cancel(
        &self,
        seller: &SellerSettings,
        request: &CancelRequest,
        deadline: &Deadline,
    ) -> Result<Cancellation, LabelError> {
        let (label, purchase) = self.bought(seller, &request.shipment_id).await?;
        if let Some(at) = label.cancelled_at {
            return Ok(Cancellation {
                shipment_id: label.shipment_id,
                cancelled_at: at,
                already_cancelled: true,
            });
        }
        let call = CancelShipment {
            shipment_id: label.shipment_id.clone(),
            business: Business::for_marketplace(&purchase.marketplace_id),
        };
        match self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await
        {
            Ok(_) => {}
            // Cancelled by an earlier call whose record was not written.
            Err(SpApiError::Amazon {
                status: 400,
                message,
                ..
            }) if message.to_ascii_lowercase().contains("already cancel") => {}
            Err(SpApiError::Amazon {
                status: 400 | 404 | 409,
                message,
                ..
            }) => {
                return Err(LabelError::NotCancellable {
                    shipment: label.shipment_id,
                    reason: format!("Amazon says: {message}"),
                });
            }
            Err(e) => return Err(e.into()),
        }
        let (cancelled, already) = match self
            .labels
            .mark_label_cancelled(&seller.seller_id, &label.shipment_id, self.now())
            .await?
        {
            Cancelled::Now(l) => (l, false),
            Cancelled::Already(l) => (l, true),
        };
        lambda_kit::audit!(success, CANCEL_ACTION, seller = %seller.seller_id, shipment_id = %cancelled.shipment_id, "label cancelled");
        Ok(Cancellation {
            shipment_id: cancelled.shipment_id,
            cancelled_at: cancelled.cancelled_at.unwrap_or_else(|| self.now()),
            already_cancelled: already,
        })
    }
}
