//! The function's one error type. Each variant becomes a response error
//! ([`wms::label::LabelError`]) with a code from the contract, a message that
//! says what was wrong and what to do (never buyer data), whether the same
//! request can succeed later, and the HTTP status for the Function URL.

use chrono::{DateTime, Utc};
use spapi::SpApiError;
use store::StoreError;
use wms::label::{ErrorCode, LabelError as WireError};

/// What to tell the WMS when rates have expired.
pub const FRESH_RATES_HINT: &str =
    "ask for fresh rates (operation \"rates\") and purchase from the new request_token";

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("{0}")]
    Contract(#[source] wms::LabelContractError),

    #[error("invalid request: {0}")]
    Invalid(String),

    #[error(
        "no seller {0} is onboarded: onboard it with `connector-admin seller put --file SETTINGS.json --refresh-token-stdin` (README, \"Deploy\"), or check the seller_id / client_code sent"
    )]
    UnknownSeller(String),

    #[error(
        "the labels job is disabled for seller {0}: enable it with `connector-admin seller enable {0} --job labels` first"
    )]
    LabelsDisabled(String),

    #[error(
        "order {number} is not an Amazon order of this seller: check the order number (prefix + Amazon order id, as in order.created)"
    )]
    UnknownOrder { number: String },

    #[error(
        "order {order} cannot be shipped now (Amazon says {status}): only unshipped merchant-fulfilled orders get labels"
    )]
    OrderNotShippable { order: String, status: String },

    #[error(
        "{what} is not an item of order {order}: name the order's lines by the SKU or order_item_id of order.created"
    )]
    UnknownItem { order: String, what: String },

    #[error(
        "the rates of request token {token} expired{} (Amazon's rates live 10 minutes)",
        expired_at.map(|t| format!(" at {}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))).unwrap_or_default()
    )]
    RateTokenExpired {
        token: String,
        expired_at: Option<DateTime<Utc>>,
    },

    #[error(
        "request token {token} is unknown for this seller (or so old it was forgotten): ask for rates first"
    )]
    UnknownRateToken { token: String },

    #[error(
        "rate {rate_id} is not one of the offers of request token {token}: use a rate_id from that rates response"
    )]
    UnknownRate { token: String, rate_id: String },

    #[error("no offer matches: {0}")]
    NoMatchingRate(String),

    #[error("{0}")]
    UnsupportedLabelFormat(String),

    #[error(
        "idempotency key {key} was already used for a different request: use a new key for a new label (the first request is not changed)"
    )]
    KeyReused { key: String },

    #[error(
        "the label of idempotency key {key} is being bought by another call right now: retry in a few seconds with the same key (it will answer the same label)"
    )]
    InProgress { key: String },

    #[error(
        "shipment {0} is not a label this connector bought for the seller: check the shipment_id"
    )]
    UnknownShipment(String),

    #[error("shipment {shipment} cannot be cancelled: {reason}")]
    NotCancellable { shipment: String, reason: String },

    #[error(
        "offer {rate_id} ({service}) can only be bought with additional inputs{}: send them as `additional_inputs` following the offer's `additional_inputs_schema` (operation \"additional_inputs\" gives it; label contract version 2), or choose another offer",
        if required.is_empty() { String::new() } else { format!(" ({})", required.join(", ")) }
    )]
    AdditionalInputsRequired {
        rate_id: String,
        service: String,
        /// The schema's required top-level inputs.
        required: Vec<String>,
    },

    #[error(
        "the additional inputs for offer {rate_id} do not follow Amazon's schema: {}; fix them and send the purchase again (nothing was bought)",
        violations.join("; ")
    )]
    AdditionalInputsInvalid {
        rate_id: String,
        violations: Vec<String>,
    },

    #[error("serial numbers: {0}")]
    SerialNumbersInvalid(String),

    #[error(
        "carrier {carrier} has no parcels waiting for a collection form at this ship-from address: ask \"unmanifested\" for the carriers and addresses that have some"
    )]
    NothingToManifest { carrier: String },

    #[error(
        "collection form {0} is not one of this seller's: check the collection_form_id (operation \"collection_form_history\" lists them)"
    )]
    UnknownCollectionForm(String),

    #[error("Amazon Shipping: {0}")]
    Amazon(#[source] SpApiError),

    #[error("the connector's state could not be read or written: {0}")]
    Store(#[source] StoreError),

    #[error("internal error: {0}")]
    Internal(String),
}

impl From<SpApiError> for LabelError {
    fn from(e: SpApiError) -> Self {
        // Amazon's own word that the rates expired.
        if let SpApiError::Amazon { code, message, .. } = &e
            && (code.eq_ignore_ascii_case("TOKEN_EXPIRED")
                || (message.to_ascii_lowercase().contains("token")
                    && message.to_ascii_lowercase().contains("expired")))
        {
            return LabelError::RateTokenExpired {
                token: "of this purchase".to_string(),
                expired_at: None,
            };
        }
        LabelError::Amazon(e)
    }
}

impl From<StoreError> for LabelError {
    fn from(e: StoreError) -> Self {
        LabelError::Store(e)
    }
}

impl LabelError {
    /// Whether the same request may succeed later unchanged.
    pub fn is_retryable(&self) -> bool {
        match self {
            LabelError::InProgress { .. } => true,
            LabelError::Amazon(e) => e.is_retryable(),
            LabelError::Store(e) => e.is_retryable(),
            LabelError::Internal(_) => true,
            _ => false,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            LabelError::Contract(_) | LabelError::Invalid(_) => ErrorCode::InvalidRequest,
            LabelError::UnknownSeller(_) => ErrorCode::UnknownSeller,
            LabelError::LabelsDisabled(_) => ErrorCode::LabelsDisabled,
            LabelError::UnknownOrder { .. } => ErrorCode::UnknownOrder,
            LabelError::OrderNotShippable { .. } => ErrorCode::OrderNotShippable,
            LabelError::UnknownItem { .. } => ErrorCode::UnknownSku,
            LabelError::RateTokenExpired { .. } => ErrorCode::RateTokenExpired,
            LabelError::UnknownRateToken { .. } => ErrorCode::UnknownRateToken,
            LabelError::UnknownRate { .. } => ErrorCode::UnknownRate,
            LabelError::NoMatchingRate(_) => ErrorCode::NoMatchingRate,
            LabelError::UnsupportedLabelFormat(_) => ErrorCode::UnsupportedLabelFormat,
            LabelError::KeyReused { .. } => ErrorCode::IdempotencyKeyReused,
            LabelError::InProgress { .. } => ErrorCode::InProgress,
            LabelError::UnknownShipment(_) => ErrorCode::UnknownShipment,
            LabelError::NotCancellable { .. } => ErrorCode::NotCancellable,
            LabelError::AdditionalInputsRequired { .. } => ErrorCode::AdditionalInputsRequired,
            LabelError::AdditionalInputsInvalid { .. } => ErrorCode::AdditionalInputsInvalid,
            LabelError::SerialNumbersInvalid(_) => ErrorCode::SerialNumbersInvalid,
            LabelError::NothingToManifest { .. } => ErrorCode::NothingToManifest,
            LabelError::UnknownCollectionForm(_) => ErrorCode::UnknownCollectionForm,
            LabelError::Amazon(e) => match e {
                SpApiError::AuthorizationRevoked { .. } => ErrorCode::AuthorizationRevoked,
                SpApiError::InvalidRequest { .. } => ErrorCode::InvalidRequest,
                SpApiError::Decode { .. } => ErrorCode::Internal,
                e if e.is_retryable() => ErrorCode::AmazonUnavailable,
                SpApiError::Amazon { .. } => ErrorCode::AmazonRejected,
                _ => ErrorCode::Internal,
            },
            LabelError::Store(_) | LabelError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The Function URL's HTTP status for this error.
    pub fn http_status(&self) -> u16 {
        match self.code() {
            ErrorCode::InvalidRequest
            | ErrorCode::UnknownSku
            | ErrorCode::UnknownRate
            | ErrorCode::UnsupportedLabelFormat
            | ErrorCode::AdditionalInputsInvalid
            | ErrorCode::SerialNumbersInvalid => 400,
            ErrorCode::LabelsDisabled | ErrorCode::AuthorizationRevoked => 403,
            ErrorCode::UnknownSeller
            | ErrorCode::UnknownOrder
            | ErrorCode::UnknownRateToken
            | ErrorCode::UnknownShipment
            | ErrorCode::UnknownCollectionForm => 404,
            ErrorCode::OrderNotShippable
            | ErrorCode::NoMatchingRate
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::InProgress
            | ErrorCode::NotCancellable
            | ErrorCode::AdditionalInputsRequired
            | ErrorCode::NothingToManifest => 409,
            ErrorCode::RateTokenExpired => 410,
            ErrorCode::AmazonRejected => 422,
            ErrorCode::AmazonUnavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            LabelError::RateTokenExpired { .. } | LabelError::UnknownRateToken { .. } => {
                Some(FRESH_RATES_HINT.to_string())
            }
            LabelError::InProgress { .. } => {
                Some("retry in a few seconds with the same idempotency_key".to_string())
            }
            LabelError::AdditionalInputsRequired { .. } => Some(
                "ask with operation \"additional_inputs\" (label contract version 2) for the schema, then purchase with `additional_inputs`".to_string(),
            ),
            LabelError::Amazon(e) if e.is_retryable() => Some(
                "retry later with the same idempotency_key: a label already bought is answered, never bought again".to_string(),
            ),
            LabelError::Internal(_) | LabelError::Store(_) if self.is_retryable() => Some(
                "retry with the same idempotency_key: a label already bought is answered, never bought again".to_string(),
            ),
            _ => None,
        }
    }

    /// The error as the response carries it.
    pub fn to_wire(&self) -> WireError {
        WireError {
            code: self.code(),
            message: self.to_string(),
            retryable: self.is_retryable(),
            hint: self.hint(),
            amazon_request_id: match self {
                LabelError::Amazon(e) => e.request_id().map(str::to_string),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Operation;

    fn amazon(status: u16, code: &str, message: &str) -> SpApiError {
        SpApiError::Amazon {
            operation: Operation::PurchaseShipment,
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            request_id: Some("req-9".into()),
        }
    }

    /// (Amazon's answer, code, HTTP status, retryable).
    #[test]
    fn amazon_errors_map_to_clear_codes() {
        let cases = [
            (
                amazon(400, "TOKEN_EXPIRED", "The requestToken has expired."),
                ErrorCode::RateTokenExpired,
                410,
                false,
            ),
            (
                amazon(400, "InvalidInput", "Request token expired"),
                ErrorCode::RateTokenExpired,
                410,
                false,
            ),
            (
                amazon(400, "InvalidInput", "Order is not eligible"),
                ErrorCode::AmazonRejected,
                422,
                false,
            ),
            (
                amazon(404, "NotFound", "The shipment was not found."),
                ErrorCode::AmazonRejected,
                422,
                false,
            ),
            (
                amazon(429, "QuotaExceeded", ""),
                ErrorCode::AmazonUnavailable,
                503,
                true,
            ),
            (
                amazon(503, "ServiceUnavailable", ""),
                ErrorCode::AmazonUnavailable,
                503,
                true,
            ),
        ];
        for (e, code, status, retryable) in cases {
            let text = e.to_string();
            let e = LabelError::from(e);
            assert_eq!(
                (e.code(), e.http_status(), e.is_retryable()),
                (code, status, retryable),
                "{text}"
            );
        }
        let expired = LabelError::from(amazon(400, "TOKEN_EXPIRED", "x")).to_wire();
        assert_eq!(expired.hint.as_deref(), Some(FRESH_RATES_HINT));
        let rejected =
            LabelError::from(amazon(400, "InvalidInput", "Order is not eligible")).to_wire();
        assert_eq!(rejected.amazon_request_id.as_deref(), Some("req-9"));
        assert!(
            rejected.message.contains("Order is not eligible"),
            "{}",
            rejected.message
        );
        let revoked = LabelError::Amazon(SpApiError::AuthorizationRevoked {
            seller: domain::SellerId::new("A3EXAMPLESELLER").unwrap(),
        });
        assert_eq!(revoked.code(), ErrorCode::AuthorizationRevoked);
        assert!(revoked.to_string().contains("authorise the app again"));
    }

    #[test]
    fn every_error_says_what_to_do() {
        let e = LabelError::KeyReused {
            key: "PKG-1".into(),
        };
        assert!(e.to_string().contains("use a new key"));
        assert_eq!(e.http_status(), 409);
        let e = LabelError::InProgress {
            key: "PKG-1".into(),
        };
        assert!(e.is_retryable() && e.to_wire().hint.is_some());
    }
}
