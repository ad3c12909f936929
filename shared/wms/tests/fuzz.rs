//! Property tests of the WMS contracts the connector receives (issue 16,
//! "Bad input, fuzzed"): the shipment message (SQS), the stock page (HTTP
//! answer) and the label request (Function URL). For arbitrary bytes, for
//! byte-level edits of the documented examples and for structure-aware
//! edits of them (fields removed, retyped, repeated, renamed, extreme
//! values, fields of the schema added where they do not belong):
//!
//! - the parser never panics;
//! - a message it accepts is one we can write back and read again, equal
//!   (the schema and the Rust type agree);
//! - a message it refuses gets a typed error: not JSON (with line and
//!   column), an unsupported version, or the contract's violations, each a
//!   JSON pointer to the field and its rule, and — after a single edit —
//!   about the edited field, a parent of it, or a field inside it;
//! - no error text quotes a value from the message.
//!
//! Case counts: small by default (CI), `PROPTEST_CASES` for the bench
//! (`infra/fuzz.sh`, figures in BENCHMARKS.md).

use fuzz_kit::{Edit, Mutated, SENTINEL, pointer_segments, related};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use wms::label::{LabelContractError, label_schema_texts};
use wms::{Contract, ContractError, LabelRequest, ShipmentMessage, StockPage};

const CONTRACTS_MD: &str = include_str!("../CONTRACTS.md");

/// CI's cases per property (the bench sets `PROPTEST_CASES`).
const CI_CASES: u32 = 1000;

/// The JSON examples of CONTRACTS.md tagged `tag` (```json <tag> blocks, or
/// a `<!-- example: <tag> -->` line before a ```json block).
fn examples(tag: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut lines = CONTRACTS_MD.lines().peekable();
    while let Some(line) = lines.next() {
        let tagged = line.strip_prefix("```json ").map(str::trim) == Some(tag)
            || (line == format!("<!-- example: {tag} -->")
                && lines.next_if(|l| *l == "```json").is_some());
        if !tagged {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        out.push(serde_json::from_str(&body.join("\n")).expect("a JSON example"));
    }
    assert!(out.len() >= 2, "CONTRACTS.md shows {tag} examples");
    out
}

fn keys(schema_text: &str) -> Vec<String> {
    fuzz_kit::schema_keys(&serde_json::from_str(schema_text).expect("schema JSON"))
}

fn label_request_schema() -> &'static str {
    label_schema_texts()
        .into_iter()
        .find(|(name, _)| *name == "label-request.v1.json")
        .map(|(_, text)| text)
        .expect("the label request schema")
}

/// An edit after which any field may be the one refused: the version, or
/// the label operation's name (it decides which fields are required).
fn switches_shape(edit: &Edit) -> bool {
    matches!(
        edit.path.first().map(String::as_str),
        Some("schema" | "operation")
    ) || edit.path.is_empty()
}

/// What every refusal must be: violations with pointers and rules, none
/// quoting a value; after one edit, one of them about the edited field.
fn check_violations(
    text: &str,
    violations: &[wms::Violation],
    edits: &[Edit],
) -> Result<(), TestCaseError> {
    prop_assert!(
        !violations.is_empty(),
        "an Invalid error without violations"
    );
    prop_assert!(violations.len() <= 10, "at most 10 violations reported");
    for v in violations {
        prop_assert!(v.path.starts_with('/'), "not a JSON pointer: {}", v.path);
        prop_assert!(!v.rule.is_empty(), "a violation without its rule");
        prop_assert!(text.contains(&format!("`{}`", v.path)), "{text}");
    }
    if let [edit] = edits
        && !switches_shape(edit)
    {
        prop_assert!(
            violations
                .iter()
                .any(|v| related(&pointer_segments(&v.path), &edit.path)),
            "edit at {} ({}), but the error names other fields: {text}",
            edit.pointer(),
            edit.op
        );
    }
    Ok(())
}

/// What a refusal is, the same for both error enums (the WMS contracts'
/// and the label contract's): the property checks it once.
enum Refusal<'a> {
    NotJson {
        line: usize,
    },
    UnsupportedVersion,
    Invalid(&'a [wms::Violation]),
    NewerField {
        path: &'a str,
    },
    /// Encoding or schema failures: a parse must never end in one.
    Never,
}

