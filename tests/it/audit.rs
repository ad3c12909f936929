//! The audit trail (Amazon's Data Protection Policy: every action that
//! changes data or uses a seller's credentials logs its outcome, without
//! PII): the JSON log lines of onboarding, an order pull with a 429 and a
//! dead-lettered job, a revoked seller, shipment confirmations and label
//! purchases all carry the one shape of ARCHITECTURE.md ("Audit trail").

use std::collections::BTreeSet;

use domain::Operation;
use order_pull::Mode;
use serde_json::Value;
use tests::labels::{LabelRig, package};
use tests::logs::LogCapture;
use tests::pull::PullRig;
use tests::ship::ShipRig;
use tests::sim::{CLIENT_SECRET, Fault, FaultTarget, add_seller, seed_orders};

/// Actions whose seller may be unknown (a record refused before it was read).
const SELLERLESS: [&str; 1] = ["dlq.send"];
/// Actions logged at WARN although they succeeded: the event needs a person.
const WARN_ON_SUCCESS: [&str; 2] = ["dlq.send", "authorization.revoked"];

fn field<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    line["fields"][name].as_str()
}

#[tokio::test(flavor = "current_thread")]
async fn every_action_logs_its_outcome_in_one_shape_without_buyer_data() {
    let (logs, _guard) = LogCapture::start();

    // Onboarding, then an order pull with a 429, and a job nobody can run.
    let rig = PullRig::new("audit-pull", 1000.0).await;
    let seller = add_seller(&rig.sim, "A1AUDITPULL", true);
    rig.onboard(&seller, |_| {}).await;
    seed_orders(&rig.sim, &seller, 3);
    rig.settle();
    rig.sim
        .control()
        .inject_fault(
            FaultTarget::Operation(Operation::SearchOrders),
            Fault::Throttle,
        )
        .unwrap();
    assert_eq!(rig.pull(&seller, Mode::Incremental).await.sent, 3);
    rig.stack
        .sqs()
        .send_message()
        .queue_url(&rig.config.job_queue_url)
        .message_body("not json")
        .send()
        .await
        .unwrap();
    rig.run_jobs(5).await;
    // A seller whose authorisation was revoked.
    let revoked = add_seller(&rig.sim, "A1AUDITREVOKED", false);
    rig.onboard(&revoked, |_| {}).await;
    rig.sim
        .control()
        .revoke_refresh_token(&revoked.seller_id)
        .unwrap();
    rig.pull(&revoked, Mode::Incremental).await;

    // A package confirmed, a message refused.
    let ship = ShipRig::new("audit-ship", "A1AUDITSHIP", 1).await;
    let good = ship.message(1, "PKG-1", "DHL", &[]);
    ship.batch(&[good, "{}".to_string()])
        .await
        .expect("the batch");

    // A label bought, a purchase refused.
    let labels = LabelRig::new("audit-labels").await;
    let number = labels.seed_order(1);
    let rates = labels
        .rates(&number, vec![package("PKG-1", "1", &[("SKU-1-A", 1)])])
        .await;
    let buy = labels.purchase_request(
        "PKG-1",
        &rates.request_token,
        &rates.offers[0].rate_id,
        "PDF",
    );
    assert!(labels.invoke(buy).await.ok);
    let bad = labels.purchase_request("PKG-2", &rates.request_token, "no-such-rate", "PDF");
    assert!(!labels.invoke(bad).await.ok);

    let text = logs.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let audits: Vec<&Value> = lines
        .iter()
        .filter(|l| field(l, "audit").is_some())
        .collect();
    let mut seen = BTreeSet::new();
    for line in &audits {
        let action = field(line, "audit").unwrap_or_default();
        let outcome = field(line, "outcome").unwrap_or_else(|| panic!("no outcome: {line}"));
        let level = line["level"].as_str().unwrap_or_default();
        match outcome {
            "success" if WARN_ON_SUCCESS.contains(&action) => assert_eq!(level, "WARN", "{line}"),
            "success" | "deferred" => assert_eq!(level, "INFO", "{line}"),
            "failure" => assert!(matches!(level, "WARN" | "ERROR"), "{line}"),
            other => panic!("outcome {other:?}: {line}"),
        }
        let seller = field(line, "seller");
        if !SELLERLESS.contains(&action) {
            assert!(seller.is_some_and(|s| !s.is_empty()), "no seller: {line}");
        }
        assert!(
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "a sentence: {line}"
        );
        seen.insert((
            action.to_string(),
            outcome.to_string(),
            seller.unwrap_or_default().to_string(),
        ));
    }
    for (action, outcome, seller) in [
        ("secret.write", "success", "A1AUDITPULL"),
        ("settings.write", "success", "A1AUDITPULL"),
        ("spapi.call", "success", "A1AUDITPULL"),
        ("wms.order_created", "success", "A1AUDITPULL"),
        ("dlq.send", "success", ""),
        ("authorization.revoked", "success", "A1AUDITREVOKED"),
        ("spapi.call", "failure", "A1AUDITREVOKED"),
        ("shipment.confirm", "success", "A1AUDITSHIP"),
        ("label.purchase", "success", "A1LABELSELLER"),
        ("label.purchase", "failure", "A1LABELSELLER"),
    ] {
        assert!(
            seen.contains(&(action.into(), outcome.into(), seller.into())),
            "no {outcome} {action} for {seller:?} in {seen:?}"
        );
    }
    // The call that met the 429 says it was sent again.
    let throttled = audits
        .iter()
        .find(|l| {
            field(l, "audit") == Some("spapi.call")
                && field(l, "operation") == Some("searchOrders")
                && l["fields"]["resent"] == 1
        })
        .expect("the searchOrders call with one resend");
    assert_eq!(throttled["fields"]["status"], 200);
    assert!(field(throttled, "request_id").is_some_and(|r| !r.is_empty()));

    logs.assert_free_of(&[
        "Test Buyer",
        "Buyer Street",
        "@marketplace.amazon.de",
        "+49 30 555",
        "Atza|",
        "Atzr|",
        CLIENT_SECRET,
    ]);
}
