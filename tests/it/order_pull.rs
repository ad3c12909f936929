//! Guarantee 1 against moto and the simulator: every eligible order reaches
//! the WMS queue exactly once — across overlapping runs, a run killed mid-page,
//! 429 storms and 503s mid-pagination, duplicate pages — window edges hold,
//! filters filter, cancellations follow once, and the fan-out drives it all
//! through the job queue.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::TimeDelta;
use domain::settings::OrderStatus;
use domain::{Deadline, Operation};
use order_pull::{Mode, Outcome};
use spapi_sim::{CancelSpec, Fault, FaultTarget, FulfilledBy, ShipItem, ShipSpec};
use tests::pull::{PullRig, rig_with_seller};
use tests::sim::{DE, UK, add_seller, add_seller_in, seed_orders, test_order};

fn numbers(ids: &[String]) -> BTreeSet<String> {
    ids.iter().map(|id| format!("MG{id}")).collect()
}

fn created_numbers(rig: &PullRig) -> BTreeSet<String> {
    rig.delivered_counts()
        .keys()
        .filter(|(kind, _)| kind == "order.created")
        .map(|(_, n)| n.clone())
        .collect()
}

fn assert_exactly_once(rig: &PullRig) {
    for ((kind, number), count) in rig.delivered_counts() {
        assert_eq!(count, 1, "{kind} {number} reached the WMS {count} times");
    }
}

#[tokio::test]
async fn every_order_once_across_overlapping_runs() {
    let (rig, seller) = rig_with_seller("pull-overlap", "A1PULLOVERLAP").await;
    let ids = seed_orders(&rig.sim, &seller, 230);
    rig.settle();
    let first = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(first.outcome, Outcome::Done);
    assert_eq!((first.pages, first.sent), (3, 230), "{first:?}");
    // The next window overlaps the last one by five minutes; a reconcile
    // re-scans a day. Neither sends anything again.
    rig.settle();
    let second = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(second.sent, 0, "{second:?}");
    assert_eq!(second.already_sent, 230, "the overlap saw them: {second:?}");
    let reconcile = rig.pull(&seller, Mode::Reconcile).await;
    assert_eq!((reconcile.sent, reconcile.already_sent), (0, 230));
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
    assert_eq!(
        rig.sent_ids().len(),
        230,
        "the function itself sent each once"
    );

    // The message the WMS gets: prefixed, with lines and the address.
    let m = rig.delivered.lock().unwrap()[0].clone();
    let wms::OrderMessage::Created(created) = m else {
        panic!("order.created expected");
    };
    assert!(created.order_number.starts_with("MG302-"));
    assert!(!created.lines.is_empty());
    assert_eq!(created.ship_to.country_code, "DE");
}

