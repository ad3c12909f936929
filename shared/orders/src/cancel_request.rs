//! A buyer's cancellation *request* on an order the WMS already has
//! (issue 15): Amazon marks each item the buyer asked to cancel with
//! `cancellation.cancellationRequest` (v2026, `includedData=CANCELLATION`)
//! until the seller accepts (Amazon then cancels: [`crate::cancellation`])
//! or the parcel ships. While units of such a line are still to ship, the
//! warehouse should hear of it, once per state of the request, so it can stop
//! the pick: `order.cancel_requested`.

use domain::settings::OrderStatus;
use spapi::models::orders::{Order, OrderItem};
use wms::{CancelScope, OrderCancelRequested, OrderMessage, RequestedLine, SchemaVersion};

use crate::SentOrder;
use crate::mapping::quantity_to_ship;

fn requested(item: &OrderItem) -> bool {
    item.cancellation
        .as_ref()
        .is_some_and(|c| c.cancellation_request.is_some())
}

fn reason(item: &OrderItem) -> Option<String> {
    item.cancellation
        .as_ref()?
        .cancellation_request
        .as_ref()?
        .cancel_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(500).collect())
}

/// The `order.cancel_requested` due for an order the WMS has: `None` when
/// nothing was sent, the order is cancelled or shipped, or no line was
/// newly asked for since the last report. The message lists every line
/// asked for so far that still has units to ship; its id counts the lines
/// asked for, so the same state always yields the same message.
pub fn cancel_request(order: &Order, sent: Option<&SentOrder>) -> Option<OrderMessage> {
    let sent = sent?;
    if order.order_id != sent.amazon_order_id.as_str() {
        return None;
    }
    if matches!(
        order.status(),
        Some(OrderStatus::Cancelled | OrderStatus::Shipped)
    ) {
        return None;
    }
    let mut grew = false;
    let mut asked = 0usize;
    let mut open_lines = 0usize;
    let mut reason_text = None;
    let mut lines = Vec::new();
    for line in &sent.lines {
        let item = order
            .order_items
            .iter()
            .find(|i| i.order_item_id == line.order_item_id.as_str());
        let open = item.map_or(0, quantity_to_ship).min(line.quantity);
        if open > 0 {
            open_lines += 1;
        }
        let now = item.is_some_and(requested);
        if !(now || line.cancel_requested) {
            continue;
        }
        asked += 1;
        grew |= now && !line.cancel_requested;
        if open == 0 {
            continue;
        }
        if reason_text.is_none() {
            reason_text = item.and_then(reason);
        }
        lines.push(RequestedLine {
            order_item_id: line.order_item_id.clone(),
            sku: line.sku.clone(),
            quantity: open,
        });
    }
    if !grew || lines.is_empty() {
        return None;
    }
    Some(OrderMessage::from(OrderCancelRequested {
        schema: SchemaVersion,
        message_id: OrderCancelRequested::message_id_for(
            &sent.seller_id,
            &sent.amazon_order_id,
            asked,
        ),
        seller_id: sent.seller_id.clone(),
        client_code: sent.client_code.clone(),
        order_number: sent.order_number.clone(),
        amazon_order_id: sent.amazon_order_id.clone(),
        marketplace_id: sent.marketplace_id.clone(),
        scope: if lines.len() == open_lines {
            CancelScope::Order
        } else {
            CancelScope::Lines
        },
        requested_at: order.last_updated_time,
        reason: reason_text,
        lines,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::seller;
    use crate::to_order_message;
    use domain::MarketplaceId;
    use serde_json::{Value, json};
    use wms::Contract;

    const ID: &str = "123-4567890-1234567";

    /// The model's two-line order, open, nothing shipped.
    fn open_order(change: impl FnOnce(&mut Value)) -> Order {
        crate::fixtures::open_order(ID, change)
    }

    fn ask(v: &mut Value, line: usize) {
        v["orderItems"][line]["cancellation"] = json!({
            "cancellationRequest": { "requester": "BUYER", "cancelReason": "Ordered by mistake" }
        });
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

    fn request(m: Option<OrderMessage>) -> OrderCancelRequested {
        match m {
            Some(OrderMessage::CancelRequested(r)) => r,
            other => panic!("expected order.cancel_requested, got {other:?}"),
        }
    }

    #[test]
    fn a_request_for_every_open_line_is_one_order_scoped_message_sent_once() {
        let mut record = sent(&open_order(|_| {}));
        assert!(cancel_request(&open_order(|_| {}), Some(&record)).is_none());
        let asked = open_order(|v| {
            ask(v, 0);
            ask(v, 1);
        });
        let message = cancel_request(&asked, Some(&record));
        let r = request(message.clone());
        assert_eq!(r.scope, CancelScope::Order);
        assert_eq!(r.lines.len(), 2);
        assert_eq!(r.lines[0].quantity, 2);
        assert_eq!(r.reason.as_deref(), Some("Ordered by mistake"));
        assert_eq!(
            r.message_id,
            "A3EXAMPLESELLER:123-4567890-1234567:cancel_requested:2"
        );
        let value = serde_json::to_value(message.as_ref().unwrap()).unwrap();
        Contract::OrderCancelRequest.validate(&value).unwrap();
        // The same state again (a crash before recording): the same message.
        assert_eq!(cancel_request(&asked, Some(&record)), message);
        record.record(message.as_ref().unwrap());
        assert!(cancel_request(&asked, Some(&record)).is_none());
    }

    #[test]
    fn a_request_for_more_lines_gets_a_new_id_and_lists_them_all() {
        let mut record = sent(&open_order(|_| {}));
        let first = request(cancel_request(&open_order(|v| ask(v, 0)), Some(&record)));
        assert_eq!(first.scope, CancelScope::Lines);
        assert_eq!(first.lines.len(), 1);
        assert!(first.message_id.ends_with(":cancel_requested:1"));
        record.record(&OrderMessage::from(first.clone()));
        let both = open_order(|v| {
            ask(v, 0);
            ask(v, 1);
        });
        let second = request(cancel_request(&both, Some(&record)));
        assert_eq!(second.lines.len(), 2);
        assert_eq!(second.scope, CancelScope::Order);
        assert!(second.message_id.ends_with(":cancel_requested:2"));
    }

    #[test]
    fn no_request_for_orders_never_sent_cancelled_shipped_or_lines_with_nothing_open() {
        let asked = open_order(|v| ask(v, 0));
        assert!(cancel_request(&asked, None).is_none());
        let record = sent(&open_order(|_| {}));
        for status in ["CANCELLED", "SHIPPED"] {
            let o = open_order(|v| {
                ask(v, 0);
                v["fulfillment"]["fulfillmentStatus"] = json!(status);
            });
            assert!(cancel_request(&o, Some(&record)).is_none(), "{status}");
        }
        // The requested line was shipped meanwhile: nothing to stop.
        let shipped_line = open_order(|v| {
            ask(v, 0);
            v["fulfillment"]["fulfillmentStatus"] = json!("PARTIALLY_SHIPPED");
            v["orderItems"][0]["fulfillment"]["quantityFulfilled"] = json!(2);
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(0);
        });
        assert!(cancel_request(&shipped_line, Some(&record)).is_none());
    }

    #[test]
    fn the_record_remembers_requests_and_reads_old_records() {
        let mut record = sent(&open_order(|_| {}));
        let m = cancel_request(&open_order(|v| ask(v, 1)), Some(&record)).unwrap();
        record.record(&m);
        assert!(!record.lines[0].cancel_requested);
        assert!(record.lines[1].cancel_requested);
        // A record written before issue 15 has no such field.
        let mut json: Value = serde_json::to_value(&record).unwrap();
        for line in json["lines"].as_array_mut().unwrap() {
            line.as_object_mut().unwrap().remove("cancel_requested");
        }
        let old: SentOrder = serde_json::from_value(json).unwrap();
        assert!(!old.lines[1].cancel_requested);
    }
}
