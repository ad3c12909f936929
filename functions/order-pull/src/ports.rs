//! The function's outside edges as narrow traits, with their SQS adapters:
//! the WMS order queue and the order-pull job queue.

use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue;
use lambda_kit::queue::{encode, sqs_error};

use crate::job::PullJob;

pub use lambda_kit::queue::{MAX_DELAY, QueueError};

// Like shipment-confirm's `Incoming` (borrowed parts of a message), but bound for the WMS queue.
/// One message for the WMS order queue.
#[derive(Clone, Debug)]
pub struct Outgoing<'a> {
    /// Deduplication id (deterministic per event: kind + order).
    pub message_id: &'a str,
    /// Ordering group: the seller.
    pub group: &'a str,
    /// `order.created` / `order.cancelled`.
    pub kind: &'a str,
    pub body: &'a str,
}

/// Where orders go: the WMS order queue.
#[async_trait::async_trait]
pub trait OrderSink: Send + Sync {
    async fn send(&self, message: Outgoing<'_>) -> Result<(), QueueError>;
}

/// Where follow-up jobs go: the order-pull job queue.
#[async_trait::async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, job: &PullJob, delay: Duration) -> Result<(), QueueError>;
}

/// The WMS order queue (FIFO): group = seller, deduplication id = the
/// message id; `kind` as a message attribute so consumers can route.
pub struct SqsOrderQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsOrderQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait::async_trait]
impl OrderSink for SqsOrderQueue {
    async fn send(&self, m: Outgoing<'_>) -> Result<(), QueueError> {
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(m.kind)
            .build()
            .map_err(|e| QueueError {
                action: "build the kind attribute",
                message: e.to_string(),
                retryable: false,
            })?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_group_id(m.group)
            .message_deduplication_id(m.message_id)
            .message_attributes("kind", kind)
            .message_body(m.body)
            .send()
            .await
            .map_err(|e| sqs_error("send to the WMS order queue", e))?;
        Ok(())
    }
}

/// The job queue (standard; SQS allows at most 15 minutes of delay).
pub use lambda_kit::queue::SqsQueue as SqsJobQueue;

#[async_trait::async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, job: &PullJob, delay: Duration) -> Result<(), QueueError> {
        let body = encode("encode a job", job)?;
        self.send("enqueue an order-pull job", body, delay).await
    }
}