#[tokio::test]
async fn a_run_killed_mid_page_loses_nothing_and_duplicates_nothing() {
    let (rig, seller) = rig_with_seller("pull-killed", "A1PULLKILLED").await;
    let ids = seed_orders(&rig.sim, &seller, 150);
    rig.settle();
    // Kill the run inside the first page: the 31st order reaches the queue,
    // then the process "dies" before the ledger records it as sent.
    *rig.counting.hang_after.lock().unwrap() = Some(30);
    let killed = tokio::time::timeout(
        Duration::from_secs(20),
        rig.try_pull(
            &seller,
            Mode::Incremental,
            Deadline::after(Duration::from_secs(60)),
        ),
    )
    .await;
    assert!(killed.is_err(), "the run was cut off");
    *rig.counting.hang_after.lock().unwrap() = None;
    assert_eq!(rig.sent_ids().len(), 31);
    // The next run resumes; an order claimed by the killed run is left alone
    // until its claim is stale, then taken over — never sent twice by us.
    let next = rig.pull(&seller, Mode::Incremental).await;
    assert!(next.in_flight <= 1, "{next:?}");
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(11 * 60));
    rig.pull(&seller, Mode::Incremental).await;
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
    let sent = rig.sent_ids();
    let distinct: BTreeSet<_> = sent.iter().collect();
    assert!(
        sent.len() <= distinct.len() + 1,
        "at most the one in-flight order is re-sent (same id): {} sends, {} ids",
        sent.len(),
        distinct.len()
    );
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_run_holds_the_checkpoint_until_it_is_taken_over() {
    // Found by the soak: a run that claimed an order and died before the
    // WMS send (SIGKILL, or the send failed) left it SENDING; the next runs
    // saw it "in flight", finished their windows and moved the checkpoint
    // past it, so once the claim was stale no window contained the order any
    // more: it waited for the 6-hourly reconcile.
    let (rig, seller) = rig_with_seller("pull-held-back", "A1PULLHELDBACK").await;
    let ids = seed_orders(&rig.sim, &seller, 3);
    rig.settle();
    // The crashed run's claim on order 2.
    let json = rig
        .sim
        .control()
        .order_json(&seller.seller_id, &ids[1])
        .unwrap();
    let updated: chrono::DateTime<chrono::Utc> =
        json["lastUpdatedTime"].as_str().unwrap().parse().unwrap();
    let claim = store::LedgerEntry::new(
        domain::SellerId::new(&seller.seller_id).unwrap(),
        domain::AmazonOrderId::new(&ids[1]).unwrap(),
        format!("MG{}", ids[1]),
        domain::MarketplaceId::new(DE).unwrap(),
        "UNSHIPPED",
        updated,
        rig.sim.control().now(),
    );
    let claimed = store::Ledger::claim_order(&rig.store, &claim, Duration::from_secs(600))
        .await
        .unwrap();
    assert!(claimed.must_send(), "the crashed run's claim");
    let first = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!((first.sent, first.in_flight), (2, 1), "{first:?}");
    // Five minutes on: the order is still in flight (its claim is young),
    // and the window moves on past the overlap.
    rig.sim.control().advance_clock(Duration::from_secs(5 * 60));
    let second = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(second.in_flight, 1, "seen again: {second:?}");
    // Six more minutes: the claim is stale; the next window still holds the
    // order and takes the claim over.
    rig.sim.control().advance_clock(Duration::from_secs(6 * 60));
    let third = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!((third.sent, third.in_flight), (1, 0), "{third:?}");
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
    // Then the checkpoint moves on as usual.
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(20 * 60));
    let later = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!((later.orders_seen, later.sent), (0, 0), "{later:?}");
}

#[tokio::test]
async fn a_failed_wms_send_is_sent_by_the_next_run_not_ten_minutes_later() {
    // Found by the soak: SQS errors on the WMS send left the claim SENDING,
    // so the next runs saw the order "in flight" for ten minutes although
    // nobody was sending it.
    let (rig, seller) = rig_with_seller("pull-send-fails", "A1PULLSENDFAILS").await;
    let ids = seed_orders(&rig.sim, &seller, 3);
    rig.settle();
    *rig.counting.fail_next.lock().unwrap() = 1;
    let failed = rig
        .try_pull(
            &seller,
            Mode::Incremental,
            Deadline::after(Duration::from_secs(60)),
        )
        .await
        .expect("the job answers (a follow-up is queued)");
    assert!(
        matches!(failed.outcome, Outcome::Continued { .. }),
        "{failed:?}"
    );
    // The next run, a second later: the claim was released, so it sends.
    rig.sim.control().advance_clock(Duration::from_secs(1));
    let next = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(next.in_flight, 0, "{next:?}");
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
}

#[tokio::test]
async fn storms_and_503s_mid_pagination_resume_from_the_checkpoint() {
    let (rig, seller) = rig_with_seller("pull-storm", "A1PULLSTORM").await;
    let ids = seed_orders(&rig.sim, &seller, 250);
    rig.settle();
    let c = rig.sim.control();
    let target = FaultTarget::Operation(Operation::SearchOrders);
    // The first page is fine; then a 503, a storm longer than the retries.
    let d = Deadline::after(Duration::from_secs(60));
    let mut first = order_pull::PullJob::new(&seller.seller_id, Mode::Incremental);
    first.attempt = 0;
    // (A zero-length slow answer lets page 1 through; then a 503 and six
    // 429s: more than one call's three retries can ride out.)
    c.inject_fault(target, Fault::Slow { millis: 0 }).unwrap();
    c.inject_fault(target, Fault::status(503)).unwrap();
    for _ in 0..6 {
        c.inject_fault(target, Fault::Throttle).unwrap();
    }
    let report = rig
        .puller
        .run(&first, &d)
        .await
        .expect("a continued run, not an error");
    assert!(
        matches!(report.outcome, Outcome::Continued { .. }),
        "{report:?}"
    );
    assert_eq!(report.sent, 100, "page 1 was handed over before the storm");
    // The storm passes; the follow-up job on the queue continues the window.
    let runs = rig.run_jobs(10).await;
    assert!(runs.iter().all(|r| r.is_ok()), "{runs:?}");
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
    assert_eq!(rig.sent_ids().len(), 250);
}

