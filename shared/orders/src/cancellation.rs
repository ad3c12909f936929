//! When Amazon cancels an order already sent to the WMS, the WMS must hear of
//! it: the whole order (status `CANCELLED`) or some units of some lines.
//!
//! Amazon's v2026 order says how many units of an item are shipped
//! (`quantityFulfilled`) and still open (`quantityUnfulfilled`). Units that
//! were open or shipped when the order was sent and are neither now were
//! cancelled. That arithmetic is the same whether Amazon lowers
//! `quantityOrdered` or keeps it, and needs `includedData=FULFILLMENT`
//! (plus `CANCELLATION` for the reason). [`SentOrder`] is what the ledger
//! keeps to make the comparison: the lines and quantities as sent, and the
//! running totals already reported.

use domain::settings::OrderStatus;
use domain::{AmazonOrderId, ClientCode, MarketplaceId, OrderItemId, SellerId, Sku};
use serde::{Deserialize, Serialize};
use spapi::models::orders::{Order, OrderItem};
use wms::{CancelScope, CancelledLine, MessageVersion, OrderCancelled, OrderCreated, OrderMessage};

/// What was sent to the WMS for one order, and what has been reported
/// cancelled since. Holds no buyer data, so the ledger may keep it as long as
/// it keeps the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentOrder {
    pub seller_id: SellerId,
    pub client_code: ClientCode,
    pub order_number: String,
    pub amazon_order_id: AmazonOrderId,
    pub marketplace_id: MarketplaceId,
    pub lines: Vec<SentLine>,
    /// The programs that made Buy Shipping labels mandatory for this order
    /// (empty: any carrier will do), for the shipment job's check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buy_shipping: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentLine {
    pub order_item_id: OrderItemId,
    pub sku: Sku,
    /// Units sent in `order.created`.
    pub quantity: u32,
    /// Amazon's `quantityFulfilled` when the order was sent (0 if unknown).
    pub fulfilled_at_send: u32,
    /// Units of `quantity` reported cancelled so far (a running total).
    pub cancelled_reported: u32,
    /// The buyer's cancellation request for this line was reported
    /// (`order.cancel_requested`); absent in records from before issue 15.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancel_requested: bool,
}

impl SentOrder {
    /// The record of `created`, sent for `order` (Amazon's answer it was
    /// built from, for the shipped counts at that moment).
    pub fn new(order: &Order, created: &OrderCreated) -> SentOrder {
        let lines = created
            .lines
            .iter()
            .map(|line| SentLine {
                order_item_id: line.order_item_id.clone(),
                sku: line.sku.clone(),
                quantity: line.quantity,
                fulfilled_at_send: item(order, &line.order_item_id)
                    .and_then(fulfilled)
                    .unwrap_or(0),
                cancelled_reported: 0,
                cancel_requested: false,
            })
            .collect();
        SentOrder {
            seller_id: created.seller_id.clone(),
            client_code: created.client_code.clone(),
            order_number: created.order_number.clone(),
            amazon_order_id: created.amazon_order_id.clone(),
            marketplace_id: created.marketplace_id.clone(),
            lines,
            buy_shipping: Vec::new(),
        }
    }

    /// The record, noting that the order had to ship on Buy Shipping labels
    /// because of `reasons` (see [`crate::buy_shipping_reasons`]).
    pub fn with_buy_shipping(mut self, reasons: Vec<String>) -> SentOrder {
        self.buy_shipping = reasons;
        self
    }

    /// Whether the order had to ship on a label bought through Amazon.
    pub fn needs_buy_shipping(&self) -> bool {
        !self.buy_shipping.is_empty()
    }

    /// Folds a sent `order.cancelled` or `order.cancel_requested` into the
    /// record, so the same cancellation or request is not reported twice.
    /// Other messages change nothing.
    pub fn record(&mut self, message: &OrderMessage) {
        if let OrderMessage::CancelRequested(request) = message {
            if request.amazon_order_id != self.amazon_order_id {
                return;
            }
            for asked in &request.lines {
                if let Some(line) = self
                    .lines
                    .iter_mut()
                    .find(|l| l.order_item_id == asked.order_item_id)
                {
                    line.cancel_requested = true;
                }
            }
            return;
        }
        let OrderMessage::Cancelled(cancelled) = message else {
            return;
        };
        if cancelled.amazon_order_id != self.amazon_order_id {
            return;
        }
        for reported in &cancelled.lines {
            if let Some(line) = self
                .lines
                .iter_mut()
                .find(|l| l.order_item_id == reported.order_item_id)
            {
                line.cancelled_reported = line.cancelled_reported.max(reported.quantity_cancelled);
            }
        }
    }

