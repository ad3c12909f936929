//! Issue 17, item 8: `connector-admin golive SELLER` end to end against
//! moto, the simulator and a fake WMS stock endpoint — every step a PASS,
//! FAIL or SKIP line: the authorisation, an orders dry run that shows what
//! the WMS would get and sends nothing, the buyer-data role, a stock dry run
//! that shows what would change and pushes nothing, the SKUs, and a test
//! label bought, saved and cancelled (once a day, however often it runs).
//! The README's go-live section runs here as written.

use std::path::{Path, PathBuf};

use clap::Parser;
use connector_admin::{Cli, Command, Context};
use serde_json::{Value, json};
use spapi_sim::ListingSpec;
use tests::admin::{Outcome, context_for, run_parsed, split};
use tests::inventory::{PushRig, client_code};
use tests::sim::{TestSeller, UK, add_seller_in, past_two_minutes, test_order};

struct Rig {
    push: PushRig,
    seller: TestSeller,
    ctx: Context,
    dir: PathBuf,
}

/// A UK seller with a recent order, its listings, the WMS's stock for them
/// and the labels job on; `pii`: whether the app has the buyer-data role.
async fn rig(name: &str, seller_id: &str, pii: bool) -> Rig {
    let push = PushRig::new(name, 1000.0).await;
    let seller = add_seller_in(&push.sim, seller_id, &[UK], pii);
    push.onboard(&seller, |s| {
        s.order_prefix = "GL".into();
        s.order_message_version = 2;
        s.ship_to_countries = vec!["GB".into()];
    })
    .await;
    let sim = push.sim.control();
    sim.seed_order(&seller.seller_id, test_order(1, UK))
        .unwrap();
    // One the settings filter: it ships abroad.
    let mut abroad = test_order(3, UK);
    if let Some(to) = abroad.recipient.as_mut() {
        to.country_code = Some("IE".into());
    }
    sim.seed_order(&seller.seller_id, abroad).unwrap();
    sim.seed_listings(
        &seller.seller_id,
        vec![
            ListingSpec::new("SKU-1-A", 4),
            ListingSpec::new("SKU-3-A", 2),
            ListingSpec::new("MUG-BLUE", 0),
        ],
    )
    .unwrap();
    push.wms.set_stock(
        &client_code(&seller),
        &[("SKU-1-A", 7, 7), ("SKU-3-A", 2, 2), ("MUG-BLUE", 12, 12)],
    );
    past_two_minutes(&push.sim);
    let ctx = context_for(&push.stack, &push.sim);
    let dir = std::env::temp_dir().join(format!("golive-{}", push.stack.stage));
    std::fs::create_dir_all(&dir).unwrap();
    Rig {
        push,
        seller,
        ctx,
        dir,
    }
}

impl Rig {
    /// Runs a command line as the binary would, relative paths in `dir`.
    async fn run(&self, line: &str) -> Outcome {
        let mut cli = Cli::try_parse_from(split(line).words)
            .unwrap_or_else(|e| panic!("`{line}` does not parse: {e}"));
        if let Command::Golive(args) = &mut cli.command {
            args.relative_to(&self.dir);
        }
        run_parsed(cli, &self.ctx, line, "").await
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.join(name), text).unwrap();
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The test shipment of the README's go-live section.
fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap()
}

/// The section's `connector-admin` lines and its first JSON block.
fn go_live_section() -> (Vec<String>, Value) {
    let text = readme();
    let start = text
        .find("## Go-live and SKU checks")
        .expect("README has a go-live section");
    let section = &text[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    let mut lines = Vec::new();
    let mut json = None;
    let mut block: Option<(String, Vec<&str>)> = None;
    for line in section.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("```") {
            match block.take() {
                Some((kind, body)) => {
                    if kind == "json" && json.is_none() {
                        json = Some(serde_json::from_str(&body.join("\n")).expect("README JSON"));
                    }
                }
                None => block = Some((rest.to_string(), Vec::new())),
            }
            continue;
        }
        if let Some((kind, body)) = block.as_mut() {
            if kind.is_empty() && t.starts_with("connector-admin") {
                lines.push(t.to_string());
            }
            body.push(line);
        }
    }
    (lines, json.expect("a test shipment example"))
}

