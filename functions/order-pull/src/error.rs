//! The function's one error type, classified for SQS: retryable failures are
//! continued by a follow-up job (then redelivered), the rest dead-lettered.

use std::time::Duration;

use spapi::SpApiError;
use store::StoreError;

use crate::ports::QueueError;

// One error enum per function (house style): the SpApi/Store/Queue wrappers repeat on purpose.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("the job message is invalid: {0}")]
    BadJob(String),
    #[error("no settings for seller {0}: onboard the seller first (README, \"Operate\")")]
    UnknownSeller(String),
    #[error("the seller's settings are invalid: {0}; fix them with the operator CLI")]
    Settings(String),
    #[error("the checkpoint could not be read or written: {0}")]
    Checkpoint(String),
    #[error("a WMS message could not be built: {0}")]
    Contract(String),
    #[error(transparent)]
    SpApi(#[from] SpApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<lambda_kit::marketplaces::MarketplaceError> for PullError {
    fn from(e: lambda_kit::marketplaces::MarketplaceError) -> Self {
        use lambda_kit::marketplaces::MarketplaceError as M;
        match e {
            M::Amazon { source, .. } => PullError::SpApi(source),
            M::Store(e) => PullError::Store(e),
            e @ M::NoMarketplace { .. } => PullError::Settings(e.to_string()),
        }
    }
}

impl From<wms::ContractError> for PullError {
    fn from(e: wms::ContractError) -> Self {
        PullError::Contract(e.to_string())
    }
}

impl lambda_kit::error::ErrorType for PullError {
    fn error_type(&self) -> &'static str {
        match self {
            PullError::BadJob(_) => "InvalidJob",
            PullError::UnknownSeller(_) => "SellerUnknown",
            PullError::Settings(_) => "SellerSettingsInvalid",
            PullError::Checkpoint(_) => "CheckpointUnreadable",
            PullError::Contract(_) => "WmsContractViolation",
            PullError::SpApi(e) => e.error_type(),
            PullError::Store(e) => e.error_type(),
            PullError::Queue(e) if e.retryable => "QueueUnavailable",
            PullError::Queue(_) => "QueueRefused",
        }
    }
}

impl PullError {
    pub fn is_retryable(&self) -> bool {
        match self {
            PullError::SpApi(e) => {
                e.is_retryable() || matches!(e, SpApiError::PaginationLoop { .. })
            }
            PullError::Store(e) => e.is_retryable() || matches!(e, StoreError::Conflict { .. }),
            PullError::Queue(e) => e.retryable,
            PullError::BadJob(_)
            | PullError::UnknownSeller(_)
            | PullError::Settings(_)
            | PullError::Checkpoint(_)
            | PullError::Contract(_) => false,
        }
    }

    /// When Amazon's quota says to come back.
    pub fn resume_after(&self) -> Option<Duration> {
        match self {
            PullError::SpApi(e) => e.resume_after(),
            _ => None,
        }
    }
}
