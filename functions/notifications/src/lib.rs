//! The notification Lambda (issue 15): Amazon's `ORDER_CHANGE`
//! notifications arrive on an SQS standard queue within seconds of an
//! order's change; each is a hint to fetch the order and hand it to the WMS
//! through the order pull's own per-order step, so an order reaches the WMS
//! within a minute, exactly once, and the scheduled pull stays as the
//! backstop for what Amazon does not deliver.
//!
//! - [`handler`]: one SQS batch (partial batch responses): de-duplication by
//!   notification id, the fetch through the shared quota buckets, bursts
//!   coalesced into the seller's next incremental pull, ignored kinds
//!   counted, unreadable messages dead-lettered with the reason.
//! - [`subscriptions`]: the destination per region and each seller's
//!   subscription (the shared `subscriptions` crate, re-exported: the CLI's
//!   `connector-admin notifications ...` and onboarding use it) and each
//!   seller's status under the backstop policy.
//! - [`config`]: the function's configuration and its one wiring.
//!
//! Depends on the order pull's library for the per-order step and its job
//! queue (the lead's choice: one path, not a copy); reads no environment
//! outside `main.rs`.

pub mod config;
pub mod error;
pub mod handler;
pub mod subscriptions;

use aws_lambda_events::event::sqs::SqsEvent;
use domain::Deadline;
use lambda_kit::batch::DeadLetterSink;
use lambda_kit::error::ErrorType;
use serde_json::Value;

pub use error::NotifyError;
pub use handler::{BatchSummary, Handled, Notifier, NotifyOptions};

// Opens like the other functions' `handle` (metrics flushed on drop); events and work differ.
/// The function's handler: an SQS event from the notification queue.
pub async fn handle(
    notifier: &Notifier,
    dead_letters: &dyn DeadLetterSink,
    event: Value,
    deadline: Deadline,
) -> Result<Value, HandlerError> {
    // The invocation's metrics are written when it ends, however it ends.
    let _metrics = notifier.metrics.flush_on_drop();
    let event: SqsEvent = serde_json::from_value(event).map_err(|e| {
        HandlerError::Event(format!(
            "expected an SQS event from the notification queue: {e}"
        ))
    })?;
    let (report, _summary) = notifier
        .run_batch(event, dead_letters, &deadline)
        .await
        .map_err(HandlerError::AllFailed)?;
    serde_json::to_value(&report.response).map_err(|e| HandlerError::Event(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid event: {0}")]
    Event(String),
    #[error("notification batch failed: {0}")]
    AllFailed(lambda_kit::batch::AllFailed),
}

impl ErrorType for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "InvalidEvent",
            HandlerError::AllFailed(e) => e.error_type(),
        }
    }
}
