//! The Notifications API (`notifications.json`) and Amazon's side of
//! delivery (issue 15).
//!
//! - Routes: `getDestinations` / `createDestination` (grantless tokens only,
//!   the application's bucket), `getSubscription` / `createSubscription`
//!   (the seller's token), `deleteSubscriptionById` (grantless). A second
//!   destination for the same queue, or a second subscription, is 409.
//! - Delivery: when an order of a subscribed seller is created or changes
//!   (through [`SimControl`]: seeding, status changes, shipping,
//!   cancellations and buyers' cancellation requests), an `ORDER_CHANGE`
//!   notification shaped like `schemas/notifications/OrderChangeNotification.json`
//!   is queued for the subscription's destination, filtered by its
//!   `orderChangeTypes`. Like Amazon, the simulator delivers at least once
//!   and not always: [`NotificationDelivery`] sets how many are lost or sent
//!   twice and their delays (so later changes can overtake earlier ones), on
//!   the simulator's clock (time-compressed).
//! - The queue itself is not the simulator's: a [`NotificationSink`] does the
//!   sending (the tests' and the demo's sends to the SQS queue in moto; the
//!   benchmark's keeps them in memory). Without a sink nothing is sent.
//!
//! Nothing here logs buyer data: ids and counts only.

mod api;
mod control;
mod delivery;
mod events;
pub(crate) mod types;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get};

use crate::state::Shared;

pub(crate) use delivery::deliver_forever;
pub use delivery::publish_time;
pub use types::{APPLICATION_ID, NotificationDelivery, NotificationSink, NotificationStats};
pub(crate) use types::{ChangeKind, kind_of_cancel};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/notifications/v1/destinations",
            get(api::get_destinations).post(api::create_destination),
        )
        .route(
            "/notifications/v1/subscriptions/{notification_type}",
            get(api::get_subscription).post(api::create_subscription),
        )
        .route(
            "/notifications/v1/subscriptions/{notification_type}/{subscription_id}",
            delete(api::delete_subscription),
        )
}
