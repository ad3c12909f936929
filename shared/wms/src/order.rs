//! The order message (connector → WMS order queue): `order.created` once per
//! Amazon order, `order.cancelled` when Amazon later cancels all or part of an
//! order already sent. Buyer data is [`Pii`]: it serialises as plain JSON but
//! `{:?}` prints `<redacted>`.

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, ClientCode, MarketplaceId, OrderItemId, Pii, SellerId, Sku};
use serde::{Deserialize, Serialize};

use crate::cancel_request::CANCEL_REQUESTED;
use crate::{Contract, ContractError, MessageVersion, Money, OrderCancelRequested};

/// One message on the WMS order queue, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum OrderMessage {
    /// Boxed: it is three times the size of a cancellation.
    #[serde(rename = "order.created")]
    Created(Box<OrderCreated>),
    #[serde(rename = "order.cancelled")]
    Cancelled(OrderCancelled),
    /// The buyer asked to cancel (issue 15; its own schema file).
    #[serde(rename = "order.cancel_requested")]
    CancelRequested(OrderCancelRequested),
}

impl From<OrderCreated> for OrderMessage {
    fn from(message: OrderCreated) -> Self {
        OrderMessage::Created(Box::new(message))
    }
}

impl From<OrderCancelled> for OrderMessage {
    fn from(message: OrderCancelled) -> Self {
        OrderMessage::Cancelled(message)
    }
}

impl From<OrderCancelRequested> for OrderMessage {
    fn from(message: OrderCancelRequested) -> Self {
        OrderMessage::CancelRequested(message)
    }
}

/// The same expression over every kind of [`OrderMessage`]: each carries
/// the header fields (message id, seller, order number, Amazon order id).
macro_rules! each {
    ($message:expr, $m:ident => $field:expr) => {
        match $message {
            OrderMessage::Created($m) => $field,
            OrderMessage::Cancelled($m) => $field,
            OrderMessage::CancelRequested($m) => $field,
        }
    };
}

impl OrderMessage {
    /// The contract (schema) of this message's kind.
    pub fn contract(&self) -> Contract {
        match self {
            OrderMessage::Created(_) | OrderMessage::Cancelled(_) => Contract::OrderMessage,
            OrderMessage::CancelRequested(_) => Contract::OrderCancelRequest,
        }
    }

    /// The JSON text to send, checked against our own schema first (a
    /// failure here is a bug in the mapping, never the WMS's fault).
    pub fn to_json(&self) -> Result<String, ContractError> {
        self.contract().encode(self)
    }

    /// Reads an order message of any kind (used by the fake WMS and the
    /// tests; the connector itself only sends them): the kind picks the
    /// schema.
    pub fn parse(body: &str) -> Result<OrderMessage, ContractError> {
        let is_request = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .is_some_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some(CANCEL_REQUESTED));
        if is_request {
            Contract::OrderCancelRequest.parse(body)
        } else {
            Contract::OrderMessage.parse(body)
        }
    }

    /// The schema version the message is written in (a cancellation
    /// request has only version 1, in its own schema).
    pub fn version(&self) -> MessageVersion {
        match self {
            OrderMessage::Created(m) => m.schema,
            OrderMessage::Cancelled(m) => m.schema,
            OrderMessage::CancelRequested(_) => MessageVersion::V1,
        }
    }

    /// `order.created`, `order.cancelled` or `order.cancel_requested`.
    pub fn kind(&self) -> &'static str {
        match self {
            OrderMessage::Created(_) => "order.created",
            OrderMessage::Cancelled(_) => "order.cancelled",
            OrderMessage::CancelRequested(_) => CANCEL_REQUESTED,
        }
    }

    /// Deterministic per business event: the queue's deduplication id.
    pub fn message_id(&self) -> &str {
        each!(self, m => &m.message_id)
    }

    pub fn seller_id(&self) -> &SellerId {
        each!(self, m => &m.seller_id)
    }

    pub fn order_number(&self) -> &str {
        each!(self, m => &m.order_number)
    }

    pub fn amazon_order_id(&self) -> &AmazonOrderId {
        each!(self, m => &m.amazon_order_id)
    }
}

/// `order.created`: everything the warehouse needs to pick, pack and ship.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderCreated {
    /// 1 or 2 (the seller's `order_message_version`).
    pub schema: MessageVersion,
    /// [`OrderCreated::message_id_for`].
    pub message_id: String,
    pub seller_id: SellerId,
    pub client_code: ClientCode,
    /// The WMS order number: the seller's prefix + the Amazon order id.
    pub order_number: String,
    pub amazon_order_id: AmazonOrderId,
    pub marketplace_id: MarketplaceId,
    pub purchase_date: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_ship_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ship_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_delivery_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_date: Option<DateTime<Utc>>,
    /// Amazon's `fulfillmentServiceLevel` (`STANDARD`, `EXPEDITED`, `NEXT_DAY`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_service_level: Option<String>,
    pub flags: OrderFlags,
    /// Amazon's `programs` as sent (`PRIME`, `AMAZON_BUSINESS`, `AMAZON_EASY_SHIP`...).
    pub programs: Vec<String>,
    /// Version 2 only (required there): how the order ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
    pub ship_to: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    pub lines: Vec<OrderLine>,
}

