//! The crate's one error type. Messages name the order and the field of
//! Amazon's answer, never a value (addresses and names are buyer data).

#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("order {order_id}: `{field}` is missing from Amazon's answer: {hint}")]
    Missing {
        order_id: String,
        /// The field's path in Amazon's `Order` (e.g. `recipient.deliveryAddress.name`).
        field: String,
        hint: &'static str,
    },

    #[error("order {order_id}: `{field}` {problem}")]
    Invalid {
        order_id: String,
        field: String,
        /// What the field must be (never its value).
        problem: String,
    },

    #[error(
        "order {order_id}: nothing left to ship (every line is shipped or cancelled); it is not sent"
    )]
    NothingToShip { order_id: String },

    #[error("order {order_id}: the order message breaks the WMS contract: {source}")]
    Contract {
        order_id: String,
        #[source]
        source: wms::ContractError,
    },
}

impl OrdersError {
    /// Whether asking again later can succeed: a missing field can appear
    /// once Amazon (or the seller's roles) catch up; the rest needs a fix.
    pub fn is_retryable(&self) -> bool {
        matches!(self, OrdersError::Missing { .. })
    }
}
