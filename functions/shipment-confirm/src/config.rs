//! The function's configuration (template.yaml sets it) and the wiring of
//! its clients. `main.rs` reads the environment once and calls [`wire`]; the
//! demo and the tests build the same wiring from the template's resolved
//! environment, so what they run is what Lambda runs.

use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_kit::ConfigError;
use lambda_kit::function_config::{Common, required};
use lambda_kit::metrics::{Job, Metrics};
use store::Clock;

pub use lambda_kit::function_config::system_clock;

use crate::Function;
use crate::confirm::{ConfirmOptions, Confirmer};
use crate::ports::SqsQueue;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The variables every function reads (table, app secret, stage, SP-API).
    pub common: Common,
    /// The queue the WMS sends shipment messages to.
    pub shipment_queue_url: String,
    /// Where refused messages go, with their reason.
    pub dead_letter_queue_url: String,
    /// Feed checks.
    pub feed_job_queue_url: String,
    /// Packages of one seller in one batch from which a feed is used.
    pub feed_threshold: usize,
}

impl Config {
    /// From environment-like lookups (`std::env::var` in `main`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let feed_threshold =
            match get("SHIPMENT_FEED_THRESHOLD") {
                None => ConfirmOptions::default().feed_threshold,
                Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ConfigError::Invalid {
                        name: "SHIPMENT_FEED_THRESHOLD".into(),
                        message: "must be a whole number ≥ 1 (packages of one seller in one batch)"
                            .into(),
                    }
                })?,
            };
        Ok(Self {
            common: Common::from_lookup(&get)?,
            shipment_queue_url: required(&get, "SHIPMENT_QUEUE_URL")?,
            dead_letter_queue_url: required(&get, "SHIPMENT_DLQ_URL")?,
            feed_job_queue_url: required(&get, "SHIPMENT_FEED_JOB_QUEUE_URL")?,
            feed_threshold,
        })
    }

    /// The confirmer's options: the template's threshold, the shipment
    /// queue's name, and the first feed check brought forward by the
    /// simulator's time compression (a local run's Amazon processes a feed
    /// that much sooner; 1 in production: 120 s).
    pub fn confirm_options(&self) -> ConfirmOptions {
        let defaults = ConfirmOptions::default();
        ConfirmOptions {
            feed_threshold: self.feed_threshold,
            shipment_queue: Some(queue_name(&self.shipment_queue_url)),
            feed_check_delay: defaults
                .feed_check_delay
                .div_f64(self.common.spapi.time_scale.max(1.0))
                .max(std::time::Duration::from_secs(1)),
            ..defaults
        }
    }
}

/// The last segment of a queue URL: its name.
pub fn queue_name(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The production wiring: one set of clients per container, counting in
/// `metrics` (stdout in `main`, memory in tests).
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<Function, spapi::SpApiError> {
    let clients = config.common.clients(sdk, clock.clone(), &metrics)?;
    let (store, sqs) = (clients.store.clone(), clients.sqs.clone());
    let confirmer = Confirmer {
        api: clients.api.clone(),
        settings: store.clone(),
        ledger: store.clone(),
        records: store,
        feed_jobs: Arc::new(SqsQueue::new(sqs.clone(), &config.feed_job_queue_url)),
        shipments: Arc::new(SqsQueue::new(sqs, &config.shipment_queue_url)),
        dead_letters: Arc::new(clients.dead_letters(
            &config.dead_letter_queue_url,
            metrics.clone(),
            Job::ShipmentConfirm,
        )),
        clock,
        options: config.confirm_options(),
        metrics,
    };
    Ok(Function {
        confirmer,
        feed_job_queue: queue_name(&config.feed_job_queue_url),
    })
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
            ("SHIPMENT_QUEUE_URL", "http://q/1/shipments".to_string()),
            ("SHIPMENT_DLQ_URL", "http://q/1/dlq".to_string()),
            (
                "SHIPMENT_FEED_JOB_QUEUE_URL",
                "http://q/1/feed-jobs".to_string(),
            ),
        ])
    }

    #[test]
    fn config_from_the_environment() {
        let e = env();
        let c = Config::from_lookup(|k| e.get(k).cloned()).unwrap();
        assert_eq!(c.feed_threshold, 25);
        assert_eq!(queue_name(&c.feed_job_queue_url), "feed-jobs");
        let mut e = env();
        e.insert("SHIPMENT_FEED_THRESHOLD", "0".into());
        let err = Config::from_lookup(|k| e.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("SHIPMENT_FEED_THRESHOLD"));
        let mut e = env();
        e.remove("SHIPMENT_DLQ_URL");
        let err = Config::from_lookup(|k| e.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("SHIPMENT_DLQ_URL"));
    }

    #[test]
    fn the_first_feed_check_follows_the_simulators_time() {
        let e = env();
        let c = Config::from_lookup(|k| e.get(k).cloned()).unwrap();
        let o = c.confirm_options();
        assert_eq!(o.feed_check_delay, std::time::Duration::from_secs(120));
        assert_eq!(o.shipment_queue.as_deref(), Some("shipments"));
        let mut e = env();
        e.insert("SPAPI_ENDPOINT", "http://127.0.0.1:1".into());
        e.insert("LWA_TOKEN_URL", "http://127.0.0.1:1/auth/o2/token".into());
        e.insert("SPAPI_TIME_SCALE", "60".into());
        let c = Config::from_lookup(|k| e.get(k).cloned()).unwrap();
        assert_eq!(
            c.confirm_options().feed_check_delay,
            std::time::Duration::from_secs(2)
        );
    }
}
