//! The onboarding Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every Function URL request.

use lambda_kit::metrics::Metrics;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use onboarding::config::{Config, system_clock, wire};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::init_tracing();
    let config = Config::from_lookup(|name| std::env::var(name).ok())?;
    let sdk = lambda_kit::aws_config().await;
    let metrics = Metrics::stdout(config.stage.clone());
    let service = wire(&config, &sdk, system_clock(), metrics)?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = lambda_kit::deadline(&event.context);
        Ok::<Value, Error>(onboarding::handle(service, event.payload, deadline).await)
    }))
    .await
}
