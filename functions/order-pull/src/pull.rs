//! One seller's pull: `searchOrders` by `lastUpdatedAfter` over a window that
//! ends two minutes (plus a margin) in the past, page by page, each order
//! through the ledger to the WMS queue exactly once; the checkpoint moves
//! after every page (the window and the next token) and past the window only
//! when all of it was handed over.
//!
//! Exactly once, step by step: an eligible order is *claimed* in the ledger
//! (a conditional write; a claim left by a crashed run is taken over once it
//! is stale), sent to the FIFO queue with a deterministic deduplication id,
//! then marked sent. An order seen again (overlapping windows, a repeated
//! page, a reconcile) finds its entry and is not sent again; a crash between
//! send and mark re-sends with the same id, which the queue or the WMS drops.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::settings::{Authorization, OrderStatus, SellerSettings};
use domain::{AmazonOrderId, Deadline, SellerId};
use lambda_kit::metrics::{Counter, Job, Metrics};
use orders::{Eligibility, SentOrder, SkipReason};
use serde::{Deserialize, Serialize};
use spapi::models::orders::{IncludedData, Order, SearchOrdersResponse};
use spapi::ops::orders::{FulfilledBy, SearchOrders, SearchWindow};
use spapi::{SellerContext, SpApi, SpApiError};
use store::{
    Checkpoints, Claim, Clock, Decision, Ledger, LedgerEntry, PullNotes, SettingsStore, Sighting,
};
use wms::OrderMessage;

use crate::error::PullError;
use crate::job::{Mode, PullJob};
use crate::ports::{JobQueue, OrderSink, Outgoing};

/// The knobs of a pull; the defaults are the production values.
#[derive(Clone, Debug)]
pub struct PullOptions {
    /// Each incremental window starts this long before the last one ended.
    pub overlap: TimeDelta,
    /// Windows end this long before now (Amazon: at least 2 minutes).
    pub settle: TimeDelta,
    /// How far back a reconcile looks.
    pub reconcile_window: TimeDelta,
    /// How often the schedule adds a reconcile job per seller.
    pub reconcile_every: TimeDelta,
    /// `maxResultsPerPage` (Amazon's maximum is 100).
    pub page_size: u32,
    /// A `SENDING` claim older than this belongs to a crashed run.
    pub claim_stale_after: Duration,
    /// Time an invocation keeps for one more page (call + up to 100 orders).
    pub page_budget: Duration,
    /// Ledger entries (no buyer data) are kept this long for the shipment job.
    pub ledger_days: i64,
    /// Follow-ups after retryable failures before the job is failed.
    pub max_attempts: u32,
    /// First follow-up delay after a retryable failure (doubles per attempt).
    pub retry_delay: Duration,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            overlap: TimeDelta::minutes(5),
            settle: TimeDelta::seconds(130),
            reconcile_window: TimeDelta::hours(24),
            reconcile_every: TimeDelta::hours(6),
            page_size: 100,
            claim_stale_after: Duration::from_secs(600),
            page_budget: Duration::from_secs(60),
            ledger_days: 120,
            max_attempts: 5,
            retry_delay: Duration::from_secs(60),
        }
    }
}

/// A window being worked through (kept in the checkpoint between runs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub after: DateTime<Utc>,
    pub before: DateTime<Utc>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub pages_done: u32,
    /// The earliest `lastUpdatedTime` of an order this window found claimed
    /// by another run that may still be sending it (a `SENDING` claim
    /// younger than `claim_stale_after`). The checkpoint does not move past
    /// it, so the next windows see the order again until it is sent, or its
    /// claim is stale (the run that held it crashed) and taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_back: Option<DateTime<Utc>>,
}

/// The checkpoint of one mode for one seller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullState {
    /// Every order updated before this was handed to the WMS (or filtered).
    #[serde(default)]
    pub done_until: Option<DateTime<Utc>>,
    /// The window in progress, if a run stopped inside one.
    #[serde(default)]
    pub window: Option<Window>,
    #[serde(default)]
    pub last_completed_at: Option<DateTime<Utc>>,
    /// When the seller's first window began (until `done_until` is set, the
    /// order-pull age counts from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_started_at: Option<DateTime<Utc>>,
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    /// The window is done; the checkpoint moved past it.
    Done,
    /// Stopped early (deadline, quota, or a retryable failure); a follow-up
    /// job continues from the checkpoint.
    Continued { reason: String },
    /// Nothing to do for this seller now.
    Skipped { reason: String },
}

