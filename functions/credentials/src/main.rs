//! The credentials Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every invocation.

use credentials::config::{Config, wire};
use lambda_kit::error::{FunctionError, report};
use lambda_kit::function_config::run;

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    run(
        || Config::from_lookup(|name| std::env::var(name).ok()),
        |config| &config.common,
        wire,
        async |(keeper, dead_letters), payload, deadline| {
            credentials::handle(keeper, dead_letters, payload, deadline)
                .await
                .map_err(report)
        },
    )
    .await
}
