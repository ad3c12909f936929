//! The README is a contract: every `connector-admin` line of its onboarding
//! (Deploy), Operate and Troubleshooting sections runs here, as written and
//! in order, against the local stack (moto and the simulator), and must
//! succeed. (Every `connector-admin` line anywhere in the README also goes
//! through the parser in the crate's own tests.) `--stage prod` names the
//! deployment; here the commands run against the test's own stage.

use serde_json::json;
use tests::admin::{AdminRig, split};
use tests::sim::{DE, add_seller, test_order};

/// The README's `connector-admin` code lines, with the section they are in.
fn readme_commands() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .expect("README.md");
    let mut section = String::new();
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if !fenced && line.starts_with("## ") {
            section = line.trim_start_matches("## ").trim().to_string();
        }
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let l = line.trim().trim_start_matches("$ ");
        if fenced && l.starts_with("connector-admin") {
            out.push((section.clone(), l.to_string()));
        }
    }
    out
}

/// The section whose lines another test runs (see the loop below).
const GO_LIVE_SECTION: &str = "Go-live and SKU checks";

#[tokio::test]
async fn the_readmes_operator_commands_run_as_written_against_the_local_stack() {
    let commands = readme_commands();
    let sections: Vec<&str> = commands.iter().map(|(s, _)| s.as_str()).collect();
    for wanted in ["Deploy", "Operate", "Troubleshooting", GO_LIVE_SECTION] {
        assert!(
            sections.contains(&wanted),
            "no commands in {wanted}: {commands:#?}"
        );
    }
    let rig = AdminRig::new("readme").await;
    let sim = &rig.pull.sim;
    let seller = add_seller(sim, "A1EXAMPLESELLER", true);
    rig.write_file(
        "acme.json",
        &json!({
            "seller_id": "A1EXAMPLESELLER",
            "client_code": "ACME",
            "region": "EU",
            "marketplaces": [DE],
            "order_start_date": "2026-10-01",
            "order_prefix": "AC",
        })
        .to_string(),
    );
    rig.write_file("token.txt", &seller.refresh_token);

    // The application as Developer Central knows it: its notification
    // queue registered, so Amazon (the simulator) rotates its secret.
    sim.control().register_solution(tests::sim::SolutionSpec {
        application_id: "amzn1.sp.solution.readme".into(),
        client_id: tests::sim::CLIENT_ID.into(),
        name: "Readme app".into(),
        redirect_uris: vec!["https://abc123.lambda-url.eu-west-1.on.aws/callback".into()],
        login_uri: None,
        draft: false,
        notifications: true,
    });

    let mut prepared_operate = false;
    let mut prepared_troubleshooting = false;
    let mut invited = 0;
    for (section, line) in &commands {
        if section == GO_LIVE_SECTION {
            // Needs a WMS stock endpoint and the section's test shipment:
            // `features_golive::the_readmes_go_live_lines_run_as_written`
            // runs these lines as written, with both.
            continue;
        }
        if line.contains("--secret-stdin") {
            // The secret Developer Central shows after the rotation above.
            let current = sim
                .control()
                .client_secret(tests::sim::CLIENT_ID)
                .expect("the app's secret");
            rig.write_file("new-secret.txt", &current);
        }
        if section == "Operate" && !prepared_operate {
            // The order the README looks up, pulled as the schedule would.
            sim.control()
                .seed_order(
                    "A1EXAMPLESELLER",
                    tests::sim::OrderSpec {
                        order_id: Some("302-1234567-1234567".into()),
                        ..test_order(1, DE)
                    },
                )
                .unwrap();
            rig.pull.settle();
            let pulled = rig.pull.pull(&seller, order_pull::Mode::Incremental).await;
            assert_eq!(pulled.sent, 1, "{pulled:?}");
            prepared_operate = true;
        }
        if section == "Troubleshooting" && !prepared_troubleshooting {
            // A shipment message the function refused, and an order of the
            // backfill's range that no pull ever saw.
            let stack = &rig.pull.stack;
            let dlq = stack.resources.queue("ShipmentDeadLetterQueue").unwrap();
            let source = stack.resources.queue("ShipmentQueue").unwrap();
            use lambda_kit::batch::DeadLetterSink;
            lambda_kit::batch::SqsDeadLetters::new(stack.sqs(), &dlq.url)
                .dead_letter(lambda_kit::batch::DeadLetter {
                    source_message_id: "m-1".into(),
                    body: tests::ship::shipment(
                        "A1EXAMPLESELLER",
                        "AC302-1234567-1234567",
                        "PKG-README",
                        "DHL",
                        None,
                        "TRACK-README",
                        &[],
                    ),
                    reason: "shipment confirmation is disabled for seller A1EXAMPLESELLER".into(),
                    message_group_id: None,
                    source_queue: Some(source.name.clone()),
                })
                .await
                .unwrap();
            let created = "2026-11-02T10:00:00Z".parse().unwrap();
            sim.control()
                .seed_order(
                    "A1EXAMPLESELLER",
                    tests::sim::OrderSpec {
                        order_id: Some("302-2222222-2222222".into()),
                        created: Some(created),
                        ..test_order(2, DE)
                    },
                )
                .unwrap();
            prepared_troubleshooting = true;
        }
        let outcome = rig.run(line).await;
        assert_eq!(
            outcome.code, 0,
            "README ({section}) `{line}` failed:\nstdout: {}\nstderr: {}",
            outcome.out, outcome.err
        );
        let words = split(line).words;
        match (
            words.get(3).map(String::as_str),
            words.get(4).map(String::as_str),
        ) {
            (Some("order"), _) => {
                assert!(outcome.out.contains("sent to the WMS"), "{}", outcome.out)
            }
            (Some("dlq"), Some("show")) => {
                assert!(outcome.out.contains("PKG-README"), "{}", outcome.out)
            }
            (Some("invite"), _) => {
                assert!(
                    outcome
                        .out
                        .contains("https://abc123.lambda-url.eu-west-1.on.aws/connect?invitation="),
                    "{}",
                    outcome.out
                );
                invited += 1;
            }
            (Some("app"), Some("status")) => {
                assert!(
                    outcome.out.contains(tests::sim::CLIENT_ID),
                    "{}",
                    outcome.out
                )
            }
            (Some("backfill"), _) => assert!(
                outcome
                    .out
                    .lines()
                    .any(|l| l.contains("sent now") && l.contains(" 1 ")),
                "the backfill sent the order no pull saw:\n{}",
                outcome.out
            ),
            _ => {}
        }
    }
    assert!(prepared_operate && prepared_troubleshooting);
    assert!(invited >= 2, "a new seller's and a renewal invitation");
    // `app rotate-secret` asked Amazon, which sent the new secret to the
    // application's queue; `--secret-stdin` stored it.
    let notes = sim.control().take_app_notifications();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0]["notificationType"],
        "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
    );
    // The replayed message is back on the shipment queue, the order sent.
    let back = rig
        .pull
        .stack
        .sqs()
        .receive_message()
        .queue_url(&rig.pull.stack.resources.queue("ShipmentQueue").unwrap().url)
        .send()
        .await
        .unwrap();
    assert_eq!(back.messages().len(), 1);
    let delivered = rig.pull.drain_wms().await;
    assert!(
        delivered
            .iter()
            .any(|m| m.order_number() == "AC302-2222222-2222222"),
        "{delivered:?}"
    );
}
