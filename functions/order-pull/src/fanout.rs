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
            self.jobs
                .enqueue(&PullJob::new(seller, Mode::Incremental), Duration::ZERO)
                .await?;
            report.jobs += 1;
            // Freshness is measured, never in the way of the pull itself.
            match self.pull_age(&settings.seller_id, now).await {
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
        tracing::info!(
            sellers = report.sellers,
            jobs = report.jobs,
            reconciles = report.reconciles,
            skipped = report.skipped,
            max_pull_age_seconds = report.max_pull_age_seconds,
            "order pull fanned out"
        );
        Ok(report)
    }

    /// Seconds since the seller's last successful incremental pull.
    async fn pull_age(&self, seller: &SellerId, now: DateTime<Utc>) -> Result<u64, PullError> {
        let Some(c) = self
            .checkpoints
            .get_checkpoint(seller, Mode::Incremental.checkpoint())
            .await?
        else {
            return Ok(0);
        };
        let state: PullState =
            serde_json::from_value(c.value).map_err(|e| PullError::Checkpoint(e.to_string()))?;
        let since = state
            .done_until
            .or(state.first_started_at)
            .unwrap_or(c.updated_at);
        Ok(u64::try_from((now - since).num_seconds()).unwrap_or(0))
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
