//! The order-fulfilment feed: for a seller with many packages in one batch,
//! one `POST_ORDER_FULFILLMENT_DATA` XML document instead of one
//! `confirmShipment` per package, then a feed check on the feed-job queue
//! until Amazon's processing report says what happened to each package.
//!
//! Why a threshold (25 packages of one seller in a batch, configurable):
//! `confirmShipment` allows 2 calls per second with a burst of 10 per
//! seller, so 25 packages take about 8 seconds of quota and give a
//! synchronous, per-package answer — below that, the API is better (Amazon's
//! own advice for small volumes). A feed costs three calls whatever its size
//! (`createFeedDocument`, the upload, `createFeed` — which allows one feed
//! per 2 minutes per seller after a burst of 15) but answers only after
//! Amazon processes it, minutes later. An end-of-day wave of hundreds of
//! packages per seller would hold the `confirmShipment` bucket for minutes
//! (and every invocation of the function shares it); as feeds it is a few
//! documents.
//!
//! Nothing is dropped: every message the report refuses is dead-lettered
//! with Amazon's reason (and its units are free again); a feed that ends
//! `FATAL` or `CANCELLED`, whose report cannot be read, or that never
//! finishes sends its packages back through the shipment queue, where they
//! are checked against Amazon's order and confirmed with `confirmShipment`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use domain::{AmazonOrderId, Deadline, MarketplaceId, SellerId};
use lambda_kit::batch::{DEAD_LETTER_ACTION, DeadLetter};
use lambda_kit::metrics::{Counter, Job};
use serde::Serialize;
use spapi::SellerContext;
use spapi::documents::FeedRequest;
use spapi::models::feeds::ProcessingStatus;
use spapi::models::order_fulfillment_feed::{
    self as xml, FeedCarrier, FulfillmentItem, FulfillmentMessage,
};
use spapi::ops::feeds::CONTENT_TYPE_XML;
use store::{OrderShipments, PackageState, Via};

use crate::confirm::{Claim, Confirmer, Done};
use crate::error::ShipmentError;
use crate::plan;

// The feed-job queue's message lives with the queue (`ports`); re-exported
// here, where it has always been named.
pub use crate::ports::{FeedJob, FeedPackage};

/// What one feed check found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FeedCheck {
    pub feed_id: String,
    /// `IN_QUEUE`, `IN_PROGRESS`, `DONE`, `FATAL` or `CANCELLED`.
    pub status: String,
    pub confirmed: u32,
    /// Refused in the report: dead-lettered with Amazon's reason.
    pub refused: u32,
    /// Sent back through the shipment queue (the feed failed as a whole).
    pub resent: u32,
    /// Another check was queued.
    pub rechecked: bool,
}

fn message_for(claim: &Claim, message_id: u32) -> FulfillmentMessage {
    let p = &claim.package;
    FulfillmentMessage {
        message_id,
        amazon_order_id: claim.order_id.as_str().to_string(),
        merchant_fulfillment_id: Some(p.reference_id),
        fulfillment_date: p.ship_date,
        carrier: match &p.carrier_name {
            // The XSD's choice: CarrierCode from the list, or CarrierName.
            Some(name) if p.carrier_code == carriers::OTHER => FeedCarrier::Name(name.clone()),
            _ => FeedCarrier::Code(p.carrier_code.clone()),
        },
        shipping_method: p.shipping_method.clone(),
        tracking_number: p.tracking_number.clone(),
        cod_collection_method: p.cod_collection_method.clone(),
        items: p
            .items
            .iter()
            .map(|i| FulfillmentItem {
                order_item_id: i.order_item_id.clone(),
                quantity: i.quantity,
                transparency_codes: i.transparency_codes.clone(),
            })
            .collect(),
        ship_from_supply_source_id: p.ship_from_supply_source_id.clone(),
    }
}

type Outcomes = Vec<(usize, Result<Done, ShipmentError>)>;

/// The `audit` field of the lines that say how a feed submission ended.
pub const FEED_ACTION: &str = "shipment.feed_submit";

