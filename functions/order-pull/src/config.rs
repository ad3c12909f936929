//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients. `main.rs` reads the environment once and calls [`wire`]; the demo
//! and the tests build the same wiring from the template's resolved
//! environment, so what they run is what Lambda runs.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use lambda_kit::ConfigError;
use lambda_kit::function_config::{Common, required};
use lambda_kit::metrics::{Job, Metrics};
use store::Clock;

pub use lambda_kit::function_config::{DeadLetters, system_clock};

use crate::backstop::BackstopPolicy;
use crate::ports::{SqsJobQueue, SqsOrderQueue};
use crate::pull::{PullOptions, Puller};
use chrono::TimeDelta;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The variables every function reads (table, app secret, stage, SP-API).
    pub common: Common,
    pub wms_order_queue_url: String,
    pub job_queue_url: String,
    pub job_dead_letter_queue_url: String,
    /// `WMS_CANCEL_REQUESTS` (default true): send `order.cancel_requested`.
    pub cancel_requests: bool,
    /// `BACKSTOP_HEALTHY_MINUTES` (15 to 45, default 30): how often a seller
    /// whose notifications are healthy is pulled anyway.
    pub backstop_healthy_minutes: u32,
    /// `ORDER_PULL_CLAIM_STALE_SECONDS` (unset in template.yaml: 600): a
    /// `SENDING` claim older than this is taken over. The soak shortens it,
    /// with its compressed invocations, to see takeovers within its run.
    pub claim_stale_after: Duration,
}

impl Config {
    /// From environment-like lookups (`std::env::var` in `main`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let claim_stale_after = match get("ORDER_PULL_CLAIM_STALE_SECONDS") {
            None => PullOptions::default().claim_stale_after,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| *s >= 1)
                .map(Duration::from_secs)
                .ok_or_else(|| ConfigError::Invalid {
                    name: "ORDER_PULL_CLAIM_STALE_SECONDS".into(),
                    message: "must be a whole number of seconds ≥ 1".into(),
                })?,
        };
        Ok(Self {
            common: Common::from_lookup(&get)?,
            wms_order_queue_url: required(&get, "WMS_ORDER_QUEUE_URL")?,
            job_queue_url: required(&get, "ORDER_PULL_JOB_QUEUE_URL")?,
            job_dead_letter_queue_url: required(&get, "ORDER_PULL_JOB_DLQ_URL")?,
            cancel_requests: cancel_requests_from_lookup(&get)?,
            backstop_healthy_minutes: backstop_minutes_from_lookup(&get)?,
            claim_stale_after,
        })
    }
}

/// `WMS_CANCEL_REQUESTS`: `true` (the default) or `false`.
pub fn cancel_requests_from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<bool, ConfigError> {
    match get("WMS_CANCEL_REQUESTS").as_deref().map(str::trim) {
        None | Some("") | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            name: "WMS_CANCEL_REQUESTS".into(),
            message: "must be true or false (the template's WmsCancelRequests)".into(),
        }),
    }
}

/// `BACKSTOP_HEALTHY_MINUTES`: 15 to 45 (default 30), so the order-pull age
/// stays under the stale alarm's default hour.
fn backstop_minutes_from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    let Some(text) = get("BACKSTOP_HEALTHY_MINUTES") else {
        return Ok(30);
    };
    match text.trim().parse::<u32>() {
        Ok(m) if (15..=45).contains(&m) => Ok(m),
        _ => Err(ConfigError::Invalid {
            name: "BACKSTOP_HEALTHY_MINUTES".into(),
            message: "must be a whole number of minutes from 15 to 45 (the template's BackstopHealthyMinutes)".into(),
        }),
    }
}

/// The production wiring: one set of clients per container, counting in
/// `metrics` (stdout in `main`, memory in tests).
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<(Puller, DeadLetters), spapi::SpApiError> {
    let clients = config.common.clients(sdk, clock.clone(), &metrics)?;
    let (store, sqs) = (clients.store.clone(), clients.sqs.clone());
    let puller = Puller {
        api: clients.api.clone(),
        settings: store.clone(),
        ledger: store.clone(),
        participations: store.clone(),
        checkpoints: store.clone(),
        notes: store.clone(),
        notify: store,
        sink: Arc::new(SqsOrderQueue::new(sqs.clone(), &config.wms_order_queue_url)),
        jobs: Arc::new(SqsJobQueue::new(sqs.clone(), &config.job_queue_url)),
        clock,
        options: PullOptions {
            cancel_requests: config.cancel_requests,
            backstop: BackstopPolicy {
                healthy_interval: TimeDelta::minutes(config.backstop_healthy_minutes.into()),
                ..BackstopPolicy::default()
            },
            claim_stale_after: config.claim_stale_after,
            ..PullOptions::default()
        },
        metrics: metrics.clone(),
    };
    let dead_letters =
        clients.dead_letters(&config.job_dead_letter_queue_url, metrics, Job::OrderPull);
    Ok((puller, dead_letters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, String> {
        HashMap::from([
            ("TABLE_NAME", "t".to_string()),
            ("LWA_APP_SECRET", "s".to_string()),
            ("STAGE", "test".to_string()),
            ("WMS_ORDER_QUEUE_URL", "http://q/1/wms.fifo".to_string()),
            ("ORDER_PULL_JOB_QUEUE_URL", "http://q/1/jobs".to_string()),
            ("ORDER_PULL_JOB_DLQ_URL", "http://q/1/dlq".to_string()),
        ])
    }

    #[test]
    fn a_claim_is_stale_after_ten_minutes_unless_told_otherwise() {
        let e = env();
        let c = Config::from_lookup(|k| e.get(k).cloned()).unwrap();
        assert_eq!(c.claim_stale_after, Duration::from_secs(600));
        let mut e = env();
        e.insert("ORDER_PULL_CLAIM_STALE_SECONDS", "45".into());
        let c = Config::from_lookup(|k| e.get(k).cloned()).unwrap();
        assert_eq!(c.claim_stale_after, Duration::from_secs(45));
        for bad in ["0", "-1", "ten"] {
            e.insert("ORDER_PULL_CLAIM_STALE_SECONDS", bad.into());
            let err = Config::from_lookup(|k| e.get(k).cloned()).unwrap_err();
            assert!(err.to_string().contains("ORDER_PULL_CLAIM_STALE_SECONDS"));
        }
    }
}
