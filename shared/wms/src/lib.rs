//! The WMS outside contracts (product.md, "Outside contracts"): the versioned
//! JSON messages the connector exchanges with the 3PL's warehouse system,
//! their JSON Schemas (`schemas/`, draft 2020-12, embedded and compiled once),
//! the Rust types, and the validation every inbound message goes through.
//!
//! - [`OrderMessage`] (connector → WMS order queue): `order.created`,
//!   `order.cancelled` and `order.cancel_requested` (its own schema,
//!   [`OrderCancelRequested`]). What we send is checked against our own
//!   schema before it leaves ([`OrderMessage::to_json`]).
//! - [`ShipmentMessage`] (WMS → connector, SQS): [`ShipmentMessage::parse`]
//!   validates against the schema first, then decodes with
//!   `serde_path_to_error`; a [`ContractError`] names the field and the rule,
//!   never a value, so its text can become the dead-letter reason.
//! - [`StockPage`] (the WMS stock endpoint's answer): [`StockPage::parse`].
//! - [`LabelRequest`] / [`LabelResponse`] (WMS ⇄ label function, [`label`]):
//!   rates, purchase, one-click, documents, cancel, track.
//!
//! The human-readable contract is `CONTRACTS.md` beside this crate; its JSON
//! examples are tested against the schemas.
//!
//! Buyer data travels as [`domain::Pii`], so `{:?}` of a message never prints
//! it. This crate does no I/O and must not depend on `spapi`, `store`, the
//! AWS SDK or any runtime crate: it is the shape of the messages, nothing
//! about how they travel or where the data comes from.

mod cancel_request;
mod contract;
mod error;
pub mod label;
mod money;
mod order;
mod shipment;
mod stock;

pub use cancel_request::{CANCEL_REQUESTED, OrderCancelRequested, RequestedLine};
pub use contract::{Contract, MessageVersion, SCHEMA_VERSION, SchemaVersion};
pub use error::{ContractError, Violation};
pub use label::{LabelContractError, LabelRequest, LabelResponse};
pub use money::{Decimal, Money};
pub use order::{
    Address, BuyShipping, Buyer, CancelScope, CancelledLine, LineRequirements, OrderCancelled,
    OrderCreated, OrderFlags, OrderLine, OrderMessage, ServiceMapping, Shipping,
};
pub use shipment::{ShipmentLine, ShipmentMessage};
pub use stock::{StockItem, StockPage};

#[cfg(test)]
mod tests;