fn step<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {doc:#}"))
}

#[tokio::test]
async fn every_check_passes_and_nothing_reaches_the_wms_or_amazons_stock() {
    let rig = rig("feat-golive", "A1GOLIVESELLER", true).await;
    let (_, shipment) = go_live_section();
    rig.write("test-shipment.json", &shipment.to_string());
    let seller = rig.seller.seller_id.clone();
    let line = format!(
        "connector-admin --stage prod --json golive {seller} --test-shipment test-shipment.json --labels-dir labels"
    );
    let out = rig.run(&line).await;
    let doc: Value = serde_json::from_str(&out.out).unwrap_or_else(|e| panic!("{e}: {}", out.out));
    assert_eq!(out.code, 0, "{doc:#}\n{}", out.err);
    for name in [
        "authorisation",
        "orders (dry run)",
        "role: buyer data",
        "stock (dry run)",
        "SKUs",
        "test label",
    ] {
        assert_eq!(step(&doc, name)["result"], "PASS", "{name}: {doc:#}");
    }
    // The orders: one the WMS would get (buyer data masked), one filtered.
    let orders = doc["orders"]["orders"].as_array().unwrap();
    let send = orders
        .iter()
        .find(|o| o["would"] == "send")
        .expect("one to send");
    assert_eq!(send["message"]["order_number"], "GL302-0000001-0000001");
    assert_eq!(send["message"]["schema"], 2);
    assert_eq!(
        send["message"]["ship_to"]["name"],
        order_pull::preview::MASK
    );
    assert_eq!(send["message"]["ship_to"]["country_code"], "GB");
    assert!(!out.out.contains("Test Buyer"), "no buyer data printed");
    let filtered = orders
        .iter()
        .find(|o| o["would"] == "filter")
        .expect("the one abroad");
    assert!(
        filtered["reason"]
            .as_str()
            .unwrap()
            .contains("outside the allow-list"),
        "{filtered}"
    );
    // ... and nothing reached the WMS or the ledger.
    let queue = rig.push.stack.resources.queue("WmsOrderQueue").unwrap();
    let waiting = rig
        .push
        .stack
        .sqs()
        .receive_message()
        .queue_url(&queue.url)
        .send()
        .await
        .unwrap();
    assert!(waiting.messages().is_empty(), "nothing sent to the WMS");
    assert!(
        store::Ledger::get_order(
            &rig.push.store,
            &domain::SellerId::new(&seller).unwrap(),
            &domain::AmazonOrderId::new("302-0000001-0000001").unwrap()
        )
        .await
        .unwrap()
        .is_none(),
        "nothing claimed"
    );
    // The stock: what would change, and Amazon's quantities untouched.
    let changes: Vec<(String, Value, u64)> = doc["stock"]["would_change"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["sku"].as_str().unwrap().to_string(),
                c["amazon"].clone(),
                c["would_push"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("MUG-BLUE".to_string(), json!(0), 12),
            ("SKU-1-A".to_string(), json!(4), 7)
        ]
    );
    assert_eq!(doc["stock"]["unchanged"], 1);
    assert_eq!(
        rig.push.sim.control().listing_quantity(&seller, "SKU-1-A"),
        Some(4)
    );
    // The test label: bought, saved, cancelled.
    let label = &doc["label"];
    assert_eq!(label["cancelled"], true);
    let file = PathBuf::from(label["files"][0].as_str().unwrap());
    assert!(file.starts_with(&rig.dir), "{}", file.display());
    assert!(std::fs::read(&file).unwrap().starts_with(b"%PDF"));
    let shipments = rig.push.sim.control().shipments(&seller);
    assert_eq!(shipments.len(), 1);
    assert!(shipments[0].cancelled);
    assert!(shipments[0].amazon_order_id.is_none(), "never a real order");

    // Again the same day: the same label, not bought again.
    let again = rig.run(&line).await;
    assert_eq!(again.code, 0, "{}\n{}", again.out, again.err);
    let doc: Value = serde_json::from_str(&again.out).unwrap();
    assert_eq!(doc["label"]["replayed"], true);
    assert_eq!(rig.push.sim.control().label_purchases(&seller), 1);
}

