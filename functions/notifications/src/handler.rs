//! One batch of Amazon's notifications, record by record (partial batch
//! responses): each `ORDER_CHANGE` is a hint that an order changed. The
//! order itself is fetched (`getOrder`, through the seller's shared quota
//! bucket) and handed to the order pull's own per-order step
//! ([`order_pull::Handoff`]): the same eligibility, ledger claim, WMS message
//! and cancellation rules, so an order is sent once whichever path — this
//! one or the scheduled pull — sees it first.
//!
//! Rate limits under bursts: `getOrder` allows 0.5 requests/s per seller
//! (burst 30). A hint is fetched at once while the seller's bucket has a
//! token, or gets one within `fetch_wait` (3 s of Amazon time), and the
//! hint has not waited in our queue for over `max_queue_age` (60 s): that
//! keeps up with about one change every two seconds per seller, and a
//! burst's first 30 at once. Beyond that the hint is **coalesced**: folded into the
//! seller's next incremental pull, one `searchOrders` page per 100 orders,
//! scheduled once per burst slice (`store::notifications`, `NOTIFY#COALESCE`)
//! for when Amazon's two-minute rule lets the search see the change. Once a
//! seller's hint was coalesced, the rest of its batch is coalesced without
//! waiting. Nothing here retries a 429 beyond the client's bounded retries:
//! a throttled or failed fetch is coalesced too, so bursts never turn into
//! 429 storms.
//!
//! Trust nothing about delivery: duplicates are dropped by notification id
//! (kept 7 days); order is irrelevant (the fetched order is the state, not
//! the payload); kinds nothing is done for (`DeliveryTipChange`, other
//! notification types, FBA orders, sellers not onboarded or not pulled) are
//! counted and acknowledged; a message that is not a notification goes to
//! the dead-letter queue with its reason. Lost notifications are the
//! scheduled pull's job (`order_pull::backstop`).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, TimeDelta, Utc};
use domain::settings::SellerSettings;
use domain::{AmazonOrderId, Deadline, SellerId};
use lambda_kit::batch::{BatchReport, DeadLetterSink, RecordError, RecordMeta, process};
use lambda_kit::error::ErrorType;
use lambda_kit::metrics::{Counter, Job, Metrics, NotifyCounter};
use order_pull::ports::JobQueue;
use order_pull::pull::{INCLUDED, not_pullable};
use order_pull::{Handoff, PullJob, Tally};
use spapi::models::notifications::{Notification, ORDER_CHANGE, OrderChange, OrderChangeType};
use spapi::ops::orders::GetOrder;
use spapi::{SellerContext, SpApi, SpApiError};
use store::{Clock, CoalescePlan, Coalesced, NotificationState, ParticipationStore, SettingsStore};

use crate::error::NotifyError;

/// The knobs of the handler; the defaults are the production values.
#[derive(Clone, Debug)]
pub struct NotifyOptions {
    /// How long (Amazon time) a `getOrder` may wait for the seller's quota
    /// before its hint is coalesced into a pull.
    pub fetch_wait: Duration,
    /// A hint that waited longer than this in our queue (now − Amazon's
    /// publish time) means the handler is behind: it is coalesced, not
    /// fetched, so a backlog drains by searches instead of one `getOrder`
    /// every two seconds.
    pub max_queue_age: TimeDelta,
    /// Notification ids are remembered this long (Amazon redelivers within
    /// hours; a week is ample).
    pub seen_days: i64,
    /// Where coalesced pulls go in time.
    pub coalesce: CoalescePlan,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        Self {
            fetch_wait: Duration::from_secs(3),
            max_queue_age: TimeDelta::seconds(60),
            seen_days: 7,
            coalesce: CoalescePlan {
                // The pull's windows end 130 s before it runs (Amazon: 2 min).
                settle: TimeDelta::seconds(130),
                slack: TimeDelta::seconds(10),
                min_gap: TimeDelta::seconds(60),
                max_delay: TimeDelta::seconds(900),
            },
        }
    }
}

