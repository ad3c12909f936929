//! Property tests of everything the client reads from Amazon (issue 16,
//! "Bad input, fuzzed"): the answer of every operation the connector calls,
//! decoded exactly as `SpApi::call` decodes it (`spapi::client::decode`,
//! serde_path_to_error), and the two feed processing reports (the XML one
//! of `POST_ORDER_FULFILLMENT_DATA`, the JSON one of `JSON_LISTINGS_FEED`).
//!
//! Seeds are Amazon's own: every 2xx example and static sandbox answer of
//! the official models in `shared/amazon/models` (read at run time), the
//! listings report example in `shared/amazon/schemas`, and an XML report
//! shaped by `shared/amazon/xsd/ProcessingReport.xsd`. For arbitrary bytes,
//! byte-level edits and structure-aware edits of them:
//!
//! - nothing panics;
//! - a refusal is `SpApiError::Decode` for the right operation, with the
//!   path of the field (or element) that broke — after a single edit, the
//!   edited field, a parent of it or a field inside it — and the rule;
//! - no error text quotes a value from the answer (answers carry buyer data
//!   and these texts are logged).
//!
//! Case counts: small by default (CI), `PROPTEST_CASES` for the bench
//! (`infra/fuzz.sh`, figures in BENCHMARKS.md).

use std::path::PathBuf;

use fuzz_kit::{Edit, Mutated, SENTINEL, related, serde_segments};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use spapi::models::listings_feed::ProcessingReport as ListingsReport;
use spapi::models::order_fulfillment_feed::parse_processing_report;
use spapi::ops::feeds::{CreateFeed, CreateFeedDocument, GetFeed, GetFeedDocument, GetFeeds};
use spapi::ops::listings::{GetListingsItem, PatchListingsItem};
use spapi::ops::orders::{GetOrder, SearchOrders};
use spapi::ops::orders_v0::ConfirmShipment;
use spapi::ops::sellers::GetMarketplaceParticipations;
use spapi::ops::shipping::{
    CancelShipment, GetRates, GetShipmentDocuments, GetTracking, OneClickShipment, PurchaseShipment,
};
use spapi::{Call, SpApiError};

/// CI's cases per property (the bench sets `PROPTEST_CASES`).
const CI_CASES: u32 = 500;

fn amazon(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/amazon")
        .join(path);
    let text =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    serde_json::from_str(&text).expect("Amazon's file is JSON")
}

/// Every 2xx example and static sandbox answer of `operation_id` in `model`.
fn seeds(model: &Value, operation_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for item in model["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            if op["operationId"] != operation_id {
                continue;
            }
            for (code, response) in op["responses"].as_object().expect("responses") {
                if !code.starts_with('2') {
                    continue;
                }
                let mut bodies = Vec::new();
                if let Some(examples) = response["examples"].as_object() {
                    // Swagger 2: a body per MIME type; a model that forgot the
                    // MIME type (sellers) shows the body itself.
                    if examples.keys().all(|k| k.contains('/')) {
                        bodies.extend(examples.values().cloned());
                    } else {
                        bodies.push(response["examples"].clone());
                    }
                }
                if let Some(statics) = response["x-amzn-api-sandbox"]["static"].as_array() {
                    bodies.extend(statics.iter().map(|s| s["response"].clone()));
                }
                // Shipping v2's examples show the payload alone; Amazon wraps
                // it in `payload` as the response schema says.
                let wraps = response["schema"]["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/definitions/"))
                    .is_some_and(|d| model["definitions"][d]["properties"]["payload"].is_object());
                out.extend(bodies.into_iter().map(|b| {
                    if wraps && b.get("payload").is_none() {
                        serde_json::json!({ "payload": b })
                    } else {
                        b
                    }
                }));
            }
        }
    }
    assert!(!out.is_empty(), "{operation_id}: no example in the model");
    out
}

