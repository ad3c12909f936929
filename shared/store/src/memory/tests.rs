//! The in-memory store's semantics, and through it the idempotency layer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use domain::{MarketplaceId, Operation};

use super::*;
use crate::checkpoint::Checkpoints;
use crate::clock::ManualClock;
use crate::idempotency::{Idempotency, IdempotencyError, RunOptions, sha256_hex};
use crate::settings::tests::seller_settings;

fn seller() -> SellerId {
    SellerId::new("A3EXAMPLESELLER").unwrap()
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn store() -> (MemoryStore, ManualClock) {
    let clock = ManualClock::new(start());
    (
        MemoryStore::new().with_clock(Arc::new(clock.clone())),
        clock,
    )
}

fn entry(order: &str) -> LedgerEntry {
    LedgerEntry::new(
        seller(),
        AmazonOrderId::new(order).unwrap(),
        format!("MG{order}"),
        MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
        "UNSHIPPED",
        start(),
        start(),
    )
}

#[tokio::test]
async fn settings_are_validated_listed_and_flagged() {
    let (store, clock) = store();
    let mut bad = seller_settings("A3EXAMPLESELLER");
    bad.order_message_version = 9;
    assert!(matches!(
        store.put_settings(&bad).await,
        Err(StoreError::InvalidSettings(_))
    ));
    store
        .put_settings(&seller_settings("A3EXAMPLESELLER"))
        .await
        .unwrap();
    store
        .put_settings(&seller_settings("A2OTHERSELLER"))
        .await
        .unwrap();
    let list = store.list_sellers().await.unwrap();
    let ids: Vec<&str> = list.iter().map(|s| s.seller_id.as_str()).collect();
    assert_eq!(ids, ["A2OTHERSELLER", "A3EXAMPLESELLER"]);
    assert_eq!(
        store.refresh_token_secret(&seller()).await.unwrap(),
        "connector/sellers/A3EXAMPLESELLER"
    );

    store
        .mark_authorization_broken(&seller(), "invalid_grant")
        .await
        .unwrap();
    clock.advance(Duration::from_secs(60));
    store
        .mark_authorization_broken(&seller(), "again")
        .await
        .unwrap();
    let s = store.get_settings(&seller()).await.unwrap().unwrap();
    assert_eq!(
        s.authorization,
        Authorization::Broken {
            reason: "invalid_grant".into(),
            since: start()
        }
    );
    let list = store.list_sellers().await.unwrap();
    assert!(!list[1].authorized && list[0].authorized);

    let unknown = SellerId::new("A9UNKNOWNSELLER").unwrap();
    assert!(matches!(
        store.refresh_token_secret(&unknown).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.mark_authorization_broken(&unknown, "x").await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn claim_send_mark_sent_and_take_over_a_stale_claim() {
    let (store, clock) = store();
    let stale_after = Duration::from_secs(300);
    let e = entry("113-1234567-1234567").with_payload("{}", 1_900_000_000);
    assert_eq!(
        store.claim_order(&e, stale_after).await.unwrap(),
        Claim::Claimed
    );
    // a concurrent run sees it in flight
    let claim = store.claim_order(&e, stale_after).await.unwrap();
    assert!(matches!(claim, Claim::InFlight(_)) && !claim.must_send());
    // the first run crashed; five minutes later the claim is taken over
    clock.advance(stale_after);
    let Claim::TakenOver(taken) = store.claim_order(&e, stale_after).await.unwrap() else {
        panic!("expected a takeover")
    };
    assert_eq!(taken.claimed_at, clock.now());
    assert_eq!(taken.first_sent_at, start());
    assert_eq!(taken.payload.as_ref().unwrap().expose(), "{}");
    // the takeover renewed the claim: nobody else takes it now
    assert!(matches!(
        store.claim_order(&e, stale_after).await.unwrap(),
        Claim::InFlight(_)
    ));
    store
        .mark_sent(&seller(), &e.amazon_order_id)
        .await
        .unwrap();
    store
        .mark_sent(&seller(), &e.amazon_order_id)
        .await
        .unwrap();
    let Claim::Sent(sent) = store.claim_order(&e, stale_after).await.unwrap() else {
        panic!("expected sent")
    };
    assert_eq!(sent.state, SendState::Sent);
    assert_eq!(sent.sent_at, Some(clock.now()));
    let missing = AmazonOrderId::new("999-1234567-1234567").unwrap();
    assert!(matches!(
        store.mark_sent(&seller(), &missing).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn ledger_lookups_cancellations_and_status() {
    let (store, _clock) = store();
    let e = entry("113-1234567-1234567");
    assert_eq!(
        store.record_order_if_absent(&e).await.unwrap(),
        Recorded::Recorded
    );
    let mut other = e.clone();
    other.status = "SHIPPED".into();
    let Recorded::AlreadyPresent(existing) = store.record_order_if_absent(&other).await.unwrap()
    else {
        panic!("expected the existing entry")
    };
    assert_eq!(existing.status, "UNSHIPPED");
    let found = store
        .find_by_wms_order_number(&seller(), "MG113-1234567-1234567")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&e));
    let other_seller = SellerId::new("A2OTHERSELLER").unwrap();
    assert_eq!(
        store
            .find_by_wms_order_number(&other_seller, "MG113-1234567-1234567")
            .await
            .unwrap(),
        None
    );

    assert!(
        store
            .mark_cancel_sent(&seller(), &e.amazon_order_id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_cancel_sent(&seller(), &e.amazon_order_id)
            .await
            .unwrap()
    );
    let missing = AmazonOrderId::new("999-1234567-1234567").unwrap();
    assert!(!store.mark_cancel_sent(&seller(), &missing).await.unwrap());

    let later = start() + chrono::Duration::hours(1);
    let id = &e.amazon_order_id;
    assert_eq!(
        store
            .update_status(&seller(), id, "SHIPPED", later, Some(1_900_000_000))
            .await
            .unwrap(),
        StatusUpdate::Applied
    );
    assert_eq!(
        store
            .update_status(&seller(), id, "UNSHIPPED", start(), None)
            .await
            .unwrap(),
        StatusUpdate::Stale
    );
    assert_eq!(
        store
            .update_status(&seller(), &missing, "SHIPPED", later, None)
            .await
            .unwrap(),
        StatusUpdate::Missing
    );
    let now = store.get_order(&seller(), id).await.unwrap().unwrap();
    assert_eq!(
        (now.status.as_str(), now.expires_at),
        ("SHIPPED", Some(1_900_000_000))
    );
    assert!(now.cancelled_sent);
}

#[tokio::test]
async fn checkpoints_are_optimistic() {
    let (store, _clock) = store();
    let v = serde_json::json!({"after": "2026-03-01T00:00:00Z"});
    assert_eq!(
        store.get_checkpoint(&seller(), "orders").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .put_checkpoint(&seller(), "orders", &v, None)
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.put_checkpoint(&seller(), "orders", &v, None).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store
            .put_checkpoint(&seller(), "orders", &v, Some(1))
            .await
            .unwrap(),
        2
    );
    assert!(matches!(
        store.put_checkpoint(&seller(), "orders", &v, Some(1)).await,
        Err(StoreError::Conflict {
            expected: Some(1),
            ..
        })
    ));
    let c = store
        .get_checkpoint(&seller(), "orders")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.version, c.value, c.updated_at), (2, v, start()));
}

#[tokio::test]
async fn buckets_spend_at_most_burst_plus_refill() {
    let (store, _clock) = store();
    let key = BucketKey::new("A3EXAMPLESELLER", Operation::GetOrder);
    let limits = Limits {
        rate_per_sec: 2.0,
        burst: 5.0,
        lease: 1,
    };
    let mut granted = 0;
    for t in (0..=10_000).step_by(10) {
        if let TakeOutcome::Granted { granted: g, .. } =
            store.take(&key, &limits, 3, t).await.unwrap()
        {
            granted += g;
        }
    }
    assert!((24..=25).contains(&granted), "{granted}");
    let other = BucketKey::new("A2OTHERSELLER", Operation::GetOrder);
    assert!(matches!(
        store.take(&other, &limits, 5, 10_000).await.unwrap(),
        TakeOutcome::Granted { granted: 5, .. }
    ));
    assert_eq!(store.observed_rate(&key).await.unwrap(), None);
    store.observe_rate(&key, f64::NAN).await.unwrap();
    store.observe_rate(&key, 0.5).await.unwrap();
    assert_eq!(store.observed_rate(&key).await.unwrap(), Some(0.5));
}

fn idem(store: &MemoryStore, clock: &ManualClock) -> Idempotency {
    Idempotency::new(Arc::new(store.clone()), "labels").with_clock(Arc::new(clock.clone()))
}

fn options(clock: &ManualClock) -> RunOptions {
    RunOptions::new(clock.now_ms() + 30_000, Duration::from_secs(3600))
}

#[derive(Debug, thiserror::Error)]
#[error("carrier refused")]
struct Refused;

#[tokio::test]
async fn completed_runs_replay_and_failed_runs_release_the_lock() {
    let (store, clock) = store();
    let layer = idem(&store, &clock);
    let runs = AtomicU32::new(0);
    let handler = || async {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok::<_, Refused>(format!("label-{}", runs.load(Ordering::SeqCst)))
    };
    let first = layer
        .run("pkg-1", options(&clock), handler())
        .await
        .unwrap();
    let again = layer
        .run("pkg-1", options(&clock), handler())
        .await
        .unwrap();
    assert_eq!((first.as_str(), again.as_str()), ("label-1", "label-1"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // a failing handler leaves no lock behind
    let err = layer
        .run("pkg-2", options(&clock), async {
            Err::<String, _>(Refused)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, IdempotencyError::Handler(Refused)) && !err.is_retryable());
    assert_eq!(store.get_record("labels", "pkg-2").await.unwrap(), None);
    let retried = layer
        .run("pkg-2", options(&clock), handler())
        .await
        .unwrap();
    assert_eq!(retried, "label-2");

    // the result expires (checked in code, not by TTL): the handler runs again
    clock.advance(Duration::from_secs(3601));
    let rerun = layer
        .run("pkg-1", options(&clock), handler())
        .await
        .unwrap();
    assert_eq!(rerun, "label-3");
}

#[tokio::test]
async fn in_progress_locks_block_until_they_expire_and_payloads_must_match() {
    let (store, clock) = store();
    let layer = idem(&store, &clock);
    let h1 = sha256_hex(br#"{"package":"1"}"#);
    // a run that died holding the lock (its lock expires in 30 s)
    let lock = IdempotencyRecord {
        namespace: "labels".into(),
        key: "pkg-1".into(),
        status: RecordStatus::InProgress,
        expires_at: clock.now_secs() + 3600,
        in_progress_expiry_ms: Some(clock.now_ms() + 30_000),
        payload_hash: Some(h1.clone()),
        result: None,
        lock_token: Some("dead".into()),
    };
    assert_eq!(
        store.acquire(&lock, clock.now_ms()).await.unwrap(),
        Acquire::Acquired
    );
    let err = layer
        .run(
            "pkg-1",
            options(&clock).with_payload_hash(h1.clone()),
            async { Ok::<_, Refused>(1) },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            IdempotencyError::AlreadyInProgress {
                until_ms: Some(_),
                ..
            }
        ) && err.is_retryable()
    );
    let err = layer
        .run(
            "pkg-1",
            options(&clock).with_payload_hash(sha256_hex(b"other")),
            async { Ok::<_, Refused>(1) },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, IdempotencyError::PayloadMismatch { .. }));

    clock.advance(Duration::from_millis(30_001));
    let v = layer
        .run(
            "pkg-1",
            options(&clock).with_payload_hash(h1.clone()),
            async { Ok::<_, Refused>(7) },
        )
        .await
        .unwrap();
    assert_eq!(v, 7);
    // the dead run's lock token can no longer complete or release
    assert!(
        !store
            .complete("labels", "pkg-1", "dead", "1", 0)
            .await
            .unwrap()
    );
    assert!(!store.release("labels", "pkg-1", "dead").await.unwrap());
    let record = store.get_record("labels", "pkg-1").await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(record.in_progress_expiry_ms, None);
    // a completed record with a different payload is a mismatch too
    let err = layer
        .run("pkg-1", options(&clock).with_payload_hash("x"), async {
            Ok::<_, Refused>(8)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, IdempotencyError::PayloadMismatch { .. }));
}

#[tokio::test]
async fn concurrent_runs_of_one_key_run_the_handler_once() {
    let (store, clock) = store();
    let layer = idem(&store, &clock);
    let runs = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let layer = layer.clone();
        let runs = runs.clone();
        let opts = options(&clock);
        tasks.push(tokio::spawn(async move {
            layer
                .run("pkg-1", opts, async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, Refused>(42u32)
                })
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(v) => {
                assert_eq!(v, 42);
                ok += 1;
            }
            Err(IdempotencyError::AlreadyInProgress { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(ok >= 1);
}
