//! The notification function wired exactly as Lambda wires it (environment
//! resolved from template.yaml against moto), beside the order pull of a
//! [`PullRig`] on the same stack, simulator and WMS queue: the simulator
//! delivers `ORDER_CHANGE` to the notification queue in moto (its policy
//! checked as Amazon's delivery checks it), and [`NotifyRig::deliver`] runs
//! the function on what is there as Lambda's SQS trigger would.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use devstack::lambda_sqs::Trigger;
use domain::Deadline;
use domain::settings::SellerSettings;
use lambda_kit::metrics::{MemorySink, Metrics};
use notifications::config::{Config, DeadLetters, wire};
use notifications::subscriptions::{
    DestinationOutcome, SubscribeOutcome, ensure_destination, subscribe_seller,
};
use notifications::{BatchSummary, Notifier};
use order_pull::PullJob;
use order_pull::ports::{JobQueue, QueueError};
use serde_json::Value;
use spapi_sim::NotificationDelivery;
use store::Clock;

use crate::pull::{PullRig, SimClock};
use crate::sim::TestSeller;

/// A job queue that drops the delay.
struct Undelayed(Arc<dyn JobQueue>);

#[async_trait::async_trait]
impl JobQueue for Undelayed {
    async fn enqueue(&self, job: &PullJob, _delay: Duration) -> Result<(), QueueError> {
        self.0.enqueue(job, Duration::ZERO).await
    }
}

/// A [`PullRig`] plus the notification function.
pub struct NotifyRig {
    pub pull: PullRig,
    pub config: Config,
    pub notifier: Notifier,
    pub dead_letters: DeadLetters,
    /// The notification function's EMF documents.
    pub metrics: MemorySink,
    pub queue_url: String,
    pub queue_arn: String,
    pub dlq_url: String,
}

impl NotifyRig {
    pub async fn new(name: &str, speed: f64) -> Self {
        let pull = PullRig::new(name, speed).await;
        let mut env: BTreeMap<String, String> = pull
            .stack
            .resources
            .function_environment(&pull.stack.template, "NotificationsFunction")
            .expect("the function's environment from template.yaml");
        env.insert("SPAPI_ENDPOINT".into(), pull.sim.base_url());
        env.insert("LWA_TOKEN_URL".into(), pull.sim.lwa_token_url());
        env.insert("SPAPI_TIME_SCALE".into(), speed.to_string());
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        let clock: Arc<dyn Clock> = Arc::new(SimClock(pull.sim.control().clone()));
        let metrics = MemorySink::new();
        let (mut notifier, dead_letters) = wire(
            &config,
            &pull.stack.sdk,
            clock,
            Metrics::new(config.common.stage.clone(), Arc::new(metrics.clone())),
        )
        .expect("wire");
        // Both paths hand orders to the same counting WMS sink.
        notifier.handoff.sink = pull.counting.clone();
        // Coalesced pulls are enqueued without their delay (real seconds in
        // moto): the tests move the simulator's clock past Amazon's two
        // minutes before they run the jobs.
        notifier.jobs = Arc::new(Undelayed(notifier.jobs.clone()));
        let queue = pull
            .stack
            .resources
            .queue("NotificationQueue")
            .expect("the template defines NotificationQueue")
            .clone();
        let dlq_url = pull
            .stack
            .resources
            .queue("NotificationDeadLetterQueue")
            .expect("the template defines NotificationDeadLetterQueue")
            .url
            .clone();
        pull.sim.control().set_notification_sink(Arc::new(
            devstack::notify::SqsNotificationSink::new(pull.stack.sqs()),
        ));
        // Tests deliver by hand (deliver()), in due order.
        pull.sim
            .control()
            .set_notification_delivery(NotificationDelivery {
                automatic: false,
                min_delay: Duration::ZERO,
                max_delay: Duration::ZERO,
                ..NotificationDelivery::default()
            });
        Self {
            pull,
            config,
            notifier,
            dead_letters,
            metrics,
            queue_url: queue.url,
            queue_arn: queue.arn,
            dlq_url,
        }
    }

