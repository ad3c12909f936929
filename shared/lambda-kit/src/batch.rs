//! SQS partial-batch processing with the Powertools guarantees:
//! - every record is parsed on its own (one bad body never fails the others);
//! - a record that can never succeed (bad JSON, unknown order...) goes to the
//!   dead-letter queue *with its reason* and is not retried;
//! - a record that may succeed later (throttling, an outage) is reported in
//!   `batchItemFailures` by message id, so SQS redelivers only it;
//! - on a FIFO queue processing stops at the first failure and the rest of the
//!   batch is reported failed, keeping the order within a message group;
//! - if every record failed, the invocation itself fails.

use std::collections::HashMap;
use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::de::DeserializeOwned;

use crate::error::ErrorType;

/// Why a record failed, and whether trying it again can help; with the
/// stable error type of the cause ([`crate::error::ErrorType`]), which
/// becomes the invocation's `errorType` when the whole batch fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Never going to succeed: dead-letter it with this reason.
    Permanent {
        reason: String,
        error_type: &'static str,
    },
    /// May succeed later: let SQS redeliver it.
    Retryable {
        reason: String,
        error_type: &'static str,
    },
}

impl RecordError {
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent {
            reason: reason.into(),
            error_type: "RecordRefused",
        }
    }

    pub fn retryable(reason: impl Into<String>) -> Self {
        Self::Retryable {
            reason: reason.into(),
            error_type: "RecordFailed",
        }
    }

    /// A function error as a record failure: its `Display` text is the
    /// reason, its type is kept.
    pub fn from_error<E: ErrorType>(e: &E, retryable: bool) -> Self {
        let reason = e.to_string();
        let error_type = e.error_type();
        if retryable {
            Self::Retryable { reason, error_type }
        } else {
            Self::Permanent { reason, error_type }
        }
    }

    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Permanent { error_type, .. } | Self::Retryable { error_type, .. } => error_type,
        }
    }
}

/// What a dead-lettered record carries: the original body and attributes,
/// plus why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub source_message_id: String,
    pub body: String,
    pub reason: String,
    /// FIFO only: the original message group.
    pub message_group_id: Option<String>,
    /// The name of the queue the record came from, when known: a replay
    /// (`connector-admin dlq replay --queue NAME --all`) sends it back there.
    pub source_queue: Option<String>,
}

/// The `audit` field of the line that says a refused record was (or could
/// not be) dead-lettered.
pub const DEAD_LETTER_ACTION: &str = "dlq.send";
/// The queue name at the end of an SQS ARN (`arn:aws:sqs:region:account:name`).
pub fn queue_name(arn: Option<&str>) -> Option<String> {
    arn.and_then(|a| a.rsplit(':').next())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// The message attribute that names a dead letter's source queue.
pub const SOURCE_QUEUE_ATTRIBUTE: &str = "source_queue";
/// The message attribute that holds a dead letter's reason.
pub const REASON_ATTRIBUTE: &str = "error_reason";

/// Where refused records go (an SQS dead-letter queue in production).
#[async_trait::async_trait]
pub trait DeadLetterSink: Send + Sync {
    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), String>;
}

/// SQS as a [`DeadLetterSink`]: the reason travels as the message attribute
/// `error_reason` (and `source_message_id`, `failed_at`).
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait::async_trait]
impl DeadLetterSink for SqsDeadLetters {
    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), String> {
        use aws_sdk_sqs::types::MessageAttributeValue;
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| e.to_string())
        };
        // SQS attribute values are limited; reasons are short, but be safe.
        let reason: String = letter.reason.chars().take(1000).collect();
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&letter.body)
            .message_attributes(REASON_ATTRIBUTE, attr(&reason)?)
            .message_attributes("source_message_id", attr(&letter.source_message_id)?)
            .message_attributes("failed_at", attr(&chrono::Utc::now().to_rfc3339())?);
        if let Some(queue) = &letter.source_queue {
            send = send.message_attributes(SOURCE_QUEUE_ATTRIBUTE, attr(queue)?);
        }
        if self.queue_url.ends_with(".fifo") {
            send = send
                .message_group_id(letter.message_group_id.as_deref().unwrap_or("dead-letters"))
                .message_deduplication_id(&letter.source_message_id);
        }
        send.send().await.map(|_| ()).map_err(|e| {
            format!(
                "could not send to the dead-letter queue: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })
    }
}

/// What a handler knows of the record besides its parsed body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordMeta {
    pub message_id: String,
    /// String message attributes (e.g. a WMS correlation id).
    pub attributes: HashMap<String, String>,
    /// FIFO only.
    pub message_group_id: Option<String>,
}

impl RecordMeta {
    fn of(record: &SqsMessage) -> Self {
        Self {
            message_id: record.message_id.clone().unwrap_or_default(),
            attributes: string_attributes(record),
            message_group_id: record.attributes.get("MessageGroupId").cloned(),
        }
    }
}

/// What happened to a batch; `response` is what the Lambda returns.
#[derive(Debug, Default)]
pub struct BatchReport {
    pub response: SqsBatchResponse,
    pub succeeded: usize,
    pub dead_lettered: usize,
    pub failed: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("all {count} records of the batch failed; the first: {first_reason}")]
