//! The onboarding Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every Function URL request
//! (which always answers with a page: failures are pages, not errors).

use lambda_kit::error::{FunctionError, init_failed, report, runtime_failed};
use lambda_kit::metrics::Metrics;
use lambda_runtime::{LambdaEvent, service_fn};
use onboarding::config::{Config, system_clock, wire};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    lambda_kit::init_tracing();
    let config = Config::from_lookup(|name| std::env::var(name).ok()).map_err(report)?;
    let sdk = lambda_kit::aws_config().await;
    let metrics = Metrics::stdout(config.common.stage.clone());
    let service = wire(&config, &sdk, system_clock(), metrics).map_err(init_failed)?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = lambda_kit::deadline(&event.context);
        Ok::<Value, FunctionError>(onboarding::handle(service, event.payload, deadline).await)
    }))
    .await
    .map_err(runtime_failed)
}
