//! End to end on the artifacts: each function's real debug binary, started
//! by the local Lambda (`lambda-emu`) with exactly the environment
//! template.yaml gives it, driven through the Lambda Runtime API by the
//! template's own triggers (the schedule's input, the SQS event sources,
//! a Function URL), against moto and the simulator. What the tests read is
//! what reached moto, the simulator and the function's process.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::{AmazonOrderId, Operation, SellerId};
use lambda_emu::events::{self, function_url_request, function_url_response};
use lambda_emu::{Function, InvokeOptions, Kill, Matcher, Moment, Outcome, Tap};
use serde_json::{Value, json};
use spapi_sim::ListingSpec;
use store::{Ledger, SendState};
use tests::emu::{E2e, LIMIT};
use tests::labels::{package, warehouse};
use tests::ship::shipment;
use tests::sim::{UK, add_seller, add_seller_in};
use tests::wms_stock::FakeWms;

fn counts(messages: &[wms::OrderMessage]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for m in messages {
        *out.entry((m.kind().to_string(), m.order_number().to_string()))
            .or_default() += 1;
    }
    out
}

fn expect_response(inv: &lambda_emu::Invocation, f: &Function) -> Value {
    inv.response().unwrap_or_else(|| {
        panic!(
            "{} did not answer: {:?}\n{}",
            f.spec().logical_id,
            inv.payload(),
            f.log_text()
        )
    })
}

#[tokio::test]
async fn order_pull_to_the_wms_queue_then_a_shipment_confirmed_on_amazon() {
    let e = E2e::new("e2e-pull-ship", 1000.0).await;
    let seller = add_seller(&e.sim, "A1E2EPULLSHIP", true);
    e.onboard(&seller, |_| {}).await;
    let ids = e.seed_past_orders(&seller, 3);

    // The schedule (the template's Input), then the jobs it queued.
    let pull = e.function("OrderPullFunction").await;
    let schedule = events::schedule(&e.stack.template, "OrderPullFunction", "Every15Minutes")
        .expect("the schedule's input");
    let fan = pull.invoke(&schedule).await.expect("invoke");
    assert!(fan.cold_start && fan.init_duration.is_some());
    let fan_out = expect_response(&fan, &pull);
    assert!(fan_out.to_string().contains('1'), "one job: {fan_out}");
    let jobs = e
        .run_queue(&pull, &e.source("OrderPullFunction", "Jobs"), 5, false)
        .await;
    assert!(!jobs.is_empty());
    for j in &jobs {
        let answer = expect_response(j, &pull);
        assert!(
            devstack::lambda_sqs::failed_ids(&answer).is_empty(),
            "{answer}"
        );
        assert!(!j.cold_start, "the warm container took the jobs");
    }
    assert_eq!(pull.containers_started().await, 1);

    let wms = e.drain_wms().await;
    let got = counts(&wms);
    assert_eq!(got.len(), 3, "{got:?}");
    for id in &ids {
        assert_eq!(
            got.get(&("order.created".to_string(), format!("MG{id}"))),
            Some(&1),
            "{id} reached the WMS once: {got:?}"
        );
    }

    // The WMS ships order 1 (one line: SKU-1-A × 1) and says so.
    let message = shipment(
        &seller.seller_id,
        &format!("MG{}", ids[0]),
        "PKG-E2E-1",
        "DHL",
        None,
        "TRACK-E2E-1",
        &[("SKU-1-A", 1)],
    );
    let shipments_url = &e.stack.resources.queue("ShipmentQueue").unwrap().url;
    e.stack
        .sqs()
        .send_message()
        .queue_url(shipments_url)
        .message_body(&message)
        .send()
        .await
        .expect("the WMS sends a shipment message");
    let ship = e.function("ShipmentConfirmFunction").await;
    let batches = e
        .run_queue(
            &ship,
            &e.source("ShipmentConfirmFunction", "Shipments"),
            3,
            false,
        )
        .await;
    assert_eq!(batches.len(), 1);
    let answer = expect_response(&batches[0], &ship);
    assert!(
        devstack::lambda_sqs::failed_ids(&answer).is_empty(),
        "{answer}"
    );
    let order = e
        .sim
        .control()
        .order_json(&seller.seller_id, &ids[0])
        .unwrap();
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    assert_eq!(order["packages"][0]["trackingNumber"], "TRACK-E2E-1");
    assert_eq!(
        e.sim
            .control()
            .operation_metrics(&seller.seller_id, Operation::ConfirmShipment)
            .calls,
        1
    );
    let dlq = &e
        .stack
        .resources
        .queue("ShipmentDeadLetterQueue")
        .unwrap()
        .url;
    assert!(e.drain(dlq).await.is_empty(), "nothing dead-lettered");
}

