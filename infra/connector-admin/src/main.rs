//! `connector-admin`: parses the command line, wires the clients once from
//! this shell's environment (AWS credentials and region, `AWS_ENDPOINT_URL`,
//! `SPAPI_ENDPOINT`, `LWA_TOKEN_URL`, `SPAPI_TIME_SCALE`), runs the command
//! and exits with its code (`--help` lists them). Secrets are read from
//! standard input, never from arguments.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use connector_admin::{Cli, CliError, Console, Context, run};
use lambda_kit::spapi_env::SpApiEnv;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let console = Console::stdio(cli.json, std::io::stderr().is_terminal());
    match start(cli, &console).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            console.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

async fn start(cli: Cli, console: &Console) -> Result<(), CliError> {
    let env = SpApiEnv::from_lookup(&|k| std::env::var(k).ok())
        .map_err(|e| CliError::config(e.to_string()))?;
    let sdk = lambda_kit::aws_config().await;
    let ctx = Context::system(sdk, &cli.stage, &env)?;
    run(cli.command, &ctx, console).await
}

/// Warnings (throttles, retries) on standard error; `RUST_LOG` for more.
/// The HTTP and AWS crates stay at INFO at most, as in the functions; the
/// AWS config loader's probing (IMDS, profiles) only when it fails outright.
fn init_logs() {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    let mut filter = lambda_kit::log_filter(&level);
    if let Ok(quiet) = "aws_config=error".parse() {
        filter = filter.add_directive(quiet);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
}
