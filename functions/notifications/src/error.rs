//! The function's one error type, classified for SQS: retryable failures
//! are redelivered by SQS, the rest dead-lettered with their reason.

use order_pull::PullError;
use order_pull::ports::QueueError;
use spapi::SpApiError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The message is not an Amazon notification we can read: dead-lettered.
    #[error(
        "the notification cannot be read: {0}; Amazon's format may have changed (compare with shared/amazon/schemas/notifications)"
    )]
    Malformed(String),
    /// The per-order step (ledger, WMS queue, mapping) failed.
    #[error(transparent)]
    Order(#[from] PullError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    SpApi(#[from] SpApiError),
}

impl NotifyError {
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Malformed(_) => false,
            NotifyError::Order(e) => e.is_retryable(),
            NotifyError::Store(e) => e.is_retryable() || matches!(e, StoreError::Conflict { .. }),
            NotifyError::Queue(e) => e.retryable,
            NotifyError::SpApi(e) => e.is_retryable(),
        }
    }
}

impl lambda_kit::error::ErrorType for NotifyError {
    fn error_type(&self) -> &'static str {
        match self {
            NotifyError::Malformed(_) => "NotificationMalformed",
            NotifyError::Order(e) => e.error_type(),
            NotifyError::Store(e) => e.error_type(),
            NotifyError::Queue(e) if e.retryable => "QueueUnavailable",
            NotifyError::Queue(_) => "QueueRefused",
            NotifyError::SpApi(e) => e.error_type(),
        }
    }
}
