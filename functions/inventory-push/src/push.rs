//! One seller's push, and the scheduled fan-out.
//!
//! A run: (1) read the processing reports of feeds sent earlier and settle
//! their SKUs (accepted → pushed; rejected → recorded and reported; a feed
//! stuck `IN_PROGRESS` past `stuck_after` → ERROR log, counted, its SKUs
//! released for re-push); (2) read the whole WMS stock — on any failure stop
//! here: nothing pushed, nothing recorded as pushed; (3) compute the
//! quantities and the changes (all SKUs on a full resync), zero-stock first;
//! (4) push: `patchListingsItem` per SKU up to `patch_threshold` changes,
//! else `JSON_LISTINGS_FEED`s of at most 25,000 messages, at most 5 per 5
//! minutes (the rest goes to a delayed follow-up job); (5) record.
//!
//! Pushing an absolute quantity is idempotent: a retried patch or a feed
//! re-sent after a crash sets the same value, so no idempotency key is
//! needed; a feed's SKUs count as pushed only once its report says so.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{Deadline, MarketplaceId, SellerId, Sku};
use lambda_kit::metrics::{Counter, Job, Metrics};
use serde::Serialize;
use spapi::documents::FeedRequest;
use spapi::models::feeds::ProcessingStatus;
use spapi::models::listings::{
    DEFAULT_CHANNEL, PRODUCT, PatchOperation, SubmissionStatus, is_unknown_sku_code,
};
use spapi::models::listings_feed::{
    FEED_TYPE, FeedMessage, ListingsFeed, MAX_MESSAGES, OperationType, ProcessingReport,
};
use spapi::ops::feeds::CONTENT_TYPE_JSON;
use spapi::ops::listings::PatchListingsItem;
use spapi::{SellerContext, SpApi};
use store::{
    Checkpoints, Clock, ParticipationStore, PendingPush, Rejection, SettingsStore, StockBook,
    StockLedger, TrackedFeed,
};

use crate::error::PushError;
use crate::plan::{Change, changes, desired};
use crate::ports::{JobQueue, PushJob, StockSource};

mod schedule;

pub use schedule::{RECONCILE_EVERY, is_due, parse_rate, reconcile_is_due};

#[derive(Clone, Debug)]
pub struct PushOptions {
    /// Up to this many changes go through `patchListingsItem` (5 per second:
    /// 50 patches ≈ 10 s, results at once); more go through feeds.
    pub patch_threshold: usize,
    pub max_feed_messages: usize,
    /// JSON_LISTINGS_FEED: 5 submissions per 5 minutes.
    pub feeds_per_window: usize,
    pub feed_window: Duration,
    /// A feed still not DONE after this long is "stuck": alerted, its SKUs re-pushed.
    pub stuck_after: chrono::Duration,
    /// A stuck feed is forgotten after this long.
    pub forget_after: chrono::Duration,
    pub channel: String,
    /// Hour of the default daily push ("after work hours"), in the seller's
    /// own time zone (`time_zone` of its settings).
    pub default_hour: u32,
    /// Most SKUs listed by name in a report.
    pub sample: usize,
    /// Most rejected SKUs logged one by one per run (each with Amazon's
    /// issue code and message); beyond it one line counts the rest by code.
    pub log_rejections: usize,
    /// The weekly SKU reconciliation runs at this hour in the seller's time
    /// zone, once it is [`RECONCILE_EVERY`] old.
    pub reconcile_hour: u32,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            patch_threshold: 50,
            max_feed_messages: MAX_MESSAGES,
            feeds_per_window: 5,
            feed_window: Duration::from_secs(300),
            stuck_after: chrono::Duration::hours(2),
            forget_after: chrono::Duration::days(2),
            channel: DEFAULT_CHANNEL.to_string(),
            default_hour: 20,
            sample: 20,
            log_rejections: 500,
            reconcile_hour: 3,
        }
    }
}

