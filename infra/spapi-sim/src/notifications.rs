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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use domain::Operation;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::SimControl;
use crate::faults::OpCall;
use crate::http::error_list;
use crate::orders::StoredOrder;
use crate::spapi::{Auth, pipeline_as};
use crate::state::Shared;

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
struct SimDestination {
    id: String,
    name: String,
    arn: String,
}

#[derive(Clone, Debug)]
struct SimSubscription {
    id: String,
    destination_id: String,
    payload_version: String,
    change_types: Vec<String>,
    event_filter: Option<Value>,
}

#[derive(Clone, Debug)]
struct Outgoing {
    /// When it is published (the change plus its delay, on the simulator's
    /// clock, which a benchmark compresses).
    due: DateTime<Utc>,
    seq: u64,
    arn: String,
    body: String,
}

/// The notification state (in the simulator's one mutex).
pub struct NotificationsState {
    destinations: BTreeMap<String, SimDestination>,
    /// seller id → its ORDER_CHANGE subscription
    subscriptions: BTreeMap<String, SimSubscription>,
    delivery: NotificationDelivery,
    rng: fastrand::Rng,
    outbox: Vec<Outgoing>,
    held: Option<Vec<Outgoing>>,
    seq: u64,
    stats: NotificationStats,
    sink: Option<Arc<dyn NotificationSink>>,
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
    fn change_type(self) -> &'static str {
        match self {
            ChangeKind::Created | ChangeKind::Status => "OrderStatusChange",
            ChangeKind::BuyerRequest => "BuyerRequestedChange",
        }
    }

    fn reason(self) -> &'static str {
        match self {
            ChangeKind::Created => "Order Created",
            ChangeKind::Status => "Order Status Changed",
            ChangeKind::BuyerRequest => "Buyer Requested Cancel",
        }
    }
}

impl NotificationsState {
    /// Queues the notification of an order's change at `now` (if its seller
    /// is subscribed to that kind and the delivery does not lose it).
    pub(crate) fn order_changed(
        &mut self,
        seller: &str,
        order: &StoredOrder,
        kind: ChangeKind,
        now: DateTime<Utc>,
    ) {
        if kind == ChangeKind::Created && !self.delivery.on_create {
            return;
        }
        let Some(sub) = self.subscriptions.get(seller) else {
            return;
        };
        if !sub.change_types.is_empty() && !sub.change_types.iter().any(|t| t == kind.change_type())
        {
            return;
        }
        let Some(dest) = self.destinations.get(&sub.destination_id) else {
            return;
        };
        self.stats.produced += 1;
        if self.rng.f64() < self.delivery.loss {
            self.stats.lost += 1;
            tracing::info!(seller, order = %order.id, "notification lost (as configured)");
            return;
        }
        let copies = if self.rng.f64() < self.delivery.duplicates {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let (arn, sub_id) = (dest.arn.clone(), sub.id.clone());
        // A copy delivered twice is the same notification: the same id.
        let notification_id = uuid::Uuid::new_v4().to_string();
        for _ in 0..copies {
            let (min, max) = (
                self.delivery.min_delay,
                self.delivery.max_delay.max(self.delivery.min_delay),
            );
            let spread = max - min;
            let delay = min + spread.mul_f64(self.rng.f64());
            // The change's own time (a seeded order's creation may be past).
            let changed = order.last_updated.min(now);
            let published = changed + chrono::TimeDelta::from_std(delay).unwrap_or_default();
            let body = json!({
                "NotificationVersion": "1.0",
                "NotificationType": ORDER_CHANGE,
                "PayloadVersion": "1.0",
                "EventTime": iso_ms(published),
                "Payload": {"OrderChangeNotification": {
                    "NotificationLevel": "OrderLevel",
                    "SellerId": seller,
                    "AmazonOrderId": order.id,
                    "OrderChangeType": kind.change_type(),
                    "OrderChangeTrigger": {
                        "TimeOfOrderChange": iso_ms(changed),
                        "ChangeReason": kind.reason(),
                    },
                    "Summary": order.change_summary(),
                }},
                "NotificationMetadata": {
                    "ApplicationId": APPLICATION_ID,
                    "SubscriptionId": sub_id,
                    "PublishTime": iso_ms(published),
                    "NotificationId": notification_id,
                }
            });
            self.seq += 1;
            let out = Outgoing {
                due: now + chrono::TimeDelta::from_std(delay).unwrap_or_default(),
                seq: self.seq,
                arn: arn.clone(),
                body: body.to_string(),
            };
            match &mut self.held {
                Some(held) => held.push(out),
                None => self.outbox.push(out),
            }
        }
    }

    pub(crate) fn take_sink(&mut self) -> Option<Arc<dyn NotificationSink>> {
        self.sink.take()
    }

    pub(crate) fn restore_sink(&mut self, sink: Option<Arc<dyn NotificationSink>>) {
        self.sink = sink;
    }

    /// Takes what is due at `now` (all of it with `everything`), the
    /// earliest due first.
    fn take_due(&mut self, now: DateTime<Utc>, everything: bool) -> Vec<Outgoing> {
        let (mut due, rest): (Vec<Outgoing>, Vec<Outgoing>) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|o| everything || o.due <= now);
        self.outbox = rest;
        due.sort_by(|a, b| a.due.cmp(&b.due).then(a.seq.cmp(&b.seq)));
        due
    }
}

