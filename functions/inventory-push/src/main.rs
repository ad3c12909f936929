//! The inventory-push Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every invocation.

use inventory_push::config::{Config, system_clock, wire};
use lambda_kit::error::{FunctionError, init_failed, report, runtime_failed};
use lambda_kit::metrics::Metrics;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    lambda_kit::init_tracing();
    let config = Config::from_lookup(|name| std::env::var(name).ok()).map_err(report)?;
    let sdk = lambda_kit::aws_config().await;
    let metrics = Metrics::stdout(config.common.stage.clone());
    let (pusher, dead_letters) =
        wire(&config, &sdk, system_clock(), metrics).map_err(init_failed)?;
    let pusher = &pusher;
    let dead_letters = &dead_letters;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = lambda_kit::deadline(&event.context);
        inventory_push::handle(pusher, dead_letters, event.payload, deadline)
            .await
            .map_err(report)
    }))
    .await
    .map_err(runtime_failed)
}