    /// `connector-admin notifications setup`'s step for the seller's region.
    pub async fn destination(&self, settings: &SellerSettings) -> DestinationOutcome {
        ensure_destination(
            &self.notifier.api,
            self.notifier.state.as_ref(),
            settings.region,
            &self.queue_arn,
            &format!("connector-{}", self.pull.stack.stage),
            self.notifier.clock.now(),
        )
        .await
        .expect("the destination")
    }

    /// Onboards `seller` (as [`PullRig::onboard`]), sets the destination
    /// up and subscribes it.
    pub async fn onboard_subscribed(
        &self,
        seller: &TestSeller,
        tweak: impl FnOnce(&mut SellerSettings),
    ) -> SellerSettings {
        let settings = self.pull.onboard(seller, tweak).await;
        self.destination(&settings).await;
        self.subscribe(&settings).await;
        settings
    }

    pub async fn subscribe(&self, settings: &SellerSettings) -> SubscribeOutcome {
        subscribe_seller(
            &self.notifier.api,
            self.notifier.state.as_ref(),
            settings,
            false,
            self.notifier.clock.now(),
        )
        .await
        .expect("the subscription")
    }

    /// Sends what the simulator queued, then runs the function over the
    /// notification queue (batches of 10, as the trigger) until it is empty.
    pub async fn deliver(&self) -> Vec<Result<Value, String>> {
        self.pull.sim.control().deliver_notifications().await;
        self.run_queue().await
    }

    /// Runs the function over what is on the notification queue now.
    pub async fn run_queue(&self) -> Vec<Result<Value, String>> {
        let sqs = self.pull.stack.sqs();
        Trigger {
            sqs: &sqs,
            queue_url: &self.queue_url,
            queue_arn: &self.queue_arn,
            batch_size: 10,
            redeliver_failed: false,
        }
        .run(50, |event| async move {
            notifications::handle(
                &self.notifier,
                &self.dead_letters,
                event,
                Deadline::after(Duration::from_secs(60)),
            )
            .await
            .map_err(|e| e.to_string())
        })
        .await
        .expect("deliver the notifications")
    }

    /// One batch built by hand (bodies as Amazon would send them), straight
    /// to the handler: the summary and the partial-batch answer.
    pub async fn handle_bodies(&self, bodies: &[String]) -> (BatchSummary, Value) {
        let ids: Vec<String> = (0..bodies.len()).map(|i| format!("m-{i}")).collect();
        let records: Vec<devstack::lambda_sqs::Record<'_>> = bodies
            .iter()
            .zip(&ids)
            .map(|(b, id)| devstack::lambda_sqs::Record {
                message_id: id,
                receipt_handle: "r",
                body: b,
            })
            .collect();
        let event = devstack::lambda_sqs::event(&self.queue_arn, records);
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(event).expect("an SQS event");
        let (report, summary) = self
            .notifier
            .run_batch(
                event,
                &self.dead_letters,
                &Deadline::after(Duration::from_secs(60)),
            )
            .await
            .expect("the batch");
        self.notifier.metrics.flush();
        (
            summary,
            serde_json::to_value(&report.response).expect("json"),
        )
    }

    /// Everything on the notification DLQ (read and deleted): bodies and
    /// their `error_reason`.
    pub async fn drain_dlq(&self) -> Vec<(String, String)> {
        let sqs = self.pull.stack.sqs();
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&self.dlq_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive from the DLQ");
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let reason = m
                    .message_attributes
                    .as_ref()
                    .and_then(|a| a.get("error_reason"))
                    .and_then(|v| v.string_value.clone())
                    .unwrap_or_default();
                out.push((m.body.clone().unwrap_or_default(), reason));
                sqs.delete_message()
                    .queue_url(&self.dlq_url)
                    .receipt_handle(m.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    /// How many messages wait on the order-pull job queue (coalesced pulls).
    pub async fn job_count(&self) -> usize {
        let sqs = self.pull.stack.sqs();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&self.pull.config.job_queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed,
            )
            .send()
            .await
            .expect("the job queue's attributes")
            .attributes
            .unwrap_or_default();
        attributes
            .values()
            .filter_map(|v| v.parse::<usize>().ok())
            .sum()
    }
}
