//! The inventory-push Lambda: each seller's WMS stock reaches its Amazon
//! listings as `fulfillment_availability` quantities — on hand or available,
//! minus the safety buffer, never below 0 — and only what changed, with a
//! full resync every N days so drift heals.
//!
//! Triggers (template.yaml): an hourly EventBridge schedule sends
//! `{"kind": "schedule"}` and the function enqueues one job per seller whose
//! push is due ([`push::Pusher::fan_out`]: the seller's `rate(...)` or `cron(...)`, else
//! daily after work hours); the job queue (SQS, batch size 1, partial batch
//! responses) runs each seller's push ([`push::Pusher::run`]);
//! `{"kind": "push", "seller_id": ...}` runs one seller directly.
//! The rules are in [`plan`] (pure); the flow, the feeds and their reports
//! in [`push`]; the WMS endpoint and the queue in [`ports`].
//!
//! The same fan-out enqueues each seller's weekly **SKU reconciliation**
//! (a job with `"task": "reconcile_skus"`, at 03:00 in the seller's time
//! zone): its Amazon listings against the WMS's SKUs ([`skus`], pure; the
//! run in [`reconcile`]), kept as a report with gauges per seller;
//! `{"kind": "reconcile_skus", "seller_id": ...}` runs one directly, and
//! the operator CLI's `skus reconcile` runs the same code.
//!
//! Must not depend on other functions; reads no environment (see `main.rs`).

pub mod config;
pub mod cron;
pub mod error;
pub mod plan;
pub mod ports;
pub mod preview;
pub mod push;
pub mod reconcile;
pub mod skus;

use aws_lambda_events::event::sqs::SqsEvent;
use domain::Deadline;
use lambda_kit::batch::{DeadLetterSink, RecordError, process};
use lambda_kit::error::ErrorType;
use serde::Deserialize;
use serde_json::Value;

pub use error::PushError;
pub use ports::{PushJob, PushTask};
pub use push::{FanoutReport, PushOptions, PushReport, Pusher};
pub use skus::SkuReport;

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Command {
    Schedule,
    Push { seller_id: String },
    ReconcileSkus { seller_id: String },
}

/// The function's handler, for any of its triggers.
pub async fn handle(
    pusher: &Pusher,
    dead_letters: &dyn DeadLetterSink,
    event: Value,
    deadline: Deadline,
) -> Result<Value, HandlerError> {
    // The invocation's metrics are written when it ends, however it ends.
    let _metrics = pusher.metrics.flush_on_drop();
    if event.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(event)
            .map_err(|e| HandlerError::Event(format!("not an SQS event: {e}")))?;
        let report = process(
            event,
            false,
            dead_letters,
            |_meta, job: PushJob| async move {
                let done = match job.task {
                    PushTask::Push => pusher.run(&job.seller_id, &deadline).await.map(|_| ()),
                    PushTask::ReconcileSkus => pusher
                        .reconcile_skus(&job.seller_id, &deadline, true)
                        .await
                        .map(|_| ()),
                };
                done.map_err(|e| RecordError::from_error(&e, e.is_retryable()))
            },
        )
        .await
        .map_err(HandlerError::AllFailed)?;
        return serde_json::to_value(&report.response)
            .map_err(|e| HandlerError::Event(e.to_string()));
    }
    let command: Command = serde_json::from_value(event).map_err(|e| {
        HandlerError::Event(format!("expected {{\"kind\": \"schedule\"}}, {{\"kind\": \"push\", \"seller_id\": ...}}, {{\"kind\": \"reconcile_skus\", \"seller_id\": ...}} or an SQS event: {e}"))
    })?;
    let value = match command {
        Command::Schedule => {
            serde_json::to_value(pusher.fan_out().await.map_err(HandlerError::Push)?)
        }
        Command::Push { seller_id } => serde_json::to_value(
            pusher
                .run(&seller_id, &deadline)
                .await
                .map_err(HandlerError::Push)?,
        ),
        Command::ReconcileSkus { seller_id } => serde_json::to_value(
            pusher
                .reconcile_skus(&seller_id, &deadline, true)
                .await
                .map_err(HandlerError::Push)?,
        ),
    };
    value.map_err(|e| HandlerError::Event(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid event: {0}")]
    Event(String),
    #[error("inventory-push jobs failed: {0}")]
    AllFailed(lambda_kit::batch::AllFailed),
    #[error(transparent)]
    Push(PushError),
}

impl ErrorType for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "InvalidEvent",
            HandlerError::AllFailed(e) => e.error_type(),
            HandlerError::Push(e) => e.error_type(),
        }
    }
}
