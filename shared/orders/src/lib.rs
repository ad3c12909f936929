//! The pure rules of the order pull (product.md, "Per-seller settings" and
//! guarantee 1), kept apart from the Lambda that runs them so every rule has
//! a table test:
//!
//! - [`eligibility`]: whether an Amazon order (Orders API v2026-01-01) is sent
//!   to the WMS now ([`Eligibility::Send`]), later ([`Eligibility::Hold`]:
//!   Pending, or data missing to decide) or never ([`Eligibility::Skip`]:
//!   before the seller's start date, fulfilled by Amazon, another marketplace,
//!   a ship-to country outside the allow-list, a status not pulled, Cancelled).
//! - [`to_order_message`]: the order as a `wms::OrderMessage` (`order.created`),
//!   with the seller's order-number prefix, checked against the WMS schema.
//! - [`cancellation`]: whether an `order.cancelled` is due for an order already
//!   sent, from what was sent ([`SentOrder`]) and what Amazon says now.
//! - [`cancel_request`]: whether an `order.cancel_requested` is due: the
//!   buyer asked to cancel lines the WMS has not shipped (issue 15).
//!
//! This crate does no I/O. It reads `spapi::models::orders` types only (never
//! the client), and must not depend on `store`, the AWS SDK, an HTTP client or
//! a runtime: the order-pull function fetches, asks these rules, and records.

mod cancel_request;
mod cancellation;
mod eligibility;
mod error;
mod mapping;

pub use cancel_request::cancel_request;
pub use cancellation::{SentLine, SentOrder, cancellation};
pub use eligibility::{Eligibility, HoldReason, SkipReason, eligibility};
pub use error::OrdersError;
pub use mapping::{buy_shipping_reasons, message_version, quantity_to_ship, to_order_message};

#[cfg(test)]
mod fixtures;
