//! The daily check (`{"kind": "health"}` from the schedule): the age of the
//! application's client secret and each seller's days until its yearly
//! renewal, as metrics the alarms watch, with one WARN line per seller that
//! needs a person (renewal within 30 days, or a broken authorisation). A
//! client secret past `rotate_after_days` is rotated (once a day at most).

use chrono::{DateTime, Utc};
use domain::SellerId;
use domain::onboarding::{RENEWAL_DAYS, RENEWAL_WARNING_DAYS, days_until_renewal};
use domain::settings::Authorization;
use lambda_kit::metrics::{
    APP_SECRET_AGE_DAYS, AUTHORIZATION_DAYS_LEFT, AUTHORIZATION_MIN_DAYS_LEFT, Unit,
};
use serde::Serialize;

use crate::error::CredentialsError;
use crate::keeper::Keeper;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub app_secret_age_days: Option<i64>,
    /// A rotation was asked of Amazon by this check.
    pub rotated: bool,
    pub sellers_checked: u32,
    /// The fewest days left until a seller's renewal.
    pub min_days_left: Option<i64>,
    /// Sellers to renew within the warning window (or overdue).
    pub renew_soon: Vec<String>,
    /// Sellers whose authorisation is broken.
    pub broken: Vec<String>,
}

impl Keeper {
    pub async fn health(
        &self,
        deadline: &domain::Deadline,
    ) -> Result<HealthReport, CredentialsError> {
        let now = self.clock.now();
        let mut report = HealthReport::default();
        let secret = self.current().await?;
        let age = lambda_kit::app_secret::age_days(
            &secret,
            self.writer.as_ref(),
            &self.app_secret_name,
            now,
        )
        .await?;
        report.app_secret_age_days = age;
        if let Some(age) = age {
            self.metrics.stage_gauge(
                APP_SECRET_AGE_DAYS,
                Unit::NoUnit,
                u64::try_from(age).unwrap_or(0),
            );
            if age >= self.options.rotate_after_days {
                tracing::warn!(
                    age_days = age,
                    "the LWA client secret is {age} days old (Amazon's limit is 180): rotating it"
                );
                match self
                    .rotate(&format!("age-{}", now.format("%Y-%m-%d")), deadline)
                    .await
                {
                    Ok(()) => report.rotated = true,
                    Err(e) => {
                        tracing::error!(error = %e, "the LWA client secret could not be rotated: rotate it by hand (README, \"The application's client secret\")")
                    }
                }
            }
        }
        for summary in self.settings.list_sellers().await? {
            let Some(settings) = self.settings.get_settings(&summary.seller_id).await? else {
                continue;
            };
            let seller = &settings.seller_id;
            if let Authorization::Broken { reason, since } = &settings.authorization {
                tracing::warn!(seller = %seller, since = %since, reason = %reason, "the seller's authorisation is broken: its jobs are skipped until it authorises again (send it a renewal invitation)");
                report.broken.push(seller.to_string());
                continue;
            }
            if !settings.enabled {
                continue;
            }
            let Some(at) = self
                .authorized_at(
                    seller,
                    settings.authorized_at,
                    &settings.refresh_token_secret,
                )
                .await?
            else {
                tracing::warn!(seller = %seller, "the seller has no refresh token stored: onboard it");
                continue;
            };
            report.sellers_checked += 1;
            let left = days_until_renewal(at, now);
            self.metrics.seller_gauge(
                seller,
                AUTHORIZATION_DAYS_LEFT,
                Unit::NoUnit,
                u64::try_from(left).unwrap_or(0),
            );
            report.min_days_left = Some(report.min_days_left.map_or(left, |m| m.min(left)));
            if left <= RENEWAL_WARNING_DAYS {
                tracing::warn!(seller = %seller, days_left = left, authorized_at = %at, "the seller's yearly authorisation must be renewed: send it a renewal invitation");
                report.renew_soon.push(seller.to_string());
            }
        }
        let min = report.min_days_left.unwrap_or(RENEWAL_DAYS);
        self.metrics.stage_gauge(
            AUTHORIZATION_MIN_DAYS_LEFT,
            Unit::NoUnit,
            u64::try_from(min).unwrap_or(0),
        );
        tracing::info!(
            app_secret_age_days = ?report.app_secret_age_days,
            sellers = report.sellers_checked,
            min_days_left = ?report.min_days_left,
            renew_soon = report.renew_soon.len(),
            broken = report.broken.len(),
            "credentials checked"
        );
        Ok(report)
    }

    /// When the seller authorised: kept in its settings since issue 14; for
    /// sellers onboarded before, when its refresh token was stored.
    async fn authorized_at(
        &self,
        seller: &SellerId,
        kept: Option<DateTime<Utc>>,
        secret: &str,
    ) -> Result<Option<DateTime<Utc>>, CredentialsError> {
        if kept.is_some() {
            return Ok(kept);
        }
        let stored = self.writer.last_changed(secret).await?;
        tracing::debug!(seller = %seller, "authorisation date from the secret's last change");
        Ok(stored.map(DateTime::<Utc>::from))
    }
}
