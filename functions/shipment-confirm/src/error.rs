//! The function's one error type, classified for SQS: a refusal is
//! dead-lettered with its reason, anything that may work later is left to
//! SQS to redeliver.

use spapi::SpApiError;
use store::StoreError;

use crate::ports::QueueError;

#[derive(Debug, thiserror::Error)]
pub enum ShipmentError {
    /// The message can never be confirmed as it is (unknown seller, order
    /// or SKU, too many units, Amazon's refusal...): the reason says what to
    /// fix, and the message goes to the dead-letter queue with it.
    #[error("{0}")]
    Refused(String),
    /// Another run is confirming this package right now.
    #[error(
        "package {package_id} is being confirmed by another run right now; SQS will deliver it again"
    )]
    InFlight {
        seller: domain::SellerId,
        package_id: String,
    },
    /// A retryable failure passed on to several packages (e.g. a feed
    /// submission that failed for all of them).
    #[error("{0}; SQS will deliver it again")]
    Later(String),
    /// Not enough time left in this invocation to call Amazon.
    #[error("no time left in this invocation for {0}; SQS will deliver it again")]
    OutOfTime(String),
    #[error(transparent)]
    SpApi(#[from] SpApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl lambda_kit::error::ErrorType for ShipmentError {
    fn error_type(&self) -> &'static str {
        match self {
            ShipmentError::Refused(_) => "ShipmentRefused",
            ShipmentError::InFlight { .. } => "PackageInFlight",
            ShipmentError::Later(_) => "ShipmentDeferred",
            ShipmentError::OutOfTime(_) => "OutOfTime",
            ShipmentError::SpApi(e) => e.error_type(),
            ShipmentError::Store(e) => e.error_type(),
            ShipmentError::Queue(e) if e.retryable => "QueueUnavailable",
            ShipmentError::Queue(_) => "QueueRefused",
        }
    }
}

impl ShipmentError {
    pub fn refused(reason: impl Into<String>) -> Self {
        ShipmentError::Refused(reason.into())
    }

    /// Whether the same message may succeed later without anyone changing it.
    pub fn is_retryable(&self) -> bool {
        match self {
            ShipmentError::Refused(_) => false,
            ShipmentError::InFlight { .. }
            | ShipmentError::OutOfTime(_)
            | ShipmentError::Later(_) => true,
            ShipmentError::SpApi(e) => e.is_retryable(),
            ShipmentError::Store(e) => {
                e.is_retryable()
                    || matches!(
                        e,
                        StoreError::Conflict { .. } | StoreError::Contended { .. }
                    )
            }
            ShipmentError::Queue(e) => e.retryable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Operation;

    #[test]
    fn classification() {
        assert!(!ShipmentError::refused("unknown SKU").is_retryable());
        assert!(
            ShipmentError::InFlight {
                seller: domain::SellerId::new("A3EXAMPLESELLER").unwrap(),
                package_id: "PKG-1".into()
            }
            .is_retryable()
        );
        let amazon = |status| {
            ShipmentError::SpApi(SpApiError::Amazon {
                operation: Operation::ConfirmShipment,
                status,
                code: "x".into(),
                message: String::new(),
                details: None,
                request_id: None,
            })
        };
        assert!(amazon(429).is_retryable());
        assert!(amazon(503).is_retryable());
        assert!(!amazon(400).is_retryable());
        let conflict = ShipmentError::Store(StoreError::Conflict {
            pk: "p".into(),
            sk: "s".into(),
            expected: Some(1),
        });
        assert!(conflict.is_retryable());
    }
}