/// What one job did (the invocation's answer; counts and ids only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    pub seller_id: String,
    pub mode: Mode,
    pub outcome: Outcome,
    pub pages: u32,
    pub orders_seen: u32,
    /// `order.created` messages sent.
    pub sent: u32,
    /// Orders already handed over (overlap, repeated pages, reconcile).
    pub already_sent: u32,
    /// Claimed by another run right now.
    pub in_flight: u32,
    /// Not sent yet: Pending, or data missing (e.g. the address role).
    pub held: u32,
    /// Never sent: filtered by the seller's settings.
    pub filtered: u32,
    /// `order.cancelled` messages sent.
    pub cancellations: u32,
}

impl PullReport {
    fn new(job: &PullJob) -> Self {
        Self::for_seller(&job.seller_id, job.mode)
    }

    pub(crate) fn for_seller(seller_id: &str, mode: Mode) -> Self {
        Self {
            seller_id: seller_id.to_string(),
            mode,
            outcome: Outcome::Done,
            pages: 0,
            orders_seen: 0,
            sent: 0,
            already_sent: 0,
            in_flight: 0,
            held: 0,
            filtered: 0,
            cancellations: 0,
        }
    }
}

/// Everything a pull needs, wired once per container.
#[derive(Clone)]
pub struct Puller {
    pub api: SpApi,
    pub settings: Arc<dyn SettingsStore>,
    pub ledger: Arc<dyn Ledger>,
    pub checkpoints: Arc<dyn Checkpoints>,
    /// Why orders were held or filtered (for an order's history).
    pub notes: Arc<dyn PullNotes>,
    pub sink: Arc<dyn OrderSink>,
    pub jobs: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    pub options: PullOptions,
    /// Counts what the pulls did (flushed by the handler).
    pub metrics: Metrics,
}

/// `includedData` for the pull: items and addresses inline, so no per-order
/// call is needed; BUYER is simply absent where the role is not granted.
pub const INCLUDED: [IncludedData; 4] = [
    IncludedData::Recipient,
    IncludedData::Buyer,
    IncludedData::Fulfillment,
    IncludedData::Cancellation,
];

impl Puller {
    /// Runs one job to its window's end or to the deadline.
    pub async fn run(&self, job: &PullJob, deadline: &Deadline) -> Result<PullReport, PullError> {
        let mut report = PullReport::new(job);
        let seller_id =
            SellerId::new(&job.seller_id).map_err(|e| PullError::BadJob(e.to_string()))?;
        let Some(settings) = self.settings.get_settings(&seller_id).await? else {
            return Err(PullError::UnknownSeller(job.seller_id.clone()));
        };
        if let Some(reason) = not_pullable(&settings) {
            tracing::info!(seller = %seller_id, reason, "order pull skipped");
            report.outcome = Outcome::Skipped {
                reason: reason.to_string(),
            };
            return Ok(report);
        }
        let pulled = self.pull(job, &settings, deadline, &mut report).await;
        self.count(&seller_id, &report, matches!(pulled, Ok(Outcome::Done)));
        match pulled {
            Ok(outcome) => {
                report.outcome = outcome;
                Ok(report)
            }
            Err(PullError::SpApi(SpApiError::AuthorizationRevoked { .. })) => {
                report.outcome = Outcome::Skipped {
                    reason: "the seller's authorisation was revoked; re-authorise to resume".into(),
                };
                Ok(report)
            }
            Err(e) if e.is_retryable() && job.attempt + 1 < self.options.max_attempts => {
                let delay = e.resume_after().unwrap_or_else(|| {
                    self.options.retry_delay * 2u32.saturating_pow(job.attempt.min(4))
                });
                let next = PullJob {
                    attempt: job.attempt + 1,
                    ..job.clone()
                };
                self.jobs.enqueue(&next, delay).await?;
                tracing::warn!(seller = %seller_id, error = %e, attempt = next.attempt, delay_s = delay.as_secs(), "order pull interrupted; a follow-up job continues from the checkpoint");
                report.outcome = Outcome::Continued {
                    reason: e.to_string(),
                };
                Ok(report)
            }
            Err(e) => Err(e),
        }
    }