#[tokio::test]
async fn inventory_push_on_schedule_and_from_its_job_queue() {
    let e = E2e::new("e2e-inventory", 1000.0).await;
    let seller = add_seller(&e.sim, "A1E2EINVENTORY", false);
    e.sim
        .control()
        .seed_listings(
            &seller.seller_id,
            vec![ListingSpec::new("INV-A", 0), ListingSpec::new("INV-B", 5)],
        )
        .unwrap();
    let settings = e
        .onboard(&seller, |s| {
            s.inventory.schedule = Some("rate(1 hour)".into());
        })
        .await;
    let wms = FakeWms::start("e2e-stock-token", 50).await;
    wms.set_stock(
        settings.client_code.as_str(),
        &[("INV-A", 12, 12), ("INV-B", 0, 0)],
    );
    let spec = e.spec("InventoryPushFunction").await;
    e.stack
        .secrets()
        .put_secret_value()
        .secret_id(&spec.env["WMS_STOCK_SECRET"])
        .secret_string(json!({"url": wms.url(), "token": "e2e-stock-token"}).to_string())
        .send()
        .await
        .expect("the WMS stock secret");
    let push = Function::new(spec);
    let schedule = events::schedule(&e.stack.template, "InventoryPushFunction", "Hourly")
        .expect("the schedule's input");
    let fan = push.invoke(&schedule).await.expect("invoke");
    let fan_out = expect_response(&fan, &push);
    assert_eq!(fan_out["jobs"], 1, "{fan_out}");
    let jobs = e
        .run_queue(&push, &e.source("InventoryPushFunction", "Jobs"), 5, false)
        .await;
    assert_eq!(jobs.len(), 1, "one job");
    let answer = expect_response(&jobs[0], &push);
    assert!(
        devstack::lambda_sqs::failed_ids(&answer).is_empty(),
        "{answer}"
    );
    let qty = |sku: &str| e.sim.control().listing_quantity(&seller.seller_id, sku);
    assert_eq!((qty("INV-A"), qty("INV-B")), (Some(12), Some(0)));
    assert!(wms.requests() >= 1);
    // Just pushed: the next tick has nothing due.
    let again = push.invoke(&schedule).await.expect("invoke");
    assert_eq!(expect_response(&again, &push)["jobs"], 0);
    assert_eq!(push.containers_started().await, 1);
}

