//! The crate's one error type. Every message names the contract, the field
//! (a JSON pointer) and the rule, and says what to do; none quotes a value
//! from the message, because values may be buyer data and the text ends up in
//! logs and dead-letter reasons.

use std::fmt;

use crate::Contract;

/// One broken rule: where (a JSON pointer such as `/lines/0/quantity`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending field; `/` for the message itself.
    pub path: String,
    /// The rule, phrased as what the field must be (`must be at least 1`).
    pub rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.path, self.rule)
    }
}

struct Violations<'a>(&'a [Violation]);

impl fmt::Display for Violations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// `1 or 2`.
struct Versions<'a>(&'a [u32]);

impl fmt::Display for Versions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error(
        "{contract}: the body is not valid JSON ({problem} at line {line}, column {column}): send one UTF-8 JSON object per message (see shared/wms/CONTRACTS.md)"
    )]
    NotJson {
        contract: Contract,
        problem: &'static str,
        line: usize,
        column: usize,
    },

    #[error(
        "{contract}: `/schema` is {found}, but this connector reads only schema version {}: send \"schema\" {} (see shared/wms/CONTRACTS.md)",
        Versions(supported),
        Versions(supported)
    )]
    UnsupportedVersion {
        contract: Contract,
        /// The version number the message carried (a number, never free text).
        found: String,
        supported: &'static [u32],
    },

    /// A field of a newer version in a message of an older one: refused
    /// rather than ignored, so nothing the WMS sent is dropped silently.
    #[error(
        "{contract}: `{path}` is a field of schema version {needs}, but the message says \"schema\": {found}: send \"schema\": {needs} (see shared/wms/CONTRACTS.md)"
    )]
    NewerField {
        contract: Contract,
        path: String,
        needs: u32,
        found: u32,
    },

    #[error(
        "{contract} breaks its schema: {}; fix the message and send it again (see shared/wms/CONTRACTS.md)",
        Violations(violations)
    )]
    Invalid {
        contract: Contract,
        violations: Vec<Violation>,
    },

    #[error("{contract}: could not be encoded as JSON: {source}")]
    Encode {
        contract: Contract,
        #[source]
        source: serde_json::Error,
    },

    /// A bug in this crate (a schema file that does not compile); never the sender's fault.
    #[error(
        "{contract}: the embedded JSON Schema does not compile ({message}); this is a bug in the wms crate"
    )]
    SchemaUnavailable { contract: Contract, message: String },
}

impl ContractError {
    /// Whether trying the same input again can succeed: never, a contract
    /// error is about the message itself. (Kept for the house rule that every
    /// error says so.)
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// The broken rules, when the message was JSON but broke the contract.
    pub fn violations(&self) -> &[Violation] {
        match self {
            ContractError::Invalid { violations, .. } => violations,
            _ => &[],
        }
    }
}
