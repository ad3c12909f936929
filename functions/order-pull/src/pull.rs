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
use domain::participations::CatchUp;
use domain::settings::{Authorization, OrderStatus, SellerSettings};
use domain::{Deadline, SellerId};
use lambda_kit::metrics::{Counter, Job, Metrics, NotifyCounter};
use serde::{Deserialize, Serialize};
use spapi::models::orders::{IncludedData, Order, SearchOrdersResponse};
use spapi::ops::orders::{FulfilledBy, SearchOrders, SearchWindow};
use spapi::{SellerContext, SpApi, SpApiError};
use store::{
    Checkpoints, Clock, Ledger, NotificationState, ParticipationStore, PullNotes, SettingsStore,
};

use crate::backstop::BackstopPolicy;
pub use crate::checkpoint::{PullState, Window};
use crate::error::PullError;
use crate::handoff::{Handoff, HandoffOptions, Tally};
use crate::job::{Mode, Origin, PullJob};
use crate::ports::{JobQueue, OrderSink};

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
    /// Whether `order.cancel_requested` is sent (`WMS_CANCEL_REQUESTS`).
    pub cancel_requests: bool,
    /// The backstop's cadence while notifications are healthy.
    pub backstop: BackstopPolicy,
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
            cancel_requests: true,
            backstop: BackstopPolicy::default(),
        }
    }
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
    /// `order.cancel_requested` messages sent.
    #[serde(default)]
    pub cancel_requests: u32,
}

impl PullReport {
    /// Adds what the per-order step did.
    pub fn add(&mut self, t: &Tally) {
        self.orders_seen += t.orders_seen;
        self.sent += t.sent;
        self.already_sent += t.already_sent;
        self.in_flight += t.in_flight;
        self.held += t.held;
        self.filtered += t.filtered;
        self.cancellations += t.cancellations;
        self.cancel_requests += t.cancel_requests;
    }

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
            cancel_requests: 0,
        }
    }
}

