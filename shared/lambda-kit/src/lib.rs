//! The small kit every Lambda binary uses: tracing set-up that follows
//! Lambda's log settings, the invocation [`deadline`], the AWS SDK config
//! (which honours `AWS_ENDPOINT_URL`, so moto needs no code change), and the
//! SQS partial-batch helper ([`batch`]), the production wiring of the
//! SP-API client's credentials ([`credentials`]), the EMF [`metrics`] every
//! function writes, the [`audit!`] line shape, the stable error types
//! Lambda reports ([`error`]), the seller's [`marketplaces`] (the
//! participations refresh behind "default all"), and what every function's
//! configuration and wiring share ([`function_config`]), and the SQS
//! queues a function sends its own jobs to ([`queue`]).
//!
//! Business rules do not belong here; this crate must not depend on any job.

pub mod app_secret;
pub mod batch;
pub mod credentials;
pub mod error;
pub mod function_config;
pub mod marketplaces;
pub mod metrics;
pub mod queue;
pub mod sdk_http;
pub mod spapi_env;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::Deadline;

#[doc(hidden)]
pub use tracing as __tracing;

/// One line of the audit trail (ARCHITECTURE.md, "Audit trail"): every
/// action that changes data or uses a seller's credentials logs its outcome
/// with the fields `audit` (the action, e.g. `"wms.order_created"`),
/// `outcome` (`success` at INFO, `failure` at WARN), `seller` where there
/// is one, then the action's own fields (ids and counts, never buyer data)
/// and a sentence:
///
/// ```
/// # let seller = "A1EXAMPLE";
/// lambda_kit::audit!(success, "label.cancel", seller = %seller, shipment_id = "s-1", "label cancelled");
/// lambda_kit::audit!(failure, "label.cancel", seller = %seller, error = "HTTP 400", "label not cancelled");
/// ```
///
/// (`spapi` and `store` cannot depend on this crate; their lines follow the
/// same shape by hand, and tests/it/audit.rs checks all of them.)
#[macro_export]
macro_rules! audit {
    (success, $action:expr, $($rest:tt)+) => {
        $crate::__tracing::info!(audit = $action, outcome = "success", $($rest)+)
    };
    (failure, $action:expr, $($rest:tt)+) => {
        $crate::__tracing::warn!(audit = $action, outcome = "failure", $($rest)+)
    };
}

/// Time kept back at the end of an invocation to write checkpoints and answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// Crates that may print request or response bodies (buyer data, tokens)
/// at DEBUG/TRACE: they never log below INFO, whatever level is configured.
pub const QUIET_TARGETS: [&str; 14] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sdk_sqs",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// Where the runtime logs a handler's error a second time, as its `Debug`
/// text without fields: [`error::report`] has already logged it with its type
/// (a panic still reaches the log through Rust's panic hook on stderr).
pub const RUNTIME_ERROR_TARGET: &str = "lambda_runtime::layers::panic";

/// The filter every function logs through: `level` (Lambda's level names,
/// case-insensitive; `FATAL` is `error`) for our code, at most INFO for
/// [`QUIET_TARGETS`], nothing from [`RUNTIME_ERROR_TARGET`].
pub fn log_filter(level: &str) -> tracing_subscriber::EnvFilter {
    let level = match level.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "warn" => "warn",
        "error" | "fatal" => "error",
        _ => "info",
    };
    let quiet = if matches!(level, "trace" | "debug") {
        "info"
    } else {
        level
    };
    let mut directives = vec![level.to_string()];
    directives.extend(QUIET_TARGETS.iter().map(|t| format!("{t}={quiet}")));
    directives.push(format!("{RUNTIME_ERROR_TARGET}=off"));
    tracing_subscriber::EnvFilter::new(directives.join(","))
}

/// Structured logs as Lambda is configured: JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, level from `AWS_LAMBDA_LOG_LEVEL` (or
/// `RUST_LOG`), through [`log_filter`] so no HTTP body is ever logged.
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter(&level))
        .with_target(false)
        .with_ansi(false)
        .without_time();
    if json {
        builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

/// The invocation's deadline minus [`DEADLINE_MARGIN`].
pub fn deadline(context: &lambda_runtime::Context) -> Deadline {
    deadline_from_epoch_ms(context.deadline, DEADLINE_MARGIN)
}

pub fn deadline_from_epoch_ms(deadline_ms: u64, margin: Duration) -> Deadline {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    Deadline::from_epoch_millis(deadline_ms, now_ms, margin)
}

/// The AWS SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL` for local runs against moto), with one HTTP client
/// shared by every SDK client built from it, prepared at its first request
/// ([`sdk_http`]).
pub async fn aws_config() -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match sdk_http::first_use_client(aws_config::BehaviorVersion::latest()) {
        Some(http) => loader.http_client(http),
        None => loader,
    }
    .load()
    .await
}

/// Reads a required environment variable in a function's `main` (never in a
/// library), with an error that says which one is missing.
pub fn required_env(name: &str) -> Result<String, ConfigError> {
    std::env::var(name).map_err(|_| ConfigError::Missing(name.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "environment variable {0} is not set: it is defined in template.yaml; set it for local runs"
    )]
    Missing(String),
    #[error("environment variable {name} is invalid: {message}")]
    Invalid { name: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_keeps_the_margin() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = deadline_from_epoch_ms(now_ms + 60_000, DEADLINE_MARGIN);
        let r = d.remaining();
        assert!(
            r <= Duration::from_secs(50) && r > Duration::from_secs(49),
            "{r:?}"
        );
        let mut ctx = lambda_runtime::Context::default();
        ctx.deadline = now_ms + 5_000;
        assert!(
            deadline(&ctx).is_past(),
            "5 s left minus a 10 s margin is already past"
        );
    }

    #[test]
    fn missing_env_names_the_variable() {
        let err = required_env("CONNECTOR_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(err.to_string().contains("CONNECTOR_SURELY_UNSET_VARIABLE"));
    }
}
