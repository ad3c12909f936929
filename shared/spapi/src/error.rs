//! The client's one error type. Every variant says what happened and, where
//! there is one, what to do; Amazon's own errors keep the status, code,
//! message and `x-amzn-RequestId` (quote it to Amazon support).

use std::time::Duration;

use domain::{Operation, PortError, SellerId};

/// One entry of Amazon's `{"errors":[{"code","message","details"}]}` body.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct AmazonError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpApiError {
    #[error(
        "Amazon refused {operation} with HTTP {status} ({code}: {message}){}; request id {}",
        details.as_deref().map(|d| format!(" [{d}]")).unwrap_or_default(),
        request_id.as_deref().unwrap_or("none")
    )]
    Amazon {
        operation: Operation,
        status: u16,
        code: String,
        message: String,
        details: Option<String>,
        request_id: Option<String>,
    },

    #[error("{operation}: {}: {source}", if *sent { "no answer from Amazon (the request may have been received)" } else { "could not reach Amazon (the request was not sent)" })]
    Transport {
        operation: Operation,
        sent: bool,
        #[source]
        source: reqwest::Error,
    },

    #[error(
        "{operation}: Amazon's answer does not match the model at `{path}`: {message} (HTTP {status}, request id {}); the model may have changed: compare with shared/amazon/models",
        request_id.as_deref().unwrap_or("none")
    )]
    Decode {
        operation: Operation,
        status: u16,
        path: String,
        message: String,
        request_id: Option<String>,
    },

    #[error(
        "seller {seller} has revoked the application's authorisation (LWA invalid_grant): ask the seller to authorise the app again in Seller Central, then store the new refresh token with `connector-admin seller put {seller} --refresh-token-stdin`"
    )]
    AuthorizationRevoked { seller: SellerId },

    #[error(
        "LWA token request failed with HTTP {status} ({code}: {description}){}",
        if *retryable { ": LWA is temporarily unavailable; the same request can succeed later" } else { ": check the application's client id and secret in Secrets Manager" }
    )]
    Lwa {
        status: u16,
        code: String,
        description: String,
        retryable: bool,
    },

    #[error("{operation}: no time left in this invocation, resume after {after:?}: {reason}")]
    ResumeLater {
        operation: Operation,
        after: Duration,
        reason: String,
    },

    #[error(
        "{operation}: Amazon returned pagination token already seen on page {page}; stopping so no page is read twice: restart from the checkpoint"
    )]
    PaginationLoop { operation: Operation, page: usize },

    #[error(
        "{operation}: stopped after {cap} pages (the page cap); continue from the last token in the next job"
    )]
    PageCap { operation: Operation, cap: usize },

    #[error("reading credentials failed: {0}")]
    Credentials(#[source] PortError),

    #[error("the shared quota bucket is unavailable: {0}")]
    Quota(#[source] PortError),

    #[error("invalid {operation} request: {message}")]
    InvalidRequest {
        operation: Operation,
        message: String,
    },

    /// LWA refused to exchange a seller's authorization code (consent flow):
    /// the code is single-use and lives minutes, and the `redirect_uri` and
    /// client must be those of the consent.
    #[error(
        "LWA refused the authorization code (HTTP {status}, {code}: {description}): a code works once and for a few minutes; start the consent again from the invitation link"
    )]
    AuthorizationCode {
        status: u16,
        code: String,
        description: String,
    },

    /// A feed document's upload to, or download from, Amazon's pre-signed URL.
    #[error(
        "feed document {transfer} failed{}: {message}",
        status.map(|s| format!(" with HTTP {s}")).unwrap_or_default()
    )]
    Document {
        transfer: &'static str,
        status: Option<u16>,
        message: String,
        retryable: bool,
        #[source]
        source: Option<reqwest::Error>,
    },
}

impl SpApiError {
    /// Whether the same call can succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            SpApiError::Amazon { status, .. } => domain::retry::is_retryable_status(*status),
            SpApiError::Transport { .. } | SpApiError::ResumeLater { .. } => true,
            SpApiError::Lwa { retryable, .. } => *retryable,
            SpApiError::Credentials(e) | SpApiError::Quota(e) => e.retryable,
            SpApiError::PageCap { .. } => true,
            SpApiError::Document { retryable, .. } => *retryable,
            SpApiError::Decode { .. }
            | SpApiError::AuthorizationCode { .. }
            | SpApiError::AuthorizationRevoked { .. }
            | SpApiError::PaginationLoop { .. }
            | SpApiError::InvalidRequest { .. } => false,
        }
    }

    /// When a retryable failure should be tried again, if Amazon or the
    /// client knows.
    pub fn resume_after(&self) -> Option<Duration> {
        match self {
            SpApiError::ResumeLater { after, .. } => Some(*after),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            SpApiError::Amazon { request_id, .. } | SpApiError::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            SpApiError::Amazon { status, .. }
            | SpApiError::Decode { status, .. }
            | SpApiError::Lwa { status, .. }
            | SpApiError::AuthorizationCode { status, .. } => Some(*status),
            SpApiError::Document { status, .. } => *status,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_errors_keep_code_and_request_id_and_classify() {
        let e = SpApiError::Amazon {
            operation: Operation::SearchOrders,
            status: 400,
            code: "InvalidInput".into(),
            message: "lastUpdatedBefore must be 2 minutes before now".into(),
            details: None,
            request_id: Some("req-1".into()),
        };
        let text = e.to_string();
        assert!(
            text.contains("InvalidInput") && text.contains("req-1") && text.contains("HTTP 400")
        );
        assert!(!e.is_retryable());
        let throttled = SpApiError::Amazon {
            operation: Operation::SearchOrders,
            status: 429,
            code: "QuotaExceeded".into(),
            message: String::new(),
            details: None,
            request_id: None,
        };
        assert!(throttled.is_retryable());
    }

    #[test]
    fn revoked_authorisation_says_what_to_do() {
        let e = SpApiError::AuthorizationRevoked {
            seller: SellerId::new("A3EXAMPLESELLER").unwrap(),
        };
        assert!(e.to_string().contains("authorise the app again"));
        assert!(!e.is_retryable());
    }
}