impl OrderCreated {
    /// `<seller id>:<amazon order id>:created`: one per order, forever.
    pub fn message_id_for(seller_id: &SellerId, amazon_order_id: &AmazonOrderId) -> String {
        format!("{seller_id}:{amazon_order_id}:created")
    }
}

/// How an order ships (`order.created` version 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipping {
    /// Amazon's service level category (`NEXT_DAY`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level: Option<String>,
    /// The WMS's service code; absent exactly when `mapping` is `unmapped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wms_service: Option<String>,
    pub mapping: ServiceMapping,
    pub buy_shipping: BuyShipping,
}

/// Where `wms_service` came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMapping {
    /// The seller's shipping method table.
    Seller,
    /// The connector's built-in table.
    Default,
    /// Nothing maps Amazon's service level: the WMS chooses.
    Unmapped,
}

/// Whether the order must ship on a label bought through Amazon, and by when.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyShipping {
    pub required: bool,
    /// The programs that require it (e.g. `PRIME`); present when required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Amazon's latest ship date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_by: Option<DateTime<Utc>>,
    /// No label can be printed before this time (Amazon's label printing window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_from: Option<DateTime<Utc>>,
}

/// What Amazon asks of one line (`order.created` version 2; absent when nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRequirements {
    /// A Transparency code per unit must come back in the shipment message.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transparency_codes: bool,
    /// Amazon asks for the units' serial numbers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_numbers: bool,
    /// Mandatory carrier constraints (`SIGNATURE_CONFIRMATION`, `CASH_ON_DELIVERY`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipping_constraints: Vec<String>,
}

impl LineRequirements {
    pub fn is_empty(&self) -> bool {
        !self.transparency_codes && !self.serial_numbers && self.shipping_constraints.is_empty()
    }
}

/// The order's programs as booleans the WMS can route on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFlags {
    /// Program `PRIME`; on a merchant-fulfilled order this is Seller Fulfilled Prime.
    pub prime: bool,
    /// Program `AMAZON_BUSINESS`.
    pub business: bool,
    /// Program `PREMIUM` (premium shipping).
    pub premium: bool,
    /// Program `PREORDER`.
    pub preorder: bool,
}

// Optional fields like OrderCreated's: each struct is its own part of the order-message schemas.
/// The ship-to address. Everything but the country code and the address
/// type is buyer data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub name: Pii<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<Pii<String>>,
    pub address_line1: Pii<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<Pii<String>>,
    pub city: Pii<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district_or_county: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<Pii<String>>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Pii<String>>,
    /// `RESIDENTIAL`, `COMMERCIAL` or `PICKUP_POINT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
}

/// The buyer, where the seller granted the role. All of it is buyer data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Buyer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// Amazon's anonymised relay address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order_number: Option<Pii<String>>,
}

impl Buyer {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.company_name.is_none()
            && self.purchase_order_number.is_none()
    }
}

/// One order line to ship.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub order_item_id: OrderItemId,
    pub sku: Sku,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Units to ship (at least 1).
    pub quantity: u32,
    /// Units the buyer ordered (more than `quantity` when some were already
    /// shipped elsewhere or cancelled before the order was sent).
    pub quantity_ordered: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    /// `unit_price × quantity`, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_price: Option<Money>,
    /// Version 2 only: what Amazon asks of this line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<LineRequirements>,
}

/// `order.cancelled`: what Amazon cancelled since the order was sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// 1 or 2 (the seller's `order_message_version`).
    pub schema: MessageVersion,
    /// [`OrderCancelled::message_id_for`].
    pub message_id: String,
    pub seller_id: SellerId,
    pub client_code: ClientCode,
    pub order_number: String,
    pub amazon_order_id: AmazonOrderId,
    pub marketplace_id: MarketplaceId,
    pub scope: CancelScope,
    /// When Amazon last changed the order (its `lastUpdatedTime`).
    pub cancelled_at: DateTime<Utc>,
    /// Amazon's cancel reason, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The lines with a cancelled quantity (`scope: order`: every line sent).
    pub lines: Vec<CancelledLine>,
}

impl OrderCancelled {
    /// `<seller id>:<amazon order id>:cancelled:<units>`, where `units` is the
    /// total of `quantity_cancelled` over the lines. Cancelled quantities only
    /// grow, so each new state of the order gets a new id and a retried send of
    /// the same state keeps its id.
    pub fn message_id_for(
        seller_id: &SellerId,
        amazon_order_id: &AmazonOrderId,
        units_cancelled: u64,
    ) -> String {
        format!("{seller_id}:{amazon_order_id}:cancelled:{units_cancelled}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelScope {
    /// Amazon cancelled the whole order: ship nothing more.
    Order,
    /// Only the listed quantities are cancelled; ship the rest.
    Lines,
}

/// A line's cancellation, as a running total (applying it twice is harmless).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelledLine {
    pub order_item_id: OrderItemId,
    pub sku: Sku,
    /// Units of the quantity sent in `order.created` cancelled so far.
    pub quantity_cancelled: u32,
    /// Units of the line still to ship.
    pub quantity_remaining: u32,
}
