//! The three contracts, their embedded schemas (compiled once per process),
//! and the parse / encode steps every message goes through.

use std::fmt;
use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::{ContractError, Violation};

/// The schema version of the contracts that have only one (`"schema": 1`:
/// the stock page and the label contract).
pub const SCHEMA_VERSION: u32 = 1;

/// At most this many violations are reported for one message.
const MAX_VIOLATIONS: usize = 10;

/// Which contract a message belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Contract {
    /// Connector → WMS order queue.
    OrderMessage,
    /// WMS → connector shipment queue.
    ShipmentMessage,
    /// The WMS stock endpoint's answer.
    StockPage,
    /// Connector → WMS order queue: `order.cancel_requested` (issue 15; its
    /// own schema file, so the order message's versions are unchanged).
    OrderCancelRequest,
}

impl Contract {
    pub const ALL: [Contract; 4] = [
        Contract::OrderMessage,
        Contract::ShipmentMessage,
        Contract::StockPage,
        Contract::OrderCancelRequest,
    ];

    /// The schema versions of this contract, oldest first. Each version has
    /// its own schema file; a message names its version in `"schema"`.
    pub fn versions(self) -> &'static [u32] {
        match self {
            Contract::OrderMessage | Contract::ShipmentMessage => &[1, 2],
            Contract::StockPage | Contract::OrderCancelRequest => &[1],
        }
    }

    /// The JSON Schema text of `version`, as shipped in `shared/wms/schemas/`.
    pub fn schema_text_of(self, version: u32) -> Option<&'static str> {
        Some(match (self, version) {
            (Contract::OrderMessage, 1) => include_str!("../schemas/order-message.v1.json"),
            (Contract::OrderMessage, 2) => include_str!("../schemas/order-message.v2.json"),
            (Contract::ShipmentMessage, 1) => include_str!("../schemas/shipment-message.v1.json"),
            (Contract::ShipmentMessage, 2) => include_str!("../schemas/shipment-message.v2.json"),
            (Contract::StockPage, 1) => include_str!("../schemas/stock-page.v1.json"),
            (Contract::OrderCancelRequest, 1) => {
                include_str!("../schemas/order-cancel-requested.v1.json")
            }
            _ => return None,
        })
    }

    /// The schema file name of `version` under `shared/wms/schemas/`.
    pub fn schema_file_of(self, version: u32) -> String {
        let name = match self {
            Contract::OrderMessage => "order-message",
            Contract::ShipmentMessage => "shipment-message",
            Contract::StockPage => "stock-page",
            Contract::OrderCancelRequest => "order-cancel-requested",
        };
        format!("{name}.v{version}.json")
    }

    /// The newest schema's text.
    pub fn schema_text(self) -> &'static str {
        let newest = self.versions().last().copied().unwrap_or(SCHEMA_VERSION);
        self.schema_text_of(newest).unwrap_or_default()
    }

    /// The newest schema's file name.
    pub fn schema_file(self) -> String {
        self.schema_file_of(self.versions().last().copied().unwrap_or(SCHEMA_VERSION))
    }

    pub(crate) fn compiled(self, version: u32) -> Result<&'static Validator, ContractError> {
        type Compiled = LazyLock<Result<Validator, String>>;
        static ORDER_1: Compiled = LazyLock::new(|| compile(Contract::OrderMessage, 1));
        static ORDER_2: Compiled = LazyLock::new(|| compile(Contract::OrderMessage, 2));
        static SHIPMENT_1: Compiled = LazyLock::new(|| compile(Contract::ShipmentMessage, 1));
        static SHIPMENT_2: Compiled = LazyLock::new(|| compile(Contract::ShipmentMessage, 2));
        static STOCK_1: Compiled = LazyLock::new(|| compile(Contract::StockPage, 1));
        static CANCEL_REQUEST_1: Compiled =
            LazyLock::new(|| compile(Contract::OrderCancelRequest, 1));
        let compiled = match (self, version) {
            (Contract::OrderMessage, 1) => &*ORDER_1,
            (Contract::OrderMessage, 2) => &*ORDER_2,
            (Contract::ShipmentMessage, 1) => &*SHIPMENT_1,
            (Contract::ShipmentMessage, 2) => &*SHIPMENT_2,
            (Contract::StockPage, 1) => &*STOCK_1,
            (Contract::OrderCancelRequest, 1) => &*CANCEL_REQUEST_1,
            _ => {
                return Err(ContractError::UnsupportedVersion {
                    contract: self,
                    found: version.to_string(),
                    supported: self.versions(),
                });
            }
        };
        compiled
            .as_ref()
            .map_err(|message| ContractError::SchemaUnavailable {
                contract: self,
                message: message.clone(),
            })
    }

    /// Checks a JSON value against the schema of the version it names
    /// (version first, so a message from a newer WMS gets a clear
    /// "unsupported version"; no or a malformed `schema` is checked against
    /// the oldest version, whose errors then name the field).
    pub fn validate(self, value: &Value) -> Result<(), ContractError> {
        let version = check_version(self, value)?;
        let validator = self.compiled(version)?;
        let violations = sorted_violations(validator.iter_errors(value), violation, MAX_VIOLATIONS);
        if violations.is_empty() {
            return Ok(());
        }
        Err(ContractError::Invalid {
            contract: self,
            violations,
        })
    }

    /// Parses text received from the WMS: JSON, then the schema, then the
    /// Rust type (with the path of the field that broke).
    pub(crate) fn parse<T: DeserializeOwned>(self, body: &str) -> Result<T, ContractError> {
        let value: Value = serde_json::from_str(body).map_err(|e| ContractError::NotJson {
            contract: self,
            problem: match e.classify() {
                serde_json::error::Category::Eof => "it ends too early",
                serde_json::error::Category::Syntax => "syntax error",
                // `from_str` into a `Value` only fails on syntax or EOF; keep a
                // sane text for the others anyway.
                serde_json::error::Category::Data | serde_json::error::Category::Io => "unreadable",
            },
            line: e.line(),
            column: e.column(),
        })?;
        self.validate(&value)?;
        serde_path_to_error::deserialize(value).map_err(|e| ContractError::Invalid {
            contract: self,
            violations: vec![Violation {
                path: serde_pointer(e.path()),
                // serde's own text quotes the value: leave it out.
                rule: "does not fit the field's type or format (see the schema)".to_string(),
            }],
        })
    }

    /// Serialises a message we send, after checking it against our own schema.
    pub(crate) fn encode<T: Serialize>(self, message: &T) -> Result<String, ContractError> {
        let value = serde_json::to_value(message).map_err(|source| ContractError::Encode {
            contract: self,
            source,
        })?;
        self.validate(&value)?;
        serde_json::to_string(message).map_err(|source| ContractError::Encode {
            contract: self,
            source,
        })
    }
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Contract::OrderMessage => "order message",
            Contract::ShipmentMessage => "shipment message",
            Contract::StockPage => "stock page",
            Contract::OrderCancelRequest => "order cancellation request",
        })
    }
}

