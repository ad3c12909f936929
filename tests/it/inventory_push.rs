//! The inventory push end to end: the function wired from template.yaml
//! against moto, the SP-API simulator and a fake WMS stock endpoint.

use std::path::PathBuf;
use std::time::Duration;

use domain::settings::InventoryMode;
use serde_json::Value;
use spapi_sim::ListingSpec;
use store::StockLedger;
use tests::inventory::{PushRig, client_code};
use tests::sim::{TestSeller, add_seller};
use tests::wms_stock::WmsMode;

const DAY: Duration = Duration::from_secs(86_400);

async fn rig(name: &str, seller_id: &str, listed: &[(&str, u32)]) -> (PushRig, TestSeller) {
    let rig = PushRig::new(name, 1000.0).await;
    let seller = add_seller(&rig.sim, seller_id, false);
    rig.sim
        .control()
        .seed_listings(
            seller_id,
            listed
                .iter()
                .map(|(s, q)| ListingSpec::new(s, *q))
                .collect(),
        )
        .unwrap();
    (rig, seller)
}

fn qty(rig: &PushRig, seller: &TestSeller, sku: &str) -> Option<u32> {
    rig.sim.control().listing_quantity(&seller.seller_id, sku)
}

/// Lets the simulator finish every feed (default timing: 90 simulated s).
fn finish_feeds(rig: &PushRig) {
    rig.sim.control().advance_clock(Duration::from_secs(120));
}

#[tokio::test]
async fn on_hand_or_available_minus_the_buffer_never_below_zero() {
    let (rig, seller) = rig("inv_modes", "A1INVMODES", &[("A", 0), ("B", 0), ("C", 9)]).await;
    rig.onboard(&seller, |_| {}).await;
    let code = client_code(&seller);
    rig.wms
        .set_stock(&code, &[("A", 10, 7), ("B", 3, 1), ("C", 0, 0)]);
    let r = rig.push(&seller).await;
    assert_eq!(
        (r.via.as_str(), r.changes, r.accepted),
        ("patch", 3, 3),
        "{r:?}"
    );
    assert_eq!(r.zero_stock_first, 1, "C (0) goes first");
    assert_eq!(
        (
            qty(&rig, &seller, "A"),
            qty(&rig, &seller, "B"),
            qty(&rig, &seller, "C")
        ),
        (Some(10), Some(3), Some(0))
    );

    rig.onboard(&seller, |s| {
        s.inventory.mode = InventoryMode::Available;
        s.inventory.safety_buffer = 2;
    })
    .await;
    let r = rig.push(&seller).await;
    assert_eq!(r.changes, 2, "A 7-2=5, B max(1-2,0)=0; C stays 0: {r:?}");
    assert_eq!(
        (qty(&rig, &seller, "A"), qty(&rig, &seller, "B")),
        (Some(5), Some(0))
    );
}

#[tokio::test]
async fn a_second_run_pushes_nothing_and_a_full_resync_comes_after_n_days() {
    let (rig, seller) = rig("inv_diff", "A1INVDIFF", &[("A", 0), ("B", 0)]).await;
    rig.onboard(&seller, |s| s.inventory.full_resync_days = 3)
        .await;
    rig.wms
        .set_stock(&client_code(&seller), &[("A", 4, 4), ("B", 6, 6)]);
    let first = rig.push(&seller).await;
    assert!(first.full_resync);
    assert_eq!(first.changes, 2);
    let patches = rig.sim.control().listing_patches(&seller.seller_id, "A");
    let second = rig.push(&seller).await;
    assert_eq!(
        (second.changes, second.patched, second.full_resync),
        (0, 0, false),
        "{second:?}"
    );
    assert_eq!(
        rig.sim.control().listing_patches(&seller.seller_id, "A"),
        patches,
        "nothing sent"
    );
    // Drift on Amazon's side (someone edited the listing) heals at the resync.
    rig.sim
        .control()
        .seed_listings(&seller.seller_id, vec![ListingSpec::new("A", 99)])
        .unwrap();
    rig.sim.control().advance_clock(2 * DAY);
    assert_eq!(rig.push(&seller).await.changes, 0, "day 2: no resync yet");
    rig.sim
        .control()
        .advance_clock(DAY + Duration::from_secs(60));
    let resync = rig.push(&seller).await;
    assert!(resync.full_resync);
    assert_eq!(resync.changes, 2, "every SKU again");
    assert_eq!(qty(&rig, &seller, "A"), Some(4));
    assert_eq!(rig.push(&seller).await.changes, 0);
}