    /// Whether every unit sent has been reported cancelled.
    pub fn fully_cancelled(&self) -> bool {
        self.lines
            .iter()
            .all(|l| l.cancelled_reported >= l.quantity)
    }
}

fn item<'a>(order: &'a Order, id: &OrderItemId) -> Option<&'a OrderItem> {
    order
        .order_items
        .iter()
        .find(|i| i.order_item_id == id.as_str())
}

fn fulfilled(item: &OrderItem) -> Option<u32> {
    item.fulfillment.as_ref()?.quantity_fulfilled
}

/// Units of a sent line cancelled by now (capped at what was sent) and units
/// shipped since it was sent.
fn line_state(line: &SentLine, now: Option<&OrderItem>, whole_order: bool) -> (u32, u32) {
    let f = now.and_then(|i| i.fulfillment.as_ref());
    let fulfilled_now = f.and_then(|f| f.quantity_fulfilled);
    let shipped_since = fulfilled_now.map_or(0, |n| n.saturating_sub(line.fulfilled_at_send));
    if whole_order {
        // Nothing more will ship: whatever was not shipped is cancelled.
        return (line.quantity.saturating_sub(shipped_since), shipped_since);
    }
    let cancelled = match (fulfilled_now, f.and_then(|f| f.quantity_unfulfilled)) {
        (Some(fulfilled), Some(open)) => (line.fulfilled_at_send + line.quantity)
            .saturating_sub(fulfilled.saturating_add(open))
            .min(line.quantity),
        // Without Amazon's counts nothing can be said about single lines.
        _ => 0,
    };
    (cancelled, shipped_since)
}

