//! Lambda's SQS trigger, locally: messages received from a queue in moto are
//! handed to a function's handler as an SQS event, the records it did not
//! report failed are deleted, and the failed ones are left on the queue
//! (invisible, as after a real failure) or made visible again at once. The
//! demo steps, the benches and the test rigs all deliver through this.

use std::future::Future;

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
                .send()
                .await
                .map_err(sqs_error("receive from the queue"))?
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            let records = messages.iter().map(|m| Record {
                message_id: m.message_id.as_deref().unwrap_or_default(),
                receipt_handle: m.receipt_handle.as_deref().unwrap_or_default(),
                body: m.body.as_deref().unwrap_or_default(),
            });
            let answer = handler(event(self.queue_arn, records)).await;
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