// Looks like the other functions' ports structs (Confirmer, Pusher...): only what this job uses.
/// Everything a pull needs, wired once per container.
#[derive(Clone)]
pub struct Puller {
    pub api: SpApi,
    pub settings: Arc<dyn SettingsStore>,
    pub ledger: Arc<dyn Ledger>,
    pub checkpoints: Arc<dyn Checkpoints>,
    /// Why orders were held or filtered (for an order's history).
    pub notes: Arc<dyn PullNotes>,
    /// Subscriptions and delivery health of Amazon's notifications: the
    /// backstop's cadence and what it counts as missed.
    pub notify: Arc<dyn NotificationState>,
    /// Marketplace participations of sellers with no marketplace listed.
    pub participations: Arc<dyn ParticipationStore>,
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
        // The rule, never the value: a job body is whatever reached the queue.
        let seller_id = SellerId::new(&job.seller_id).map_err(|e| {
            PullError::BadJob(match e {
                domain::DomainError::Invalid { expected, .. } => {
                    format!("`seller_id` is not a seller id ({expected})")
                }
                other => format!("`seller_id`: {other}"),
            })
        })?;
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
        let pulled = match self.marketplaces(&settings, deadline).await {
            Ok((settings, catch_up)) => {
                let pulled = self.pull(job, &settings, deadline, &mut report).await;
                if matches!(pulled, Ok(Outcome::Done)) && job.mode == Mode::Incremental {
                    self.catch_up(&settings, &catch_up, deadline, &mut report)
                        .await
                        .map(|()| Outcome::Done)
                } else {
                    pulled
                }
            }
            Err(e) => Err(e),
        };
        self.count(&seller_id, &report, matches!(pulled, Ok(Outcome::Done)));
        if job.origin == Origin::Schedule && report.sent > 0 {
            self.record_missed(&seller_id, report.sent).await;
        }
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
            // `attempt` comes from the job body: saturate, never overflow.
            Err(e)
                if e.is_retryable()
                    && job.attempt.saturating_add(1) < self.options.max_attempts =>
            {
                let delay = e.resume_after().unwrap_or_else(|| {
                    self.options.retry_delay * 2u32.saturating_pow(job.attempt.min(4))
                });
                let next = PullJob {
                    attempt: job.attempt.saturating_add(1),
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

    /// The settings with the marketplaces of this run: the seller's list,
    /// or its participations ("default all", refreshed once a day), and the
    /// marketplaces a refresh found new that still need a catch-up.
    pub(crate) async fn marketplaces(
        &self,
        settings: &SellerSettings,
        deadline: &Deadline,
    ) -> Result<(SellerSettings, Vec<CatchUp>), PullError> {
        if !settings.all_marketplaces() {
            return Ok((settings.clone(), Vec::new()));
        }
        let resolved = lambda_kit::marketplaces::resolve(
            &self.api,
            self.participations.as_ref(),
            settings,
            self.clock.now(),
            deadline,
        )
        .await?;
        Ok((
            settings.with_marketplaces(resolved.marketplaces),
            resolved.catch_up,
        ))
    }

    /// Orders of a marketplace the seller was found to sell in at the last
    /// refresh, updated since the refresh before (the incremental windows
    /// up to then did not ask for that marketplace): one window per
    /// marketplace, every page, through the ledger like any order. Done:
    /// the catch-up is cleared; out of time: left for the next job (pages
    /// seen again are dropped by the ledger).
    async fn catch_up(
        &self,
        settings: &SellerSettings,
        pending: &[CatchUp],
        deadline: &Deadline,
        report: &mut PullReport,
    ) -> Result<(), PullError> {
        let ctx = SellerContext::from(settings);
        for c in pending {
            let now = self.clock.now();
            let only = settings.with_marketplaces(vec![c.marketplace_id.clone()]);
            let mut window = Window {
                after: c.since.max(
                    settings
                        .order_start()
                        .map_err(|e| PullError::Settings(e.to_string()))?,
                ),
                before: now - self.options.settle,
                next_token: None,
                pages_done: 0,
                held_back: None,
            };
            let in_flight_before = report.in_flight;
            let mut seen_tokens: HashSet<String> = HashSet::new();
            loop {
                if !deadline.allows(self.options.page_budget) {
                    tracing::info!(seller = %settings.seller_id, marketplace = %c.marketplace_id, "marketplace catch-up left for the next job (deadline)");
                    return Ok(());
                }
                let page: SearchOrdersResponse = self
                    .api
                    .call(
                        &ctx,
                        &self.search(
                            &only,
                            SearchWindow::LastUpdated {
                                after: window.after,
                                before: Some(window.before),
                            },
                            window.next_token.clone(),
                            now,
                        ),
                        deadline,
                    )
                    .await?;
                report.pages += 1;
                let handoff = self.handoff();
                for order in &page.orders {
                    self.handle_order(&handoff, order, settings, report).await?;
                }
                window.pages_done += 1;
                match page
                    .pagination
                    .and_then(|p| p.next_token)
                    .filter(|t| !t.is_empty())
                {
                    Some(token) if seen_tokens.insert(token.clone()) => {
                        window.next_token = Some(token)
                    }
                    Some(_) => {
                        return Err(PullError::SpApi(SpApiError::PaginationLoop {
                            operation: domain::Operation::SearchOrders,
                            page: window.pages_done as usize,
                        }));
                    }
                    None => break,
                }
            }
            if report.in_flight > in_flight_before {
                // Another run may still be sending one of these orders: the
                // catch-up stays, so the next job sees it again (sent by then,
                // or its claim stale and taken over).
                tracing::info!(seller = %settings.seller_id, marketplace = %c.marketplace_id, "an order of the catch-up is being sent by another run; the catch-up runs again next job");
                continue;
            }
            lambda_kit::marketplaces::finish_catch_up(
                self.participations.as_ref(),
                &settings.seller_id,
                &c.marketplace_id,
            )
            .await?;
            tracing::info!(seller = %settings.seller_id, marketplace = %c.marketplace_id, since = %c.since, pages = window.pages_done, "orders of a marketplace new to the seller caught up");
        }
        Ok(())
    }

    /// Orders the backstop sent for a seller subscribed to notifications
    /// were missed by them: counted, and remembered for the cadence and the
    /// silence alarm. Never in the way of the pull.
    async fn record_missed(&self, seller: &SellerId, sent: u32) {
        let subscribed = match self.notify.subscription(seller).await {
            Ok(s) => s.is_some(),
            Err(e) => {
                tracing::warn!(seller = %seller, error = %e, "could not read the notification subscription; missed orders not recorded");
                return;
            }
        };
        if !subscribed {
            return;
        }
        tracing::info!(seller = %seller, orders = sent, "the backstop sent orders no notification had brought");
        self.metrics.notify(
            Job::OrderPull,
            Some(seller),
            NotifyCounter::OrdersSentByBackstop,
            sent.into(),
        );
        if let Err(e) = self
            .notify
            .record_missed(seller, self.clock.now(), sent.into())
            .await
        {
            tracing::warn!(seller = %seller, error = %e, "could not record the orders the notifications missed");
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
        let handoff = self.handoff();
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
                self.handle_order(&handoff, order, settings, report).await?;
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

    /// The per-order step of this puller (its ledger, notes, WMS queue,
    /// clock and options): the one [`Handoff`] every path shares.
    pub fn handoff(&self) -> Handoff {
        Handoff {
            ledger: self.ledger.clone(),
            notes: self.notes.clone(),
            sink: self.sink.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            options: HandoffOptions {
                claim_stale_after: self.options.claim_stale_after,
                ledger_days: self.options.ledger_days,
                cancel_requests: self.options.cancel_requests,
            },
            delay_job: Some(Job::OrderPull),
        }
    }

    /// Hands one order through [`Handoff::handle`], adding what it did to `report`.
    pub(crate) async fn handle_order(
        &self,
        handoff: &Handoff,
        order: &Order,
        settings: &SellerSettings,
        report: &mut PullReport,
    ) -> Result<(), PullError> {
        let mut tally = Tally::default();
        let result = handoff.handle(order, settings, &mut tally).await;
        report.add(&tally);
        result
    }
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
