//! The shipment-confirmation function wired exactly as Lambda wires it (its
//! environment resolved from template.yaml against moto, plus the local
//! SP-API endpoint), on the simulator's clock, next to an order pull that
//! put real orders into the ledger first. Messages reach it as the WMS sends
//! them (the shipment queue in moto) or as a hand-made batch; the
//! dead-letter queue and the feed-job queue are read back from moto.

use devstack::lambda_sqs::{self, Record, Trigger};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use domain::{AmazonOrderId, Deadline, Operation, SellerId};
use lambda_kit::metrics::{MemorySink, Metrics};
use serde_json::{Value, json};
use shipment_confirm::Function;
use shipment_confirm::config::{Config, wire};
use spapi_sim::OperationMetrics;
use store::{Clock, OrderShipments, ShipmentRecords};

use crate::pull::{PullRig, SimClock};
use crate::sim::{TestSeller, add_seller, seed_orders};

/// A dead-lettered message: its body and the reason attribute.
#[derive(Clone, Debug)]
pub struct Dead {
    pub body: String,
    pub reason: String,
}

pub struct ShipRig {
    pub pull: PullRig,
    pub seller: TestSeller,
    pub config: Config,
    pub function: Function,
    /// The EMF documents the shipment function wrote (one flush per invocation).
    pub metrics: MemorySink,
    pub shipment_queue_arn: String,
    pub feed_job_queue_arn: String,
    /// Amazon order ids of the seeded orders 1..=n.
    pub order_ids: Vec<String>,
}

/// A shipment message as the WMS writes it (`lines`: SKU and quantity).
pub fn shipment(
    seller_id: &str,
    order_number: &str,
    package_id: &str,
    carrier: &str,
    service: Option<&str>,
    tracking: &str,
    lines: &[(&str, u32)],
) -> String {
    let mut m = json!({
        "schema": 1,
        "seller_id": seller_id,
        "order_number": order_number,
        "package_id": package_id,
        "carrier": carrier,
        "tracking_number": tracking,
        "ship_date": "2026-09-01T14:00:00Z",
    });
    if let Some(s) = service {
        m["service"] = json!(s);
    }
    if !lines.is_empty() {
        m["lines"] = json!(
            lines
                .iter()
                .map(|(sku, q)| json!({"sku": sku, "quantity": q}))
                .collect::<Vec<_>>()
        );
    }
    m.to_string()
}

impl ShipRig {
    /// A seller in DE (prefix `MG`) with test orders 1..=`orders` pulled into
    /// the ledger and the WMS queue, and the function wired from the template.
    pub async fn new(name: &str, seller_id: &str, orders: u32) -> Self {
        let pull = PullRig::new(name, 1000.0).await;
        let seller = add_seller(&pull.sim, seller_id, true);
        pull.onboard(&seller, |_| {}).await;
        let order_ids = if orders > 0 {
            seed_orders(&pull.sim, &seller, orders)
        } else {
            Vec::new()
        };
        pull.settle();
        let report = pull.pull(&seller, order_pull::Mode::Incremental).await;
        assert_eq!(report.sent, orders, "the pull sent every order: {report:?}");
        pull.drain_wms().await;
        Self::on(pull, seller, order_ids).await
    }

    /// The shipment function wired beside `pull` (same stack and simulator),
    /// for `seller`, whose orders the pull already handed to the WMS.
    pub async fn on(pull: PullRig, seller: TestSeller, order_ids: Vec<String>) -> Self {
        let mut env: BTreeMap<String, String> = pull
            .stack
            .resources
            .function_environment(&pull.stack.template, "ShipmentConfirmFunction")
            .expect("the function's environment from template.yaml");
        env.insert("SPAPI_ENDPOINT".into(), pull.sim.base_url());
        env.insert("LWA_TOKEN_URL".into(), pull.sim.lwa_token_url());
        env.insert("SPAPI_TIME_SCALE".into(), "1000".into());
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        let clock: Arc<dyn Clock> = Arc::new(SimClock(pull.sim.control().clone()));
        let metrics = MemorySink::new();
        let mut function = wire(
            &config,
            &pull.stack.sdk,
            clock,
            Metrics::new(config.common.stage.clone(), Arc::new(metrics.clone())),
        )
        .expect("wire");
        // Feed checks in tests run at once (production waits two minutes).
        function.confirmer.options.feed_check_delay = Duration::ZERO;
        let arn = |id: &str| {
            pull.stack
                .resources
                .queue(id)
                .expect("a queue of the template")
                .arn
                .clone()
        };
        Self {
            shipment_queue_arn: arn("ShipmentQueue"),
            feed_job_queue_arn: arn("ShipmentFeedJobQueue"),
            pull,
            seller,
            config,
            function,
            metrics,
            order_ids,
        }
    }

    pub fn seller_id(&self) -> SellerId {
        SellerId::new(&self.seller.seller_id).expect("seller id")
    }

    /// The WMS order number of test order `n`.
    pub fn number(&self, n: u32) -> String {
        format!("MG302-{n:07}-{n:07}")
    }

