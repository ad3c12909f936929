//! Emptying a queue on the local stack: what the tests, the demo and the
//! soak read to check what a function sent — every message of a queue, or
//! a dead-letter queue's messages each with its reason.

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::Message;

use crate::DevstackError;

/// Lambda's attribute on a failed asynchronous invocation's message (the
/// soak's scheduled events), read when ours is absent.
const LAMBDA_ERROR_ATTRIBUTE: &str = "ErrorMessage";

/// Reads (and deletes) every message of the queue at `url`, with all its
/// message attributes, until a receive comes back empty.
pub async fn messages(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<Message>, DevstackError> {
    let failed = |action: &str, e: String| DevstackError::Aws {
        action: format!("{action} ({url})"),
        message: e,
    };
    let mut out = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| failed("receive from the queue", DisplayErrorContext(e).to_string()))?
            .messages
            .unwrap_or_default();
        if batch.is_empty() {
            return Ok(out);
        }
        for m in &batch {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .map_err(|e| {
                    failed(
                        "delete a received message",
                        DisplayErrorContext(e).to_string(),
                    )
                })?;
        }
        out.extend(batch);
    }
}

/// One message read from a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub body: String,
    /// Our `error_reason` attribute, else Lambda's `ErrorMessage`; `None`
    /// when the message carries neither (a defect the callers report).
    pub reason: Option<String>,
}

/// Reads (and deletes) every message of the dead-letter queue at `url`.
pub async fn dead_letters(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<Vec<DeadLetter>, DevstackError> {
    Ok(messages(sqs, url)
        .await?
        .into_iter()
        .map(|m| {
            let reason = m
                .message_attributes()
                .and_then(|a| {
                    a.get(lambda_kit::batch::REASON_ATTRIBUTE)
                        .or_else(|| a.get(LAMBDA_ERROR_ATTRIBUTE))
                })
                .and_then(|v| v.string_value())
                .map(str::to_string);
            DeadLetter {
                body: m.body.unwrap_or_default(),
                reason,
            }
        })
        .collect())
}