impl Confirmer {
    fn check_delay(&self, checks: u32) -> Duration {
        (self.options.feed_check_delay * 2u32.saturating_pow(checks.min(8)))
            .min(crate::ports::MAX_DELAY)
    }

    /// Sends one seller's claimed packages as one feed; packages that the
    /// feed schema cannot carry (a value too long, an unusual item id) and a
    /// feed Amazon refuses outright go through `confirmShipment` instead.
    pub async fn submit_feed(&self, claims: Vec<(usize, Claim)>, deadline: &Deadline) -> Outcomes {
        let mut out = Outcomes::new();
        let mut in_feed: Vec<(usize, Claim, FulfillmentMessage)> = Vec::new();
        let mut direct: Vec<(usize, Claim)> = Vec::new();
        for (i, claim) in claims {
            let m = message_for(&claim, in_feed.len() as u32 + 1);
            match m.check() {
                Ok(()) => in_feed.push((i, claim, m)),
                Err(e) => {
                    tracing::info!(seller = %claim.seller(), package = %claim.package.package_id, reason = %e, "package goes through confirmShipment instead of the feed");
                    direct.push((i, claim));
                }
            }
        }
        if let Some((_, first, _)) = in_feed.first() {
            let settings = first.settings.clone();
            let seller = settings.seller_id.clone();
            let messages: Vec<FulfillmentMessage> =
                in_feed.iter().map(|(_, _, m)| m.clone()).collect();
            let markets: Vec<MarketplaceId> = in_feed
                .iter()
                .map(|(_, c, _)| c.marketplace_id.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let submitted = match xml::envelope(seller.as_str(), &messages) {
                Ok(document) => {
                    let ctx = SellerContext::from(settings.as_ref());
                    self.api
                        .submit_feed(
                            &ctx,
                            FeedRequest {
                                feed_type: xml::FEED_TYPE,
                                marketplace_ids: &markets,
                                content_type: CONTENT_TYPE_XML,
                                document: &document,
                                feed_options: BTreeMap::new(),
                            },
                            deadline,
                        )
                        .await
                        .map_err(ShipmentError::from)
                }
                Err(e) => Err(ShipmentError::refused(e.to_string())),
            };
            match submitted {
                Ok(submission) => {
                    out.extend(
                        self.record_submission(&seller, &submission.feed_id, in_feed)
                            .await,
                    );
                }
                Err(e) if e.is_retryable() => {
                    lambda_kit::audit!(failure, FEED_ACTION, seller = %seller, error = %e, packages = in_feed.len(), "feed submission failed; SQS will deliver the packages again");
                    for (i, claim, _) in in_feed {
                        // The lease ends: the next delivery checks Amazon's
                        // order (createFeed may have gone through) and then
                        // uses confirmShipment.
                        let r = self
                            .failed(&claim, ShipmentError::Later(e.to_string()))
                            .await;
                        out.push((i, r));
                    }
                }
                Err(e) => {
                    lambda_kit::audit!(failure, FEED_ACTION, seller = %seller, error = %e, "Amazon refused the feed; confirming its packages one by one");
                    direct.extend(in_feed.into_iter().map(|(i, c, _)| (i, c)));
                }
            }
        }
        for (i, claim) in direct {
            let r = self.confirm(&claim, deadline).await;
            out.push((i, r));
        }
        out
    }

    async fn record_submission(
        &self,
        seller: &SellerId,
        feed_id: &str,
        in_feed: Vec<(usize, Claim, FulfillmentMessage)>,
    ) -> Outcomes {
        let now = self.clock.now();
        let mut out = Outcomes::new();
        let mut packages = Vec::new();
        for (i, claim, m) in in_feed {
            let package_id = claim.package.package_id.clone();
            let written = self
                .update_record(seller, &claim.order_id, now, |r: &mut OrderShipments| {
                    plan::submitted(r, &package_id, feed_id, m.message_id, now)
                })
                .await;
            packages.push(FeedPackage {
                order_id: claim.order_id.clone(),
                package_id,
                message_id: m.message_id,
            });
            out.push((
                i,
                written
                    .map(|_| Done::Submitted)
                    .map_err(ShipmentError::from),
            ));
        }
        self.metrics.count(
            Job::ShipmentConfirm,
            Some(seller),
            Counter::FeedsSubmitted,
            1,
        );
        lambda_kit::audit!(success, FEED_ACTION, seller = %seller, feed_id, packages = packages.len(), "packages sent in an order-fulfilment feed");
        let job = FeedJob {
            seller_id: seller.clone(),
            feed_id: feed_id.to_string(),
            packages,
            checks: 0,
        };
        if let Err(e) = self.feed_jobs.enqueue(&job, self.check_delay(0)).await {
            // The packages are in the feed; their next delivery finds them
            // `Submitted` and queues the check again.
            tracing::warn!(seller = %seller, feed_id, error = %e, "could not queue the feed check; the redelivered messages queue it");
            let reason = e.to_string();
            for (_, r) in out.iter_mut() {
                if r.is_ok() {
                    *r = Err(ShipmentError::Queue(crate::ports::QueueError {
                        action: "queue the feed check",
                        message: reason.clone(),
                        retryable: true,
                    }));
                }
            }
        }
        out
    }

    /// Makes sure a check waits for a package found `Submitted` again.
    pub async fn recheck_later(
        &self,
        seller: &SellerId,
        order_id: &AmazonOrderId,
        package_id: &str,
        feed_id: &str,
        message_id: u32,
    ) -> Result<Done, ShipmentError> {
        let job = FeedJob {
            seller_id: seller.clone(),
            feed_id: feed_id.to_string(),
            packages: vec![FeedPackage {
                order_id: order_id.clone(),
                package_id: package_id.to_string(),
                message_id,
            }],
            checks: 0,
        };
        self.feed_jobs
            .enqueue(&job, self.check_delay(0))
            .await
            .map_err(ShipmentError::from)?;
        Ok(Done::Submitted)
    }

    /// One feed check: still processing → check again later; done → each
    /// package confirmed or refused (dead-lettered with Amazon's reason);
    /// failed as a whole → its packages back through the shipment queue.
    pub async fn check_feed(
        &self,
        job: &FeedJob,
        deadline: &Deadline,
    ) -> Result<FeedCheck, ShipmentError> {
        let mut check = FeedCheck {
            feed_id: job.feed_id.clone(),
            ..FeedCheck::default()
        };
        let settings = self
            .settings
            .get_settings(&job.seller_id)
            .await?
            .ok_or_else(|| {
                ShipmentError::refused(format!(
                    "feed {}: seller {} has no settings any more",
                    job.feed_id, job.seller_id
                ))
            })?;
        let ctx = SellerContext::from(&settings);
        let outcome = self.api.feed_outcome(&ctx, &job.feed_id, deadline).await?;
        let status = outcome.feed.processing_status;
        check.status = status.as_str().to_string();
        if !status.is_terminal() {
            if job.checks.saturating_add(1) >= self.options.feed_max_checks {
                let why = format!(
                    "feed {} was still {status} after {} checks",
                    job.feed_id,
                    job.checks.saturating_add(1)
                );
                self.metrics.count(
                    Job::ShipmentConfirm,
                    Some(&job.seller_id),
                    Counter::FeedsStuck,
                    1,
                );
                check.resent = self.back_from_feed(job, &why).await?;
                return Ok(check);
            }
            let next = FeedJob {
                checks: job.checks.saturating_add(1),
                ..job.clone()
            };
            self.feed_jobs
                .enqueue(&next, self.check_delay(next.checks))
                .await?;
            check.rechecked = true;
            return Ok(check);
        }
        let report = match (status, outcome.report) {
            (ProcessingStatus::Done, Some(bytes)) => match xml::parse_processing_report(&bytes) {
                Ok(r) if r.summary.is_none_or(|s| s.processed > 0) => Some(r),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(feed_id = %job.feed_id, error = %e, "processing report unreadable");
                    None
                }
            },
            _ => None,
        };
        let Some(report) = report else {
            let why = format!(
                "feed {} ended {status} without a usable processing report",
                job.feed_id
            );
            self.metrics.count(
                Job::ShipmentConfirm,
                Some(&job.seller_id),
                Counter::FeedErrors,
                1,
            );
            check.resent = self.back_from_feed(job, &why).await?;
            return Ok(check);
        };
        for p in &job.packages {
            let errors = report.errors_for(u64::from(p.message_id));
            let record = self
                .records
                .get_shipments(&job.seller_id, &p.order_id)
                .await?;
            let Some(package) = record.as_ref().and_then(|r| r.packages.get(&p.package_id)) else {
                continue;
            };
            let waiting = matches!(&package.state, PackageState::Submitted { feed_id, .. } if *feed_id == job.feed_id);
            if !waiting {
                continue;
            }
            if errors.is_empty() {
                let answer = format!(
                    "order-fulfilment feed {} processed message {} without errors",
                    job.feed_id, p.message_id
                );
                self.mark_confirmed(&job.seller_id, &p.order_id, package, Via::Feed, &answer)
                    .await?;
                check.confirmed += 1;
            } else {
                let source_message_id = format!("feed:{}:{}", job.feed_id, p.message_id);
                let detail: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{} {}", e.message_code, e.description))
                    .collect();
                let reason = format!(
                    "Amazon refused package {} of order {} in order-fulfilment feed {} (message {}): {}; the package was not confirmed — fix the cause (or confirm it in Seller Central) and send it again",
                    p.package_id,
                    p.order_id,
                    job.feed_id,
                    p.message_id,
                    detail.join("; ")
                );
                self.dead_letters
                    .dead_letter(DeadLetter {
                        source_message_id: source_message_id.clone(),
                        body: package.message.clone().unwrap_or_default(),
                        reason: reason.clone(),
                        message_group_id: None,
                        // The package message came from the shipment queue.
                        source_queue: self.options.shipment_queue.clone(),
                    })
                    .await
                    .map_err(|message| {
                        tracing::error!(audit = DEAD_LETTER_ACTION, outcome = "failure", seller = %job.seller_id, message_id = %source_message_id, reason = %reason, error = %message, "package refused in a feed but the dead-letter queue failed; the feed check runs again");
                        ShipmentError::Queue(crate::ports::QueueError {
                            action: "dead-letter a package the feed refused",
                            message,
                            retryable: true,
                        })
                    })?;
                tracing::warn!(audit = DEAD_LETTER_ACTION, outcome = "success", seller = %job.seller_id, message_id = %source_message_id, reason = %reason, "package refused in a feed and dead-lettered");
                self.refuse(&job.seller_id, &p.order_id, package, &reason)
                    .await?;
                check.refused += 1;
            }
        }
        tracing::info!(feed_id = %job.feed_id, confirmed = check.confirmed, refused = check.refused, "feed settled");
        Ok(check)
    }

    /// Sends every package still waiting on the feed back through the
    /// shipment queue (checked against Amazon's order, then confirmShipment).
    async fn back_from_feed(&self, job: &FeedJob, why: &str) -> Result<u32, ShipmentError> {
        let now = self.clock.now();
        let mut resent = 0;
        for p in &job.packages {
            let (moved, record) = self
                .update_record(
                    &job.seller_id,
                    &p.order_id,
                    now,
                    |r: &mut OrderShipments| {
                        plan::back_from_feed(r, &p.package_id, &job.feed_id, now)
                    },
                )
                .await?;
            if !moved {
                continue;
            }
            let body = record
                .packages
                .get(&p.package_id)
                .and_then(|pk| pk.message.clone())
                .unwrap_or_default();
            self.shipments.resend(&body).await?;
            resent += 1;
        }
        tracing::warn!(feed_id = %job.feed_id, resent, why, "feed failed as a whole; its packages go through confirmShipment");
        Ok(resent)
    }
}
