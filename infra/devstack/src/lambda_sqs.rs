//! Lambda's SQS trigger, locally: messages received from a queue in moto are
//! handed to a function's handler as an SQS event, the records it did not
//! report failed are deleted, and the failed ones are left on the queue
//! (invisible, as after a real failure) or made visible again at once. The
//! demo steps, the benches and the test rigs all deliver through this.

use std::future::Future;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};

use crate::DevstackError;

/// One record of an SQS event.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub message_id: &'a str,
    pub receipt_handle: &'a str,
    pub body: &'a str,
}

/// The event Lambda sends for `records` from the queue `queue_arn`.
pub fn event<'a>(queue_arn: &str, records: impl IntoIterator<Item = Record<'a>>) -> Value {
    let records: Vec<Value> = records
        .into_iter()
        .map(|r| {
            json!({
                "messageId": r.message_id,
                "receiptHandle": r.receipt_handle,
                "body": r.body,
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The event Lambda's SQS event source sends for `messages` as received
/// from `queue_arn` (receive them with every system and message attribute):
/// the record shape AWS documents, with `attributes` (receive count, sent
/// and first-receive timestamps, sender; group, deduplication id and sequence
/// number on FIFO queues), `messageAttributes`, `md5OfBody`.
pub fn event_from_messages(queue_arn: &str, messages: &[aws_sdk_sqs::types::Message]) -> Value {
    use base64::Engine;
    let region = queue_arn.split(':').nth(3).unwrap_or("us-east-1");
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                .collect();
            let message_attributes: serde_json::Map<String, Value> = m
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let mut a = json!({
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.data_type(),
                    });
                    if let Some(s) = v.string_value() {
                        a["stringValue"] = json!(s);
                    }
                    if let Some(b) = v.binary_value() {
                        a["binaryValue"] =
                            json!(base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
                    }
                    (k.clone(), a)
                })
                .collect();
            let mut record = json!({
                "messageId": m.message_id().unwrap_or_default(),
                "receiptHandle": m.receipt_handle().unwrap_or_default(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region
            });
            if let Some(md5) = m.md5_of_message_attributes() {
                record["md5OfMessageAttributes"] = json!(md5);
            }
            record
        })
        .collect();
    json!({ "Records": records })
}

/// The message ids a partial-batch answer reports failed.
pub fn failed_ids(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
        .collect()
}

/// Which queue, and how the trigger behaves.
#[derive(Clone, Copy, Debug)]
pub struct Trigger<'a> {
    pub sqs: &'a aws_sdk_sqs::Client,
    pub queue_url: &'a str,
    pub queue_arn: &'a str,
    /// Messages per invocation (the event source's `BatchSize`, ≤ 10 here).
    pub batch_size: i32,
    /// Make failed records visible again at once (production waits the
    /// visibility timeout); otherwise they stay invisible for this run.
    pub redeliver_failed: bool,
}

fn sqs_error<E: std::error::Error + 'static>(
    action: &str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E>) -> DevstackError + '_ {
    move |e| DevstackError::Aws {
        action: action.to_string(),
        message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
    }
}

impl Trigger<'_> {
    /// Up to `rounds` invocations of `handler`, until a receive is empty.
    /// Returns the handler's answers (an error answer counts every record
    /// of its batch as failed).
    pub async fn run<F, Fut>(
        &self,
        rounds: usize,
        mut handler: F,
    ) -> Result<Vec<Result<Value, String>>, DevstackError>
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = Result<Value, String>>,
    {
        let mut answers = Vec::new();
        for _ in 0..rounds {
            let messages = self
                .sqs
                .receive_message()
                .queue_url(self.queue_url)
                .max_number_of_messages(self.batch_size)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(sqs_error("receive from the queue"))?
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            let answer = handler(event_from_messages(self.queue_arn, &messages)).await;
            let failed = match &answer {
                Ok(v) => failed_ids(v),
                Err(_) => messages
                    .iter()
                    .filter_map(|m| m.message_id.clone())
                    .collect(),
            };
            for m in &messages {
                let handle = m.receipt_handle.clone().unwrap_or_default();
                if !failed.contains(&m.message_id.clone().unwrap_or_default()) {
                    self.sqs
                        .delete_message()
                        .queue_url(self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(sqs_error("delete a delivered message"))?;
                } else if self.redeliver_failed {
                    self.sqs
                        .change_message_visibility()
                        .queue_url(self.queue_url)
                        .receipt_handle(handle)
                        .visibility_timeout(0)
                        .send()
                        .await
                        .map_err(sqs_error("make a failed message visible again"))?;
                }
            }
            answers.push(answer);
        }
        Ok(answers)
    }
}
