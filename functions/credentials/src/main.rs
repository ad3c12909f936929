//! The credentials Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every invocation.

use lambda_kit::metrics::Metrics;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use credentials::config::{Config, system_clock, wire};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::init_tracing();
    let config = Config::from_lookup(|name| std::env::var(name).ok())?;
    let sdk = lambda_kit::aws_config().await;
    let metrics = Metrics::stdout(config.stage.clone());
    let (keeper, dead_letters) = wire(&config, &sdk, system_clock(), metrics)?;
    let (keeper, dead_letters) = (&keeper, &dead_letters);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = lambda_kit::deadline(&event.context);
        credentials::handle(keeper, dead_letters, event.payload, deadline)
            .await
            .map_err(Error::from)
    }))
    .await
}
