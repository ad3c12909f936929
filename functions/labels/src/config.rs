//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients. `main.rs` reads the environment once and calls [`wire`]; the demo
//! and the tests build the same wiring from the template's resolved
//! environment, so what they run is what Lambda runs.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use domain::TimeScale;
use lambda_kit::ConfigError;
use lambda_kit::metrics::Metrics;
use secrets::{SecretsCache, SecretsManager};
use spapi::ClientConfig;
use store::{Clock, Store, SystemClock};

use crate::service::{LabelOptions, LabelService, RATE_LIFETIME};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub table: String,
    /// Name or ARN of the LWA application secret.
    pub lwa_app_secret: String,
    /// Days label files (which print the buyer's address) are kept: 1 to 30.
    pub document_retention_days: u32,
    /// The deployment's stage (the metrics' `Stage` dimension).
    pub stage: String,
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
            table: required("TABLE_NAME")?,
            lwa_app_secret: required("LWA_APP_SECRET")?,
            document_retention_days,
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

    /// Retention from the configuration; Amazon's 10-minute rate lifetime
    /// compressed like the simulator's clock in local runs.
    pub fn options(&self) -> LabelOptions {
        LabelOptions {
            document_retention: Duration::from_secs(
                u64::from(self.document_retention_days) * 24 * 3600,
            ),
            rate_lifetime: TimeScale::new(self.time_scale).duration(RATE_LIFETIME),
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
    let store =
        Store::new(aws_sdk_dynamodb::Client::new(sdk), &config.table).with_clock(clock.clone());
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
    Ok(LabelService {
        api,
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

/// The system clock, for `main`.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

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
