//! Errors of the domain crate, and the error every port returns.

use std::error::Error as StdError;

/// A value that breaks a domain rule (a malformed id, an unknown region...).
/// The message says what was wrong and what a valid value looks like.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("invalid {kind} {value:?}: {expected}")]
    Invalid {
        kind: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("invalid seller settings: {0}")]
    Settings(String),
}

/// The error an adapter behind a port (DynamoDB, Secrets Manager...) returns.
/// It keeps the cause and says whether trying again later can succeed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    pub message: String,
    pub retryable: bool,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

impl PortError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
            source: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}
