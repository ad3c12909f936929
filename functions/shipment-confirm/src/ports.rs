//! The function's outside edges besides Amazon and the table, as narrow
//! traits with their SQS adapters: the feed-check job queue, and the
//! shipment queue itself (a package of a feed that failed as a whole goes
//! back through `confirmShipment`). The feed-job queue's message ([`FeedJob`])
//! lives here, with its queue, so that `feed` and `confirm` depend on the
//! ports and never the other way round.

use std::time::Duration;

use domain::{AmazonOrderId, SellerId};
use serde::{Deserialize, Serialize};

/// One package in a feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedPackage {
    pub order_id: AmazonOrderId,
    pub package_id: String,
    pub message_id: u32,
}

/// A message on the feed-job queue: look at a feed and settle its packages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedJob {
    pub seller_id: SellerId,
    pub feed_id: String,
    pub packages: Vec<FeedPackage>,
    /// Checks so far that found the feed still in processing.
    #[serde(default)]
    pub checks: u32,
}

/// The queue errors and the SQS queue (either port) are lambda-kit's.
pub use lambda_kit::queue::{MAX_DELAY, QueueError, SqsQueue};

/// Where feed checks wait for Amazon to process a feed.
#[async_trait::async_trait]
pub trait FeedJobQueue: Send + Sync {
    async fn enqueue(&self, job: &FeedJob, delay: Duration) -> Result<(), QueueError>;
}

/// The shipment queue (the WMS writes to it; the function re-sends a
/// message only when a feed failed as a whole).
#[async_trait::async_trait]
pub trait ShipmentQueue: Send + Sync {
    async fn resend(&self, body: &str) -> Result<(), QueueError>;
}

#[async_trait::async_trait]
impl FeedJobQueue for SqsQueue {
    async fn enqueue(&self, job: &FeedJob, delay: Duration) -> Result<(), QueueError> {
        let body = lambda_kit::queue::encode("encode a feed check", job)?;
        self.send("enqueue a feed check", body, delay).await
    }
}

#[async_trait::async_trait]
impl ShipmentQueue for SqsQueue {
    async fn resend(&self, body: &str) -> Result<(), QueueError> {
        self.send(
            "send a package back to the shipment queue",
            body.to_string(),
            Duration::ZERO,
        )
        .await
    }
}
