//! `connector-admin`, the operator's tool for one deployment (a Stage): the
//! command tree ([`cli`]), one module per command group, each a clap
//! argument type and a `run` over the wired clients ([`context`]):
//! [`sellers`] (list with state; show, put, enable, disable), [`check`]
//! (call Amazon with a seller's token and say what failed), [`backfill`]
//! (re-pull a closed date range through the ledger), [`dlq`] (list, show and
//! replay dead letters, resumably), [`order`] (an order's history from the
//! table), [`feeds`] (recent feeds and their reports), [`skus`] (the SKU
//! reconciliation, run here or as the weekly job kept it), [`golive`]
//! (the go-live checklist: dry runs of the pull and the push, a test
//! label) and [`notifications`] (Amazon's ORDER_CHANGE: setup, subscribe,
//! status). One error type
//! with exit codes ([`error`]); output as sentences and tables, or JSON
//! ([`output`]). The binary is a thin `main.rs`; the tests run the same
//! [`cli::run`] in-process against moto and the simulator.
//!
//! It honours the functions' endpoint configuration (`AWS_ENDPOINT_URL`,
//! `SPAPI_ENDPOINT`, `LWA_TOKEN_URL`, `SPAPI_TIME_SCALE`), so it works
//! against the local stack exactly as against AWS and Amazon.
//!
//! Layering: infra → functions → shared. It uses the order-pull library for
//! the backfill and the orders dry run (the same eligibility, ledger, quotas
//! and WMS queue as the scheduled pull), the inventory-push library for the
//! SKU reconciliation and the stock dry run, and the label library for the
//! go-live test label, and the notifications library for setting
//! notifications up (the same code onboarding calls); it must not be used by
//! any function.

pub mod admin;
pub mod app;
pub mod backfill;
pub mod check;
pub mod cli;
pub mod context;
pub mod dlq;
pub mod error;
pub mod feeds;
pub mod golive;
pub mod invite;
pub mod notifications;
pub mod order;
pub mod output;
pub mod queues;
pub mod sellers;
pub mod skus;

pub use admin::{Admin, AdminError, Deployment};
pub use cli::{Cli, Command, run};
pub use context::Context;
pub use error::{CliError, Kind};
pub use output::Console;
