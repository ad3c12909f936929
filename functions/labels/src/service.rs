//! The label operations: rates, purchase, one-click, documents, cancel,
//! track. A purchase (and a one-click) runs inside the idempotency layer
//! keyed by the WMS's idempotency key (namespace `labels#<seller>`), with the
//! hash of the request as payload hash, and carries the same key to Amazon
//! as `x-amzn-IdempotencyKey`: a retried or concurrent purchase never pays
//! twice, and a reused key with another request is refused.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use domain::settings::{OrderStatus, SellerSettings};
use domain::{AmazonOrderId, Deadline, SellerId};
use lambda_kit::metrics::{Counter, Job, Metrics};
use serde_json::Value;
use spapi::models::orders::{IncludedData, Order};
use spapi::models::shipping::{
    self as amazon, ChannelDetails, DocumentSize, DocumentType, GetRatesRequest,
    PurchaseShipmentRequest, RequestedDocumentSpecification,
};
use spapi::ops::orders::GetOrder;
use spapi::ops::shipping::{
    Business, CancelShipment, GetAdditionalInputs, GetRates, GetShipmentDocuments, GetTracking,
    PurchaseShipment,
};
use spapi::{SellerContext, SpApi, SpApiError};
use store::labels::Cancelled;
use store::{
    BoughtLabel, Clock, Idempotency, IdempotencyError, IdempotencyStore, LabelDocument, LabelStore,
    Ledger, PurchaseIntent, RateQuote, RunOptions, SettingsStore, ShipmentRecords, sha256_hex,
};
use wms::label::{
    AdditionalInputsRequest, AdditionalInputsResult, CancelRequest, Cancellation, Channel,
    Document, DocumentsRequest, DocumentsResult, IneligibleOffer, LabelFormat, LabelOperation,
    LabelRequest, LabelResult, LabelSpec, Location, OneClickRequest, OperationName,
    PurchaseRequest, PurchasedLabel, RatesRequest, RatesResult, Reason, ShipmentSpec, TrackRequest,
    Tracking, TrackingEvent,
};
use wms::{Decimal, MessageVersion, Money};

use crate::error::LabelError;
use crate::inputs;
use crate::model::{self, BoughtPackage, Purchase, Quote, QuotedRate};
use crate::select::choose;

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

/// The currency of a marketplace (for zero insured values when nothing else says).
fn marketplace_currency(marketplace_id: &str) -> &'static str {
    match marketplace_id {
        "ATVPDKIKX0DER" => "USD",
        "A2EUQ1WTGCTBG2" => "CAD",
        "A1AM78C64UM0Y8" => "MXN",
        "A2Q3Y263D00KWC" => "BRL",
        "A1F83G8C2ARO7P" => "GBP",
        "A2NODRKZP88ZB9" => "SEK",
        "A1C3SOZRARQ6R3" => "PLN",
        "A33AVAJ2PDY3EV" => "TRY",
        "A2VIGQ35RCS4UG" => "AED",
        "A17E79C6D8DWNP" => "SAR",
        "ARBP9OOSHTCHU" => "EGP",
        "A21TJRUUN4KGV" => "INR",
        "AE08WJ6YKNBMC" => "ZAR",
        "A1VC38T7YXB528" => "JPY",
        "A39IBJ37TRP1C6" => "AUD",
        "A19VAU5U5O7RUS" => "SGD",
        _ => "EUR",
    }
}

pub(crate) fn address(a: &wms::label::Address) -> amazon::Address {
    amazon::Address {
        name: a.name.clone(),
        address_line1: a.address_line1.clone(),
        address_line2: a.address_line2.clone(),
        address_line3: a.address_line3.clone(),
        company_name: a.company_name.clone(),
        state_or_region: a.state_or_region.clone(),
        city: a.city.clone(),
        country_code: a.country_code.clone(),
        postal_code: a.postal_code.clone(),
        email: a.email.clone(),
        phone_number: a.phone.clone(),
    }
}

fn amazon_decimal(d: &Decimal, field: &str) -> Result<amazon::Decimal, LabelError> {
    model::decimal(d).ok_or_else(|| {
        LabelError::Invalid(format!("`{field}` has more than 15 significant digits"))
    })
}

