//! Setting notifications up: the shared `subscriptions` crate (the
//! destination per region, each seller's subscription; onboarding uses it
//! too), and a seller's status as the backstop sees it, which needs the
//! order pull's backstop policy and so lives here.

use chrono::{DateTime, Utc};
use domain::settings::SellerSettings;
use order_pull::backstop::{BackstopPolicy, Cadence};
use store::{NotificationState, StoreError};

pub use ::subscriptions::*;

/// The seller's status at `now` under the backstop `policy`.
pub async fn seller_status(
    state: &dyn NotificationState,
    settings: &SellerSettings,
    policy: &BackstopPolicy,
    now: DateTime<Utc>,
) -> Result<SellerStatus, StoreError> {
    let (subscription, health) = state.notify_state(&settings.seller_id).await?;
    let backstop = match policy.cadence(subscription.as_ref(), &health, now) {
        Cadence::EveryRun(why) => format!("every 15 minutes: {why}"),
        Cadence::Healthy => format!(
            "every {} minutes: notifications are healthy",
            policy.healthy_interval.num_minutes()
        ),
    };
    Ok(SellerStatus {
        seller_id: settings.seller_id.to_string(),
        silent: policy.silent(subscription.as_ref(), &health, now),
        subscription_id: subscription.as_ref().map(|s| s.subscription_id.clone()),
        destination_id: subscription.as_ref().map(|s| s.destination_id.clone()),
        subscribed_at: subscription.as_ref().map(|s| s.subscribed_at),
        last_received_at: health.last_received_at,
        received: health.received,
        last_missed_at: health.last_missed_at,
        missed: health.missed,
        backstop,
    })
}