#[tokio::test]
async fn labels_rates_purchase_and_documents_through_the_function_url() {
    let e = E2e::new("e2e-labels", 10.0).await;
    let seller = add_seller_in(&e.sim, "A1E2ELABELS", &[UK], true);
    let settings = e.onboard(&seller, |_| {}).await;
    let id = e
        .sim
        .control()
        .seed_order(&seller.seller_id, tests::sim::test_order(1, UK))
        .unwrap();
    let number = format!("MG{id}");
    let labels = e.function("LabelsFunction").await;
    let call = |body: Value| {
        function_url_request(
            "POST",
            "/",
            &[
                ("content-type", "application/json"),
                ("user-agent", "wms-e2e"),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    let http = |inv: &lambda_emu::Invocation| {
        let answer = function_url_response(&expect_response(inv, &labels));
        let body = answer.json().expect("a JSON body");
        (answer.status, body)
    };

    let rates = labels
        .invoke(&call(json!({
            "schema": 1, "operation": "rates", "seller_id": seller.seller_id,
            "shipment": {"order_number": number, "ship_from": warehouse(),
                "packages": [package("PKG-1", "1.25", &[("SKU-1-A", 1)])]}
        })))
        .await
        .expect("invoke");
    let (status, body) = http(&rates);
    assert_eq!(status, 200, "{body}");
    let token = body["rates"]["request_token"].as_str().unwrap().to_string();
    let rate_id = body["rates"]["offers"][0]["rate_id"]
        .as_str()
        .unwrap()
        .to_string();

    let purchase = json!({
        "schema": 1, "operation": "purchase", "seller_id": seller.seller_id,
        "idempotency_key": "E2E-PKG-1", "request_token": token, "rate_id": rate_id,
        "label": {"format": "PDF"}
    });
    let (status, bought) = http(&labels.invoke(&call(purchase.clone())).await.unwrap());
    assert_eq!(status, 200, "{bought}");
    let shipment_id = bought["label"]["shipment_id"].as_str().unwrap().to_string();
    // The WMS retries (its connection dropped): the same label, no second buy.
    let (status, replay) = http(&labels.invoke(&call(purchase)).await.unwrap());
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["label"]["shipment_id"], shipment_id.as_str());
    assert_eq!(replay["label"]["replayed"], true);
    assert_eq!(e.sim.control().label_purchases(&seller.seller_id), 1);

    let (status, docs) = http(
        &labels
            .invoke(&call(json!({
                "schema": 1, "operation": "documents", "client_code": settings.client_code.as_str(),
                "shipment_id": shipment_id, "format": "PNG"
            })))
            .await
            .unwrap(),
    );
    assert_eq!(status, 200, "{docs}");
    assert_eq!(docs["documents"]["package_id"], "PKG-1");
    let png = docs["documents"]["documents"][0]["content_base64"]
        .as_str()
        .expect("a file");
    assert!(png.starts_with("iVBORw0KGgo"), "a PNG");
    let order = e.sim.control().order_json(&seller.seller_id, &id).unwrap();
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    // A GET is refused with a 4xx that says what to do.
    let (status, refused) = http(
        &labels
            .invoke(&function_url_request("GET", "/", &[], None))
            .await
            .unwrap(),
    );
    assert!((400..500).contains(&status), "{status} {refused}");
    assert_eq!(labels.containers_started().await, 1, "one warm container");
}

#[tokio::test]
async fn init_fails_clearly_without_a_required_variable_and_a_missing_secret_is_named() {
    let e = E2e::new("e2e-init", 1000.0).await;
    // The template's variable removed: the process exits before /next.
    let spec = e
        .spec("OrderPullFunction")
        .await
        .without_env("WMS_ORDER_QUEUE_URL");
    let f = Function::new(spec);
    let inv = f.invoke(&json!({"kind": "schedule"})).await.unwrap();
    let Outcome::InitFailed(failure) = &inv.outcome else {
        panic!("init should fail: {:?}", inv.outcome)
    };
    assert_eq!(failure.error.error_type, "Runtime.ExitError");
    assert!(failure.exit.is_some(), "the process exited");
    let tail = failure.log_tail.join("\n");
    assert!(
        tail.contains("ConfigMissing")
            && tail.contains("environment variable WMS_ORDER_QUEUE_URL is not set"),
        "the log says which variable, as a sentence with its stable type: {failure}"
    );
    let payload = inv.payload();
    assert!(payload["errorType"].is_string() && payload["errorMessage"].is_string());
    // Lambda retries init on the next invocation: a fresh process, same failure.
    let again = f.invoke(&json!({"kind": "schedule"})).await.unwrap();
    assert!(matches!(again.outcome, Outcome::InitFailed(_)));
    assert_eq!(f.containers_started().await, 2);

    // A secret that does not exist: secrets are read on first use (not at
    // init, which would cost every cold start a Secrets Manager call), so
    // the first invocation that needs it fails and names it.
    let seller = add_seller(&e.sim, "A1E2EINITSECRET", true);
    e.onboard(&seller, |_| {}).await;
    let missing = format!("connector/{}/no-such-lwa-secret", e.stack.stage);
    let f = Function::new(
        e.spec("OrderPullFunction")
            .await
            .with_env("LWA_APP_SECRET", &missing),
    );
    let inv = f
        .invoke(&json!({"kind": "pull", "seller_id": seller.seller_id, "mode": "incremental"}))
        .await
        .unwrap();
    let error = inv.error().unwrap_or_else(|| {
        panic!(
            "the pull cannot work without its secret: {:?}\n{}",
            inv.payload(),
            f.log_text()
        )
    });
    assert_eq!(error.error_type, "CredentialsUnreadable", "{error:?}");
    let said = format!("{} {}", error.error_message, f.log_text());
    assert!(said.contains(&missing), "the secret is named: {said}");
}

#[tokio::test]
async fn a_warm_container_is_reused_and_a_failing_invocation_returns_an_error_object() {
    let e = E2e::new("e2e-warm", 1000.0).await;
    let seller = add_seller(&e.sim, "A1E2EWARM", true);
    e.onboard(&seller, |_| {}).await;
    e.seed_past_orders(&seller, 2);
    let pull = e.function("OrderPullFunction").await;
    let job = json!({"kind": "pull", "seller_id": seller.seller_id, "mode": "incremental"});
    let first = pull.invoke(&job).await.unwrap();
    expect_response(&first, &pull);
    let tokens = e.sim.control().token_requests(&seller.seller_id);
    let second = pull.invoke(&job).await.unwrap();
    expect_response(&second, &pull);
    assert!(first.cold_start && !second.cold_start);
    assert_eq!(first.pid, second.pid, "the same process");
    assert!(second.init_duration.is_none());
    assert_eq!(
        e.sim.control().token_requests(&seller.seller_id),
        tokens,
        "the warm process kept its LWA access token"
    );
    assert_eq!(e.drain_wms().await.len(), 2, "each order once");

    // An event the function cannot handle: an error object, and the
    // container stays warm (a handler error is not a crash).
    let bad = pull.invoke(&json!({"kind": "no-such-kind"})).await.unwrap();
    let Outcome::Error(error) = &bad.outcome else {
        panic!("an error object: {:?}", bad.outcome)
    };
    // A short stable type and a sentence saying what was expected.
    assert_eq!(error.error_type, "InvalidEvent", "{error:?}");
    assert!(
        error.error_message.contains("invalid event") && error.error_message.contains("schedule"),
        "{error:?}"
    );
    let payload = bad.payload();
    assert!(payload["errorType"].is_string() && payload["errorMessage"].is_string());
    let after = pull.invoke(&job).await.unwrap();
    expect_response(&after, &pull);
    assert_eq!(after.pid, first.pid);
    assert_eq!(pull.containers_started().await, 1);
}

#[tokio::test]
async fn a_timeout_kills_the_process_and_the_next_invocation_starts_fresh() {
    let e = E2e::new("e2e-timeout", 10.0).await;
    let seller = add_seller_in(&e.sim, "A1E2ETIMEOUT", &[UK], true);
    e.onboard(&seller, |_| {}).await;
    // The state table stops answering: the function hangs in its first read.
    let tap = Tap::start(&e.stack.endpoint).await.unwrap();
    let hung = tap.arm(Matcher::aws("DynamoDB_20120810.GetItem"), Moment::Before, 0);
    let spec = e
        .spec_with("LabelsFunction", &e.overrides().aws_endpoint(&tap.url()))
        .await
        .with_timeout(Duration::from_secs(3));
    let labels = Function::new(spec);
    let request = json!({"schema": 1, "operation": "track", "seller_id": seller.seller_id,
        "shipment_id": "no-such-shipment"});
    let inv = tokio::time::timeout(LIMIT, labels.invoke(&request))
        .await
        .expect("the emulator enforces the timeout")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(1), hung)
        .await
        .expect("the read was held");
    assert!(
        matches!(inv.outcome, Outcome::TimedOut(_)),
        "{:?}",
        inv.outcome
    );
    let error = inv.error().unwrap();
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert!(
        error
            .error_message
            .contains("Task timed out after 3.00 seconds"),
        "{error:?}"
    );
    assert!(labels.log_text().contains("Task timed out"));
    // The next invocation gets a fresh process (the store answers again).
    let next = labels.invoke(&request).await.unwrap();
    assert!(next.cold_start && next.pid != inv.pid);
    let answer = expect_response(&next, &labels);
    assert_eq!(answer["ok"], false, "an unknown shipment: {answer}");
    assert_eq!(labels.containers_started().await, 2);
}

#[tokio::test]
async fn sigkill_after_the_wms_queue_took_an_order_then_a_fresh_process_loses_and_duplicates_nothing()
 {
    let e = E2e::new("e2e-sigkill", 1000.0).await;
    let seller = add_seller(&e.sim, "A1E2ESIGKILL", true);
    e.onboard(&seller, |_| {}).await;
    let ids = e.seed_past_orders(&seller, 30);
    let tap = Tap::start(&e.stack.endpoint).await.unwrap();
    let wms_queue = e
        .stack
        .resources
        .queue("WmsOrderQueue")
        .unwrap()
        .name
        .clone();
    let pull = Function::new(
        e.spec_with("OrderPullFunction", &e.overrides().aws_endpoint(&tap.url()))
            .await,
    );
    let fan = pull.invoke(&json!({"kind": "schedule"})).await.unwrap();
    expect_response(&fan, &pull);
    // The 11th order reaches the WMS queue (SQS answered), and the process
    // dies before the ledger records it as sent.
    let sent = Matcher::aws("AmazonSQS.SendMessage").body_contains(&wms_queue);
    let fired = tap.arm(sent.clone(), Moment::After, 10);
    let source = e.source("OrderPullFunction", "Jobs");
    let sqs = e.stack.sqs();
    let mut fired = Some(fired);
    let outcomes = std::sync::Mutex::new(Vec::new());
    source
        .trigger(&sqs, true)
        .run(5, |event| {
            let kill = fired.take().map(Kill::when);
            let pull = &pull;
            let outcomes = &outcomes;
            async move {
                let inv = pull
                    .invoke_with(
                        &event,
                        InvokeOptions {
                            kill,
                            timeout: None,
                        },
                    )
                    .await
                    .unwrap();
                outcomes.lock().unwrap().push(inv.outcome.clone());
                inv.into_result()
            }
        })
        .await
        .unwrap();
    let outcomes = outcomes.into_inner().unwrap();
    assert!(matches!(outcomes[0], Outcome::Killed), "{outcomes:?}");
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| matches!(o, Outcome::Response(_))),
        "{outcomes:?}\n{}",
        pull.log_text()
    );
    assert_eq!(
        pull.containers_started().await,
        2,
        "a fresh process after the kill"
    );

    // Every order reached the WMS exactly once: the killed process's last
    // send included, which the fresh one did not repeat.
    let got = counts(&e.drain_wms().await);
    assert_eq!(got.len(), ids.len(), "{got:?}");
    assert!(got.values().all(|n| *n == 1), "{got:?}");
    // The ledger: all sent but the one claim the killed run left, which a
    // later run takes over once stale (same deduplication id; the takeover
    // itself is tested in-process with the simulator's clock).
    let seller_id = SellerId::new(&seller.seller_id).unwrap();
    let mut sending = 0;
    for id in &ids {
        let entry = e
            .store
            .get_order(&seller_id, &AmazonOrderId::new(id).unwrap())
            .await
            .unwrap()
            .expect("a ledger entry");
        if entry.state == SendState::Sending {
            sending += 1;
        }
    }
    assert_eq!(sending, 1);
    assert_eq!(tap.count(&sent), ids.len(), "one send per order, no resend");
}

