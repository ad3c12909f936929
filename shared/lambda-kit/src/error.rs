//! Errors a person can act on, as Lambda reports them.
//!
//! Every function error has a short, stable **error type** (Lambda's
//! `errorType`, e.g. `SellerNotAuthorised`, `WmsUnavailable`): alarms,
//! dashboards and runbooks key on it, so a name is never changed once
//! shipped. The message is the error's `Display` text: what happened and what
//! to do. [`report`] logs that text at ERROR with the type as a structured
//! field, and turns the error into the [`FunctionError`] the handler returns,
//! which the runtime posts as the invocation's `Diagnostic`.
//!
//! The shared crates' errors ([`SpApiError`], [`StoreError`], ...) get their
//! types here, so every function names the same cause the same way.

use std::fmt;

use spapi::SpApiError;
use store::StoreError;

/// An error with a short, stable name for Lambda's `errorType`.
pub trait ErrorType: std::error::Error {
    /// PascalCase, at most a few words, never renamed once shipped.
    fn error_type(&self) -> &'static str;
}

/// What a handler returns to the Lambda runtime: the stable type and the
/// message. Its `Debug` is the sentence too (the runtime prints errors with
/// `{:?}`, e.g. when `main` fails during init).
#[derive(Clone, PartialEq, Eq)]
pub struct FunctionError {
    error_type: &'static str,
    message: String,
}

impl FunctionError {
    pub fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            error_type,
            message: message.into(),
        }
    }

    pub fn error_type(&self) -> &'static str {
        self.error_type
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for FunctionError {}

impl ErrorType for FunctionError {
    fn error_type(&self) -> &'static str {
        self.error_type
    }
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(e: FunctionError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type.to_string(),
            error_message: e.message,
        }
    }
}

/// Logs `e` at ERROR — its `Display` text as the message, `error_type` as a
/// field — and returns what the handler hands to the runtime.
pub fn report<E: ErrorType>(e: E) -> FunctionError {
    let error_type = e.error_type();
    let message = e.to_string();
    tracing::error!(error_type, "{message}");
    FunctionError::new(error_type, message)
}

/// A failure to start (client wiring), for `main`.
pub fn init_failed(e: impl std::fmt::Display) -> FunctionError {
    report(FunctionError::new("InitFailed", e.to_string()))
}

/// The Lambda runtime loop itself stopped (it cannot reach the Runtime API).
pub fn runtime_failed(e: impl std::fmt::Display) -> FunctionError {
    report(FunctionError::new("RuntimeFailed", e.to_string()))
}

impl ErrorType for crate::ConfigError {
    fn error_type(&self) -> &'static str {
        match self {
            crate::ConfigError::Missing(_) => "ConfigMissing",
            crate::ConfigError::Invalid { .. } => "ConfigInvalid",
        }
    }
}

impl ErrorType for SpApiError {
    fn error_type(&self) -> &'static str {
        match self {
            SpApiError::Amazon { status: 429, .. } => "AmazonThrottled",
            SpApiError::Amazon { status: 403, .. } => "AmazonAccessDenied",
            SpApiError::Amazon { status: 404, .. } => "AmazonNotFound",
            SpApiError::Amazon { status, .. } if *status >= 500 => "AmazonUnavailable",
            SpApiError::Amazon { .. } => "AmazonRefused",
            SpApiError::Transport { .. } => "AmazonUnreachable",
            SpApiError::Decode { .. } => "AmazonAnswerUnreadable",
            SpApiError::AuthorizationRevoked { .. } => "SellerNotAuthorised",
            SpApiError::Lwa {
                retryable: true, ..
            } => "LwaUnavailable",
            SpApiError::Lwa { .. } => "LwaCredentialsRefused",
            SpApiError::ResumeLater { .. } => "ResumeLater",
            SpApiError::PaginationLoop { .. } => "AmazonPaginationLoop",
            SpApiError::PageCap { .. } => "AmazonPageCap",
            SpApiError::Credentials(_) => "CredentialsUnreadable",
            SpApiError::Quota(_) => "QuotaStoreUnavailable",
            SpApiError::InvalidRequest { .. } => "AmazonRequestInvalid",
            SpApiError::Document { .. } => "FeedDocumentTransferFailed",
            SpApiError::AuthorizationCode { .. } => "AuthorizationCodeRefused",
        }
    }
}

