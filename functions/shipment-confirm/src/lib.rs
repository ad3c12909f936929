//! The shipment-confirmation Lambda: every package the WMS ships is
//! confirmed to Amazon once, however often its message arrives, and a
//! partial shipment confirms only its items (product.md, guarantees 2 and 4).
//!
//! Triggers (template.yaml): the shipment queue the WMS writes to (SQS,
//! partial batch responses) runs [`Confirmer::run_batch`]: each message is
//! checked against the contract (`wms::ShipmentMessage`), its seller, its
//! order in the ledger and what is still unshipped ([`plan`]), claimed once
//! per package in the store, and confirmed with `confirmShipment` — or, for
//! a seller with many packages in the batch, with one order-fulfilment feed
//! ([`feed`]) whose check runs from the feed-job queue. Refusals go to the
//! dead-letter queue with their reason; throttling and 5xx are left to SQS.
//!
//! Must not depend on other functions; reads no environment (see `main.rs`).

pub mod batch;
pub mod config;
pub mod confirm;
pub mod error;
pub mod feed;
pub mod plan;
pub mod ports;

use aws_lambda_events::event::sqs::SqsEvent;
use domain::Deadline;
use lambda_kit::batch::{RecordError, process};
use serde_json::Value;

pub use batch::BatchReport;
pub use confirm::{ConfirmOptions, Confirmer, Done};
pub use error::ShipmentError;
pub use feed::{FeedCheck, FeedJob, FeedPackage};

/// The function as wired: the confirmer and which queue is the feed-job
/// queue (its records are feed checks, all others shipment messages).
#[derive(Clone)]
pub struct Function {
    pub confirmer: Confirmer,
    /// The feed-job queue's name (the last part of its URL and ARN).
    pub feed_job_queue: String,
}

impl Function {
    fn is_feed_job(&self, arn: Option<&str>) -> bool {
        lambda_kit::batch::queue_name(arn).as_deref() == Some(self.feed_job_queue.as_str())
    }
}

/// The function's handler, for both of its SQS triggers.
pub async fn handle(
    function: &Function,
    event: Value,
    deadline: Deadline,
) -> Result<Value, HandlerError> {
    // The invocation's metrics are written when it ends, however it ends.
    let _metrics = function.confirmer.metrics.flush_on_drop();
    if event.get("Records").is_none() {
        return Err(HandlerError::Event(
            "expected an SQS event from the shipment queue or the feed-job queue".into(),
        ));
    }
    let event: SqsEvent = serde_json::from_value(event)
        .map_err(|e| HandlerError::Event(format!("not an SQS event: {e}")))?;
    let feed_jobs = event
        .records
        .first()
        .is_some_and(|r| function.is_feed_job(r.event_source_arn.as_deref()));
    let confirmer = &function.confirmer;
    let response = if feed_jobs {
        let report = process(
            event,
            false,
            confirmer.dead_letters.as_ref(),
            |_meta, job: FeedJob| async move {
                match confirmer.check_feed(&job, &deadline).await {
                    Ok(check) => {
                        tracing::info!(feed_id = %check.feed_id, status = %check.status, confirmed = check.confirmed, refused = check.refused, resent = check.resent, "feed checked");
                        Ok(())
                    }
                    Err(e) => Err(RecordError::from_error(&e, e.is_retryable())),
                }
            },
        )
        .await
        .map_err(HandlerError::AllFailed)?;
        report.response
    } else {
        confirmer
            .run_batch(&event.records, &deadline)
            .await
            .map_err(HandlerError::AllFailed)?
            .response
    };
    serde_json::to_value(&response).map_err(|e| HandlerError::Event(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid event: {0}")]
    Event(String),
    #[error("shipment messages failed: {0}")]
    AllFailed(lambda_kit::batch::AllFailed),
}

impl lambda_kit::error::ErrorType for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "InvalidEvent",
            HandlerError::AllFailed(e) => lambda_kit::error::ErrorType::error_type(e),
        }
    }
}