    /// The job's counts, whatever way it ended (a failure keeps what was
    /// handed over before it).
    fn count(&self, seller: &SellerId, report: &PullReport, finished: bool) {
        let m = &self.metrics;
        let s = Some(seller);
        m.count(
            Job::OrderPull,
            s,
            Counter::OrdersSeen,
            report.orders_seen.into(),
        );
        m.count(Job::OrderPull, s, Counter::OrdersSent, report.sent.into());
        m.count(
            Job::OrderPull,
            s,
            Counter::CancellationsSent,
            report.cancellations.into(),
        );
        m.count(Job::OrderPull, s, Counter::OrdersHeld, report.held.into());
        m.count(
            Job::OrderPull,
            s,
            Counter::OrderPullRuns,
            u64::from(finished),
        );
    }

    async fn pull(
        &self,
        job: &PullJob,
        settings: &SellerSettings,
        deadline: &Deadline,
        report: &mut PullReport,
    ) -> Result<Outcome, PullError> {
        let seller = &settings.seller_id;
        let name = job.mode.checkpoint();
        let stored = self.checkpoints.get_checkpoint(seller, name).await?;
        let mut version = stored.as_ref().map(|c| c.version);
        let mut state: PullState = match &stored {
            Some(c) => serde_json::from_value(c.value.clone())
                .map_err(|e| PullError::Checkpoint(format!("{name}: {e}")))?,
            None => PullState::default(),
        };
        let now = self.clock.now();
        let start = settings
            .order_start()
            .map_err(|e| PullError::Settings(e.to_string()))?;
        let mut window = match state.window.clone() {
            Some(w) => w,
            None => {
                let after = match job.mode {
                    Mode::Incremental => state
                        .done_until
                        .map(|d| d - self.options.overlap)
                        .unwrap_or(start),
                    Mode::Reconcile => now - self.options.reconcile_window,
                }
                .max(start);
                if state.done_until.is_none() && state.first_started_at.is_none() {
                    state.first_started_at = Some(now);
                }
                Window {
                    after,
                    before: now - self.options.settle,
                    next_token: None,
                    pages_done: 0,
                    held_back: None,
                }
            }
        };
        if window.after >= window.before {
            return Ok(Outcome::Skipped {
                reason: "the window is empty (the last one ended less than the settle time ago)"
                    .into(),
            });
        }
        let ctx = SellerContext::from(settings);
        let mut seen_tokens: HashSet<String> = HashSet::new();
        let mut restarts = 0u32;
        let mut pages_this_run = 0u32;
        loop {
            if pages_this_run > 0 && !deadline.allows(self.options.page_budget) {
                state.window = Some(window.clone());
                self.save(seller, name, &state, &mut version).await?;
                self.jobs.enqueue(job, Duration::ZERO).await?;
                return Ok(Outcome::Continued {
                    reason: "deadline: a follow-up job continues the window".into(),
                });
            }
            let search = self.search(
                settings,
                SearchWindow::LastUpdated {
                    after: window.after,
                    before: Some(window.before),
                },
                window.next_token.clone(),
                now,
            );
            let page: SearchOrdersResponse = match self.api.call(&ctx, &search, deadline).await {
                Ok(p) => p,
                Err(e) if window.next_token.is_some() && token_refused(&e) && restarts < 2 => {
                    // Expired or unknown page token: the window again from its
                    // start; the ledger drops what was already sent.
                    tracing::warn!(seller = %seller, error = %e, "page token refused; restarting the window");
                    restarts += 1;
                    window.next_token = None;
                    continue;
                }
                Err(e) => {
                    state.window = Some(window.clone());
                    self.save(seller, name, &state, &mut version).await?;
                    return Err(e.into());
                }
            };
            report.pages += 1;
            pages_this_run += 1;
            for order in &page.orders {
                let in_flight = report.in_flight;
                self.handle_order(order, settings, report).await?;
                if report.in_flight > in_flight {
                    let t = order.last_updated_time;
                    window.held_back = Some(window.held_back.map_or(t, |h| h.min(t)));
                }
            }
            window.pages_done += 1;
            let next = page
                .pagination
                .and_then(|p| p.next_token)
                .filter(|t| !t.is_empty());
            match next {
                Some(token) if !seen_tokens.insert(token.clone()) => {
                    // Amazon served a page we already had: start the window
                    // over once; a second loop is an error for a later retry.
                    restarts += 1;
                    if restarts > 2 {
                        state.window = Some(Window {
                            next_token: None,
                            ..window.clone()
                        });
                        self.save(seller, name, &state, &mut version).await?;
                        return Err(PullError::SpApi(SpApiError::PaginationLoop {
                            operation: domain::Operation::SearchOrders,
                            page: window.pages_done as usize,
                        }));
                    }
                    tracing::warn!(seller = %seller, page = window.pages_done, "repeated page token; restarting the window");
                    seen_tokens.clear();
                    window.next_token = None;
                    state.window = Some(window.clone());
                    self.save(seller, name, &state, &mut version).await?;
                }
                Some(token) => {
                    window.next_token = Some(token);
                    state.window = Some(window.clone());
                    self.save(seller, name, &state, &mut version).await?;
                }
                None => {
                    // Done up to the window's end, or up to an order another
                    // run was still sending (seen again next time).
                    let end = window
                        .held_back
                        .map_or(window.before, |h| h.min(window.before));
                    if let Some(h) = window.held_back {
                        tracing::info!(seller = %seller, held_back = %h, "an order in this window is being sent by another run; the checkpoint stays before it");
                    }
                    state.done_until = Some(match (job.mode, state.done_until) {
                        // A reconcile never moves the incremental checkpoint.
                        (Mode::Reconcile, _) => end,
                        (Mode::Incremental, Some(d)) => d.max(end),
                        (Mode::Incremental, None) => end,
                    });
                    state.window = None;
                    state.last_completed_at = Some(self.clock.now());
                    self.save(seller, name, &state, &mut version).await?;
                    tracing::info!(
                        seller = %seller,
                        mode = ?job.mode,
                        pages = report.pages,
                        seen = report.orders_seen,
                        sent = report.sent,
                        already_sent = report.already_sent,
                        held = report.held,
                        filtered = report.filtered,
                        cancellations = report.cancellations,
                        "order pull window done"
                    );
                    return Ok(Outcome::Done);
                }
            }
        }
    }

