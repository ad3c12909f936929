//! What is wrong with a label request or response.

use crate::Violation;

/// What is wrong with a label request or response. Messages name the field
/// and the rule, never a value.
#[derive(Debug, thiserror::Error)]
pub enum LabelContractError {
    #[error(
        "{what}: the body is not valid JSON (at line {line}, column {column}): send one UTF-8 JSON object (see shared/wms/CONTRACTS.md)"
    )]
    NotJson {
        what: &'static str,
        line: usize,
        column: usize,
    },
    #[error(
        "{what}: `/schema` is {found}, but this connector reads label contract versions 1 and 2: send \"schema\": 1 or 2 (see shared/wms/CONTRACTS.md)"
    )]
    UnsupportedVersion { what: &'static str, found: String },
    #[error(
        "{what}: `{path}` is part of label contract version 2, but the request says \"schema\": 1: send \"schema\": 2 (see shared/wms/CONTRACTS.md, \"Label contract version 2\")"
    )]
    NewerField { what: &'static str, path: String },
    #[error(
        "{what} breaks its schema: {}; fix the request and send it again (see shared/wms/CONTRACTS.md, \"Label request and response\")",
        violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; ")
    )]
    Invalid {
        what: &'static str,
        violations: Vec<Violation>,
    },
    #[error("{what}: could not be encoded as JSON: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{what}: the embedded JSON Schema does not compile ({message}); this is a bug in the wms crate"
    )]
    SchemaUnavailable { what: &'static str, message: String },
}

impl LabelContractError {
    /// Never: a contract error is about the message itself.
    pub fn is_retryable(&self) -> bool {
        false
    }

    pub fn violations(&self) -> &[Violation] {
        match self {
            LabelContractError::Invalid { violations, .. } => violations,
            _ => &[],
        }
    }
}
