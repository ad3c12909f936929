//! Checking label messages against the schema of the version they name:
//! which version, which fields only version 2 has, and schema errors as
//! rules about fields (never their values); then decoding and encoding.

use std::sync::LazyLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::LabelContractError;
use super::request::{LabelRequest, OperationName};
use super::response::LabelResponse;
use crate::contract::{any_of_required, common_rule, names, sorted_violations};
use crate::{MessageVersion, Violation};

/// At most this many violations are reported for one message.
pub(super) const MAX_VIOLATIONS: usize = 10;

/// The label contract's versions, oldest first.
pub const LABEL_VERSIONS: [u32; 2] = [1, 2];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Request,
    Response,
}

impl Kind {
    pub(super) fn what(self) -> &'static str {
        match self {
            Kind::Request => "label request",
            Kind::Response => "label response",
        }
    }
}

/// One schema file: a kind in a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Schema(pub(super) Kind, pub(super) MessageVersion);

impl Schema {
    pub(super) fn text(self) -> &'static str {
        match self {
            Schema(Kind::Request, MessageVersion::V1) => {
                include_str!("../../schemas/label-request.v1.json")
            }
            Schema(Kind::Response, MessageVersion::V1) => {
                include_str!("../../schemas/label-response.v1.json")
            }
            Schema(Kind::Request, MessageVersion::V2) => {
                include_str!("../../schemas/label-request.v2.json")
            }
            Schema(Kind::Response, MessageVersion::V2) => {
                include_str!("../../schemas/label-response.v2.json")
            }
        }
    }

    pub(super) fn compiled(self) -> Result<&'static Validator, LabelContractError> {
        type Compiled = LazyLock<Result<Validator, String>>;
        static REQUEST_1: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Request, MessageVersion::V1)));
        static RESPONSE_1: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Response, MessageVersion::V1)));
        static REQUEST_2: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Request, MessageVersion::V2)));
        static RESPONSE_2: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Response, MessageVersion::V2)));
        let compiled = match self {
            Schema(Kind::Request, MessageVersion::V1) => &*REQUEST_1,
            Schema(Kind::Response, MessageVersion::V1) => &*RESPONSE_1,
            Schema(Kind::Request, MessageVersion::V2) => &*REQUEST_2,
            Schema(Kind::Response, MessageVersion::V2) => &*RESPONSE_2,
        };
        compiled
            .as_ref()
            .map_err(|message| LabelContractError::SchemaUnavailable {
                what: self.0.what(),
                message: message.clone(),
            })
    }
}

/// The label schemas' texts (file name, JSON), for tests and tools.
pub fn label_schema_texts() -> [(&'static str, &'static str); 4] {
    [
        (
            "label-request.v1.json",
            Schema(Kind::Request, MessageVersion::V1).text(),
        ),
        (
            "label-response.v1.json",
            Schema(Kind::Response, MessageVersion::V1).text(),
        ),
        (
            "label-request.v2.json",
            Schema(Kind::Request, MessageVersion::V2).text(),
        ),
        (
            "label-response.v2.json",
            Schema(Kind::Response, MessageVersion::V2).text(),
        ),
    ]
}

pub(super) fn compile(schema: Schema) -> Result<Validator, String> {
    let value: Value = serde_json::from_str(schema.text()).map_err(|e| format!("not JSON: {e}"))?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&value)
        .map_err(|e| e.to_string())
}

/// The version a message names: 1 when it names none (the schema then
/// says `schema` is required), an error for a number we do not read.
pub(super) fn version_of(kind: Kind, value: &Value) -> Result<MessageVersion, LabelContractError> {
    match value.get("schema") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .and_then(MessageVersion::from_number)
            .ok_or_else(|| LabelContractError::UnsupportedVersion {
                what: kind.what(),
                found: n.to_string(),
            }),
        _ => Ok(MessageVersion::V1),
    }
}

/// Checks a JSON value against the request or response schema of the
/// version it names.
pub(super) fn validate(kind: Kind, value: &Value) -> Result<(), LabelContractError> {
    let version = version_of(kind, value)?;
    if kind == Kind::Request
        && version == MessageVersion::V1
        && let Some(path) = newer_request_field(value)
    {
        return Err(LabelContractError::NewerField {
            what: kind.what(),
            path,
        });
    }
    let schema = Schema(kind, version);
    let violations = sorted_violations(
        schema.compiled()?.iter_errors(value),
        violation,
        MAX_VIOLATIONS,
    );
    if violations.is_empty() {
        return Ok(());
    }
    Err(LabelContractError::Invalid {
        what: kind.what(),
        violations,
    })
}

/// Validates a request against its schema (a JSON value already parsed).
pub fn validate_request(value: &Value) -> Result<(), LabelContractError> {
    validate(Kind::Request, value)
}