/// A contract's parse error, as the property reads it.
trait Refused: std::fmt::Display {
    fn retryable(&self) -> bool;
    fn refusal(&self) -> Refusal<'_>;
}

impl Refused for ContractError {
    fn retryable(&self) -> bool {
        self.is_retryable()
    }
    fn refusal(&self) -> Refusal<'_> {
        match self {
            ContractError::NotJson { line, .. } => Refusal::NotJson { line: *line },
            ContractError::UnsupportedVersion { .. } => Refusal::UnsupportedVersion,
            ContractError::Invalid { violations, .. } => Refusal::Invalid(violations),
            ContractError::NewerField { path, .. } => Refusal::NewerField { path },
            ContractError::Encode { .. } | ContractError::SchemaUnavailable { .. } => {
                Refusal::Never
            }
        }
    }
}

impl Refused for LabelContractError {
    fn retryable(&self) -> bool {
        self.is_retryable()
    }
    fn refusal(&self) -> Refusal<'_> {
        match self {
            LabelContractError::NotJson { line, .. } => Refusal::NotJson { line: *line },
            LabelContractError::UnsupportedVersion { .. } => Refusal::UnsupportedVersion,
            LabelContractError::Invalid { violations, .. } => Refusal::Invalid(violations),
            LabelContractError::NewerField { path, .. } => Refusal::NewerField { path },
            LabelContractError::Encode { .. } | LabelContractError::SchemaUnavailable { .. } => {
                Refusal::Never
            }
        }
    }
}

fn check_refusal(e: &impl Refused, edits: &[Edit]) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(!text.contains(SENTINEL), "the error quotes a value: {text}");
    prop_assert!(!e.retryable());
    match e.refusal() {
        Refusal::NotJson { line } => {
            prop_assert!(edits.is_empty(), "an edited value is still JSON: {text}");
            prop_assert!(line >= 1);
        }
        Refusal::UnsupportedVersion => {
            prop_assert!(
                edits.is_empty() || edits.iter().any(switches_shape),
                "{text}"
            );
        }
        Refusal::Invalid(violations) => check_violations(&text, violations, edits)?,
        Refusal::NewerField { path } => {
            // A valid example is never refused: an edit put a version-2
            // field into a version-1 message, or set the version down.
            // Text edits (no structural edits recorded) may rename or
            // rewrite the "schema" key itself, which explains any refusal.
            let named = pointer_segments(path);
            prop_assert!(
                edits.is_empty()
                    || edits
                        .iter()
                        .any(|e| switches_shape(e) || related(&e.path, &named)),
                "{text}"
            );
        }
        Refusal::Never => {
            prop_assert!(false, "a parse must never fail like this: {text}");
        }
    }
    Ok(())
}

/// The property for one contract: an accepted message writes back and reads
/// again equal; a refused one is a proper refusal.
fn round_trip<T, E>(
    text: &str,
    edits: &[Edit],
    parse: fn(&str) -> Result<T, E>,
    write: fn(&T) -> Result<String, E>,
) -> Result<(), TestCaseError>
where
    T: PartialEq + std::fmt::Debug,
    E: Refused,
{
    match parse(text) {
        Ok(m) => {
            let again = write(&m).map_err(|e| {
                TestCaseError::fail(format!("accepted but cannot be written back: {e}"))
            })?;
            let back = parse(&again)
                .map_err(|e| TestCaseError::fail(format!("our own text refused: {e}")))?;
            prop_assert_eq!(back, m);
            Ok(())
        }
        Err(e) => check_refusal(&e, edits),
    }
}

fn shipment(text: &str, edits: &[Edit]) -> Result<(), TestCaseError> {
    round_trip(
        text,
        edits,
        ShipmentMessage::parse,
        ShipmentMessage::to_json,
    )
}

fn stock(text: &str, edits: &[Edit]) -> Result<(), TestCaseError> {
    round_trip(text, edits, StockPage::parse, StockPage::to_json)
}

