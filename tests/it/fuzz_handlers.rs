//! Bad input through the real handlers, against moto and the simulator
//! (issue 16, "Bad input, fuzzed"): proptest generates bodies the parsers
//! refuse — structure-aware edits of a valid one, byte-level edits,
//! arbitrary text — and each handler must put every one of them in its
//! dead-letter queue with the reason naming the field (or, for the label
//! Function URL, answer 4xx naming it), never crash, never retry a body
//! that cannot change, never quote a value from it.
//!
//! One test per handler: shipment-confirm (shipment messages), order-pull
//! (job bodies), inventory-push (job bodies, and stock pages the WMS
//! answers with), labels (Function URL requests). Few cases in CI (each is
//! a handler invocation against moto); the pure parsers get their large
//! runs in the crates' own `tests/fuzz.rs` and `fuzz_jobs.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use devstack::lambda_sqs::{self, Record};
use domain::{Deadline, Operation};
use fuzz_kit::{Mutated, SENTINEL};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use tests::inventory::PushRig;
use tests::labels::{LabelRig, package};
use tests::pull::{PullRig, rig_with_seller};
use tests::ship::ShipRig;
use tests::sim::add_seller;
use tests::sim::{Fault, FaultTarget};

const CI_CASES: u32 = 4;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A body SQS would carry: only the characters SQS accepts (others
/// replaced, as they could never have been sent), at most 64 KiB.
fn sqs_safe(text: String) -> String {
    let mut s: String = text
        .chars()
        .map(|c| match c {
            '\t'
            | '\n'
            | '\r'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'.. => c,
            _ => '\u{FFFD}',
        })
        .collect();
    while s.len() > 64 * 1024 {
        s.pop();
    }
    if s.is_empty() { " ".to_string() } else { s }
}

/// Bodies made from `seed`: its edits, its text's edits, arbitrary text.
fn variants(seed: Value) -> impl Strategy<Value = String> {
    let text = seed.to_string();
    prop_oneof![
        3 => fuzz_kit::mutated(seed, Vec::new(), 3).prop_map(|m: Mutated| m.text()),
        1 => fuzz_kit::text_edits(text),
        1 => fuzz_kit::arbitrary_text(),
    ]
    .prop_map(sqs_safe)
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<(String, String)> {
    tests::moto::drain_dead_letters(sqs, url).await
}

/// Every body sent is in `dead` exactly once, each with a reason that
/// passes `names_it` and quotes nothing.
fn all_dead_lettered(
    sent: &[String],
    dead: &[(String, String)],
    names_it: impl Fn(&str) -> bool,
) -> Result<(), TestCaseError> {
    let mut want: BTreeMap<&str, usize> = BTreeMap::new();
    for b in sent {
        *want.entry(b.as_str()).or_default() += 1;
    }
    let mut got: BTreeMap<&str, usize> = BTreeMap::new();
    for (b, _) in dead {
        *got.entry(b.as_str()).or_default() += 1;
    }
    prop_assert_eq!(got, want, "dead letters and refused bodies differ");
    for (_, reason) in dead {
        prop_assert!(
            !reason.contains(SENTINEL),
            "the reason quotes a value: {reason}"
        );
        prop_assert!(names_it(reason), "the reason names no field: {reason}");
    }
    Ok(())
}

fn names_a_field(reason: &str) -> bool {
    reason.contains("not valid JSON") || reason.contains(" at `") || reason.contains("`/")
}

// ---- shipment-confirm --------------------------------------------------------

/// One batch from the shipment queue: none of it may be left to SQS
/// retries; returns what was dead-lettered (body, reason).
async fn shipment_batch(
    rig: &ShipRig,
    bodies: &[String],
) -> Result<Vec<(String, String)>, TestCaseError> {
    let answer = rig.batch(bodies).await.map_err(TestCaseError::fail)?;
    prop_assert!(
        ShipRig::failures(&answer).is_empty(),
        "a message left to SQS retries: {answer}"
    );
    Ok(rig
        .dead_letters()
        .await
        .into_iter()
        .map(|d| (d.body, d.reason))
        .collect())
}

#[test]
fn refused_shipment_messages_are_dead_lettered_with_the_field() {
    let rt = runtime();
    let rig = rt.block_on(ShipRig::new("fuzz-ship", "A1FUZZSHIP", 1));
    let seed: Value =
        serde_json::from_str(&rig.message(1, "PKG-FUZZ-1", "DHL", &[])).expect("a message");
    let refused = variants(seed).prop_filter("the contract refuses it", |b| {
        wms::ShipmentMessage::parse(b).is_err()
    });
    fuzz_kit::run(
        "handler.shipment_confirm.messages",
        CI_CASES,
        prop::collection::vec(refused, 1..=10),
        |bodies: Vec<String>| {
            rt.block_on(async {
                let dead = shipment_batch(&rig, &bodies).await?;
                all_dead_lettered(&bodies, &dead, names_a_field)
            })
        },
    );
    // Nothing reached Amazon.
    assert_eq!(rig.calls(Operation::ConfirmShipment).calls, 0);
}

/// Messages the contract accepts but that are wrong for this seller:
/// another seller, an unknown or foreign order number, SKUs and quantities
/// the order does not have, a package id seen with other content, odd
/// carriers and dates. Every one is confirmed (its package bound in the
/// store) or dead-lettered with its reason; none is left to SQS retries.
#[test]
fn accepted_but_wrong_shipment_messages_are_confirmed_or_dead_lettered() {
    use store::ShipmentRecords;
    let rt = runtime();
    let rig = rt.block_on(ShipRig::new("fuzz-ship-valid", "A1FUZZVALID", 3));
    let seller = rig.seller_id();
    let keys = fuzz_kit::schema_keys(
        &serde_json::from_str(wms::Contract::ShipmentMessage.schema_text()).expect("schema"),
    );
    let seeds: Vec<Value> = (1..=3u32)
        .map(|n| {
            serde_json::from_str(&rig.message(n, &format!("PKG-V{n}"), "DHL", &[]))
                .expect("a message")
        })
        .collect();
    let accepted = fuzz_kit::mutated_any(seeds, keys, 2)
        .prop_map(|m: Mutated| sqs_safe(m.text()))
        .prop_filter("the contract accepts it", |b| {
            wms::ShipmentMessage::parse(b).is_ok()
        });
    fuzz_kit::run(
        "handler.shipment_confirm.accepted_but_wrong",
        CI_CASES,
        prop::collection::vec(accepted, 1..=10),
        |bodies: Vec<String>| {
            rt.block_on(async {
                let dead = shipment_batch(&rig, &bodies).await?;
                for (body, reason) in &dead {
                    prop_assert!(bodies.contains(body), "a dead letter nobody sent");
                    prop_assert!(!reason.is_empty() && !reason.contains(SENTINEL), "{reason}");
                }
                for body in &bodies {
                    if dead.iter().any(|(b, _)| b == body) {
                        continue;
                    }
                    let m = wms::ShipmentMessage::parse(body)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let bound = rig
                        .pull
                        .store
                        .get_package(&seller, &m.package_id)
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert!(
                        bound.is_some(),
                        "neither confirmed nor dead-lettered: {body}"
                    );
                }
                Ok(())
            })
        },
    );
}

/// Found by fuzzing the feed-check job bodies: `checks` comes from the
/// body, and `checks + 1` overflowed (a panic in a debug build, a wrap to 0
/// and a feed checked forever in release) for a feed still in progress.
#[tokio::test]
async fn a_feed_check_at_the_last_check_number_falls_back_cleanly() {
    let mut rig = ShipRig::new("fuzz-feed-checks", "A1FUZZCHECKS", 5).await;
    rig.function.confirmer.options.feed_threshold = 5;
    rig.pull.sim.control().stall_feeds(&rig.seller.seller_id, 1);
    let bodies: Vec<String> = (1..=5u32)
        .map(|n| rig.message(n, &format!("PKG-{n}"), "DHL", &[]))
        .collect();
    rig.batch(&bodies).await.expect("the batch");
    let jobs = drain(&rig.pull.stack.sqs(), &rig.config.feed_job_queue_url).await;
    assert_eq!(jobs.len(), 1, "one feed check queued: {jobs:?}");
    let mut job: Value = serde_json::from_str(&jobs[0].0).expect("a feed job");
    job["checks"] = json!(u32::MAX);
    let body = job.to_string();
    let event = lambda_sqs::event(
        &rig.feed_job_queue_arn,
        [Record {
            message_id: "m-1",
            receipt_handle: "rh-1",
            body: &body,
        }],
    );
    let answer = shipment_confirm::handle(
        &rig.function,
        event,
        Deadline::after(Duration::from_secs(120)),
    )
    .await
    .expect("the feed check");
    assert!(lambda_sqs::failed_ids(&answer).is_empty(), "{answer}");
    assert_eq!(
        rig.queued().await,
        5,
        "past the last check the packages go back to the shipment queue"
    );
}

// ---- order-pull ----------------------------------------------------------------

/// The order-pull job queue delivers one record per invocation (BatchSize 1).
async fn pull_job(rig: &PullRig, arn: &str, body: &str) -> Result<Value, String> {
    let event = lambda_sqs::event(
        arn,
        [Record {
            message_id: "m-1",
            receipt_handle: "rh-1",
            body,
        }],
    );
    order_pull::handle(
        &rig.puller,
        &rig.dead_letters,
        event,
        Deadline::after(Duration::from_secs(60)),
    )
    .await
    .map_err(|e| e.to_string())
}

fn names_the_job_field(reason: &str) -> bool {
    names_a_field(reason) || reason.contains("`seller_id`") || reason.contains("no settings")
}

#[test]
fn refused_order_pull_jobs_are_dead_lettered_with_the_field() {
    let rt = runtime();
    let rig = rt.block_on(PullRig::new("fuzz-pull-jobs", 1000.0));
    let arn = rig
        .stack
        .resources
        .queue("OrderPullJobQueue")
        .expect("the job queue")
        .arn
        .clone();
    // Found by these tests: a malformed `seller_id` was refused with
    // `invalid seller id "<the value>"`, naming no field.
    let bad = [
        json!({"seller_id": "", "mode": "incremental"}).to_string(),
        json!({"seller_id": format!("{SENTINEL} x"), "mode": "reconcile"}).to_string(),
    ];
    rt.block_on(async {
        for body in &bad {
            pull_job(&rig, &arn, body).await.expect("dead-lettered");
        }
        let dead = drain(&rig.stack.sqs(), &rig.config.job_dead_letter_queue_url).await;
        all_dead_lettered(&bad, &dead, |r| {
            r.contains("`seller_id` is not a seller id")
        })
        .expect("named, not quoted");
    });
    // A seller nobody onboarded: a body that parses is refused too.
    let seed = json!({"seller_id": "A1NOTONBOARDED", "mode": "incremental", "attempt": 1});
    fuzz_kit::run(
        "handler.order_pull.jobs",
        CI_CASES,
        prop::collection::vec(variants(seed), 1..=5),
        |bodies: Vec<String>| {
            rt.block_on(async {
                for body in &bodies {
                    let answer = pull_job(&rig, &arn, body)
                        .await
                        .map_err(TestCaseError::fail)?;
                    prop_assert!(
                        lambda_sqs::failed_ids(&answer).is_empty(),
                        "a refused job left to SQS retries: {answer}"
                    );
                }
                let dead = drain(&rig.stack.sqs(), &rig.config.job_dead_letter_queue_url).await;
                all_dead_lettered(&bodies, &dead, names_the_job_field)
            })
        },
    );
    assert!(
        rig.counting
            .sent
            .lock()
            .map(|s| s.is_empty())
            .unwrap_or(false)
    );
}

/// Found by fuzzing the job bodies: `attempt` is the sender's number, and
/// `attempt + 1` overflowed (a panic in a debug build, a wrap to 0 and
/// endless follow-ups in release) when a job with `attempt: 4294967295`
/// met a retryable failure.
#[tokio::test]
async fn a_job_at_the_last_attempt_number_fails_cleanly_on_a_retryable_error() {
    let (rig, seller) = rig_with_seller("fuzz-pull-attempt", "A1FUZZATTEMPT").await;
    for _ in 0..8 {
        rig.sim
            .control()
            .inject_fault(
                FaultTarget::Operation(Operation::SearchOrders),
                Fault::Status { code: 503 },
            )
            .expect("fault");
    }
    let arn = rig
        .stack
        .resources
        .queue("OrderPullJobQueue")
        .expect("the job queue")
        .arn
        .clone();
    let body = json!({"seller_id": seller.seller_id, "mode": "incremental", "attempt": u32::MAX})
        .to_string();
    let answer = pull_job(&rig, &arn, &body).await;
    // Past the last attempt: the record fails (SQS's redrive takes it to the
    // dead-letter queue after its receives), no follow-up is queued.
    let err = answer.expect_err("a failed job is a failed invocation");
    assert!(
        err.contains("503") || err.contains("ServiceUnavailable"),
        "{err}"
    );
    let queued = drain(&rig.stack.sqs(), &rig.config.job_queue_url).await;
    assert!(
        queued.is_empty(),
        "no follow-up past the last attempt: {queued:?}"
    );
}

// ---- inventory-push ------------------------------------------------------------

async fn push_job(rig: &PushRig, arn: &str, body: &str) -> Result<Value, String> {
    let event = lambda_sqs::event(
        arn,
        [Record {
            message_id: "m-1",
            receipt_handle: "rh-1",
            body,
        }],
    );
    inventory_push::handle(
        &rig.pusher,
        &rig.dead_letters,
        event,
        Deadline::after(Duration::from_secs(60)),
    )
    .await
    .map_err(|e| e.to_string())
}

#[test]
fn refused_push_jobs_and_stock_pages_are_dead_lettered_with_the_field() {
    let rt = runtime();
    let rig = rt.block_on(PushRig::new("fuzz-push", 1000.0));
    let seller = add_seller(&rig.sim, "A1FUZZPUSH", false);
    rt.block_on(rig.onboard(&seller, |_| {}));
    let arn = rig
        .stack
        .resources
        .queue("InventoryPushJobQueue")
        .expect("the job queue")
        .arn
        .clone();
    let dlq = rig.config.job_dead_letter_queue_url.clone();

    // Found by these tests: a malformed `seller_id` was refused with
    // `invalid seller id "<the value>"`, naming no field.
    let bad = [
        json!({"seller_id": ""}).to_string(),
        json!({"seller_id": format!("{SENTINEL} x")}).to_string(),
    ];
    rt.block_on(async {
        for body in &bad {
            push_job(&rig, &arn, body).await.expect("dead-lettered");
        }
        let dead = drain(&rig.stack.sqs(), &dlq).await;
        all_dead_lettered(&bad, &dead, |r| {
            r.contains("`seller_id` is not a seller id")
        })
        .expect("named, not quoted");
    });
    // Job bodies: for a seller nobody onboarded, so a body that parses is refused too.
    fuzz_kit::run(
        "handler.inventory_push.jobs",
        CI_CASES,
        prop::collection::vec(variants(json!({"seller_id": "A1NOTONBOARDED"})), 1..=5),
        |bodies: Vec<String>| {
            rt.block_on(async {
                for body in &bodies {
                    let answer = push_job(&rig, &arn, body)
                        .await
                        .map_err(TestCaseError::fail)?;
                    prop_assert!(
                        lambda_sqs::failed_ids(&answer).is_empty(),
                        "a refused job left to SQS retries: {answer}"
                    );
                }
                let dead = drain(&rig.stack.sqs(), &dlq).await;
                all_dead_lettered(&bodies, &dead, names_the_job_field)
            })
        },
    );

    // Stock pages the WMS answers with: the seller's job is dead-lettered
    // with the page's broken field.
    let job = json!({"seller_id": seller.seller_id}).to_string();
    let page = json!({"schema": 1, "items": [
        {"sku": "SKU-1", "on_hand": 5, "available": 3},
        {"sku": "SKU-2", "on_hand": 0, "available": 0}
    ]});
    let bad_pages = variants(page).prop_filter("the contract refuses it", |b| {
        wms::StockPage::parse(b).is_err()
    });
    fuzz_kit::run(
        "handler.inventory_push.stock_pages",
        CI_CASES,
        bad_pages,
        |body: String| {
            rt.block_on(async {
                rig.wms.set_raw_page(&body);
                let answer = push_job(&rig, &arn, &job)
                    .await
                    .map_err(TestCaseError::fail)?;
                prop_assert!(lambda_sqs::failed_ids(&answer).is_empty(), "{answer}");
                let dead = drain(&rig.stack.sqs(), &dlq).await;
                all_dead_lettered(std::slice::from_ref(&job), &dead, |reason| {
                    reason.contains("not a valid stock page") && names_a_field(reason)
                })
            })
        },
    );
    assert_eq!(
        rig.sim
            .control()
            .operation_metrics(&seller.seller_id, Operation::PatchListingsItem)
            .calls,
        0,
        "nothing was pushed from a page that did not parse"
    );
}

// ---- labels (Function URL) -----------------------------------------------------

#[test]
fn refused_label_requests_get_a_4xx_naming_the_field() {
    let rt = runtime();
    let rig = rt.block_on(LabelRig::new("fuzz-labels"));
    let number = rig.seed_order(1);
    let seed = rig.rates_request(&number, vec![package("PKG-1", "1.25", &[("SKU-1", 1)])]);
    let refused = (variants(seed), any::<bool>())
        .prop_filter("the contract refuses it", |(b, _)| {
            wms::LabelRequest::parse(b).is_err()
        });
    fuzz_kit::run(
        "handler.labels.function_url",
        CI_CASES * 5,
        refused,
        |(body, base64): (String, bool)| {
            rt.block_on(async {
                let (status, response) = rig.invoke_url(&body, "POST", base64).await;
                prop_assert!((400..500).contains(&status), "HTTP {status}");
                prop_assert!(!response.ok);
                let error = response
                    .error
                    .ok_or_else(|| TestCaseError::fail("no error in the answer"))?;
                prop_assert_eq!(error.code, wms::label::ErrorCode::InvalidRequest);
                prop_assert!(!error.retryable);
                prop_assert!(!error.message.contains(SENTINEL), "{}", error.message);
                prop_assert!(
                    error.message.contains("not valid JSON") || error.message.contains("`/"),
                    "the answer names no field: {}",
                    error.message
                );
                Ok(())
            })
        },
    );
    // A direct invoke (the event is the request): the same refusals, as the
    // response JSON.
    let seed = rig.rates_request(&number, vec![package("PKG-1", "1.25", &[("SKU-1", 1)])]);
    let refused = fuzz_kit::mutated(seed, Vec::new(), 3)
        .prop_filter("the contract refuses it", |m: &Mutated| {
            wms::LabelRequest::parse(&m.text()).is_err()
        });
    fuzz_kit::run(
        "handler.labels.direct",
        CI_CASES * 5,
        refused,
        |m: Mutated| {
            rt.block_on(async {
                let response = rig.invoke(m.value).await;
                prop_assert!(!response.ok);
                let error = response
                    .error
                    .ok_or_else(|| TestCaseError::fail("no error in the answer"))?;
                prop_assert_eq!(error.code, wms::label::ErrorCode::InvalidRequest);
                prop_assert!(!error.message.contains(SENTINEL), "{}", error.message);
                prop_assert!(
                    error.message.contains("`/") || error.message.contains("not valid JSON"),
                    "the answer names no field: {}",
                    error.message
                );
                Ok(())
            })
        },
    );
    assert_eq!(rig.purchases(), 0, "no label bought from a refused request");
}
