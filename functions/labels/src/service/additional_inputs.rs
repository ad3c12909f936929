//! An offer's additional inputs (label contract version 2): Amazon's schema
//! (getAdditionalInputs), the `additional_inputs` operation that shows it,
//! and the WMS's inputs checked against it before a purchase.

use domain::Deadline;
use domain::settings::SellerSettings;
use serde_json::Value;
use spapi::SellerContext;
use spapi::ops::shipping::{Business, GetAdditionalInputs};
use wms::label::{AdditionalInputsRequest, AdditionalInputsResult};

use super::LabelService;
use crate::error::LabelError;
use crate::inputs;
use crate::model::{Quote, QuotedRate};

impl LabelService {
    /// The schema of a rate's additional inputs (getAdditionalInputs).
    pub(super) async fn inputs_schema(
        &self,
        seller: &SellerSettings,
        token: &str,
        rate_id: &str,
        marketplace_id: &str,
        deadline: &Deadline,
    ) -> Result<serde_json::Map<String, Value>, LabelError> {
        let call = GetAdditionalInputs {
            request_token: token.to_string(),
            rate_id: rate_id.to_string(),
            business: Business::for_marketplace(marketplace_id),
        };
        Ok(self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?
            .payload)
    }

    /// The inputs to send with `rate`: none for an offer that needs none;
    /// for one that needs them, the WMS's inputs once they follow Amazon's
    /// schema (kept with the rates, else asked for now).
    pub(super) async fn checked_inputs(
        &self,
        seller: &SellerSettings,
        quote: &Quote,
        token: &str,
        rate: &QuotedRate,
        given: Option<&serde_json::Map<String, Value>>,
        deadline: &Deadline,
    ) -> Result<Option<serde_json::Map<String, Value>>, LabelError> {
        if !rate.requires_additional_inputs {
            return Ok(None);
        }
        let schema = match &rate.additional_inputs_schema {
            Some(s) => s.clone(),
            None => {
                self.inputs_schema(
                    seller,
                    token,
                    &rate.rate_id,
                    &quote.marketplace_id,
                    deadline,
                )
                .await?
            }
        };
        let Some(given) = given else {
            return Err(LabelError::AdditionalInputsRequired {
                rate_id: rate.rate_id.clone(),
                service: rate.service_name.clone(),
                required: inputs::required_inputs(&schema),
            });
        };
        match inputs::violations(&schema, given) {
            Ok(found) if found.is_empty() => Ok(Some(given.clone())),
            Ok(found) => Err(LabelError::AdditionalInputsInvalid {
                rate_id: rate.rate_id.clone(),
                violations: found,
            }),
            Err(why) => {
                // Amazon checks them then.
                tracing::warn!(rate_id = %rate.rate_id, reason = %why, "additional inputs not checked before the purchase");
                Ok(Some(given.clone()))
            }
        }
    }

    /// Version 2 `additional_inputs`: the schema of an offer's inputs.
    pub(super) async fn additional_inputs(
        &self,
        seller: &SellerSettings,
        request: &AdditionalInputsRequest,
        deadline: &Deadline,
    ) -> Result<AdditionalInputsResult, LabelError> {
        let quote = self.live_quote(seller, &request.request_token).await?;
        let rate = quote
            .rates
            .iter()
            .find(|r| r.rate_id == request.rate_id)
            .ok_or_else(|| LabelError::UnknownRate {
                token: request.request_token.clone(),
                rate_id: request.rate_id.clone(),
            })?;
        let schema = match (
            &rate.additional_inputs_schema,
            rate.requires_additional_inputs,
        ) {
            (_, false) => serde_json::Map::new(),
            (Some(s), true) => s.clone(),
            (None, true) => {
                self.inputs_schema(
                    seller,
                    &request.request_token,
                    &rate.rate_id,
                    &quote.marketplace_id,
                    deadline,
                )
                .await?
            }
        };
        Ok(AdditionalInputsResult {
            request_token: request.request_token.clone(),
            rate_id: rate.rate_id.clone(),
            required: rate.requires_additional_inputs,
            schema,
        })
    }
}