/// What every decode must do with `body`.
fn decoded<C: Call>(body: &[u8], edits: &[Edit]) -> Result<(), TestCaseError> {
    match spapi::client::decode::<C::Output>(C::OPERATION, 200, Some("req-fuzz"), body) {
        Ok(_) => Ok(()),
        Err(e) => refused(&e, C::OPERATION, Some("req-fuzz"), edits),
    }
}

/// A refusal: `Decode` for `op`, the path of the field (related to a single
/// edit) and the rule, no value quoted.
fn refused(
    e: &SpApiError,
    op: domain::Operation,
    request: Option<&str>,
    edits: &[Edit],
) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(!text.contains(SENTINEL), "the error quotes a value: {text}");
    let SpApiError::Decode {
        operation,
        status,
        path,
        message,
        request_id,
    } = &e
    else {
        return Err(TestCaseError::fail(format!("not a Decode error: {text}")));
    };
    prop_assert_eq!(*operation, op);
    prop_assert_eq!(*status, 200);
    prop_assert_eq!(request_id.as_deref(), request);
    prop_assert!(!message.is_empty() && !path.is_empty(), "{text}");
    prop_assert!(text.contains(&format!("`{path}`")), "{text}");
    if let [edit] = edits {
        prop_assert!(
            related(&serde_segments(path), &edit.path),
            "edit at {} ({}), but the error is about `{path}`: {text}",
            edit.pointer(),
            edit.op
        );
    }
    Ok(())
}

