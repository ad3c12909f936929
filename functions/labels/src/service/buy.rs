//! The one idempotent-purchase step behind `purchase` and `one_click`
//! ([`LabelService::purchase_once`]): at most once per WMS idempotency key
//! (the idempotency layer, waiting a while for a concurrent call), a
//! purchase an earlier run asked Amazon for resumed with the same request
//! (the purchase intent), the offer's additional inputs checked, the label
//! bought with Amazon's idempotency key and recorded (label, files, the
//! shipment job's "bought" mark); a replay answers the stored label.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use domain::Deadline;
use domain::settings::SellerSettings;
use lambda_kit::metrics::{Counter, Job};
use serde_json::Value;
use spapi::models::shipping::{
    self as amazon, DocumentSize, DocumentType, PurchaseShipmentRequest,
    RequestedDocumentSpecification,
};
use spapi::ops::shipping::{Business, PurchaseShipment};
use spapi::{SellerContext, SpApiError};
use store::{BoughtLabel, IdempotencyError, LabelDocument, PurchaseIntent, RunOptions};
use wms::label::{Document, LabelSpec, PurchasedLabel};

use super::documents::document;
use super::{LabelService, PURCHASE_ACTION, from_json, to_json};
use crate::error::LabelError;
use crate::model::{self, BoughtPackage, Purchase, Quote, QuotedRate};

/// What `buy` asks Amazon for, kept under the idempotency key before it
/// asks ([`PurchaseIntent`]).
#[derive(serde::Serialize, serde::Deserialize)]
struct Intent {
    quote: Quote,
    token: String,
    rate: QuotedRate,
    /// The offer's additional inputs sent with the purchase (label contract
    /// version 2), so a resumed purchase is the same request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    additional_inputs: Option<serde_json::Map<String, Value>>,
}

