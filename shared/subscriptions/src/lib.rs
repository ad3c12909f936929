//! Setting Amazon's `ORDER_CHANGE` notifications up (issue 15): shared by
//! the operator CLI (`connector-admin notifications setup`, `subscribe`,
//! `status`), the notification function (re-exported as
//! `notifications::subscriptions`) and onboarding, which calls
//! [`subscribe_seller`] once a seller's consent is stored. It sits in
//! `shared/` so that the onboarding function does not depend on another
//! function's crate:
//!
//! - [`ensure_destination`]: Amazon's destination for our SQS queue, once per
//!   SP-API region (grantless: LWA `client_credentials`, scope
//!   `sellingpartnerapi::notifications`), recorded in the state table. An
//!   existing destination for the same queue is found (`getDestinations`)
//!   and recorded, never created twice.
//! - [`subscribe_seller`]: the seller's `ORDER_CHANGE` subscription (payload
//!   1.0, `OrderStatusChange` and `BuyerRequestedChange`) to that
//!   destination, with the seller's token; an existing one is found
//!   (`getSubscription`) and recorded.
//!
//! Both are idempotent: running them twice changes nothing (the second run
//! reads what the first made). Each Amazon call goes through the shared
//! quota buckets (1 request/s, burst 5).

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::settings::SellerSettings;
use domain::{Deadline, Region};
use serde::Serialize;
use spapi::models::notifications::{ORDER_CHANGE, PAYLOAD_VERSION, Subscription};
use spapi::ops::notifications::{
    CreateDestination, CreateOrderChangeSubscription, DeleteSubscriptionById, GetDestinations,
    GetSubscription,
};
use spapi::{SellerContext, SpApi, SpApiError};
use store::{DestinationRecord, NotificationState, StoreError, SubscriptionRecord};

/// Time one setup step may take.
pub const STEP_TIME: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// `connector-admin notifications setup` has not been run for the region.
    #[error(
        "no notification destination for region {region}: run `connector-admin notifications setup` once (it needs the queue of the deployed stack), then subscribe the seller"
    )]
    NotSetUp { region: Region },
    /// The seller already has an ORDER_CHANGE subscription to another
    /// destination (another application's queue, or an old stack's).
    #[error(
        "seller {seller} already has an ORDER_CHANGE subscription {subscription_id} to destination {destination_id}, not ours ({ours}): run `connector-admin notifications subscribe {seller} --replace` to move it to this deployment"
    )]
    OtherDestination {
        seller: String,
        subscription_id: String,
        destination_id: String,
        ours: String,
    },
    #[error(transparent)]
    SpApi(#[from] SpApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SubscribeError {
    pub fn is_retryable(&self) -> bool {
        match self {
            SubscribeError::NotSetUp { .. } | SubscribeError::OtherDestination { .. } => false,
            SubscribeError::SpApi(e) => e.is_retryable(),
            SubscribeError::Store(e) => e.is_retryable(),
        }
    }
}

/// What a setup or subscribe step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Created at Amazon now.
    Created,
    /// Amazon had it; now recorded in the table.
    Recorded,
    /// Amazon had it and the table knew it: nothing changed.
    Unchanged,
    /// A subscription to another destination was deleted and ours created.
    Replaced,
}

/// The destination of a region, and what [`ensure_destination`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DestinationOutcome {
    pub region: Region,
    pub destination_id: String,
    pub queue_arn: String,
    pub change: Change,
}

