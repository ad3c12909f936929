//! The SQS queues a function writes its own follow-up jobs to: one error
//! type, one way to tell a retryable SQS failure, and one way to send a
//! delayed JSON job (order-pull, inventory-push and shipment-confirm each
//! keep their own port trait; their adapters are built on this).

use std::time::Duration;

use serde::Serialize;

/// A queue that could not take a message: what was being done, why, and
/// whether trying again later may help.
#[derive(Debug, thiserror::Error)]
#[error("{action} failed: {message}")]
pub struct QueueError {
    pub action: &'static str,
    pub message: String,
    pub retryable: bool,
}

/// SQS's maximum `DelaySeconds`.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// An SQS failure as a [`QueueError`]: retryable unless SQS answered with a
/// 4xx (a refused request stays refused).
pub fn sqs_error<E: std::error::Error + 'static>(
    action: &'static str,
    e: aws_sdk_sqs::error::SdkError<E>,
) -> QueueError {
    use aws_sdk_sqs::error::SdkError;
    let retryable = match &e {
        SdkError::ServiceError(s) => s.raw().status().as_u16() >= 500,
        _ => true,
    };
    QueueError {
        action,
        message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        retryable,
    }
}

/// A job as its JSON body; `action` names the encoding in the error.
pub fn encode<T: Serialize>(action: &'static str, job: &T) -> Result<String, QueueError> {
    serde_json::to_string(job).map_err(|e| QueueError {
        action,
        message: e.to_string(),
        retryable: false,
    })
}

/// One SQS queue (by URL) a function sends plain or delayed messages to.
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Sends `body` visible after `delay` (at most [`MAX_DELAY`]); a failure
    /// is told as `action`.
    pub async fn send(
        &self,
        action: &'static str,
        body: String,
        delay: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .delay_seconds(delay.min(MAX_DELAY).as_secs() as i32)
            .message_body(body)
            .send()
            .await
            .map_err(|e| sqs_error(action, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoding_failure_is_permanent_and_says_what_was_encoded() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "a map with non-string keys is not JSON");
        let e = encode("encode a job", &map).unwrap_err();
        assert_eq!(e.action, "encode a job");
        assert!(!e.retryable);
        assert!(e.to_string().starts_with("encode a job failed: "), "{e}");
    }
}
