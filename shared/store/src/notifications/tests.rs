use super::*;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
}

fn plan() -> CoalescePlan {
    CoalescePlan {
        settle: TimeDelta::seconds(130),
        slack: TimeDelta::seconds(10),
        min_gap: TimeDelta::seconds(60),
        max_delay: TimeDelta::seconds(900),
    }
}

#[tokio::test]
async fn a_burst_schedules_one_job_per_gap_not_one_per_change() {
    let m = MemoryStore::new();
    let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
    // The first change of the burst: a job after the settle time.
    let first = m
        .schedule_coalesced(&seller, t(0), t(2), &plan())
        .await
        .unwrap();
    let Coalesced::Schedule {
        job_at,
        covered_until,
        ..
    } = &first
    else {
        panic!("{first:?}");
    };
    assert_eq!((*job_at, *covered_until), (t(140), t(10)));
    // Changes up to t(10) ride along.
    for at in [0, 5, 10] {
        let again = m
            .schedule_coalesced(&seller, t(at), t(12), &plan())
            .await
            .unwrap();
        assert_eq!(again, Coalesced::Covered { job_at: t(140) });
    }
    // A later change: the next job, at least min_gap after the first.
    let later = m
        .schedule_coalesced(&seller, t(11), t(13), &plan())
        .await
        .unwrap();
    let Coalesced::Schedule {
        job_at,
        covered_until,
        ..
    } = &later
    else {
        panic!("{later:?}");
    };
    assert_eq!((*job_at, *covered_until), (t(200), t(70)));
    assert_eq!(m.coalesce_state(&seller).await.unwrap().jobs, 2);
    // Its enqueue failed: undone, so the next change schedules again.
    m.unschedule_coalesced(&seller, &later).await.unwrap();
    let state = m.coalesce_state(&seller).await.unwrap();
    assert_eq!(
        (state.covered_until, state.job_at),
        (Some(t(10)), Some(t(140)))
    );
    assert!(matches!(
        m.schedule_coalesced(&seller, t(30), t(40), &plan())
            .await
            .unwrap(),
        Coalesced::Schedule { .. }
    ));
}

#[tokio::test]
async fn seen_marks_expire_in_code_and_health_accumulates() {
    let clock = std::sync::Arc::new(crate::ManualClock::new(t(0)));
    let m = MemoryStore::new().with_clock(clock.clone());
    assert!(!m.seen("n-1").await.unwrap());
    m.mark_seen("n-1", t(100).timestamp()).await.unwrap();
    assert!(m.seen("n-1").await.unwrap());
    clock.set(t(101));
    assert!(!m.seen("n-1").await.unwrap());

    let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
    m.record_received(&seller, t(5), 3).await.unwrap();
    m.record_received(&seller, t(9), 2).await.unwrap();
    m.record_missed(&seller, t(7), 1).await.unwrap();
    let (sub, health) = m.notify_state(&seller).await.unwrap();
    assert!(sub.is_none());
    assert_eq!(
        health,
        DeliveryHealth {
            last_received_at: Some(t(9)),
            received: 5,
            last_missed_at: Some(t(7)),
            missed: 1
        }
    );
    let record = SubscriptionRecord {
        seller_id: seller.clone(),
        subscription_id: "sub-1".into(),
        destination_id: "dest-1".into(),
        payload_version: "1.0".into(),
        subscribed_at: t(1),
    };
    m.put_subscription(&record).await.unwrap();
    assert_eq!(m.notify_state(&seller).await.unwrap().0, Some(record));
    let d = DestinationRecord {
        region: Region::Eu,
        destination_id: "dest-1".into(),
        queue_arn: "arn:aws:sqs:eu-west-1:1:q".into(),
        name: "connector-prod".into(),
        created_at: t(0),
    };
    m.put_destination(&d).await.unwrap();
    assert_eq!(m.destination(Region::Eu).await.unwrap(), Some(d));
    assert_eq!(m.destination(Region::Na).await.unwrap(), None);
}
