use std::collections::HashMap;

use super::*;
use crate::batch::{DeadLetter, DeadLetterSink};

fn seller(id: &str) -> SellerId {
    SellerId::new(id).unwrap()
}

fn metrics() -> (Metrics, MemorySink) {
    let sink = MemorySink::new();
    (Metrics::new("prod", Arc::new(sink.clone())), sink)
}

fn parsed(sink: &MemorySink) -> Vec<Parsed> {
    sink.take()
        .iter()
        .map(|l| parse_document(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The two documents of a flush: the seller's and the stage's.
fn seller_and_stage(docs: Vec<Parsed>) -> (Parsed, Parsed) {
    assert_eq!(docs.len(), 2, "{docs:?}");
    let (mut per_seller, mut stage): (Vec<_>, Vec<_>) = docs
        .into_iter()
        .partition(|d| d.dimension("Seller").is_some());
    match (per_seller.pop(), stage.pop()) {
        (Some(per_seller), Some(stage)) => (per_seller, stage),
        _ => panic!("not one per-seller and one stage document"),
    }
}

fn sets(lists: &[&[&str]]) -> Vec<Vec<String>> {
    lists
        .iter()
        .map(|s| s.iter().map(|d| d.to_string()).collect())
        .collect()
}

#[test]
fn a_job_counter_is_one_emf_document_per_seller_and_job() {
    let (m, sink) = metrics();
    let a = seller("A1SELLERONE");
    let b = seller("A2SELLERTWO");
    m.count(Job::OrderPull, Some(&a), Counter::OrdersSeen, 12);
    m.count(Job::OrderPull, Some(&a), Counter::OrdersSent, 10);
    m.count(Job::OrderPull, Some(&a), Counter::OrdersSent, 2);
    m.count(Job::OrderPull, Some(&b), Counter::OrdersSent, 1);
    m.count(Job::OrderPull, None, Counter::DeadLettered, 1);
    m.count(
        Job::ShipmentConfirm,
        Some(&a),
        Counter::ConfirmationsAccepted,
        3,
    );
    assert_eq!(m.flush(), 4);
    let raw = sink.lines();
    assert!(raw.iter().all(|l| !l.contains('\n')), "one line each");
    let docs = parsed(&sink);
    let find = |job: &str, seller: Option<&str>| {
        docs.iter()
            .find(|d| d.dimension("Job") == Some(job) && d.dimension("Seller") == seller)
            .unwrap_or_else(|| panic!("no document for {job} {seller:?}: {docs:?}"))
    };
    let a_pull = find("order-pull", Some("A1SELLERONE"));
    assert_eq!(a_pull.values["OrdersSeen"], 12.0);
    assert_eq!(a_pull.values["OrdersSent"], 12.0, "counts add up");
    assert_eq!(a_pull.dimension("Stage"), Some("prod"));
    assert_eq!(
        a_pull.sets_of("OrdersSent"),
        sets(&[&["Stage", "Job"], &["Stage", "Job", "Seller"]])
    );
    assert_eq!(a_pull.unit_of("OrdersSent"), Some("Count"));
    assert_eq!(a_pull.directives.len(), 1);
    assert_eq!(a_pull.directives[0].namespace, NAMESPACE);
    assert_eq!(
        find("order-pull", Some("A2SELLERTWO")).values["OrdersSent"],
        1.0
    );
    let dlq = find("order-pull", None);
    assert_eq!(dlq.values["DeadLettered"], 1.0);
    assert_eq!(dlq.sets_of("DeadLettered"), sets(&[&["Stage", "Job"]]));
    assert!(!dlq.dimensions.contains_key("Seller"));
    assert_eq!(
        find("shipment-confirm", Some("A1SELLERONE")).values["ConfirmationsAccepted"],
        3.0
    );
    // The timestamp is now, in milliseconds.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        docs.iter()
            .all(|d| d.timestamp <= now_ms && d.timestamp + 60_000 > now_ms)
    );
    // A flush starts again from zero.
    assert_eq!(m.flush(), 0);
    assert!(sink.lines().is_empty());
}

#[test]
fn zero_counts_are_not_written() {
    let (m, sink) = metrics();
    m.count(
        Job::InventoryPush,
        Some(&seller("A1SELLERONE")),
        Counter::SkusRejected,
        0,
    );
    assert_eq!(m.flush(), 0);
    assert!(sink.lines().is_empty());
}

#[test]
fn the_documents_are_valid_json_with_the_members_the_directives_name() {
    let (m, sink) = metrics();
    for (i, c) in Counter::ALL.into_iter().enumerate() {
        m.count(Job::Labels, Some(&seller("A1SELLERONE")), c, i as u64 + 1);
    }
    m.flush();
    let line = sink.lines().remove(0);
    let raw: Value = serde_json::from_str(&line).unwrap();
    let doc = parse_document(&line).unwrap();
    assert_eq!(doc.values.len(), Counter::ALL.len());
    for (i, c) in Counter::ALL.into_iter().enumerate() {
        assert_eq!(raw[c.name()], json!(i + 1), "{}", c.name());
    }
    // The catalogue's names, exactly (the template's alarms use them).
    let names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "OrdersSeen",
            "OrdersSent",
            "CancellationsSent",
            "OrdersHeld",
            "OrderPullRuns",
            "ConfirmationsAccepted",
            "ConfirmationsRejected",
            "FeedsSubmitted",
            "FeedErrors",
            "FeedsStuck",
            "SkusPushed",
            "SkusRejected",
            "LabelsBought",
            "LabelsReplayed",
            "LabelsFailed",
            "DeadLettered",
            "BuyShippingBypassed",
        ]
    );
    let jobs: Vec<&str> = Job::ALL.iter().map(|j| j.as_str()).collect();
    assert_eq!(
        jobs,
        [
            "order-pull",
            "shipment-confirm",
            "inventory-push",
            "labels",
            "notifications"
        ]
    );
}