#[tokio::test]
async fn duplicate_pages_from_amazon_do_not_duplicate_orders() {
    let (rig, seller) = rig_with_seller("pull-duppage", "A1PULLDUPPAGE").await;
    let ids = seed_orders(&rig.sim, &seller, 250);
    rig.settle();
    let target = FaultTarget::Operation(Operation::SearchOrders);
    rig.sim
        .control()
        .inject_fault(target, Fault::DuplicatePage)
        .unwrap();
    let report = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.outcome, Outcome::Done, "{report:?}");
    assert!(report.pages > 3, "a page was served twice: {report:?}");
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
    assert_eq!(rig.sent_ids().len(), 250);
}

#[tokio::test]
async fn window_edges_pending_orders_and_late_orders() {
    let (rig, seller) = rig_with_seller("pull-edges", "A1PULLEDGES").await;
    let c = rig.sim.control();
    // Seeded now: inside Amazon's last two minutes, so not in this window.
    let fresh = seed_orders(&rig.sim, &seller, 2);
    let mut pending = test_order(50, DE);
    pending.status = Some(OrderStatus::Pending);
    let pending_id = c.seed_order(&seller.seller_id, pending).unwrap();
    c.advance_clock(Duration::from_secs(60));
    let early = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(early.sent, 0, "{early:?}");
    rig.settle();
    let next = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(next.sent, 2, "picked up by the next run: {next:?}");

    // Pending → Unshipped after the run: delivered once, by the next run.
    c.set_status(&seller.seller_id, &pending_id, OrderStatus::Unshipped)
        .unwrap();
    rig.settle();
    let after = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(after.sent, 1, "{after:?}");

    // An order Amazon shows late: its times are an hour old, behind the
    // incremental checkpoint. Only the reconcile finds it.
    let mut late = test_order(60, DE);
    late.created = Some(c.now() - TimeDelta::hours(1));
    let late_id = c.seed_order(&seller.seller_id, late).unwrap();
    rig.settle();
    let inc = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(
        inc.sent, 0,
        "the incremental window starts after it: {inc:?}"
    );
    let rec = rig.pull(&seller, Mode::Reconcile).await;
    assert_eq!(rec.sent, 1, "{rec:?}");

    rig.drain_wms().await;
    let mut expected = numbers(&fresh);
    expected.insert(format!("MG{pending_id}"));
    expected.insert(format!("MG{late_id}"));
    assert_eq!(created_numbers(&rig), expected);
    assert_exactly_once(&rig);
}