fn iso_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn conflict(message: &str) -> (StatusCode, Value) {
    (StatusCode::CONFLICT, error_list("Conflict", message, ""))
}

fn invalid(message: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        error_list("InvalidInput", message, ""),
    )
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/notifications/v1/destinations",
            get(get_destinations).post(create_destination),
        )
        .route(
            "/notifications/v1/subscriptions/{notification_type}",
            get(get_subscription).post(create_subscription),
        )
        .route(
            "/notifications/v1/subscriptions/{notification_type}/{subscription_id}",
            delete(delete_subscription),
        )
}

fn call(op: Operation) -> OpCall {
    OpCall {
        op,
        has_page_token: false,
    }
}

fn destination_json(d: &SimDestination) -> Value {
    json!({"destinationId": d.id, "name": d.name, "resource": {"sqs": {"arn": d.arn}}})
}

fn subscription_json(s: &SimSubscription) -> Value {
    let mut v = json!({
        "subscriptionId": s.id,
        "payloadVersion": s.payload_version,
        "destinationId": s.destination_id,
    });
    if let Some(filter) = &s.event_filter {
        v["processingDirective"] = json!({ "eventFilter": filter });
    }
    v
}

async fn get_destinations(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    pipeline_as(
        &shared,
        call(Operation::GetDestinations),
        &headers,
        Auth::App,
        |inner, _, _| {
            let list: Vec<Value> = inner
                .notifications
                .destinations
                .values()
                .map(destination_json)
                .collect();
            Ok(json!({ "payload": list }))
        },
    )
    .await
}

async fn create_destination(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<axum::Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    pipeline_as(
        &shared,
        call(Operation::CreateDestination),
        &headers,
        Auth::App,
        move |inner, _, _| {
            let axum::Json(body) = body.map_err(|_| invalid("The request body is not JSON."))?;
            let name = body["name"].as_str().unwrap_or_default();
            let arn = body["resourceSpecification"]["sqs"]["arn"]
                .as_str()
                .unwrap_or_default();
            if name.is_empty() || name.len() > 256 {
                return Err(invalid("name is required (1 to 256 characters)."));
            }
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() != 6 || parts[..3] != ["arn", "aws", "sqs"] {
                return Err(invalid(
                    "resourceSpecification.sqs.arn is not an SQS queue ARN.",
                ));
            }
            if arn.ends_with(".fifo") {
                return Err(invalid("FIFO queues are not supported as destinations."));
            }
            let n = &mut inner.notifications;
            if n.destinations.values().any(|d| d.arn == arn) {
                return Err(conflict("A destination for this resource already exists."));
            }
            let d = SimDestination {
                id: uuid::Uuid::new_v4().to_string(),
                name: name.to_string(),
                arn: arn.to_string(),
            };
            let v = destination_json(&d);
            n.destinations.insert(d.id.clone(), d);
            Ok(json!({ "payload": v }))
        },
    )
    .await
}

