//! The simulator's one error type. Messages name ids and fields, never buyer
//! data or tokens.

use std::io;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why starting the simulator or a control operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: io::Error,
    },
    #[error("the simulator's server stopped with an error")]
    Serve(#[source] io::Error),
    #[error("speed {0} is invalid: it must be finite and at least 1")]
    InvalidSpeed(f64),
    #[error("unknown seller {0}")]
    UnknownSeller(String),
    #[error("seller {0} already exists")]
    DuplicateSeller(String),
    #[error("the refresh token is already registered for seller {0}")]
    DuplicateRefreshToken(String),
    #[error("unknown marketplace {0} (the simulator knows the fact sheet's marketplaces)")]
    UnknownMarketplace(String),
    #[error("seller {seller} does not participate in marketplace {marketplace}")]
    NotParticipating { seller: String, marketplace: String },
    #[error("unknown order {0}")]
    UnknownOrder(String),
    #[error("order {0} already exists")]
    DuplicateOrder(String),
    #[error("order {order}: {reason}")]
    InvalidTransition { order: String, reason: String },
    #[error("invalid order spec: {0}")]
    InvalidSpec(String),
    #[error("unknown operation {0}")]
    UnknownOperation(String),
    #[error("invalid fault: {0}")]
    InvalidFault(String),
    #[error("invalid rate: {0}")]
    InvalidRate(String),
}

impl SimError {
    /// Whether the error means "no such thing" (HTTP 404 on the control API).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            SimError::UnknownSeller(_) | SimError::UnknownOrder(_) | SimError::UnknownOperation(_)
        )
    }
}

/// A control (`/_sim/`) call's failure as its HTTP answer: 404 for what is
/// not there, 400 otherwise, with the message as `error`.
pub struct ControlError(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<SimError> for ControlError {
    fn from(e: SimError) -> Self {
        let status = if e.is_not_found() {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        ControlError(status, e.to_string())
    }
}

impl From<JsonRejection> for ControlError {
    fn from(e: JsonRejection) -> Self {
        ControlError(StatusCode::BAD_REQUEST, e.body_text())
    }
}
