//! The operator CLI, command line by command line, against moto and the
//! simulator: onboarding and the seller list, the consent check's diagnoses,
//! a backfill that sends only what the WMS never got and resumes after an
//! interruption, dead letters listed, shown and replayed (also after an
//! interruption), an order's history, and recent feeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use connector_admin::dlq::{DlqMessage, DlqPort, ReplayArgs, Resend, SqsPort, replay};
use connector_admin::queues::StageQueue;
use connector_admin::{CliError, Console};
use domain::settings::{Authorization, OrderStatus};
use domain::{Deadline, SellerId};
use lambda_kit::batch::{DeadLetter, DeadLetterSink, SqsDeadLetters};
use serde_json::{Value, json};
use store::{Ledger, SettingsStore, ShipmentRecords};
use tests::admin::{AdminRig, run_line};
use tests::sim::{DE, Fault, FaultTarget, TestSeller, add_seller, test_order};

fn settings_json(seller: &str, start: &str) -> String {
    json!({
        "seller_id": seller,
        "client_code": "ACME",
        "region": "EU",
        "marketplaces": [DE],
        "order_start_date": start,
        "order_prefix": "AC",
    })
    .to_string()
}

/// Onboards `seller` through the CLI (file + token on standard input).
async fn onboard(rig: &AdminRig, seller: &TestSeller, start: &str) {
    rig.write_file("acme.json", &settings_json(&seller.seller_id, start));
    rig.write_file("token.txt", &seller.refresh_token);
    rig.run("connector-admin --stage test seller put --file acme.json --refresh-token-stdin < token.txt")
        .await
        .ok();
}