    pub fn order_id(&self, n: u32) -> String {
        format!("302-{n:07}-{n:07}")
    }

    /// A message for test order `n` from this rig's seller.
    pub fn message(&self, n: u32, package: &str, carrier: &str, lines: &[(&str, u32)]) -> String {
        shipment(
            &self.seller.seller_id,
            &self.number(n),
            package,
            carrier,
            None,
            &format!("TRACK-{package}"),
            lines,
        )
    }

    fn event(&self, arn: &str, bodies: &[(String, String)]) -> Value {
        let handles: Vec<String> = bodies.iter().map(|(id, _)| format!("rh-{id}")).collect();
        lambda_sqs::event(
            arn,
            bodies.iter().zip(&handles).map(|((id, body), rh)| Record {
                message_id: id,
                receipt_handle: rh,
                body,
            }),
        )
    }

    /// Invokes the handler with `bodies` as one batch from the shipment
    /// queue (message ids `m0`, `m1`...); the handler's answer or error.
    pub async fn batch(&self, bodies: &[String]) -> Result<Value, String> {
        let with_ids: Vec<(String, String)> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("m{i}"), b.clone()))
            .collect();
        let event = self.event(&self.shipment_queue_arn, &with_ids);
        shipment_confirm::handle(
            &self.function,
            event,
            Deadline::after(Duration::from_secs(120)),
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Message ids the batch answer reports failed (SQS redelivers them).
    pub fn failures(answer: &Value) -> Vec<String> {
        lambda_sqs::failed_ids(answer)
    }

    /// Sends `bodies` to the shipment queue, as the WMS does.
    pub async fn send(&self, bodies: &[String]) {
        let sqs = self.pull.stack.sqs();
        for body in bodies {
            sqs.send_message()
                .queue_url(&self.config.shipment_queue_url)
                .message_body(body)
                .send()
                .await
                .expect("send to the shipment queue");
        }
    }

    /// Lambda's SQS trigger on `url`: batches of up to 10, each message
    /// deleted unless the answer reports it failed (then it is visible again
    /// at once). Stops when a receive is empty or after `rounds`. Returns the
    /// answers.
    async fn trigger(&self, url: &str, arn: &str, rounds: usize) -> Vec<Result<Value, String>> {
        let sqs = self.pull.stack.sqs();
        Trigger {
            sqs: &sqs,
            queue_url: url,
            queue_arn: arn,
            batch_size: 10,
            redeliver_failed: true,
        }
        .run(rounds, |event| async move {
            shipment_confirm::handle(
                &self.function,
                event,
                Deadline::after(Duration::from_secs(120)),
            )
            .await
            .map_err(|e| e.to_string())
        })
        .await
        .expect("deliver the queue's messages")
    }

    /// Delivers the shipment queue's messages to the handler until it is empty.
    pub async fn deliver(&self) -> Vec<Result<Value, String>> {
        self.trigger(
            &self.config.shipment_queue_url,
            &self.shipment_queue_arn,
            20,
        )
        .await
    }

    /// Runs the feed checks waiting on the feed-job queue (`rounds` at most).
    pub async fn run_feed_jobs(&self, rounds: usize) -> Vec<Result<Value, String>> {
        self.trigger(
            &self.config.feed_job_queue_url,
            &self.feed_job_queue_arn,
            rounds,
        )
        .await
    }

    /// Reads (and deletes) the dead-letter queue.
    pub async fn dead_letters(&self) -> Vec<Dead> {
        crate::moto::drain_dead_letters(&self.pull.stack.sqs(), &self.config.dead_letter_queue_url)
            .await
            .into_iter()
            .map(|(body, reason)| Dead { body, reason })
            .collect()
    }

    /// Messages waiting on the shipment queue (approximate, as SQS counts).
    pub async fn queued(&self) -> usize {
        let out = self
            .pull
            .stack
            .sqs()
            .get_queue_attributes()
            .queue_url(&self.config.shipment_queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("queue attributes");
        out.attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    .cloned()
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Test order `n` as the simulator's getOrder shows it (all includedData).
    pub fn order(&self, n: u32) -> Value {
        self.pull
            .sim
            .control()
            .order_json(&self.seller.seller_id, &self.order_id(n))
            .expect("the simulated order")
    }

    /// `fulfillment.fulfillmentStatus` of test order `n`.
    pub fn status(&self, n: u32) -> String {
        self.order(n)["fulfillment"]["fulfillmentStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// What the simulator counted for one operation of this seller.
    pub fn calls(&self, op: Operation) -> OperationMetrics {
        self.pull
            .sim
            .control()
            .operation_metrics(&self.seller.seller_id, op)
    }

    /// The connector's record of test order `n`'s packages.
    pub async fn record(&self, n: u32) -> OrderShipments {
        self.pull
            .store
            .get_shipments(
                &self.seller_id(),
                &AmazonOrderId::new(self.order_id(n)).expect("order id"),
            )
            .await
            .expect("read the shipment record")
            .expect("a shipment record")
    }
}