/// The `order.cancelled` due for an order, given what was sent: `None` when
/// the order was never sent or nothing new is cancelled since the last report.
/// Quantities are running totals, and the message id counts the cancelled
/// units, so the same state of the order always yields the same message.
/// It is written in `version`, the one the seller's WMS reads now.
pub fn cancellation(
    order: &Order,
    previously_sent: Option<&SentOrder>,
    version: MessageVersion,
) -> Option<OrderMessage> {
    let sent = previously_sent?;
    if order.order_id != sent.amazon_order_id.as_str() {
        return None;
    }
    let whole_order = order.status() == Some(OrderStatus::Cancelled);
    let mut grew = false;
    let mut total: u64 = 0;
    let mut reason = None;
    let mut lines = Vec::new();
    for line in &sent.lines {
        let now = item(order, &line.order_item_id);
        let (cancelled, shipped_since) = line_state(line, now, whole_order);
        // Never report less than before (Amazon's counts can lag).
        let cancelled = cancelled.max(line.cancelled_reported);
        grew |= cancelled > line.cancelled_reported;
        total += u64::from(cancelled);
        if cancelled == 0 && !whole_order {
            continue;
        }
        if reason.is_none() {
            reason = now
                .and_then(|i| i.cancellation.as_ref())
                .and_then(|c| c.cancellation_request.as_ref())
                .and_then(|r| r.cancel_reason.as_deref())
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| r.chars().take(500).collect::<String>());
        }
        lines.push(CancelledLine {
            order_item_id: line.order_item_id.clone(),
            sku: line.sku.clone(),
            quantity_cancelled: cancelled,
            quantity_remaining: if whole_order {
                0
            } else {
                line.quantity
                    .saturating_sub(cancelled)
                    .saturating_sub(shipped_since)
            },
        });
    }
    if !grew || lines.is_empty() {
        return None;
    }
    Some(OrderMessage::from(OrderCancelled {
        schema: version,
        message_id: OrderCancelled::message_id_for(&sent.seller_id, &sent.amazon_order_id, total),
        seller_id: sent.seller_id.clone(),
        client_code: sent.client_code.clone(),
        order_number: sent.order_number.clone(),
        amazon_order_id: sent.amazon_order_id.clone(),
        marketplace_id: sent.marketplace_id.clone(),
        scope: if whole_order {
            CancelScope::Order
        } else {
            CancelScope::Lines
        },
        cancelled_at: order.last_updated_time,
        reason,
        lines,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::seller;
    use crate::to_order_message;
    use serde_json::{Value, json};
    use wms::Contract;
    use wms::MessageVersion::V1;

    const ID: &str = "123-4567890-1234567";

    /// The model's two-line order, open, nothing shipped.
    fn open_order(change: impl FnOnce(&mut Value)) -> Order {
        crate::fixtures::open_order(ID, change)
    }

    fn sent(order: &Order) -> SentOrder {
        let mut s = seller();
        s.marketplaces
            .push(MarketplaceId::new("ATVPDKIKX0DER").unwrap());
        match to_order_message(order, &s).unwrap() {
            OrderMessage::Created(c) => SentOrder::new(order, &c),
            _ => unreachable!(),
        }
    }

    fn cancelled(message: Option<OrderMessage>) -> OrderCancelled {
        match message {
            Some(OrderMessage::Cancelled(c)) => c,
            other => panic!("expected order.cancelled, got {other:?}"),
        }
    }

    fn lines(c: &OrderCancelled) -> Vec<(&str, u32, u32)> {
        c.lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity_cancelled, l.quantity_remaining))
            .collect()
    }

    #[test]
    fn nothing_is_due_for_an_order_never_sent_or_unchanged() {
        let o = open_order(|_| {});
        assert!(cancellation(&o, None, V1).is_none());
        let record = sent(&o);
        assert!(cancellation(&o, Some(&record), V1).is_none());
        // Amazon cancelled it, but it was never sent: the WMS never knew it.
        let gone = open_order(|v| v["fulfillment"]["fulfillmentStatus"] = json!("CANCELLED"));
        assert!(cancellation(&gone, None, V1).is_none());
    }

    #[test]
    fn a_whole_order_cancellation_is_sent_once() {
        let mut record = sent(&open_order(|_| {}));
        let now = open_order(|v| {
            v["fulfillment"]["fulfillmentStatus"] = json!("CANCELLED");
            v["lastUpdatedTime"] = json!("2024-12-25T11:00:00Z");
            for item in v["orderItems"].as_array_mut().unwrap() {
                item["fulfillment"]["quantityUnfulfilled"] = json!(0);
            }
        });
        let message = cancellation(&now, Some(&record), V1);
        let c = cancelled(message.clone());
        assert_eq!(c.scope, CancelScope::Order);
        assert_eq!(
            lines(&c),
            [("ECHO-DOT-4-CHARCOAL", 2, 0), ("FIRE-TV-4K-2021", 1, 0)]
        );
        assert_eq!(
            c.message_id,
            "A3EXAMPLESELLER:123-4567890-1234567:cancelled:3"
        );
        assert_eq!(c.order_number, "MG123-4567890-1234567");
        assert_eq!(c.cancelled_at.to_rfc3339(), "2024-12-25T11:00:00+00:00");
        let value = serde_json::to_value(message.as_ref().unwrap()).unwrap();
        Contract::OrderMessage.validate(&value).unwrap();

        // A seller whose WMS reads version 2 gets it in version 2, same content.
        let v2 = cancellation(&now, Some(&record), wms::MessageVersion::V2).unwrap();
        assert_eq!(v2.version(), wms::MessageVersion::V2);
        assert_eq!(v2.message_id(), c.message_id);
        Contract::OrderMessage
            .validate(&serde_json::to_value(&v2).unwrap())
            .unwrap();

        // Asked again before it was recorded (a crash after sending): the same message.
        assert_eq!(cancellation(&now, Some(&record), V1), message);
        record.record(message.as_ref().unwrap());
        assert!(record.fully_cancelled());
        assert!(cancellation(&now, Some(&record), V1).is_none());
    }

    #[test]
    fn item_cancellations_are_sent_as_running_totals() {
        let mut record = sent(&open_order(|_| {}));
        assert!(!record.fully_cancelled());

        // The buyer cancels one of the two Echo Dots.
        let one = open_order(|v| {
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(1);
            v["orderItems"][0]["cancellation"] = json!({
                "cancellationRequest": { "requester": "BUYER", "cancelReason": "Changed mind about purchase" }
            });
        });
        let first = cancellation(&one, Some(&record), V1);
        let c = cancelled(first.clone());
        assert_eq!(c.scope, CancelScope::Lines);
        assert_eq!(lines(&c), [("ECHO-DOT-4-CHARCOAL", 1, 1)]);
        assert_eq!(c.reason.as_deref(), Some("Changed mind about purchase"));
        assert!(c.message_id.ends_with(":cancelled:1"));
        record.record(first.as_ref().unwrap());
        assert!(cancellation(&one, Some(&record), V1).is_none());

        // Then the second one, and the Fire TV: one message with the totals.
        let all_dots = open_order(|v| {
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(0);
            v["orderItems"][1]["fulfillment"]["quantityUnfulfilled"] = json!(0);
        });
        let second = cancelled(cancellation(&all_dots, Some(&record), V1));
        assert_eq!(
            lines(&second),
            [("ECHO-DOT-4-CHARCOAL", 2, 0), ("FIRE-TV-4K-2021", 1, 0)]
        );
        assert!(second.message_id.ends_with(":cancelled:3"));
        assert_ne!(second.message_id, c.message_id);
    }

    #[test]
    fn amazon_lowering_quantity_ordered_counts_as_a_cancellation() {
        let record = sent(&open_order(|_| {}));
        let lowered = open_order(|v| {
            v["orderItems"][0]["quantityOrdered"] = json!(1);
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(1);
        });
        let c = cancelled(cancellation(&lowered, Some(&record), V1));
        assert_eq!(lines(&c), [("ECHO-DOT-4-CHARCOAL", 1, 1)]);
    }

    #[test]
    fn shipped_units_are_not_mistaken_for_cancelled_ones() {
        let record = sent(&open_order(|_| {}));
        let shipped = open_order(|v| {
            v["fulfillment"]["fulfillmentStatus"] = json!("PARTIALLY_SHIPPED");
            v["orderItems"][0]["fulfillment"]["quantityFulfilled"] = json!(1);
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(1);
        });
        assert!(cancellation(&shipped, Some(&record), V1).is_none());

        // One shipped, then the other cancelled: one cancelled, nothing remains.
        let then_cancelled = open_order(|v| {
            v["fulfillment"]["fulfillmentStatus"] = json!("PARTIALLY_SHIPPED");
            v["orderItems"][0]["fulfillment"]["quantityFulfilled"] = json!(1);
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(0);
        });
        let c = cancelled(cancellation(&then_cancelled, Some(&record), V1));
        assert_eq!(lines(&c), [("ECHO-DOT-4-CHARCOAL", 1, 0)]);
    }

    #[test]
    fn a_cancellation_before_the_order_was_sent_is_not_reported() {
        // One Echo Dot was cancelled while the order was Pending: the WMS
        // got one, and nothing has changed since.
        let at_send = open_order(|v| {
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(1);
        });
        let record = sent(&at_send);
        assert_eq!(record.lines[0].quantity, 1);
        assert!(cancellation(&at_send, Some(&record), V1).is_none());
    }

    #[test]
    fn without_amazons_counts_only_a_whole_order_cancellation_is_seen() {
        let record = sent(&open_order(|_| {}));
        let strip = |v: &mut Value| {
            for item in v["orderItems"].as_array_mut().unwrap() {
                item.as_object_mut().unwrap().remove("fulfillment");
            }
        };
        assert!(cancellation(&open_order(strip), Some(&record), V1).is_none());
        let whole = open_order(|v| {
            strip(v);
            v["fulfillment"]["fulfillmentStatus"] = json!("CANCELLED");
        });
        let c = cancelled(cancellation(&whole, Some(&record), V1));
        assert_eq!(c.scope, CancelScope::Order);
        assert_eq!(
            lines(&c),
            [("ECHO-DOT-4-CHARCOAL", 2, 0), ("FIRE-TV-4K-2021", 1, 0)]
        );
    }

    #[test]
    fn the_record_round_trips_for_the_ledger_and_holds_no_buyer_data() {
        let record = sent(&open_order(|_| {}));
        let json = serde_json::to_string(&record).unwrap();
        assert!(
            !json.contains("John Smith") && !json.contains("Main Street"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<SentOrder>(&json).unwrap(), record);
    }
}