// Looks like the other functions' ports structs (Puller, Pusher...): only what this job uses.
/// Everything the handler needs, wired once per container.
#[derive(Clone)]
pub struct Notifier {
    pub api: SpApi,
    pub settings: Arc<dyn SettingsStore>,
    pub state: Arc<dyn NotificationState>,
    /// The kept participations of sellers with no marketplace listed.
    pub participations: Arc<dyn ParticipationStore>,
    /// The order pull's per-order step (its ledger, notes, WMS queue).
    pub handoff: Handoff,
    /// The order-pull job queue (coalesced pulls).
    pub jobs: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub options: NotifyOptions,
}

/// What one record came to (logged; counted in the metrics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    /// The order was fetched and handed over (sent, held, already sent...).
    Fetched,
    /// Folded into the seller's next incremental pull.
    Coalesced,
    /// A notification id handled before.
    Duplicate,
    /// Nothing to do for it, and why.
    Ignored(&'static str),
}

/// What a batch did, per seller and in all.
#[derive(Debug, Default)]
struct BatchState {
    /// Sellers whose hints this batch coalesces without waiting for quota.
    coalescing: HashSet<SellerId>,
    /// Notification ids handled in this batch (a duplicate can arrive in
    /// the same batch, before the first is marked seen).
    handled: HashSet<String>,
    /// Notifications received per onboarded seller.
    received: BTreeMap<SellerId, u64>,
    /// What the per-order step did per seller.
    tallies: BTreeMap<SellerId, Tally>,
    duplicates: u64,
    ignored: u64,
    fetched: u64,
    coalesced: u64,
    pulls: u64,
}

/// What a batch came to (the handler's log line and the tests).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchSummary {
    pub records: usize,
    pub fetched: u64,
    pub coalesced: u64,
    pub pulls_scheduled: u64,
    pub duplicates: u64,
    pub ignored: u64,
    pub sent: u32,
    pub held: u32,
    pub cancellations: u32,
    pub cancel_requests: u32,
    pub dead_lettered: usize,
    pub failed: usize,
}

impl Notifier {
    /// Handles an SQS batch of notifications; returns the partial-batch
    /// report (failed records for SQS to redeliver) and a summary.
    pub async fn run_batch(
        &self,
        event: SqsEvent,
        dead_letters: &dyn DeadLetterSink,
        deadline: &Deadline,
    ) -> Result<(BatchReport, BatchSummary), lambda_kit::batch::AllFailed> {
        let records = event.records.len();
        let batch = Mutex::new(BatchState::default());
        let batch_ref = &batch;
        let report = process(
            event,
            false,
            dead_letters,
            |meta: RecordMeta, notification: Notification| async move {
                self.metrics.notify(
                    Job::Notifications,
                    None,
                    NotifyCounter::NotificationsReceived,
                    1,
                );
                match self.one(&notification, batch_ref, deadline).await {
                    Ok(handled) => {
                        tracing::debug!(message_id = %meta.message_id, notification = %notification.notification_metadata.notification_id, ?handled, "notification handled");
                        Ok(())
                    }
                    Err(e) => {
                        tracing::warn!(message_id = %meta.message_id, notification = %notification.notification_metadata.notification_id, error = %e, error_type = e.error_type(), "notification not handled");
                        Err(RecordError::from_error(&e, e.is_retryable()))
                    }
                }
            },
        )
        .await;
        let state = batch.into_inner().unwrap_or_else(|p| p.into_inner());
        let summary = self.finish(state, records, report.as_ref().ok()).await;
        tracing::info!(
            records = summary.records,
            fetched = summary.fetched,
            coalesced = summary.coalesced,
            pulls_scheduled = summary.pulls_scheduled,
            duplicates = summary.duplicates,
            ignored = summary.ignored,
            sent = summary.sent,
            held = summary.held,
            cancellations = summary.cancellations,
            cancel_requests = summary.cancel_requests,
            dead_lettered = summary.dead_lettered,
            failed = summary.failed,
            "notification batch done"
        );
        report.map(|r| (r, summary))
    }

