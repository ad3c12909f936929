//! The per-order step every path to the WMS shares: the scheduled pull
//! ([`crate::pull`]), the operator's backfill ([`crate::backfill`]) and the
//! ORDER_CHANGE notification handler (`functions/notifications`) hand each
//! order Amazon returned to [`Handoff::handle`], so an order is sent exactly
//! once whichever path sees it first:
//!
//! 1. `orders::eligibility` (send, hold, skip), with a pull note for a held
//!    or filtered order;
//! 2. to send: **claim** in the ledger (conditional put, `SENDING`), **send**
//!    `order.created` to the FIFO WMS queue (deduplication id
//!    `<seller>:<order>:created`), **mark sent**; an order already `SENT`
//!    is counted and checked for news; a claim another run holds is left to
//!    it (a stale one is taken over by exactly one run);
//! 3. for an order the WMS has: `order.cancelled` when Amazon cancelled units
//!    since, `order.cancel_requested` when the buyer asked to cancel lines
//!    not shipped yet, each once per state (recorded in the ledger's
//!    `SentOrder`).
//!
//! The ledger's conditional claim is what makes it exactly once: two paths
//! handing over the same order at the same moment both try to claim it, one
//! wins, the other finds it in flight or sent.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use domain::settings::SellerSettings;
use domain::{AmazonOrderId, SellerId};
use lambda_kit::metrics::{Job, Metrics, NotifyCounter};
use orders::{Eligibility, SentOrder, SkipReason};
use spapi::models::orders::Order;
use store::{Claim, Clock, Decision, Ledger, LedgerEntry, PullNotes, Sighting};
use wms::OrderMessage;

use crate::error::PullError;
use crate::ports::{OrderSink, Outgoing};

/// The knobs of the per-order step (the pull's options carry the same).
#[derive(Clone, Debug)]
pub struct HandoffOptions {
    /// A `SENDING` claim older than this belongs to a crashed run.
    pub claim_stale_after: Duration,
    /// Ledger entries and notes (no buyer data) are kept this long.
    pub ledger_days: i64,
    /// Whether `order.cancel_requested` is sent (the template's
    /// `WmsCancelRequests`: off for a WMS that does not read that kind yet).
    pub cancel_requests: bool,
}

impl Default for HandoffOptions {
    fn default() -> Self {
        Self {
            claim_stale_after: Duration::from_secs(600),
            ledger_days: 120,
            cancel_requests: true,
        }
    }
}

// Same counts as PullReport and backfill::Totals; kept apart, see Totals' doc in backfill.rs.
/// What the step did with the orders handed to it (counts only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub orders_seen: u32,
    /// `order.created` messages sent.
    pub sent: u32,
    /// Orders already handed over (by any path).
    pub already_sent: u32,
    /// Claimed by another run right now.
    pub in_flight: u32,
    /// Not sent yet: Pending, or data missing (e.g. the address role).
    pub held: u32,
    /// Never sent: filtered by the seller's settings.
    pub filtered: u32,
    /// `order.cancelled` messages sent.
    pub cancellations: u32,
    /// `order.cancel_requested` messages sent.
    pub cancel_requests: u32,
}

// Looks like the functions' ports structs (Puller, Pusher...): only the ports this step uses.
/// The per-order step, with the ports it writes through.
#[derive(Clone)]
pub struct Handoff {
    pub ledger: Arc<dyn Ledger>,
    pub notes: Arc<dyn PullNotes>,
    pub sink: Arc<dyn OrderSink>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub options: HandoffOptions,
    /// The job whose `OrderToWmsDelay` an `order.created` counts in; `None`
    /// for a backfill (its orders are old on purpose).
    pub delay_job: Option<Job>,
}