#[tokio::test]
async fn only_eligible_orders_are_sent_with_the_prefix() {
    let rig = PullRig::new("pull-filters", 1000.0).await;
    let seller = add_seller_in(&rig.sim, "A1PULLFILTERS", &[DE, UK], true);
    let c = rig.sim.control();
    let now = c.now();
    let settings = rig
        .onboard(&seller, |s| {
            s.marketplaces = vec![domain::MarketplaceId::new(DE).unwrap()];
            s.order_start_date = (now - TimeDelta::days(2)).date_naive();
            s.ship_to_countries = vec!["DE".into()];
        })
        .await;
    let id = |spec| c.seed_order(&seller.seller_id, spec).unwrap();
    let good = id(test_order(1, DE));
    // Created before the start date, updated (part shipped) now.
    let mut old = test_order(2, DE);
    old.created = Some(now - TimeDelta::days(5));
    let old = id(old);
    c.ship(
        &seller.seller_id,
        &old,
        ShipSpec {
            items: vec![ShipItem {
                sku: "SKU-2-A".into(),
                quantity: 1,
            }],
            ..ShipSpec::default()
        },
    )
    .unwrap();
    let mut abroad = test_order(3, DE);
    abroad.recipient.as_mut().unwrap().country_code = Some("AT".into());
    id(abroad);
    let mut fba = test_order(4, DE);
    fba.fulfilled_by = FulfilledBy::Amazon;
    id(fba);
    id(test_order(5, UK));
    let mut shipped = test_order(6, DE);
    shipped.status = Some(OrderStatus::Shipped);
    id(shipped);
    let mut pending = test_order(7, DE);
    pending.status = Some(OrderStatus::Pending);
    id(pending);
    let mut cancelled = test_order(8, DE);
    cancelled.status = Some(OrderStatus::Cancelled);
    id(cancelled);
    let partly = id(test_order(10, DE));
    c.ship(
        &seller.seller_id,
        &partly,
        ShipSpec {
            items: vec![ShipItem {
                sku: "SKU-10-B".into(),
                quantity: 1,
            }],
            ..ShipSpec::default()
        },
    )
    .unwrap();
    rig.settle();
    let report = rig.pull(&seller, Mode::Incremental).await;
    rig.drain_wms().await;
    let sent = created_numbers(&rig);
    assert_eq!(
        sent,
        BTreeSet::from([format!("MG{good}"), format!("MG{partly}")]),
        "{report:?}"
    );
    assert_eq!(settings.order_prefix, "MG");
    // The partly shipped order goes with what is left to ship.
    let delivered = rig.delivered.lock().unwrap().clone();
    let partial = delivered
        .iter()
        .find_map(|m| match m {
            wms::OrderMessage::Created(c) if c.order_number == format!("MG{partly}") => {
                Some(c.clone())
            }
            _ => None,
        })
        .expect("the partly shipped order");
    let b = partial
        .lines
        .iter()
        .find(|l| l.sku.as_str() == "SKU-10-B")
        .expect("line B");
    assert_eq!(b.quantity, 1, "two ordered, one shipped");
}

#[tokio::test]
async fn cancellations_of_sent_orders_follow_once() {
    let (rig, seller) = rig_with_seller("pull-cancel", "A1PULLCANCEL").await;
    let c = rig.sim.control();
    let ids = seed_orders(&rig.sim, &seller, 4);
    rig.settle();
    rig.pull(&seller, Mode::Incremental).await;
    // Whole order 1; one line of order 2 (two lines); order 3 never sent
    // because it was cancelled before the first run saw it... it was seen,
    // so it is sent and its cancellation follows too.
    c.cancel(
        &seller.seller_id,
        &ids[0],
        CancelSpec {
            skus: vec![],
            ..CancelSpec::default()
        },
    )
    .unwrap();
    c.cancel(
        &seller.seller_id,
        &ids[1],
        CancelSpec {
            skus: vec!["SKU-2-B".into()],
            ..CancelSpec::default()
        },
    )
    .unwrap();
    rig.settle();
    let r = rig.pull(&seller, Mode::Incremental).await;
    assert_eq!(r.cancellations, 2, "{r:?}");
    rig.settle();
    let again = rig.pull(&seller, Mode::Incremental).await;
    let rec = rig.pull(&seller, Mode::Reconcile).await;
    assert_eq!((again.cancellations, rec.cancellations), (0, 0));
    rig.drain_wms().await;
    assert_exactly_once(&rig);
    let counts = rig.delivered_counts();
    assert!(counts.contains_key(&("order.cancelled".into(), format!("MG{}", ids[0]))));
    assert!(counts.contains_key(&("order.cancelled".into(), format!("MG{}", ids[1]))));
    assert_eq!(
        counts
            .keys()
            .filter(|(k, _)| k == "order.cancelled")
            .count(),
        2
    );
    // An order cancelled before it was ever sent is never sent.
    let never = c.seed_order(&seller.seller_id, test_order(9, DE)).unwrap();
    c.cancel(&seller.seller_id, &never, CancelSpec::default())
        .unwrap();
    rig.settle();
    rig.pull(&seller, Mode::Incremental).await;
    rig.drain_wms().await;
    assert!(
        !rig.delivered_counts()
            .keys()
            .any(|(_, n)| n == &format!("MG{never}"))
    );
}