    pub(crate) fn search(
        &self,
        settings: &SellerSettings,
        window: SearchWindow,
        next_token: Option<String>,
        now: DateTime<Utc>,
    ) -> SearchOrders {
        let mut statuses: Vec<OrderStatus> = settings
            .order_statuses
            .iter()
            .copied()
            .filter(|s| *s != OrderStatus::Cancelled)
            .collect();
        // Cancellations of orders already sent must be seen too.
        statuses.push(OrderStatus::Cancelled);
        let mut s = SearchOrders::new(window, settings.marketplaces.clone());
        s.fulfillment_statuses = statuses;
        s.fulfilled_by = vec![FulfilledBy::Merchant];
        s.max_results_per_page = Some(self.options.page_size);
        s.included_data = INCLUDED.to_vec();
        s.pagination_token = next_token;
        s.now = Some(now);
        s
    }

    pub(crate) async fn save<S: Serialize>(
        &self,
        seller: &SellerId,
        name: &str,
        state: &S,
        version: &mut Option<u64>,
    ) -> Result<(), PullError> {
        let value =
            serde_json::to_value(state).map_err(|e| PullError::Checkpoint(e.to_string()))?;
        let new_version = self
            .checkpoints
            .put_checkpoint(seller, name, &value, *version)
            .await?;
        *version = Some(new_version);
        Ok(())
    }