impl LabelService {
    /// The purchase step `purchase` and `one_click` share: once per `key`
    /// ([`Self::idempotent`]), a purchase an earlier run asked Amazon for is
    /// resumed ([`Self::resume_purchase`]); else `offer` chooses the offer
    /// (its quote, the quote's token, the rate), the WMS's inputs `given` are
    /// checked against the offer's schema and the offer is bought
    /// ([`Self::buy`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn purchase_once<F, Fut>(
        &self,
        seller: &SellerSettings,
        key: &str,
        hash: String,
        label: &LabelSpec,
        given: Option<&serde_json::Map<String, Value>>,
        deadline: &Deadline,
        offer: F,
    ) -> Result<PurchasedLabel, LabelError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(Quote, String, QuotedRate), LabelError>>,
    {
        self.idempotent(seller, key, hash, deadline, || async {
            if let Some(bought) = self.resume_purchase(seller, key, label, deadline).await? {
                return Ok(bought);
            }
            let (quote, token, rate) = offer().await?;
            let inputs = self
                .checked_inputs(seller, &quote, &token, &rate, given, deadline)
                .await?;
            self.buy(seller, &quote, &token, &rate, label, inputs, key, deadline)
                .await
        })
        .await
    }

    /// Runs `buy` at most once per key (Powertools guarantees), waiting a
    /// while for a concurrent call with the same key; a replay answers the
    /// stored label with its stored (or re-fetched) files.
    pub(super) async fn idempotent<F, Fut>(
        &self,
        seller: &SellerSettings,
        key: &str,
        hash: String,
        deadline: &Deadline,
        buy: F,
    ) -> Result<PurchasedLabel, LabelError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(Purchase, Vec<(String, Vec<Document>)>), LabelError>>,
    {
        let layer = self.idempotency_layer(&seller.seller_id);
        let started = std::time::Instant::now();
        loop {
            let ran = AtomicBool::new(false);
            let fresh: Mutex<Vec<(String, Vec<Document>)>> = Mutex::new(Vec::new());
            let lock_for = deadline.remaining().min(Duration::from_secs(900));
            let options = RunOptions::new(
                self.clock.now_ms() + i64::try_from(lock_for.as_millis()).unwrap_or(i64::MAX),
                self.options.record_retention,
            )
            .with_payload_hash(hash.clone());
            let result = layer
                .run(key, options, async {
                    ran.store(true, Ordering::SeqCst);
                    let (purchase, documents) = buy().await?;
                    *fresh.lock().unwrap_or_else(|p| p.into_inner()) = documents;
                    Ok::<_, LabelError>(purchase)
                })
                .await;
            match result {
                Ok(purchase) if ran.load(Ordering::SeqCst) => {
                    let documents =
                        std::mem::take(&mut *fresh.lock().unwrap_or_else(|p| p.into_inner()));
                    return Ok(purchase.to_label(false, &documents));
                }
                Ok(purchase) => {
                    self.metrics.count(
                        Job::Labels,
                        Some(&seller.seller_id),
                        Counter::LabelsReplayed,
                        1,
                    );
                    tracing::info!(seller_id = %seller.seller_id, shipment_id = %purchase.shipment_id, "replaying a label bought before under the same idempotency key");
                    let documents = self.replay_documents(seller, &purchase, deadline).await?;
                    return Ok(purchase.to_label(true, &documents));
                }
                Err(IdempotencyError::AlreadyInProgress { .. }) => {
                    let poll = self.options.in_progress_poll;
                    if started.elapsed() + poll > self.options.in_progress_wait
                        || !deadline.allows(poll + Duration::from_secs(1))
                    {
                        return Err(LabelError::InProgress {
                            key: key.to_string(),
                        });
                    }
                    tokio::time::sleep(poll).await;
                }
                Err(IdempotencyError::PayloadMismatch { .. }) => {
                    return Err(LabelError::KeyReused {
                        key: key.to_string(),
                    });
                }
                Err(IdempotencyError::Store(e)) => return Err(e.into()),
                Err(IdempotencyError::Handler(e)) => return Err(e),
            }
        }
    }

    /// Buys `rate` with Amazon's idempotency key, then records the label,
    /// its files and (Amazon channel) the shipment job's "bought" mark.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn buy(
        &self,
        seller: &SellerSettings,
        quote: &Quote,
        token: &str,
        rate: &QuotedRate,
        label: &LabelSpec,
        additional_inputs: Option<serde_json::Map<String, Value>>,
        key: &str,
        deadline: &Deadline,
    ) -> Result<(Purchase, Vec<(String, Vec<Document>)>), LabelError> {
        let spec = document_spec(rate, label)?;
        // Written before Amazon is asked: if this run dies after Amazon sold
        // the label and before it is recorded below, the next run under the
        // key sends this same request (`resume_purchase`).
        let retention =
            i64::try_from(self.options.record_retention.as_secs()).unwrap_or(i64::MAX / 2);
        self.labels
            .put_purchase_intent(&PurchaseIntent {
                seller_id: seller.seller_id.clone(),
                idempotency_key: key.to_string(),
                payload: to_json(
                    "purchase intent",
                    &Intent {
                        quote: quote.clone(),
                        token: token.to_string(),
                        rate: rate.clone(),
                        additional_inputs: additional_inputs.clone(),
                    },
                )?,
                expires_at: self.now().timestamp().saturating_add(retention),
            })
            .await?;
        let call = PurchaseShipment {
            request: PurchaseShipmentRequest {
                request_token: token.to_string(),
                rate_id: rate.rate_id.clone(),
                requested_document_specification: spec,
                additional_inputs,
            },
            idempotency_key: key.to_string(),
            business: Business::for_marketplace(&quote.marketplace_id),
        };
        let answer = self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?
            .payload;
        let now = self.now();
        let documents: Vec<(String, Vec<Document>)> = answer
            .package_document_details
            .iter()
            .map(|d| {
                (
                    d.package_client_reference_id.clone(),
                    d.package_documents
                        .iter()
                        .map(|x| document(x, label.dpi))
                        .collect(),
                )
            })
            .collect();
        let mut purchase = Purchase {
            shipment_id: answer.shipment_id.clone(),
            channel: quote.channel,
            amazon_order_id: quote.amazon_order_id.clone(),
            marketplace_id: quote.marketplace_id.clone(),
            rate: rate.clone(),
            format: label.format,
            dpi: label.dpi,
            purchased_at: now,
            packages: answer
                .package_document_details
                .iter()
                .map(|d| BoughtPackage {
                    package_id: d.package_client_reference_id.clone(),
                    tracking_id: d.tracking_id.clone(),
                })
                .collect(),
            documents_stored: false,
        };
        self.metrics.count(
            Job::Labels,
            Some(&seller.seller_id),
            Counter::LabelsBought,
            1,
        );
        lambda_kit::audit!(
            success,
            PURCHASE_ACTION,
            seller = %seller.seller_id,
            shipment_id = %purchase.shipment_id,
            channel = ?purchase.channel,
            service_id = %rate.service_id,
            packages = purchase.packages.len(),
            "label bought"
        );
        let files: Vec<LabelDocument> = documents
            .iter()
            .flat_map(|(package, docs)| {
                docs.iter().map(move |d| LabelDocument {
                    package_id: package.clone(),
                    doc_type: d.kind.clone(),
                    format: d.format.clone(),
                    contents: d.content_base64.clone(),
                })
            })
            .collect();
        let secs =
            |d: Duration| now.timestamp() + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2);
        purchase.documents_stored = self
            .labels
            .put_documents(
                &seller.seller_id,
                &purchase.shipment_id,
                &files,
                secs(self.options.document_retention),
            )
            .await?;
        if !purchase.documents_stored {
            tracing::warn!(shipment_id = %purchase.shipment_id, "label files too large to store; a replay fetches them from Amazon");
        }
        let tracking_ids: Vec<String> = purchase
            .packages
            .iter()
            .filter_map(|p| p.tracking_id.clone())
            .collect();
        self.labels
            .put_label(&BoughtLabel {
                seller_id: seller.seller_id.clone(),
                shipment_id: purchase.shipment_id.clone(),
                amazon_order_id: purchase.amazon_order_id.clone(),
                tracking_ids: tracking_ids.clone(),
                carrier: rate.carrier_name.clone(),
                purchased_at: now,
                cancelled_at: None,
                payload: to_json("purchase", &purchase)?,
                expires_at: secs(self.options.record_retention),
            })
            .await?;
        if let Some(order) = &purchase.amazon_order_id {
            // Amazon marks the order shipped: the shipment job must not
            // confirm these packages again.
            for tracking in &tracking_ids {
                self.shipments
                    .record_label_bought(
                        &seller.seller_id,
                        order,
                        &store::LabelRecord {
                            tracking_number: tracking.clone(),
                            shipment_id: Some(purchase.shipment_id.clone()),
                            carrier: Some(rate.carrier_name.clone()),
                            bought_at: now,
                        },
                        secs(self.options.record_retention),
                    )
                    .await?;
            }
        }
        Ok((purchase, documents))
    }

    /// A purchase a run before this one asked Amazon for under the same key
    /// and never recorded (it died, or lost Amazon's answer): the same
    /// request again, which Amazon answers with the label it sold then (its
    /// idempotency key) — quoting again would fail, the order being shipped
    /// by then. `None` when no run got that far.
    pub(super) async fn resume_purchase(
        &self,
        seller: &SellerSettings,
        key: &str,
        label: &LabelSpec,
        deadline: &Deadline,
    ) -> Result<Option<(Purchase, Vec<(String, Vec<Document>)>)>, LabelError> {
        let Some(intent) = self
            .labels
            .get_purchase_intent(&seller.seller_id, key)
            .await?
        else {
            return Ok(None);
        };
        let intent: Intent = from_json("purchase intent", &intent.payload)?;
        tracing::warn!(seller_id = %seller.seller_id, idempotency_key = %key, "a purchase under this key was asked of Amazon and never recorded; asking again with the same request and key");
        match self
            .buy(
                seller,
                &intent.quote,
                &intent.token,
                &intent.rate,
                label,
                intent.additional_inputs.clone(),
                key,
                deadline,
            )
            .await
        {
            Ok(bought) => Ok(Some(bought)),
            // Amazon refused the request itself (its rates expired, say):
            // it never sold under this key, or it would have answered with
            // that label. A fresh purchase, then.
            Err(LabelError::RateTokenExpired { .. }) => Ok(None),
            Err(LabelError::Amazon(SpApiError::Amazon { status, .. }))
                if (400..500).contains(&status) && status != 429 =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The document specification for Amazon: the asked format (and size and
/// dpi, if given) among what the offer supports.
fn document_spec(
    rate: &QuotedRate,
    label: &LabelSpec,
) -> Result<RequestedDocumentSpecification, LabelError> {
    let options: Vec<&model::FormatOption> = rate
        .formats
        .iter()
        .filter(|f| f.format == label.format)
        .collect();
    let unsupported = |what: String| {
        LabelError::UnsupportedLabelFormat(format!(
            "{} ({}) cannot print {what}; it supports {}",
            rate.service_name,
            rate.service_id,
            rate.formats
                .iter()
                .map(|f| format!(
                    "{} {}x{} {}",
                    f.format.as_str(),
                    f.size.width,
                    f.size.length,
                    f.size.unit
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    };
    let option = match &label.size {
        None => options.first().copied(),
        Some(size) => options.iter().copied().find(|o| {
            o.size.unit == size.unit.as_str()
                && same_number(&o.size.width, size.width.as_str())
                && same_number(&o.size.length, size.length.as_str())
        }),
    }
    .ok_or_else(|| unsupported(format!("{} labels in that size", label.format.as_str())))?;
    if let Some(dpi) = label.dpi
        && !option.dpis.is_empty()
        && !option.dpis.contains(&dpi)
    {
        return Err(unsupported(format!("{dpi} dpi")));
    }
    let number = |s: &str| {
        amazon::Decimal::new(s).ok_or_else(|| {
            LabelError::Internal(format!("a stored label size is not a number: {s}"))
        })
    };
    Ok(RequestedDocumentSpecification {
        format: amazon::DocumentFormat::parse(label.format.as_str())
            .ok_or_else(|| LabelError::Internal("label format".into()))?,
        size: DocumentSize {
            width: number(&option.size.width)?,
            length: number(&option.size.length)?,
            unit: option.size.unit.clone(),
        },
        dpi: label.dpi,
        page_layout: option.page_layouts.first().cloned(),
        need_file_joining: false,
        requested_document_types: vec![DocumentType::Label],
    })
}

fn same_number(a: &str, b: &str) -> bool {
    match (amazon::Decimal::new(a), amazon::Decimal::new(b)) {
        (Some(x), Some(y)) => x.cmp_value(&y).is_eq(),
        _ => a == b,
    }
}
