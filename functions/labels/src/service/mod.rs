//! The label operations: rates, purchase, one-click, documents, cancel,
//! track. A purchase (and a one-click) runs inside the idempotency layer
//! keyed by the WMS's idempotency key (namespace `labels#<seller>`), with the
//! hash of the request as payload hash, and carries the same key to Amazon
//! as `x-amzn-IdempotencyKey`: a retried or concurrent purchase never pays
//! twice, and a reused key with another request is refused.
//!
//! One module per concern; this one holds the service, the dispatch of a
//! request to its operation ([`LabelService::execute`]) and what they share:
//! - [`rates`]: `rates` and the getRates quote kept under its token;
//! - [`prepare`]: a WMS shipment turned into Amazon's getRates request (the
//!   order looked up, insured values, serial numbers);
//! - [`purchase`]: `purchase` and `one_click`, which differ only in how they
//!   choose the offer, both through the one idempotent-purchase step of
//!   [`buy`] (the idempotency layer, the purchase intent and its resumption,
//!   the purchaseShipment call and what is recorded after it);
//! - [`additional_inputs`]: an offer's inputs schema, and the WMS's inputs
//!   checked against it;
//! - [`documents`], [`cancel`], [`track`]: the operations on a bought label;
//! - the close-out operations live in `crate::close_out`.

mod additional_inputs;
mod buy;
mod cancel;
mod documents;
mod prepare;
mod purchase;
mod rates;
mod track;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::settings::SellerSettings;
use domain::{Deadline, SellerId};
use lambda_kit::metrics::{Counter, Job, Metrics};
use serde_json::Value;
use spapi::SpApi;
use store::{
    BoughtLabel, Clock, Idempotency, IdempotencyStore, LabelStore, Ledger, SettingsStore,
    ShipmentRecords, sha256_hex,
};
use wms::label::{LabelOperation, LabelRequest, LabelResult, OperationName};

use crate::error::LabelError;
use crate::model::Purchase;

pub use documents::decode_document;
pub(crate) use prepare::address;

/// Amazon's rates live 10 minutes.
pub const RATE_LIFETIME: Duration = Duration::from_secs(600);

/// Timings and retention.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelOptions {
    /// How long label files (they print the buyer's address) are kept.
    pub document_retention: Duration,
    /// How long label records and idempotency records are kept (no buyer data).
    pub record_retention: Duration,
    /// How long a rates answer can be bought from (Amazon's 10 minutes, time-compressed locally).
    pub rate_lifetime: Duration,
    /// How long a call waits for a concurrent call with the same key to finish.
    pub in_progress_wait: Duration,
    /// How often it looks while waiting.
    pub in_progress_poll: Duration,
}

impl Default for LabelOptions {
    fn default() -> Self {
        Self {
            document_retention: Duration::from_secs(30 * 24 * 3600),
            record_retention: Duration::from_secs(120 * 24 * 3600),
            rate_lifetime: RATE_LIFETIME,
            in_progress_wait: Duration::from_secs(20),
            in_progress_poll: Duration::from_millis(250),
        }
    }
}

// Looks like the other functions' ports structs (Puller, Pusher...): only what this job uses.
/// Everything the operations need; built once per container (`config::wire`).
#[derive(Clone)]
pub struct LabelService {
    pub api: SpApi,
    pub settings: Arc<dyn SettingsStore>,
    pub ledger: Arc<dyn Ledger>,
    pub labels: Arc<dyn LabelStore>,
    pub shipments: Arc<dyn ShipmentRecords>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
    pub options: LabelOptions,
    /// Counts labels bought, replayed and failed (flushed by the handler).
    pub metrics: Metrics,
}

/// The `audit` field of the lines that say how a purchase (or one-click) ended.
pub const PURCHASE_ACTION: &str = "label.purchase";
/// The `audit` field of the lines that say how a cancellation ended.
pub const CANCEL_ACTION: &str = "label.cancel";