impl ErrorType for StoreError {
    fn error_type(&self) -> &'static str {
        match self {
            StoreError::Dynamo {
                retryable: true, ..
            } => "StateStoreUnavailable",
            StoreError::Dynamo { .. } => "StateStoreRefused",
            StoreError::Malformed { .. } | StoreError::Json { .. } => "StateItemMalformed",
            StoreError::Conflict { .. } | StoreError::Contended { .. } => "StateWriteConflict",
            StoreError::NotFound { .. } => "StateItemMissing",
            StoreError::InvalidSettings(_) => "SellerSettingsInvalid",
        }
    }
}

impl ErrorType for secrets::SecretsError {
    fn error_type(&self) -> &'static str {
        match self {
            secrets::SecretsError::NotFound { .. } => "SecretMissing",
            secrets::SecretsError::Empty { .. } | secrets::SecretsError::Shape { .. } => {
                "SecretMalformed"
            }
            secrets::SecretsError::Read { .. } => "SecretUnreadable",
            secrets::SecretsError::Write { .. } => "SecretNotWritten",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Operation, SellerId};

    #[derive(Debug, thiserror::Error)]
    #[error("seller A3EXAMPLESELLER revoked the authorisation: ask the seller to authorise again")]
    struct Revoked;

    impl ErrorType for Revoked {
        fn error_type(&self) -> &'static str {
            "SellerNotAuthorised"
        }
    }

    #[test]
    fn a_reported_error_becomes_a_diagnostic_with_its_stable_type_and_sentence() {
        let e = report(Revoked);
        assert_eq!(
            format!("{e:?}"),
            "SellerNotAuthorised: seller A3EXAMPLESELLER revoked the authorisation: ask the seller to authorise again"
        );
        let d = lambda_runtime::Diagnostic::from(e);
        assert_eq!(d.error_type, "SellerNotAuthorised");
        assert!(
            d.error_message
                .starts_with("seller A3EXAMPLESELLER revoked")
        );
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["errorType"], "SellerNotAuthorised");
    }

    #[test]
    fn shared_errors_have_short_stable_types() {
        let amazon = |status| SpApiError::Amazon {
            operation: Operation::SearchOrders,
            status,
            code: "x".into(),
            message: String::new(),
            details: None,
            request_id: None,
        };
        assert_eq!(amazon(429).error_type(), "AmazonThrottled");
        assert_eq!(amazon(503).error_type(), "AmazonUnavailable");
        assert_eq!(amazon(403).error_type(), "AmazonAccessDenied");
        assert_eq!(amazon(400).error_type(), "AmazonRefused");
        let revoked = SpApiError::AuthorizationRevoked {
            seller: SellerId::new("A3EXAMPLESELLER").unwrap(),
        };
        assert_eq!(revoked.error_type(), "SellerNotAuthorised");
        let conflict = StoreError::Conflict {
            pk: "p".into(),
            sk: "s".into(),
            expected: None,
        };
        assert_eq!(conflict.error_type(), "StateWriteConflict");
        assert_eq!(
            crate::ConfigError::Missing("TABLE_NAME".into()).error_type(),
            "ConfigMissing"
        );
        // Every type is one PascalCase word, short enough for a console column.
        for t in [
            amazon(429).error_type(),
            revoked.error_type(),
            conflict.error_type(),
        ] {
            assert!(t.len() <= 32 && t.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(t.starts_with(|c: char| c.is_ascii_uppercase()));
        }
    }
}
