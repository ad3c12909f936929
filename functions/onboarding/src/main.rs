//! The onboarding Lambda's entry: configuration and clients once per
//! container, then the handler in `lib.rs` for every Function URL request
//! (which always answers with a page: failures are pages, not errors).

use lambda_kit::error::FunctionError;
use lambda_kit::function_config::run;
use onboarding::config::{Config, wire};

#[tokio::main]
async fn main() -> Result<(), FunctionError> {
    run(
        || Config::from_lookup(|name| std::env::var(name).ok()),
        |config| &config.common,
        wire,
        async |service, payload, deadline| Ok(onboarding::handle(service, payload, deadline).await),
    )
    .await
}
