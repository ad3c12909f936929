//! The function's configuration (template.yaml sets it) and the wiring of
//! its clients. `main.rs` reads the environment once and calls [`wire`]; the
//! tests and the benchmark build the same wiring, so what they run is what
//! Lambda runs.

use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_kit::ConfigError;
use lambda_kit::batch::SqsDeadLetters;
use lambda_kit::metrics::{CountedDeadLetters, Job, Metrics};
use order_pull::ports::{SqsJobQueue, SqsOrderQueue};
use order_pull::{Handoff, HandoffOptions};
use secrets::{SecretsCache, SecretsManager};
use spapi::ClientConfig;
use store::{Clock, Store, SystemClock};

use crate::handler::{Notifier, NotifyOptions};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub table: String,
    /// Name or ARN of the LWA application secret.
    pub lwa_app_secret: String,
    /// The WMS order queue (FIFO), as the order pull sends to it.
    pub wms_order_queue_url: String,
    /// The order-pull job queue: coalesced pulls go there.
    pub order_pull_job_queue_url: String,
    /// Where messages that are not notifications go, with their reason.
    pub dead_letter_queue_url: String,
    /// The deployment's stage (the metrics' `Stage` dimension).
    pub stage: String,
    /// `WMS_CANCEL_REQUESTS` (default true): send `order.cancel_requested`.
    pub cancel_requests: bool,
    /// Local runs only: one base URL for every SP-API region (the simulator).
    pub spapi_endpoint: Option<String>,
    /// Local runs only: the LWA token endpoint.
    pub lwa_token_url: Option<String>,
    /// Local runs only: the simulator's time compression (default 1).
    pub time_scale: f64,
}

impl Config {
    /// From environment-like lookups (`std::env::var` in `main`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| get(name).ok_or_else(|| ConfigError::Missing(name.to_string()));
        let spapi = lambda_kit::spapi_env::SpApiEnv::from_lookup(&get)?;
        Ok(Self {
            table: required("TABLE_NAME")?,
            lwa_app_secret: required("LWA_APP_SECRET")?,
            wms_order_queue_url: required("WMS_ORDER_QUEUE_URL")?,
            order_pull_job_queue_url: required("ORDER_PULL_JOB_QUEUE_URL")?,
            dead_letter_queue_url: required("NOTIFICATION_DLQ_URL")?,
            stage: lambda_kit::metrics::stage_from_lookup(&get)?,
            cancel_requests: order_pull::config::cancel_requests_from_lookup(&get)?,
            spapi_endpoint: spapi.endpoint,
            lwa_token_url: spapi.lwa_token_url,
            time_scale: spapi.time_scale,
        })
    }

    fn client_config(&self) -> ClientConfig {
        lambda_kit::spapi_env::client_config(
            &self.spapi_endpoint,
            &self.lwa_token_url,
            self.time_scale,
        )
    }
}

/// The notification queue's dead letters, counted in the metrics.
pub type DeadLetters = CountedDeadLetters<SqsDeadLetters>;

/// The production wiring: one set of clients per container, counting in
/// `metrics` (stdout in `main`, memory in tests).
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<(Notifier, DeadLetters), spapi::SpApiError> {
    let store =
        Store::new(aws_sdk_dynamodb::Client::new(sdk), &config.table).with_clock(clock.clone());
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let secrets = SecretsCache::new(
        Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(
            sdk,
        ))),
        secrets::DEFAULT_TTL,
    );
    let api = lambda_kit::spapi_env::metered_client(
        secrets,
        &store,
        &config.lwa_app_secret,
        config.client_config(),
        &metrics,
    )?;
    let store = Arc::new(store);
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
        api,
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
    let dead_letters = CountedDeadLetters::new(
        SqsDeadLetters::new(sqs, &config.dead_letter_queue_url),
        metrics,
        Job::Notifications,
    );
    Ok((notifier, dead_letters))
}

/// The system clock, for `main`.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