#[tokio::test]
async fn the_schedule_fans_out_one_job_per_seller_through_the_queue() {
    let rig = PullRig::new("pull-fanout", 1000.0).await;
    let a = add_seller(&rig.sim, "A1FANOUTA", true);
    let b = add_seller(&rig.sim, "A1FANOUTB", true);
    let off = add_seller(&rig.sim, "A1FANOUTOFF", true);
    rig.onboard(&a, |_| {}).await;
    rig.onboard(&b, |_| {}).await;
    rig.onboard(&off, |s| s.jobs.orders = false).await;
    let ids_a = seed_orders(&rig.sim, &a, 3);
    let ids_b = seed_orders(&rig.sim, &b, 5);
    seed_orders(&rig.sim, &off, 2);
    rig.settle();
    let report = rig.schedule().await;
    assert_eq!(report["jobs"], 2, "{report}");
    assert_eq!(report["skipped"], 1, "{report}");
    let runs = rig.run_jobs(10).await;
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.is_ok()), "{runs:?}");
    rig.drain_wms().await;
    let mut expected = numbers(&ids_a);
    expected.extend(numbers(&ids_b));
    assert_eq!(created_numbers(&rig), expected);

    // A job for a seller nobody onboarded is dead-lettered with the reason.
    let sqs = rig.stack.sqs();
    sqs.send_message()
        .queue_url(&rig.config.job_queue_url)
        .message_body(r#"{"seller_id": "A1NOBODY", "mode": "incremental"}"#)
        .send()
        .await
        .unwrap();
    sqs.send_message()
        .queue_url(&rig.config.job_queue_url)
        .message_body("not json")
        .send()
        .await
        .unwrap();
    let runs = rig.run_jobs(10).await;
    assert_eq!(runs.len(), 2);
    let dlq = sqs
        .receive_message()
        .queue_url(&rig.config.job_dead_letter_queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(dlq.len(), 2, "both refused jobs are dead-lettered");
    let reasons: Vec<String> = dlq
        .iter()
        .filter_map(|m| {
            m.message_attributes
                .as_ref()?
                .get("error_reason")?
                .string_value
                .clone()
        })
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("A1NOBODY") && r.contains("onboard")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_backlog_continues_in_follow_up_jobs_before_the_deadline() {
    let (mut rig, seller) = rig_with_seller("pull-backlog", "A1PULLBACKLOG").await;
    let ids = seed_orders(&rig.sim, &seller, 450);
    rig.settle();
    // The first invocation has time for one page only.
    rig.puller.options.page_budget = Duration::from_secs(55);
    let d = Deadline::after(Duration::from_secs(55));
    let first = rig
        .try_pull(&seller, Mode::Incremental, d)
        .await
        .expect("first slice");
    assert!(
        matches!(first.outcome, Outcome::Continued { .. }),
        "{first:?}"
    );
    assert_eq!(first.pages, 1, "{first:?}");
    let runs = rig.run_jobs(20).await;
    assert!(
        !runs.is_empty() && runs.iter().all(|r| r.is_ok()),
        "{runs:?}"
    );
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
}

#[tokio::test]
async fn an_expired_page_token_restarts_the_window_without_duplicates() {
    let (mut rig, seller) = rig_with_seller("pull-expired", "A1PULLEXPIRED").await;
    let ids = seed_orders(&rig.sim, &seller, 250);
    rig.settle();
    // One page, then the invocation runs out of time and leaves its token.
    rig.puller.options.page_budget = Duration::from_secs(55);
    let first = rig
        .try_pull(
            &seller,
            Mode::Incremental,
            Deadline::after(Duration::from_secs(55)),
        )
        .await
        .expect("first slice");
    assert_eq!((first.pages, first.sent), (1, 100), "{first:?}");
    // The follow-up comes a day later: Amazon's page tokens live 24 hours.
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(25 * 3600));
    rig.puller.options.page_budget = Duration::from_secs(1);
    let runs = rig.run_jobs(5).await;
    assert!(
        !runs.is_empty() && runs.iter().all(|r| r.is_ok()),
        "{runs:?}"
    );
    rig.drain_wms().await;
    assert_eq!(created_numbers(&rig), numbers(&ids));
    assert_exactly_once(&rig);
    assert_eq!(
        rig.sent_ids().len(),
        250,
        "the restarted window sent nothing twice"
    );
}