#[test]
fn spapi_events_count_per_operation_and_authorisation_failures_per_seller() {
    let (m, sink) = metrics();
    let observer: &dyn CallObserver = &m;
    let op = Operation::SearchOrders;
    for e in [
        CallEvent::Sent { operation: op },
        CallEvent::Throttled { operation: op },
        CallEvent::Retrying { operation: op },
        CallEvent::Sent { operation: op },
        CallEvent::Sent {
            operation: Operation::GetOrder,
        },
    ] {
        observer.observe(&e);
    }
    let error = spapi::SpApiError::Amazon {
        operation: Operation::GetOrder,
        status: 404,
        code: "NotFound".into(),
        message: "no such order".into(),
        details: None,
        request_id: None,
    };
    observer.observe(&CallEvent::Failed {
        operation: Operation::GetOrder,
        error: &error,
    });
    let s = seller("A1SELLERONE");
    observer.observe(&CallEvent::AuthorizationRevoked { seller: &s });
    m.flush();
    let docs = parsed(&sink);
    assert_eq!(docs.len(), 3, "{docs:?}");
    let by_op: HashMap<&str, &Parsed> = docs
        .iter()
        .filter_map(|d| d.dimension("Operation").map(|o| (o, d)))
        .collect();
    let search = by_op["searchOrders"];
    assert_eq!(search.values["SpApiCalls"], 2.0);
    assert_eq!(search.values["SpApiThrottled"], 1.0);
    assert_eq!(search.values["SpApiRetries"], 1.0);
    assert!(!search.values.contains_key("SpApiErrors"));
    assert_eq!(
        search.sets_of("SpApiCalls"),
        sets(&[&["Stage"], &["Stage", "Operation"]])
    );
    let get = by_op["getOrder"];
    assert_eq!(
        (get.values["SpApiCalls"], get.values["SpApiErrors"]),
        (1.0, 1.0)
    );
    let auth = docs
        .iter()
        .find(|d| d.values.contains_key("AuthorizationFailures"))
        .unwrap();
    assert_eq!(auth.values["AuthorizationFailures"], 1.0);
    assert_eq!(auth.dimension("Seller"), Some("A1SELLERONE"));
    assert_eq!(
        auth.sets_of("AuthorizationFailures"),
        sets(&[&["Stage"], &["Stage", "Seller"]])
    );
    assert!(!auth.dimensions.contains_key("Job"));
}

