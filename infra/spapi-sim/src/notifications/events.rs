//! An order's change becoming an `ORDER_CHANGE` notification in the outbox
//! (filtered by the subscription, lost or duplicated as delivery is set).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::types::{
    APPLICATION_ID, ChangeKind, NotificationSink, NotificationsState, ORDER_CHANGE, Outgoing,
};
use crate::orders::StoredOrder;

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
    pub(crate) fn take_due(&mut self, now: DateTime<Utc>, everything: bool) -> Vec<Outgoing> {
        let (mut due, rest): (Vec<Outgoing>, Vec<Outgoing>) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|o| everything || o.due <= now);
        self.outbox = rest;
        due.sort_by(|a, b| a.due.cmp(&b.due).then(a.seq.cmp(&b.seq)));
        due
    }
}

pub(crate) fn iso_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
