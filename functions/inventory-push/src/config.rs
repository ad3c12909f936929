//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients. `main.rs` reads the environment once and calls [`wire`]; the demo
//! and the tests build the same wiring from the template's resolved
//! environment, so what they run is what Lambda runs.

use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_kit::ConfigError;
use lambda_kit::batch::SqsDeadLetters;
use lambda_kit::metrics::{CountedDeadLetters, Job, Metrics};
use secrets::{SecretsCache, SecretsManager};
use spapi::ClientConfig;
use store::{Clock, Store, SystemClock};

use crate::error::PushError;
use crate::ports::{HttpStockSource, SecretsStockEndpoint, SqsJobQueue, StockHttpOptions};
use crate::push::{PushOptions, Pusher};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub table: String,
    /// Name or ARN of the LWA application secret.
    pub lwa_app_secret: String,
    /// Name or ARN of the WMS stock endpoint secret (`{"url", "token"}`).
    pub wms_stock_secret: String,
    pub job_queue_url: String,
    pub job_dead_letter_queue_url: String,
    /// At most this many changes go through patchListingsItem (default 50).
    pub patch_threshold: usize,
    /// A feed not finished after this many minutes is alerted (default 120).
    pub feed_stuck_minutes: i64,
    /// The deployment's stage (the metrics' `Stage` dimension).
    pub stage: String,
    pub spapi_endpoint: Option<String>,
    pub lwa_token_url: Option<String>,
    pub time_scale: f64,
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    ok: impl Fn(&T) -> bool,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => {
            v.trim()
                .parse::<T>()
                .ok()
                .filter(|x| ok(x))
                .ok_or_else(|| ConfigError::Invalid {
                    name: name.to_string(),
                    message: format!("{v:?} is not a valid value"),
                })
        }
    }
}

impl Config {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| get(name).ok_or_else(|| ConfigError::Missing(name.to_string()));
        let spapi = lambda_kit::spapi_env::SpApiEnv::from_lookup(&get)?;
        Ok(Self {
            table: required("TABLE_NAME")?,
            lwa_app_secret: required("LWA_APP_SECRET")?,
            wms_stock_secret: required("WMS_STOCK_SECRET")?,
            job_queue_url: required("INVENTORY_PUSH_JOB_QUEUE_URL")?,
            job_dead_letter_queue_url: required("INVENTORY_PUSH_JOB_DLQ_URL")?,
            patch_threshold: number(&get, "PATCH_THRESHOLD", 50usize, |n| *n <= 1000)?,
            feed_stuck_minutes: number(&get, "FEED_STUCK_MINUTES", 120i64, |n| *n > 0)?,
            stage: lambda_kit::metrics::stage_from_lookup(&get)?,
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

/// The job queue's dead letters, counted in the metrics.
pub type DeadLetters = CountedDeadLetters<SqsDeadLetters>;

/// The production wiring: one set of clients per container, counting in
/// `metrics` (stdout in `main`, memory in tests).
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<(Pusher, DeadLetters), PushError> {
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
        secrets.clone(),
        &store,
        &config.lwa_app_secret,
        config.client_config(),
        &metrics,
    )?;
    let source = HttpStockSource::new(
        Arc::new(SecretsStockEndpoint {
            cache: secrets,
            secret_name: config.wms_stock_secret.clone(),
        }),
        StockHttpOptions::default(),
    )
    .map_err(PushError::Stock)?;
    let store = Arc::new(store);
    let pusher = Pusher {
        api,
        settings: store.clone(),
        stock: store.clone(),
        participations: store.clone(),
        checkpoints: store,
        source: Arc::new(source),
        jobs: Arc::new(SqsJobQueue::new(sqs.clone(), &config.job_queue_url)),
        clock,
        options: PushOptions {
            patch_threshold: config.patch_threshold,
            stuck_after: chrono::Duration::minutes(config.feed_stuck_minutes),
            ..PushOptions::default()
        },
        metrics: metrics.clone(),
    };
    Ok((
        pusher,
        CountedDeadLetters::new(
            SqsDeadLetters::new(sqs, &config.job_dead_letter_queue_url),
            metrics,
            Job::InventoryPush,
        ),
    ))
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