/// Where quantities go: the seller's marketplaces and fulfilment channel.
struct Target<'a> {
    markets: &'a [MarketplaceId],
    channel: &'a str,
}

/// Everything a run did, for logs, the demo and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PushReport {
    pub seller_id: String,
    pub full_resync: bool,
    pub wms_skus: usize,
    pub changes: usize,
    pub zero_stock_first: usize,
    /// `patch`, `feed` or `none`.
    pub via: String,
    pub patched: usize,
    pub feeds_submitted: Vec<String>,
    pub messages_in_feeds: usize,
    /// Changes left for the follow-up job (feed limit reached).
    pub deferred: usize,
    pub feeds_settled: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub rejected_sample: Vec<String>,
    /// Rejections (unknown SKUs included) per Amazon issue code.
    #[serde(default)]
    pub rejected_by_code: BTreeMap<String, usize>,
    pub still_rejected: u32,
    pub unknown_on_amazon: usize,
    pub unknown_sample: Vec<String>,
    /// SKUs pushed before that the WMS no longer reports (left as they are).
    pub missing_from_wms: usize,
    pub missing_sample: Vec<String>,
    pub invalid_mappings: usize,
    pub feeds_stuck: usize,
    pub feeds_fatal: usize,
    /// The marketplaces the quantities were pushed to.
    #[serde(default)]
    pub marketplaces: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FanoutReport {
    pub sellers: u32,
    /// Push jobs enqueued.
    pub jobs: u32,
    /// Sellers given no push job.
    pub skipped: u32,
    /// SKU reconciliation jobs enqueued (weekly per seller).
    pub reconciliations: u32,
}

// Looks like the other functions' ports structs (Puller, Confirmer...): only what this job uses.
pub struct Pusher {
    pub api: SpApi,
    pub settings: Arc<dyn SettingsStore>,
    pub stock: Arc<dyn StockLedger>,
    pub checkpoints: Arc<dyn Checkpoints>,
    /// Marketplace participations of sellers with no marketplace listed.
    pub participations: Arc<dyn ParticipationStore>,
    pub source: Arc<dyn StockSource>,
    pub jobs: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    pub options: PushOptions,
    /// Counts SKUs, feeds and stuck feeds (flushed by the handler).
    pub metrics: Metrics,
}

const CHECKPOINT: &str = "inventory-push";

/// The `audit` field of the line that says how a seller's push ended.
pub const PUSH_ACTION: &str = "inventory.push";

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct LastRun {
    last_run_at: Option<DateTime<Utc>>,
    /// The marketplaces pushed to; another set next time means a full
    /// resync (a marketplace new to the seller has none of its quantities).
    #[serde(default)]
    marketplaces: Option<Vec<String>>,
}

impl Pusher {
    /// The job's seller (its id checked) and its settings; an unknown
    /// seller is refused.
    pub(crate) async fn seller(
        &self,
        seller_id: &str,
    ) -> Result<(SellerId, domain::settings::SellerSettings), PushError> {
        let seller = SellerId::new(seller_id).map_err(PushError::invalid_seller)?;
        let settings = self
            .settings
            .get_settings(&seller)
            .await?
            .ok_or_else(|| PushError::UnknownSeller(seller_id.to_string()))?;
        Ok((seller, settings))
    }

    /// The seller's marketplaces for a push or a reconciliation: its list,
    /// or its participations when it lists none.
    pub(crate) async fn marketplaces(
        &self,
        settings: &domain::settings::SellerSettings,
        now: DateTime<Utc>,
        deadline: &Deadline,
    ) -> Result<Vec<MarketplaceId>, PushError> {
        Ok(lambda_kit::marketplaces::resolve(
            &self.api,
            self.participations.as_ref(),
            settings,
            now,
            deadline,
        )
        .await?
        .marketplaces)
    }

