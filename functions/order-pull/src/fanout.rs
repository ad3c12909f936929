//! The scheduled run: one job per seller whose order pull is enabled, plus a
//! reconcile job when the seller's last one is older than `reconcile_every`.
//! The jobs run in parallel through SQS and Lambda concurrency, so 1,000
//! sellers never depend on one 15-minute invocation.
//!
//! It also measures freshness: per seller whose pull is on, the seconds
//! since its last successful pull (`done_until` of `CHECKPOINT#order-pull`;
//! before the first one finished, since the first one began; a seller with
//! no checkpoint yet starts now, at 0), written as `OrderPullAgeSeconds`,
//! and the largest of them as `OrderPullMaxAgeSeconds` (0 with no such
//! seller) — so a stale seller, or a schedule that stopped (no data), alarms.
//!
//! With Amazon's notifications (issue 15) the pull is the backstop: a seller
//! whose notifications are healthy gets its incremental job less often, and
//! subscribed sellers whose orders keep coming through the backstop while no
//! notification arrives are counted as silent ([`crate::backstop`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::SellerId;
use serde::Serialize;

use crate::error::PullError;
use crate::job::{Mode, PullJob};
use crate::pull::{PullState, Puller, not_pullable};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FanoutReport {
    pub sellers: u32,
    pub jobs: u32,
    pub reconciles: u32,
    pub skipped: u32,
    /// Sellers whose incremental job waits for a later run: their
    /// notifications are healthy (the backstop's slower cadence).
    #[serde(default)]
    pub backstop_deferred: u32,
    /// Subscribed sellers whose notifications have stopped while the
    /// backstop keeps finding their orders.
    #[serde(default)]
    pub silent_sellers: u32,
    /// The largest order-pull age of the sellers given a job (seconds).
    pub max_pull_age_seconds: u64,
}

impl Puller {
    pub async fn fan_out(&self) -> Result<FanoutReport, PullError> {
        let mut report = FanoutReport::default();
        let now = self.clock.now();
        for summary in self.settings.list_sellers().await? {
            report.sellers += 1;
            if !summary.enabled {
                report.skipped += 1;
                continue;
            }
            if !summary.authorized {
                // Once per run, not per retry: LWA is not asked again until
                // the seller authorises anew (a renewal invitation clears it).
                tracing::warn!(seller = %summary.seller_id, "order pull skipped: the seller's authorisation is broken (LWA invalid_grant); send it a renewal invitation (connector-admin invite --seller)");
                report.skipped += 1;
                continue;
            }
            let Some(settings) = self.settings.get_settings(&summary.seller_id).await? else {
                report.skipped += 1;
                continue;
            };
            if not_pullable(&settings).is_some() {
                report.skipped += 1;
                continue;
            }
            let seller = summary.seller_id.as_str();
            let state = self.incremental_state(&settings.seller_id).await;
            if self
                .backstop_due(&settings.seller_id, &state, now, &mut report)
                .await
            {
                self.jobs
                    .enqueue(&PullJob::new(seller, Mode::Incremental), Duration::ZERO)
                    .await?;
                report.jobs += 1;
            }
            // Freshness is measured, never in the way of the pull itself.
            match state.map(|s| pull_age(s.as_ref(), now)) {
                Ok(age) => {
                    self.metrics.order_pull_age(&settings.seller_id, age);
                    report.max_pull_age_seconds = report.max_pull_age_seconds.max(age);
                }
                Err(e) => {
                    tracing::warn!(seller = %settings.seller_id, error = %e, "could not read the order-pull checkpoint; the seller's age is not measured this time");
                }
            }
            if self.reconcile_due(&settings.seller_id, now).await? {
                self.jobs
                    .enqueue(&PullJob::new(seller, Mode::Reconcile), Duration::ZERO)
                    .await?;
                report.reconciles += 1;
            }
        }
        self.metrics.order_pull_max_age(report.max_pull_age_seconds);
        self.metrics
            .notifications_silent_sellers(report.silent_sellers.into());
        // One summary line per run, like the other jobs': each logs its own report's fields.
        tracing::info!(
            sellers = report.sellers,
            jobs = report.jobs,
            reconciles = report.reconciles,
            skipped = report.skipped,
            backstop_deferred = report.backstop_deferred,
            silent_sellers = report.silent_sellers,
            max_pull_age_seconds = report.max_pull_age_seconds,
            "order pull fanned out"
        );
        Ok(report)
    }