fn schema(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/amazon/schemas")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Validates a feed document against Amazon's feed schema (draft 07).
pub fn assert_valid_feed(doc: &Value) {
    let v = jsonschema::draft7::new(&schema("listings-feed-schema-v2.json"))
        .expect("feed schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(5)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn many_changes_go_by_feed_and_rejections_are_reported_not_counted() {
    let listed: Vec<(String, u32)> = (0..120).map(|i| (format!("SKU-{i:03}"), 1)).collect();
    let listed_ref: Vec<(&str, u32)> = listed.iter().map(|(s, q)| (s.as_str(), *q)).collect();
    let (rig, seller) = rig("inv_feed", "A1INVFEED", &listed_ref).await;
    rig.onboard(&seller, |_| {}).await;
    let mut stock: Vec<(String, u32)> = (0..120).map(|i| (format!("SKU-{i:03}"), i % 5)).collect();
    stock.push(("NOT-ON-AMAZON".into(), 3));
    let stock_ref: Vec<(&str, u32, u32)> =
        stock.iter().map(|(s, q)| (s.as_str(), *q, *q)).collect();
    rig.wms.set_stock(&client_code(&seller), &stock_ref);

    let r = rig.push(&seller).await;
    assert_eq!(r.via, "feed", "{r:?}");
    assert_eq!(r.feeds_submitted.len(), 1);
    assert_eq!(r.messages_in_feeds, 121);
    assert_eq!(
        r.zero_stock_first, 24,
        "the 24 zero-stock SKUs lead the feed"
    );
    // What reached Amazon is a valid JSON_LISTINGS_FEED, zero-stock first.
    let (_, doc) = rig
        .sim
        .control()
        .feed_input(&seller.seller_id, &r.feeds_submitted[0])
        .unwrap();
    let doc: Value = serde_json::from_slice(&doc).unwrap();
    assert_valid_feed(&doc);
    let first = &doc["messages"][0]["patches"][0]["value"][0]["quantity"];
    assert_eq!(first, 0);
    // Nothing counts as pushed before the report.
    let book = rig
        .store
        .load_stock(&seller.seller_id.parse().unwrap())
        .await
        .unwrap();
    assert!(
        book.iter()
            .all(|(_, e)| e.pushed.is_none() && e.pending.is_some())
    );

    finish_feeds(&rig);
    let r2 = rig.push(&seller).await;
    assert_eq!(r2.feeds_settled, 1);
    assert_eq!(
        (r2.accepted, r2.rejected, r2.unknown_on_amazon),
        (120, 1, 1),
        "{r2:?}"
    );
    assert_eq!(r2.unknown_sample, vec!["NOT-ON-AMAZON".to_string()]);
    assert_eq!(
        r2.changes, 0,
        "the rejected SKU is not re-sent at the same quantity"
    );
    assert_eq!(qty(&rig, &seller, "SKU-007"), Some(2));
    let book = rig
        .store
        .load_stock(&seller.seller_id.parse().unwrap())
        .await
        .unwrap();
    assert!(
        book.get("NOT-ON-AMAZON").unwrap().pushed.is_none(),
        "never counted as pushed"
    );
    // A new quantity for it is tried again.
    stock.last_mut().unwrap().1 = 4;
    let stock_ref: Vec<(&str, u32, u32)> =
        stock.iter().map(|(s, q)| (s.as_str(), *q, *q)).collect();
    rig.wms.set_stock(&client_code(&seller), &stock_ref);
    let r3 = rig.push(&seller).await;
    assert_eq!((r3.via.as_str(), r3.changes), ("patch", 1));
    assert_eq!(r3.unknown_on_amazon, 1);
}

#[tokio::test]
async fn a_feed_stuck_in_progress_is_alerted_and_its_skus_pushed_again() {
    let listed: Vec<(String, u32)> = (0..60).map(|i| (format!("S-{i}"), 1)).collect();
    let listed_ref: Vec<(&str, u32)> = listed.iter().map(|(s, q)| (s.as_str(), *q)).collect();
    let (rig, seller) = rig("inv_stuck", "A1INVSTUCK", &listed_ref).await;
    rig.onboard(&seller, |_| {}).await;
    let stock: Vec<(String, u32)> = (0..60).map(|i| (format!("S-{i}"), 7)).collect();
    let stock_ref: Vec<(&str, u32, u32)> =
        stock.iter().map(|(s, q)| (s.as_str(), *q, *q)).collect();
    rig.wms.set_stock(&client_code(&seller), &stock_ref);
    rig.sim.control().stall_feeds(&seller.seller_id, 1);
    let r = rig.push(&seller).await;
    assert_eq!(r.feeds_submitted.len(), 1);
    rig.sim.control().advance_clock(Duration::from_secs(3600));
    let r2 = rig.push(&seller).await;
    assert_eq!(
        (r2.feeds_stuck, r2.changes),
        (0, 0),
        "an hour is not yet stuck: {r2:?}"
    );
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(3600 + 60));
    let r3 = rig.push(&seller).await;
    assert_eq!(r3.feeds_stuck, 1, "{r3:?}");
    assert_eq!(r3.changes, 60, "released SKUs go again");
    assert_eq!(r3.feeds_submitted.len(), 1);
    finish_feeds(&rig);
    let r4 = rig.push(&seller).await;
    assert_eq!(r4.accepted, 60);
    assert_eq!(
        r4.feeds_stuck, 1,
        "still reported while Amazon keeps it IN_PROGRESS"
    );
    assert_eq!(qty(&rig, &seller, "S-5"), Some(7));
}

#[tokio::test]
async fn a_wms_that_is_down_or_answers_garbage_changes_nothing() {
    // One SKU per page, so a failure can come after a good first page.
    let rig = PushRig::with_page_size("inv_wms_down", 1000.0, 1).await;
    let seller = add_seller(&rig.sim, "A1INVWMS", false);
    rig.sim
        .control()
        .seed_listings(
            &seller.seller_id,
            vec![ListingSpec::new("A", 1), ListingSpec::new("B", 1)],
        )
        .unwrap();
    rig.onboard(&seller, |_| {}).await;
    rig.wms
        .set_stock(&client_code(&seller), &[("A", 5, 5), ("B", 5, 5)]);
    rig.push(&seller).await;
    let id = seller.seller_id.parse().unwrap();
    let before = rig.store.load_stock(&id).await.unwrap();
    rig.wms
        .set_stock(&client_code(&seller), &[("A", 0, 0), ("B", 0, 0)]);
    for (mode, expect) in [
        (WmsMode::Garbage, "not a valid stock page"),
        (WmsMode::Status500, "HTTP 500"),
        (WmsMode::FailSecondPage, "HTTP 500"),
    ] {
        rig.wms.set_mode(mode);
        let err = rig.try_push(&seller).await.unwrap_err();
        assert!(
            err.contains("WMS stock") && err.contains(expect),
            "{mode:?}: {err}"
        );
        assert!(err.contains("nothing was pushed"), "{err}");
    }
    rig.wms.go_down();
    let err = rig.try_push(&seller).await.unwrap_err();
    assert!(err.contains("could not connect"), "{err}");
    assert_eq!(
        rig.store.load_stock(&id).await.unwrap(),
        before,
        "last-pushed state untouched"
    );
    assert_eq!(qty(&rig, &seller, "A"), Some(5), "nothing pushed");
}

#[tokio::test]
async fn the_schedule_fans_out_per_seller_and_honours_rates() {
    let rig = PushRig::new("inv_fanout", 1000.0).await;
    let hourly = add_seller(&rig.sim, "A1INVHOURLY", false);
    let off = add_seller(&rig.sim, "A1INVOFF", false);
    for s in [&hourly, &off] {
        rig.sim
            .control()
            .seed_listings(&s.seller_id, vec![ListingSpec::new("X", 0)])
            .unwrap();
        rig.wms.set_stock(&client_code(s), &[("X", 2, 2)]);
    }
    rig.onboard(&hourly, |s| {
        s.inventory.schedule = Some("rate(1 hour)".into())
    })
    .await;
    rig.onboard(&off, |s| s.jobs.inventory = false).await;
    let fan = rig.schedule().await;
    assert_eq!(
        (fan["jobs"].as_u64(), fan["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{fan}"
    );
    let results = rig.run_jobs(5).await;
    assert_eq!(results.len(), 1);
    assert_eq!(qty(&rig, &hourly, "X"), Some(2));
    assert_eq!(qty(&rig, &off, "X"), Some(0));
    assert_eq!(rig.schedule().await["jobs"], 0, "just ran: not due");
    rig.sim.control().advance_clock(Duration::from_secs(3600));
    assert_eq!(rig.schedule().await["jobs"], 1, "an hour later: due");
}

fn vm_hwm_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// 100,000 SKUs: 4 feeds of 25,000, all accepted on the next run. Prints the
/// figures (run alone with `--nocapture` for a clean peak RSS: the process
/// also holds the simulator, the fake WMS and any test running beside it).
#[tokio::test]
async fn a_hundred_thousand_skus_go_in_four_feeds() {
    const N: usize = 100_000;
    let rig = PushRig::with_page_size("inv_100k", 1000.0, 1000).await;
    let seller = add_seller(&rig.sim, "A1INV100K", false);
    rig.sim
        .control()
        .seed_listings(
            &seller.seller_id,
            (0..N)
                .map(|i| ListingSpec::new(&format!("SKU-{i:06}"), 1))
                .collect(),
        )
        .unwrap();
    rig.onboard(&seller, |_| {}).await;
    rig.wms.set_items(
        &client_code(&seller),
        (0..N)
            .map(|i| wms::StockItem {
                sku: domain::Sku::new(format!("SKU-{i:06}")).unwrap(),
                on_hand: (i % 50) as u32,
                available: (i % 50) as u32,
            })
            .collect(),
    );
    let before = vm_hwm_kib();
    let t = std::time::Instant::now();
    let r = rig.push(&seller).await;
    let first = t.elapsed();
    assert_eq!(r.via, "feed");
    assert_eq!(r.feeds_submitted.len(), 4, "{:?}", r.feeds_submitted);
    assert_eq!(r.messages_in_feeds, N);
    assert_eq!(r.zero_stock_first, N / 50);
    finish_feeds(&rig);
    let t = std::time::Instant::now();
    let r2 = rig.push(&seller).await;
    let second = t.elapsed();
    assert_eq!(
        (r2.feeds_settled, r2.accepted, r2.changes),
        (4, N, 0),
        "{r2:?}"
    );
    assert_eq!(
        rig.sim
            .control()
            .listing_quantity(&seller.seller_id, "SKU-000049"),
        Some(49)
    );
    println!(
        "100k SKUs: {} feeds, first run {:.1} s, settling run {:.1} s, peak RSS {} MiB (before the runs {} MiB; test process incl. simulator and fake WMS)",
        r.feeds_submitted.len(),
        first.as_secs_f64(),
        second.as_secs_f64(),
        vm_hwm_kib().unwrap_or(0) / 1024,
        before.unwrap_or(0) / 1024
    );
}

#[tokio::test]
async fn the_demo_step_pushes_stock_through_the_real_handler() {
    let rig = PushRig::new("inv_demo", 1000.0).await;
    let seller = add_seller(&rig.sim, "A1INVDEMO", false);
    rig.onboard(&seller, |_| {}).await;
    let (report, shown) = devstack::demo_inventory::push_inventory(
        &rig.stack.sdk,
        &rig.stack.resources,
        &rig.stack.template,
        &rig.sim,
        &seller.seller_id,
        &[("MUG-BLUE-350", 120, 97), ("MUG-RED-350", 0, 0)],
    )
    .await
    .expect("demo push");
    assert_eq!(
        (report.via.as_str(), report.accepted),
        ("patch", 2),
        "{report:?}"
    );
    assert_eq!(
        shown,
        vec![
            ("MUG-BLUE-350".to_string(), Some(120)),
            ("MUG-RED-350".to_string(), Some(0))
        ]
    );
}

#[tokio::test]
async fn the_sellers_fulfilment_channel_code_is_the_one_patched() {
    let (rig, seller) = rig("inv_channel", "A1INVCHANNEL", &[("A", 3)]).await;
    rig.onboard(&seller, |s| {
        s.inventory.fulfillment_channel_code = Some("REGIONAL_1".into());
    })
    .await;
    let code = client_code(&seller);
    rig.wms.set_stock(&code, &[("A", 10, 7)]);
    let r = rig.push(&seller).await;
    assert_eq!((r.via.as_str(), r.accepted), ("patch", 1), "{r:?}");
    let c = rig.sim.control();
    assert_eq!(
        c.listing_channel_quantity(&seller.seller_id, "A", "REGIONAL_1"),
        Some(10)
    );
    assert_eq!(
        c.listing_channel_quantity(&seller.seller_id, "A", "DEFAULT"),
        Some(3),
        "the DEFAULT channel is left alone"
    );
}

#[tokio::test]
async fn a_sellers_cron_schedule_is_honoured() {
    use chrono::Timelike;
    let rig = PushRig::new("inv_cron", 1000.0).await;
    let seller = add_seller(&rig.sim, "A1INVCRON", false);
    rig.sim
        .control()
        .seed_listings(&seller.seller_id, vec![ListingSpec::new("X", 0)])
        .unwrap();
    rig.wms.set_stock(&client_code(&seller), &[("X", 2, 2)]);
    // Every day at minute 30 of the hour after the simulator's current one.
    let now = rig.sim.control().now();
    let fire_hour = (now.hour() + 1) % 24;
    let expr = format!("cron(30 {fire_hour} * * ? *)");
    rig.onboard(&seller, |s| s.inventory.schedule = Some(expr.clone()))
        .await;
    assert_eq!(rig.schedule().await["jobs"], 1, "never pushed: due");
    assert_eq!(rig.run_jobs(5).await.len(), 1);
    // Move to minute 0 of the next hour: the cron has not fired yet.
    let to_next_hour = 3600 - u64::from(now.minute() * 60 + now.second());
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(to_next_hour + 60));
    assert_eq!(rig.schedule().await["jobs"], 0, "before {expr}: not due");
    rig.sim
        .control()
        .advance_clock(Duration::from_secs(30 * 60));
    assert_eq!(rig.schedule().await["jobs"], 1, "after {expr}: due");
}

/// The JSON log lines whose `fields` have `key` = `value`.
fn lines_with(logs: &str, key: &str, value: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"][key].as_str() == Some(value))
        .collect()
}

#[test]
fn the_clients_unknown_sku_codes_include_the_simulators() {
    assert!(spapi::models::listings::is_unknown_sku_code(
        spapi_sim::SKU_NOT_FOUND
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn a_queued_job_logs_every_rejected_sku_and_the_skus_the_wms_left_out() {
    let (logs, _guard) = tests::logs::LogCapture::start();
    let (rig, seller) = rig(
        "inv_rejections",
        "A1INVREJECT",
        &[("A", 0), ("B", 0), ("C", 0)],
    )
    .await;
    rig.onboard(&seller, |_| {}).await;
    // B's refusal *says* "not found", but its code is not an unknown-SKU code:
    // it is a rejection. GHOST is not listed at all (Amazon's unknown-SKU code).
    rig.sim
        .control()
        .refuse_listing(
            &seller.seller_id,
            "B",
            "4000002",
            "Attribute 'fulfillment_availability' not found in the product type PRODUCT.",
        )
        .unwrap();
    let code = client_code(&seller);
    rig.wms.set_stock(
        &code,
        &[("A", 5, 5), ("B", 5, 5), ("C", 5, 5), ("GHOST", 1, 1)],
    );
    let job = inventory_push::PushJob::push(seller.seller_id.clone());
    rig.pusher.jobs.enqueue(&job, Duration::ZERO).await.unwrap();
    let results = rig.run_jobs(1).await;
    assert!(results[0].is_ok(), "{results:?}");

    let text = logs.text();
    let b = lines_with(&text, "sku", "B");
    assert_eq!(b.len(), 1, "one line for B: {b:?}");
    assert_eq!(b[0]["level"], "WARN");
    assert_eq!(b[0]["fields"]["code"], "4000002");
    assert!(
        b[0]["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("not found in the product type"),
        "Amazon's message is logged: {b:?}"
    );
    let ghost = lines_with(&text, "sku", "GHOST");
    assert_eq!(ghost.len(), 1, "{ghost:?}");
    assert_eq!(ghost[0]["fields"]["code"], "4000001");
    let summary = lines_with(&text, "message", "inventory push finished");
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["fields"]["rejected"], 2);
    assert_eq!(
        summary[0]["fields"]["unknown_on_amazon"], 1,
        "B is rejected, GHOST unknown: decided by code"
    );
    assert_eq!(
        summary[0]["fields"]["rejected_by_code"],
        "4000001: 1, 4000002: 1"
    );

    // A WMS answer that ends early: C (pushed before) is missing.
    rig.wms.set_stock(&code, &[("A", 5, 5), ("B", 5, 5)]);
    rig.pusher.jobs.enqueue(&job, Duration::ZERO).await.unwrap();
    assert!(rig.run_jobs(1).await[0].is_ok());
    let text = logs.text();
    let missing: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["missing"].is_number())
        .collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0]["level"], "WARN");
    assert_eq!(missing[0]["fields"]["missing"], 1);
    assert_eq!(missing[0]["fields"]["first"], "C");

    // A WMS outage fails the queued job: the invocation's errorType says so,
    // and one ERROR line carries the sentence and the type.
    rig.wms.set_mode(WmsMode::Status500);
    rig.pusher.jobs.enqueue(&job, Duration::ZERO).await.unwrap();
    let event = {
        let sqs = rig.stack.sqs();
        let got = sqs
            .receive_message()
            .queue_url(&rig.config.job_queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let m = &got.messages()[0];
        serde_json::json!({"Records": [{
            "messageId": m.message_id(),
            "receiptHandle": m.receipt_handle(),
            "body": m.body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": rig.stack.resources.queue("InventoryPushJobQueue").unwrap().arn,
            "attributes": {}, "messageAttributes": {}
        }]})
    };
    let before = logs.text().lines().count();
    let err = inventory_push::handle(
        &rig.pusher,
        &rig.dead_letters,
        event,
        domain::Deadline::after(Duration::from_secs(60)),
    )
    .await
    .unwrap_err();
    let diagnostic = lambda_runtime::Diagnostic::from(lambda_kit::error::report(err));
    assert_eq!(diagnostic.error_type, "WmsUnavailable");
    assert!(
        diagnostic.error_message.contains("HTTP 500")
            && diagnostic.error_message.contains("nothing was pushed"),
        "{}",
        diagnostic.error_message
    );
    let text = logs.text();
    let errors: Vec<Value> = text
        .lines()
        .skip(before)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["fields"]["error_type"], "WmsUnavailable");
    assert_eq!(
        errors[0]["fields"]["message"].as_str(),
        Some(diagnostic.error_message.as_str()),
        "the ERROR line is the sentence, not a Debug dump"
    );
}