    /// The schedule's run: one job per seller whose push is due.
    pub async fn fan_out(&self) -> Result<FanoutReport, PushError> {
        let mut report = FanoutReport::default();
        let now = self.clock.now();
        for summary in self.settings.list_sellers().await? {
            report.sellers += 1;
            let Some(s) = self.settings.get_settings(&summary.seller_id).await? else {
                report.skipped += 1;
                continue;
            };
            if s.enabled && s.jobs.inventory && !summary.authorized {
                tracing::warn!(seller = %s.seller_id, "inventory push skipped: the seller's authorisation is broken (LWA invalid_grant); send it a renewal invitation (connector-admin invite --seller)");
            }
            if !s.enabled || !s.jobs.inventory || !summary.authorized {
                report.skipped += 1;
                continue;
            }
            let reconciled = self
                .last_reconciliation(&s.seller_id)
                .await?
                .and_then(|r| r.ran_at);
            if reconcile_is_due(self.options.reconcile_hour, &s.time_zone, reconciled, now) {
                self.jobs
                    .enqueue(&PushJob::reconcile(s.seller_id.to_string()), Duration::ZERO)
                    .await?;
                report.reconciliations += 1;
            }
            let last = self
                .checkpoints
                .get_checkpoint(&s.seller_id, CHECKPOINT)
                .await?
                .and_then(|c| serde_json::from_value::<LastRun>(c.value).ok())
                .and_then(|l| l.last_run_at);
            if !self.due(s.inventory.schedule.as_deref(), &s.time_zone, last, now) {
                report.skipped += 1;
                continue;
            }
            self.jobs
                .enqueue(&PushJob::push(s.seller_id.to_string()), Duration::ZERO)
                .await?;
            report.jobs += 1;
        }
        tracing::info!(
            sellers = report.sellers,
            jobs = report.jobs,
            skipped = report.skipped,
            reconciliations = report.reconciliations,
            "inventory push fanned out"
        );
        Ok(report)
    }

    /// A seller's own `rate(...)` or `cron(...)` (UTC, as EventBridge reads
    /// it; the first fan-out after each time it fires), else once a day at
    /// `default_hour` in the seller's time zone — 20:00 in Berlin is 19:00
    /// UTC in winter and 18:00 in summer — or when the last run is over 25
    /// hours old. An expression that does not parse falls back to the
    /// default, with a warning.
    fn due(
        &self,
        schedule: Option<&str>,
        time_zone: &str,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        is_due(self.options.default_hour, schedule, time_zone, last, now)
    }

    /// One seller's push; its outcome is an audit line.
    pub async fn run(&self, seller_id: &str, deadline: &Deadline) -> Result<PushReport, PushError> {
        let result = self.push(seller_id, deadline).await;
        if let Err(e) = &result {
            lambda_kit::audit!(failure, PUSH_ACTION, seller = seller_id, error = %e, "inventory push failed");
        }
        result
    }

    fn count(&self, seller: &SellerId, counter: Counter) {
        self.metrics
            .count(Job::InventoryPush, Some(seller), counter, 1);
    }

