//! One batch of shipment messages, package by package: parse and validate
//! the message, find the seller and the order, bind the package id, claim
//! the package in its order's record, then tell Amazon — `confirmShipment`
//! per package, or one order-fulfilment feed for a seller with at least
//! [`ConfirmOptions::feed_threshold`] packages in the batch ([`crate::feed`]).
//!
//! Once per package, step by step:
//! 1. the package id is **bound** to the message (conditional put; the same
//!    message finds its own binding, another message under the same id is
//!    refused);
//! 2. the package is **claimed** in the order's record (versioned write):
//!    its items and units are reserved, it gets its `packageReferenceId`, and
//!    a lease until the end of this invocation. A package already confirmed
//!    is acknowledged without calling Amazon; one under a live lease is left
//!    to its run; one whose lease ran out is taken over — after checking
//!    Amazon's order for it, since the run that held it may have confirmed
//!    it before dying;
//! 3. Amazon is told; the record says **confirmed**. A refusal frees the
//!    units, keeps the reason in the record, releases the binding (so a
//!    corrected message may reuse the id) and dead-letters the message with
//!    the reason; throttling and 5xx end the lease and let SQS redeliver.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::settings::{Authorization, SellerSettings};
use domain::{AmazonOrderId, ClientCode, Deadline, MarketplaceId, SellerId};
use lambda_kit::batch::DeadLetterSink;
use lambda_kit::metrics::{Counter, Job, Metrics};
use orders::SentOrder;
use serde::Serialize;
use spapi::models::orders::IncludedData;
use spapi::models::orders_v0::{ConfirmShipmentOrderItem, ConfirmShipmentRequest, PackageDetail};
use spapi::ops::orders::GetOrder;
use spapi::ops::orders_v0::ConfirmShipment;
use spapi::{SellerContext, SpApi, SpApiError};
use store::{
    Binding, Clock, Ledger, OrderShipments, PackageBinding, PackageRecord, SettingsStore,
    ShipmentRecords, Via, update_shipments,
};
use wms::ShipmentMessage;

use crate::error::ShipmentError;
use crate::plan::{self, Claimed, Incoming};
use crate::ports::{FeedJobQueue, ShipmentQueue};

/// The knobs; the defaults are the production values.
#[derive(Clone, Debug)]
pub struct ConfirmOptions {
    /// A seller with at least this many packages in one batch gets one
    /// `POST_ORDER_FULFILLMENT_DATA` feed instead of one `confirmShipment`
    /// per package (ARCHITECTURE.md, "Shipment confirmation").
    pub feed_threshold: usize,
    /// Shipment records are kept this long after their last change (as the
    /// ledger keeps orders).
    pub record_days: i64,
    /// Time kept for one call to Amazon; with less left, the package is left
    /// for SQS to deliver again.
    pub call_budget: Duration,
    /// A claim's lease outlives the invocation's deadline by this much.
    pub lease_margin: Duration,
    /// First look at a submitted feed (then doubling, at most 15 minutes).
    pub feed_check_delay: Duration,
    /// Feed checks before a feed that never finishes is given up on (its
    /// packages then go through `confirmShipment`, checked first).
    pub feed_max_checks: u32,
    /// The shipment queue's name: a package a feed refused is dead-lettered
    /// naming it as its source, so a replay sends it back there.
    pub shipment_queue: Option<String>,
}

impl Default for ConfirmOptions {
    fn default() -> Self {
        Self {
            feed_threshold: 25,
            record_days: 120,
            call_budget: Duration::from_secs(10),
            lease_margin: Duration::from_secs(30),
            feed_check_delay: Duration::from_secs(120),
            feed_max_checks: 40,
            shipment_queue: None,
        }
    }
}

// Looks like the other functions' ports structs (Puller, Pusher...): only what this job uses.
/// Everything the function needs, wired once per container.
#[derive(Clone)]
pub struct Confirmer {
    pub api: SpApi,
    pub settings: Arc<dyn SettingsStore>,
    pub ledger: Arc<dyn Ledger>,
    pub records: Arc<dyn ShipmentRecords>,
    pub feed_jobs: Arc<dyn FeedJobQueue>,
    pub shipments: Arc<dyn ShipmentQueue>,
    pub dead_letters: Arc<dyn DeadLetterSink>,
    pub clock: Arc<dyn Clock>,
    pub options: ConfirmOptions,
    /// Counts confirmations, refusals and feeds (flushed by the handler).
    pub metrics: Metrics,
}

