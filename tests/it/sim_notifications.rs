//! The simulator's Notifications API and its delivery, checked against
//! Amazon's own documents: the answers against `notifications.json`'s
//! definitions (strict: no field the model does not define), the delivered
//! `ORDER_CHANGE` bodies against `schemas/notifications/OrderChangeNotification.json`;
//! grantless and seller tokens kept apart; losses, duplicates (one id) and
//! delays on the simulator's clock.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use spapi_sim::{NotificationDelivery, NotificationSink, SimHandle};
use tests::sim::{
    CLIENT_ID, CLIENT_SECRET, DE, SpResponse, access_token, add_seller, start_sim, test_order,
};

use crate::sim_schema::{assert_valid, model, validator};

#[derive(Default)]
struct Memory(Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl NotificationSink for Memory {
    async fn deliver(&self, arn: &str, body: String) -> Result<(), String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((arn.to_string(), body));
        Ok(())
    }
}

async fn grantless_token(sim: &SimHandle) -> String {
    let resp = reqwest::Client::new()
        .post(sim.lwa_token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "sellingpartnerapi::notifications"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

async fn call(
    sim: &SimHandle,
    method: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> SpResponse {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", sim.base_url());
    let mut req = match method {
        "POST" => client.post(url),
        "DELETE" => client.delete(url),
        _ => client.get(url),
    }
    .header("x-amz-access-token", token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    SpResponse {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

/// Strict without `processingDirective` (the model's `EventFilter` is an
/// `allOf`, which strict validation cannot express), plain with it.
fn check_subscription(m: &Value, definition: &str, doc: &Value) {
    assert!(
        doc.pointer("/payload/processingDirective/eventFilter/orderChangeTypes")
            .is_some()
    );
    assert_valid(&validator(m, definition, false), doc, definition);
    let mut bare = doc.clone();
    bare["payload"]
        .as_object_mut()
        .unwrap()
        .remove("processingDirective");
    assert_valid(&validator(m, definition, true), &bare, definition);
}

const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:connector-notifications-test";

fn order_change_schema() -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/amazon/schemas/notifications/OrderChangeNotification.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

#[tokio::test]
async fn the_notifications_api_answers_as_the_model_says() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1SIMNOTIFY", true);
    let m = model("notifications.json");
    let app = grantless_token(&sim).await;
    let seller_token = access_token(&sim, &seller).await;

    let created = call(
        &sim,
        "POST",
        &app,
        "/notifications/v1/destinations",
        Some(json!({"name": "connector-test", "resourceSpecification": {"sqs": {"arn": ARN}}})),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_valid(
        &validator(&m, "CreateDestinationResponse", true),
        &created.json(),
        "createDestination",
    );
    let destination = created.json()["payload"]["destinationId"]
        .as_str()
        .unwrap()
        .to_string();
    let again = call(
        &sim,
        "POST",
        &app,
        "/notifications/v1/destinations",
        Some(json!({"name": "connector-test", "resourceSpecification": {"sqs": {"arn": ARN}}})),
    )
    .await;
    assert_eq!(again.status, 409, "one destination per queue");
    assert_valid(
        &validator(&m, "CreateDestinationResponse", true),
        &again.json(),
        "409",
    );
    let fifo = call(
        &sim,
        "POST",
        &app,
        "/notifications/v1/destinations",
        Some(
            json!({"name": "x", "resourceSpecification": {"sqs": {"arn": format!("{ARN}.fifo")}}}),
        ),
    )
    .await;
    assert_eq!(fifo.status, 400, "no FIFO destinations");
    let list = call(&sim, "GET", &app, "/notifications/v1/destinations", None).await;
    assert_valid(
        &validator(&m, "GetDestinationsResponse", true),
        &list.json(),
        "getDestinations",
    );

    // Grantless operations take no seller token, seller operations no grantless one.
    let wrong = call(
        &sim,
        "GET",
        &seller_token,
        "/notifications/v1/destinations",
        None,
    )
    .await;
    assert_eq!(wrong.status, 403);
    let wrong = call(
        &sim,
        "GET",
        &app,
        "/notifications/v1/subscriptions/ORDER_CHANGE",
        None,
    )
    .await;
    assert_eq!(wrong.status, 403);

    let none = call(
        &sim,
        "GET",
        &seller_token,
        "/notifications/v1/subscriptions/ORDER_CHANGE",
        None,
    )
    .await;
    assert_eq!(none.status, 404);
    assert_valid(
        &validator(&m, "GetSubscriptionResponse", true),
        &none.json(),
        "404",
    );
    let body = json!({"payloadVersion": "1.0", "destinationId": destination,
        "processingDirective": {"eventFilter": {"eventFilterType": "ORDER_CHANGE",
            "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"]}}});
    let sub = call(
        &sim,
        "POST",
        &seller_token,
        "/notifications/v1/subscriptions/ORDER_CHANGE",
        Some(body.clone()),
    )
    .await;
    assert_eq!(sub.status, 200, "{}", sub.body);
    check_subscription(&m, "CreateSubscriptionResponse", &sub.json());
    let twice = call(
        &sim,
        "POST",
        &seller_token,
        "/notifications/v1/subscriptions/ORDER_CHANGE",
        Some(body),
    )
    .await;
    assert_eq!(twice.status, 409);
    let got = call(
        &sim,
        "GET",
        &seller_token,
        "/notifications/v1/subscriptions/ORDER_CHANGE",
        None,
    )
    .await;
    check_subscription(&m, "GetSubscriptionResponse", &got.json());
    let id = got.json()["payload"]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let del = call(
        &sim,
        "DELETE",
        &app,
        &format!("/notifications/v1/subscriptions/ORDER_CHANGE/{id}"),
        None,
    )
    .await;
    assert_eq!(del.status, 200);
    assert_valid(
        &validator(&m, "DeleteSubscriptionByIdResponse", true),
        &del.json(),
        "delete",
    );
    assert!(sim.control().subscription_id(&seller.seller_id).is_none());
}

async fn subscribed(sim: &SimHandle, seller_id: &str) -> Arc<Memory> {
    let seller = add_seller(sim, seller_id, true);
    let app = grantless_token(sim).await;
    let token = access_token(sim, &seller).await;
    let d = call(
        sim,
        "POST",
        &app,
        "/notifications/v1/destinations",
        Some(json!({"name": "t", "resourceSpecification": {"sqs": {"arn": ARN}}})),
    )
    .await
    .json();
    let body = json!({"payloadVersion": "1.0", "destinationId": d["payload"]["destinationId"],
        "processingDirective": {"eventFilter": {"eventFilterType": "ORDER_CHANGE",
            "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"]}}});
    let s = call(
        sim,
        "POST",
        &token,
        "/notifications/v1/subscriptions/ORDER_CHANGE",
        Some(body),
    )
    .await;
    assert_eq!(s.status, 200, "{}", s.body);
    let memory = Arc::new(Memory::default());
    sim.control().set_notification_sink(memory.clone());
    memory
}

#[tokio::test]
async fn delivered_order_changes_match_amazons_schema() {
    let sim = start_sim(1000.0).await;
    let memory = subscribed(&sim, "A1SIMNOTIFYBODY").await;
    let c = sim.control();
    c.set_notification_delivery(NotificationDelivery {
        automatic: false,
        min_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        ..NotificationDelivery::default()
    });
    let id = c.seed_order("A1SIMNOTIFYBODY", test_order(2, DE)).unwrap();
    c.cancel(
        "A1SIMNOTIFYBODY",
        &id,
        spapi_sim::CancelSpec {
            request_only: true,
            ..spapi_sim::CancelSpec::default()
        },
    )
    .unwrap();
    c.set_status(
        "A1SIMNOTIFYBODY",
        &id,
        domain::settings::OrderStatus::Cancelled,
    )
    .unwrap();
    assert_eq!(c.deliver_notifications().await, 3);
    let schema = order_change_schema();
    let bodies = memory.0.lock().unwrap().clone();
    let mut kinds = Vec::new();
    for (arn, body) in &bodies {
        assert_eq!(arn, ARN);
        let v: Value = serde_json::from_str(body).unwrap();
        let errors: Vec<String> = schema.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{body}");
        // And the connector reads it.
        let n = spapi::models::notifications::Notification::parse(body).unwrap();
        let change = spapi::models::notifications::OrderChange::from_payload(&n.payload).unwrap();
        assert_eq!(change.amazon_order_id, id);
        kinds.push((
            change.order_change_type.as_str().to_string(),
            change.summary.order_status.clone(),
        ));
    }
    assert_eq!(
        kinds,
        [
            ("OrderStatusChange".to_string(), "Unshipped".to_string()),
            ("BuyerRequestedChange".to_string(), "Unshipped".to_string()),
            ("OrderStatusChange".to_string(), "Canceled".to_string()),
        ]
    );
    let v: Value = serde_json::from_str(&bodies[1].1).unwrap();
    assert_eq!(
        v["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"][0]["IsBuyerRequestedCancel"],
        true
    );
}

#[tokio::test]
async fn delivery_loses_duplicates_and_delays_on_the_simulators_clock() {
    let sim = start_sim(1000.0).await;
    let memory = subscribed(&sim, "A1SIMNOTIFYDELAY").await;
    let c = sim.control();
    // Ten seconds late, every one twice: nothing before the clock gets there.
    c.set_notification_delivery(NotificationDelivery {
        duplicates: 1.0,
        min_delay: Duration::from_secs(10),
        max_delay: Duration::from_secs(10),
        automatic: true,
        ..NotificationDelivery::default()
    });
    c.seed_order("A1SIMNOTIFYDELAY", test_order(1, DE)).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(memory.0.lock().unwrap().is_empty(), "not due yet");
    c.advance_clock(Duration::from_secs(11));
    for _ in 0..100 {
        if memory.0.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bodies = memory.0.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "delivered twice once due");
    let id = |b: &str| {
        serde_json::from_str::<Value>(b).unwrap()["NotificationMetadata"]["NotificationId"].clone()
    };
    assert_eq!(
        id(&bodies[0].1),
        id(&bodies[1].1),
        "a duplicate keeps its id"
    );
    // Everything lost.
    c.set_notification_delivery(NotificationDelivery {
        loss: 1.0,
        automatic: false,
        ..NotificationDelivery::default()
    });
    c.seed_order("A1SIMNOTIFYDELAY", test_order(3, DE)).unwrap();
    assert_eq!(c.deliver_notifications().await, 0);
    let stats = c.notification_stats();
    assert_eq!(
        (
            stats.produced,
            stats.lost,
            stats.duplicated,
            stats.delivered
        ),
        (2, 1, 1, 2)
    );
    // FBA orders raise notifications too (the connector ignores them).
    c.set_notification_delivery(NotificationDelivery {
        automatic: false,
        ..NotificationDelivery::default()
    });
    let mut fba = test_order(5, DE);
    fba.fulfilled_by = spapi_sim::FulfilledBy::Amazon;
    c.seed_order("A1SIMNOTIFYDELAY", fba).unwrap();
    assert_eq!(c.deliver_notifications().await, 1);
    let last = memory.0.lock().unwrap().last().unwrap().1.clone();
    assert!(last.contains("\"FulfillmentType\":\"AFN\""), "{last}");
}