#[tokio::test]
async fn onboarding_the_seller_list_and_enable_disable() {
    let rig = AdminRig::new("cli_sellers").await;
    let seller = add_seller(&rig.pull.sim, "A1CLISELLERS", false);

    // A new seller needs its token; a bad file says what is wrong.
    rig.write_file("acme.json", &settings_json("A1CLISELLERS", "2026-11-01"));
    let no_token = rig.run("connector-admin seller put --file acme.json").await;
    assert_eq!(no_token.code, 2, "{no_token:?}");
    assert!(
        no_token.err.contains("--refresh-token-stdin"),
        "{}",
        no_token.err
    );
    rig.write_file("bad.json", r#"{"seller_id": "A1CLISELLERS"}"#);
    let bad = rig
        .run_with_input(
            "connector-admin seller put --file bad.json --refresh-token-stdin",
            "Atzr|x",
        )
        .await;
    assert_eq!(bad.code, 2);
    assert!(bad.err.contains("settings are not valid"), "{}", bad.err);

    onboard(&rig, &seller, "2026-11-01").await;
    let list = rig.run("connector-admin --json sellers").await;
    list.ok();
    let s = &list.json()["sellers"][0];
    assert_eq!(s["seller_id"], "A1CLISELLERS");
    assert_eq!(s["authorization"], "active");
    assert_eq!(
        s["jobs"],
        json!(["orders", "shipments", "inventory", "labels"])
    );
    assert_eq!(s["token_age_days"], 0, "the token was just stored: {s}");
    assert_eq!(s["dead_letters"], 0);
    assert!(s["last_pull"].is_null());
    assert!(
        s["health"][0]
            .as_str()
            .unwrap()
            .contains("no order pull has finished"),
        "{s}"
    );
    // The table for a person, plain off a terminal.
    let table = rig.run("connector-admin sellers").await;
    table.ok();
    assert!(table.out.contains("| A1CLISELLERS |"), "{}", table.out);

    // A pull moves "last pull"; the health turns ok.
    rig.pull.settle();
    rig.pull.pull(&seller, order_pull::Mode::Incremental).await;
    let s = rig
        .run("connector-admin --json sellers --no-dlq")
        .await
        .json()["sellers"][0]
        .clone();
    assert!(s["last_pull"].is_string(), "{s}");
    assert_eq!(s["health"], json!(["ok"]));
    assert!(s["dead_letters"].is_null(), "--no-dlq reads no queue");

    // One job off, then the whole seller, then back on.
    rig.run("connector-admin seller disable A1CLISELLERS --job labels")
        .await
        .ok();
    let id = SellerId::new("A1CLISELLERS").unwrap();
    let stored = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    assert!(!stored.jobs.labels && stored.enabled);
    rig.run("connector-admin seller disable A1CLISELLERS")
        .await
        .ok();
    assert!(
        !rig.pull
            .store
            .get_settings(&id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let show = rig
        .run("connector-admin --json seller show A1CLISELLERS")
        .await;
    show.ok();
    assert_eq!(show.json()["settings"]["enabled"], false);
    assert!(
        show.json()["state"]["health"][0]
            .as_str()
            .unwrap()
            .starts_with("disabled"),
    );
    assert!(!show.out.contains("Atzr|"), "no secret value is printed");
    // The shipping method table (built-in defaults here) and the marketplaces.
    let methods = show.json()["shipping_methods"].to_string();
    assert!(
        methods.contains("EXPEDITED -> EXPRESS (default)") && methods.contains("UNMAPPED"),
        "{methods}"
    );
    assert!(
        show.json()["marketplaces"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("listed in the settings: A1PA6795UKMFR9"),
        "{}",
        show.out
    );
    // The hint the label function prints names this very command.
    rig.run("connector-admin seller enable A1CLISELLERS --job labels")
        .await
        .ok();
    let stored = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    assert!(stored.jobs.labels && stored.enabled);

    // A re-authorisation stores the new token and clears a broken state.
    rig.pull
        .store
        .mark_authorization_broken(&id, "invalid_grant")
        .await
        .unwrap();
    let broken = rig
        .run("connector-admin --json sellers --no-dlq")
        .await
        .json();
    assert_eq!(broken["sellers"][0]["authorization"], "broken");
    assert!(
        broken["sellers"][0]["health"][0]
            .as_str()
            .unwrap()
            .contains("seller put A1CLISELLERS --refresh-token-stdin"),
        "{broken}"
    );
    rig.run_with_input(
        "connector-admin seller put A1CLISELLERS --refresh-token-stdin",
        &seller.refresh_token,
    )
    .await
    .ok();
    assert_eq!(
        rig.pull
            .store
            .get_settings(&id)
            .await
            .unwrap()
            .unwrap()
            .authorization,
        Authorization::Active
    );

    let unknown = rig.run("connector-admin seller show A1NOSUCHSELLER").await;
    assert_eq!(unknown.code, 3, "{unknown:?}");
    let unknown_json = rig
        .run("connector-admin --json seller show A1NOSUCHSELLER")
        .await;
    assert_eq!(unknown_json.json()["error"]["exit_code"], 3);
}

#[tokio::test]
async fn check_calls_the_configured_endpoints_and_says_what_failed() {
    let rig = AdminRig::new("cli_check").await;
    let seller = add_seller(&rig.pull.sim, "A1CLICHECK", false);
    onboard(&rig, &seller, "2026-11-01").await;

    let ok = rig.run("connector-admin --json check A1CLICHECK").await;
    ok.ok();
    let report = ok.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["marketplaces"], json!([DE]));
    assert_eq!(
        report["spapi_endpoint"],
        rig.pull.sim.base_url(),
        "the simulator, not Amazon"
    );

    // A missing role: Amazon answers 403.
    rig.pull
        .sim
        .control()
        .inject_fault(
            FaultTarget::Operation(domain::Operation::GetMarketplaceParticipations),
            Fault::Unauthorized,
        )
        .unwrap();
    let denied = rig.run("connector-admin check A1CLICHECK").await;
    assert_eq!(denied.code, 4, "{denied:?}");
    assert!(
        denied.err.contains("403") && denied.err.contains("role"),
        "{}",
        denied.err
    );

    // Amazon busy.
    for _ in 0..4 {
        rig.pull
            .sim
            .control()
            .inject_fault(
                FaultTarget::Operation(domain::Operation::GetMarketplaceParticipations),
                Fault::status(503),
            )
            .unwrap();
    }
    let busy = rig.run("connector-admin check A1CLICHECK").await;
    assert_eq!(busy.code, 5, "{busy:?}");
    assert!(busy.err.contains("run the check again"), "{}", busy.err);
    assert!(
        !busy.err.contains("will retry later"),
        "nothing retries: {}",
        busy.err
    );

    // The network: nothing listens at the configured endpoint.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = AdminRig::context(
        &rig.pull,
        Some(dead.clone()),
        Some(rig.pull.sim.lwa_token_url()),
    );
    let unreachable = rig
        .run_in(&offline, "connector-admin check A1CLICHECK", "")
        .await;
    assert_eq!(unreachable.code, 5, "{unreachable:?}");
    assert!(
        unreachable.err.contains("could not reach") && unreachable.err.contains(&dead),
        "{}",
        unreachable.err
    );

    // Half an endpoint configuration is refused, never silently Amazon.
    let half = connector_admin::Context::new(
        rig.pull.stack.sdk.clone(),
        &rig.pull.stack.stage,
        &lambda_kit::spapi_env::SpApiEnv {
            endpoint: Some(dead),
            lwa_token_url: None,
            time_scale: 1.0,
        },
        Arc::new(store::SystemClock),
    );
    assert_eq!(half.err().map(|e| e.exit_code()), Some(6));

    // The application's own credentials are wrong.
    devstack::demo::set_app_secret(
        &rig.pull.stack.sdk,
        &rig.pull.stack.resources,
        tests::sim::CLIENT_ID,
        "not-the-secret",
    )
    .await
    .unwrap();
    let fresh = AdminRig::context(
        &rig.pull,
        Some(rig.pull.sim.base_url()),
        Some(rig.pull.sim.lwa_token_url()),
    );
    let app = rig
        .run_in(&fresh, "connector-admin check A1CLICHECK", "")
        .await;
    assert_eq!(app.code, 6, "{app:?}");
    assert!(app.err.contains("application's credentials"), "{}", app.err);
    devstack::demo::set_app_secret(
        &rig.pull.stack.sdk,
        &rig.pull.stack.resources,
        tests::sim::CLIENT_ID,
        tests::sim::CLIENT_SECRET,
    )
    .await
    .unwrap();

    // The seller revoked the authorisation: LWA invalid_grant.
    rig.pull
        .sim
        .control()
        .revoke_refresh_token("A1CLICHECK")
        .unwrap();
    let fresh = AdminRig::context(
        &rig.pull,
        Some(rig.pull.sim.base_url()),
        Some(rig.pull.sim.lwa_token_url()),
    );
    let revoked = rig
        .run_in(&fresh, "connector-admin check A1CLICHECK", "")
        .await;
    assert_eq!(revoked.code, 4, "{revoked:?}");
    assert!(
        revoked.err.contains("invalid_grant")
            && revoked
                .err
                .contains("seller put A1CLICHECK --refresh-token-stdin"),
        "{}",
        revoked.err
    );
    let id = SellerId::new("A1CLICHECK").unwrap();
    assert!(matches!(
        rig.pull
            .store
            .get_settings(&id)
            .await
            .unwrap()
            .unwrap()
            .authorization,
        Authorization::Broken { .. }
    ));

    // A configured marketplace the seller does not sell in.
    let mut settings: Value =
        serde_json::from_str(&settings_json("A1CLICHECK", "2026-11-01")).unwrap();
    settings["marketplaces"] = json!([DE, tests::sim::UK]);
    rig.write_file("acme.json", &settings.to_string());
    let other = add_seller(&rig.pull.sim, "A1CLICHECKTWO", false);
    settings["seller_id"] = json!("A1CLICHECKTWO");
    rig.write_file("two.json", &settings.to_string());
    rig.run_with_input(
        "connector-admin seller put --file two.json --refresh-token-stdin",
        &other.refresh_token,
    )
    .await
    .ok();
    let wrong = rig.run("connector-admin check A1CLICHECKTWO").await;
    assert_eq!(wrong.code, 4, "{wrong:?}");
    assert!(wrong.err.contains(tests::sim::UK), "{}", wrong.err);
}

/// Hands the first `n` sends to the queue, then hangs (a process killed
/// between the WMS queue and the ledger).
struct HangAfter {
    inner: Arc<dyn order_pull::ports::OrderSink>,
    sends: AtomicUsize,
    n: usize,
}

#[async_trait::async_trait]
impl order_pull::ports::OrderSink for HangAfter {
    async fn send(
        &self,
        message: order_pull::ports::Outgoing<'_>,
    ) -> Result<(), order_pull::ports::QueueError> {
        self.inner.send(message).await?;
        if self.sends.fetch_add(1, Ordering::SeqCst) + 1 >= self.n {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_backfill_sends_only_what_the_wms_never_got_and_resumes_after_an_interruption() {
    let rig = AdminRig::new("cli_backfill").await;
    let seller = add_seller(&rig.pull.sim, "A1CLIBACKFILL", true);
    let now = rig.pull.sim.control().now();
    let start = (now - TimeDelta::days(20)).date_naive().to_string();
    onboard(&rig, &seller, &start).await;
    let id = SellerId::new("A1CLIBACKFILL").unwrap();
    // 150 orders created five days ago, in two batches: the first reached
    // the WMS; the second Amazon returned late (its last update is older than
    // the pull's checkpoint), so no scheduled pull will ever see it.
    let created = now - TimeDelta::days(5);
    let spec = |n: u32| tests::sim::OrderSpec {
        created: Some(created + TimeDelta::minutes(i64::from(n))),
        ..test_order(n, DE)
    };
    rig.pull
        .sim
        .control()
        .seed_orders(&seller.seller_id, (1..=60).map(spec).collect())
        .unwrap();
    rig.pull.settle();
    assert_eq!(
        rig.pull
            .pull(&seller, order_pull::Mode::Incremental)
            .await
            .sent,
        60
    );
    rig.pull
        .sim
        .control()
        .seed_orders(&seller.seller_id, (61..=150).map(spec).collect())
        .unwrap();
    rig.pull.settle();
    let missed = rig.pull.pull(&seller, order_pull::Mode::Incremental).await;
    assert_eq!(missed.orders_seen, 0, "{missed:?}");
    rig.pull.drain_wms().await;
    let s = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    let unknown = rig.run("connector-admin order 302-0000070-0000070").await;
    assert_eq!(unknown.code, 3, "never seen: {unknown:?}");
    assert!(unknown.err.contains("backfill"), "{}", unknown.err);

    let day = created.date_naive().to_string();
    let line =
        format!("connector-admin --stage test backfill A1CLIBACKFILL --from {day} --to {day}");
    // An interrupted run: killed after 30 sends, in the middle of a page.
    let (cli, _) = rig.parse(&line);
    let connector_admin::Command::Backfill(args) = cli.command else {
        panic!("a backfill")
    };
    let range = connector_admin::backfill::range(&args, &s, rig.pull.sim.control().now()).unwrap();
    let mut puller = rig.pull.puller.clone();
    puller.sink = Arc::new(HangAfter {
        inner: rig.pull.puller.sink.clone(),
        sends: AtomicUsize::new(0),
        n: 30,
    });
    let cut = tokio::time::timeout(
        Duration::from_secs(20),
        puller.backfill(
            &id,
            range.from,
            range.to,
            &Deadline::after(Duration::from_secs(60)),
            |_| {},
        ),
    )
    .await;
    assert!(cut.is_err(), "the run was cut off");
    // Run again at once: the interrupted send is still claimed.
    let again = rig
        .run(&format!(
            "connector-admin --json backfill A1CLIBACKFILL --from {day} --to {day}"
        ))
        .await;
    assert_eq!(again.code, 5, "{again:?}");
    let report = &again.json()["backfill"];
    assert_eq!(report["finished"], true, "{report}");
    assert!(
        report["totals"]["in_flight"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert!(
        again.err.contains("run the same backfill again"),
        "{}",
        again.err
    );
    assert!(
        again.err.contains("backfill: page"),
        "progress as plain lines: {}",
        again.err
    );
    // Eleven minutes later the claim is taken over (same deduplication id).
    rig.pull
        .sim
        .control()
        .advance_clock(Duration::from_secs(11 * 60));
    let last = rig.run(&line).await;
    last.ok();
    assert!(last.out.contains("sent now"), "a summary: {}", last.out);
    let delivered = rig.pull.drain_wms().await;
    let mut numbers: Vec<String> = delivered
        .iter()
        .map(|m| m.order_number().to_string())
        .collect();
    numbers.sort();
    let before = numbers.len();
    numbers.dedup();
    assert_eq!(before, numbers.len(), "the WMS got no order twice");
    assert_eq!(
        numbers.len(),
        90,
        "every order the WMS never got, and only those"
    );
    assert!(
        numbers
            .iter()
            .all(|n| n.as_str() >= "AC302-0000061-0000061")
    );
    // Every one of the 150 is in the ledger now, sent.
    for n in [1u32, 61, 150] {
        let order = domain::AmazonOrderId::new(format!("302-{n:07}-{n:07}")).unwrap();
        let e = rig
            .pull
            .store
            .get_order(&id, &order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.state, store::SendState::Sent);
    }
    // A bad range is a usage error.
    let bad = rig
        .run("connector-admin backfill A1CLIBACKFILL --from yesterday --to today")
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");
}

/// The real SQS port, but the run "dies" at the `fail_at`-th call of `step`.
struct Interrupting {
    inner: SqsPort,
    step: &'static str,
    fail_at: usize,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl DlqPort for Interrupting {
    async fn receive(&self, url: &str, hold: i32) -> Result<Vec<DlqMessage>, CliError> {
        self.inner.receive(url, hold).await
    }
    async fn release(&self, url: &str, receipt: &str) -> Result<(), CliError> {
        self.inner.release(url, receipt).await
    }
    async fn send(&self, target: &StageQueue, message: &Resend) -> Result<(), CliError> {
        if self.step == "send" && self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(CliError::temporary("connection reset (test)"));
        }
        self.inner.send(target, message).await
    }
    async fn delete(&self, url: &str, receipt: &str) -> Result<(), CliError> {
        if self.step == "delete" && self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(CliError::temporary("connection reset (test)"));
        }
        self.inner.delete(url, receipt).await
    }
}

async fn receive_all(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    devstack::drain::messages(sqs, url)
        .await
        .expect("drain the queue")
}

#[tokio::test]
async fn dead_letters_are_listed_shown_and_replayed_once_even_when_interrupted() {
    let rig = AdminRig::new("cli_dlq").await;
    let seller = add_seller(&rig.pull.sim, "A1CLIDLQ", false);
    onboard(&rig, &seller, "2026-11-01").await;
    let stack = &rig.pull.stack;
    let sqs = stack.sqs();
    let url = |id: &str| stack.resources.queue(id).unwrap().url.clone();
    let name = |id: &str| stack.resources.queue(id).unwrap().name.clone();
    // Five shipment messages refused by the function (with their reason).
    let sink = SqsDeadLetters::new(sqs.clone(), url("ShipmentDeadLetterQueue"));
    for i in 1..=5 {
        sink.dead_letter(DeadLetter {
            source_message_id: format!("src-{i}"),
            body: json!({"schema": 1, "seller_id": "A1CLIDLQ", "order_number": format!("AC302-000000{i}-000000{i}"), "package_id": format!("PKG-{i}")}).to_string(),
            reason: format!("unknown order AC302-000000{i}-000000{i}: send it again once the order is pulled"),
            message_group_id: None,
            source_queue: Some(name("ShipmentQueue")),
        })
        .await
        .unwrap();
    }
    // Two order-pull jobs moved by SQS after five failed receives.
    let jobs = url("OrderPullJobQueue");
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(&jobs)
            .message_body(json!({"seller_id": "A1CLIDLQ", "mode": "incremental"}).to_string())
            .send()
            .await
            .unwrap();
    }
    for _ in 0..6 {
        let got = sqs
            .receive_message()
            .queue_url(&jobs)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        if got.messages.unwrap_or_default().is_empty() {
            break;
        }
    }

    let list = rig.run("connector-admin --json dlq list").await;
    list.ok();
    let queues = list.json()["queues"].as_array().unwrap().clone();
    let depth = |short: &str| {
        queues
            .iter()
            .find(|q| q["short"] == short)
            .unwrap_or_else(|| panic!("no {short} in {queues:#?}"))["queue"]["visible"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(depth("shipments"), 5);
    assert_eq!(depth("order-pull-jobs"), 2);
    assert_eq!(depth("wms-orders"), 0);
    assert_eq!(depth("inventory-push-jobs"), 0);

    let show = rig
        .run("connector-admin --json dlq show --queue shipments")
        .await;
    show.ok();
    let messages = show.json()["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 5);
    assert!(
        messages
            .iter()
            .all(|m| m["reason"].as_str().unwrap().starts_with("unknown order"))
    );
    assert!(messages.iter().all(|m| m["seller"] == "A1CLIDLQ"));
    assert!(messages[0].get("body").is_none(), "bodies only when asked");
    let jobs_shown = rig
        .run("connector-admin --json dlq show --queue order-pull-jobs")
        .await;
    let job = &jobs_shown.json()["messages"][0];
    assert!(
        job["reason"]
            .as_str()
            .unwrap()
            .contains("moved here by SQS"),
        "{job}"
    );
    // The seller list counts them.
    let s = &rig.run("connector-admin --json sellers").await.json()["sellers"][0];
    assert_eq!(s["dead_letters"], 7, "{s}");

    // A dry run changes nothing.
    let dry = rig
        .run("connector-admin --json dlq replay --queue shipments --all --dry-run")
        .await;
    dry.ok();
    assert_eq!(dry.json()["messages"].as_array().unwrap().len(), 5);
    let unchanged = rig
        .run("connector-admin --json dlq list --queue shipments")
        .await;
    assert_eq!(unchanged.json()["queues"][0]["queue"]["visible"], 5);
    let usage = rig
        .run("connector-admin dlq replay --queue shipments")
        .await;
    assert_eq!(usage.code, 2, "{usage:?}");

    // Interrupted twice: once after two messages were sent but before the
    // second was deleted, once when a send itself failed.
    let args = |all: bool, messages: Vec<String>| ReplayArgs {
        queue: connector_admin::dlq::QueueArgs {
            queue: Some("shipments".into()),
        },
        messages,
        all,
        dry_run: false,
    };
    let (console, _) = Console::capture(false, "");
    let cut_at_delete = Interrupting {
        inner: SqsPort { sqs: sqs.clone() },
        step: "delete",
        fail_at: 2,
        calls: AtomicUsize::new(0),
    };
    let first = replay(
        &args(true, vec![]),
        &rig.ctx,
        &console,
        &cut_at_delete,
        rig.ctx.store(),
    )
    .await
    .unwrap();
    assert!(first.interrupted.is_some());
    assert_eq!(first.count("sent"), 1, "{first:?}");
    let cut_at_send = Interrupting {
        inner: SqsPort { sqs: sqs.clone() },
        step: "send",
        fail_at: 2,
        calls: AtomicUsize::new(0),
    };
    let second = replay(
        &args(true, vec![]),
        &rig.ctx,
        &console,
        &cut_at_send,
        rig.ctx.store(),
    )
    .await
    .unwrap();
    assert!(second.interrupted.is_some());
    assert_eq!(second.count("already_sent"), 1, "deleted only: {second:?}");
    // Then the command as an operator runs it.
    let done = rig
        .run("connector-admin --json dlq replay --queue shipments --all")
        .await;
    done.ok();
    let outcomes: Vec<String> = done.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["outcome"].as_str().unwrap().to_string())
        .collect();
    assert!(
        outcomes.contains(&"resent_after_interruption".to_string()),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| o != "already_sent" || outcomes.len() == 3),
        "{outcomes:?}"
    );
    // Every message is back on the shipment queue exactly once, without the
    // dead-letter reason, and the dead-letter queue is empty.
    let back = receive_all(&sqs, &url("ShipmentQueue")).await;
    let mut packages: Vec<String> = back
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(m.body().unwrap()).unwrap()["package_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    packages.sort();
    assert_eq!(
        packages,
        vec!["PKG-1", "PKG-2", "PKG-3", "PKG-4", "PKG-5"],
        "nothing lost, nothing twice"
    );
    for m in &back {
        let attrs = m.message_attributes().unwrap();
        assert!(!attrs.contains_key("error_reason"));
        assert!(attrs.contains_key("replay_of"));
    }
    assert_eq!(
        rig.run("connector-admin --json dlq list --queue shipments")
            .await
            .json()["queues"][0]["queue"]["visible"],
        0
    );

    // One message by id, back to the queue SQS moved it from.
    let id = jobs_shown.json()["messages"][0]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    rig.run(&format!("connector-admin dlq replay --message {id}"))
        .await
        .ok();
    let replayed = receive_all(&sqs, &jobs).await;
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        rig.run("connector-admin --json dlq list --queue order-pull-jobs")
            .await
            .json()["queues"][0]["queue"]["visible"],
        1
    );
    let gone = rig
        .run(&format!("connector-admin dlq replay --message {id}"))
        .await;
    assert_eq!(gone.code, 3, "{gone:?}");
}

#[tokio::test]
async fn an_orders_history_tells_what_happened_to_it() {
    let ship = tests::ship::ShipRig::new("cli_order", "A1CLIORDER", 2).await;
    let pull = &ship.pull;
    let id = ship.seller_id();
    let mut settings = pull.store.get_settings(&id).await.unwrap().unwrap();
    settings.order_statuses.push(OrderStatus::Pending);
    pull.set_settings(&settings).await;
    // A pending order, held, then sent once it is unshipped.
    let pending = pull
        .sim
        .control()
        .seed_order(
            &ship.seller.seller_id,
            tests::sim::OrderSpec {
                order_id: Some("302-7777777-7777777".into()),
                status: Some(OrderStatus::Pending),
                ..test_order(7, DE)
            },
        )
        .unwrap();
    pull.settle();
    let r = pull.pull(&ship.seller, order_pull::Mode::Incremental).await;
    assert_eq!(r.held, 1, "{r:?} {:?}", settings.order_statuses);
    // An order to a country the seller does not ship to: filtered.
    settings.ship_to_countries = vec!["FR".into()];
    pull.set_settings(&settings).await;
    pull.sim
        .control()
        .seed_order(
            &ship.seller.seller_id,
            tests::sim::OrderSpec {
                order_id: Some("302-8888888-8888888".into()),
                ..test_order(8, DE)
            },
        )
        .unwrap();
    pull.settle();
    let r = pull.pull(&ship.seller, order_pull::Mode::Incremental).await;
    assert!(r.filtered >= 1 && r.sent == 0, "{r:?}");
    settings.ship_to_countries.clear();
    pull.set_settings(&settings).await;
    pull.sim
        .control()
        .set_status(&ship.seller.seller_id, &pending, OrderStatus::Unshipped)
        .unwrap();
    pull.settle();
    // 7 is sent now, and 8 too (the allow-list no longer excludes it).
    assert_eq!(
        pull.pull(&ship.seller, order_pull::Mode::Incremental)
            .await
            .sent,
        2
    );
    // Order 1 ships in one package through confirmShipment.
    ship.batch(&[ship.message(1, "PKG-1", "DHL", &[])])
        .await
        .unwrap();
    // Order 2: a label bought through the label function, then Amazon
    // cancels the whole order and the pull tells the WMS.
    let two = domain::AmazonOrderId::new(ship.order_id(2)).unwrap();
    pull.store
        .record_label_bought(
            &id,
            &two,
            &store::LabelRecord {
                tracking_number: "TRACK-2".into(),
                shipment_id: Some("amzn1.shipment.2".into()),
                carrier: Some("Amazon Shipping".into()),
                bought_at: pull.sim.control().now(),
            },
            (pull.sim.control().now() + TimeDelta::days(30)).timestamp(),
        )
        .await
        .unwrap();
    pull.sim
        .control()
        .cancel(
            &ship.seller.seller_id,
            two.as_str(),
            tests::sim::CancelSpec::default(),
        )
        .unwrap();
    pull.settle();
    assert_eq!(
        pull.pull(&ship.seller, order_pull::Mode::Incremental)
            .await
            .cancellations,
        1
    );
    let ctx = tests::admin::AdminRig::context(
        pull,
        Some(pull.sim.base_url()),
        Some(pull.sim.lwa_token_url()),
    );
    let out = run_line(&ctx, "connector-admin --json order 302-7777777-7777777").await;
    let doc = out.ok().json();
    let events: Vec<String> = doc["orders"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    let held = events.iter().position(|e| e == "first held").expect("held");
    let sent = events
        .iter()
        .position(|e| e == "sent to the WMS")
        .expect("sent");
    assert!(held < sent, "{events:?}");
    assert!(
        doc["orders"][0]["events"][held]["detail"]
            .as_str()
            .unwrap()
            .contains("PENDING")
    );
    assert!(
        events.contains(&"sent to the WMS".to_string()),
        "{events:?}"
    );
    assert_eq!(doc["orders"][0]["state"], "sent");

    let first = ship.order_id(1);
    let number = ship.number(1);
    let out = run_line(&ctx, &format!("connector-admin --json order {number}")).await;
    let doc = out.ok().json();
    let o = &doc["orders"][0];
    assert_eq!(o["amazon_order_id"], first);
    let confirmed = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "package confirmed")
        .unwrap_or_else(|| panic!("{o:#}"));
    assert!(
        confirmed["detail"]
            .as_str()
            .unwrap()
            .contains("confirmShipment accepted (HTTP 204)"),
        "{confirmed}"
    );
    assert!(
        o["lines"]
            .as_array()
            .map(|l| !l.is_empty())
            .unwrap_or(false),
        "{o}"
    );
    // A person's view: a table, no buyer data.
    let out = run_line(&ctx, "connector-admin order 302-7777777-7777777").await;
    out.ok();
    assert!(out.out.contains("first held"), "{}", out.out);
    assert!(!out.out.contains("Test Buyer"), "no buyer data");
    let out = run_line(&ctx, "connector-admin --json order 302-8888888-8888888").await;
    let doc = out.ok().json();
    let o = &doc["orders"][0];
    let filtered = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "first filtered")
        .unwrap_or_else(|| panic!("{o:#}"));
    assert!(
        filtered["detail"]
            .as_str()
            .unwrap()
            .contains("outside the allow-list"),
        "{o:#}"
    );
    assert_eq!(
        o["state"], "sent",
        "filtered, then sent once the settings allowed it"
    );
    let out = run_line(&ctx, &format!("connector-admin --json order {two}")).await;
    let doc = out.ok().json();
    let events: Vec<&str> = doc["orders"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"label bought"), "{events:?}");
    assert!(events.contains(&"cancellation sent"), "{events:?}");
    assert_eq!(
        run_line(&ctx, "connector-admin order 302-9999999-9999999")
            .await
            .code,
        3
    );
}

#[tokio::test]
async fn recent_feeds_show_their_status_and_report_errors() {
    let rig = tests::inventory::PushRig::new("cli_feeds", 1000.0).await;
    let seller = add_seller(&rig.sim, "A1CLIFEEDS", false);
    let listed: Vec<spapi_sim::ListingSpec> = (0..60)
        .map(|i| spapi_sim::ListingSpec::new(&format!("SKU-{i:02}"), 1))
        .collect();
    rig.sim
        .control()
        .seed_listings(&seller.seller_id, listed)
        .unwrap();
    rig.onboard(&seller, |_| {}).await;
    let mut stock: Vec<(String, u32, u32)> =
        (0..60).map(|i| (format!("SKU-{i:02}"), 5, 5)).collect();
    stock.push(("NOT-ON-AMAZON".into(), 3, 3));
    let stock_ref: Vec<(&str, u32, u32)> =
        stock.iter().map(|(s, a, b)| (s.as_str(), *a, *b)).collect();
    rig.wms
        .set_stock(&tests::inventory::client_code(&seller), &stock_ref);
    let pushed = rig.push(&seller).await;
    assert_eq!(pushed.feeds_submitted.len(), 1);
    let clock: Arc<dyn store::Clock> = Arc::new(tests::pull::SimClock(rig.sim.control().clone()));
    let ctx = connector_admin::Context::new(
        rig.stack.sdk.clone(),
        &rig.stack.stage,
        &lambda_kit::spapi_env::SpApiEnv {
            endpoint: Some(rig.sim.base_url()),
            lwa_token_url: Some(rig.sim.lwa_token_url()),
            time_scale: 1000.0,
        },
        clock,
    )
    .unwrap();
    rig.sim.control().advance_clock(Duration::from_secs(120));
    let done = run_line(&ctx, "connector-admin --json feeds A1CLIFEEDS --reports 1")
        .await
        .ok()
        .json();
    let f = &done["feeds"][0];
    assert_eq!(f["feed_id"], json!(pushed.feeds_submitted[0]));
    assert_eq!(
        f["tracked"], true,
        "the push has not read its report yet: {f}"
    );
    assert_eq!(f["status"], "DONE", "{f}");
    assert_eq!(f["processed"], 61);
    let errors = f["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{f}");
    assert_eq!(errors[0]["subject"], "NOT-ON-AMAZON");
    assert_eq!(errors[0]["code"], "4000001");
    // After the push settled it, the table no longer tracks it.
    rig.push(&seller).await;
    let settled = run_line(&ctx, "connector-admin --json feeds A1CLIFEEDS --reports 0")
        .await
        .ok()
        .json();
    assert_eq!(settled["feeds"][0]["tracked"], false);
}

#[tokio::test]
async fn a_failing_function_reports_a_stable_error_type_and_a_sentence() {
    let (rig, _seller) = tests::pull::rig_with_seller("cli_errtype", "A1CLIERRTYPE").await;
    let err = order_pull::handle(
        &rig.puller,
        &rig.dead_letters,
        json!({"kind": "pull", "seller_id": "A1NOSUCHSELLER", "mode": "incremental"}),
        Deadline::after(Duration::from_secs(30)),
    )
    .await
    .unwrap_err();
    let d = lambda_runtime::Diagnostic::from(lambda_kit::error::report(err));
    assert_eq!(d.error_type, "SellerUnknown");
    assert!(
        d.error_message.contains("onboard the seller"),
        "{}",
        d.error_message
    );
    let bad = order_pull::handle(
        &rig.puller,
        &rig.dead_letters,
        json!({"kind": "nonsense"}),
        Deadline::after(Duration::from_secs(30)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(lambda_kit::error::report(bad)).error_type,
        "InvalidEvent"
    );
}