    /// Writes what the batch learnt (delivery health) and counted (metrics).
    async fn finish(
        &self,
        state: BatchState,
        records: usize,
        report: Option<&BatchReport>,
    ) -> BatchSummary {
        let now = self.clock.now();
        for (seller, count) in &state.received {
            if let Err(e) = self.state.record_received(seller, now, *count).await {
                tracing::warn!(seller = %seller, error = %e, "could not record that the seller's notifications arrive");
            }
        }
        let m = &self.metrics;
        let job = Job::Notifications;
        m.notify(
            job,
            None,
            NotifyCounter::NotificationsDuplicate,
            state.duplicates,
        );
        m.notify(
            job,
            None,
            NotifyCounter::NotificationsIgnored,
            state.ignored,
        );
        m.notify(job, None, NotifyCounter::OrdersFetched, state.fetched);
        m.notify(job, None, NotifyCounter::OrdersCoalesced, state.coalesced);
        m.notify(job, None, NotifyCounter::CoalescedPulls, state.pulls);
        let mut summary = BatchSummary {
            records,
            fetched: state.fetched,
            coalesced: state.coalesced,
            pulls_scheduled: state.pulls,
            duplicates: state.duplicates,
            ignored: state.ignored,
            dead_lettered: report.map_or(0, |r| r.dead_lettered),
            failed: report.map_or(records, |r| r.failed),
            ..BatchSummary::default()
        };
        for (seller, t) in &state.tallies {
            let s = Some(seller);
            m.count(job, s, Counter::OrdersSent, t.sent.into());
            m.count(job, s, Counter::CancellationsSent, t.cancellations.into());
            m.count(job, s, Counter::OrdersHeld, t.held.into());
            summary.sent += t.sent;
            summary.held += t.held;
            summary.cancellations += t.cancellations;
            summary.cancel_requests += t.cancel_requests;
        }
        summary
    }