fn order_change_only(notification_type: &str) -> Result<(), (StatusCode, Value)> {
    if notification_type == ORDER_CHANGE {
        Ok(())
    } else {
        Err(invalid(
            "The simulator supports the ORDER_CHANGE notification type only.",
        ))
    }
}

async fn get_subscription(
    State(shared): State<Arc<Shared>>,
    Path(notification_type): Path<String>,
    headers: HeaderMap,
) -> Response {
    pipeline_as(
        &shared,
        call(Operation::GetSubscription),
        &headers,
        Auth::Seller,
        move |inner, seller, _| {
            order_change_only(&notification_type)?;
            match inner.notifications.subscriptions.get(seller) {
                Some(s) => Ok(json!({ "payload": subscription_json(s) })),
                None => Err((
                    StatusCode::NOT_FOUND,
                    error_list("NotFound", "The subscription was not found.", ""),
                )),
            }
        },
    )
    .await
}

async fn create_subscription(
    State(shared): State<Arc<Shared>>,
    Path(notification_type): Path<String>,
    headers: HeaderMap,
    body: Result<axum::Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    pipeline_as(
        &shared,
        call(Operation::CreateSubscription),
        &headers,
        Auth::Seller,
        move |inner, seller, _| {
            order_change_only(&notification_type)?;
            let axum::Json(body) = body.map_err(|_| invalid("The request body is not JSON."))?;
            let destination_id = body["destinationId"].as_str().unwrap_or_default();
            let version = body["payloadVersion"].as_str().unwrap_or_default();
            if version != "1.0" {
                return Err(invalid("payloadVersion must be 1.0 for ORDER_CHANGE."));
            }
            let n = &mut inner.notifications;
            if !n.destinations.contains_key(destination_id) {
                return Err(invalid("The destination does not exist."));
            }
            if n.subscriptions.contains_key(seller) {
                return Err(conflict(
                    "A subscription for this notification type already exists.",
                ));
            }
            let filter = body
                .pointer("/processingDirective/eventFilter")
                .cloned()
                .filter(Value::is_object);
            let change_types = filter
                .as_ref()
                .and_then(|f| f["orderChangeTypes"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let s = SimSubscription {
                id: uuid::Uuid::new_v4().to_string(),
                destination_id: destination_id.to_string(),
                payload_version: version.to_string(),
                change_types,
                event_filter: filter,
            };
            let v = subscription_json(&s);
            n.subscriptions.insert(seller.to_string(), s);
            Ok(json!({ "payload": v }))
        },
    )
    .await
}

async fn delete_subscription(
    State(shared): State<Arc<Shared>>,
    Path((notification_type, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    pipeline_as(
        &shared,
        call(Operation::DeleteSubscriptionById),
        &headers,
        Auth::App,
        move |inner, _, _| {
            order_change_only(&notification_type)?;
            let subs = &mut inner.notifications.subscriptions;
            let Some(seller) = subs
                .iter()
                .find(|(_, s)| s.id == subscription_id)
                .map(|(seller, _)| seller.clone())
            else {
                return Err((
                    StatusCode::NOT_FOUND,
                    error_list("NotFound", "The subscription was not found.", ""),
                ));
            };
            subs.remove(&seller);
            Ok(json!({}))
        },
    )
    .await
}

/// Delivers what is due on the simulator's clock, forever (started with the
/// simulator): wakes every 20 ms of wall time.
pub(crate) async fn deliver_forever(control: SimControl) {
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let automatic = control.with(|s| s.notifications.delivery.automatic);
        if automatic {
            control.deliver_due(false).await;
        }
    }
}

impl SimControl {
    /// Where notifications are sent (the SQS queue in moto, or memory).
    pub fn set_notification_sink(&self, sink: Arc<dyn NotificationSink>) {
        self.with(|s| s.notifications.sink = Some(sink));
    }

    /// How delivery misbehaves from now on (resets its random sequence).
    pub fn set_notification_delivery(&self, delivery: NotificationDelivery) {
        self.with(|s| {
            s.notifications.rng = fastrand::Rng::with_seed(delivery.seed);
            s.notifications.delivery = delivery;
        });
    }

    /// Holds every notification raised from now on until
    /// [`SimControl::release_notifications`].
    pub fn hold_notifications(&self) {
        self.with(|s| {
            s.notifications.held.get_or_insert_with(Vec::new);
        });
    }

    /// Lets the held notifications go, in the order they were raised or
    /// reversed (the newest first: out of order), due at once.
    pub fn release_notifications(&self, reversed: bool) -> usize {
        self.with(|s| {
            let now = s.now();
            let mut held = s.notifications.held.take().unwrap_or_default();
            if reversed {
                held.reverse();
            }
            let n = held.len();
            for (i, mut out) in held.into_iter().enumerate() {
                out.due = now;
                out.seq = s.notifications.seq + 1 + i as u64;
                s.notifications.outbox.push(out);
            }
            s.notifications.seq += n as u64;
            n
        })
    }

    /// Drops the held notifications (lost), returning how many.
    pub fn drop_held_notifications(&self) -> usize {
        self.with(|s| {
            let n = s.notifications.held.take().map_or(0, |h| h.len());
            s.notifications.stats.lost += n as u64;
            n
        })
    }

    /// Sends every queued notification now, whatever its delay (in due
    /// order); returns how many were sent.
    pub async fn deliver_notifications(&self) -> usize {
        self.deliver_due(true).await
    }

    async fn deliver_due(&self, everything: bool) -> usize {
        let (due, sink) = self.with(|s| {
            let now = s.now();
            let due = s.notifications.take_due(now, everything);
            (due, s.notifications.sink.clone())
        });
        if due.is_empty() {
            return 0;
        }
        let Some(sink) = sink else {
            tracing::warn!(
                count = due.len(),
                "no notification sink: notifications dropped"
            );
            return 0;
        };
        let mut sent = 0;
        for out in due {
            match sink.deliver(&out.arn, out.body).await {
                Ok(()) => sent += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "notification not delivered");
                    self.with(|s| s.notifications.stats.failed += 1);
                }
            }
        }
        self.with(|s| s.notifications.stats.delivered += sent as u64);
        sent
    }

    /// What delivery did so far.
    pub fn notification_stats(&self) -> NotificationStats {
        self.with(|s| s.notifications.stats)
    }

    /// Notifications queued and not yet sent (held ones included).
    pub fn pending_notifications(&self) -> usize {
        self.with(|s| {
            s.notifications.outbox.len() + s.notifications.held.as_ref().map_or(0, Vec::len)
        })
    }

    /// The seller's ORDER_CHANGE subscription id, if any.
    pub fn subscription_id(&self, seller_id: &str) -> Option<String> {
        self.with(|s| {
            s.notifications
                .subscriptions
                .get(seller_id)
                .map(|x| x.id.clone())
        })
    }

    /// The destinations' ids and queue ARNs.
    pub fn destinations(&self) -> Vec<(String, String)> {
        self.with(|s| {
            s.notifications
                .destinations
                .values()
                .map(|d| (d.id.clone(), d.arn.clone()))
                .collect()
        })
    }

    /// Deletes the seller's subscription at Amazon's end (as the seller or
    /// Amazon might): nothing is delivered for it any more.
    pub fn remove_subscription(&self, seller_id: &str) -> bool {
        self.with(|s| s.notifications.subscriptions.remove(seller_id).is_some())
    }

    /// Raises an order's notification by hand (as Amazon would for a change
    /// the simulator does not model); `buyer_request` picks the kind.
    pub fn notify_order_change(
        &self,
        seller_id: &str,
        order_id: &str,
        buyer_request: bool,
    ) -> Result<(), crate::SimError> {
        self.with(|s| {
            let now = s.now();
            let order = s
                .seller(seller_id)?
                .orders
                .get(order_id)
                .cloned()
                .ok_or_else(|| crate::SimError::UnknownOrder(order_id.to_string()))?;
            let kind = if buyer_request {
                ChangeKind::BuyerRequest
            } else {
                ChangeKind::Status
            };
            s.notifications.order_changed(seller_id, &order, kind, now);
            Ok(())
        })
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

/// The publish time of a queued notification is its change plus its delay;
/// kept for tests that read it back.
pub fn publish_time(body: &str) -> Option<DateTime<Utc>> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["NotificationMetadata"]["PublishTime"]
        .as_str()?
        .parse()
        .ok()
}