pub struct AllFailed {
    pub count: usize,
    pub first_reason: String,
    /// The error type of the first failure (the invocation's `errorType`).
    pub first_error_type: &'static str,
}

impl ErrorType for AllFailed {
    fn error_type(&self) -> &'static str {
        self.first_error_type
    }
}

/// The error type of a record whose body does not match the contract.
pub const INVALID_MESSAGE: &str = "InvalidMessage";

/// Process `event` record by record with `handle`. `fifo` stops at the first
/// failure. Returns the partial-batch response, or an error when every record
/// failed (so Lambda retries the invocation and alarms on it).
pub async fn process<T, F, Fut>(
    event: SqsEvent,
    fifo: bool,
    sink: &dyn DeadLetterSink,
    mut handle: F,
) -> Result<BatchReport, AllFailed>
where
    T: DeserializeOwned,
    F: FnMut(RecordMeta, T) -> Fut,
    Fut: Future<Output = Result<(), RecordError>>,
{
    let mut report = BatchReport::default();
    let total = event.records.len();
    let mut first_reason: Option<(String, &'static str)> = None;
    let mut stopped = false;
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if stopped {
            report.response.add_failure(id);
            report.failed += 1;
            continue;
        }
        let outcome = match parse::<T>(record) {
            Ok(body) => handle(RecordMeta::of(record), body).await,
            Err(reason) => Err(RecordError::Permanent {
                reason,
                error_type: INVALID_MESSAGE,
            }),
        };
        let failure_reason = match outcome {
            Ok(()) => {
                report.succeeded += 1;
                None
            }
            Err(RecordError::Permanent { reason, error_type }) => {
                let letter = DeadLetter {
                    source_message_id: id.clone(),
                    body: record.body.clone().unwrap_or_default(),
                    reason: reason.clone(),
                    message_group_id: record.attributes.get("MessageGroupId").cloned(),
                    source_queue: queue_name(record.event_source_arn.as_deref()),
                };
                match sink.dead_letter(letter).await {
                    Ok(()) => {
                        // WARN although the write succeeded: the record was refused.
                        tracing::warn!(audit = DEAD_LETTER_ACTION, outcome = "success", message_id = %id, error_type, reason = %reason, "record refused and dead-lettered");
                        report.dead_lettered += 1;
                        None
                    }
                    Err(e) => {
                        tracing::error!(audit = DEAD_LETTER_ACTION, outcome = "failure", message_id = %id, error_type, reason = %reason, error = %e, "record refused but the dead-letter queue failed; SQS will redeliver it");
                        Some((
                            format!("{reason} (and dead-lettering failed: {e})"),
                            error_type,
                        ))
                    }
                }
            }
            Err(RecordError::Retryable { reason, error_type }) => {
                tracing::warn!(message_id = %id, error_type, reason = %reason, "record failed, SQS will redeliver it");
                Some((reason, error_type))
            }
        };
        if let Some(reason) = failure_reason {
            report.response.add_failure(id);
            report.failed += 1;
            first_reason.get_or_insert(reason);
            if fifo {
                stopped = true;
            }
        }
    }
    if total > 0 && report.failed == total {
        let (first_reason, first_error_type) =
            first_reason.unwrap_or_else(|| (String::new(), "RecordFailed"));
        return Err(AllFailed {
            count: total,
            first_reason,
            first_error_type,
        });
    }
    Ok(report)
}

/// Parses a body, naming the field that broke (never quoting values).
fn parse<T: DeserializeOwned>(record: &SqsMessage) -> Result<T, String> {
    let body = record.body.as_deref().unwrap_or_default();
    let de = &mut serde_json::Deserializer::from_str(body);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                format!(
                    "the message body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                )
            }
            Category::Data => {
                let what = domain::pii::json_data_problem(&inner);
                format!("the message does not match the contract at `{path}`: {what}")
            }
        }
    })?;
    // One message, one JSON value: anything after it (a second message glued
    // on, garbage) refuses the record rather than being silently dropped.
    de.end().map_err(|e| {
        format!(
            "the message body is not valid JSON: something follows the message (line {}, column {}); send one JSON object per message",
            e.line(),
            e.column()
        )
    })?;
    Ok(value)
}

