//! `purchase` (an offer of a rates answer, by id or by rule) and
//! `one_click` (rates and purchase in one call). They differ only in how the
//! offer is chosen; everything else — once per idempotency key, a purchase
//! resumed, the additional inputs checked, the label bought and recorded —
//! is the one step of [`super::buy`] ([`LabelService::purchase_once`]).

use domain::Deadline;
use domain::settings::SellerSettings;
use wms::label::{LabelOperation, OneClickRequest, PurchaseRequest, PurchasedLabel};

use super::{LabelService, payload_hash};
use crate::error::LabelError;
use crate::select::choose;

impl LabelService {
    /// Buys an offer of a rates answer still valid (`request_token`), named
    /// by `rate_id` or chosen by the `select` rule.
    pub(super) async fn purchase(
        &self,
        seller: &SellerSettings,
        request: &PurchaseRequest,
        deadline: &Deadline,
    ) -> Result<PurchasedLabel, LabelError> {
        let hash = payload_hash(&LabelOperation::Purchase(request.clone()))?;
        self.purchase_once(
            seller,
            &request.idempotency_key,
            hash,
            &request.label,
            request.additional_inputs.as_ref(),
            deadline,
            || async {
                let quote = self.live_quote(seller, &request.request_token).await?;
                if let Some(id) = &request.rate_id
                    && !quote.rates.iter().any(|r| &r.rate_id == id)
                {
                    return Err(LabelError::UnknownRate {
                        token: request.request_token.clone(),
                        rate_id: id.clone(),
                    });
                }
                let rate = choose(
                    &quote.rates,
                    request.rate_id.as_deref(),
                    request.select.as_ref(),
                    request.label.format,
                    quote.deliver_by,
                    request.additional_inputs.is_some(),
                )?
                .clone();
                Ok((quote, request.request_token.clone(), rate))
            },
        )
        .await
    }

    /// Asks for rates and buys the offer the `select` rule chooses.
    pub(super) async fn one_click(
        &self,
        seller: &SellerSettings,
        request: &OneClickRequest,
        deadline: &Deadline,
    ) -> Result<PurchasedLabel, LabelError> {
        let hash = payload_hash(&LabelOperation::OneClick(request.clone()))?;
        let with_inputs = request.additional_inputs.is_some();
        self.purchase_once(
            seller,
            &request.idempotency_key,
            hash,
            &request.label,
            request.additional_inputs.as_ref(),
            deadline,
            || async {
                let (quote, token, _) = self
                    .quote(seller, &request.shipment, with_inputs, deadline)
                    .await?;
                let rate = choose(
                    &quote.rates,
                    None,
                    Some(&request.select),
                    request.label.format,
                    quote.deliver_by,
                    with_inputs,
                )?
                .clone();
                Ok((quote, token, rate))
            },
        )
        .await
    }
}