pub(super) fn parse<T: DeserializeOwned>(
    schema: Kind,
    body: &str,
) -> Result<T, LabelContractError> {
    let value: Value = serde_json::from_str(body).map_err(|e| LabelContractError::NotJson {
        what: schema.what(),
        line: e.line(),
        column: e.column(),
    })?;
    validate(schema, &value)?;
    serde_path_to_error::deserialize(value).map_err(|e| LabelContractError::Invalid {
        what: schema.what(),
        violations: vec![Violation {
            path: pointer(&e.path().to_string()),
            rule: "does not fit the field's type or format (see the schema)".to_string(),
        }],
    })
}

pub(super) fn encode<T: Serialize>(
    schema: Kind,
    message: &T,
) -> Result<String, LabelContractError> {
    let value = serde_json::to_value(message).map_err(|source| LabelContractError::Encode {
        what: schema.what(),
        source,
    })?;
    validate(schema, &value)?;
    serde_json::to_string(&value).map_err(|source| LabelContractError::Encode {
        what: schema.what(),
        source,
    })
}

/// `serde_path_to_error`'s dotted path (`shipment.packages[0].weight`) as a
/// JSON pointer (`/shipment/packages/0/weight`).
pub(super) fn pointer(path: &str) -> String {
    if path.is_empty() || path == "." {
        return "/".to_string();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let (name, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out.push('/');
            out.push_str(name);
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(index.trim_end_matches(']'));
        }
    }
    out
}

/// A schema error as a rule about a field, without the field's value.
pub(super) fn violation(error: &ValidationError<'_>) -> Violation {
    let at = error.instance_path().as_str();
    let path = if at.is_empty() {
        "/".to_string()
    } else {
        at.to_string()
    };
    let rule = |rule: String| Violation {
        path: path.clone(),
        rule,
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => Violation {
            path: format!("{at}/{}", property.as_str().unwrap_or_default()),
            rule: "is required".to_string(),
        },
        ValidationErrorKind::Pattern { pattern } => rule(match pattern.as_str() {
            "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$" => {
                "must be an idempotency key: 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit".to_string()
            }
            "^[0-9]{1,9}(\\.[0-9]{1,6})?$" => {
                "must be a non-negative decimal number written as a string, e.g. \"1.25\"".to_string()
            }
            other => crate::contract::pattern_rule(other),
        }),
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::OneOfMultipleValid { .. }
            if at.ends_with("/shipment") =>
        {
            rule("needs exactly one of `order_number` (an Amazon order) and `ship_to`".to_string())
        }
        ValidationErrorKind::AnyOf { context } => {
            // Like the message contracts' arm, worded apart on purpose:
            // here "needs `a` or `b`", there "needs at least one of".
            let missing = any_of_required(context);
            if !missing.is_empty() {
                rule(format!("needs {}", names(&missing).replace("`, `", "` or `")))
            } else {
                rule("does not match any of the allowed shapes".to_string())
            }
        }
        kind => rule(
            common_rule(kind).unwrap_or_else(|| error.masked_with("the value").to_string()),
        ),
    }
}

impl LabelRequest {
    /// Validates `body` against the schema of the version it names
    /// (`schemas/label-request.v<N>.json`), then decodes it. A version 1
    /// request carrying a field or operation of version 2 is refused.
    pub fn parse(body: &str) -> Result<LabelRequest, LabelContractError> {
        parse(Kind::Request, body)
    }

    /// The request as JSON, checked against the schema (for the WMS side and tests).
    pub fn to_json(&self) -> Result<String, LabelContractError> {
        encode(Kind::Request, self)
    }
}

/// The first part of a version 1 request that only version 2 has, as a
/// JSON pointer (`None`: the request is plain version 1).
pub(super) fn newer_request_field(value: &Value) -> Option<String> {
    if let Some(op) = OperationName::from_value(value)
        && op.since() == MessageVersion::V2
    {
        return Some("/operation".into());
    }
    for field in [
        "additional_inputs",
        "ship_from",
        "collection_form_id",
        "from",
        "to",
        "max_results",
    ] {
        if value.get(field).is_some() {
            return Some(format!("/{field}"));
        }
    }
    let packages = value.pointer("/shipment/packages")?.as_array()?;
    for (p, package) in packages.iter().enumerate() {
        for (i, item) in package["items"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if item.get("serial_numbers").is_some() {
                return Some(format!("/shipment/packages/{p}/items/{i}/serial_numbers"));
            }
        }
    }
    None
}

impl LabelResponse {
    /// The response as JSON, checked against `schemas/label-response.v1.json`.
    pub fn to_json(&self) -> Result<String, LabelContractError> {
        encode(Kind::Response, self)
    }

    /// Validates and decodes a response (the WMS side, tests).
    pub fn parse(body: &str) -> Result<LabelResponse, LabelContractError> {
        parse(Kind::Response, body)
    }
}
