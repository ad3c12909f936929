//! The client's hook for metrics: [`SpApi::call`](crate::SpApi::call) tells a
//! [`CallObserver`] what happens to every call (requests sent, 429s, retries,
//! final failures, a seller's authorisation refused by LWA). The client
//! keeps no counts and knows no metric format: `lambda-kit` implements the
//! trait with its EMF metrics, so this crate stays free of Lambda and
//! CloudWatch.
//!
//! Observers are called on the request path: they must be cheap and must not
//! block (record a number, nothing else).

use domain::{Operation, SellerId};

use crate::SpApiError;

/// One thing that happened to a call.
#[derive(Debug)]
pub enum CallEvent<'a> {
    /// A request is about to be sent to Amazon (every attempt, retries included).
    Sent { operation: Operation },
    /// Amazon answered 429 (QuotaExceeded).
    Throttled { operation: Operation },
    /// The client is about to send the request again (after a 429, a 5xx, a
    /// network failure, or an access token Amazon found expired).
    Retrying { operation: Operation },
    /// The call ended with this error (not counting "resume later", which
    /// is a deferral: the work continues in a later invocation).
    Failed {
        operation: Operation,
        error: &'a SpApiError,
    },
    /// LWA answered `invalid_grant` to the seller's refresh token.
    AuthorizationRevoked { seller: &'a SellerId },
}

/// Told about every call of a client (see [`CallEvent`]).
pub trait CallObserver: Send + Sync {
    fn observe(&self, event: &CallEvent<'_>);
}

/// The observer of a client built without one.
pub struct NoObserver;

impl CallObserver for NoObserver {
    fn observe(&self, _event: &CallEvent<'_>) {}
}