#[test]
fn ages_are_gauges_in_seconds() {
    let (m, sink) = metrics();
    let s = seller("A1SELLERONE");
    m.order_pull_age(&s, 900);
    m.order_pull_age(&s, 120);
    m.order_pull_max_age(120);
    m.authorization_failure(&s);
    m.flush();
    let (per_seller, stage) = seller_and_stage(parsed(&sink));
    assert_eq!(
        per_seller.values["OrderPullAgeSeconds"], 120.0,
        "the last value"
    );
    assert_eq!(per_seller.unit_of("OrderPullAgeSeconds"), Some("Seconds"));
    assert_eq!(
        per_seller.sets_of("OrderPullAgeSeconds"),
        sets(&[&["Stage", "Seller"]])
    );
    // Two directives in one document: each metric keeps its own sets.
    assert_eq!(per_seller.directives.len(), 2);
    assert_eq!(
        per_seller.sets_of("AuthorizationFailures"),
        sets(&[&["Stage"], &["Stage", "Seller"]])
    );
    assert_eq!(stage.values["OrderPullMaxAgeSeconds"], 120.0);
    assert_eq!(stage.sets_of("OrderPullMaxAgeSeconds"), sets(&[&["Stage"]]));
    assert_eq!(stage.dimensions.len(), 1);
}

#[test]
fn credential_health_gauges_and_onboarding_counts() {
    let (m, sink) = metrics();
    let s = seller("A1SELLERONE");
    m.seller_gauge(&s, AUTHORIZATION_DAYS_LEFT, Unit::NoUnit, 40);
    m.seller_gauge(&s, AUTHORIZATION_DAYS_LEFT, Unit::NoUnit, 29);
    m.stage_gauge(AUTHORIZATION_MIN_DAYS_LEFT, Unit::NoUnit, 29);
    m.stage_gauge(APP_SECRET_AGE_DAYS, Unit::NoUnit, 0);
    m.stage_count(SELLERS_CONNECTED, 1);
    m.stage_count(SELLERS_CONNECTED, 2);
    m.stage_count(CONSENT_FAILURES, 0);
    m.flush();
    let (per_seller, stage) = seller_and_stage(parsed(&sink));
    assert_eq!(per_seller.values[AUTHORIZATION_DAYS_LEFT], 29.0);
    assert_eq!(per_seller.unit_of(AUTHORIZATION_DAYS_LEFT), Some("None"));
    assert_eq!(stage.values[AUTHORIZATION_MIN_DAYS_LEFT], 29.0);
    assert_eq!(
        stage.values[APP_SECRET_AGE_DAYS], 0.0,
        "a gauge of 0 is written"
    );
    assert_eq!(stage.values[SELLERS_CONNECTED], 3.0);
    assert!(
        !stage.values.contains_key(CONSENT_FAILURES),
        "a 0 count is not"
    );
    assert_eq!(stage.sets_of(SELLERS_CONNECTED), sets(&[&["Stage"]]));
}

#[test]
fn the_guard_flushes_at_the_end_of_an_invocation_also_a_panicking_one() {
    let (m, sink) = metrics();
    {
        let _flush = m.flush_on_drop();
        m.count(Job::Labels, None, Counter::LabelsFailed, 1);
        assert!(sink.lines().is_empty(), "nothing before the end");
    }
    assert_eq!(sink.take().len(), 1);
    let m2 = m.clone();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _flush = m2.flush_on_drop();
        m2.count(Job::Labels, None, Counter::LabelsFailed, 1);
        panic!("the handler failed");
    }));
    assert!(panicked.is_err());
    let docs = parsed(&sink);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].values["LabelsFailed"], 1.0);
}