    pub(crate) async fn handle_order(
        &self,
        order: &Order,
        settings: &SellerSettings,
        report: &mut PullReport,
    ) -> Result<(), PullError> {
        report.orders_seen += 1;
        let seller = &settings.seller_id;
        let order_id = match AmazonOrderId::new(&order.order_id) {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(seller = %seller, error = %e, "order with an invalid id ignored");
                report.filtered += 1;
                return Ok(());
            }
        };
        match orders::eligibility(order, settings) {
            Eligibility::Send => self.send_created(order, &order_id, settings, report).await,
            Eligibility::Hold(reason) => {
                tracing::debug!(seller = %seller, order = %order_id, %reason, "order held");
                report.held += 1;
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
                    Some(entry) => self.report_cancellation(order, &entry, report).await,
                    None => {
                        report.filtered += 1;
                        let why = "cancelled by Amazon before it was sent to the WMS";
                        self.note(order, &order_id, seller, Decision::Filtered, why)
                            .await;
                        Ok(())
                    }
                }
            }
            Eligibility::Skip(reason) => {
                tracing::debug!(seller = %seller, order = %order_id, %reason, "order filtered");
                report.filtered += 1;
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
        report: &mut PullReport,
    ) -> Result<(), PullError> {
        let seller = &settings.seller_id;
        let message = match orders::to_order_message(order, settings) {
            Ok(m) => m,
            Err(e) => {
                // Data Amazon did not give (e.g. no address role): not sent,
                // logged by field name, tried again on the next update.
                tracing::warn!(seller = %seller, order = %order_id, error = %e, "order held: cannot build the WMS message");
                report.held += 1;
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
        let record = SentOrder::new(order, created);
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
                let sent = self
                    .sink
                    .send(Outgoing {
                        message_id: message.message_id(),
                        group: seller.as_str(),
                        kind: message.kind(),
                        body: &body,
                    })
                    .await;
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
                report.sent += 1;
                Ok(())
            }
            Claim::InFlight(_) => {
                report.in_flight += 1;
                Ok(())
            }
            Claim::Sent(existing) => {
                report.already_sent += 1;
                self.report_cancellation(order, &existing, report).await
            }
        }
    }

    /// Records why an order was not sent (its history); a failure to write
    /// the note never stops the pull.
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

    /// Sends `order.cancelled` when Amazon cancelled (some of) an order the
    /// WMS has, once per cancelled state.
    async fn report_cancellation(
        &self,
        order: &Order,
        entry: &LedgerEntry,
        report: &mut PullReport,
    ) -> Result<(), PullError> {
        let seller = &entry.seller_id;
        let Some(payload) = entry.payload.as_ref() else {
            return Ok(());
        };
        let mut record: SentOrder = match serde_json::from_str(payload.expose()) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(seller = %seller, order = %entry.amazon_order_id, error = %e, "ledger record unreadable; cancellation not checked");
                return Ok(());
            }
        };
        let Some(message) = orders::cancellation(order, Some(&record)) else {
            return Ok(());
        };
        let body = message.to_json()?;
        self.sink
            .send(Outgoing {
                message_id: message.message_id(),
                group: seller.as_str(),
                kind: message.kind(),
                body: &body,
            })
            .await
            .inspect_err(|e| {
                lambda_kit::audit!(failure, "wms.order_cancelled", seller = %seller, order = %entry.amazon_order_id, error = %e, "cancellation not sent to the WMS; the next run sends it");
            })?;
        record.record(&message);
        let record_json =
            serde_json::to_string(&record).map_err(|e| PullError::Contract(e.to_string()))?;
        self.ledger
            .set_payload(seller, &entry.amazon_order_id, &record_json, None)
            .await?;
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
        report.cancellations += 1;
        Ok(())
    }
}

fn order_status(order: &Order) -> String {
    order
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".to_string())
}

/// Why a seller is not pulled now, if it is not.
pub fn not_pullable(settings: &SellerSettings) -> Option<&'static str> {
    if !settings.enabled {
        return Some("the seller is disabled");
    }
    if !settings.jobs.orders {
        return Some("the order pull is not enabled for the seller");
    }
    if matches!(settings.authorization, Authorization::Broken { .. }) {
        return Some("the seller's authorisation is broken; re-authorise to resume");
    }
    None
}

/// Amazon refused a page token (expired or unknown): 400 on a token request.
fn token_refused(e: &SpApiError) -> bool {
    matches!(e, SpApiError::Amazon { status: 400, .. })
}
