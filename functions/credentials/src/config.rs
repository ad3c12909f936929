//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients, shared by `main.rs` and the tests.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use domain::Region;
use lambda_kit::ConfigError;
use lambda_kit::batch::SqsDeadLetters;
use lambda_kit::function_config::{Common, required};
use lambda_kit::metrics::Metrics;
use secrets::SecretsCache;
use store::{Clock, Idempotency};

pub use lambda_kit::function_config::system_clock;

use crate::keeper::{Keeper, KeeperOptions, ROTATION_NAMESPACE};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The variables every function reads (table, app secret, stage, SP-API).
    pub common: Common,
    /// `APP_NOTIFICATION_DLQ_URL`: where notifications that can never be
    /// applied go, with the reason.
    pub dead_letter_queue_url: String,
    pub options: KeeperOptions,
}

impl Config {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let days = |name: &str, default: i64, max: i64| -> Result<i64, ConfigError> {
            match get(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=max).contains(d))
                    .ok_or_else(|| ConfigError::Invalid {
                        name: name.into(),
                        message: format!("must be a whole number of days from 1 to {max}"),
                    }),
            }
        };
        let app_region = match get("SPAPI_APP_REGION").filter(|v| !v.is_empty()) {
            None => Region::Na,
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name: "SPAPI_APP_REGION".into(),
                message: "must be NA, EU or FE".into(),
            })?,
        };
        Ok(Self {
            common: Common::from_lookup(&get)?,
            dead_letter_queue_url: required(&get, "APP_NOTIFICATION_DLQ_URL")?,
            options: KeeperOptions {
                rotate_days_before_expiry: days("APP_SECRET_ROTATE_BEFORE_EXPIRY_DAYS", 90, 179)?,
                rotate_after_days: days("APP_SECRET_ROTATE_AFTER_DAYS", 150, 179)?,
                app_region,
            },
        })
    }
}

/// The production wiring: one set of clients per container.
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<(Keeper, SqsDeadLetters), spapi::SpApiError> {
    let clients = config.common.clients(sdk, clock.clone(), &metrics)?;
    let sm = clients.secrets_manager;
    let keeper = Keeper {
        app_secret_name: config.common.lwa_app_secret.clone(),
        // Uncached: rotation reads the secret as it is now.
        reader: SecretsCache::new(Arc::new(sm.clone()), Duration::ZERO),
        writer: Arc::new(sm),
        settings: clients.store.clone(),
        idempotency: Idempotency::new(clients.store, ROTATION_NAMESPACE).with_clock(clock.clone()),
        api: clients.api,
        clock,
        metrics,
        options: config.options.clone(),
    };
    // Not counted in the metrics (no job dimension for the app credentials),
    // unlike the jobs' `function_config::DeadLetters`.
    let dead_letters = SqsDeadLetters::new(clients.sqs, config.dead_letter_queue_url.clone());
    Ok((keeper, dead_letters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_kit::function_config::lookup;

    #[test]
    fn config_reads_the_templates_variables() {
        let base = [
            ("TABLE_NAME", "t"),
            ("LWA_APP_SECRET", "s"),
            ("STAGE", "prod"),
            ("APP_NOTIFICATION_DLQ_URL", "http://q"),
        ];
        let c = Config::from_lookup(lookup(&base)).unwrap();
        assert_eq!(c.options, KeeperOptions::default());
        let mut more = base.to_vec();
        more.extend([
            ("SPAPI_APP_REGION", "EU"),
            ("APP_SECRET_ROTATE_AFTER_DAYS", "120"),
        ]);
        let c = Config::from_lookup(lookup(&more)).unwrap();
        assert_eq!(c.options.app_region, Region::Eu);
        assert_eq!(c.options.rotate_after_days, 120);
        let mut bad = base.to_vec();
        bad.push(("APP_SECRET_ROTATE_AFTER_DAYS", "200"));
        let err = Config::from_lookup(lookup(&bad)).unwrap_err();
        assert!(
            err.to_string().contains("APP_SECRET_ROTATE_AFTER_DAYS"),
            "{err}"
        );
    }
}