    fn with_batch<T>(batch: &Mutex<BatchState>, f: impl FnOnce(&mut BatchState) -> T) -> T {
        f(&mut batch.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// One notification.
    async fn one(
        &self,
        n: &Notification,
        batch: &Mutex<BatchState>,
        deadline: &Deadline,
    ) -> Result<Handled, NotifyError> {
        let id = n.notification_metadata.notification_id.as_str();
        if n.notification_type != ORDER_CHANGE {
            tracing::info!(notification = id, kind = %n.notification_type, "notification type not handled; acknowledged");
            Self::with_batch(batch, |b| b.ignored += 1);
            return Ok(Handled::Ignored(
                "a notification type the connector does not subscribe to",
            ));
        }
        let in_batch = Self::with_batch(batch, |b| b.handled.contains(id));
        if in_batch || self.state.seen(id).await? {
            Self::with_batch(batch, |b| b.duplicates += 1);
            return Ok(Handled::Duplicate);
        }
        let change = OrderChange::from_payload(&n.payload).map_err(|e| {
            NotifyError::Malformed(format!(
                "ORDER_CHANGE payload version {}: {e}",
                n.payload_version
            ))
        })?;
        let handled = self.order_change(n, &change, batch, deadline).await?;
        Self::with_batch(batch, |b| b.handled.insert(id.to_string()));
        let expires = (self.clock.now() + TimeDelta::days(self.options.seen_days)).timestamp();
        if let Err(e) = self.state.mark_seen(id, expires).await {
            // Harmless: a redelivery is handled again (the ledger sends once).
            tracing::warn!(notification = id, error = %e, "could not remember the notification id");
        }
        Ok(handled)
    }

    async fn order_change(
        &self,
        n: &Notification,
        change: &OrderChange,
        batch: &Mutex<BatchState>,
        deadline: &Deadline,
    ) -> Result<Handled, NotifyError> {
        let ignore = |why: &'static str| {
            Self::with_batch(batch, |b| b.ignored += 1);
            Ok(Handled::Ignored(why))
        };
        if !matches!(
            change.order_change_type,
            OrderChangeType::OrderStatusChange | OrderChangeType::BuyerRequestedChange
        ) {
            tracing::info!(
                kind = change.order_change_type.as_str(),
                "order change kind not handled; counted and acknowledged"
            );
            return ignore("an order change kind nothing is done for");
        }
        let seller = SellerId::new(&change.seller_id).map_err(|e| {
            NotifyError::Malformed(format!("Payload.OrderChangeNotification.SellerId: {e}"))
        })?;
        let order_id = AmazonOrderId::new(&change.amazon_order_id).map_err(|e| {
            NotifyError::Malformed(format!(
                "Payload.OrderChangeNotification.AmazonOrderId: {e}"
            ))
        })?;
        let Some(settings) = self.settings.get_settings(&seller).await? else {
            tracing::warn!(seller = %seller, "notification for a seller that is not onboarded; acknowledged (delete the subscription if the seller left)");
            return ignore("the seller is not onboarded");
        };
        if let Some(reason) = not_pullable(&settings) {
            tracing::info!(seller = %seller, reason, "notification for a seller whose orders are not pulled; acknowledged");
            return ignore("the seller's orders are not pulled");
        }
        Self::with_batch(batch, |b| {
            *b.received.entry(seller.clone()).or_default() += 1
        });
        self.measure(n, change);
        let changed_at = change
            .order_change_trigger
            .time_of_order_change
            .unwrap_or(n.notification_metadata.publish_time);
        // A seller with no marketplace listed is served in its
        // participations, as the pull resolves them (kept, refreshed daily).
        let settings = if settings.all_marketplaces() {
            match lambda_kit::marketplaces::resolve(
                &self.api,
                self.participations.as_ref(),
                &settings,
                self.clock.now(),
                deadline,
            )
            .await
            {
                Ok(resolved) => settings.with_marketplaces(resolved.marketplaces),
                Err(e) => {
                    tracing::warn!(seller = %seller, error = %e, "the seller's marketplaces are unknown for now: left to its next pull");
                    return self.coalesce(&seller, &order_id, changed_at, batch).await;
                }
            }
        } else {
            settings
        };
        // Facts that never change for an order: no quota spent on them.
        if change.summary.fulfillment_type == "AFN" {
            return ignore("fulfilled by Amazon");
        }
        if !settings
            .marketplaces
            .iter()
            .any(|m| m.as_str() == change.summary.marketplace_id)
        {
            return ignore("a marketplace the seller is not set up for");
        }
        let queued = self.clock.now() - n.notification_metadata.publish_time;
        let coalescing = Self::with_batch(batch, |b| b.coalescing.contains(&seller));
        if coalescing || queued > self.options.max_queue_age {
            if !coalescing {
                tracing::info!(seller = %seller, order = %order_id, queued_s = queued.num_seconds(), "notifications are waiting in the queue: coalescing the seller's hints into its next pull");
                Self::with_batch(batch, |b| b.coalescing.insert(seller.clone()));
            }
            return self.coalesce(&seller, &order_id, changed_at, batch).await;
        }
        match self.fetch(&settings, &order_id, deadline).await {
            Ok(order) => {
                Self::with_batch(batch, |b| b.fetched += 1);
                let mut tally = Tally::default();
                let result = self.handoff.handle(&order, &settings, &mut tally).await;
                Self::with_batch(batch, |b| {
                    let t = b.tallies.entry(seller.clone()).or_default();
                    add(t, &tally);
                });
                result?;
                Ok(Handled::Fetched)
            }
            Err(SpApiError::AuthorizationRevoked { .. }) => {
                // The client flagged the seller; every job skips it now.
                ignore("the seller's authorisation was revoked")
            }
            Err(e) => {
                match &e {
                    SpApiError::ResumeLater { .. } => {
                        tracing::info!(seller = %seller, order = %order_id, "getOrder quota busy: coalescing the seller's hints into its next pull")
                    }
                    SpApiError::Amazon { status: 404, .. } => {
                        tracing::info!(seller = %seller, order = %order_id, "Amazon does not show the order yet: left to the seller's next pull")
                    }
                    other => {
                        tracing::warn!(seller = %seller, order = %order_id, error = %other, "getOrder failed: coalescing the seller's hints into its next pull")
                    }
                }
                Self::with_batch(batch, |b| b.coalescing.insert(seller.clone()));
                self.coalesce(&seller, &order_id, changed_at, batch).await
            }
        }
    }

    /// Amazon's delivery delay, and ours until this handler read it.
    fn measure(&self, n: &Notification, change: &OrderChange) {
        let Some(changed) = change.order_change_trigger.time_of_order_change else {
            return;
        };
        let ms = |d: TimeDelta| u64::try_from(d.num_milliseconds().max(0)).unwrap_or(0);
        self.metrics
            .notification_publish_delay(ms(n.notification_metadata.publish_time - changed));
        self.metrics
            .notification_receive_delay(ms(self.clock.now() - changed));
    }

    /// `getOrder` with the pull's `includedData`, waiting at most
    /// `fetch_wait` for the seller's quota (and never past the deadline).
    async fn fetch(
        &self,
        settings: &SellerSettings,
        order_id: &AmazonOrderId,
        deadline: &Deadline,
    ) -> Result<spapi::models::orders::Order, SpApiError> {
        let call = GetOrder {
            order_id: order_id.clone(),
            included_data: INCLUDED.to_vec(),
        };
        let answer = self
            .api
            .call_waiting_at_most(
                &SellerContext::from(settings),
                &call,
                deadline,
                self.options.fetch_wait,
            )
            .await?;
        Ok(answer.order)
    }

    /// Folds the hint into the seller's next incremental pull: covered by
    /// the job already scheduled, or a new one (enqueued here, undone if
    /// the queue refuses).
    async fn coalesce(
        &self,
        seller: &SellerId,
        order_id: &AmazonOrderId,
        changed_at: DateTime<Utc>,
        batch: &Mutex<BatchState>,
    ) -> Result<Handled, NotifyError> {
        let now = self.clock.now();
        let placed = self
            .state
            .schedule_coalesced(seller, changed_at, now, &self.options.coalesce)
            .await?;
        if let Coalesced::Schedule { job_at, .. } = &placed {
            let wait = (*job_at - now).to_std().unwrap_or_default();
            let delay = self.api.config().time_scale.duration(wait);
            if let Err(e) = self
                .jobs
                .enqueue(&PullJob::coalesced(seller.as_str()), delay)
                .await
            {
                if let Err(undo) = self.state.unschedule_coalesced(seller, &placed).await {
                    tracing::warn!(seller = %seller, error = %undo, "could not undo the coalesced pull that was not enqueued");
                }
                return Err(e.into());
            }
            tracing::info!(seller = %seller, order = %order_id, job_at = %job_at, "coalesced pull scheduled");
            Self::with_batch(batch, |b| b.pulls += 1);
        }
        Self::with_batch(batch, |b| b.coalesced += 1);
        Ok(Handled::Coalesced)
    }
}

fn add(total: &mut Tally, t: &Tally) {
    total.orders_seen += t.orders_seen;
    total.sent += t.sent;
    total.already_sent += t.already_sent;
    total.in_flight += t.in_flight;
    total.held += t.held;
    total.filtered += t.filtered;
    total.cancellations += t.cancellations;
    total.cancel_requests += t.cancel_requests;
}
