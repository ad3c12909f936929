//! The notification Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every invocation.

use lambda_kit::error::{FunctionError, report};
use lambda_kit::function_config::run;
use notifications::config::{Config, wire};

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    run(
        || Config::from_lookup(|name| std::env::var(name).ok()),
        |config| &config.common,
        wire,
        async |(notifier, dead_letters), payload, deadline| {
            notifications::handle(notifier, dead_letters, payload, deadline)
                .await
                .map_err(report)
        },
    )
    .await
}