#[test]
fn the_checker_refuses_what_cloudwatch_would_drop() {
    let good = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Stage"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"Stage":"prod","M":1}"#;
    assert!(parse_document(good).is_ok());
    for (bad, why) in [
        (
            good.replace(r#""Timestamp":1"#, r#""Timestamp":"1""#),
            "Timestamp",
        ),
        (good.replace(r#","M":1"#, ""), "metric M"),
        (good.replace(r#""M":1"#, r#""M":"1""#), "metric M"),
        (
            good.replace(r#""Stage":"prod""#, r#""Stage":5"#),
            "dimension Stage",
        ),
        (
            good.replace(r#""Stage":"prod""#, r#""Stage":" ""#),
            "dimension Stage",
        ),
        (
            good.replace(r#""Unit":"Count""#, r#""Unit":"Orders""#),
            "unit",
        ),
        (good.replace(r#""Namespace":"N","#, ""), "Namespace"),
        (format!("{good} trailing"), "JSON"),
    ] {
        let err = parse_document(&bad).unwrap_err();
        assert!(err.contains(why), "{why}: {err}");
    }
}

#[test]
fn the_stage_comes_from_the_environment() {
    let get = |v: Option<&str>| {
        let v = v.map(str::to_string);
        stage_from_lookup(&move |k| if k == "STAGE" { v.clone() } else { None })
    };
    assert_eq!(get(Some("prod")).unwrap(), "prod");
    assert!(get(None).unwrap_err().to_string().contains("STAGE"));
    assert!(matches!(get(Some("")), Err(ConfigError::Invalid { .. })));
    assert!(matches!(
        get(Some("pr od")),
        Err(ConfigError::Invalid { .. })
    ));
}

#[derive(Default)]
struct Letters {
    broken: bool,
    got: Mutex<Vec<DeadLetter>>,
}

#[async_trait::async_trait]
impl DeadLetterSink for Letters {
    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), String> {
        if self.broken {
            return Err("queue gone".into());
        }
        self.got.lock().unwrap().push(letter);
        Ok(())
    }
}

fn letter() -> DeadLetter {
    DeadLetter {
        source_message_id: "m1".into(),
        body: "{}".into(),
        reason: "unknown seller".into(),
        message_group_id: None,
        source_queue: None,
    }
}

#[tokio::test]
async fn dead_letters_are_counted_once_they_reached_the_queue() {
    let (m, sink) = metrics();
    let counted = CountedDeadLetters::new(Letters::default(), m.clone(), Job::InventoryPush);
    counted.dead_letter(letter()).await.unwrap();
    counted.dead_letter(letter()).await.unwrap();
    assert_eq!(counted.inner().got.lock().unwrap().len(), 2);
    let broken = CountedDeadLetters::new(
        Letters {
            broken: true,
            ..Letters::default()
        },
        m.clone(),
        Job::InventoryPush,
    );
    assert!(broken.dead_letter(letter()).await.is_err());
    m.flush();
    let docs = parsed(&sink);
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0].values["DeadLettered"], 2.0,
        "the failed one is not counted"
    );
    assert_eq!(docs[0].dimension("Job"), Some("inventory-push"));
}

#[test]
fn stdout_gets_one_newline_terminated_document_per_write() {
    let (m, sink) = metrics();
    m.count(Job::OrderPull, None, Counter::OrdersSeen, 1);
    m.count(Job::Labels, None, Counter::LabelsBought, 1);
    m.flush();
    let mut out: Vec<u8> = Vec::new();
    for line in sink.lines() {
        write_document(&mut out, &line).unwrap();
    }
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| parse_document(l).is_ok()));
}
