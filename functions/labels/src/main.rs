//! The label Lambda's entry: configuration and clients once per container,
//! then the handler in `lib.rs` for every invocation (Function URL or direct).

use labels::config::{Config, wire};
use lambda_kit::error::FunctionError;
use lambda_kit::function_config::run;

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    run(
        || Config::from_lookup(|name| std::env::var(name).ok()),
        |config| &config.common,
        wire,
        async |service, payload, deadline| Ok(labels::handle(service, payload, deadline).await),
    )
    .await
}