/// The `audit` field of the lines that say how a package's confirmation ended.
pub const CONFIRM_ACTION: &str = "shipment.confirm";

/// How a package that needs nothing more ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// Amazon has it now (via `confirmShipment`, or found on its order).
    Confirmed(Via),
    /// Sent in a feed; the feed check confirms it or surfaces the refusal.
    Submitted,
    /// A repeat of a package already confirmed (or in a feed): nobody called.
    Duplicate,
    /// A label bought through the label function: Amazon knew already.
    Label,
}

/// A package claimed for confirmation.
#[derive(Clone, Debug)]
pub struct Claim {
    pub settings: Arc<SellerSettings>,
    pub order_id: AmazonOrderId,
    pub marketplace_id: MarketplaceId,
    pub package: PackageRecord,
    /// Taken over from a run that may have confirmed it: check Amazon first.
    pub takeover: bool,
}

impl Claim {
    pub fn seller(&self) -> &SellerId {
        &self.settings.seller_id
    }
}

/// After step 2: finished, or claimed and waiting for Amazon.
#[derive(Debug)]
pub enum Prepared {
    Done(Done),
    Claimed(Box<Claim>),
}

/// Seller settings looked up once per batch, by seller id or client code.
#[derive(Default)]
pub struct Sellers {
    by_id: HashMap<SellerId, Option<Arc<SellerSettings>>>,
    by_code: Option<HashMap<ClientCode, SellerId>>,
}

impl Sellers {
    async fn get(
        &mut self,
        store: &dyn SettingsStore,
        id: &SellerId,
    ) -> Result<Option<Arc<SellerSettings>>, ShipmentError> {
        if let Some(found) = self.by_id.get(id) {
            return Ok(found.clone());
        }
        let found = store.get_settings(id).await?.map(Arc::new);
        self.by_id.insert(id.clone(), found.clone());
        Ok(found)
    }

    /// The seller a message is for, or why there is none.
    pub async fn resolve(
        &mut self,
        store: &dyn SettingsStore,
        msg: &ShipmentMessage,
    ) -> Result<Arc<SellerSettings>, ShipmentError> {
        let by_code = match &msg.client_code {
            Some(code) => {
                if self.by_code.is_none() {
                    let all = store.list_sellers().await?;
                    self.by_code = Some(
                        all.into_iter()
                            .map(|s| (s.client_code, s.seller_id))
                            .collect(),
                    );
                }
                let id = self
                    .by_code
                    .as_ref()
                    .and_then(|m| m.get(code))
                    .cloned()
                    .ok_or_else(|| {
                        ShipmentError::refused(format!(
                            "unknown client code {code}: no seller is onboarded with it; check `/client_code` or onboard the seller first"
                        ))
                    })?;
                Some(id)
            }
            None => None,
        };
        let id = match (&msg.seller_id, by_code) {
            (Some(given), Some(from_code)) if *given != from_code => {
                return Err(ShipmentError::refused(format!(
                    "seller id {given} and client code {} belong to different sellers; send one of them, or the matching pair",
                    msg.client_code
                        .as_ref()
                        .map(|c| c.as_str())
                        .unwrap_or_default()
                )));
            }
            (Some(given), _) => given.clone(),
            (None, Some(from_code)) => from_code,
            (None, None) => {
                return Err(ShipmentError::refused(
                    "the message names no seller: give `/seller_id` or `/client_code`",
                ));
            }
        };
        let settings = self.get(store, &id).await?.ok_or_else(|| {
            ShipmentError::refused(format!(
                "unknown seller {id}: no settings for it; onboard the seller (`connector-admin seller put --file SETTINGS.json --refresh-token-stdin`, README \"Deploy\") and send the message again"
            ))
        })?;
        if !settings.enabled || !settings.jobs.shipments {
            return Err(ShipmentError::refused(format!(
                "shipment confirmation is disabled for seller {id} (settings `enabled` / `jobs.shipments`): enable it with `connector-admin seller enable {id} --job shipments`, then replay the message with `connector-admin dlq replay --queue shipments --message MESSAGE-ID`"
            )));
        }
        if matches!(settings.authorization, Authorization::Broken { .. }) {
            return Err(ShipmentError::refused(format!(
                "seller {id} has revoked the application's authorisation: ask the seller to authorise the app again, store the new token with `connector-admin seller put {id} --refresh-token-stdin`, then replay the message with `connector-admin dlq replay --queue shipments --message MESSAGE-ID`"
            )));
        }
        Ok(settings)
    }
}