/// Issue 15 on the artifact: the notification function's real binary, fed
/// by its template trigger from the queue the simulator delivered to (in
/// moto, under the queue policy Amazon's delivery depends on).
#[tokio::test]
async fn an_order_change_notification_brings_the_order_through_the_real_bootstrap() {
    use std::sync::Arc;
    let e = E2e::new("e2e-notify", 1000.0).await;
    let seller = add_seller(&e.sim, "A1E2ENOTIFY", true);
    let settings = e.onboard(&seller, |_| {}).await;
    e.sim
        .control()
        .set_notification_sink(Arc::new(devstack::notify::SqsNotificationSink::new(
            e.stack.sqs(),
        )));
    e.sim
        .control()
        .set_notification_delivery(spapi_sim::NotificationDelivery {
            automatic: false,
            ..spapi_sim::NotificationDelivery::default()
        });
    // The operator's setup (the library `connector-admin notifications` runs).
    let mut env = e
        .stack
        .resources
        .function_environment(&e.stack.template, "NotificationsFunction")
        .expect("env");
    env.insert("SPAPI_ENDPOINT".into(), e.sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), e.sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), "1000".into());
    let config = notifications::config::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let (setup, _) = notifications::config::wire(
        &config,
        &e.stack.sdk,
        notifications::config::system_clock(),
        lambda_kit::metrics::Metrics::new("e2e", Arc::new(lambda_kit::metrics::MemorySink::new())),
    )
    .unwrap();
    let queue = e
        .stack
        .resources
        .queue("NotificationQueue")
        .unwrap()
        .clone();
    notifications::subscriptions::ensure_destination(
        &setup.api,
        setup.state.as_ref(),
        settings.region,
        &queue.arn,
        "connector-e2e",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    notifications::subscriptions::subscribe_seller(
        &setup.api,
        setup.state.as_ref(),
        &settings,
        false,
        chrono::Utc::now(),
    )
    .await
    .unwrap();

    // Orders placed now (a notification published long ago is coalesced
    // into a pull instead: the handler would be behind).
    let ids = e
        .sim
        .control()
        .seed_orders(
            &seller.seller_id,
            (1..=2)
                .map(|n| tests::sim::test_order(n, tests::sim::DE))
                .collect(),
        )
        .unwrap();
    assert_eq!(e.sim.control().deliver_notifications().await, 2);
    // And one message that is not a notification.
    e.stack
        .sqs()
        .send_message()
        .queue_url(&queue.url)
        .message_body("{\"not\": \"a notification\"}")
        .send()
        .await
        .unwrap();
    let function = e.function("NotificationsFunction").await;
    let runs = e
        .run_queue(
            &function,
            &e.source("NotificationsFunction", "Notifications"),
            5,
            false,
        )
        .await;
    assert!(!runs.is_empty());
    for r in &runs {
        expect_response(r, &function);
    }
    let wms = e.drain_wms().await;
    let got = counts(&wms);
    for id in &ids {
        assert_eq!(
            got.get(&("order.created".to_string(), format!("MG{id}"))),
            Some(&1),
            "{id} reached the WMS once from its notification: {got:?}\n{}",
            function.log_text()
        );
    }
    let dlq = e
        .stack
        .resources
        .queue("NotificationDeadLetterQueue")
        .unwrap()
        .url
        .clone();
    let dead = e.drain(&dlq).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0].1.to_string().contains("NotificationVersion"),
        "the reason names the missing field: {:?}",
        dead[0].1
    );
    // The function's log: JSON lines, one batch summary each, no buyer data.
    let log = function.log_text();
    assert!(log.contains("notification batch done"), "{log}");
    assert!(!log.contains("Test Buyer") && !log.contains("Buyer Street"));
    // One getOrder per notification, no pull needed.
    assert_eq!(
        e.sim
            .control()
            .operation_metrics(&seller.seller_id, Operation::GetOrder)
            .calls,
        2
    );
    let _ = (
        AmazonOrderId::new(&ids[0]).unwrap(),
        SellerId::new(&seller.seller_id).unwrap(),
    );
}

