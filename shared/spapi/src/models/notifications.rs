//! Notifications API v1 (`notifications.json`): destinations and
//! subscriptions; and the notifications Amazon delivers to our SQS queue
//! (`schemas/notifications/OrderChangeNotification.json`, the
//! `ORDER_CHANGE` payload version 1.0).
//!
//! A notification is a *hint*: it names an order that changed, never the
//! order's state (the payload has no prices, addresses or quantities to
//! trust). The connector fetches the order itself and decides from that.
//! The types are tolerant of fields Amazon adds and strict only about what
//! the handler reads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The notification type of order changes.
pub const ORDER_CHANGE: &str = "ORDER_CHANGE";
/// The notification type of finished feeds (not subscribed by this connector).
pub const FEED_PROCESSING_FINISHED: &str = "FEED_PROCESSING_FINISHED";
/// The payload version the connector subscribes to and reads.
pub const PAYLOAD_VERSION: &str = "1.0";

/// `Destination`: where Amazon delivers (an SQS queue here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    pub destination_id: String,
    pub name: String,
    pub resource: DestinationResource,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationResource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<SqsResource>,
    /// An EventBridge destination (not used by the connector; kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_bridge: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqsResource {
    pub arn: String,
}

/// `GetDestinationsResponse`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GetDestinationsResponse {
    #[serde(default)]
    pub payload: Vec<Destination>,
}

/// `CreateDestinationResponse`.
#[derive(Clone, Debug, Deserialize)]
pub struct CreateDestinationResponse {
    pub payload: Destination,
}

/// `Subscription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub payload_version: String,
    pub destination_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_directive: Option<ProcessingDirective>,
}

/// `ProcessingDirective` (only the event filter is used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingDirective {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_filter: Option<EventFilter>,
}

/// `EventFilter` (the model's `allOf` of filters, flattened).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFilter {
    pub event_filter_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_change_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marketplace_ids: Vec<String>,
}

/// `GetSubscriptionResponse` / `CreateSubscriptionResponse`.
#[derive(Clone, Debug, Deserialize)]
pub struct SubscriptionResponse {
    pub payload: Subscription,
}

/// `DeleteSubscriptionByIdResponse` (an empty object on success).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DeleteSubscriptionByIdResponse {}

/// One message on the notification queue: the envelope every notification
/// type shares. The payload is read per type ([`OrderChange::from_payload`]).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Notification {
    pub notification_version: String,
    pub notification_type: String,
    pub payload_version: String,
    /// When Amazon published it (ISO 8601).
    pub event_time: DateTime<Utc>,
    pub payload: Value,
    pub notification_metadata: NotificationMetadata,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotificationMetadata {
    pub application_id: String,
    pub subscription_id: String,
    pub publish_time: DateTime<Utc>,
    /// Unique per notification instance: the de-duplication key.
    pub notification_id: String,
}

/// The kinds of order change (`OrderChangeType`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum OrderChangeType {
    OrderStatusChange,
    BuyerRequestedChange,
    /// A delivery tip (added 2026-05-27): nothing for the warehouse.
    DeliveryTipChange,
    /// A kind this code does not know yet (counted, never an error).
    #[serde(untagged)]
    Other(String),
}

impl OrderChangeType {
    pub fn as_str(&self) -> &str {
        match self {
            OrderChangeType::OrderStatusChange => "OrderStatusChange",
            OrderChangeType::BuyerRequestedChange => "BuyerRequestedChange",
            OrderChangeType::DeliveryTipChange => "DeliveryTipChange",
            OrderChangeType::Other(s) => s,
        }
    }
}