/// The three properties of one operation's answer.
fn operation<C: Call>(model: &str, operation_id: &str) {
    let model = amazon(&format!("models/{model}"));
    let seeds = seeds(&model, operation_id);
    // confirmShipment answers 204 without a body; the sandbox shows `{}`,
    // which does not read as `()` — the caller counts a 2xx whose body does
    // not decode as accepted (shipment-confirm's `confirm`).
    for seed in seeds.iter().filter(|_| operation_id != "confirmShipment") {
        spapi::client::decode::<C::Output>(C::OPERATION, 200, None, seed.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{operation_id}: the model's own example: {e}"));
    }
    let keys = fuzz_kit::schema_keys(&model["definitions"]);
    fuzz_kit::run(
        &format!("spapi.{operation_id}.structure"),
        CI_CASES,
        fuzz_kit::mutated_any(seeds.clone(), keys, 3),
        |m: Mutated| decoded::<C>(m.text().as_bytes(), &m.edits),
    );
    let texts: Vec<String> = seeds.iter().map(Value::to_string).collect();
    fuzz_kit::run(
        &format!("spapi.{operation_id}.text"),
        CI_CASES,
        (0..texts.len()).prop_flat_map(move |i| fuzz_kit::text_edits(texts[i].clone())),
        |text: String| decoded::<C>(text.as_bytes(), &[]),
    );
    fuzz_kit::run(
        &format!("spapi.{operation_id}.bytes"),
        CI_CASES,
        fuzz_kit::arbitrary_bytes(),
        |bytes: Vec<u8>| decoded::<C>(&bytes, &[]),
    );
}

#[test]
fn feeds_answers() {
    operation::<CreateFeedDocument>("feeds_2021-06-30.json", "createFeedDocument");
    operation::<CreateFeed>("feeds_2021-06-30.json", "createFeed");
    operation::<GetFeed>("feeds_2021-06-30.json", "getFeed");
    operation::<GetFeeds>("feeds_2021-06-30.json", "getFeeds");
    operation::<GetFeedDocument>("feeds_2021-06-30.json", "getFeedDocument");
}

#[test]
fn listings_answers() {
    operation::<PatchListingsItem>("listingsItems_2021-08-01.json", "patchListingsItem");
    operation::<GetListingsItem>("listingsItems_2021-08-01.json", "getListingsItem");
}

#[test]
fn orders_answers() {
    operation::<SearchOrders>("orders_2026-01-01.json", "searchOrders");
    operation::<GetOrder>("orders_2026-01-01.json", "getOrder");
    operation::<ConfirmShipment>("ordersV0.json", "confirmShipment");
}

#[test]
fn sellers_answers() {
    operation::<GetMarketplaceParticipations>("sellers.json", "getMarketplaceParticipations");
}

#[test]
fn shipping_answers() {
    operation::<GetRates>("shippingV2.json", "getRates");
    operation::<PurchaseShipment>("shippingV2.json", "purchaseShipment");
    operation::<OneClickShipment>("shippingV2.json", "oneClickShipment");
    operation::<CancelShipment>("shippingV2.json", "cancelShipment");
    operation::<GetTracking>("shippingV2.json", "getTracking");
    operation::<GetShipmentDocuments>("shippingV2.json", "getShipmentDocuments");
}

// ---- the JSON_LISTINGS_FEED processing report ------------------------------------

fn listings_report(body: &[u8], edits: &[Edit]) -> Result<(), TestCaseError> {
    match ListingsReport::parse(body) {
        Ok(r) => {
            // What the inventory push does with it next must not panic either.
            let _ = r.rejected_message_ids();
            let _ = r.feed_level_errors().count();
            Ok(())
        }
        Err(e) => refused(&e, domain::Operation::GetFeedDocument, None, edits),
    }
}

#[test]
fn listings_processing_report() {
    let seed = amazon("schemas/listings-feed-processing-report-schema-v2.example.json");
    ListingsReport::parse(seed.to_string().as_bytes()).expect("Amazon's example report");
    let keys = fuzz_kit::schema_keys(&amazon(
        "schemas/listings-feed-processing-report-schema-v2.json",
    ));
    fuzz_kit::run(
        "spapi.listings_report.structure",
        CI_CASES,
        fuzz_kit::mutated(seed.clone(), keys, 3),
        |m: Mutated| listings_report(m.text().as_bytes(), &m.edits),
    );
    fuzz_kit::run(
        "spapi.listings_report.text",
        CI_CASES,
        fuzz_kit::text_edits(seed.to_string()),
        |text: String| listings_report(text.as_bytes(), &[]),
    );
    fuzz_kit::run(
        "spapi.listings_report.bytes",
        CI_CASES,
        fuzz_kit::arbitrary_bytes(),
        |bytes: Vec<u8>| listings_report(&bytes, &[]),
    );
}

// ---- the XML processing report ------------------------------------------------------

/// A small XML tree: enough to edit a report element by element.
#[derive(Clone, Debug)]
enum Node {
    Element(String, Vec<Node>),
    Text(String),
    /// Written as is (CDATA, references, comments, stray markup).
    Raw(String),
}

fn el(name: &str, children: Vec<Node>) -> Node {
    Node::Element(name.to_string(), children)
}

fn leaf(name: &str, text: &str) -> Node {
    el(name, vec![Node::Text(text.to_string())])
}

/// The report of `ProcessingReport.xsd` inside its envelope: a summary, an
/// error with `AdditionalInfo` and a warning.
fn xml_seed() -> Node {
    el(
        "AmazonEnvelope",
        vec![
            el(
                "Header",
                vec![
                    leaf("DocumentVersion", "1.02"),
                    leaf("MerchantIdentifier", "A3EXAMPLESELLER"),
                ],
            ),
            leaf("MessageType", "ProcessingReport"),
            el(
                "Message",
                vec![
                    leaf("MessageID", "1"),
                    el(
                        "ProcessingReport",
                        vec![
                            leaf("DocumentTransactionID", "50001"),
                            leaf("StatusCode", "Complete"),
                            el(
                                "ProcessingSummary",
                                vec![
                                    leaf("MessagesProcessed", "3"),
                                    leaf("MessagesSuccessful", "2"),
                                    leaf("MessagesWithError", "1"),
                                    leaf("MessagesWithWarning", "1"),
                                ],
                            ),
                            el(
                                "Result",
                                vec![
                                    leaf("MessageID", "2"),
                                    leaf("ResultCode", "Error"),
                                    leaf("ResultMessageCode", "18028"),
                                    leaf(
                                        "ResultDescription",
                                        "The quantity & the item do not match.",
                                    ),
                                    el(
                                        "AdditionalInfo",
                                        vec![
                                            leaf("AmazonOrderID", "302-1234567-1234567"),
                                            leaf("AmazonOrderItemCode", "12345678901234"),
                                        ],
                                    ),
                                ],
                            ),
                            el(
                                "Result",
                                vec![
                                    leaf("MessageID", "3"),
                                    leaf("ResultCode", "Warning"),
                                    leaf("ResultMessageCode", "5000"),
                                    leaf("ResultDescription", "w"),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn write(node: &Node, out: &mut String) {
    match node {
        Node::Element(name, children) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for c in children {
                write(c, out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Node::Text(t) => out.push_str(&escape(t)),
        Node::Raw(r) => out.push_str(r),
    }
}

fn document(root: &Node) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write(root, &mut out);
    out
}

/// Element names from the root down to every node (text nodes included).
fn xml_paths(node: &Node) -> Vec<Vec<usize>> {
    fn walk(node: &Node, at: Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if let Node::Element(_, children) = node {
            for (i, c) in children.iter().enumerate() {
                let mut p = at.clone();
                p.push(i);
                walk(c, p, out);
            }
        }
        out.push(at);
    }
    let mut out = Vec::new();
    walk(node, Vec::new(), &mut out);
    out
}

fn node_mut<'a>(node: &'a mut Node, at: &[usize]) -> Option<&'a mut Node> {
    let mut n = node;
    for i in at {
        n = match n {
            Node::Element(_, children) => children.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(n)
}

/// The element names along `at` (the edit's place, as the parser names it).
fn names_along(node: &Node, at: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    let mut n = node;
    if let Node::Element(name, _) = n {
        out.push(name.clone());
    }
    for i in at {
        let Node::Element(_, children) = n else { break };
        let Some(c) = children.get(*i) else { break };
        if let Node::Element(name, _) = c {
            out.push(name.clone());
        }
        n = c;
    }
    out
}

#[derive(Clone, Debug)]
enum XmlOp {
    Remove,
    Duplicate(usize),
    Text(String),
    Rename(String),
    Raw(String),
    Wrap(String),
}

fn xml_op() -> impl Strategy<Value = XmlOp> {
    let markup = prop_oneof![
        Just("<![CDATA[".to_string() + SENTINEL + "]]>"),
        Just("&amp;&lt;&gt;&quot;&apos;".to_string()),
        Just("&#0;".to_string()),
        Just("&#x110000;".to_string()),
        Just("&#xD800;".to_string()),
        Just("&#99999999999;".to_string()),
        Just("&nbsp;".to_string()),
        Just("&".to_string()),
        Just("&#65".to_string()),
        Just("<".to_string()),
        Just("</Result>".to_string()),
        Just("<!-- c -->".to_string()),
        Just("<!-- -- -->".to_string()),
        Just("<?pi x?>".to_string()),
        Just("<!DOCTYPE x [<!ENTITY e \"".to_string() + SENTINEL + "\">]>"),
        Just("<x:Result xmlns:x=\"urn:x\">".to_string()),
        Just("<Result/>".to_string()),
        Just("<MessageID></MessageID>".to_string()),
    ];
    prop_oneof![
        2 => Just(XmlOp::Remove),
        1 => (1usize..50).prop_map(XmlOp::Duplicate),
        4 => fuzz_kit::nasty_string().prop_map(XmlOp::Text),
        1 => prop::sample::select(vec![
            "Result", "MessageID", "StatusCode", "ProcessingReport", "ProcessingSummary",
            "AdditionalInfo", "Message", "AmazonEnvelope", "ResultCode", "x",
        ])
        .prop_map(|n| XmlOp::Rename(n.to_string())),
        2 => markup.prop_map(XmlOp::Raw),
        1 => prop::sample::select(vec!["Result", "Message", "ProcessingReport", "AdditionalInfo"])
            .prop_map(|n| XmlOp::Wrap(n.to_string())),
    ]
}

fn xml_apply(root: &mut Node, at: &[usize], op: XmlOp) {
    if let XmlOp::Remove | XmlOp::Duplicate(_) = op {
        let Some((last, parent)) = at.split_last() else {
            return;
        };
        if let Some(Node::Element(_, children)) = node_mut(root, parent)
            && *last < children.len()
        {
            match op {
                XmlOp::Remove => {
                    children.remove(*last);
                }
                XmlOp::Duplicate(n) => {
                    let copy = children[*last].clone();
                    for _ in 0..n {
                        children.insert(*last, copy.clone());
                    }
                }
                _ => {}
            }
        }
        return;
    }
    let Some(node) = node_mut(root, at) else {
        return;
    };
    match op {
        XmlOp::Text(t) => match node {
            Node::Element(_, children) => *children = vec![Node::Text(t)],
            other => *other = Node::Text(t),
        },
        XmlOp::Rename(n) => {
            if let Node::Element(name, _) = node {
                *name = n;
            }
        }
        XmlOp::Raw(r) => match node {
            Node::Element(_, children) => children.push(Node::Raw(r)),
            other => *other = Node::Raw(r),
        },
        XmlOp::Wrap(n) => *node = el(&n, vec![node.clone()]),
        XmlOp::Remove | XmlOp::Duplicate(_) => {}
    }
}

/// The seed after 1 to 3 element-aware edits; with the element path of
/// each edit (names, as the parser's errors name them).
fn xml_mutated() -> impl Strategy<Value = (String, Vec<Vec<String>>)> {
    prop::collection::vec((any::<Index>(), xml_op()), 1..=3).prop_map(|edits| {
        let mut root = xml_seed();
        let mut places = Vec::new();
        for (at, op) in edits {
            let paths = xml_paths(&root);
            let path = at.get(&paths).clone();
            let before = names_along(&root, &path);
            xml_apply(&mut root, &path, op);
            // A renamed or wrapped element is named as it is now.
            let after = names_along(&root, &path);
            places.push(if after.len() >= before.len() {
                after
            } else {
                before
            });
        }
        (document(&root), places)
    })
}

fn xml_report(body: &[u8], places: &[Vec<String>]) -> Result<(), TestCaseError> {
    match parse_processing_report(body) {
        Ok(r) => {
            prop_assert!(
                !r.status_code.is_empty(),
                "a report without StatusCode accepted"
            );
            let _ = r.document_errors();
            for result in &r.results {
                let _ = r.errors_for(result.message_id);
            }
            Ok(())
        }
        Err(e) => {
            let text = e.to_string();
            prop_assert!(
                !text.contains(SENTINEL),
                "the error quotes the document: {text}"
            );
            let SpApiError::Decode {
                operation, path, ..
            } = &e
            else {
                return Err(TestCaseError::fail(format!("not a Decode error: {text}")));
            };
            prop_assert_eq!(*operation, domain::Operation::GetFeedDocument);
            prop_assert!(!path.is_empty());
            if let [place] = places {
                // The parser's paths start below the envelope.
                let place: Vec<String> = place
                    .iter()
                    .skip_while(|n| *n == "AmazonEnvelope")
                    .cloned()
                    .collect();
                let named: Vec<String> = if path == "(document)" {
                    Vec::new()
                } else {
                    path.split('/').map(str::to_string).collect()
                };
                let missing = text.contains("is missing");
                prop_assert!(
                    missing || related(&named, &place),
                    "edit at {place:?}, but the error is about `{path}`: {text}"
                );
            }
            Ok(())
        }
    }
}

#[test]
fn xml_processing_report() {
    let seed = document(&xml_seed());
    let parsed = parse_processing_report(seed.as_bytes()).expect("the seed report");
    assert_eq!(parsed.results.len(), 2);
    fuzz_kit::run(
        "spapi.xml_report.structure",
        CI_CASES,
        xml_mutated(),
        |(text, places): (String, Vec<Vec<String>>)| xml_report(text.as_bytes(), &places),
    );
    fuzz_kit::run(
        "spapi.xml_report.text",
        CI_CASES,
        fuzz_kit::text_edits(seed),
        |text: String| xml_report(text.as_bytes(), &[]),
    );
    fuzz_kit::run(
        "spapi.xml_report.bytes",
        CI_CASES,
        fuzz_kit::arbitrary_bytes(),
        |bytes: Vec<u8>| xml_report(&bytes, &[]),
    );
}

// ---- Amazon's notification bodies (the notification queue's messages) ------------

/// A notification body as the notification function reads it: the
/// envelope, then an `ORDER_CHANGE` payload. A refusal names the field (its
/// path, or that the body is not JSON / not a notification object) and
/// never quotes a value (the body has the buyer's postal code; the reason
/// is a dead letter's and a log line's); after a single edit that is not in
/// the payload, the envelope's refusal is about the edited field.
fn notification(body: &str, edits: &[Edit]) -> Result<(), TestCaseError> {
    use spapi::models::notifications::{Notification, ORDER_CHANGE, OrderChange};
    let check = |text: &str| -> Result<(), TestCaseError> {
        prop_assert!(!text.contains(SENTINEL), "the error quotes a value: {text}");
        prop_assert!(!text.is_empty());
        Ok(())
    };
    match Notification::parse(body) {
        Ok(n) => {
            if n.notification_type == ORDER_CHANGE
                && let Err(e) = OrderChange::from_payload(&n.payload)
            {
                check(&e)?;
                prop_assert!(e.starts_with("Payload"), "{e}");
                prop_assert!(!e.starts_with("Payload.."), "{e}");
                if let [edit] = edits {
                    prop_assert!(
                        related(&["Payload".to_string()], &edit.path),
                        "edit at {} ({}), but the payload is refused: {e}",
                        edit.pointer(),
                        edit.op
                    );
                }
            }
            Ok(())
        }
        Err(e) => {
            check(&e)?;
            if let [edit] = edits
                && let Some(path) = e.strip_suffix(" is missing or malformed")
            {
                prop_assert!(
                    related(&serde_segments(path), &edit.path),
                    "edit at {} ({}), but the error is about `{path}`: {e}",
                    edit.pointer(),
                    edit.op
                );
            }
            Ok(())
        }
    }
}

#[test]
fn order_change_notification_bodies() {
    let schema = amazon("schemas/notifications/OrderChangeNotification.json");
    let seeds: Vec<Value> = schema["examples"]
        .as_array()
        .expect("the schema's examples")
        .clone();
    for seed in &seeds {
        let n = spapi::models::notifications::Notification::parse(&seed.to_string())
            .expect("Amazon's example notification");
        spapi::models::notifications::OrderChange::from_payload(&n.payload)
            .expect("Amazon's example ORDER_CHANGE");
    }
    let keys = fuzz_kit::schema_keys(&schema);
    fuzz_kit::run(
        "spapi.order_change_notification.structure",
        CI_CASES,
        fuzz_kit::mutated_any(seeds.clone(), keys, 3),
        |m: Mutated| notification(&m.text(), &m.edits),
    );
    let texts: Vec<String> = seeds.iter().map(Value::to_string).collect();
    fuzz_kit::run(
        "spapi.order_change_notification.text",
        CI_CASES,
        (0..texts.len()).prop_flat_map(move |i| fuzz_kit::text_edits(texts[i].clone())),
        |text: String| notification(&text, &[]),
    );
    fuzz_kit::run(
        "spapi.order_change_notification.bytes",
        CI_CASES,
        fuzz_kit::arbitrary_bytes(),
        |bytes: Vec<u8>| notification(&String::from_utf8_lossy(&bytes), &[]),
    );
}
