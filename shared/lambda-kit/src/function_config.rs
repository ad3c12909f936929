//! What every function's configuration and wiring share (each function's
//! `config.rs` keeps only its own variables and its own service):
//! - the variables every function reads ([`Common`]: `TABLE_NAME`,
//!   `LWA_APP_SECRET`, `STAGE`, and the local runs' `SPAPI_ENDPOINT`,
//!   `LWA_TOKEN_URL`, `SPAPI_TIME_SCALE`), and [`required`] for a function's
//!   own required variables;
//! - the clients a function builds once per container ([`Common::clients`]:
//!   the state table, Secrets Manager and its cache, the metered SP-API
//!   client, SQS), and its counted dead letters ([`Clients::dead_letters`]);
//! - the [`system_clock`] `main` runs on, and `main` itself ([`run`]: each
//!   `main.rs` names only its configuration, its wiring and its handler).
//!
//! The names, defaults and error messages are the template's contract
//! (template.yaml sets the variables; `ConfigError` says which one is wrong).

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use domain::Deadline;
use lambda_runtime::{LambdaEvent, service_fn};
use secrets::{SecretsCache, SecretsManager};
use serde_json::Value;
use spapi::{SpApi, SpApiError};
use store::{Clock, Store, SystemClock};

use crate::ConfigError;
use crate::batch::SqsDeadLetters;
use crate::error::{FunctionError, init_failed, report, runtime_failed};
use crate::metrics::{CountedDeadLetters, Job, Metrics};
use crate::spapi_env::{SpApiEnv, metered_client};

/// A variable that must be set (to anything, the empty text included).
pub fn required(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, ConfigError> {
    get(name).ok_or_else(|| ConfigError::Missing(name.to_string()))
}

/// The variables every function reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Common {
    /// `TABLE_NAME`: the state table.
    pub table: String,
    /// `LWA_APP_SECRET`: name or ARN of the LWA application secret.
    pub lwa_app_secret: String,
    /// `STAGE`: the deployment's stage (the metrics' `Stage` dimension).
    pub stage: String,
    /// Local runs only: the simulator's base URL, LWA token endpoint and time
    /// compression (unset in template.yaml: Amazon's hosts, real time).
    pub spapi: SpApiEnv,
}

impl Common {
    /// From environment-like lookups (`std::env::var` in `main`), in this
    /// order: `TABLE_NAME`, `LWA_APP_SECRET`, `STAGE`, the SP-API variables.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            table: required(get, "TABLE_NAME")?,
            lwa_app_secret: required(get, "LWA_APP_SECRET")?,
            stage: crate::metrics::stage_from_lookup(get)?,
            spapi: SpApiEnv::from_lookup(get)?,
        })
    }

    /// The state table, on `clock`.
    pub fn store(&self, sdk: &SdkConfig, clock: Arc<dyn Clock>) -> Store {
        Store::new(aws_sdk_dynamodb::Client::new(sdk), &self.table).with_clock(clock)
    }

    /// The clients a function builds once per container: the state table,
    /// Secrets Manager and its cache (the default TTL: a rotated secret
    /// reaches it at the first refusal), the SP-API client on that cache
    /// counting its calls in `metrics`, and SQS.
    pub fn clients(
        &self,
        sdk: &SdkConfig,
        clock: Arc<dyn Clock>,
        metrics: &Metrics,
    ) -> Result<Clients, SpApiError> {
        let store = self.store(sdk, clock);
        let secrets_manager = SecretsManager::new(aws_sdk_secretsmanager::Client::new(sdk));
        let secrets = SecretsCache::new(Arc::new(secrets_manager.clone()), secrets::DEFAULT_TTL);
        let api = metered_client(
            secrets.clone(),
            &store,
            &self.lwa_app_secret,
            self.spapi.client_config(),
            metrics,
        )?;
        Ok(Clients {
            store: Arc::new(store),
            secrets_manager,
            secrets,
            api,
            sqs: aws_sdk_sqs::Client::new(sdk),
        })
    }
}

