//! The DynamoDB store against moto, on a table created from template.yaml:
//! conditional writes hold under concurrency (an order is recorded once, a
//! cancellation marked once, a checkpoint moved by one writer), the gsi1
//! lookups work, and the shared rate bucket never grants more than
//! burst + rate × elapsed however many tasks hammer it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use domain::quota::{BucketKey, BucketStore, Limits, TakeOutcome};
use domain::settings::{Authorization, SellerSettings};
use domain::{AmazonOrderId, ClientCode, MarketplaceId, Operation, Region, SellerId};
use store::{
    Checkpoints, Claim, Clock, DynamoBuckets, Ledger, LedgerEntry, ManualClock, Recorded,
    SendState, SettingsStore, StatusUpdate, Store, StoreError,
};
use tests::moto::{TestStack, fresh_stack};

fn store(stack: &TestStack) -> Store {
    Store::new(stack.dynamo(), &stack.table)
}

fn seller(id: &str) -> SellerId {
    SellerId::new(id).unwrap()
}

fn settings(id: &str) -> SellerSettings {
    SellerSettings::new(
        seller(id),
        ClientCode::new(format!("C{id}")).unwrap(),
        Region::Eu,
        vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()],
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        format!("connector/sellers/{id}"),
    )
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn entry(seller_id: &str, order: &str, now: DateTime<Utc>) -> LedgerEntry {
    LedgerEntry::new(
        seller(seller_id),
        AmazonOrderId::new(order).unwrap(),
        format!("MG{order}"),
        MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
        "UNSHIPPED",
        at("2026-03-01T09:00:00Z"),
        now,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_recording_one_order_record_it_once() {
    let stack = fresh_stack("store-record-once").await;
    let store = store(&stack);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.spawn(async move {
            // each task would write its own version of the entry
            let mut e = entry("A3EXAMPLESELLER", "113-1234567-1234567", Utc::now());
            e.status = format!("TASK{i}");
            (i, store.record_order_if_absent(&e).await.unwrap())
        });
    }
    let mut winners = Vec::new();
    let mut seen = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (i, Recorded::Recorded) => winners.push(format!("TASK{i}")),
            (_, Recorded::AlreadyPresent(existing)) => seen.push(existing.status.clone()),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one task records the order");
    assert_eq!(seen.len(), 15);
    // the losers all see the winner's entry, and so does a later read
    assert!(seen.iter().all(|s| *s == winners[0]), "{seen:?}");
    let stored = store
        .get_order(
            &seller("A3EXAMPLESELLER"),
            &AmazonOrderId::new("113-1234567-1234567").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, winners[0]);

    // the same under the claim protocol: one sender, the rest see it in flight
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.spawn(async move {
            let e = entry("A3EXAMPLESELLER", "114-1234567-1234567", Utc::now());
            store
                .claim_order(&e, Duration::from_secs(300))
                .await
                .unwrap()
        });
    }
    let mut claimed = 0;
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Claim::Claimed => claimed += 1,
            Claim::InFlight(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}

#[tokio::test]
async fn a_crashed_claim_is_taken_over_once_stale_then_marked_sent() {
    let stack = fresh_stack("store-claim-takeover").await;
    let clock = ManualClock::new(at("2026-03-01T10:00:00Z"));
    let store = store(&stack).with_clock(Arc::new(clock.clone()));
    let stale_after = Duration::from_secs(300);
    let e = entry("A3EXAMPLESELLER", "113-1234567-1234567", clock.now())
        .with_payload(r#"{"kind":"order.created"}"#, 1_900_000_000);
    assert_eq!(
        store.claim_order(&e, stale_after).await.unwrap(),
        Claim::Claimed
    );
    // the run crashed before mark_sent; a run within five minutes skips it
    clock.advance(Duration::from_secs(299));
    assert!(matches!(
        store.claim_order(&e, stale_after).await.unwrap(),
        Claim::InFlight(_)
    ));
    clock.advance(Duration::from_secs(1));
    // two later runs race for the stale claim: exactly one takes it over
    let (a, b) = tokio::join!(
        store.claim_order(&e, stale_after),
        store.claim_order(&e, stale_after)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        [&a, &b].iter().filter(|c| c.must_send()).count(),
        1,
        "{a:?} {b:?}"
    );
    let taken = match (a, b) {
        (Claim::TakenOver(t), _) | (_, Claim::TakenOver(t)) => t,
        _ => unreachable!(),
    };
    assert_eq!(taken.first_sent_at, at("2026-03-01T10:00:00Z"));
    assert_eq!(taken.claimed_at, clock.now());
    assert_eq!(
        taken.payload.as_ref().map(|p| p.expose().as_str()),
        Some(r#"{"kind":"order.created"}"#)
    );
    assert_eq!(taken.expires_at, Some(1_900_000_000));

    store
        .mark_sent(&e.seller_id, &e.amazon_order_id)
        .await
        .unwrap();
    // idempotent
    store
        .mark_sent(&e.seller_id, &e.amazon_order_id)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(3600));
    let Claim::Sent(sent) = store.claim_order(&e, stale_after).await.unwrap() else {
        panic!("a sent order is never claimed again")
    };
    assert_eq!(sent.state, SendState::Sent);
    assert!(sent.sent_at.is_some());
    let missing = AmazonOrderId::new("999-1234567-1234567").unwrap();
    assert!(matches!(
        store.mark_sent(&e.seller_id, &missing).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_released_claim_is_taken_over_at_once_and_a_sent_order_is_left_alone() {
    let stack = fresh_stack("store-claim-release").await;
    let clock = ManualClock::new(at("2026-03-01T10:00:00Z"));
    let dynamo = store(&stack).with_clock(Arc::new(clock.clone()));
    let memory = store::MemoryStore::new().with_clock(Arc::new(clock.clone()));
    let stores: [&dyn Ledger; 2] = [&dynamo, &memory];
    let stale_after = Duration::from_secs(600);
    for (i, ledger) in stores.into_iter().enumerate() {
        let claimed_at = clock.now();
        let e = entry(
            "A3EXAMPLESELLER",
            &format!("11{i}-1234567-1234567"),
            claimed_at,
        );
        assert_eq!(
            ledger.claim_order(&e, stale_after).await.unwrap(),
            Claim::Claimed
        );
        // The send failed: the claim is released, the next run sends now.
        ledger
            .release_claim(&e.seller_id, &e.amazon_order_id)
            .await
            .unwrap();
        clock.advance(Duration::from_secs(1));
        let Claim::TakenOver(taken) = ledger.claim_order(&e, stale_after).await.unwrap() else {
            panic!("store {i}: a released claim is taken over at once")
        };
        assert_eq!(taken.first_sent_at, claimed_at);
        ledger
            .mark_sent(&e.seller_id, &e.amazon_order_id)
            .await
            .unwrap();
        // Releasing a sent order (or one with no entry) changes nothing.
        ledger
            .release_claim(&e.seller_id, &e.amazon_order_id)
            .await
            .unwrap();
        let missing = AmazonOrderId::new("999-1234567-1234567").unwrap();
        ledger.release_claim(&e.seller_id, &missing).await.unwrap();
        assert!(matches!(
            ledger.claim_order(&e, stale_after).await.unwrap(),
            Claim::Sent(_)
        ));
    }
}

#[tokio::test]
async fn orders_are_found_by_wms_order_number_per_seller() {
    let stack = fresh_stack("store-find-wms").await;
    let store = store(&stack);
    let now = Utc::now();
    for (s, o) in [
        ("A3EXAMPLESELLER", "113-1234567-1234567"),
        ("A3EXAMPLESELLER", "114-1234567-1234567"),
        ("A2OTHERSELLER", "113-1234567-1234567"),
    ] {
        let mut e = entry(s, o, now);
        e.marketplace_id = MarketplaceId::new("A13V1IB3VIYZZH").unwrap();
        store.record_order_if_absent(&e).await.unwrap();
    }
    let found = store
        .find_by_wms_order_number(&seller("A3EXAMPLESELLER"), "MG114-1234567-1234567")
        .await
        .unwrap()
        .expect("found through gsi1");
    assert_eq!(found.amazon_order_id.as_str(), "114-1234567-1234567");
    assert_eq!(found.seller_id.as_str(), "A3EXAMPLESELLER");
    assert_eq!(found.marketplace_id.as_str(), "A13V1IB3VIYZZH");
    let other = store
        .find_by_wms_order_number(&seller("A2OTHERSELLER"), "MG113-1234567-1234567")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.seller_id.as_str(), "A2OTHERSELLER");
    assert_eq!(
        store
            .find_by_wms_order_number(&seller("A2OTHERSELLER"), "MG114-1234567-1234567")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancellation_is_marked_once_and_statuses_only_move_forward() {
    let stack = fresh_stack("store-cancel-status").await;
    let store = store(&stack);
    let e = entry("A3EXAMPLESELLER", "113-1234567-1234567", Utc::now());
    store.record_order_if_absent(&e).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, s, o) = (
            store.clone(),
            e.seller_id.clone(),
            e.amazon_order_id.clone(),
        );
        tasks.spawn(async move { store.mark_cancel_sent(&s, &o).await.unwrap() });
    }
    let mut firsts = 0;
    while let Some(done) = tasks.join_next().await {
        firsts += usize::from(done.unwrap());
    }
    assert_eq!(firsts, 1, "one task sends the cancellation");
    let missing = AmazonOrderId::new("999-1234567-1234567").unwrap();
    assert!(
        !store
            .mark_cancel_sent(&e.seller_id, &missing)
            .await
            .unwrap()
    );

    let id = &e.amazon_order_id;
    let s = &e.seller_id;
    let later = at("2026-03-02T09:00:00Z");
    assert_eq!(
        store
            .update_status(s, id, "SHIPPED", later, Some(1_900_000_000))
            .await
            .unwrap(),
        StatusUpdate::Applied
    );
    assert_eq!(
        store
            .update_status(s, id, "UNSHIPPED", at("2026-03-01T12:00:00Z"), None)
            .await
            .unwrap(),
        StatusUpdate::Stale
    );
    assert_eq!(
        store
            .update_status(s, &missing, "SHIPPED", later, None)
            .await
            .unwrap(),
        StatusUpdate::Missing
    );
    let now = store.get_order(s, id).await.unwrap().unwrap();
    assert_eq!(now.status, "SHIPPED");
    assert_eq!(now.last_seen_update, later);
    assert_eq!(now.expires_at, Some(1_900_000_000));
    assert!(now.cancelled_sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkpoints_refuse_a_stale_version() {
    let stack = fresh_stack("store-checkpoint").await;
    let store = store(&stack);
    let s = seller("A3EXAMPLESELLER");
    assert_eq!(store.get_checkpoint(&s, "orders").await.unwrap(), None);
    let v1 = serde_json::json!({"after": "2026-03-01T00:00:00Z"});
    assert_eq!(
        store.put_checkpoint(&s, "orders", &v1, None).await.unwrap(),
        1
    );
    assert!(matches!(
        store.put_checkpoint(&s, "orders", &v1, None).await,
        Err(StoreError::Conflict { expected: None, .. })
    ));
    // two overlapping runs both read version 1: one moves it, the other conflicts
    let (run_a, run_b) = (
        serde_json::json!({"run": "a"}),
        serde_json::json!({"run": "b"}),
    );
    let (a, b) = tokio::join!(
        store.put_checkpoint(&s, "orders", &run_a, Some(1)),
        store.put_checkpoint(&s, "orders", &run_b, Some(1)),
    );
    let results = [a, b];
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(2))).count(), 1);
    let conflict = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("one conflict");
    assert!(
        matches!(
            conflict,
            StoreError::Conflict {
                expected: Some(1),
                ..
            }
        ) && !conflict.is_retryable()
    );
    let c = store.get_checkpoint(&s, "orders").await.unwrap().unwrap();
    assert_eq!(c.version, 2);
    assert_eq!(c.job, "orders");
    // another job and another seller have their own checkpoints
    assert_eq!(store.get_checkpoint(&s, "inventory").await.unwrap(), None);
    let other = seller("A2OTHERSELLER");
    assert_eq!(store.get_checkpoint(&other, "orders").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settings_round_trip_and_authorization_is_flagged_once() {
    let stack = fresh_stack("store-settings").await;
    let store = store(&stack);
    let s = seller("A3EXAMPLESELLER");
    let mut bad = settings("A3EXAMPLESELLER");
    bad.order_prefix = "MG-".into();
    assert!(matches!(
        store.put_settings(&bad).await,
        Err(StoreError::InvalidSettings(_))
    ));
    assert_eq!(store.get_settings(&s).await.unwrap(), None);
    assert!(matches!(
        store.refresh_token_secret(&s).await,
        Err(StoreError::NotFound { .. })
    ));

    let mut good = settings("A3EXAMPLESELLER");
    good.order_prefix = "MG".into();
    store.put_settings(&good).await.unwrap();
    assert_eq!(store.get_settings(&s).await.unwrap(), Some(good.clone()));
    assert_eq!(
        store.refresh_token_secret(&s).await.unwrap(),
        "connector/sellers/A3EXAMPLESELLER"
    );

    // four jobs hit invalid_grant at once: all succeed, one reason wins
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..4 {
        let (store, s) = (store.clone(), s.clone());
        tasks.spawn(async move {
            store
                .mark_authorization_broken(&s, &format!("invalid_grant from job {i}"))
                .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let flagged = store.get_settings(&s).await.unwrap().unwrap();
    let Authorization::Broken { reason, since } = &flagged.authorization else {
        panic!("authorization should be broken")
    };
    assert!(reason.starts_with("invalid_grant from job"), "{reason}");
    assert!((Utc::now() - *since).num_seconds().abs() < 60);
    // everything else is untouched
    assert_eq!(
        SellerSettings {
            authorization: Authorization::Active,
            ..flagged.clone()
        },
        good
    );
    let list = store.list_sellers().await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(!list[0].authorized && list[0].enabled);
    assert_eq!(list[0].client_code.as_str(), "CA3EXAMPLESELLER");

    // the operator re-authorises: writing the settings again clears the flag
    store.put_settings(&good).await.unwrap();
    assert!(store.list_sellers().await.unwrap()[0].authorized);
    assert!(matches!(
        store
            .mark_authorization_broken(&seller("A9UNKNOWNSELLER"), "x")
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn the_seller_list_reads_every_page() {
    let stack = fresh_stack("store-list-pages").await;
    let store = store(&stack);
    // DynamoDB (and moto) return at most 1 MB per query page: five sellers
    // with ~250 KB of SKU mappings each need at least two pages.
    let sku_map: BTreeMap<String, String> = (0..6_000)
        .map(|i| (format!("WMS-SKU-{i:06}"), format!("AMZ-SKU-{i:06}")))
        .collect();
    let ids = [
        "A1SELLERLIST01",
        "A1SELLERLIST02",
        "A1SELLERLIST03",
        "A1SELLERLIST04",
        "A1SELLERLIST05",
        "A1SELLERLIST06",
    ];
    for id in ids {
        let mut s = settings(id);
        s.inventory.sku_map = sku_map.clone();
        s.enabled = id != "A1SELLERLIST03";
        store.put_settings(&s).await.unwrap();
    }
    let first_page = stack
        .dynamo()
        .query()
        .table_name(&stack.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S("SELLERS".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(
        first_page.last_evaluated_key.is_some(),
        "the test needs more than one page"
    );
    let list = store.list_sellers().await.unwrap();
    let listed: Vec<&str> = list.iter().map(|s| s.seller_id.as_str()).collect();
    assert_eq!(listed, ids);
    let disabled: Vec<&str> = list
        .iter()
        .filter(|s| !s.enabled)
        .map(|s| s.seller_id.as_str())
        .collect();
    assert_eq!(disabled, ["A1SELLERLIST03"]);
}

fn epoch_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_never_spend_more_than_burst_plus_refill() {
    const TASKS: usize = 8;
    const RUN: Duration = Duration::from_secs(3);
    let limits = Limits {
        rate_per_sec: 10.0,
        burst: 5.0,
        lease: 1,
    };
    let stack = fresh_stack("store-buckets").await;
    let key = BucketKey::new("A3EXAMPLESELLER", Operation::GetOrder);
    let mut tasks = tokio::task::JoinSet::new();
    let stop_at = epoch_ms() + RUN.as_millis() as i64;
    for _ in 0..TASKS {
        // each task has its own client, as separate Lambda containers would
        let buckets = DynamoBuckets::new(Store::new(stack.dynamo(), &stack.table));
        let key = key.clone();
        tasks.spawn(async move {
            let (mut granted, mut errors) = (0u32, 0u32);
            let (mut first_ms, mut last_ms) = (i64::MAX, i64::MIN);
            loop {
                let now_ms = epoch_ms();
                if now_ms >= stop_at {
                    break;
                }
                first_ms = first_ms.min(now_ms);
                last_ms = last_ms.max(now_ms);
                match buckets.take(&key, &limits, 2, now_ms).await {
                    Ok(TakeOutcome::Granted { granted: g, .. }) => granted += g,
                    Ok(TakeOutcome::Empty { retry_at_ms }) => {
                        let wait = (retry_at_ms - epoch_ms()).clamp(1, 50) as u64;
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                    Err(e) => {
                        assert!(e.retryable, "{e}");
                        errors += 1;
                    }
                }
            }
            (granted, errors, first_ms, last_ms)
        });
    }
    // Amazon's rate header arrives meanwhile: it must not disturb the tokens.
    let observer = DynamoBuckets::new(Store::new(stack.dynamo(), &stack.table));
    let (mut granted, mut errors) = (0u32, 0u32);
    let (mut first_ms, mut last_ms) = (i64::MAX, i64::MIN);
    for _ in 0..10 {
        observer.observe_rate(&key, 12.5).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while let Some(done) = tasks.join_next().await {
        let (g, e, f, l) = done.unwrap();
        granted += g;
        errors += e;
        first_ms = first_ms.min(f);
        last_ms = last_ms.max(l);
    }
    let elapsed = (last_ms - first_ms) as f64 / 1000.0;
    let allowed = limits.burst + limits.rate_per_sec * elapsed;
    eprintln!(
        "granted {granted} of {allowed:.1} allowed over {elapsed:.2} s ({errors} contended takes)"
    );
    assert!(
        f64::from(granted) <= allowed,
        "granted {granted} > burst + rate x elapsed = {allowed:.2}"
    );
    assert!(
        f64::from(granted) >= allowed * 0.5,
        "the bucket should still be usable: {granted} of {allowed:.1}"
    );
    assert_eq!(observer.observed_rate(&key).await.unwrap(), Some(12.5));

    // another seller's bucket is untouched: a full burst at once
    let other = BucketKey::new("A2OTHERSELLER", Operation::GetOrder);
    let TakeOutcome::Granted { granted, state } = observer
        .take(&other, &limits, 10, epoch_ms())
        .await
        .unwrap()
    else {
        panic!("a fresh bucket has tokens")
    };
    assert_eq!((granted, state.tokens), (5, 0.0));
    // and another operation of the same seller is a separate bucket too
    let op = BucketKey::new("A3EXAMPLESELLER", Operation::SearchOrders);
    assert!(matches!(
        observer.take(&op, &limits, 5, epoch_ms()).await.unwrap(),
        TakeOutcome::Granted { granted: 5, .. }
    ));
    assert_eq!(observer.observed_rate(&op).await.unwrap(), None);
}

#[tokio::test]
async fn participations_are_stored_whole_and_read_back() {
    use domain::participations::{Participation, Participations};
    use store::ParticipationStore;
    let stack = fresh_stack("store-participations").await;
    let store = store(&stack);
    let s = seller("A3EXAMPLESELLER");
    assert_eq!(store.get_participations(&s).await.unwrap(), None);
    let list = Participations {
        fetched_at: at("2026-09-01T08:00:00Z"),
        marketplaces: ["A1PA6795UKMFR9", "A1F83G8C2ARO7P"]
            .iter()
            .map(|id| Participation {
                marketplace_id: id.to_string(),
                country_code: "DE".into(),
                name: "Amazon".into(),
                domain_name: "www.amazon.de".into(),
                participating: true,
                suspended_listings: false,
            })
            .collect(),
        catch_up: Vec::new(),
    };
    store.put_participations(&s, &list).await.unwrap();
    assert_eq!(store.get_participations(&s).await.unwrap(), Some(list));
}
