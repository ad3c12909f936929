//! The shipment-confirmation Lambda's entry: configuration and clients once
//! per container, then the handler in `lib.rs` for every invocation.

use lambda_kit::error::{FunctionError, init_failed, report, runtime_failed};
use lambda_kit::metrics::Metrics;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shipment_confirm::config::{Config, system_clock, wire};

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    lambda_kit::init_tracing();
    let config = Config::from_lookup(|name| std::env::var(name).ok()).map_err(report)?;
    let sdk = lambda_kit::aws_config().await;
    let metrics = Metrics::stdout(config.common.stage.clone());
    let function = wire(&config, &sdk, system_clock(), metrics).map_err(init_failed)?;
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = lambda_kit::deadline(&event.context);
        shipment_confirm::handle(function, event.payload, deadline)
            .await
            .map_err(report)
    }))
    .await
    .map_err(runtime_failed)
}