impl Confirmer {
    pub(crate) fn expires_at(&self, now: DateTime<Utc>) -> i64 {
        (now + TimeDelta::days(self.options.record_days)).timestamp()
    }

    /// Changes the order's shipment record with `change` (optimistically,
    /// retried on a lost race), its expiry pushed to `record_days` from now.
    pub(crate) async fn update_record<T: Send>(
        &self,
        seller: &SellerId,
        order_id: &AmazonOrderId,
        now: DateTime<Utc>,
        change: impl FnMut(&mut OrderShipments) -> T + Send,
    ) -> Result<(T, OrderShipments), store::StoreError> {
        update_shipments(
            self.records.as_ref(),
            seller,
            order_id,
            now,
            self.expires_at(now),
            change,
        )
        .await
    }

    fn lease_until(&self, now: DateTime<Utc>, deadline: &Deadline) -> DateTime<Utc> {
        let lease = deadline.remaining() + self.options.lease_margin;
        now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::hours(1))
    }

    /// Steps 1 and 2 for one message body.
    pub async fn prepare(
        &self,
        body: &str,
        sellers: &mut Sellers,
        deadline: &Deadline,
    ) -> Result<Prepared, ShipmentError> {
        let msg =
            ShipmentMessage::parse(body).map_err(|e| ShipmentError::refused(e.to_string()))?;
        let settings = sellers.resolve(self.settings.as_ref(), &msg).await?;
        let seller = &settings.seller_id;
        let entry = match msg.amazon_order_id(&settings.order_prefix) {
            Some(id) => self.ledger.get_order(seller, &id).await?,
            None => None,
        };
        let entry = match entry {
            Some(e) => e,
            None => self
                .ledger
                .find_by_wms_order_number(seller, &msg.order_number)
                .await?
                .ok_or_else(|| {
                    ShipmentError::refused(format!(
                        "unknown order {} for seller {seller}: the connector never sent it to the WMS (or its record expired); check `/order_number` (prefix {:?} or the bare Amazon order id)",
                        msg.order_number, settings.order_prefix
                    ))
                })?,
        };
        let order_id = entry.amazon_order_id.clone();
        let sent: SentOrder = entry
            .payload
            .as_ref()
            .and_then(|p| serde_json::from_str(p.expose()).ok())
            .ok_or_else(|| {
                ShipmentError::refused(format!(
                    "order {order_id}: the connector's record of what it sent is missing or unreadable, so the items cannot be checked; confirm this package in Seller Central"
                ))
            })?;
        let hash = plan::payload_hash(&msg, &order_id);
        let now = self.clock.now();
        let expires_at = self.expires_at(now);
        let binding = PackageBinding {
            seller_id: seller.clone(),
            package_id: msg.package_id.clone(),
            amazon_order_id: order_id.clone(),
            payload_hash: hash.clone(),
            bound_at: now,
            expires_at,
        };
        if let Binding::Existing(other) = self.records.bind_package(&binding).await?
            && (other.amazon_order_id != order_id || other.payload_hash != hash)
        {
            return Err(ShipmentError::refused(format!(
                "package id {} was already used for a different shipment (order {}, or other lines, carrier, tracking number or date): a package id names one package for good; send this package with a new package_id",
                msg.package_id, other.amazon_order_id
            )));
        }
        let carrier = carriers::map_for_seller(
            &msg.carrier,
            msg.service.as_deref(),
            &settings.carrier_overrides,
            &settings.shipping,
        );
        let incoming = Incoming {
            message: &msg,
            body,
            payload_hash: &hash,
            carrier: &carrier,
            sent: &sent,
            default_supply_source: settings.shipping.ship_from_supply_source_id.as_deref(),
        };
        let lease_until = self.lease_until(now, deadline);
        let (decision, record) = self
            .update_record(seller, &order_id, now, |r: &mut OrderShipments| {
                plan::claim(r, &incoming, now, lease_until)
            })
            .await?;
        let package = || {
            record
                .packages
                .get(&msg.package_id)
                .cloned()
                .ok_or_else(|| {
                    ShipmentError::refused(format!(
                        "package {} vanished from order {order_id}'s record while being claimed",
                        msg.package_id
                    ))
                })
        };
        let log = |what: &str| {
            tracing::info!(seller = %seller, order = %order_id, package = %msg.package_id, carrier = %carrier.carrier_code, rule = ?carrier.rule, "{what}");
        };
        if decision == Claimed::New && sent.needs_buy_shipping() {
            self.buy_shipping_bypassed(seller, &order_id, &msg.package_id, &carrier, &sent);
        }
        match decision {
            Claimed::New | Claimed::TakenOver => {
                log("package claimed");
                Ok(Prepared::Claimed(Box::new(Claim {
                    marketplace_id: sent.marketplace_id.clone(),
                    order_id: order_id.clone(),
                    package: package()?,
                    takeover: decision == Claimed::TakenOver,
                    settings: settings.clone(),
                })))
            }
            Claimed::AlreadyConfirmed => {
                log("package already confirmed: acknowledged without calling Amazon");
                Ok(Prepared::Done(Done::Duplicate))
            }
            Claimed::InFeed {
                feed_id,
                message_id,
            } => {
                log("package already sent in a feed: acknowledged, the feed check settles it");
                self.recheck_later(seller, &order_id, &msg.package_id, &feed_id, message_id)
                    .await
                    .map(Prepared::Done)
            }
            Claimed::Label => {
                log("label bought through the label function: Amazon knows the shipment");
                Ok(Prepared::Done(Done::Label))
            }
            Claimed::InFlight => Err(ShipmentError::InFlight {
                seller: seller.clone(),
                package_id: msg.package_id.clone(),
            }),
            Claimed::Refused(reason) => {
                self.records
                    .release_package(seller, &msg.package_id, &hash)
                    .await?;
                Err(ShipmentError::Refused(reason))
            }
        }
    }

    /// A package of an order that had to ship on a Buy Shipping label (e.g.
    /// Seller Fulfilled Prime) whose tracking number is no label bought
    /// through the label function: it is still confirmed (a late or missing
    /// confirmation hurts the seller more), but never silently — a WARN line
    /// and the `BuyShippingBypassed` metric, once per package.
    fn buy_shipping_bypassed(
        &self,
        seller: &SellerId,
        order_id: &AmazonOrderId,
        package_id: &str,
        carrier: &carriers::CarrierMapping,
        sent: &SentOrder,
    ) {
        self.metrics.count(
            Job::ShipmentConfirm,
            Some(seller),
            Counter::BuyShippingBypassed,
            1,
        );
        tracing::warn!(
            alert = "buy_shipping.bypassed",
            seller = %seller,
            order = %order_id,
            package = %package_id,
            carrier = %carrier.carrier_code,
            reasons = %sent.buy_shipping.join(","),
            "order had to ship on a label bought through Amazon (Buy Shipping), but this package's tracking number is no label the connector bought for it; it is confirmed to Amazon as sent — buy labels for such orders through the label function (shared/wms/CONTRACTS.md)"
        );
    }

    /// Step 3 through `confirmShipment` (after checking Amazon's order for
    /// a package taken over).
    pub async fn confirm(&self, claim: &Claim, deadline: &Deadline) -> Result<Done, ShipmentError> {
        let ctx = SellerContext::from(claim.settings.as_ref());
        let package = &claim.package;
        if claim.takeover {
            if !deadline.allows(self.options.call_budget) {
                return self
                    .failed(claim, ShipmentError::OutOfTime("checking the order".into()))
                    .await;
            }
            let get = GetOrder {
                order_id: claim.order_id.clone(),
                included_data: vec![IncludedData::Packages],
            };
            match self.api.call(&ctx, &get, deadline).await {
                Ok(answer) => {
                    let reference = package.reference_id.to_string();
                    if answer
                        .order
                        .packages
                        .iter()
                        .any(|p| p.package_reference_id == reference)
                    {
                        tracing::info!(seller = %claim.seller(), order = %claim.order_id, package = %package.package_id, "package found on Amazon's order: confirmed by an earlier run");
                        let answer = format!(
                            "getOrder showed package reference {reference} on the order (confirmed by an earlier run)"
                        );
                        return self.finish(claim, Via::Verified, &answer).await;
                    }
                }
                Err(e) => return self.failed(claim, e.into()).await,
            }
        }
        if !deadline.allows(self.options.call_budget) {
            return self
                .failed(claim, ShipmentError::OutOfTime("confirmShipment".into()))
                .await;
        }
        let call = ConfirmShipment {
            order_id: claim.order_id.clone(),
            request: request(claim),
        };
        match self.api.call(&ctx, &call, deadline).await {
            Ok(()) => {
                self.finish(claim, Via::Api, "confirmShipment accepted (HTTP 204)")
                    .await
            }
            // A 2xx with a body we did not expect: Amazon accepted it.
            Err(SpApiError::Decode {
                status, request_id, ..
            }) if (200..300).contains(&status) => {
                let answer = format!(
                    "confirmShipment accepted (HTTP {status}, an unexpected body; request id {})",
                    request_id.as_deref().unwrap_or("none")
                );
                self.finish(claim, Via::Api, &answer).await
            }
            Err(e) => self.failed(claim, e.into()).await,
        }
    }

    /// Records the package confirmed, with Amazon's answer.
    pub async fn finish(
        &self,
        claim: &Claim,
        via: Via,
        answer: &str,
    ) -> Result<Done, ShipmentError> {
        self.mark_confirmed(claim.seller(), &claim.order_id, &claim.package, via, answer)
            .await?;
        Ok(Done::Confirmed(via))
    }

    pub async fn mark_confirmed(
        &self,
        seller: &SellerId,
        order_id: &AmazonOrderId,
        package: &PackageRecord,
        via: Via,
        answer: &str,
    ) -> Result<(), ShipmentError> {
        let now = self.clock.now();
        self.update_record(seller, order_id, now, |r: &mut OrderShipments| {
            plan::confirmed(r, &package.package_id, via, answer, now)
        })
        .await?;
        self.metrics.count(
            Job::ShipmentConfirm,
            Some(seller),
            Counter::ConfirmationsAccepted,
            1,
        );
        lambda_kit::audit!(
            success,
            CONFIRM_ACTION,
            seller = %seller,
            order = %order_id,
            package = %package.package_id,
            reference = package.reference_id,
            via = ?via,
            units = package.units(),
            "package confirmed"
        );
        Ok(())
    }

    /// A failure of step 3: retryable ones end the lease (the units stay
    /// reserved), the rest refuse the package with Amazon's reason.
    pub async fn failed(&self, claim: &Claim, e: ShipmentError) -> Result<Done, ShipmentError> {
        let now = self.clock.now();
        let package_id = &claim.package.package_id;
        if e.is_retryable() {
            self.update_record(
                claim.seller(),
                &claim.order_id,
                now,
                |r: &mut OrderShipments| plan::release(r, package_id, now),
            )
            .await?;
            lambda_kit::audit!(failure, CONFIRM_ACTION, seller = %claim.seller(), order = %claim.order_id, package = %package_id, error = %e, "confirmation failed; SQS will deliver the package again");
            return Err(e);
        }
        let reason = format!(
            "Amazon did not accept package {package_id} of order {}: {e}; the package was not confirmed — fix the cause (or confirm it in Seller Central) and send it again",
            claim.order_id
        );
        self.refuse(claim.seller(), &claim.order_id, &claim.package, &reason)
            .await?;
        Err(ShipmentError::Refused(reason))
    }

    /// Takes a package out of its order's record with `reason` (its units
    /// are open again) and releases its package id.
    pub async fn refuse(
        &self,
        seller: &SellerId,
        order_id: &AmazonOrderId,
        package: &PackageRecord,
        reason: &str,
    ) -> Result<(), ShipmentError> {
        let now = self.clock.now();
        let package_id = &package.package_id;
        self.update_record(seller, order_id, now, |r: &mut OrderShipments| {
            plan::refuse(r, package_id, reason, now)
        })
        .await?;
        self.records
            .release_package(seller, package_id, &package.payload_hash)
            .await?;
        self.metrics.count(
            Job::ShipmentConfirm,
            Some(seller),
            Counter::ConfirmationsRejected,
            1,
        );
        lambda_kit::audit!(failure, CONFIRM_ACTION, seller = %seller, order = %order_id, package = %package_id, reason, "package refused");
        Ok(())
    }
}

/// The `confirmShipment` body of a claimed package.
pub fn request(claim: &Claim) -> ConfirmShipmentRequest {
    let p = &claim.package;
    ConfirmShipmentRequest {
        marketplace_id: claim.marketplace_id.as_str().to_string(),
        package_detail: PackageDetail {
            package_reference_id: p.reference_id.to_string(),
            carrier_code: p.carrier_code.clone(),
            carrier_name: p.carrier_name.clone(),
            shipping_method: p.shipping_method.clone(),
            tracking_number: p.tracking_number.clone(),
            ship_date: spapi::ops::iso(&p.ship_date),
            ship_from_supply_source_id: p.ship_from_supply_source_id.clone(),
            order_items: p
                .items
                .iter()
                .map(|i| ConfirmShipmentOrderItem {
                    order_item_id: i.order_item_id.clone(),
                    quantity: i.quantity,
                    transparency_codes: i.transparency_codes.clone(),
                })
                .collect(),
        },
        cod_collection_method: p.cod_collection_method.clone(),
    }
}
