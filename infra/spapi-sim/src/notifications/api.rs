//! The Notifications API's routes: destinations (grantless) and the
//! seller's subscription.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::Operation;
use serde_json::{Value, json};

use super::types::{ORDER_CHANGE, SimDestination, SimSubscription};
use crate::faults::OpCall;
use crate::http::error_list;
use crate::pipeline::{Auth, pipeline_as};
use crate::state::Shared;

pub(crate) fn conflict(message: &str) -> (StatusCode, Value) {
    (StatusCode::CONFLICT, error_list("Conflict", message, ""))
}

pub(crate) fn invalid(message: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        error_list("InvalidInput", message, ""),
    )
}

pub(crate) fn call(op: Operation) -> OpCall {
    OpCall {
        op,
        has_page_token: false,
    }
}

pub(crate) fn destination_json(d: &SimDestination) -> Value {
    json!({"destinationId": d.id, "name": d.name, "resource": {"sqs": {"arn": d.arn}}})
}

pub(crate) fn subscription_json(s: &SimSubscription) -> Value {
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

pub(crate) async fn get_destinations(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
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

pub(crate) async fn create_destination(
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

pub(crate) fn order_change_only(notification_type: &str) -> Result<(), (StatusCode, Value)> {
    if notification_type == ORDER_CHANGE {
        Ok(())
    } else {
        Err(invalid(
            "The simulator supports the ORDER_CHANGE notification type only.",
        ))
    }
}

pub(crate) async fn get_subscription(
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

pub(crate) async fn create_subscription(
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

pub(crate) async fn delete_subscription(
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