    async fn push(&self, seller_id: &str, deadline: &Deadline) -> Result<PushReport, PushError> {
        let (seller, settings) = self.seller(seller_id).await?;
        let mut report = PushReport {
            seller_id: seller_id.to_string(),
            via: "none".into(),
            ..PushReport::default()
        };
        let ctx = SellerContext::from(&settings);
        let now = self.clock.now();
        let mut book = self.stock.load_stock(&seller).await?;

        // 1. Reports of earlier feeds.
        self.settle_feeds(&seller, &ctx, &mut book, now, deadline, &mut report)
            .await?;
        self.stock.save_stock(&seller, &mut book).await?;

        // The marketplaces to push to: the seller's list, or its
        // participations when it lists none.
        let markets = self.marketplaces(&settings, now, deadline).await?;
        report.marketplaces = markets.iter().map(|m| m.to_string()).collect();
        let last_markets = self
            .checkpoints
            .get_checkpoint(&seller, CHECKPOINT)
            .await?
            .and_then(|c| serde_json::from_value::<LastRun>(c.value).ok())
            .and_then(|l| l.marketplaces);
        let new_markets = last_markets.is_some_and(|m| m != report.marketplaces);

        // 2. The WMS stock, all of it, or nothing happens.
        let items = self
            .source
            .fetch_all(settings.client_code.as_str(), deadline)
            .await
            .map_err(PushError::Stock)?;
        let wanted = desired(&items, &settings.inventory);
        drop(items);
        report.wms_skus = wanted.quantities.len();
        report.invalid_mappings = wanted.invalid_mappings.len();
        if !wanted.invalid_mappings.is_empty() {
            tracing::warn!(
                seller_id,
                count = wanted.invalid_mappings.len(),
                "SKU map gives invalid Amazon SKUs; not pushed"
            );
        }
        let missing: Vec<String> = book
            .iter()
            .filter(|(sku, e)| e.pushed.is_some() && !wanted.quantities.contains_key(*sku))
            .map(|(sku, _)| sku.clone())
            .collect();
        report.missing_from_wms = missing.len();
        report.missing_sample = missing.into_iter().take(self.options.sample).collect();
        if report.missing_from_wms > 0 {
            tracing::warn!(
                seller_id,
                missing = report.missing_from_wms,
                first = %report.missing_sample.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                wms_skus = report.wms_skus,
                "the WMS stock did not include SKUs pushed before (its paging may have ended early, or they were delisted in the WMS); their Amazon quantities were left unchanged"
            );
        }

        // 3. What to push.
        let mut meta = self.stock.stock_meta(&seller).await?;
        let every = chrono::Duration::days(i64::from(settings.inventory.full_resync_days.max(1)));
        let full = meta.last_full_resync.is_none_or(|t| now - t >= every) || new_markets;
        if new_markets {
            tracing::info!(seller_id, marketplaces = ?report.marketplaces, "the seller's marketplaces changed since the last push: every SKU is pushed");
        }
        report.full_resync = full;
        let (todo, still_rejected) = changes(&wanted.quantities, &book, full);
        drop(wanted);
        report.still_rejected = still_rejected;
        report.changes = todo.len();
        report.zero_stock_first = todo.iter().take_while(|c| c.quantity == 0).count();

        // 4. Push, to every marketplace of the run.
        let channel = settings
            .inventory
            .fulfillment_channel_code
            .clone()
            .unwrap_or_else(|| self.options.channel.clone());
        let target = Target {
            markets: &markets,
            channel: &channel,
        };
        let outcome = if todo.is_empty() {
            Ok(())
        } else if todo.len() <= self.options.patch_threshold {
            report.via = "patch".into();
            self.patch_all(
                &seller,
                &ctx,
                &target,
                &todo,
                &mut book,
                deadline,
                &mut report,
            )
            .await
        } else {
            report.via = "feed".into();
            self.feed_all(
                &seller,
                &ctx,
                &target,
                &todo,
                &mut book,
                now,
                deadline,
                &mut report,
            )
            .await
        };
        // Whatever happened, keep what was done.
        self.stock.save_stock(&seller, &mut book).await?;
        outcome?;

        if report.rejected > self.options.log_rejections {
            tracing::warn!(
                seller_id,
                rejected = report.rejected,
                not_listed = report.rejected - self.options.log_rejections,
                by_code = %codes(&report.rejected_by_code),
                "more SKUs were rejected than are logged one by one; all of them are counted by issue code"
            );
        }

        // 5. Record.
        if full && report.deferred == 0 {
            meta.last_full_resync = Some(now);
            self.stock.put_stock_meta(&seller, &meta).await?;
        }
        self.mark_run(&seller, now, &report.marketplaces).await?;
        lambda_kit::audit!(
            success,
            PUSH_ACTION,
            seller = seller_id,
            full = report.full_resync,
            wms_skus = report.wms_skus,
            changes = report.changes,
            via = report.via,
            patched = report.patched,
            feeds = report.feeds_submitted.len(),
            deferred = report.deferred,
            accepted = report.accepted,
            rejected = report.rejected,
            rejected_by_code = %codes(&report.rejected_by_code),
            unknown_on_amazon = report.unknown_on_amazon,
            missing_from_wms = report.missing_from_wms,
            feeds_stuck = report.feeds_stuck,
            "inventory push finished"
        );
        Ok(report)
    }

