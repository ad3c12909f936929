//! Property tests of the SQS job bodies (issue 16, "Bad input, fuzzed"):
//! the order-pull job, the inventory-push job and the shipment feed-check
//! job, each parsed by `lambda_kit::batch::process` exactly as its function
//! parses it. For arbitrary text, byte-level edits and structure-aware
//! edits of a valid job, in batches of up to 10 records:
//!
//! - nothing panics, and every record is accounted for: handed to the job
//!   (it parsed) or dead-lettered with its reason — never dropped, never
//!   left to SQS retries for a body that cannot change;
//! - a record parses exactly when `serde_json` reads it as the job type;
//! - a refused body's reason names the field (`at \`path\``) or says it is
//!   not JSON, and never quotes a value from the body.
//!
//! The functions' handlers on these paths, with moto: `fuzz_handlers.rs`.

use std::sync::Mutex;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use fuzz_kit::{Mutated, SENTINEL};
use lambda_kit::batch::{DeadLetter, DeadLetterSink, RecordMeta, process};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const CI_CASES: u32 = 300;

#[derive(Default)]
struct Letters(Mutex<Vec<DeadLetter>>);

#[async_trait::async_trait]
impl DeadLetterSink for Letters {
    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(letter);
        Ok(())
    }
}

fn event(bodies: &[String]) -> SqsEvent {
    let mut e = SqsEvent::default();
    for (i, b) in bodies.iter().enumerate() {
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("m{i}"));
        m.body = Some(b.clone());
        m.event_source_arn = Some("arn:aws:sqs:eu-west-1:123456789012:connector-jobs-fuzz".into());
        e.records.push(m);
    }
    e
}

/// One batch of `bodies` through `process` as job type `T`.
fn batch<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
    rt: &tokio::runtime::Runtime,
    bodies: &[String],
) -> Result<(), TestCaseError> {
    let sink = Letters::default();
    let handed = Mutex::new(Vec::new());
    let report = rt
        .block_on(process(
            event(bodies),
            false,
            &sink,
            |meta: RecordMeta, job: T| {
                handed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((meta.message_id, job));
                async { Ok(()) }
            },
        ))
        .map_err(|e| TestCaseError::fail(format!("a batch of bad bodies failed whole: {e}")))?;
    let handed = handed.into_inner().unwrap_or_default();
    let letters = sink.0.into_inner().unwrap_or_default();
    prop_assert_eq!(report.failed, 0, "a bad body left to SQS retries");
    prop_assert_eq!(
        handed.len() + letters.len(),
        bodies.len(),
        "a record vanished"
    );
    for (i, body) in bodies.iter().enumerate() {
        let id = format!("m{i}");
        let expected = serde_json::from_str::<T>(body).ok();
        let got = handed.iter().find(|(m, _)| *m == id).map(|(_, j)| j);
        prop_assert_eq!(got, expected.as_ref(), "record {} parsed differently", i);
        if expected.is_none() {
            let letter = letters
                .iter()
                .find(|l| l.source_message_id == id)
                .ok_or_else(|| {
                    TestCaseError::fail(format!("record {i} refused but not dead-lettered"))
                })?;
            prop_assert_eq!(&letter.body, body, "the dead letter keeps the body as sent");
            prop_assert_eq!(letter.source_queue.as_deref(), Some("connector-jobs-fuzz"));
            let reason = &letter.reason;
            prop_assert!(
                !reason.contains(SENTINEL),
                "the reason quotes a value: {reason}"
            );
            prop_assert!(
                reason.contains("not valid JSON") || reason.contains(" at `"),
                "the reason names no field: {reason}"
            );
        }
    }
    Ok(())
}

/// Batches of 1 to 10 bodies: edits of `seed`, edits of its text and
/// arbitrary text, mixed.
fn bodies(seed: Value) -> impl Strategy<Value = Vec<String>> {
    let text = seed.to_string();
    let one = prop_oneof![
        3 => fuzz_kit::mutated(seed, Vec::new(), 3).prop_map(|m: Mutated| m.text()),
        1 => fuzz_kit::text_edits(text),
        1 => fuzz_kit::arbitrary_text(),
    ];
    prop::collection::vec(one, 1..=10)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn order_pull_job_bodies() {
    let rt = runtime();
    fuzz_kit::run(
        "jobs.order_pull",
        CI_CASES,
        bodies(json!({"seller_id": "A1EXAMPLESELLER", "mode": "incremental", "attempt": 2})),
        |b| batch::<order_pull::PullJob>(&rt, &b),
    );
}

#[test]
fn inventory_push_job_bodies() {
    let rt = runtime();
    fuzz_kit::run(
        "jobs.inventory_push",
        CI_CASES,
        bodies(json!({"seller_id": "A1EXAMPLESELLER"})),
        |b| batch::<inventory_push::PushJob>(&rt, &b),
    );
}

#[test]
fn shipment_feed_job_bodies() {
    let rt = runtime();
    fuzz_kit::run(
        "jobs.shipment_feed_check",
        CI_CASES,
        bodies(json!({
            "seller_id": "A1EXAMPLESELLER", "feed_id": "50001", "checks": 3,
            "packages": [
                {"order_id": "302-1234567-1234567", "package_id": "PKG-1", "message_id": 1},
                {"order_id": "302-7654321-7654321", "package_id": "PKG-2", "message_id": 2}
            ]
        })),
        |b| batch::<shipment_confirm::FeedJob>(&rt, &b),
    );
}
