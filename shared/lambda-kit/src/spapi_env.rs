//! The SP-API part every function shares: its configuration (production
//! endpoints by default; the simulator's base URL, LWA URL and time scale in
//! local runs) and the production client wiring (credentials from Secrets
//! Manager, the seller directory and the quota buckets in the state table;
//! the functions' client also counts its calls in their [`Metrics`]).

use std::sync::Arc;

use secrets::SecretsCache;
use spapi::observe::NoObserver;
use spapi::{CallObserver, ClientConfig, SpApi, SpApiError};
use store::{DynamoBuckets, Store};

use crate::ConfigError;
use crate::credentials::{SecretsCredentials, SettingsDirectory};
use crate::metrics::Metrics;

/// `SPAPI_ENDPOINT`, `LWA_TOKEN_URL` and `SPAPI_TIME_SCALE` (local runs only;
/// unset in template.yaml, so a deploy talks to Amazon).
#[derive(Clone, Debug, PartialEq)]
pub struct SpApiEnv {
    /// One base URL for every SP-API region (the simulator).
    pub endpoint: Option<String>,
    /// The LWA token endpoint.
    pub lwa_token_url: Option<String>,
    /// The simulator's time compression (1 = real time).
    pub time_scale: f64,
}

impl SpApiEnv {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let time_scale = match get("SPAPI_TIME_SCALE") {
            None => 1.0,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 1.0)
                .ok_or_else(|| ConfigError::Invalid {
                    name: "SPAPI_TIME_SCALE".into(),
                    message: "must be a number ≥ 1".into(),
                })?,
        };
        Ok(Self {
            endpoint: get("SPAPI_ENDPOINT"),
            lwa_token_url: get("LWA_TOKEN_URL"),
            time_scale,
        })
    }

    /// Amazon's hosts unless both local URLs are set.
    pub fn client_config(&self) -> ClientConfig {
        client_config(&self.endpoint, &self.lwa_token_url, self.time_scale)
    }
}

/// Amazon's hosts unless both local URLs are given.
pub fn client_config(
    endpoint: &Option<String>,
    lwa_token_url: &Option<String>,
    time_scale: f64,
) -> ClientConfig {
    match (endpoint, lwa_token_url) {
        (Some(base), Some(lwa)) => ClientConfig::local(base, lwa, time_scale),
        _ => ClientConfig::default(),
    }
}

/// The production SP-API client: the application's LWA credentials from the
/// secret `app_secret`, each seller's refresh token from the secret its
/// settings name (a revoked one is recorded in the settings), quota buckets
/// shared through the state table.
pub fn production_client(
    secrets: SecretsCache,
    store: &Store,
    app_secret: &str,
    client: ClientConfig,
) -> Result<SpApi, SpApiError> {
    observed_client(secrets, store, app_secret, client, Arc::new(NoObserver))
}

/// [`production_client`] counting its calls in `metrics` (requests, 429s,
/// retries and final errors per operation; LWA `invalid_grant` per seller):
/// the functions' client.
pub fn metered_client(
    secrets: SecretsCache,
    store: &Store,
    app_secret: &str,
    client: ClientConfig,
    metrics: &Metrics,
) -> Result<SpApi, SpApiError> {
    observed_client(
        secrets,
        store,
        app_secret,
        client,
        Arc::new(metrics.clone()),
    )
}

fn observed_client(
    secrets: SecretsCache,
    store: &Store,
    app_secret: &str,
    client: ClientConfig,
    observer: Arc<dyn CallObserver>,
) -> Result<SpApi, SpApiError> {
    let directory = Arc::new(SettingsDirectory::new(Arc::new(store.clone())));
    let credentials = Arc::new(SecretsCredentials::new(secrets, app_secret, directory));
    SpApi::with_observer(
        client,
        credentials,
        Arc::new(DynamoBuckets::new(store.clone())),
        observer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn local_urls_only_when_both_are_set_and_the_scale_is_checked() {
        let env = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            SpApiEnv::from_lookup(&move |k| map.get(k).cloned())
        };
        let prod = env(&[]).unwrap();
        assert_eq!(prod.time_scale, 1.0);
        assert!(prod.client_config().endpoint_override_all.is_none());
        let half = env(&[("SPAPI_ENDPOINT", "http://127.0.0.1:1")]).unwrap();
        assert!(half.client_config().endpoint_override_all.is_none());
        let local = env(&[
            ("SPAPI_ENDPOINT", "http://127.0.0.1:1"),
            ("LWA_TOKEN_URL", "http://127.0.0.1:1/auth/o2/token"),
            ("SPAPI_TIME_SCALE", "60"),
        ])
        .unwrap();
        assert_eq!(
            local.client_config().endpoint_override_all.as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert!(matches!(
            env(&[("SPAPI_TIME_SCALE", "0.5")]),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
