//! The local stack: a moto server ([`moto`]), the template's tables, queues and
//! secrets created in it from `template.yaml` itself ([`template`],
//! [`provision`]) so local runs and tests use the deployed definitions, not a
//! second hand-kept list. The `demo` binary (the README's first command) runs
//! the main job against it and the SP-API simulator.
//!
//! Test and demo infrastructure only: production crates never depend on it.

pub mod bench_notify;
pub mod demo;
pub mod demo_inventory;
pub mod demo_labels;
pub mod demo_notifications;
pub mod demo_onboarding;
pub mod demo_orders;
pub mod demo_shipments;
pub mod drain;
pub mod lambda_sqs;
pub mod moto;
pub mod notify;
pub mod provision;
pub mod template;

pub use moto::{MotoCommand, MotoServer, default_moto_command, local_sdk_config};
pub use provision::{Provisioned, QueueInfo, SecretInfo, provision};
pub use template::Template;

use std::path::PathBuf;

/// The workspace root (where `template.yaml` is).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `template.yaml` at the workspace root.
pub fn template_path() -> PathBuf {
    workspace_root().join("template.yaml")
}

#[derive(Debug, thiserror::Error)]
pub enum DevstackError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("template.yaml: {0}")]
    Template(String),
    #[error("template.yaml: intrinsic not supported locally: {0}")]
    Unsupported(String),
    #[error("template.yaml: nothing named {0} to resolve")]
    Unresolved(String),
    #[error("template.yaml has no resource {0} of the expected type")]
    UnknownResource(String),
    #[error("moto not found at {0}: run `bash infra/setup.sh` first (it installs moto into .venv)")]
    MotoMissing(String),
    #[error("moto: {0}")]
    Moto(String),
    #[error("{action} failed: {message}")]
    Aws { action: String, message: String },
}
