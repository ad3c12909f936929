//! The demo's notifications (issue 15): the operator's setup (destination,
//! the seller's subscription), then new orders and a buyer's cancellation
//! request raise ORDER_CHANGE notifications that the simulator delivers to
//! the notification queue in moto, and the notification function's real
//! handler — wired from its template.yaml environment — brings them to the
//! WMS queue at once, no scheduled pull involved. Prints order numbers and
//! counts, never buyer data.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use domain::{Deadline, Operation, SellerId};
use notifications::config::{Config, wire};
use spapi_sim::{NotificationDelivery, SimHandle};
use store::Clock;

use crate::demo::DEMO_SELLER;
use crate::demo_orders::{Delivered, SimClock, read_wms};
use crate::lambda_sqs::{Trigger, failed_ids};
use crate::notify::SqsNotificationSink;
use crate::{DevstackError, Provisioned, Template};

#[derive(Clone, Debug, Default)]
pub struct NotifyReport {
    pub destination: String,
    pub subscription: String,
    /// Notifications the simulator sent to the queue.
    pub notifications: usize,
    pub batches: usize,
    pub delivered: Vec<Delivered>,
    /// `getOrder` calls (one per notification), `searchOrders` calls (none).
    pub get_order_calls: u64,
}

fn fail(what: &str) -> impl Fn(String) -> DevstackError + '_ {
    move |e| DevstackError::Moto(format!("{what}: {e}"))
}

/// Sets notifications up for the demo seller, raises `orders` new orders
/// and a cancellation request on the first, and runs the handler.
pub async fn notify_orders(
    sdk: &SdkConfig,
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
    orders: u32,
) -> Result<NotifyReport, DevstackError> {
    let mut env = stack.function_environment(template, "NotificationsFunction")?;
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), sim.control().speed().to_string());
    let config = Config::from_lookup(|k| env.get(k).cloned())
        .map_err(|e| DevstackError::Template(e.to_string()))?;
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let (notifier, dead_letters) = wire(
        &config,
        sdk,
        clock.clone(),
        crate::demo::quiet_metrics(&config.common.stage),
    )
    .map_err(|e| DevstackError::Moto(format!("wiring: {e}")))?;
    let queue = stack.queue("NotificationQueue")?;
    let seller = SellerId::new(DEMO_SELLER).map_err(|e| DevstackError::Template(e.to_string()))?;
    let settings = notifier
        .settings
        .get_settings(&seller)
        .await
        .map_err(|e| fail("settings")(e.to_string()))?
        .ok_or_else(|| DevstackError::Moto("the demo seller is not onboarded".into()))?;
    // The operator's `connector-admin notifications setup` and `subscribe`.
    let destination = notifications::subscriptions::ensure_destination(
        &notifier.api,
        notifier.state.as_ref(),
        settings.region,
        &queue.arn,
        "connector-demo",
        clock.now(),
    )
    .await
    .map_err(|e| fail("destination")(e.to_string()))?;
    let subscription = notifications::subscriptions::subscribe_seller(
        &notifier.api,
        notifier.state.as_ref(),
        &settings,
        false,
        clock.now(),
    )
    .await
    .map_err(|e| fail("subscription")(e.to_string()))?;
    let c = sim.control();
    c.set_notification_sink(Arc::new(SqsNotificationSink::new(
        aws_sdk_sqs::Client::new(sdk),
    )));
    c.set_notification_delivery(NotificationDelivery {
        automatic: false,
        ..NotificationDelivery::default()
    });
    let before = c.operation_metrics(DEMO_SELLER, Operation::GetOrder).calls;
    let specs = (0..orders)
        .map(|n| spapi_sim::OrderSpec {
            order_id: Some(format!("305-{:07}-{:07}", n + 1, n + 1)),
            ..crate::demo::demo_order(1000 + n)
        })
        .collect();
    let ids = c
        .seed_orders(DEMO_SELLER, specs)
        .map_err(|e| fail("seed")(e.to_string()))?;
    let mut report = NotifyReport {
        destination: destination.destination_id,
        subscription: subscription.subscription_id,
        ..NotifyReport::default()
    };
    let sqs = aws_sdk_sqs::Client::new(sdk);
    for round in 0..2 {
        if round == 1 {
            // The buyer of the first asks to cancel: the warehouse hears at once.
            if let Some(first) = ids.first() {
                c.cancel(
                    DEMO_SELLER,
                    first,
                    spapi_sim::CancelSpec {
                        request_only: true,
                        reason: Some("Ordered by mistake".into()),
                        ..spapi_sim::CancelSpec::default()
                    },
                )
                .map_err(|e| fail("cancel request")(e.to_string()))?;
            }
        }
        report.notifications += c.deliver_notifications().await;
        let answers = Trigger {
            sqs: &sqs,
            queue_url: &queue.url,
            queue_arn: &queue.arn,
            batch_size: 10,
            redeliver_failed: false,
        }
        .run(20, |event| {
            let (notifier, dead_letters) = (&notifier, &dead_letters);
            async move {
                notifications::handle(
                    notifier,
                    dead_letters,
                    event,
                    Deadline::after(Duration::from_secs(60)),
                )
                .await
                .map_err(|e| format!("notification batch: {e}"))
            }
        })
        .await?;
        for answer in &answers {
            let answer = answer.clone().map_err(DevstackError::Moto)?;
            if !failed_ids(&answer).is_empty() {
                return Err(DevstackError::Moto(format!(
                    "a notification failed: {answer}"
                )));
            }
        }
        report.batches += answers.len();
        report
            .delivered
            .extend(read_wms(&sqs, &config.wms_order_queue_url).await?);
    }
    report.get_order_calls = c.operation_metrics(DEMO_SELLER, Operation::GetOrder).calls - before;
    Ok(report)
}
