//! Lambda's SQS event source and its asynchronous invocation of scheduled
//! events, locally, for the soak's pools:
//!
//! - SQS: receive (never long-polling: moto serves one request at a time),
//!   gather up to the batch size, invoke, delete what succeeded; what failed
//!   (reported in `batchItemFailures`, or the whole batch when the function
//!   erred, timed out or was killed) becomes visible again after
//!   `redelivery` — the queue's visibility timeout, compressed — and the
//!   queue's redrive policy (moto) dead-letters it after `maxReceiveCount`.
//! - Schedule: an error is retried twice (the template's
//!   `EventInvokeConfig`), then the event goes to the schedule's
//!   dead-letter queue with Lambda's attributes (`RequestID`, `ErrorCode`,
//!   `ErrorMessage`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
};
use serde_json::Value;

use crate::SoakError;
use crate::chaos::ChaosPlan;
use crate::rig::{Kind, Pool};

/// One SQS event source mapping.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: &'static str,
    pub queue_url: String,
    pub queue_arn: String,
    /// The template's `BatchSize` (up to 100: gathered from several receives).
    pub batch_size: usize,
    pub redelivery: Duration,
}

impl Source {
    pub fn from_template(
        rig: &crate::rig::Rig,
        function: &str,
        event: &str,
        name: &'static str,
        redelivery: Duration,
    ) -> Result<Self, SoakError> {
        let props = rig
            .template
            .function_setting(function, "Events")
            .and_then(|events| events.get(event))
            .cloned()
            .ok_or_else(|| SoakError::Setup(format!("{function} has no event {event}")))?;
        let queue_arn =
            devstack::template::resolve_string(&props["Properties"]["Queue"], &rig.resources)?;
        let queue = rig
            .resources
            .queues
            .values()
            .find(|q| q.arn == queue_arn)
            .ok_or_else(|| SoakError::Setup(format!("no queue has the ARN {queue_arn}")))?;
        let batch_size = props["Properties"]["BatchSize"]
            .as_u64()
            .unwrap_or(10)
            .clamp(1, 100) as usize;
        Ok(Self {
            name,
            queue_url: queue.url.clone(),
            queue_arn,
            batch_size,
            redelivery,
        })
    }
}

fn sqs_err<E: std::error::Error + 'static>(
    what: &'static str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E>) -> SoakError {
    move |e| {
        SoakError::Aws(format!(
            "{what}: {}",
            aws_sdk_sqs::error::DisplayErrorContext(e)
        ))
    }
}

/// Polls `source` into `pool` until `stop` is set (and the queue gave
/// nothing on the last receive).
pub async fn poll(
    pool: Arc<Pool>,
    sqs: aws_sdk_sqs::Client,
    source: Source,
    chaos: Arc<ChaosPlan>,
    stop: Arc<AtomicBool>,
) -> Result<(), SoakError> {
    loop {
        let mut messages = Vec::new();
        while messages.len() < source.batch_size {
            let want = (source.batch_size - messages.len()).min(10) as i32;
            let got = sqs
                .receive_message()
                .queue_url(&source.queue_url)
                .max_number_of_messages(want)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(sqs_err("receive"))?
                .messages
                .unwrap_or_default();
            let n = got.len();
            messages.extend(got);
            if n < want as usize {
                break;
            }
        }
        if messages.is_empty() {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(1000)).await;
            continue;
        }
        let event = devstack::lambda_sqs::event_from_messages(&source.queue_arn, &messages);
        let plan = chaos.next(pool.kind, source.name);
        let (inv, happened) = pool.invoke(&event, plan).await?;
        if let Some((label, hit)) = happened {
            chaos.settle(pool.kind, source.name, label, hit);
        }
        let failed: Vec<String> = match inv.response() {
            Some(answer) => devstack::lambda_sqs::failed_ids(&answer),
            None => messages
                .iter()
                .filter_map(|m| m.message_id.clone())
                .collect(),
        };
        let mut delete = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let id = m.message_id.clone().unwrap_or_default();
            let handle = m.receipt_handle.clone().unwrap_or_default();
            if failed.contains(&id) {
                sqs.change_message_visibility()
                    .queue_url(&source.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(source.redelivery.as_secs() as i32)
                    .send()
                    .await
                    .map_err(sqs_err("make a failed message visible later"))?;
            } else {
                delete.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| SoakError::Aws(e.to_string()))?,
                );
            }
        }
        for chunk in delete.chunks(10) {
            sqs.delete_message_batch()
                .queue_url(&source.queue_url)
                .set_entries(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(sqs_err("delete delivered messages"))?;
        }
    }
}

/// The schedule's invocation as Lambda makes an asynchronous one: up to
/// three attempts, then the event to the dead-letter queue with Lambda's
/// attributes. Returns the answer of the attempt that succeeded.
pub async fn scheduled(
    pool: &Pool,
    event: &Value,
    chaos: &ChaosPlan,
    sqs: &aws_sdk_sqs::Client,
    dead_letter_url: &str,
) -> Result<Option<Value>, SoakError> {
    let mut last = None;
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let (inv, happened) = pool
            .invoke(event, chaos.next(Kind::OrderPull, "schedule"))
            .await?;
        if let Some((label, hit)) = happened {
            chaos.settle(Kind::OrderPull, "schedule", label, hit);
        }
        if let Some(answer) = inv.response() {
            return Ok(Some(answer));
        }
        last = Some(inv);
    }
    if let Some(inv) = last {
        let error = inv.error().unwrap_or_else(|| {
            lambda_emu::FunctionError::new("Unknown", "the invocation gave no answer")
        });
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| SoakError::Aws(e.to_string()))
        };
        sqs.send_message()
            .queue_url(dead_letter_url)
            .message_body(event.to_string())
            .message_attributes("RequestID", attr(&inv.request_id)?)
            .message_attributes("ErrorCode", attr("200")?)
            .message_attributes(
                "ErrorMessage",
                attr(&format!("{}: {}", error.error_type, error.error_message))?,
            )
            .send()
            .await
            .map_err(sqs_err("dead-letter a scheduled event"))?;
    }
    Ok(None)
}