/// `Payload.OrderChangeNotification` (payload version 1.0), the fields the
/// connector reads. `DestinationPostalCode` and the items are left out on
/// purpose: they are of no use as hints, and buyer-related.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderChange {
    pub seller_id: String,
    pub amazon_order_id: String,
    pub order_change_type: OrderChangeType,
    pub order_change_trigger: OrderChangeTrigger,
    pub summary: OrderChangeSummary,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderChangeTrigger {
    /// `null` when Amazon has no time for the change.
    #[serde(default)]
    pub time_of_order_change: Option<DateTime<Utc>>,
    pub change_reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderChangeSummary {
    pub marketplace_id: String,
    /// v0 spelling (`Pending`, `Unshipped`, `Canceled`...): a hint only.
    pub order_status: String,
    /// `MFN` or `AFN`: fixed for an order's life.
    pub fulfillment_type: String,
}

#[derive(Deserialize)]
struct OrderChangePayload {
    #[serde(rename = "OrderChangeNotification")]
    order_change_notification: OrderChange,
}

impl OrderChange {
    /// Reads an `ORDER_CHANGE` payload; the error names the field that broke
    /// (never a value).
    pub fn from_payload(payload: &Value) -> Result<OrderChange, String> {
        let parsed: OrderChangePayload =
            serde_path_to_error::deserialize(payload).map_err(|e| {
                // serde's path of the payload itself is `.`.
                let path = match e.path().to_string() {
                    p if p == "." => "Payload".to_string(),
                    p => format!("Payload.{p}"),
                };
                let text = e.inner().to_string();
                match text.strip_prefix("missing field ") {
                    // serde names the field, never a value here.
                    Some(field) => format!("{path}: field {field} is missing"),
                    None => format!("{path} has the wrong type or value"),
                }
            })?;
        Ok(parsed.order_change_notification)
    }
}

impl Notification {
    /// Reads a message body; the error names the field that broke, never
    /// its value.
    pub fn parse(body: &str) -> Result<Notification, String> {
        let mut de = serde_json::Deserializer::from_str(body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if e.inner().is_syntax() || e.inner().is_eof() {
                "the body is not JSON".to_string()
            } else if path == "." {
                "the body is not a notification object".to_string()
            } else {
                format!("{path} is missing or malformed")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> Value {
        json!({
            "NotificationVersion": "1.0",
            "NotificationType": "ORDER_CHANGE",
            "PayloadVersion": "1.0",
            "EventTime": "2020-01-11T00:09:53.109Z",
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": "A3TH9S8BH6GOGM",
                "AmazonOrderId": "903-8868176-2219830",
                "OrderChangeType": "BuyerRequestedChange",
                "OrderChangeTrigger": {"TimeOfOrderChange": "2022-11-29T19:42:04.284Z", "ChangeReason": "Buyer Requested Cancel"},
                "Summary": {"MarketplaceId": "ATVPDKIKX0DER", "OrderStatus": "Unshipped", "PurchaseDate": "2022-07-13T19:42:04.284Z",
                    "DestinationPostalCode": "48110", "FulfillmentType": "MFN", "OrderType": "StandardOrder", "OrderItems": []}
            }},
            "NotificationMetadata": {"ApplicationId": "app-id-1", "SubscriptionId": "sub-1",
                "PublishTime": "2020-07-13T19:42:04.284Z", "NotificationId": "d0e9e693-c3ad-4373-979f-ed4ec98dd746"}
        })
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_named_plainly() {
        // Found by the notification-body property test: the payload's own
        // path read `Payload..`.
        let mut body = example();
        body["Payload"] = json!("");
        let n = Notification::parse(&body.to_string()).unwrap();
        assert_eq!(
            OrderChange::from_payload(&n.payload).unwrap_err(),
            "Payload has the wrong type or value"
        );
    }

    #[test]
    fn an_order_change_reads_as_a_hint() {
        let n = Notification::parse(&example().to_string()).unwrap();
        assert_eq!(n.notification_type, ORDER_CHANGE);
        assert_eq!(
            n.notification_metadata.notification_id,
            "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
        );
        let c = OrderChange::from_payload(&n.payload).unwrap();
        assert_eq!(c.amazon_order_id, "903-8868176-2219830");
        assert_eq!(c.order_change_type, OrderChangeType::BuyerRequestedChange);
        assert_eq!(c.summary.fulfillment_type, "MFN");
        assert!(c.order_change_trigger.time_of_order_change.is_some());
    }

    #[test]
    fn unknown_change_types_and_null_times_are_not_errors() {
        let mut v = example();
        let p = &mut v["Payload"]["OrderChangeNotification"];
        p["OrderChangeType"] = json!("SomethingNew");
        p["OrderChangeTrigger"]["TimeOfOrderChange"] = Value::Null;
        let c = OrderChange::from_payload(&v["Payload"]).unwrap();
        assert_eq!(
            c.order_change_type,
            OrderChangeType::Other("SomethingNew".into())
        );
        assert_eq!(c.order_change_trigger.time_of_order_change, None);
        assert_eq!(c.order_change_type.as_str(), "SomethingNew");
    }

    #[test]
    fn errors_name_the_field_never_the_value() {
        assert_eq!(
            Notification::parse("{not json").unwrap_err(),
            "the body is not JSON"
        );
        let mut v = example();
        v["NotificationMetadata"]
            .as_object_mut()
            .unwrap()
            .remove("NotificationId");
        let e = Notification::parse(&v.to_string()).unwrap_err();
        assert!(e.contains("NotificationMetadata"), "{e}");
        let mut v = example();
        v["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = json!(903);
        let e = OrderChange::from_payload(&v["Payload"]).unwrap_err();
        assert!(e.contains("AmazonOrderId") && !e.contains("903"), "{e}");
    }
}
