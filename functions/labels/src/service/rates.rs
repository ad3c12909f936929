//! `rates`: Amazon's offers for a shipment, kept under the request token
//! (the quote a purchase buys from), with the offers that cannot be bought
//! (Amazon's ineligible ones, those needing inputs version 1 cannot send,
//! those not printing the asked format) said apart.

use domain::Deadline;
use domain::settings::SellerSettings;
use spapi::SellerContext;
use spapi::models::shipping as amazon;
use spapi::ops::shipping::{Business, GetRates};
use store::RateQuote;
use wms::MessageVersion;
use wms::label::{IneligibleOffer, RatesRequest, RatesResult, Reason, ShipmentSpec};

use super::{LabelService, dur, from_json, to_json};
use crate::error::LabelError;
use crate::model::{Quote, QuotedRate};

impl LabelService {
    pub(super) async fn rates(
        &self,
        seller: &SellerSettings,
        request: &RatesRequest,
        version: MessageVersion,
        deadline: &Deadline,
    ) -> Result<RatesResult, LabelError> {
        let v2 = version >= MessageVersion::V2;
        let (quote, token, answer) = self.quote(seller, &request.shipment, v2, deadline).await?;
        let mut offers = Vec::new();
        let mut ineligible: Vec<IneligibleOffer> = answer
            .ineligible_rates
            .iter()
            .map(|r| IneligibleOffer {
                carrier_id: r.carrier_id.clone(),
                carrier_name: r.carrier_name.clone(),
                service_id: r.service_id.clone(),
                service_name: r.service_name.clone(),
                reasons: r
                    .ineligibility_reasons
                    .iter()
                    .map(|x| Reason {
                        code: x.code.clone(),
                        message: x.message.clone(),
                    })
                    .collect(),
            })
            .collect();
        for rate in &quote.rates {
            if rate.requires_additional_inputs && !v2 {
                // Version 1 cannot send the inputs: say so now, not at purchase.
                ineligible.push(IneligibleOffer {
                    carrier_id: rate.carrier_id.clone(),
                    carrier_name: rate.carrier_name.clone(),
                    service_id: rate.service_id.clone(),
                    service_name: rate.service_name.clone(),
                    reasons: vec![Reason {
                        code: "ADDITIONAL_INPUTS_REQUIRED".into(),
                        message: "This offer needs additional inputs (such as a customs declaration): ask with label contract version 2 to buy it.".into(),
                    }],
                });
                continue;
            }
            match request.label_format {
                Some(f) if !rate.prints(f) => ineligible.push(IneligibleOffer {
                    carrier_id: rate.carrier_id.clone(),
                    carrier_name: rate.carrier_name.clone(),
                    service_id: rate.service_id.clone(),
                    service_name: rate.service_name.clone(),
                    reasons: vec![Reason {
                        code: "UNSUPPORTED_LABEL_FORMAT".into(),
                        message: format!("This offer cannot print {} labels.", f.as_str()),
                    }],
                }),
                _ => offers.push(rate.offer(quote.deliver_by, version)),
            }
        }
        Ok(RatesResult {
            request_token: token,
            expires_at: quote.expires_at,
            channel: quote.channel,
            amazon_order_id: quote.amazon_order_id,
            deliver_by: quote.deliver_by,
            offers,
            ineligible,
        })
    }

    /// getRates for a shipment; the offers are kept under the token. With
    /// `schemas`, the additional-inputs schema of every offer that needs
    /// inputs is fetched too (getAdditionalInputs) and kept with it.
    pub(super) async fn quote(
        &self,
        seller: &SellerSettings,
        shipment: &ShipmentSpec,
        schemas: bool,
        deadline: &Deadline,
    ) -> Result<(Quote, String, amazon::GetRatesResult), LabelError> {
        let prepared = self.prepare(seller, shipment, deadline).await?;
        // Reads like purchaseShipment's call in buy.rs (every operation's shape
        // here): each `Call` has its own typed payload, so no shared helper fits.
        let call = GetRates {
            request: prepared.request.clone(),
            business: Business::for_marketplace(&prepared.marketplace_id),
        };
        let answer = self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?
            .payload;
        let now = self.now();
        let mut rates: Vec<QuotedRate> = answer
            .rates
            .iter()
            .filter_map(|r| {
                let q = QuotedRate::from_amazon(r);
                if q.is_none() {
                    tracing::warn!(rate_id = %r.rate_id, "rate skipped: its charge is not a decimal amount");
                }
                q
            })
            .collect();
        if schemas {
            for rate in rates.iter_mut().filter(|r| r.requires_additional_inputs) {
                match self
                    .inputs_schema(
                        seller,
                        &answer.request_token,
                        &rate.rate_id,
                        &prepared.marketplace_id,
                        deadline,
                    )
                    .await
                {
                    Ok(schema) => rate.additional_inputs_schema = Some(schema),
                    // The offer still says it needs inputs; the schema is
                    // asked for again at purchase or with "additional_inputs".
                    Err(e) => {
                        tracing::warn!(rate_id = %rate.rate_id, error = %e, "the schema of an offer's additional inputs could not be read")
                    }
                }
            }
        }
        let quote = Quote {
            channel: prepared.channel,
            amazon_order_id: prepared.amazon_order_id,
            marketplace_id: prepared.marketplace_id,
            deliver_by: prepared.deliver_by,
            expires_at: now + dur(self.options.rate_lifetime),
            package_ids: prepared
                .request
                .packages
                .iter()
                .map(|p| p.package_client_reference_id.clone())
                .collect(),
            rates,
        };
        self.labels
            .put_rate_quote(&RateQuote {
                seller_id: seller.seller_id.clone(),
                request_token: answer.request_token.clone(),
                token_expires_at: quote.expires_at,
                payload: to_json("rate quote", &quote)?,
            })
            .await?;
        tracing::info!(
            seller_id = %seller.seller_id,
            channel = ?quote.channel,
            offers = quote.rates.len(),
            ineligible = answer.ineligible_rates.len(),
            "rates"
        );
        Ok((quote, answer.request_token.clone(), answer))
    }

    /// The quote kept under a rates answer's token, while it can still be
    /// bought from (a purchase, an offer's inputs).
    pub(super) async fn live_quote(
        &self,
        seller: &SellerSettings,
        token: &str,
    ) -> Result<Quote, LabelError> {
        let stored = self
            .labels
            .get_rate_quote(&seller.seller_id, token)
            .await?
            .ok_or_else(|| LabelError::UnknownRateToken {
                token: token.to_string(),
            })?;
        if stored.token_expires_at <= self.now() {
            return Err(LabelError::RateTokenExpired {
                token: token.to_string(),
                expired_at: Some(stored.token_expires_at),
            });
        }
        from_json("rate quote", &stored.payload)
    }
}
