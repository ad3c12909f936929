//! The idempotency layer against moto (Powertools' guarantees): one handler
//! run per key however many callers race, completed results replayed, a
//! failed run's lock released, a reused key with another payload refused,
//! and expiry (of a dead run's lock, of a completed result) checked in code
//! with an injected clock rather than left to DynamoDB's TTL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use store::idempotency::RecordStatus;
use store::{
    Clock, Idempotency, IdempotencyError, IdempotencyStore, ManualClock, RunOptions, Store,
    sha256_hex,
};
use tests::moto::{TestStack, fresh_stack};

const RESULT_TTL: Duration = Duration::from_secs(3600);
const LOCK: Duration = Duration::from_secs(30);

/// What the handler returns: (tracking number, which run bought it).
type Label = (String, u32);

fn store(stack: &TestStack) -> Arc<Store> {
    Arc::new(Store::new(stack.dynamo(), &stack.table))
}

fn layer(store: &Arc<Store>, clock: &ManualClock) -> Idempotency {
    Idempotency::new(store.clone(), "labels").with_clock(Arc::new(clock.clone()))
}

fn options(clock: &ManualClock) -> RunOptions {
    RunOptions::new(clock.now_ms() + LOCK.as_millis() as i64, RESULT_TTL)
}

fn clock() -> ManualClock {
    ManualClock::new(
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    )
}

/// A handler that counts its runs and buys "a label".
fn buy(runs: &Arc<AtomicU32>) -> impl Future<Output = Result<Label, std::io::Error>> + use<> {
    let runs = runs.clone();
    async move {
        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(("1Z999".to_string(), run))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_with_one_key_run_the_handler_once() {
    let stack = fresh_stack("idem-concurrent").await;
    let (store, clock) = (store(&stack), clock());
    let runs = Arc::new(AtomicU32::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (layer, opts, handler) = (layer(&store, &clock), options(&clock), buy(&runs));
        tasks.spawn(async move { layer.run("pkg-1", opts, handler).await });
    }
    let (mut labels, mut busy) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Ok(label) => labels.push(label),
            Err(e @ IdempotencyError::AlreadyInProgress { .. }) => {
                assert!(e.is_retryable());
                busy += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler ran once");
    assert_eq!(labels.len() + busy, 16);
    assert!(labels.iter().all(|l| l.1 == 1), "{labels:?}");
    // once done, every caller gets the same label
    let again = layer(&store, &clock)
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(again.1, 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_completed_result_is_replayed_until_it_expires() {
    let stack = fresh_stack("idem-replay").await;
    let (store, clock) = (store(&stack), clock());
    let layer = layer(&store, &clock);
    let runs = Arc::new(AtomicU32::new(0));
    let first = layer
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    let record = store.get_record("labels", "pkg-1").await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(record.in_progress_expiry_ms, None);
    assert_eq!(
        record.expires_at,
        clock.now_secs() + RESULT_TTL.as_secs() as i64
    );

    clock.advance(RESULT_TTL);
    let replayed = layer
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(replayed, first);
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // past its expiry the record no longer counts, even though DynamoDB's
    // TTL has not deleted it: the handler runs again
    clock.advance(Duration::from_secs(1));
    let rerun = layer
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(rerun.1, 2);
    // other keys and other namespaces are independent
    let other = layer
        .run("pkg-2", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(other.1, 3);
    let shipments =
        Idempotency::new(store.clone(), "shipments").with_clock(Arc::new(clock.clone()));
    let other_ns = shipments
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(other_ns.1, 4);
}

#[tokio::test]
async fn a_failed_handler_releases_its_lock_so_a_retry_runs() {
    let stack = fresh_stack("idem-failure").await;
    let (store, clock) = (store(&stack), clock());
    let layer = layer(&store, &clock);
    let err = layer
        .run("pkg-1", options(&clock), async {
            Err::<Label, _>(std::io::Error::other("carrier refused"))
        })
        .await
        .unwrap_err();
    let IdempotencyError::Handler(inner) = &err else {
        panic!("expected the handler's error, got {err}")
    };
    assert_eq!(inner.to_string(), "carrier refused");
    assert_eq!(store.get_record("labels", "pkg-1").await.unwrap(), None);
    let runs = Arc::new(AtomicU32::new(0));
    let label = layer
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(label.1, 1);
}

#[tokio::test]
async fn a_key_reused_with_another_payload_is_refused() {
    let stack = fresh_stack("idem-mismatch").await;
    let (store, clock) = (store(&stack), clock());
    let layer = layer(&store, &clock);
    let runs = Arc::new(AtomicU32::new(0));
    let request = sha256_hex(br#"{"package":"pkg-1","weight_g":1200}"#);
    let first = layer
        .run(
            "pkg-1",
            options(&clock).with_payload_hash(request.clone()),
            buy(&runs),
        )
        .await
        .unwrap();
    let same = layer
        .run(
            "pkg-1",
            options(&clock).with_payload_hash(request),
            buy(&runs),
        )
        .await
        .unwrap();
    assert_eq!(same, first);
    let changed = sha256_hex(br#"{"package":"pkg-1","weight_g":9000}"#);
    let err = layer
        .run(
            "pkg-1",
            options(&clock).with_payload_hash(changed),
            buy(&runs),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdempotencyError::PayloadMismatch { .. }) && !err.is_retryable(),
        "{err}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_dead_runs_lock_is_taken_over_after_its_expiry() {
    let stack = fresh_stack("idem-takeover").await;
    let (store, clock) = (store(&stack), clock());
    let layer = layer(&store, &clock);
    // a run that dies mid-handler (its future is dropped, as when the
    // invocation times out): the lock stays behind
    let dead = tokio::time::timeout(
        Duration::from_millis(200),
        layer.run(
            "pkg-1",
            options(&clock),
            std::future::pending::<Result<Label, std::io::Error>>(),
        ),
    )
    .await;
    assert!(dead.is_err(), "the handler never finishes");
    let lock = store.get_record("labels", "pkg-1").await.unwrap().unwrap();
    assert_eq!(lock.status, RecordStatus::InProgress);
    let lock_until = lock.in_progress_expiry_ms.unwrap();
    assert_eq!(lock_until, clock.now_ms() + LOCK.as_millis() as i64);

    let runs = Arc::new(AtomicU32::new(0));
    clock.advance(LOCK);
    let err = layer
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdempotencyError::AlreadyInProgress { until_ms: Some(t), .. } if t == lock_until),
        "{err}"
    );
    clock.advance(Duration::from_millis(1));
    let label = layer
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(label.1, 1);
    // the dead run's token can no longer touch the record
    let dead_token = lock.lock_token.unwrap();
    assert!(!store.release("labels", "pkg-1", &dead_token).await.unwrap());
    assert!(
        !store
            .complete("labels", "pkg-1", &dead_token, "{}", 0)
            .await
            .unwrap()
    );
    let replay = layer
        .run("pkg-1", options(&clock), buy(&runs))
        .await
        .unwrap();
    assert_eq!(replay, label);
}
