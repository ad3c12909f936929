//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients, shared by `main.rs` and the tests.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use domain::Region;
use lambda_kit::ConfigError;
use lambda_kit::batch::SqsDeadLetters;
use lambda_kit::metrics::Metrics;
use lambda_kit::spapi_env::SpApiEnv;
use secrets::{SecretsCache, SecretsManager};
use store::{Clock, Idempotency, Store, SystemClock};

use crate::keeper::{Keeper, KeeperOptions, ROTATION_NAMESPACE};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub table: String,
    pub lwa_app_secret: String,
    pub stage: String,
    /// `APP_NOTIFICATION_DLQ_URL`: where notifications that can never be
    /// applied go, with the reason.
    pub dead_letter_queue_url: String,
    pub options: KeeperOptions,
    pub spapi: SpApiEnv,
}

impl Config {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| get(name).ok_or_else(|| ConfigError::Missing(name.to_string()));
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
            table: required("TABLE_NAME")?,
            lwa_app_secret: required("LWA_APP_SECRET")?,
            stage: lambda_kit::metrics::stage_from_lookup(&get)?,
            dead_letter_queue_url: required("APP_NOTIFICATION_DLQ_URL")?,
            options: KeeperOptions {
                rotate_days_before_expiry: days("APP_SECRET_ROTATE_BEFORE_EXPIRY_DAYS", 90, 179)?,
                rotate_after_days: days("APP_SECRET_ROTATE_AFTER_DAYS", 150, 179)?,
                app_region,
            },
            spapi: SpApiEnv::from_lookup(&get)?,
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
    let store =
        Store::new(aws_sdk_dynamodb::Client::new(sdk), &config.table).with_clock(clock.clone());
    let sm = SecretsManager::new(aws_sdk_secretsmanager::Client::new(sdk));
    // The client's cache: a rotated secret reaches it at the first refusal.
    let cached = SecretsCache::new(Arc::new(sm.clone()), secrets::DEFAULT_TTL);
    let api = lambda_kit::spapi_env::metered_client(
        cached,
        &store,
        &config.lwa_app_secret,
        config.spapi.client_config(),
        &metrics,
    )?;
    let store = Arc::new(store);
    let keeper = Keeper {
        app_secret_name: config.lwa_app_secret.clone(),
        reader: SecretsCache::new(Arc::new(sm.clone()), Duration::ZERO),
        writer: Arc::new(sm),
        settings: store.clone(),
        idempotency: Idempotency::new(store, ROTATION_NAMESPACE).with_clock(clock.clone()),
        api,
        clock,
        metrics,
        options: config.options.clone(),
    };
    let dead_letters = SqsDeadLetters::new(
        aws_sdk_sqs::Client::new(sdk),
        config.dead_letter_queue_url.clone(),
    );
    Ok((keeper, dead_letters))
}

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
