//! The shipment-confirmation Lambda's entry: configuration and clients once
//! per container, then the handler in `lib.rs` for every invocation.

use lambda_kit::error::{FunctionError, report};
use lambda_kit::function_config::run;
use shipment_confirm::config::{Config, wire};

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    run(
        || Config::from_lookup(|name| std::env::var(name).ok()),
        |config| &config.common,
        wire,
        async |function, payload, deadline| {
            shipment_confirm::handle(function, payload, deadline)
                .await
                .map_err(report)
        },
    )
    .await
}
