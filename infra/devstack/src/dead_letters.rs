//! Draining a dead-letter queue on the local stack: what the tests and the
//! soak read to check that every refused message arrived with its reason.

use aws_sdk_sqs::error::DisplayErrorContext;

use crate::DevstackError;

/// Lambda's attribute on a failed asynchronous invocation's message (the
/// soak's scheduled events), read when ours is absent.
const LAMBDA_ERROR_ATTRIBUTE: &str = "ErrorMessage";

/// One message read from a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drained {
    pub body: String,
    /// Our `error_reason` attribute, else Lambda's `ErrorMessage`; `None`
    /// when the message carries neither (a defect the callers report).
    pub reason: Option<String>,
}

/// Reads (and deletes) every message of the queue at `url`, until a
/// receive comes back empty.
pub async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<Drained>, DevstackError> {
    let failed = |action: &str, message: String| DevstackError::Aws {
        action: format!("{action} ({url})"),
        message,
    };
    let mut out = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| failed("receive dead letters", DisplayErrorContext(e).to_string()))?
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return Ok(out);
        }
        for m in messages {
            let reason = m
                .message_attributes()
                .and_then(|a| {
                    a.get(lambda_kit::batch::REASON_ATTRIBUTE)
                        .or_else(|| a.get(LAMBDA_ERROR_ATTRIBUTE))
                })
                .and_then(|v| v.string_value())
                .map(str::to_string);
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .map_err(|e| failed("delete a dead letter", DisplayErrorContext(e).to_string()))?;
            out.push(Drained {
                body: m.body.unwrap_or_default(),
                reason,
            });
        }
    }
}