    /// The seller's incremental checkpoint (`None` before its first pull)
    /// with the time it was last written.
    async fn incremental_state(
        &self,
        seller: &SellerId,
    ) -> Result<Option<(PullState, DateTime<Utc>)>, PullError> {
        let Some(c) = self
            .checkpoints
            .get_checkpoint(seller, Mode::Incremental.checkpoint())
            .await?
        else {
            return Ok(None);
        };
        let state: PullState =
            serde_json::from_value(c.value).map_err(|e| PullError::Checkpoint(e.to_string()))?;
        Ok(Some((state, c.updated_at)))
    }

    /// Whether the seller's incremental job is due at this run, under the
    /// backstop's cadence; counts deferred and silent sellers. An
    /// unreadable notification state or checkpoint means "due" (the pull
    /// as without notifications).
    async fn backstop_due(
        &self,
        seller: &SellerId,
        state: &Result<Option<(PullState, DateTime<Utc>)>, PullError>,
        now: DateTime<Utc>,
        report: &mut FanoutReport,
    ) -> bool {
        let (subscription, health) = match self.notify.notify_state(seller).await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(seller = %seller, error = %e, "could not read the notification state; pulling as without notifications");
                return true;
            }
        };
        let policy = &self.options.backstop;
        if policy.silent(subscription.as_ref(), &health, now) {
            report.silent_sellers += 1;
            tracing::warn!(
                seller = %seller,
                last_received_at = ?health.last_received_at,
                last_missed_at = ?health.last_missed_at,
                "the seller's notifications have stopped while the backstop keeps finding orders: connector-admin notifications status"
            );
        }
        let cadence = policy.cadence(subscription.as_ref(), &health, now);
        let Ok(state) = state else {
            return true;
        };
        let due = policy.due(cadence, state.as_ref().map(|(s, _)| s), now);
        if !due {
            report.backstop_deferred += 1;
            tracing::debug!(seller = %seller, "notifications healthy: the backstop pull waits for a later run");
        }
        due
    }

    async fn reconcile_due(
        &self,
        seller: &domain::SellerId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, PullError> {
        let Some(c) = self
            .checkpoints
            .get_checkpoint(seller, Mode::Reconcile.checkpoint())
            .await?
        else {
            // The first incremental run covers everything since the start date.
            let state = PullState {
                last_completed_at: Some(now),
                ..PullState::default()
            };
            let value =
                serde_json::to_value(state).map_err(|e| PullError::Checkpoint(e.to_string()))?;
            match self
                .checkpoints
                .put_checkpoint(seller, Mode::Reconcile.checkpoint(), &value, None)
                .await
            {
                // Another fan-out wrote it first: same effect.
                Ok(_) | Err(store::StoreError::Conflict { .. }) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        };
        let state: PullState =
            serde_json::from_value(c.value).map_err(|e| PullError::Checkpoint(e.to_string()))?;
        if state.window.is_some() {
            // A reconcile is still working through its window.
            return Ok(false);
        }
        Ok(state
            .last_completed_at
            .is_none_or(|t| now - t >= self.options.reconcile_every))
    }
}

/// Seconds since the seller's last successful incremental pull: from
/// `done_until`, before the first one finished from `first_started_at`;
/// 0 with no checkpoint yet.
fn pull_age(state: Option<&(PullState, DateTime<Utc>)>, now: DateTime<Utc>) -> u64 {
    let Some((state, updated_at)) = state else {
        return 0;
    };
    let since = state
        .done_until
        .or(state.first_started_at)
        .unwrap_or(*updated_at);
    u64::try_from((now - since).num_seconds()).unwrap_or(0)
}