fn compile(contract: Contract, version: u32) -> Result<Validator, String> {
    let text = contract
        .schema_text_of(version)
        .ok_or_else(|| format!("no schema version {version}"))?;
    let schema: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| e.to_string())
}

/// The version a message names (see [`Contract::validate`]).
fn check_version(contract: Contract, value: &Value) -> Result<u32, ContractError> {
    let versions = contract.versions();
    let oldest = versions.first().copied().unwrap_or(SCHEMA_VERSION);
    match value.get("schema") {
        Some(Value::Number(n)) => match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
            Some(v) if versions.contains(&v) => Ok(v),
            _ => Err(ContractError::UnsupportedVersion {
                contract,
                found: n.to_string(),
                supported: versions,
            }),
        },
        _ => Ok(oldest),
    }
}

fn pointer(location: &str) -> String {
    if location.is_empty() {
        "/".to_string()
    } else {
        location.to_string()
    }
}

fn child(location: &str, key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    format!("{location}/{escaped}")
}

/// Field names as the messages quote them: `` `a`, `b` ``.
pub(crate) fn names(keys: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    keys.into_iter()
        .map(|k| format!("`{}`", k.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A schema's errors as violations (each worded by `violation`), sorted by
/// path then rule, without repeats, the first `max` of them; the message
/// contracts and the label contract report them alike.
pub(crate) fn sorted_violations<'a>(
    errors: impl Iterator<Item = ValidationError<'a>>,
    violation: impl Fn(&ValidationError<'a>) -> Violation,
    max: usize,
) -> Vec<Violation> {
    let mut violations: Vec<Violation> = errors.map(|e| violation(&e)).collect();
    violations.sort_by(|a, b| a.path.cmp(&b.path).then(a.rule.cmp(&b.rule)));
    violations.dedup();
    violations.truncate(max);
    violations
}

/// A schema error as a rule about a field, without the field's value.
fn violation(error: &ValidationError<'_>) -> Violation {
    let at = error.instance_path().as_str();
    let rule = |rule: String| Violation {
        path: pointer(at),
        rule,
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            Violation {
                path: child(at, name),
                rule: "is required".to_string(),
            }
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            rule(format!("must be greater than {limit}"))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            rule(format!("must be less than {limit}"))
        }
        ValidationErrorKind::Pattern { pattern } => rule(pattern_rule(pattern)),
        ValidationErrorKind::AnyOf { context } => {
            // `anyOf` of `required` lists: "give at least one of these".
            let missing = any_of_required(context);
            if !missing.is_empty() && missing.len() == context.iter().flatten().count() {
                rule(format!("needs at least one of {}", names(&missing)))
            } else {
                rule("does not match any of the allowed shapes".to_string())
            }
        }
        kind => {
            rule(common_rule(kind).unwrap_or_else(|| error.masked_with("the value").to_string()))
        }
    }
}

/// The properties an `anyOf`'s failed branches asked for (their `required`
/// errors; the other errors of the branches are left out). The message
/// contracts and the label contract word the rule apart.
pub(crate) fn any_of_required(context: &[Vec<ValidationError<'_>>]) -> Vec<String> {
    context
        .iter()
        .flatten()
        .filter_map(|e| match e.kind() {
            ValidationErrorKind::Required { property } => property.as_str().map(str::to_string),
            _ => None,
        })
        .collect()
}

/// The rule of a schema error that every contract (these three and the
/// label contract) words alike: types, limits, lengths, formats, enums,
/// constants, item counts, unknown fields. `None`: a kind each contract
/// words its own way (required fields, patterns, alternatives).
pub(crate) fn common_rule(kind: &ValidationErrorKind) -> Option<String> {
    Some(match kind {
        ValidationErrorKind::Type { kind } => match kind {
            TypeKind::Single(t) => format!("must be of type {t}"),
            TypeKind::Multiple(ts) => format!(
                "must be one of the types {}",
                ts.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        ValidationErrorKind::Minimum { limit } => format!("must be at least {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}"),
        ValidationErrorKind::MinLength { limit } => {
            format!("must have at least {limit} character(s)")
        }
        ValidationErrorKind::MaxLength { limit } => format!("must have at most {limit} characters"),
        ValidationErrorKind::Format { format } if format == "date-time" => {
            "must be an RFC 3339 date-time with an offset, e.g. 2026-09-01T14:00:00Z".to_string()
        }
        ValidationErrorKind::Format { format } => format!("must be a valid {format}"),
        ValidationErrorKind::Enum { options } => format!("must be one of {options}"),
        ValidationErrorKind::Constant { expected_value } => format!("must be {expected_value}"),
        ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} item(s)"),
        ValidationErrorKind::MaxItems { limit } => format!("must have at most {limit} items"),
        ValidationErrorKind::AdditionalProperties { unexpected } => format!(
            "has field(s) the contract does not define: {}",
            names(unexpected)
        ),
        _ => return None,
    })
}

/// The rule behind each pattern of our schemas, in words.
pub(crate) fn pattern_rule(pattern: &str) -> String {
    const SKU: &str =
        r"^[^\s\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F])?$";
    let words = match pattern {
        SKU => "must be a SKU: no control characters and no leading or trailing spaces",
        "^[A-Z0-9]{8,20}$" => "must be an Amazon id: 8 to 20 upper-case letters and digits",
        "^[A-Za-z0-9_-]{1,32}$" => "must be a client code: 1 to 32 letters, digits, '-' or '_'",
        "^[A-Za-z0-9]{0,10}[0-9]{3}-[0-9]{7}-[0-9]{7}$" => {
            "must be the order number as sent (prefix + Amazon order id, e.g. MG302-1234567-1234567) or the bare Amazon order id"
        }
        "^[0-9]{3}-[0-9]{7}-[0-9]{7}$" => {
            "must be an Amazon order id: 3, 7 and 7 digits joined by '-'"
        }
        "^[0-9]{1,30}$" => "must be an Amazon order item id: 1 to 30 digits",
        "^[A-Z]{2}$" => "must be an upper-case ISO 3166-1 alpha-2 country code, e.g. DE",
        "^[A-Z]{3}$" => "must be an upper-case ISO 4217 currency code, e.g. EUR",
        "^-?[0-9]+(\\.[0-9]+)?$" => "must be a decimal number written as a string, e.g. \"12.90\"",
        "^[\\x21-\\x7E]+$" => "must be printable ASCII without spaces",
        "^\\S(.*\\S)?$" => "must not start or end with spaces",
        _ => return format!("must match the pattern {pattern}"),
    };
    words.to_string()
}

/// `serde_path_to_error`'s path as a JSON pointer.
fn serde_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out = child(&out, &index.to_string()),
            Segment::Map { key } => out = child(&out, key),
            Segment::Enum { variant } => out = child(&out, variant),
            Segment::Unknown => out = child(&out, "?"),
        }
    }
    pointer(&out)
}

/// The `"schema"` field of a contract with two versions (order and
/// shipment messages): 1 or 2, kept so a message is answered in the
/// version it came in and what it may carry is checked per version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageVersion {
    #[default]
    V1,
    V2,
}

impl MessageVersion {
    pub fn number(self) -> u32 {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }

    /// 1 or 2; `None` for any other number.
    pub fn from_number(n: u32) -> Option<Self> {
        match n {
            1 => Some(MessageVersion::V1),
            2 => Some(MessageVersion::V2),
            _ => None,
        }
    }
}

impl Serialize for MessageVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.number())
    }
}

impl<'de> Deserialize<'de> for MessageVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(deserializer)?;
        u32::try_from(n)
            .ok()
            .and_then(MessageVersion::from_number)
            .ok_or_else(|| serde::de::Error::custom("unsupported schema version"))
    }
}

/// The `"schema"` field: always [`SCHEMA_VERSION`]; any other number is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(SCHEMA_VERSION)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(deserializer)?;
        if n == u64::from(SCHEMA_VERSION) {
            Ok(SchemaVersion)
        } else {
            Err(serde::de::Error::custom("unsupported schema version"))
        }
    }
}
