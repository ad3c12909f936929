//! The order-pull Lambda: every eligible MFN order of every seller reaches the
//! WMS order queue exactly once, and cancellations of orders already sent
//! follow as `order.cancelled`.
//!
//! Triggers (template.yaml): an EventBridge schedule sends
//! `{"kind": "schedule"}` and the function fans out one job per seller on the
//! job queue ([`fanout`]); the job queue (SQS, batch size 1, partial batch
//! responses) runs each seller's pull ([`pull`]), which continues a backlog in
//! follow-up jobs before its deadline. `{"kind": "pull", ...}` runs one seller
//! directly (operator, demo). Business rules (eligibility, mapping,
//! cancellations) are in the `orders` crate; this crate is the flow: windows,
//! checkpoints, the ledger claim, the queues. The per-order step
//! ([`handoff`]) is the one the notification handler (`functions/notifications`)
//! runs too, so an order is sent once whichever path sees it first.
//!
//! Must not depend on other functions; reads no environment (see `main.rs`).

pub mod backfill;
pub mod backstop;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod fanout;
pub mod handoff;
pub mod job;
pub mod ports;
pub mod preview;
pub mod pull;

use aws_lambda_events::event::sqs::SqsEvent;
use domain::Deadline;
use lambda_kit::batch::{DeadLetterSink, RecordError, process};
use lambda_kit::error::ErrorType;
use serde_json::Value;

pub use backfill::{BackfillReport, Progress, Totals};
pub use error::PullError;
pub use fanout::FanoutReport;
pub use handoff::{Handoff, HandoffOptions, Tally};
pub use job::{Command, Mode, Origin, PullJob};
pub use preview::{Preview, PreviewOrder, WouldDo};
pub use pull::{Outcome, PullOptions, PullReport, PullState, Puller, Window};

/// The function's handler, for any of its triggers.
pub async fn handle(
    puller: &Puller,
    dead_letters: &dyn DeadLetterSink,
    event: Value,
    deadline: Deadline,
) -> Result<Value, HandlerError> {
    // The invocation's metrics are written when it ends, however it ends.
    let _metrics = puller.metrics.flush_on_drop();
    if event.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(event)
            .map_err(|e| HandlerError::Event(format!("not an SQS event: {e}")))?;
        let report = process(event, false, dead_letters, |_meta, job: PullJob| {
            async move {
                match puller.run(&job, &deadline).await {
                    Ok(report) => {
                        tracing::info!(seller = %report.seller_id, outcome = ?report.outcome, sent = report.sent, "order-pull job finished");
                        Ok(())
                    }
                    Err(e) => Err(RecordError::from_error(&e, e.is_retryable())),
                }
            }
        })
        .await
        .map_err(HandlerError::AllFailed)?;
        return serde_json::to_value(&report.response)
            .map_err(|e| HandlerError::Event(e.to_string()));
    }
    let command: Command = serde_json::from_value(event).map_err(|e| {
        HandlerError::Event(format!(
            "expected {{\"kind\": \"schedule\"}}, {{\"kind\": \"pull\", \"seller_id\": ..., \"mode\": ...}} or an SQS event: {e}"
        ))
    })?;
    match command {
        Command::Schedule => {
            let report = puller.fan_out().await.map_err(HandlerError::Pull)?;
            serde_json::to_value(report).map_err(|e| HandlerError::Event(e.to_string()))
        }
        Command::Pull(job) => {
            let report = puller
                .run(&job, &deadline)
                .await
                .map_err(HandlerError::Pull)?;
            serde_json::to_value(report).map_err(|e| HandlerError::Event(e.to_string()))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid event: {0}")]
    Event(String),
    #[error("order-pull jobs failed: {0}")]
    AllFailed(lambda_kit::batch::AllFailed),
    #[error(transparent)]
    Pull(PullError),
}

impl ErrorType for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "InvalidEvent",
            HandlerError::AllFailed(e) => e.error_type(),
            HandlerError::Pull(e) => e.error_type(),
        }
    }
}
