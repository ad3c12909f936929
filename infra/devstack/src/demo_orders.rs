//! The demo's order pull: the order-pull function's real handler, wired from
//! its template.yaml environment (resolved against moto) plus the local
//! SP-API endpoint, invoked as EventBridge would (`{"kind": "schedule"}`),
//! its fan-out jobs delivered as Lambda's SQS trigger would, and the WMS order
//! queue read back. Prints order numbers, kinds and counts, never buyer data.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use domain::Deadline;
use order_pull::config::{Config, wire};
use serde_json::{Value, json};
use spapi_sim::{SimControl, SimHandle};
use store::Clock;
use wms::OrderMessage;

use crate::lambda_sqs::{Trigger, failed_ids};
use crate::{DevstackError, Provisioned, Template};

/// The simulator's clock, so the function's windows and the simulator's
/// two-minute rule agree in a time-compressed run.
pub struct SimClock(pub SimControl);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

/// One line of what reached the WMS.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub kind: String,
    pub order_number: String,
    pub lines: usize,
    pub units: u32,
    pub country: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct OrderPullReport {
    pub fan_out: Value,
    pub jobs_run: usize,
    pub delivered: Vec<Delivered>,
    /// (operation, calls) as the simulator counted them.
    pub api_calls: BTreeMap<String, u64>,
    pub throttled: u64,
}

/// The order-pull function's configuration for a local run.
pub fn order_pull_config(
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
) -> Result<Config, DevstackError> {
    let mut env = stack.function_environment(template, "OrderPullFunction")?;
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), sim.control().speed().to_string());
    Config::from_lookup(|k| env.get(k).cloned()).map_err(|e| DevstackError::Template(e.to_string()))
}

/// Runs the scheduled order pull for every onboarded seller.
pub async fn pull_orders(
    sdk: &SdkConfig,
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
) -> Result<OrderPullReport, DevstackError> {
    let config = order_pull_config(stack, template, sim)?;
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let metrics = crate::demo::quiet_metrics(&config.common.stage);
    let (puller, dead_letters) = wire(&config, sdk, clock, metrics)
        .map_err(|e| DevstackError::Moto(format!("wiring: {e}")))?;
    let mut report = OrderPullReport {
        fan_out: order_pull::handle(
            &puller,
            &dead_letters,
            json!({"kind": "schedule"}),
            Deadline::after(Duration::from_secs(300)),
        )
        .await
        .map_err(|e| DevstackError::Moto(format!("order pull: {e}")))?,
        ..OrderPullReport::default()
    };
    let sqs = aws_sdk_sqs::Client::new(sdk);
    // Lambda's SQS trigger, batch size 1, as in template.yaml.
    let job_queue = stack.queue("OrderPullJobQueue")?;
    let answers = Trigger {
        sqs: &sqs,
        queue_url: &config.job_queue_url,
        queue_arn: &job_queue.arn,
        batch_size: 1,
        redeliver_failed: false,
    }
    .run(101, |event| {
        let (puller, dead_letters) = (&puller, &dead_letters);
        async move {
            order_pull::handle(
                puller,
                dead_letters,
                event,
                Deadline::after(Duration::from_secs(300)),
            )
            .await
            .map_err(|e| format!("order-pull job: {e}"))
        }
    })
    .await?;
    report.jobs_run = answers.len();
    for answer in answers {
        let answer = answer.map_err(DevstackError::Moto)?;
        if !failed_ids(&answer).is_empty() {
            return Err(DevstackError::Moto(format!(
                "an order-pull job failed: {answer}"
            )));
        }
    }
    // What the WMS sees.
    report.delivered = read_wms(&sqs, &config.wms_order_queue_url).await?;
    for row in sim.control().metrics().operations {
        report.throttled += row.metrics.throttled;
        *report.api_calls.entry(row.operation).or_default() += row.metrics.calls;
    }
    Ok(report)
}

/// Reads (and deletes) everything on the WMS order queue, as lines.
pub async fn read_wms(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<Vec<Delivered>, DevstackError> {
    let mut delivered = Vec::new();
    for m in crate::drain::messages(sqs, url).await? {
        let body = m.body.unwrap_or_default();
        let message = OrderMessage::parse(&body)
            .map_err(|e| DevstackError::Moto(format!("the WMS got an invalid message: {e}")))?;
        delivered.push(match &message {
            OrderMessage::Created(c) => Delivered {
                kind: message.kind().to_string(),
                order_number: c.order_number.clone(),
                lines: c.lines.len(),
                units: c.lines.iter().map(|l| l.quantity).sum(),
                country: Some(c.ship_to.country_code.clone()),
            },
            OrderMessage::Cancelled(c) => Delivered {
                kind: message.kind().to_string(),
                order_number: c.order_number.clone(),
                lines: c.lines.len(),
                units: c.lines.iter().map(|l| l.quantity_cancelled).sum(),
                country: None,
            },
            OrderMessage::CancelRequested(c) => Delivered {
                kind: message.kind().to_string(),
                order_number: c.order_number.clone(),
                lines: c.lines.len(),
                units: c.lines.iter().map(|l| l.quantity).sum(),
                country: None,
            },
        });
    }
    Ok(delivered)
}
