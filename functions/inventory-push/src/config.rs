//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients. `main.rs` reads the environment once and calls [`wire`]; the demo
//! and the tests build the same wiring from the template's resolved
//! environment, so what they run is what Lambda runs.

use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_kit::ConfigError;
use lambda_kit::function_config::{Common, required};
use lambda_kit::metrics::{Job, Metrics};
use store::Clock;

pub use lambda_kit::function_config::{DeadLetters, system_clock};

use crate::error::PushError;
use crate::ports::{HttpStockSource, SecretsStockEndpoint, SqsJobQueue, StockHttpOptions};
use crate::push::{PushOptions, Pusher};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The variables every function reads (table, app secret, stage, SP-API).
    pub common: Common,
    /// Name or ARN of the WMS stock endpoint secret (`{"url", "token"}`).
    pub wms_stock_secret: String,
    pub job_queue_url: String,
    pub job_dead_letter_queue_url: String,
    /// At most this many changes go through patchListingsItem (default 50).
    pub patch_threshold: usize,
    /// A feed not finished after this many minutes is alerted (default 120).
    pub feed_stuck_minutes: i64,
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
        let common = Common::from_lookup(&get)?;
        Ok(Self {
            common,
            wms_stock_secret: required(&get, "WMS_STOCK_SECRET")?,
            job_queue_url: required(&get, "INVENTORY_PUSH_JOB_QUEUE_URL")?,
            job_dead_letter_queue_url: required(&get, "INVENTORY_PUSH_JOB_DLQ_URL")?,
            patch_threshold: number(&get, "PATCH_THRESHOLD", 50usize, |n| *n <= 1000)?,
            feed_stuck_minutes: number(&get, "FEED_STUCK_MINUTES", 120i64, |n| *n > 0)?,
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
) -> Result<(Pusher, DeadLetters), PushError> {
    let clients = config.common.clients(sdk, clock.clone(), &metrics)?;
    // The stock endpoint's secret is read through the SP-API client's cache.
    let source = HttpStockSource::new(
        Arc::new(SecretsStockEndpoint {
            cache: clients.secrets.clone(),
            secret_name: config.wms_stock_secret.clone(),
        }),
        StockHttpOptions::default(),
    )
    .map_err(PushError::Stock)?;
    let store = clients.store.clone();
    let pusher = Pusher {
        api: clients.api.clone(),
        settings: store.clone(),
        stock: store.clone(),
        participations: store.clone(),
        checkpoints: store,
        source: Arc::new(source),
        jobs: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &config.job_queue_url)),
        clock,
        options: PushOptions {
            patch_threshold: config.patch_threshold,
            stuck_after: chrono::Duration::minutes(config.feed_stuck_minutes),
            ..PushOptions::default()
        },
        metrics: metrics.clone(),
    };
    let dead_letters = clients.dead_letters(
        &config.job_dead_letter_queue_url,
        metrics,
        Job::InventoryPush,
    );
    Ok((pusher, dead_letters))
}
