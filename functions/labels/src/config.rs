//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients. `main.rs` reads the environment once and calls [`wire`]; the demo
//! and the tests build the same wiring from the template's resolved
//! environment, so what they run is what Lambda runs.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use domain::TimeScale;
use lambda_kit::ConfigError;
use lambda_kit::function_config::Common;
use lambda_kit::metrics::Metrics;
use store::Clock;

pub use lambda_kit::function_config::system_clock;

use crate::service::{LabelOptions, LabelService, RATE_LIFETIME};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The variables every function reads (table, app secret, stage, SP-API).
    pub common: Common,
    /// Days label files (which print the buyer's address) are kept: 1 to 30.
    pub document_retention_days: u32,
}

impl Config {
    /// From environment-like lookups (`std::env::var` in `main`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let document_retention_days = match get("LABEL_DOCUMENT_RETENTION_DAYS") {
            None => 30,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=30).contains(d))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "LABEL_DOCUMENT_RETENTION_DAYS".into(),
                    message: "must be a whole number of days from 1 to 30 (Amazon's Data Protection Policy)".into(),
                })?,
        };
        Ok(Self {
            common: Common::from_lookup(&get)?,
            document_retention_days,
        })
    }

    /// Retention from the configuration; Amazon's 10-minute rate lifetime
    /// compressed like the simulator's clock in local runs.
    pub fn options(&self) -> LabelOptions {
        LabelOptions {
            document_retention: Duration::from_secs(
                u64::from(self.document_retention_days) * 24 * 3600,
            ),
            rate_lifetime: TimeScale::new(self.common.spapi.time_scale).duration(RATE_LIFETIME),
            ..LabelOptions::default()
        }
    }
}

/// The production wiring: one set of clients per container, counting in
/// `metrics` (stdout in `main`, memory in tests).
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<LabelService, spapi::SpApiError> {
    let clients = config.common.clients(sdk, clock.clone(), &metrics)?;
    let store = clients.store;
    Ok(LabelService {
        api: clients.api,
        settings: store.clone(),
        ledger: store.clone(),
        labels: store.clone(),
        shipments: store.clone(),
        idempotency: store,
        clock,
        options: config.options(),
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_kit::function_config::lookup;

    #[test]
    fn config_reads_the_templates_variables() {
        let c = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("LWA_APP_SECRET", "s"),
            ("STAGE", "test"),
            ("LABEL_DOCUMENT_RETENTION_DAYS", "14"),
        ]))
        .unwrap();
        assert_eq!(c.document_retention_days, 14);
        assert_eq!(c.options().rate_lifetime, RATE_LIFETIME);
        let err = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("LWA_APP_SECRET", "s"),
            ("LABEL_DOCUMENT_RETENTION_DAYS", "31"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().contains("LABEL_DOCUMENT_RETENTION_DAYS"),
            "{err}"
        );
        assert!(Config::from_lookup(lookup(&[("TABLE_NAME", "t")])).is_err());
        let local = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("LWA_APP_SECRET", "s"),
            ("STAGE", "test"),
            ("SPAPI_TIME_SCALE", "10"),
        ]))
        .unwrap();
        assert_eq!(local.options().rate_lifetime, Duration::from_secs(60));
    }
}