impl Handoff {
    /// Hands one order Amazon returned (from `searchOrders` or `getOrder`)
    /// through eligibility, the ledger and the WMS queue. `tally` counts
    /// what happened, also when an error stops it half-way.
    pub async fn handle(
        &self,
        order: &Order,
        settings: &SellerSettings,
        tally: &mut Tally,
    ) -> Result<(), PullError> {
        tally.orders_seen += 1;
        let seller = &settings.seller_id;
        let order_id = match AmazonOrderId::new(&order.order_id) {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(seller = %seller, error = %e, "order with an invalid id ignored");
                tally.filtered += 1;
                return Ok(());
            }
        };
        match orders::eligibility(order, settings) {
            Eligibility::Send => self.send_created(order, &order_id, settings, tally).await,
            Eligibility::Hold(reason) => {
                tracing::debug!(seller = %seller, order = %order_id, %reason, "order held");
                tally.held += 1;
                self.note(
                    order,
                    &order_id,
                    seller,
                    Decision::Held,
                    &reason.to_string(),
                )
                .await;
                Ok(())
            }
            Eligibility::Skip(SkipReason::Cancelled) => {
                match self.ledger.get_order(seller, &order_id).await? {
                    Some(entry) => self.report_news(order, &entry, settings, tally).await,
                    None => {
                        tally.filtered += 1;
                        let why = "cancelled by Amazon before it was sent to the WMS";
                        self.note(order, &order_id, seller, Decision::Filtered, why)
                            .await;
                        Ok(())
                    }
                }
            }
            Eligibility::Skip(reason) => {
                tracing::debug!(seller = %seller, order = %order_id, %reason, "order filtered");
                tally.filtered += 1;
                self.note(
                    order,
                    &order_id,
                    seller,
                    Decision::Filtered,
                    &reason.to_string(),
                )
                .await;
                Ok(())
            }
        }
    }

    async fn send_created(
        &self,
        order: &Order,
        order_id: &AmazonOrderId,
        settings: &SellerSettings,
        tally: &mut Tally,
    ) -> Result<(), PullError> {
        let seller = &settings.seller_id;
        let message = match orders::to_order_message(order, settings) {
            Ok(m) => m,
            Err(e) => {
                // Data Amazon did not give (e.g. no address role): not sent,
                // logged by field name, tried again on the next update.
                tracing::warn!(seller = %seller, order = %order_id, error = %e, "order held: cannot build the WMS message");
                tally.held += 1;
                let why = format!("cannot build the WMS message: {e}");
                self.note(order, order_id, seller, Decision::Held, &why)
                    .await;
                return Ok(());
            }
        };
        let OrderMessage::Created(created) = &message else {
            return Err(PullError::Contract(
                "the mapping did not give order.created".into(),
            ));
        };
        let record = SentOrder::new(order, created)
            .with_buy_shipping(orders::buy_shipping_reasons(order, settings));
        let record_json =
            serde_json::to_string(&record).map_err(|e| PullError::Contract(e.to_string()))?;
        let now = self.clock.now();
        let entry = LedgerEntry::new(
            seller.clone(),
            order_id.clone(),
            created.order_number.clone(),
            created.marketplace_id.clone(),
            order_status(order),
            order.last_updated_time,
            now,
        )
        .with_payload(
            record_json,
            (now + TimeDelta::days(self.options.ledger_days)).timestamp(),
        );
        match self
            .ledger
            .claim_order(&entry, self.options.claim_stale_after)
            .await?
        {
            Claim::Claimed | Claim::TakenOver(_) => {
                let body = message.to_json()?;
                let sent = self.sink.send(outgoing(&message, seller, &body)).await;
                if let Err(e) = sent {
                    lambda_kit::audit!(failure, "wms.order_created", seller = %seller, order = %order_id, error = %e, "order not sent to the WMS; the next run sends it");
                    // The next run takes the claim over at once (same
                    // deduplication id), not after `claim_stale_after`.
                    if let Err(release) = self.ledger.release_claim(seller, order_id).await {
                        tracing::warn!(seller = %seller, order = %order_id, error = %release, "could not release the claim; the order is sent once the claim is stale");
                    }
                    return Err(e.into());
                }
                self.ledger.mark_sent(seller, order_id).await?;
                lambda_kit::audit!(success, "wms.order_created", seller = %seller, order = %order_id, wms_order = %created.order_number, "order sent to the WMS");
                tally.sent += 1;
                if let Some(job) = self.delay_job {
                    let waited = (self.clock.now() - order.last_updated_time)
                        .num_milliseconds()
                        .max(0);
                    self.metrics
                        .order_to_wms_delay(job, u64::try_from(waited).unwrap_or(0));
                }
                // A request made before the order reached the WMS follows it.
                self.report_request(order, &entry, record, tally).await
            }
            Claim::InFlight(_) => {
                tally.in_flight += 1;
                Ok(())
            }
            Claim::Sent(existing) => {
                tally.already_sent += 1;
                self.report_news(order, &existing, settings, tally).await
            }
        }
    }

    /// Records why an order was not sent (its history); a failure to write
    /// the note never stops the step.
    async fn note(
        &self,
        order: &Order,
        order_id: &AmazonOrderId,
        seller: &SellerId,
        decision: Decision,
        reason: &str,
    ) {
        let now = self.clock.now();
        let sighting = Sighting {
            seller,
            order: order_id,
            decision,
            reason,
            amazon_status: &order_status(order),
            at: now,
            expires_at: (now + TimeDelta::days(self.options.ledger_days)).timestamp(),
        };
        if let Err(e) = self.notes.note(&sighting).await {
            tracing::warn!(seller = %seller, order = %order_id, error = %e, "could not record why the order was not sent");
        }
    }

    /// What the WMS must hear about an order it has: a cancellation, or a
    /// buyer's cancellation request.
    async fn report_news(
        &self,
        order: &Order,
        entry: &LedgerEntry,
        settings: &SellerSettings,
        tally: &mut Tally,
    ) -> Result<(), PullError> {
        let Some(payload) = entry.payload.as_ref() else {
            return Ok(());
        };
        let record: SentOrder = match serde_json::from_str(payload.expose()) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(seller = %entry.seller_id, order = %entry.amazon_order_id, error = %e, "ledger record unreadable; cancellation not checked");
                return Ok(());
            }
        };
        let record = self
            .report_cancellation(order, entry, settings, record, tally)
            .await?;
        self.report_request(order, entry, record, tally).await
    }

    /// Sends `order.cancelled` when Amazon cancelled (some of) an order the
    /// WMS has, once per cancelled state. Returns the record as it is now.
    async fn report_cancellation(
        &self,
        order: &Order,
        entry: &LedgerEntry,
        settings: &SellerSettings,
        mut record: SentOrder,
        tally: &mut Tally,
    ) -> Result<SentOrder, PullError> {
        let seller = &entry.seller_id;
        // Written in the seller's order message version, as `order.created`.
        let Some(message) =
            orders::cancellation(order, Some(&record), orders::message_version(settings))
        else {
            return Ok(record);
        };
        let body = message.to_json()?;
        self.sink
            .send(outgoing(&message, seller, &body))
            .await
            .inspect_err(|e| {
                lambda_kit::audit!(failure, "wms.order_cancelled", seller = %seller, order = %entry.amazon_order_id, error = %e, "cancellation not sent to the WMS; the next run sends it");
            })?;
        self.keep_record(entry, &message, &mut record).await?;
        if record.fully_cancelled() {
            self.ledger
                .mark_cancel_sent(seller, &entry.amazon_order_id)
                .await?;
        }
        self.ledger
            .update_status(
                seller,
                &entry.amazon_order_id,
                &order_status(order),
                order.last_updated_time,
                None,
            )
            .await?;
        lambda_kit::audit!(success, "wms.order_cancelled", seller = %seller, order = %entry.amazon_order_id, "cancellation sent to the WMS");
        tally.cancellations += 1;
        Ok(record)
    }

    /// Sends `order.cancel_requested` when the buyer asked to cancel lines
    /// the WMS has not shipped, once per state of the request.
    async fn report_request(
        &self,
        order: &Order,
        entry: &LedgerEntry,
        mut record: SentOrder,
        tally: &mut Tally,
    ) -> Result<(), PullError> {
        let seller = &entry.seller_id;
        let Some(message) = orders::cancel_request(order, Some(&record)) else {
            return Ok(());
        };
        if !self.options.cancel_requests {
            let why = "the buyer asked to cancel; not sent to the WMS (WmsCancelRequests is off)";
            self.note(order, &entry.amazon_order_id, seller, Decision::Held, why)
                .await;
            return Ok(());
        }
        let body = message.to_json()?;
        self.sink
            .send(outgoing(&message, seller, &body))
            .await
            .inspect_err(|e| {
                lambda_kit::audit!(failure, "wms.order_cancel_requested", seller = %seller, order = %entry.amazon_order_id, error = %e, "cancellation request not sent to the WMS; the next sighting sends it");
            })?;
        self.keep_record(entry, &message, &mut record).await?;
        lambda_kit::audit!(success, "wms.order_cancel_requested", seller = %seller, order = %entry.amazon_order_id, "the buyer's cancellation request sent to the WMS");
        tally.cancel_requests += 1;
        if let Some(job) = self.delay_job {
            self.metrics
                .notify(job, Some(seller), NotifyCounter::CancelRequestsSent, 1);
        }
        Ok(())
    }

    /// After a follow-up of a sent order (its cancellation, a cancellation
    /// request) reached the WMS queue: `record` remembers it, and the ledger
    /// keeps the record, so the same state is never sent again.
    async fn keep_record(
        &self,
        entry: &LedgerEntry,
        message: &OrderMessage,
        record: &mut SentOrder,
    ) -> Result<(), PullError> {
        record.record(message);
        let record_json =
            serde_json::to_string(record).map_err(|e| PullError::Contract(e.to_string()))?;
        self.ledger
            .set_payload(&entry.seller_id, &entry.amazon_order_id, &record_json, None)
            .await?;
        Ok(())
    }
}

/// `message`, written as `body`, for the WMS order queue: `seller` is its
/// ordering group; the deduplication id and kind are the message's own.
fn outgoing<'a>(message: &'a OrderMessage, seller: &'a SellerId, body: &'a str) -> Outgoing<'a> {
    Outgoing {
        message_id: message.message_id(),
        group: seller.as_str(),
        kind: message.kind(),
        body,
    }
}

/// Amazon's fulfilment status as the ledger and notes keep it.
pub fn order_status(order: &Order) -> String {
    order
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".to_string())
}
