//! What tests and the demo see and set of notifications (through
//! [`SimControl`]).

use std::sync::Arc;

use super::types::{ChangeKind, NotificationDelivery, NotificationSink, NotificationStats};
use crate::SimControl;

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

    pub(crate) async fn deliver_due(&self, everything: bool) -> usize {
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
