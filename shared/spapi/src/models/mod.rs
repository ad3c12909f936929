//! Response and request types, built from the official models in
//! `shared/amazon/models` (one module per model file). They are tolerant of
//! fields Amazon adds (unknown fields are ignored) and strict about the
//! fields the model marks required; buyer data is wrapped in [`domain::Pii`].

pub mod collection_forms;
pub mod feeds;
pub mod listings;
pub mod listings_feed;
pub mod notifications;
pub mod order_fulfillment_feed;
pub mod orders;
pub mod orders_v0;
pub mod sellers;
pub mod shipping;

/// `Money` (orders_2026-01-01.json): the amount is a decimal *string*, kept
/// as Amazon sent it so no precision is lost (never `f64`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub amount: String,
    pub currency_code: String,
}
