//! The function's one error type, classified retryable or permanent.

use crate::ports::{QueueError, StockError};

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(
        "seller {0} has no settings: onboard it with `connector-admin seller put --file SETTINGS.json --refresh-token-stdin` first"
    )]
    UnknownSeller(String),
    #[error("invalid seller id {0:?}: {1}")]
    InvalidSeller(String, String),
    /// The WMS stock endpoint failed: nothing was pushed, nothing recorded.
    #[error("reading the WMS stock failed, nothing was pushed: {0}")]
    Stock(#[source] StockError),
    #[error("Amazon call failed: {0}")]
    Amazon(#[source] spapi::SpApiError),
    #[error("state store failed: {0}")]
    Store(#[source] store::StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("no marketplace to push to: {0}")]
    Marketplaces(String),
}

impl lambda_kit::error::ErrorType for PushError {
    fn error_type(&self) -> &'static str {
        match self {
            PushError::UnknownSeller(_) => "SellerUnknown",
            PushError::InvalidSeller(..) => "InvalidJob",
            PushError::Stock(e) => e.error_type(),
            PushError::Amazon(e) => e.error_type(),
            PushError::Store(e) => e.error_type(),
            PushError::Queue(e) if e.retryable => "QueueUnavailable",
            PushError::Queue(_) => "QueueRefused",
            PushError::Marketplaces(_) => "NoMarketplace",
        }
    }
}

impl PushError {
    pub fn is_retryable(&self) -> bool {
        match self {
            PushError::UnknownSeller(_)
            | PushError::InvalidSeller(..)
            | PushError::Marketplaces(_) => false,
            PushError::Stock(e) => e.retryable,
            PushError::Amazon(e) => e.is_retryable(),
            PushError::Store(e) => e.is_retryable(),
            PushError::Queue(e) => e.retryable,
        }
    }
}

impl From<lambda_kit::marketplaces::MarketplaceError> for PushError {
    fn from(e: lambda_kit::marketplaces::MarketplaceError) -> Self {
        use lambda_kit::marketplaces::MarketplaceError as M;
        match e {
            M::Amazon { source, .. } => PushError::Amazon(source),
            M::Store(e) => PushError::Store(e),
            e @ M::NoMarketplace { .. } => PushError::Marketplaces(e.to_string()),
        }
    }
}

impl From<store::StoreError> for PushError {
    fn from(e: store::StoreError) -> Self {
        PushError::Store(e)
    }
}

impl From<spapi::SpApiError> for PushError {
    fn from(e: spapi::SpApiError) -> Self {
        PushError::Amazon(e)
    }
}
