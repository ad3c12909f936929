//! The store's one error type, and how DynamoDB's answers map onto it.
//!
//! A failed condition is not an error where it carries meaning (an order
//! already recorded, an idempotency key already taken): those become typed
//! outcomes in the calling module. What remains here is what a caller cannot
//! act on except by retrying later or by fixing data or configuration.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use domain::{DomainError, PortError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Error codes DynamoDB uses for "too much, too fast" or its own trouble.
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "ReplicatedWriteConflictException",
    "LimitExceededException",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB (or the way to it) failed. `detail` holds the error code and
    /// DynamoDB's message, which name attributes, never item values.
    #[error("DynamoDB {operation} on {key} failed: {detail}")]
    Dynamo {
        operation: &'static str,
        /// `pk / sk` of the item, or the index queried.
        key: String,
        detail: String,
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// A stored item lacks an attribute or has one of the wrong shape.
    #[error("stored item {pk} / {sk} is malformed: attribute `{attribute}` {problem}")]
    Malformed {
        pk: String,
        sk: String,
        attribute: String,
        problem: String,
    },
    /// An optimistic write lost: the item changed since it was read.
    #[error(
        "{pk} / {sk} was changed by someone else (expected version {expected:?}): read it again before writing"
    )]
    Conflict {
        pk: String,
        sk: String,
        expected: Option<u64>,
    },
    /// So many concurrent writers that a bounded retry loop gave up.
    #[error("gave up writing {pk} / {sk} after {attempts} conflicting attempts; try again later")]
    Contended {
        pk: String,
        sk: String,
        attempts: u32,
    },
    #[error("{what} {pk} / {sk} does not exist")]
    NotFound {
        what: &'static str,
        pk: String,
        sk: String,
    },
    #[error("refusing to store invalid seller settings: {0}")]
    InvalidSettings(#[source] DomainError),
    /// A value could not be turned into JSON (or back); the message names the
    /// path inside the value, never the value.
    #[error("{what} is not the expected JSON at `{path}`: {problem}")]
    Json {
        what: &'static str,
        path: String,
        problem: String,
    },
}

impl StoreError {
    /// Whether trying the same thing again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Dynamo { retryable, .. } => *retryable,
            StoreError::Contended { .. } => true,
            StoreError::Malformed { .. }
            | StoreError::Conflict { .. }
            | StoreError::NotFound { .. }
            | StoreError::InvalidSettings(_)
            | StoreError::Json { .. } => false,
        }
    }

    pub(crate) fn dynamo<E>(
        operation: &'static str,
        key: impl Into<String>,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (retryable, detail) = match &err {
            SdkError::ServiceError(ctx) => {
                let code = ctx.err().code().unwrap_or("unknown error");
                let status = ctx.raw().status().as_u16();
                let retryable = status >= 500 || RETRYABLE_CODES.contains(&code);
                let message = ctx.err().message().unwrap_or_default();
                (retryable, format!("{code} (HTTP {status}) {message}"))
            }
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => (true, DisplayErrorContext(&err).to_string()),
            _ => (false, DisplayErrorContext(&err).to_string()),
        };
        StoreError::Dynamo {
            operation,
            key: key.into(),
            detail: detail.trim().to_string(),
            retryable,
            source: Box::new(err),
        }
    }

    pub(crate) fn json(
        what: &'static str,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        StoreError::Json {
            what,
            path: err.path().to_string(),
            problem: json_problem(err.inner()),
        }
    }
}

/// serde_json quotes offending values in its messages; keep only what was
/// expected, so a message can be logged even when the JSON holds buyer data.
fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => "not valid JSON".to_string(),
        Category::Io => "could not be read or written".to_string(),
        Category::Data => domain::pii::json_data_problem(e),
    }
}

impl From<StoreError> for PortError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        let port = if e.is_retryable() {
            PortError::retryable(message)
        } else {
            PortError::permanent(message)
        };
        port.with_source(e)
    }
}

// The conditional write's answer (`Written`, `conditional`) lives in `item`:
// it carries an item, and `item` depends on this module, not the other way.
// Re-exported for the modules that still import it from here (ledger.rs and
// lib.rs, left as they are while another branch changes them).
pub(crate) use crate::item::{Written, conditional};

/// A DynamoDB service error with `code` and `status`, as tests need one.
#[cfg(test)]
pub(crate) fn service_error(
    code: &str,
    status: u16,
) -> SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, HttpResponse> {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    let err = PutItemError::generic(
        ErrorMetadata::builder()
            .code(code)
            .message("something about attribute `tokens`")
            .build(),
    );
    SdkError::service_error(
        err,
        HttpResponse::new(status.try_into().unwrap(), "".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_problems_never_quote_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            n: u32,
        }
        let mut de = serde_json::Deserializer::from_str(r#"{"n":"Jane Buyer"}"#);
        let err = serde_path_to_error::deserialize::<_, T>(&mut de).unwrap_err();
        let e = StoreError::json("result", err);
        let text = e.to_string();
        assert!(!text.contains("Jane"), "{text}");
        assert!(text.contains("`n`") && text.contains("u32"), "{text}");
    }

    #[test]
    fn classification() {
        assert!(
            StoreError::Contended {
                pk: "p".into(),
                sk: "s".into(),
                attempts: 3
            }
            .is_retryable()
        );
        let conflict = StoreError::Conflict {
            pk: "p".into(),
            sk: "s".into(),
            expected: Some(1),
        };
        assert!(!conflict.is_retryable());
        let port = PortError::from(conflict);
        assert!(!port.retryable);
        assert!(std::error::Error::source(&port).is_some());
    }

    #[test]
    fn dynamodb_errors_are_classified() {
        let check = |err, retryable: bool| {
            let e = StoreError::dynamo("PutItem", "P / S", err);
            assert_eq!(e.is_retryable(), retryable, "{e}");
            e.to_string()
        };
        let text = check(
            service_error("ProvisionedThroughputExceededException", 400),
            true,
        );
        assert!(
            text.contains("PutItem on P / S") && text.contains("ProvisionedThroughput"),
            "{text}"
        );
        check(service_error("ThrottlingException", 400), true);
        check(service_error("InternalServerError", 500), true);
        check(service_error("Whatever", 503), true);
        check(service_error("ValidationException", 400), false);
        check(service_error("ResourceNotFoundException", 400), false);
        check(SdkError::timeout_error("slow"), true);
        check(SdkError::construction_failure("bad input"), false);
    }
}
