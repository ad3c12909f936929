//! Notifications API v1: destinations (grantless, scope
//! `sellingpartnerapi::notifications`, the application's quota bucket) and
//! a seller's subscriptions (the seller's token).

use domain::Operation;
use serde_json::json;

use crate::call::{Call, Method, encode_path_segment};
use crate::models::notifications::{
    CreateDestinationResponse, DeleteSubscriptionByIdResponse, GetDestinationsResponse,
    ORDER_CHANGE, PAYLOAD_VERSION, SubscriptionResponse,
};

/// The LWA scope of the grantless Notifications operations.
pub const SCOPE: &str = "sellingpartnerapi::notifications";

/// The order changes the connector subscribes to: status changes (a Pending
/// order becoming Unshipped, cancellations) and buyers' requests (a
/// cancellation request). `DeliveryTipChange` is left out.
pub const ORDER_CHANGE_TYPES: [&str; 2] = ["OrderStatusChange", "BuyerRequestedChange"];

/// `GET /notifications/v1/destinations` (grantless).
#[derive(Clone, Debug, Default)]
pub struct GetDestinations;

impl Call for GetDestinations {
    type Output = GetDestinationsResponse;
    const OPERATION: Operation = Operation::GetDestinations;

    fn path(&self) -> String {
        "/notifications/v1/destinations".to_string()
    }

    fn grantless_scope(&self) -> Option<&'static str> {
        Some(SCOPE)
    }
}

/// `POST /notifications/v1/destinations` (grantless): an SQS queue.
#[derive(Clone, Debug)]
pub struct CreateDestination {
    pub name: String,
    pub queue_arn: String,
}

impl Call for CreateDestination {
    type Output = CreateDestinationResponse;
    const OPERATION: Operation = Operation::CreateDestination;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        "/notifications/v1/destinations".to_string()
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(json!({
            "name": self.name,
            "resourceSpecification": { "sqs": { "arn": self.queue_arn } }
        }))
    }

    fn grantless_scope(&self) -> Option<&'static str> {
        Some(SCOPE)
    }

    fn validate(&self) -> Result<(), String> {
        // The model's pattern for SqsResource.arn, and its 256-character name.
        let parts: Vec<&str> = self.queue_arn.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1] == "aws"
            && parts[2] == "sqs"
            && parts[3..].iter().all(|p| !p.is_empty());
        if !ok {
            return Err(format!(
                "{:?} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)",
                self.queue_arn
            ));
        }
        if self.queue_arn.ends_with(".fifo") {
            return Err("Amazon does not deliver notifications to FIFO queues".into());
        }
        if self.name.is_empty() || self.name.len() > 256 {
            return Err("a destination name has 1 to 256 characters".into());
        }
        Ok(())
    }
}

/// `GET /notifications/v1/subscriptions/ORDER_CHANGE` (the seller's token):
/// the seller's subscription, 404 when there is none.
#[derive(Clone, Debug)]
pub struct GetSubscription {
    pub notification_type: &'static str,
}

impl GetSubscription {
    pub fn order_change() -> Self {
        Self {
            notification_type: ORDER_CHANGE,
        }
    }
}

impl Call for GetSubscription {
    type Output = SubscriptionResponse;
    const OPERATION: Operation = Operation::GetSubscription;

    fn path(&self) -> String {
        format!(
            "/notifications/v1/subscriptions/{}",
            encode_path_segment(self.notification_type)
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![("payloadVersion", PAYLOAD_VERSION.to_string())]
    }
}

/// `POST /notifications/v1/subscriptions/ORDER_CHANGE` (the seller's token):
/// payload 1.0 to `destination_id`, with the order-change filter.
#[derive(Clone, Debug)]
pub struct CreateOrderChangeSubscription {
    pub destination_id: String,
}

impl Call for CreateOrderChangeSubscription {
    type Output = SubscriptionResponse;
    const OPERATION: Operation = Operation::CreateSubscription;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        format!("/notifications/v1/subscriptions/{ORDER_CHANGE}")
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(json!({
            "payloadVersion": PAYLOAD_VERSION,
            "destinationId": self.destination_id,
            "processingDirective": {
                "eventFilter": {
                    "eventFilterType": ORDER_CHANGE,
                    "orderChangeTypes": ORDER_CHANGE_TYPES,
                }
            }
        }))
    }
}

/// `DELETE /notifications/v1/subscriptions/{type}/{id}` (grantless).
#[derive(Clone, Debug)]
pub struct DeleteSubscriptionById {
    pub notification_type: &'static str,
    pub subscription_id: String,
}

impl Call for DeleteSubscriptionById {
    type Output = DeleteSubscriptionByIdResponse;
    const OPERATION: Operation = Operation::DeleteSubscriptionById;
    const METHOD: Method = Method::Delete;

    fn path(&self) -> String {
        format!(
            "/notifications/v1/subscriptions/{}/{}",
            encode_path_segment(self.notification_type),
            encode_path_segment(&self.subscription_id)
        )
    }

    fn grantless_scope(&self) -> Option<&'static str> {
        Some(SCOPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_the_model() {
        let d = CreateDestination {
            name: "connector-prod".into(),
            queue_arn: "arn:aws:sqs:eu-west-1:123456789012:connector-notifications-prod".into(),
        };
        assert!(d.validate().is_ok());
        assert_eq!(
            d.body().unwrap()["resourceSpecification"]["sqs"]["arn"],
            "arn:aws:sqs:eu-west-1:123456789012:connector-notifications-prod"
        );
        assert_eq!(d.grantless_scope(), Some(SCOPE));
        let fifo = CreateDestination {
            queue_arn: "arn:aws:sqs:eu-west-1:123456789012:q.fifo".into(),
            ..d.clone()
        };
        assert!(fifo.validate().unwrap_err().contains("FIFO"));
        let bad = CreateDestination {
            queue_arn: "https://sqs.eu-west-1.amazonaws.com/1/q".into(),
            ..d
        };
        assert!(bad.validate().is_err());

        let s = CreateOrderChangeSubscription {
            destination_id: "dest-1".into(),
        };
        let body = s.body().unwrap();
        assert_eq!(body["payloadVersion"], "1.0");
        assert_eq!(
            body["processingDirective"]["eventFilter"]["orderChangeTypes"],
            json!(["OrderStatusChange", "BuyerRequestedChange"])
        );
        assert_eq!(s.path(), "/notifications/v1/subscriptions/ORDER_CHANGE");
        assert_eq!(s.grantless_scope(), None);
        let del = DeleteSubscriptionById {
            notification_type: ORDER_CHANGE,
            subscription_id: "a/b".into(),
        };
        assert_eq!(
            del.path(),
            "/notifications/v1/subscriptions/ORDER_CHANGE/a%2Fb"
        );
    }
}