#[tokio::test]
async fn a_label_bought_by_a_process_killed_before_it_recorded_it_is_answered_to_the_retry() {
    // Found by the soak: Amazon sold the label, the process died before it
    // stored the purchase; the WMS's retry (same idempotency key) quoted
    // again, and Amazon refused the quote (the order is shipped now), so
    // the WMS could never get the label it paid for.
    let e = E2e::new("e2e-label-kill", 10.0).await;
    let seller = add_seller_in(&e.sim, "A1E2ELABELKILL", &[UK], true);
    e.onboard(&seller, |_| {}).await;
    let id = e
        .sim
        .control()
        .seed_order(&seller.seller_id, tests::sim::test_order(1, UK))
        .unwrap();
    let sp = Tap::start(&e.sim.base_url()).await.unwrap();
    let overrides = e
        .overrides()
        .spapi(&sp.url(), &format!("{}/auth/o2/token", sp.url()), e.speed);
    let labels = Function::new(e.spec_with("LabelsFunction", &overrides).await);
    let request = function_url_request(
        "POST",
        "/",
        &[("content-type", "application/json")],
        Some(
            json!({
                "schema": 1, "operation": "one_click", "seller_id": seller.seller_id,
                "idempotency_key": "KILL-PKG-1",
                "shipment": {"order_number": format!("MG{id}"), "ship_from": warehouse(),
                    "packages": [package("KILL-PKG-1", "1.25", &[("SKU-1-A", 1)])]},
                "select": {"rule": "cheapest"}, "label": {"format": "PDF"}
            })
            .to_string()
            .as_bytes(),
        ),
    );
    // Killed the moment Amazon's purchase answer arrives; a short timeout so
    // the killed run's hold on the key ends soon.
    let bought = sp.arm(
        Matcher::path("/shipping/v2/shipments").body_contains("rateId"),
        Moment::After,
        0,
    );
    let killed = labels
        .invoke_with(
            &request,
            InvokeOptions {
                kill: Some(Kill::when(bought)),
                timeout: Some(Duration::from_secs(15)),
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(killed.outcome, Outcome::Killed),
        "{:?}",
        killed.outcome
    );
    assert_eq!(e.sim.control().label_purchases(&seller.seller_id), 1);
    let order = e.sim.control().order_json(&seller.seller_id, &id).unwrap();
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    let tracking = order["packages"][0]["trackingNumber"]
        .as_str()
        .unwrap()
        .to_string();

    // The WMS retries with the same key until the killed run's hold ends.
    let mut answer = None;
    for _ in 0..20 {
        let inv = tokio::time::timeout(LIMIT, labels.invoke(&request))
            .await
            .unwrap()
            .unwrap();
        let http = function_url_response(&expect_response(&inv, &labels));
        let body = http.json().unwrap();
        if http.status == 200 {
            answer = Some(body);
            break;
        }
        assert_eq!(
            body["error"]["code"], "IN_PROGRESS",
            "only the killed run's hold may delay it: {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let body = answer.expect("the label, once the killed run's hold ended");
    assert_eq!(
        body["label"]["packages"][0]["tracking_id"],
        tracking.as_str()
    );
    assert_eq!(
        e.sim.control().label_purchases(&seller.seller_id),
        1,
        "nothing bought twice"
    );
    // Replayed from the store from now on, and the shipment job knows the
    // package is Amazon's: a shipment message for it calls nobody.
    let again = labels.invoke(&request).await.unwrap();
    let again = function_url_response(&expect_response(&again, &labels))
        .json()
        .unwrap();
    assert_eq!(again["label"]["replayed"], true, "{again}");
    let message = shipment(
        &seller.seller_id,
        &format!("MG{id}"),
        "KILL-PKG-1",
        "AMZN_UK",
        None,
        &tracking,
        &[("SKU-1-A", 1)],
    );
    let shipments_url = &e.stack.resources.queue("ShipmentQueue").unwrap().url;
    e.stack
        .sqs()
        .send_message()
        .queue_url(shipments_url)
        .message_body(&message)
        .send()
        .await
        .unwrap();
    let ship = e.function("ShipmentConfirmFunction").await;
    let batches = e
        .run_queue(
            &ship,
            &e.source("ShipmentConfirmFunction", "Shipments"),
            3,
            false,
        )
        .await;
    let answer = expect_response(&batches[0], &ship);
    assert!(
        devstack::lambda_sqs::failed_ids(&answer).is_empty(),
        "{answer}"
    );
    assert_eq!(
        e.sim
            .control()
            .operation_metrics(&seller.seller_id, Operation::ConfirmShipment)
            .calls,
        0,
        "Amazon has the shipment from the label"
    );
}