fn currency(m: &Money, field: &str) -> Result<amazon::Currency, LabelError> {
    Ok(amazon::Currency {
        value: amazon_decimal(&m.amount, field)?,
        unit: m.currency.clone(),
    })
}

fn document(d: &amazon::PackageDocument, dpi: Option<u32>) -> Document {
    Document {
        kind: d.kind.clone(),
        format: d.format.clone(),
        dpi,
        content_base64: d.contents.clone(),
    }
}

/// What a rates or one-click call asks Amazon, and what we keep of it.
struct Prepared {
    request: GetRatesRequest,
    channel: Channel,
    amazon_order_id: Option<AmazonOrderId>,
    marketplace_id: String,
    deliver_by: Option<DateTime<Utc>>,
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

    // ---- rates -------------------------------------------------------------

    async fn rates(
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
    async fn quote(
        &self,
        seller: &SellerSettings,
        shipment: &ShipmentSpec,
        schemas: bool,
        deadline: &Deadline,
    ) -> Result<(Quote, String, amazon::GetRatesResult), LabelError> {
        let prepared = self.prepare(seller, shipment, deadline).await?;
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

    /// The getRates request for a shipment: the Amazon channel for an order
    /// (Amazon knows the address; nothing of the buyer is fetched or kept),
    /// the external channel for an explicit ship-to.
    async fn prepare(
        &self,
        seller: &SellerSettings,
        shipment: &ShipmentSpec,
        deadline: &Deadline,
    ) -> Result<Prepared, LabelError> {
        // A shipment that is no Amazon order belongs to the seller's first
        // marketplace; a seller served in all its marketplaces (none
        // listed) to the one of the warehouse's country.
        let first_marketplace = seller
            .marketplaces
            .first()
            .map(|m| m.as_str().to_string())
            .or_else(|| {
                domain::region::marketplace_for_country(
                    seller.region,
                    &shipment.ship_from.country_code,
                )
                .map(|m| m.id.to_string())
            })
            .unwrap_or_default();
        let (channel, order, ship_to) = match (&shipment.order_number, &shipment.ship_to) {
            (Some(number), None) => {
                let order = self.order(seller, number, deadline).await?;
                (
                    ChannelDetails::amazon(order.order_id.clone()),
                    Some(order),
                    None,
                )
            }
            (None, Some(to)) => (ChannelDetails::external(), None, Some(address(to))),
            _ => {
                return Err(LabelError::Invalid(
                    "`shipment` needs exactly one of `order_number` and `ship_to`".into(),
                ));
            }
        };
        let marketplace_id = order
            .as_ref()
            .and_then(|o| o.sales_channel.marketplace_id.clone())
            .unwrap_or(first_marketplace);
        let default_currency = shipment
            .packages
            .iter()
            .flat_map(|p| {
                p.insured_value
                    .iter()
                    .chain(p.items.iter().filter_map(|i| i.value.as_ref()))
            })
            .map(|m| m.currency.clone())
            .next()
            .or_else(|| {
                order.as_ref().and_then(|o| {
                    o.order_items
                        .iter()
                        .find_map(|i| i.product.price.as_ref()?.unit_price.as_ref())
                        .map(|m| m.currency_code.clone())
                })
            })
            .unwrap_or_else(|| marketplace_currency(&marketplace_id).to_string());
        let mut packages = Vec::new();
        for (n, p) in shipment.packages.iter().enumerate() {
            let field = |f: &str| format!("shipment/packages/{n}/{f}");
            check_serial_numbers(n, p, order.is_some())?;
            let mut items = Vec::new();
            let mut total: Option<Decimal> = Some(zero()?);
            for (k, item) in p.items.iter().enumerate() {
                let (identifier, order_price) = match &order {
                    Some(o) => {
                        let (id, price) = order_line(o, item)?;
                        (id, price)
                    }
                    None => (item.order_item_id.as_ref().map(|i| i.to_string()), None),
                };
                let unit_value = match (&item.value, order_price) {
                    (Some(v), _) => Some(v.clone()),
                    (None, Some(p)) => Some(p),
                    (None, None) => None,
                };
                total = match (&total, &unit_value) {
                    (Some(t), Some(v)) if v.currency == default_currency => {
                        v.amount.times(item.quantity).and_then(|line| add(t, &line))
                    }
                    _ => None,
                };
                items.push(amazon::Item {
                    quantity: item.quantity,
                    item_value: unit_value
                        .as_ref()
                        .map(|v| currency(v, &format!("{}/items/{k}/value", field(""))))
                        .transpose()?,
                    description: item.description.clone(),
                    item_identifier: identifier,
                    weight: item
                        .weight
                        .as_ref()
                        .map(|w| {
                            Ok::<_, LabelError>(amazon::Weight {
                                unit: w.unit.as_str().to_string(),
                                value: amazon_decimal(&w.value, &field("items/weight"))?,
                            })
                        })
                        .transpose()?,
                    serial_numbers: item.serial_numbers.clone(),
                });
            }
            let insured = match (&p.insured_value, total) {
                (Some(v), _) => v.clone(),
                (None, Some(t)) => Money {
                    amount: t,
                    currency: default_currency.clone(),
                },
                (None, None) => Money {
                    amount: zero()?,
                    currency: default_currency.clone(),
                },
            };
            packages.push(amazon::Package {
                dimensions: amazon::Dimensions {
                    length: amazon_decimal(&p.dimensions.length, &field("dimensions/length"))?,
                    width: amazon_decimal(&p.dimensions.width, &field("dimensions/width"))?,
                    height: amazon_decimal(&p.dimensions.height, &field("dimensions/height"))?,
                    unit: p.dimensions.unit.as_str().to_string(),
                },
                weight: amazon::Weight {
                    unit: p.weight.unit.as_str().to_string(),
                    value: amazon_decimal(&p.weight.value, &field("weight/value"))?,
                },
                insured_value: currency(&insured, &field("insured_value"))?,
                package_client_reference_id: p.package_id.clone(),
                items,
            });
        }
        let mut ids: Vec<&str> = packages
            .iter()
            .map(|p| p.package_client_reference_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != packages.len() {
            return Err(LabelError::Invalid(
                "every package of a shipment needs its own `package_id`".into(),
            ));
        }
        let deliver_by = order.as_ref().and_then(|o| {
            o.fulfillment
                .as_ref()?
                .deliver_by_window
                .as_ref()?
                .latest_date_time
        });
        let amazon_order_id = order
            .as_ref()
            .and_then(|o| AmazonOrderId::new(&o.order_id).ok());
        Ok(Prepared {
            request: GetRatesRequest {
                ship_to,
                ship_from: address(&shipment.ship_from),
                return_to: shipment.return_to.as_ref().map(address),
                ship_date: shipment.ship_date,
                packages,
                channel_details: channel,
            },
            channel: if amazon_order_id.is_some() {
                Channel::Amazon
            } else {
                Channel::External
            },
            amazon_order_id,
            marketplace_id,
            deliver_by,
        })
    }

    /// The Amazon order behind a WMS order number, checked to be shippable.
    /// Asks for `FULFILLMENT` only: no buyer data is fetched.
    async fn order(
        &self,
        seller: &SellerSettings,
        number: &str,
        deadline: &Deadline,
    ) -> Result<Order, LabelError> {
        let from_ledger = self
            .ledger
            .find_by_wms_order_number(&seller.seller_id, number)
            .await?
            .map(|e| e.amazon_order_id);
        let id = match from_ledger {
            Some(id) => id,
            None => {
                let bare = number
                    .strip_prefix(seller.order_prefix.as_str())
                    .unwrap_or(number);
                AmazonOrderId::new(bare)
                    .or_else(|_| AmazonOrderId::new(number))
                    .map_err(|_| LabelError::UnknownOrder {
                        number: number.to_string(),
                    })?
            }
        };
        let call = GetOrder {
            order_id: id.clone(),
            included_data: vec![IncludedData::Fulfillment],
        };
        let order = match self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await
        {
            Ok(answer) => answer.order,
            Err(SpApiError::Amazon { status: 404, .. }) => {
                return Err(LabelError::UnknownOrder {
                    number: number.to_string(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let merchant = order
            .fulfillment
            .as_ref()
            .and_then(|f| f.fulfilled_by.as_deref())
            .is_none_or(|by| by == "MERCHANT");
        let status = order.status();
        if !merchant
            || !matches!(
                status,
                Some(OrderStatus::Unshipped | OrderStatus::PartiallyShipped)
            )
        {
            return Err(LabelError::OrderNotShippable {
                order: id.to_string(),
                status: match (merchant, status) {
                    (false, _) => "fulfilled by Amazon".to_string(),
                    (true, Some(s)) => s.as_str().to_string(),
                    (true, None) => "an unknown status".to_string(),
                },
            });
        }
        Ok(order)
    }

    // ---- purchase ----------------------------------------------------------

    async fn purchase(
        &self,
        seller: &SellerSettings,
        request: &PurchaseRequest,
        deadline: &Deadline,
    ) -> Result<PurchasedLabel, LabelError> {
        let hash = payload_hash(&LabelOperation::Purchase(request.clone()))?;
        self.idempotent(seller, &request.idempotency_key, hash, deadline, || async {
            if let Some(bought) = self
                .resume_purchase(seller, &request.idempotency_key, &request.label, deadline)
                .await?
            {
                return Ok(bought);
            }
            let quote = self
                .labels
                .get_rate_quote(&seller.seller_id, &request.request_token)
                .await?
                .ok_or_else(|| LabelError::UnknownRateToken {
                    token: request.request_token.clone(),
                })?;
            let now = self.now();
            if quote.token_expires_at <= now {
                return Err(LabelError::RateTokenExpired {
                    token: request.request_token.clone(),
                    expired_at: Some(quote.token_expires_at),
                });
            }
            let quote: Quote = from_json("rate quote", &quote.payload)?;
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
            let inputs = self
                .checked_inputs(
                    seller,
                    &quote,
                    &request.request_token,
                    &rate,
                    request.additional_inputs.as_ref(),
                    deadline,
                )
                .await?;
            self.buy(
                seller,
                &quote,
                &request.request_token,
                &rate,
                &request.label,
                inputs,
                &request.idempotency_key,
                deadline,
            )
            .await
        })
        .await
    }

    async fn one_click(
        &self,
        seller: &SellerSettings,
        request: &OneClickRequest,
        deadline: &Deadline,
    ) -> Result<PurchasedLabel, LabelError> {
        let hash = payload_hash(&LabelOperation::OneClick(request.clone()))?;
        self.idempotent(seller, &request.idempotency_key, hash, deadline, || async {
            if let Some(bought) = self
                .resume_purchase(seller, &request.idempotency_key, &request.label, deadline)
                .await?
            {
                return Ok(bought);
            }
            let with_inputs = request.additional_inputs.is_some();
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
            let inputs = self
                .checked_inputs(
                    seller,
                    &quote,
                    &token,
                    &rate,
                    request.additional_inputs.as_ref(),
                    deadline,
                )
                .await?;
            self.buy(
                seller,
                &quote,
                &token,
                &rate,
                &request.label,
                inputs,
                &request.idempotency_key,
                deadline,
            )
            .await
        })
        .await
    }

    /// Runs `buy` at most once per key (Powertools guarantees), waiting a
    /// while for a concurrent call with the same key; a replay answers the
    /// stored label with its stored (or re-fetched) files.
    async fn idempotent<F, Fut>(
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
    async fn buy(
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

    /// The schema of a rate's additional inputs (getAdditionalInputs).
    async fn inputs_schema(
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
    async fn checked_inputs(
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
    async fn additional_inputs(
        &self,
        seller: &SellerSettings,
        request: &AdditionalInputsRequest,
        deadline: &Deadline,
    ) -> Result<AdditionalInputsResult, LabelError> {
        let stored = self
            .labels
            .get_rate_quote(&seller.seller_id, &request.request_token)
            .await?
            .ok_or_else(|| LabelError::UnknownRateToken {
                token: request.request_token.clone(),
            })?;
        if stored.token_expires_at <= self.now() {
            return Err(LabelError::RateTokenExpired {
                token: request.request_token.clone(),
                expired_at: Some(stored.token_expires_at),
            });
        }
        let quote: Quote = from_json("rate quote", &stored.payload)?;
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

    /// A purchase a run before this one asked Amazon for under the same key
    /// and never recorded (it died, or lost Amazon's answer): the same
    /// request again, which Amazon answers with the label it sold then (its
    /// idempotency key) — quoting again would fail, the order being shipped
    /// by then. `None` when no run got that far.
    async fn resume_purchase(
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

    /// The files of a replayed purchase: stored ones, else Amazon's again.
    async fn replay_documents(
        &self,
        seller: &SellerSettings,
        purchase: &Purchase,
        deadline: &Deadline,
    ) -> Result<Vec<(String, Vec<Document>)>, LabelError> {
        if purchase.documents_stored {
            let stored = self
                .labels
                .get_documents(&seller.seller_id, &purchase.shipment_id)
                .await?;
            if !stored.is_empty() {
                return Ok(purchase
                    .packages
                    .iter()
                    .map(|p| {
                        (
                            p.package_id.clone(),
                            stored
                                .iter()
                                .filter(|d| d.package_id == p.package_id)
                                .map(|d| Document {
                                    kind: d.doc_type.clone(),
                                    format: d.format.clone(),
                                    dpi: purchase.dpi,
                                    content_base64: d.contents.clone(),
                                })
                                .collect(),
                        )
                    })
                    .collect());
            }
        }
        let mut out = Vec::new();
        for p in &purchase.packages {
            let docs = self
                .fetch_documents(
                    seller,
                    purchase,
                    &p.package_id,
                    purchase.format,
                    purchase.dpi,
                    deadline,
                )
                .await?;
            out.push((p.package_id.clone(), docs.1));
        }
        Ok(out)
    }

    async fn fetch_documents(
        &self,
        seller: &SellerSettings,
        purchase: &Purchase,
        package_id: &str,
        format: LabelFormat,
        dpi: Option<u32>,
        deadline: &Deadline,
    ) -> Result<(Option<String>, Vec<Document>), LabelError> {
        let call = GetShipmentDocuments {
            shipment_id: purchase.shipment_id.clone(),
            package_client_reference_id: package_id.to_string(),
            format: amazon::DocumentFormat::parse(format.as_str()),
            dpi,
            business: Business::for_marketplace(&purchase.marketplace_id),
        };
        let answer = self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?
            .payload;
        let detail = answer.package_document_detail;
        Ok((
            detail.tracking_id.clone(),
            detail
                .package_documents
                .iter()
                .map(|d| document(d, dpi))
                .collect(),
        ))
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

    // ---- documents, cancel, track ------------------------------------------

    async fn documents(
        &self,
        seller: &SellerSettings,
        request: &DocumentsRequest,
        deadline: &Deadline,
    ) -> Result<DocumentsResult, LabelError> {
        let (_, purchase) = self.bought(seller, &request.shipment_id).await?;
        let package = match &request.package_id {
            Some(id) => purchase
                .packages
                .iter()
                .find(|p| &p.package_id == id)
                .ok_or_else(|| {
                    LabelError::Invalid(format!(
                        "package {id} is not in shipment {}: its packages are {}",
                        purchase.shipment_id,
                        purchase
                            .packages
                            .iter()
                            .map(|p| p.package_id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            None => purchase
                .packages
                .first()
                .ok_or_else(|| LabelError::Internal("a stored label without packages".into()))?,
        };
        let format = request.format.unwrap_or(purchase.format);
        if !purchase.rate.prints(format) {
            return Err(LabelError::UnsupportedLabelFormat(format!(
                "{} cannot print {} labels; it prints {}",
                purchase.rate.service_name,
                format.as_str(),
                purchase
                    .rate
                    .label_formats()
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let dpi = request.dpi.or(if format == purchase.format {
            purchase.dpi
        } else {
            None
        });
        let (tracking, documents) = self
            .fetch_documents(
                seller,
                &purchase,
                &package.package_id,
                format,
                dpi,
                deadline,
            )
            .await?;
        Ok(DocumentsResult {
            shipment_id: purchase.shipment_id.clone(),
            package_id: package.package_id.clone(),
            tracking_id: tracking.or_else(|| package.tracking_id.clone()),
            documents,
        })
    }

    async fn cancel(
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

    async fn track(
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

fn zero() -> Result<Decimal, LabelError> {
    Decimal::new("0").ok_or_else(|| LabelError::Internal("zero is not a decimal".into()))
}

/// `a + b` for non-negative decimals, exact.
fn add(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let scale = |d: &Decimal| d.as_str().split_once('.').map_or(0, |(_, f)| f.len());
    let s = scale(a).max(scale(b));
    let units = |d: &Decimal| -> Option<u128> {
        let (i, f) = d.as_str().split_once('.').unwrap_or((d.as_str(), ""));
        format!("{i}{f:0<s$}").parse().ok()
    };
    let sum = units(a)?.checked_add(units(b)?)?;
    let mut text = format!("{sum:0>width$}", width = s + 1);
    if s > 0 {
        text.insert(text.len() - s, '.');
    }
    Decimal::new(text)
}

/// An item's serial numbers go to Amazon only with an Amazon order's label,
/// at most one per unit, each once in the package.
fn check_serial_numbers(
    n: usize,
    package: &wms::label::PackageSpec,
    amazon_order: bool,
) -> Result<(), LabelError> {
    let mut seen = std::collections::HashSet::new();
    for (k, item) in package.items.iter().enumerate() {
        if item.serial_numbers.is_empty() {
            continue;
        }
        let at = format!("`/shipment/packages/{n}/items/{k}/serial_numbers`");
        if !amazon_order {
            return Err(LabelError::SerialNumbersInvalid(format!(
                "{at}: Amazon takes serial numbers only on a label for an Amazon order (`order_number`); leave them out for other shipments"
            )));
        }
        if item.serial_numbers.len() > item.quantity as usize {
            return Err(LabelError::SerialNumbersInvalid(format!(
                "{at} has {} serial numbers for {} unit(s): at most one per unit",
                item.serial_numbers.len(),
                item.quantity
            )));
        }
        for serial in &item.serial_numbers {
            if !seen.insert(serial.as_str()) {
                return Err(LabelError::SerialNumbersInvalid(format!(
                    "{at} repeats a serial number of the package: each unit has its own"
                )));
            }
        }
    }
    Ok(())
}

/// The order line of a package item: its order item id and unit price.
fn order_line(
    order: &Order,
    item: &wms::label::ItemSpec,
) -> Result<(Option<String>, Option<Money>), LabelError> {
    let line = match (&item.order_item_id, &item.sku) {
        (Some(id), _) => Some(
            order
                .order_items
                .iter()
                .find(|i| i.order_item_id == id.as_str())
                .ok_or_else(|| LabelError::UnknownItem {
                    order: order.order_id.clone(),
                    what: format!("order item {id}"),
                })?,
        ),
        (None, Some(sku)) => Some(
            order
                .order_items
                .iter()
                .find(|i| i.product.seller_sku.as_deref() == Some(sku.as_str()))
                .ok_or_else(|| LabelError::UnknownItem {
                    order: order.order_id.clone(),
                    what: format!("SKU {sku}"),
                })?,
        ),
        (None, None) => None,
    };
    let Some(line) = line else {
        return Ok((None, None));
    };
    let price = line
        .product
        .price
        .as_ref()
        .and_then(|p| p.unit_price.as_ref())
        .and_then(|m| {
            Some(Money {
                amount: Decimal::new(m.amount.clone())?,
                currency: m.currency_code.clone(),
            })
        });
    Ok((Some(line.order_item_id.clone()), price))
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

/// Decodes a label file (tests and the demo write it to disk).
pub fn decode_document(d: &Document) -> Result<Vec<u8>, LabelError> {
    base64::engine::general_purpose::STANDARD
        .decode(d.content_base64.expose().as_bytes())
        .map_err(|e| LabelError::Internal(format!("label file is not base64: {e}")))
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

    #[test]
    fn decimals_add_exactly() {
        let d = |s: &str| Decimal::new(s).unwrap();
        assert_eq!(add(&d("19.95"), &d("0.05")).unwrap().as_str(), "20.00");
        assert_eq!(add(&d("0"), &d("12.5")).unwrap().as_str(), "12.5");
        assert_eq!(add(&d("1"), &d("2")).unwrap().as_str(), "3");
    }
}