/// The message attributes of a record as plain strings.
pub fn string_attributes(record: &SqsMessage) -> HashMap<String, String> {
    record
        .message_attributes
        .iter()
        .filter_map(|(k, v)| v.string_value.clone().map(|s| (k.clone(), s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Sink {
        letters: Mutex<Vec<DeadLetter>>,
        broken: bool,
    }

    #[async_trait::async_trait]
    impl DeadLetterSink for Sink {
        async fn dead_letter(&self, letter: DeadLetter) -> Result<(), String> {
            if self.broken {
                return Err("queue gone".into());
            }
            self.letters.lock().unwrap().push(letter);
            Ok(())
        }
    }

    #[derive(serde::Deserialize)]
    struct Msg {
        n: u32,
    }

    fn event(bodies: &[&str]) -> SqsEvent {
        let mut e = SqsEvent::default();
        for (i, b) in bodies.iter().enumerate() {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m{i}"));
            m.body = Some((*b).to_string());
            m.event_source_arn =
                Some("arn:aws:sqs:eu-west-1:123456789012:connector-jobs-prod".into());
            e.records.push(m);
        }
        e
    }

    fn failures(r: &BatchReport) -> Vec<String> {
        r.response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect()
    }

    /// n = 0 succeeds, n = 1 is permanent, n = 2 is retryable.
    async fn handler(_: RecordMeta, m: Msg) -> Result<(), RecordError> {
        match m.n {
            1 => Err(RecordError::permanent("unknown order")),
            2 => Err(RecordError::retryable("throttled")),
            _ => Ok(()),
        }
    }

    #[tokio::test]
    async fn standard_queue_processes_everything_and_reports_only_retryable_failures() {
        let sink = Sink::default();
        let e = event(&[
            r#"{"n":0}"#,
            "not json",
            r#"{"n":1}"#,
            r#"{"n":2}"#,
            r#"{"m":5}"#,
            r#"{"n":0}"#,
        ]);
        let r = process(e, false, &sink, handler).await.unwrap();
        assert_eq!(failures(&r), vec!["m3"]);
        assert_eq!((r.succeeded, r.dead_lettered, r.failed), (2, 3, 1));
        let letters = sink.letters.lock().unwrap();
        let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
        assert!(reasons[0].contains("not valid JSON"), "{reasons:?}");
        assert_eq!(reasons[1], "unknown order");
        assert!(reasons[2].contains("missing field `n`"), "{reasons:?}");
        assert_eq!(letters[1].body, r#"{"n":1}"#);
        assert_eq!(letters[1].source_message_id, "m2");
        assert_eq!(
            letters[1].source_queue.as_deref(),
            Some("connector-jobs-prod"),
            "a replay knows where the record came from"
        );
    }

    #[tokio::test]
    async fn fifo_stops_at_the_first_failure() {
        let sink = Sink::default();
        let e = event(&[r#"{"n":0}"#, r#"{"n":2}"#, r#"{"n":0}"#, r#"{"n":0}"#]);
        let mut seen = 0;
        let r = process(e, true, &sink, |meta: RecordMeta, msg: Msg| {
            seen += 1;
            handler(meta, msg)
        })
        .await
        .unwrap();
        assert_eq!(failures(&r), vec!["m1", "m2", "m3"]);
        assert_eq!(seen, 2, "records after the failure are not processed");
    }

    #[tokio::test]
    async fn an_all_failed_batch_is_a_function_error() {
        let sink = Sink::default();
        let e = event(&[r#"{"n":2}"#, r#"{"n":2}"#]);
        let err = process(e, false, &sink, handler).await.unwrap_err();
        assert_eq!(err.count, 2);
        assert!(err.to_string().contains("throttled"));
        assert_eq!(err.error_type(), "RecordFailed");
        // A bad body names its type too.
        let err = process(
            event(&["not json"]),
            false,
            &Sink {
                broken: true,
                ..Sink::default()
            },
            handler,
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type(), INVALID_MESSAGE);
    }

    #[tokio::test]
    async fn permanent_failures_are_redelivered_when_the_dead_letter_queue_fails() {
        let sink = Sink {
            broken: true,
            ..Sink::default()
        };
        let e = event(&[r#"{"n":1}"#, r#"{"n":0}"#]);
        let r = process(e, false, &sink, handler).await.unwrap();
        assert_eq!(failures(&r), vec!["m0"], "nothing is lost");
    }

    /// Found by the property tests (tests/it/fuzz_jobs.rs): a body with a
    /// second message (or garbage) after the first was read as the first
    /// alone, and the rest vanished.
    #[tokio::test]
    async fn a_body_with_something_after_the_message_is_refused() {
        let sink = Sink::default();
        let e = event(&[r#"{"n":0}{"n":1}"#, r#"{"n":0} x"#, "{\"n\":0}\n  "]);
        let mut seen = 0;
        let r = process(e, false, &sink, |meta: RecordMeta, msg: Msg| {
            seen += 1;
            handler(meta, msg)
        })
        .await
        .unwrap();
        assert_eq!(
            (r.succeeded, r.dead_lettered),
            (1, 2),
            "trailing blanks are fine"
        );
        assert_eq!(seen, 1);
        let letters = sink.letters.lock().unwrap();
        assert!(
            letters[0].reason.contains("something follows"),
            "{}",
            letters[0].reason
        );
        assert_eq!(letters[0].body, r#"{"n":0}{"n":1}"#);
    }

    #[tokio::test]
    async fn reasons_never_quote_the_bad_value() {
        let sink = Sink::default();
        let e = event(&[r#"{"n":"Jane Buyer, 1 Main St"}"#, r#"{"n":0}"#]);
        process(e, false, &sink, handler).await.unwrap();
        let reason = sink.letters.lock().unwrap()[0].reason.clone();
        assert!(!reason.contains("Jane"), "{reason}");
        assert!(reason.contains("`n`"), "{reason}");
    }
}
