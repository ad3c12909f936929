//! A local AWS Lambda for the end-to-end tests and the init bench: it runs a
//! function's real `bootstrap` binary (the cargo-built binary of
//! `functions/<name>`) the way Lambda does.
//!
//! - [`env`]: the process gets exactly the environment `template.yaml`
//!   gives the function (resolved for the local stack by devstack), plus what
//!   Lambda itself sets (`AWS_LAMBDA_RUNTIME_API`, function name, memory,
//!   version, region, credentials, log group and stream, `_HANDLER`,
//!   `LAMBDA_TASK_ROOT`...), and nothing from the caller's environment.
//! - [`function`]: one container at a time per [`Function`]: started on the
//!   first invocation (init = process start to its first `GET /next`), kept
//!   warm and frozen (`SIGSTOP`) between invocations, cut off at the
//!   template's timeout ("Task timed out", a fresh process next time),
//!   `SIGKILL`ed on cue ([`Kill`]: after a delay or when a future resolves),
//!   init failures (`/init/error`, or an exit before `/next`) reported with
//!   the process's last log lines.
//! - [`api`]: the Runtime API server each container talks to.
//! - [`events`]: events shaped as AWS shapes them (the schedule's input or
//!   an EventBridge scheduled event, SQS batches through devstack's event
//!   source, Function URL requests and responses).
//! - [`tap`]: an HTTP proxy put in front of moto or the simulator that
//!   signals "this call was just made / just answered" (and holds it), so a
//!   test can kill the process at that exact point.
//! - [`artifacts`]: builds the functions' binaries (debug for the tests,
//!   release for the bench) and finds them.
//!
//! Test and bench infrastructure only: production crates never depend on it.

pub mod api;
pub mod artifacts;
pub mod env;
pub mod events;
pub mod function;
pub mod tap;

pub use artifacts::{Binaries, BuildProfile};
pub use env::{FunctionSpec, LocalOverrides};
pub use function::{Function, InitFailure, Invocation, InvokeOptions, Kill, LogLine, Outcome};
pub use tap::{Matcher, Meter, Metered, Moment, Tap, TapConfig, TapFault};

use serde::{Deserialize, Serialize};

/// An error object as Lambda returns it (`errorType`, `errorMessage`,
/// optionally `stackTrace`): what a function posted to `/error` or
/// `/init/error`, or what Lambda itself reports (timeout, exit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionError {
    #[serde(rename = "errorType", default)]
    pub error_type: String,
    #[serde(rename = "errorMessage", default)]
    pub error_message: String,
    #[serde(
        rename = "stackTrace",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stack_trace: Option<Vec<String>>,
}

impl FunctionError {
    pub fn new(error_type: &str, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.to_string(),
            error_message: error_message.into(),
            stack_trace: None,
        }
    }

    /// The JSON object Lambda's Invoke API returns for this error.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The emulator's own failures (not the function's: those are [`Outcome`]s).
#[derive(Debug, thiserror::Error)]
pub enum EmuError {
    #[error("{0}")]
    Io(String),
    #[error("cannot start {binary}: {message}")]
    Spawn { binary: String, message: String },
    #[error("template.yaml: {0}")]
    Template(String),
    #[error("building the functions failed: {0}")]
    Build(String),
    #[error("devstack: {0}")]
    Devstack(#[from] devstack::DevstackError),
    #[error("SQS: {0}")]
    Sqs(String),
}