fn label(text: &str, edits: &[Edit]) -> Result<(), TestCaseError> {
    round_trip(text, edits, LabelRequest::parse, LabelRequest::to_json)
}

fn structured(
    name: &str,
    seeds: Vec<Value>,
    schema: &str,
    check: fn(&str, &[Edit]) -> Result<(), TestCaseError>,
) {
    fuzz_kit::run(
        name,
        CI_CASES,
        fuzz_kit::mutated_any(seeds, keys(schema), 3),
        |m: Mutated| check(&m.text(), &m.edits),
    );
}

fn textual(name: &str, seeds: Vec<Value>, check: fn(&str, &[Edit]) -> Result<(), TestCaseError>) {
    let texts: Vec<String> = seeds.iter().map(Value::to_string).collect();
    let strategy = (0..texts.len()).prop_flat_map(move |i| fuzz_kit::text_edits(texts[i].clone()));
    fuzz_kit::run(name, CI_CASES, strategy, |text: String| check(&text, &[]));
}

fn bytes(name: &str, check: fn(&str, &[Edit]) -> Result<(), TestCaseError>) {
    fuzz_kit::run(
        name,
        CI_CASES,
        fuzz_kit::arbitrary_text(),
        |text: String| check(&text, &[]),
    );
}

#[test]
fn every_documented_seed_is_valid() {
    for m in examples("shipment-message") {
        shipment(&m.to_string(), &[]).unwrap();
        ShipmentMessage::parse(&m.to_string()).unwrap();
    }
    for p in examples("stock-page") {
        StockPage::parse(&p.to_string()).unwrap();
    }
    for r in examples("label-request") {
        LabelRequest::parse(&r.to_string()).unwrap();
    }
}

#[test]
fn shipment_message_structure_edits() {
    structured(
        "wms.shipment_message.structure",
        examples("shipment-message"),
        Contract::ShipmentMessage.schema_text(),
        shipment,
    );
}

#[test]
fn shipment_message_text_edits() {
    textual(
        "wms.shipment_message.text",
        examples("shipment-message"),
        shipment,
    );
}

#[test]
fn shipment_message_arbitrary_bytes() {
    bytes("wms.shipment_message.bytes", shipment);
}

#[test]
fn stock_page_structure_edits() {
    structured(
        "wms.stock_page.structure",
        examples("stock-page"),
        Contract::StockPage.schema_text(),
        stock,
    );
}

#[test]
fn stock_page_text_edits() {
    textual("wms.stock_page.text", examples("stock-page"), stock);
}

#[test]
fn stock_page_arbitrary_bytes() {
    bytes("wms.stock_page.bytes", stock);
}

#[test]
fn label_request_structure_edits() {
    structured(
        "wms.label_request.structure",
        examples("label-request"),
        label_request_schema(),
        label,
    );
}

#[test]
fn label_request_text_edits() {
    textual("wms.label_request.text", examples("label-request"), label);
}

#[test]
fn label_request_arbitrary_bytes() {
    bytes("wms.label_request.bytes", label);
}

/// Found by `wms.label_request.text` (CI seed 1592651810): a text edit
/// renamed `"schema"` to `"rschema"`, so the request read as version 1 and
/// its version-2 field was refused. The refusal is right; the property had
/// wrongly demanded a structural edit to explain it.
#[test]
fn a_text_edit_to_the_version_key_explains_a_newer_field_refusal() {
    let text = r#"{"additional_inputs":{"customsDeclaration":{"contentsType":"SALE_OF_GOODS","items":[{"countryOfOrigin":"GB","description":"Mug, blue","hsCode":"691200","quantity":2,"unitValue":{"unit":"GBP","value":9.95}}]}},"client_code":"ACME","idempotency_key":"SHOP-88232-1","label":{"format":"PDF"},"operation":"purchase","rate_id":"RATE00000054UPS","rschema":2}"#;
    let refused = LabelRequest::parse(text).expect_err("a version-2 field in a version-1 request");
    assert!(
        matches!(refused, LabelContractError::NewerField { .. }),
        "{refused}"
    );
    label(text, &[]).expect("a text edit explains the refusal");
}