    async fn mark_run(
        &self,
        seller: &SellerId,
        now: DateTime<Utc>,
        marketplaces: &[String],
    ) -> Result<(), PushError> {
        let current = self.checkpoints.get_checkpoint(seller, CHECKPOINT).await?;
        let value = serde_json::json!({ "last_run_at": now, "marketplaces": marketplaces });
        match self
            .checkpoints
            .put_checkpoint(seller, CHECKPOINT, &value, current.map(|c| c.version))
            .await
        {
            Ok(_) | Err(store::StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn settle_feeds(
        &self,
        seller: &SellerId,
        ctx: &SellerContext,
        book: &mut StockBook,
        now: DateTime<Utc>,
        deadline: &Deadline,
        report: &mut PushReport,
    ) -> Result<(), PushError> {
        for mut feed in self.stock.tracked_feeds(seller).await? {
            let outcome = self.api.feed_outcome(ctx, &feed.feed_id, deadline).await?;
            let status = outcome.feed.processing_status;
            if !status.is_terminal() {
                let age = now - feed.submitted_at;
                if age >= self.options.stuck_after {
                    report.feeds_stuck += 1;
                    self.count(seller, Counter::FeedsStuck);
                    tracing::error!(
                        seller_id = %seller, feed_id = feed.feed_id, status = %status,
                        age_minutes = age.num_minutes(),
                        "feed stuck: Amazon has not finished it; its SKUs will be pushed again"
                    );
                    if feed.stuck_since.is_none() {
                        release(book, &feed.feed_id);
                        feed.stuck_since = Some(now);
                        self.stock.track_feed(seller, &feed).await?;
                    } else if age >= self.options.forget_after {
                        self.stock.untrack_feed(seller, &feed.feed_id).await?;
                    }
                }
                continue;
            }
            report.feeds_settled += 1;
            let parsed = outcome.report.as_deref().map(ProcessingReport::parse);
            match (status, parsed) {
                (ProcessingStatus::Done, Some(Ok(r))) if r.feed_level_errors().next().is_none() => {
                    self.apply_report(seller, book, &feed.feed_id, &r, report);
                }
                (status, parsed) => {
                    if status == ProcessingStatus::Fatal {
                        report.feeds_fatal += 1;
                    }
                    self.count(seller, Counter::FeedErrors);
                    let why = match parsed {
                        Some(Err(e)) => {
                            format!("the processing report is not JSON_LISTINGS_FEED's: {e}")
                        }
                        Some(Ok(r)) => r
                            .feed_level_errors()
                            .map(|i| i.message.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                        None => "no processing report".into(),
                    };
                    tracing::error!(seller_id = %seller, feed_id = feed.feed_id, status = %status, reason = why, "feed not applied; its SKUs will be pushed again");
                    release(book, &feed.feed_id);
                }
            }
            self.stock.untrack_feed(seller, &feed.feed_id).await?;
        }
        Ok(())
    }

    fn apply_report(
        &self,
        seller: &SellerId,
        book: &mut StockBook,
        feed_id: &str,
        r: &ProcessingReport,
        report: &mut PushReport,
    ) {
        let mut errors: HashMap<u32, (String, String)> = HashMap::new();
        for i in r
            .issues
            .iter()
            .filter(|i| i.severity == spapi::models::listings::Severity::Error)
        {
            if let Some(id) = i.message_id {
                errors.entry(id).or_insert_with(|| {
                    (
                        i.code.clone().unwrap_or_else(|| "INVALID".into()),
                        i.message.clone(),
                    )
                });
            }
        }
        let ours: Vec<(String, PendingPush)> = book
            .iter()
            .filter_map(|(sku, e)| {
                e.pending
                    .as_ref()
                    .filter(|p| p.feed_id == feed_id)
                    .map(|p| (sku.clone(), p.clone()))
            })
            .collect();
        for (sku, p) in ours {
            match errors.get(&p.message_id) {
                None => {
                    report.accepted += 1;
                    self.count(seller, Counter::SkusPushed);
                    book.update(&sku, |e| {
                        e.pushed = Some(p.quantity);
                        e.pending = None;
                        e.rejected = None;
                    });
                }
                Some((code, message)) => {
                    self.count(seller, Counter::SkusRejected);
                    self.note_rejection(seller, &sku, code, message, report);
                    book.update(&sku, |e| {
                        e.pending = None;
                        e.rejected = Some(Rejection {
                            quantity: p.quantity,
                            code: code.clone(),
                        });
                    });
                }
            }
        }
    }

    /// Counts a SKU Amazon refused and logs it (SKU, Amazon's issue code and
    /// message) however the run was triggered; unknown vs rejected is decided
    /// by the issue code ([`is_unknown_sku_code`]).
    fn note_rejection(
        &self,
        seller: &SellerId,
        sku: &str,
        code: &str,
        message: &str,
        report: &mut PushReport,
    ) {
        report.rejected += 1;
        *report.rejected_by_code.entry(code.to_string()).or_default() += 1;
        let unknown = is_unknown_sku_code(code);
        if report.rejected <= self.options.log_rejections {
            if unknown {
                tracing::warn!(seller_id = %seller, sku, code, message, "Amazon has no listing for this SKU: quantity not pushed (create the listing, or map the WMS SKU in inventory.sku_map)");
            } else {
                tracing::warn!(seller_id = %seller, sku, code, message, "Amazon rejected the SKU's quantity");
            }
        }
        if unknown {
            report.unknown_on_amazon += 1;
            if report.unknown_sample.len() < self.options.sample {
                report.unknown_sample.push(sku.to_string());
            }
        } else if report.rejected_sample.len() < self.options.sample {
            report.rejected_sample.push(format!("{sku}: {code}"));
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn patch_all(
        &self,
        seller: &SellerId,
        ctx: &SellerContext,
        target: &Target<'_>,
        todo: &[Change],
        book: &mut StockBook,
        deadline: &Deadline,
        report: &mut PushReport,
    ) -> Result<(), PushError> {
        for c in todo {
            let Ok(sku) = Sku::new(&c.sku) else { continue };
            let call = PatchListingsItem::set_quantity(
                seller.clone(),
                sku,
                target.markets.to_vec(),
                target.channel,
                c.quantity,
            );
            let answer = self.api.call(ctx, &call, deadline).await?;
            report.patched += 1;
            match answer.status {
                SubmissionStatus::Accepted | SubmissionStatus::Valid => {
                    report.accepted += 1;
                    self.count(seller, Counter::SkusPushed);
                    book.update(&c.sku, |e| {
                        e.pushed = Some(c.quantity);
                        e.pending = None;
                        e.rejected = None;
                    });
                }
                SubmissionStatus::Invalid => {
                    let (code, message) = answer
                        .errors()
                        .next()
                        .map(|i| (i.code.clone(), i.message.clone()))
                        .unwrap_or_else(|| ("INVALID".into(), String::new()));
                    self.count(seller, Counter::SkusRejected);
                    self.note_rejection(seller, &c.sku, &code, &message, report);
                    book.update(&c.sku, |e| {
                        e.pending = None;
                        e.rejected = Some(Rejection {
                            quantity: c.quantity,
                            code,
                        });
                    });
                }
            }
        }
        Ok(())
    }

    // Like `patch_all`'s inputs, but the changes go in budgeted feeds, not one patch per SKU.
    #[allow(clippy::too_many_arguments)]
    async fn feed_all(
        &self,
        seller: &SellerId,
        ctx: &SellerContext,
        target: &Target<'_>,
        todo: &[Change],
        book: &mut StockBook,
        now: DateTime<Utc>,
        deadline: &Deadline,
        report: &mut PushReport,
    ) -> Result<(), PushError> {
        let window = chrono::Duration::from_std(self.options.feed_window)
            .unwrap_or(chrono::Duration::minutes(5));
        let recent = self
            .stock
            .tracked_feeds(seller)
            .await?
            .iter()
            .filter(|f| now - f.submitted_at < window)
            .count();
        let mut budget = self.options.feeds_per_window.saturating_sub(recent);
        let chunks: Vec<&[Change]> = todo.chunks(self.options.max_feed_messages.max(1)).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            if budget == 0 {
                let left: usize = chunks[i..].iter().map(|c| c.len()).sum();
                report.deferred = left;
                tracing::warn!(seller_id = %seller, deferred = left, "JSON_LISTINGS_FEED limit (5 per 5 minutes) reached; the rest follows in a delayed job");
                self.jobs
                    .enqueue(&PushJob::push(seller.to_string()), self.options.feed_window)
                    .await?;
                return Ok(());
            }
            let mut feed = ListingsFeed::new(seller.as_str());
            feed.messages = chunk
                .iter()
                .enumerate()
                .map(|(n, c)| FeedMessage {
                    message_id: (n + 1) as u32,
                    sku: c.sku.clone(),
                    operation_type: OperationType::Patch,
                    product_type: PRODUCT.to_string(),
                    patches: vec![PatchOperation::set_quantity(target.channel, c.quantity)],
                })
                .collect();
            let bytes = serde_json::to_vec(&feed).map_err(|e| {
                PushError::Amazon(spapi::SpApiError::InvalidRequest {
                    operation: domain::Operation::CreateFeed,
                    message: format!("could not encode the feed: {e}"),
                })
            })?;
            drop(feed);
            let submission = self
                .api
                .submit_feed(
                    ctx,
                    FeedRequest {
                        feed_type: FEED_TYPE,
                        marketplace_ids: target.markets,
                        content_type: CONTENT_TYPE_JSON,
                        document: &bytes,
                        feed_options: BTreeMap::new(),
                    },
                    deadline,
                )
                .await?;
            budget -= 1;
            self.count(seller, Counter::FeedsSubmitted);
            for (n, c) in chunk.iter().enumerate() {
                let pending = PendingPush {
                    quantity: c.quantity,
                    feed_id: submission.feed_id.clone(),
                    message_id: (n + 1) as u32,
                };
                book.update(&c.sku, |e| e.pending = Some(pending));
            }
            self.stock
                .track_feed(
                    seller,
                    &TrackedFeed {
                        feed_id: submission.feed_id.clone(),
                        submitted_at: now,
                        messages: chunk.len() as u32,
                        stuck_since: None,
                    },
                )
                .await?;
            // Recorded before the next feed: a crash leaves no feed untracked.
            self.stock.save_stock(seller, book).await?;
            report.messages_in_feeds += chunk.len();
            report.feeds_submitted.push(submission.feed_id);
        }
        Ok(())
    }
}

/// `code: count` pairs, most frequent first, for one log field.
fn codes(by_code: &BTreeMap<String, usize>) -> String {
    let mut pairs: Vec<(&String, &usize)> = by_code.iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    pairs
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The feed will not (or no longer) confirm its SKUs: forget their pending
/// value, so the next diff pushes them again.
fn release(book: &mut StockBook, feed_id: &str) {
    let skus: Vec<String> = book
        .iter()
        .filter(|(_, e)| e.pending.as_ref().is_some_and(|p| p.feed_id == feed_id))
        .map(|(s, _)| s.clone())
        .collect();
    for sku in skus {
        book.update(&sku, |e| e.pending = None);
    }
}

#[cfg(test)]
mod tests;