/// Finds or creates Amazon's destination for `queue_arn` in `region`, and
/// records it.
pub async fn ensure_destination(
    api: &SpApi,
    state: &dyn NotificationState,
    region: Region,
    queue_arn: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<DestinationOutcome, SubscribeError> {
    let ctx = SellerContext::application(region, false);
    let recorded = state.destination(region).await?;
    let existing = api
        .call(&ctx, &GetDestinations, &Deadline::after(STEP_TIME))
        .await?
        .payload
        .into_iter()
        .find(|d| d.resource.sqs.as_ref().is_some_and(|q| q.arn == queue_arn));
    let (destination, change) = match existing {
        Some(d) => {
            let unchanged = recorded
                .as_ref()
                .is_some_and(|r| r.destination_id == d.destination_id && r.queue_arn == queue_arn);
            let change = if unchanged {
                Change::Unchanged
            } else {
                Change::Recorded
            };
            (d, change)
        }
        None => {
            let create = CreateDestination {
                name: name.to_string(),
                queue_arn: queue_arn.to_string(),
            };
            match api.call(&ctx, &create, &Deadline::after(STEP_TIME)).await {
                Ok(created) => (created.payload, Change::Created),
                // Created meanwhile (another run): read it back.
                Err(conflict @ SpApiError::Amazon { status: 409, .. }) => {
                    let d = api
                        .call(&ctx, &GetDestinations, &Deadline::after(STEP_TIME))
                        .await?
                        .payload
                        .into_iter()
                        .find(|d| d.resource.sqs.as_ref().is_some_and(|q| q.arn == queue_arn))
                        .ok_or(conflict)?;
                    (d, Change::Recorded)
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    if change != Change::Unchanged {
        state
            .put_destination(&DestinationRecord {
                region,
                destination_id: destination.destination_id.clone(),
                queue_arn: queue_arn.to_string(),
                name: destination.name.clone(),
                created_at: now,
            })
            .await?;
    }
    lambda_kit::audit!(success, "notifications.destination", seller = %SellerContext::application(region, false).seller_id, region = %region, destination = %destination.destination_id, change = ?change, "notification destination in place");
    Ok(DestinationOutcome {
        region,
        destination_id: destination.destination_id,
        queue_arn: queue_arn.to_string(),
        change,
    })
}

/// A seller's subscription, and what [`subscribe_seller`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscribeOutcome {
    pub seller_id: String,
    pub subscription_id: String,
    pub destination_id: String,
    pub change: Change,
}

/// Subscribes the seller to `ORDER_CHANGE` on its region's destination (or
/// finds the subscription it has) and records it. `replace`: a subscription
/// to another destination is deleted first (otherwise that is an error that
/// says so). The function onboarding calls once the seller's token is stored.
pub async fn subscribe_seller(
    api: &SpApi,
    state: &dyn NotificationState,
    settings: &SellerSettings,
    replace: bool,
    now: DateTime<Utc>,
) -> Result<SubscribeOutcome, SubscribeError> {
    let seller = &settings.seller_id;
    let Some(destination) = state.destination(settings.region).await? else {
        return Err(SubscribeError::NotSetUp {
            region: settings.region,
        });
    };
    let ctx = SellerContext::from(settings);
    let recorded = state.subscription(seller).await?;
    let existing = match api
        .call(
            &ctx,
            &GetSubscription::order_change(),
            &Deadline::after(STEP_TIME),
        )
        .await
    {
        Ok(s) => Some(s.payload),
        Err(SpApiError::Amazon { status: 404, .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let (subscription, change) = match existing {
        Some(s) if s.destination_id == destination.destination_id => {
            let unchanged = recorded.as_ref().is_some_and(|r| {
                r.subscription_id == s.subscription_id && r.destination_id == s.destination_id
            });
            let change = if unchanged {
                Change::Unchanged
            } else {
                Change::Recorded
            };
            (s, change)
        }
        Some(other) if !replace => {
            return Err(SubscribeError::OtherDestination {
                seller: seller.to_string(),
                subscription_id: other.subscription_id,
                destination_id: other.destination_id,
                ours: destination.destination_id,
            });
        }
        Some(other) => {
            let delete = DeleteSubscriptionById {
                notification_type: ORDER_CHANGE,
                subscription_id: other.subscription_id.clone(),
            };
            api.call(
                &SellerContext::application(settings.region, settings.sandbox),
                &delete,
                &Deadline::after(STEP_TIME),
            )
            .await?;
            let created = create(api, &ctx, &destination.destination_id).await?;
            (created, Change::Replaced)
        }
        None => (
            create(api, &ctx, &destination.destination_id).await?,
            Change::Created,
        ),
    };
    if change != Change::Unchanged {
        state
            .put_subscription(&SubscriptionRecord {
                seller_id: seller.clone(),
                subscription_id: subscription.subscription_id.clone(),
                destination_id: subscription.destination_id.clone(),
                payload_version: subscription.payload_version.clone(),
                subscribed_at: now,
            })
            .await?;
    }
    lambda_kit::audit!(success, "notifications.subscribe", seller = %seller, subscription = %subscription.subscription_id, change = ?change, "ORDER_CHANGE subscription in place");
    Ok(SubscribeOutcome {
        seller_id: seller.to_string(),
        subscription_id: subscription.subscription_id,
        destination_id: subscription.destination_id,
        change,
    })
}

async fn create(
    api: &SpApi,
    ctx: &SellerContext,
    destination_id: &str,
) -> Result<Subscription, SpApiError> {
    let call = CreateOrderChangeSubscription {
        destination_id: destination_id.to_string(),
    };
    match api.call(ctx, &call, &Deadline::after(STEP_TIME)).await {
        Ok(s) => Ok(s.payload),
        // Subscribed meanwhile (another run): read it back.
        Err(SpApiError::Amazon { status: 409, .. }) => Ok(api
            .call(
                ctx,
                &GetSubscription::order_change(),
                &Deadline::after(STEP_TIME),
            )
            .await?
            .payload),
        Err(e) => Err(e),
    }
}

/// A seller's notification state as `connector-admin notifications status`
/// shows it: what the table records (no Amazon call).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SellerStatus {
    pub seller_id: String,
    pub subscription_id: Option<String>,
    pub destination_id: Option<String>,
    pub subscribed_at: Option<DateTime<Utc>>,
    pub last_received_at: Option<DateTime<Utc>>,
    pub received: u64,
    pub last_missed_at: Option<DateTime<Utc>>,
    pub missed: u64,
    /// What the backstop does for the seller now and why.
    pub backstop: String,
    /// The seller's notifications have stopped while its orders keep coming.
    pub silent: bool,
}

/// The payload version every subscription is made for.
pub const SUBSCRIBED_PAYLOAD_VERSION: &str = PAYLOAD_VERSION;