/// What [`Common::clients`] builds.
#[derive(Clone)]
pub struct Clients {
    /// The state table (every store trait of the function).
    pub store: Arc<Store>,
    /// Secrets Manager itself (reads without the cache, writes).
    pub secrets_manager: SecretsManager,
    /// The cache the SP-API client reads its secrets through (shared: a
    /// clone is the same cache).
    pub secrets: SecretsCache,
    /// The SP-API client, metered.
    pub api: SpApi,
    pub sqs: aws_sdk_sqs::Client,
}

/// A job's dead-letter queue, each message counted in the metrics.
pub type DeadLetters = CountedDeadLetters<SqsDeadLetters>;

impl Clients {
    /// The dead-letter queue at `queue_url`, counted for `job`.
    pub fn dead_letters(&self, queue_url: &str, metrics: Metrics, job: Job) -> DeadLetters {
        CountedDeadLetters::new(
            SqsDeadLetters::new(self.sqs.clone(), queue_url),
            metrics,
            job,
        )
    }
}

/// An environment-like lookup over fixed pairs (tests, and anything that
/// builds a configuration from values it already holds).
pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

/// The system clock, for `main`.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A function's `main`: tracing, its configuration (`read`: `main` reads
/// the environment, libraries never do), the AWS SDK, metrics on stdout in
/// the configuration's stage and the function's `wire`, once per container
/// — a failure is Lambda's init error, logged with its type — then `handle`
/// for every invocation, with the invocation's deadline.
pub async fn run<C, S, E>(
    read: impl FnOnce() -> Result<C, ConfigError>,
    common: impl FnOnce(&C) -> &Common,
    wire: impl FnOnce(&C, &SdkConfig, Arc<dyn Clock>, Metrics) -> Result<S, E>,
    handle: impl AsyncFn(&S, Value, Deadline) -> Result<Value, FunctionError>,
) -> Result<(), FunctionError>
where
    E: std::fmt::Display,
{
    crate::init_tracing();
    let config = read().map_err(report)?;
    let sdk = crate::aws_config().await;
    let metrics = Metrics::stdout(common(&config).stage.clone());
    let service = wire(&config, &sdk, system_clock(), metrics).map_err(init_failed)?;
    let (service, handle) = (&service, &handle);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = crate::deadline(&event.context);
        handle(service, event.payload, deadline).await
    }))
    .await
    .map_err(runtime_failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_reads_the_same_common_variables() {
        let base = [
            ("TABLE_NAME", "t"),
            ("LWA_APP_SECRET", "s"),
            ("STAGE", "prod"),
        ];
        let c = Common::from_lookup(&lookup(&base)).unwrap();
        assert_eq!(c.table, "t");
        assert_eq!(c.lwa_app_secret, "s");
        assert_eq!(c.stage, "prod");
        assert_eq!(c.spapi.time_scale, 1.0);
        assert!(c.spapi.client_config().endpoint_override_all.is_none());
        for name in ["TABLE_NAME", "LWA_APP_SECRET", "STAGE"] {
            let mut missing = base.to_vec();
            missing.retain(|(k, _)| *k != name);
            let err = Common::from_lookup(&lookup(&missing)).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Missing(n) if n == name),
                "{err}"
            );
            assert!(err.to_string().contains("template.yaml"), "{err}");
        }
        let mut bad = base.to_vec();
        bad.push(("SPAPI_TIME_SCALE", "0"));
        let err = Common::from_lookup(&lookup(&bad)).unwrap_err();
        assert!(err.to_string().contains("SPAPI_TIME_SCALE"), "{err}");
    }

    #[test]
    fn required_takes_an_empty_value_and_names_a_missing_one() {
        let get = lookup(&[("A", "")]);
        assert_eq!(required(&get, "A").unwrap(), "");
        let err = required(&get, "B").unwrap_err();
        assert!(
            err.to_string()
                .contains("environment variable B is not set")
        );
    }
}
