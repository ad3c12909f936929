//! The function's configuration (template.yaml sets it) and the wiring of
//! its clients. `main.rs` reads the environment once and calls [`wire`]; the
//! tests and the benchmark build the same wiring, so what they run is what
//! Lambda runs.

use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_kit::ConfigError;
use lambda_kit::function_config::{Common, required};
use lambda_kit::metrics::{Job, Metrics};
use order_pull::ports::{SqsJobQueue, SqsOrderQueue};
use order_pull::{Handoff, HandoffOptions};
use store::Clock;

pub use lambda_kit::function_config::{DeadLetters, system_clock};

use crate::handler::{Notifier, NotifyOptions};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The variables every function reads (table, app secret, stage, SP-API).
    pub common: Common,
    /// The WMS order queue (FIFO), as the order pull sends to it.
    pub wms_order_queue_url: String,
    /// The order-pull job queue: coalesced pulls go there.
    pub order_pull_job_queue_url: String,
    /// Where messages that are not notifications go, with their reason.
    pub dead_letter_queue_url: String,
    /// `WMS_CANCEL_REQUESTS` (default true): send `order.cancel_requested`.
    pub cancel_requests: bool,
}

impl Config {
    /// From environment-like lookups (`std::env::var` in `main`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            common: Common::from_lookup(&get)?,
            wms_order_queue_url: required(&get, "WMS_ORDER_QUEUE_URL")?,
            order_pull_job_queue_url: required(&get, "ORDER_PULL_JOB_QUEUE_URL")?,
            dead_letter_queue_url: required(&get, "NOTIFICATION_DLQ_URL")?,
            cancel_requests: order_pull::config::cancel_requests_from_lookup(&get)?,
        })
    }
}

/// The production wiring: one set of clients per container, counting in
/// `metrics` (stdout in `main`, memory in tests).
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<(Notifier, DeadLetters), spapi::SpApiError> {
    let clients = config.common.clients(sdk, clock.clone(), &metrics)?;
    let (store, sqs) = (clients.store.clone(), clients.sqs.clone());
    let handoff = Handoff {
        ledger: store.clone(),
        notes: store.clone(),
        sink: Arc::new(SqsOrderQueue::new(sqs.clone(), &config.wms_order_queue_url)),
        clock: clock.clone(),
        metrics: metrics.clone(),
        options: HandoffOptions {
            cancel_requests: config.cancel_requests,
            ..HandoffOptions::default()
        },
        delay_job: Some(Job::Notifications),
    };
    let notifier = Notifier {
        api: clients.api.clone(),
        settings: store.clone(),
        state: store.clone(),
        participations: store,
        handoff,
        jobs: Arc::new(SqsJobQueue::new(
            sqs.clone(),
            &config.order_pull_job_queue_url,
        )),
        clock,
        metrics: metrics.clone(),
        options: NotifyOptions::default(),
    };
    let dead_letters =
        clients.dead_letters(&config.dead_letter_queue_url, metrics, Job::Notifications);
    Ok((notifier, dead_letters))
}
