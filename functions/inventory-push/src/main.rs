//! The inventory-push Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every invocation.

use inventory_push::config::{Config, wire};
use lambda_kit::error::{FunctionError, report};
use lambda_kit::function_config::run;

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    run(
        || Config::from_lookup(|name| std::env::var(name).ok()),
        |config| &config.common,
        wire,
        async |(pusher, dead_letters), payload, deadline| {
            inventory_push::handle(pusher, dead_letters, payload, deadline)
                .await
                .map_err(report)
        },
    )
    .await
}
