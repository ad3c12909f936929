//! The CLI's one error type. Every error says what was wrong and what to do,
//! and belongs to a [`Kind`] that decides the process's exit code, so a
//! script can tell "no such seller" from "Amazon is down, try again".

use std::fmt;

use lambda_kit::error::ErrorType;
use spapi::SpApiError;
use store::StoreError;

/// What kind of failure, and so which exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Anything else: the message says what happened.
    Failed,
    /// The command line is wrong (clap uses 2 as well).
    Usage,
    /// No such seller, order, queue or message.
    NotFound,
    /// The seller must act (authorise again, add a role) or its settings
    /// are wrong for what was asked.
    SellerAction,
    /// Amazon, AWS or the network failed for now, or the command was
    /// interrupted: run the same command again.
    Temporary,
    /// This machine's or the deployment's configuration: environment,
    /// endpoints, AWS credentials, the application's LWA credentials.
    Config,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failed => 1,
            Kind::Usage => 2,
            Kind::NotFound => 3,
            Kind::SellerAction => 4,
            Kind::Temporary => 5,
            Kind::Config => 6,
        }
    }
}

/// The exit codes, as `--help` and the README list them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation failed (the message says why)
  2  usage: the command line is wrong
  3  not found: no such seller, order, queue or message
  4  the seller must act: authorisation revoked, a role missing, settings wrong
  5  temporary: Amazon, AWS or the network failed, or the run was interrupted;
     run the same command again (backfill and dlq replay resume)
  6  configuration: environment, endpoints, AWS credentials or the
     application's LWA credentials";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Kind::Failed, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn seller_action(message: impl Into<String>) -> Self {
        Self::new(Kind::SellerAction, message)
    }

    pub fn temporary(message: impl Into<String>) -> Self {
        Self::new(Kind::Temporary, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// An AWS SDK failure while doing `action`.
    pub fn aws<E>(action: &str, e: aws_sdk_sqs::error::SdkError<E>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        use aws_sdk_sqs::error::SdkError;
        let detail = readable(&aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()).to_string();
        let kind = match &e {
            SdkError::ServiceError(s) => {
                let status = s.raw().status().as_u16();
                if status >= 500 || status == 429 {
                    Kind::Temporary
                } else if status == 403 || detail.contains("AccessDenied") {
                    Kind::Config
                } else if detail.contains("NonExistentQueue")
                    || detail.contains("ResourceNotFound")
                    || detail.contains("QueueDoesNotExist")
                {
                    Kind::NotFound
                } else {
                    Kind::Failed
                }
            }
            SdkError::DispatchFailure(d) if d.is_user() => Kind::Config,
            SdkError::ConstructionFailure(_) => Kind::Config,
            _ => Kind::Temporary,
        };
        let hint = match kind {
            Kind::Config => {
                "; check the AWS credentials and region of this shell (and AWS_ENDPOINT_URL for a local stack)"
            }
            Kind::Temporary => "; try again in a minute",
            _ => "",
        };
        Self::new(kind, format!("could not {action}: {detail}{hint}"))
    }
}

/// An AWS SDK error's text without the Debug dump the SDK appends
/// (` (DispatchFailure(DispatchFailure { ... }))`).
pub fn readable(detail: &str) -> &str {
    const DUMPS: [&str; 5] = [
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ServiceError(",
        " (ConstructionFailure(",
    ];
    DUMPS
        .iter()
        .filter_map(|d| detail.find(d))
        .min()
        .map_or(detail, |i| &detail[..i])
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let kind = match &e {
            StoreError::Dynamo { detail, .. }
                if detail.contains("ResourceNotFound") || detail.contains("non-existent table") =>
            {
                return CliError::config(format!(
                    "{e}: the state table does not exist — is --stage (or CONNECTOR_STAGE) the deployment's Stage, and the AWS region the one it is deployed in?"
                ));
            }
            StoreError::Dynamo { detail, .. } if detail.starts_with("dispatch failure") => {
                let cause = readable(detail);
                return CliError::temporary(format!(
                    "could not reach DynamoDB ({cause}): check this shell's network and AWS region (and AWS_ENDPOINT_URL for a local stack), then run the command again"
                ));
            }
            StoreError::Dynamo { detail, .. }
                if detail.contains("AccessDenied")
                    || detail.contains("UnrecognizedClient")
                    || detail.contains("credentials") =>
            {
                Kind::Config
            }
            e if e.is_retryable() => Kind::Temporary,
            StoreError::NotFound { .. } => Kind::NotFound,
            StoreError::InvalidSettings(_) => Kind::Usage,
            StoreError::Conflict { .. } => Kind::Temporary,
            _ => Kind::Failed,
        };
        CliError::new(kind, e.to_string())
    }
}

impl From<SpApiError> for CliError {
    fn from(e: SpApiError) -> Self {
        let kind = match &e {
            SpApiError::AuthorizationRevoked { .. } => Kind::SellerAction,
            SpApiError::Amazon { status: 403, .. } => Kind::SellerAction,
            SpApiError::Lwa {
                retryable: false, ..
            } => Kind::Config,
            SpApiError::Credentials(p) if !p.retryable => Kind::Config,
            SpApiError::InvalidRequest { .. } => Kind::Usage,
            e if e.is_retryable() => Kind::Temporary,
            _ => Kind::Failed,
        };
        CliError::new(kind, e.to_string())
    }
}

impl From<order_pull::PullError> for CliError {
    fn from(e: order_pull::PullError) -> Self {
        use order_pull::PullError;
        match e {
            PullError::SpApi(e) => e.into(),
            PullError::Store(e) => e.into(),
            PullError::UnknownSeller(id) => CliError::not_found(format!(
                "no seller {id} in the table: onboard it with `connector-admin seller put --file SETTINGS.json --refresh-token-stdin`"
            )),
            PullError::Settings(m) => CliError::seller_action(m),
            PullError::BadJob(m) => CliError::usage(m),
            e if e.is_retryable() => CliError::temporary(e.to_string()),
            e => CliError::failed(format!("{} ({})", e, e.error_type())),
        }
    }
}

impl From<crate::AdminError> for CliError {
    fn from(e: crate::AdminError) -> Self {
        use crate::AdminError;
        match e {
            AdminError::Settings(m) => CliError::usage(format!(
                "the settings are not valid for a seller: {m} (fields: shared/domain/src/settings.rs)"
            )),
            AdminError::UnknownSeller(id) => CliError::not_found(format!(
                "no seller {id} in the table: onboard it with `connector-admin seller put --file SETTINGS.json --refresh-token-stdin`"
            )),
            e @ AdminError::EmptyToken => CliError::usage(e.to_string()),
            AdminError::Aws { action, message } => {
                let kind = if message.contains("AccessDenied") || message.contains("credentials") {
                    Kind::Config
                } else {
                    Kind::Failed
                };
                CliError::new(kind, format!("{action} failed: {message}"))
            }
            AdminError::Store(e) => e.into(),
            AdminError::SpApi(e) => e.into(),
        }
    }
}

/// A seller id from the command line (every command's, so here below them).
pub fn seller_id(text: &str) -> Result<domain::SellerId, CliError> {
    domain::SellerId::new(text).map_err(|e| {
        CliError::usage(format!(
            "{text:?} is not a seller id ({e}): use the selling partner id, e.g. A1EXAMPLESELLER"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Operation, SellerId};

    #[test]
    fn sdk_debug_dumps_are_cut() {
        assert_eq!(
            readable(
                "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: x }))"
            ),
            "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(readable("plain"), "plain");
    }

    #[test]
    fn exit_codes_follow_the_kind() {
        let revoked: CliError = SpApiError::AuthorizationRevoked {
            seller: SellerId::new("A3EXAMPLESELLER").unwrap(),
        }
        .into();
        assert_eq!(revoked.exit_code(), 4);
        let throttled: CliError = SpApiError::Amazon {
            operation: Operation::GetFeeds,
            status: 429,
            code: "QuotaExceeded".into(),
            message: String::new(),
            details: None,
            request_id: None,
        }
        .into();
        assert_eq!(throttled.exit_code(), 5);
        assert_eq!(CliError::not_found("x").exit_code(), 3);
        assert_eq!(CliError::config("x").exit_code(), 6);
        for code in 0..=6 {
            assert!(
                EXIT_CODES.contains(&format!("  {code}  ")),
                "exit code {code} is documented"
            );
        }
    }
}