#[tokio::test]
async fn the_readmes_go_live_lines_run_as_written() {
    let rig = rig("feat-golive-readme", "A1EXAMPLESELLER", true).await;
    let (lines, shipment) = go_live_section();
    assert!(lines.len() >= 3, "{lines:?}");
    rig.write("test-shipment.json", &shipment.to_string());
    for line in &lines {
        let out = rig.run(line).await;
        assert_eq!(
            out.code, 0,
            "README `{line}` failed:\nstdout: {}\nstderr: {}",
            out.out, out.err
        );
        println!("$ {line}\n{}{}", out.out, out.err);
        if line.contains(" golive ") {
            for check in [
                "authorisation",
                "orders (dry run)",
                "stock (dry run)",
                "test label",
            ] {
                assert!(
                    out.out
                        .lines()
                        .any(|l| l.contains("PASS") && l.contains(check)),
                    "{check}:\n{}",
                    out.out
                );
            }
        }
    }
}

#[tokio::test]
async fn what_is_missing_fails_with_what_to_do() {
    // No buyer-data role, a WMS SKU Amazon does not list, no test shipment.
    let rig = rig("feat-golive-fail", "A1GOLIVENOPII", false).await;
    let seller = rig.seller.seller_id.clone();
    rig.push.wms.set_stock(
        &client_code(&rig.seller),
        &[
            ("SKU-1-A", 7, 7),
            ("SKU-3-A", 2, 2),
            ("MUG-BLUE", 12, 12),
            ("TEAPOT", 1, 1),
        ],
    );
    let out = rig
        .run(&format!(
            "connector-admin --stage prod --json golive {seller}"
        ))
        .await;
    let doc: Value = serde_json::from_str(&out.out).unwrap_or_else(|e| panic!("{e}: {}", out.out));
    assert_eq!(out.code, 4, "the seller must act: {}", out.err);
    assert_eq!(step(&doc, "authorisation")["result"], "PASS");
    let role = step(&doc, "role: buyer data");
    assert_eq!(role["result"], "FAIL");
    assert!(
        role["detail"]
            .as_str()
            .unwrap()
            .contains("Direct-to-Consumer Delivery")
    );
    let skus = step(&doc, "SKUs");
    assert_eq!(skus["result"], "FAIL");
    assert!(
        skus["detail"]
            .as_str()
            .unwrap()
            .contains("1 only in the WMS"),
        "{skus}"
    );
    let label = step(&doc, "test label");
    assert_eq!(label["result"], "FAIL");
    assert!(
        label["detail"]
            .as_str()
            .unwrap()
            .contains("--test-shipment")
    );
    assert_eq!(rig.push.sim.control().label_purchases(&seller), 0);

    // A revoked authorisation: one FAIL, the rest skipped.
    rig.push
        .sim
        .control()
        .revoke_refresh_token(&seller)
        .unwrap();
    let out = rig
        .run(&format!(
            "connector-admin --stage prod --json golive {seller} --skip-label"
        ))
        .await;
    let doc: Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(out.code, 4, "{}", out.err);
    assert_eq!(step(&doc, "authorisation")["result"], "FAIL");
    assert!(
        step(&doc, "authorisation")["detail"]
            .as_str()
            .unwrap()
            .contains("authorise the app again")
    );
    for name in ["orders (dry run)", "stock (dry run)", "test label"] {
        assert_eq!(step(&doc, name)["result"], "SKIP", "{name}");
    }
}
