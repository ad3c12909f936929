//! What the simulator remembers of Notifications: destinations,
//! subscriptions, what is queued for delivery and how delivery behaves.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The notification type the simulator produces.
pub const ORDER_CHANGE: &str = "ORDER_CHANGE";
/// The simulated application id in `NotificationMetadata`.
pub const APPLICATION_ID: &str = "amzn1.sellerapps.app.sim-notifications";

/// Where notifications go: the queue behind a destination's ARN.
#[async_trait::async_trait]
pub trait NotificationSink: Send + Sync {
    /// Sends one notification body to the queue `queue_arn`.
    async fn deliver(&self, queue_arn: &str, body: String) -> Result<(), String>;
}

/// How Amazon's delivery misbehaves (all on the simulator's clock).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationDelivery {
    /// Share of notifications never delivered (0..=1).
    pub loss: f64,
    /// Share of notifications delivered twice (0..=1).
    pub duplicates: f64,
    /// Each notification is published this long after its change, at least...
    pub min_delay: Duration,
    /// ...and at most (different delays reorder notifications).
    pub max_delay: Duration,
    /// A new order raises a notification (`OrderStatusChange`); community
    /// threads disagree on whether Amazon always does.
    pub on_create: bool,
    /// Deliver by itself when due (`false`: only [`SimControl::deliver_notifications`]).
    pub automatic: bool,
    /// Seed of the losses, duplicates and delays (the same seed, the same run).
    pub seed: u64,
}

impl Default for NotificationDelivery {
    fn default() -> Self {
        Self {
            loss: 0.0,
            duplicates: 0.0,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
            on_create: true,
            automatic: true,
            seed: 15,
        }
    }
}

/// What the simulator did with notifications so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationStats {
    /// Notifications raised for subscribed sellers.
    pub produced: u64,
    /// Sends to the sink that succeeded (duplicates included).
    pub delivered: u64,
    /// Never delivered on purpose (`loss`).
    pub lost: u64,
    /// Delivered a second time on purpose (`duplicates`).
    pub duplicated: u64,
    /// Sends the sink refused.
    pub failed: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct SimDestination {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arn: String,
}

#[derive(Clone, Debug)]
pub(crate) struct SimSubscription {
    pub(crate) id: String,
    pub(crate) destination_id: String,
    pub(crate) payload_version: String,
    pub(crate) change_types: Vec<String>,
    pub(crate) event_filter: Option<Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    /// When it is published (the change plus its delay, on the simulator's
    /// clock, which a benchmark compresses).
    pub(crate) due: DateTime<Utc>,
    pub(crate) seq: u64,
    pub(crate) arn: String,
    pub(crate) body: String,
}

/// The notification state (in the simulator's one mutex).
pub struct NotificationsState {
    pub(crate) destinations: BTreeMap<String, SimDestination>,
    /// seller id → its ORDER_CHANGE subscription
    pub(crate) subscriptions: BTreeMap<String, SimSubscription>,
    pub(crate) delivery: NotificationDelivery,
    pub(crate) rng: fastrand::Rng,
    pub(crate) outbox: Vec<Outgoing>,
    pub(crate) held: Option<Vec<Outgoing>>,
    pub(crate) seq: u64,
    pub(crate) stats: NotificationStats,
    pub(crate) sink: Option<Arc<dyn NotificationSink>>,
}

impl Default for NotificationsState {
    fn default() -> Self {
        let delivery = NotificationDelivery::default();
        Self {
            destinations: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            rng: fastrand::Rng::with_seed(delivery.seed),
            delivery,
            outbox: Vec::new(),
            held: None,
            seq: 0,
            stats: NotificationStats::default(),
            sink: None,
        }
    }
}

/// Why an order's notification is raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Created,
    Status,
    BuyerRequest,
}

impl ChangeKind {
    pub(crate) fn change_type(self) -> &'static str {
        match self {
            ChangeKind::Created | ChangeKind::Status => "OrderStatusChange",
            ChangeKind::BuyerRequest => "BuyerRequestedChange",
        }
    }

    pub(crate) fn reason(self) -> &'static str {
        match self {
            ChangeKind::Created => "Order Created",
            ChangeKind::Status => "Order Status Changed",
            ChangeKind::BuyerRequest => "Buyer Requested Cancel",
        }
    }
}

/// The kind of notification a control change raises.
pub(crate) fn kind_of_cancel(request_only: bool) -> ChangeKind {
    if request_only {
        ChangeKind::BuyerRequest
    } else {
        ChangeKind::Status
    }
}