/// A request's content as the idempotency layer hashes it: the operation
/// with its fields, in a canonical form (keys sorted), without `request_id`
/// or the way the seller was named.
pub fn payload_hash(operation: &LabelOperation) -> Result<String, LabelError> {
    let value = serde_json::to_value(operation)
        .map_err(|e| LabelError::Internal(format!("request not serialisable: {e}")))?;
    Ok(sha256_hex(canonical(&value)))
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

pub(crate) fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<String, LabelError> {
    serde_json::to_string(v)
        .map_err(|e| LabelError::Internal(format!("{what} not serialisable: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, LabelError> {
    serde_json::from_str(text).map_err(|e| {
        LabelError::Internal(format!(
            "stored {what} unreadable at line {}, column {}",
            e.line(),
            e.column()
        ))
    })
}

fn dur(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl LabelService {
    /// Now, to the second: what the store and the response say is the same
    /// time (the store keeps milliseconds, the contract whole seconds suffice).
    fn now(&self) -> DateTime<Utc> {
        let now = self.clock.now();
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    }

    fn idempotency_layer(&self, seller: &SellerId) -> Idempotency {
        Idempotency::new(self.idempotency.clone(), format!("labels#{seller}"))
            .with_clock(self.clock.clone())
    }

    /// Runs one request for its seller.
    pub async fn execute(
        &self,
        request: &LabelRequest,
        deadline: &Deadline,
    ) -> Result<LabelResult, LabelError> {
        let operation = request.operation.name();
        let seller = match self.seller(request).await {
            Ok(s) => s,
            Err(e) => {
                self.failed(operation, None, &e);
                return Err(e);
            }
        };
        tracing::info!(seller_id = %seller.seller_id, operation = operation.as_str(), "label request");
        let result = self.run(&seller, request, deadline).await;
        if let Err(e) = &result {
            self.failed(operation, Some(&seller.seller_id), e);
        }
        result
    }

    /// A request that failed: a purchase (or one-click) counts as
    /// `LabelsFailed`; purchases and cancellations end with an audit line.
    pub(crate) fn failed(
        &self,
        operation: OperationName,
        seller: Option<&SellerId>,
        e: &LabelError,
    ) {
        let action = match operation {
            OperationName::Purchase | OperationName::OneClick => {
                self.metrics
                    .count(Job::Labels, seller, Counter::LabelsFailed, 1);
                PURCHASE_ACTION
            }
            OperationName::Cancel => CANCEL_ACTION,
            _ => return,
        };
        let seller = seller.map(SellerId::as_str).unwrap_or("unknown");
        lambda_kit::audit!(failure, action, seller, operation = operation.as_str(), error = %e, "label request failed");
    }

    async fn run(
        &self,
        seller: &SellerSettings,
        request: &LabelRequest,
        deadline: &Deadline,
    ) -> Result<LabelResult, LabelError> {
        let version = request.schema;
        let result = match &request.operation {
            LabelOperation::Rates(r) => {
                LabelResult::Rates(self.rates(seller, r, version, deadline).await?)
            }
            LabelOperation::Purchase(r) => {
                LabelResult::Label(self.purchase(seller, r, deadline).await?)
            }
            LabelOperation::OneClick(r) => {
                LabelResult::Label(self.one_click(seller, r, deadline).await?)
            }
            LabelOperation::Documents(r) => {
                LabelResult::Documents(self.documents(seller, r, deadline).await?)
            }
            LabelOperation::Cancel(r) => {
                LabelResult::Cancellation(self.cancel(seller, r, deadline).await?)
            }
            LabelOperation::Track(r) => {
                LabelResult::Tracking(self.track(seller, r, deadline).await?)
            }
            LabelOperation::AdditionalInputs(r) => {
                LabelResult::AdditionalInputs(self.additional_inputs(seller, r, deadline).await?)
            }
            LabelOperation::Unmanifested(r) => {
                LabelResult::Unmanifested(self.unmanifested(seller, r, deadline).await?)
            }
            LabelOperation::CollectionForm(r) => {
                LabelResult::CollectionForm(self.collection_form(seller, r, deadline).await?)
            }
            LabelOperation::CollectionFormHistory(r) => LabelResult::CollectionForms(
                self.collection_form_history(seller, r, deadline).await?,
            ),
            LabelOperation::CollectionFormReprint(r) => LabelResult::CollectionForm(
                self.collection_form_reprint(seller, r, deadline).await?,
            ),
        };
        Ok(result)
    }

    /// The seller named by `seller_id` and/or `client_code`, with labels enabled.
    async fn seller(&self, request: &LabelRequest) -> Result<SellerSettings, LabelError> {
        let id = match (&request.seller_id, &request.client_code) {
            (Some(id), _) => id.clone(),
            (None, Some(code)) => self
                .settings
                .list_sellers()
                .await?
                .into_iter()
                .find(|s| &s.client_code == code)
                .map(|s| s.seller_id)
                .ok_or_else(|| LabelError::UnknownSeller(format!("with client code {code}")))?,
            (None, None) => {
                return Err(LabelError::Invalid(
                    "name the seller: `seller_id` or `client_code`".into(),
                ));
            }
        };
        let settings = self
            .settings
            .get_settings(&id)
            .await?
            .ok_or_else(|| LabelError::UnknownSeller(id.to_string()))?;
        if let Some(code) = &request.client_code
            && &settings.client_code != code
        {
            return Err(LabelError::Invalid(format!(
                "seller {id} has client code {}, not {code}: send matching values or only one of them",
                settings.client_code
            )));
        }
        if !settings.enabled || !settings.jobs.labels {
            return Err(LabelError::LabelsDisabled(id.to_string()));
        }
        Ok(settings)
    }

    async fn bought(
        &self,
        seller: &SellerSettings,
        shipment_id: &str,
    ) -> Result<(BoughtLabel, Purchase), LabelError> {
        let label = self
            .labels
            .get_label(&seller.seller_id, shipment_id)
            .await?
            .ok_or_else(|| LabelError::UnknownShipment(shipment_id.to_string()))?;
        let purchase = from_json("label", &label.payload)?;
        Ok((label, purchase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_key_order_but_not_content() {
        let a: Value = serde_json::json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b: Value = serde_json::json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(canonical(&a), canonical(&b));
        let c: Value = serde_json::json!({"a": {"x": "s", "y": [2, 1]}, "b": 1});
        assert_ne!(canonical(&a), canonical(&c));
    }
}
