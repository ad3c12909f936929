//! What control sends to seed and change orders (JSON on `/_sim/`, Rust
//! structs in-process), with the values the Orders v2026-01-01 model lists.

use chrono::{DateTime, Utc};
use domain::settings::OrderStatus;
use serde::{Deserialize, Serialize};

/// Every `FulfillmentStatus` of the model.
pub const ORDER_STATUSES: [OrderStatus; 7] = [
    OrderStatus::PendingAvailability,
    OrderStatus::Pending,
    OrderStatus::Unshipped,
    OrderStatus::PartiallyShipped,
    OrderStatus::Shipped,
    OrderStatus::Cancelled,
    OrderStatus::Unfulfillable,
];

pub fn parse_status(s: &str) -> Option<OrderStatus> {
    ORDER_STATUSES.into_iter().find(|st| st.as_str() == s)
}

/// `programs` values the model lists for an order.
pub(super) const PROGRAMS: &[&str] = &[
    "AMAZON_BAZAAR",
    "AMAZON_BUSINESS",
    "AMAZON_EASY_SHIP",
    "AMAZON_HAUL",
    "DELIVERY_BY_AMAZON",
    "FBM_SHIP_PLUS",
    "INVOICE_BY_AMAZON",
    "IN_STORE_PICK_UP",
    "PREMIUM",
    "PREORDER",
    "PRIME",
];

/// `fulfillmentServiceLevel` values the model lists.
pub(super) const SERVICE_LEVELS: &[&str] = &[
    "EXPEDITED",
    "FREE_ECONOMY",
    "NEXT_DAY",
    "PRIORITY",
    "SAME_DAY",
    "SECOND_DAY",
    "SCHEDULED",
    "STANDARD",
];

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfilledBy {
    #[default]
    Merchant,
    Amazon,
}

impl FulfilledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilledBy::Merchant => "MERCHANT",
            FulfilledBy::Amazon => "AMAZON",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MERCHANT" => Some(FulfilledBy::Merchant),
            "AMAZON" => Some(FulfilledBy::Amazon),
            _ => None,
        }
    }
}

/// The buyer of a seeded order (returned only with `BUYER` and the PII role).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuyerSpec {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company_name: Option<String>,
    pub purchase_order_number: Option<String>,
}

/// The delivery address of a seeded order. Without the PII role only `city`,
/// `state_or_region`, `postal_code` and `country_code` are returned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressSpec {
    pub name: Option<String>,
    pub company_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_line3: Option<String>,
    pub city: Option<String>,
    pub district_or_county: Option<String>,
    pub state_or_region: Option<String>,
    pub municipality: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
    /// `RESIDENTIAL`, `COMMERCIAL` or `PICKUP_POINT`.
    pub address_type: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
}

/// One line of a seeded order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSpec {
    /// 14 digits; derived from the order id and the line number when absent.
    #[serde(default)]
    pub order_item_id: Option<String>,
    pub sku: String,
    #[serde(default = "default_asin")]
    pub asin: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default = "one")]
    pub quantity: u32,
    /// A decimal string, e.g. `"19.99"`.
    pub unit_price: String,
    pub currency: String,
    /// Item programs (`TRANSPARENCY`: a code per unit must come with the
    /// shipment confirmation; `SUBSCRIBE_AND_SAVE`).
    #[serde(default)]
    pub programs: Vec<String>,
    /// `fulfillment.packing.serialNumberRequirement` is `REQUIRED`.
    #[serde(default)]
    pub serial_number_required: bool,
    /// Mandatory shipping constraints, by the model's names
    /// (`signatureConfirmation`, `cashOnDelivery`...).
    #[serde(default)]
    pub shipping_constraints: Vec<String>,
}

/// Item `programs` values the model lists.
pub(super) const ITEM_PROGRAMS: &[&str] = &["TRANSPARENCY", "SUBSCRIBE_AND_SAVE"];

/// `ItemShippingConstraints` properties of the model.
pub(super) const SHIPPING_CONSTRAINTS: &[&str] = &[
    "palletDelivery",
    "cashOnDelivery",
    "signatureConfirmation",
    "recipientIdentityVerification",
    "recipientAgeVerification",
];

fn default_asin() -> String {
    "B000SIM000".to_string()
}

fn one() -> u32 {
    1
}

impl ItemSpec {
    pub fn new(sku: &str, quantity: u32, unit_price: &str, currency: &str) -> Self {
        Self {
            order_item_id: None,
            sku: sku.to_string(),
            asin: default_asin(),
            title: None,
            quantity,
            unit_price: unit_price.to_string(),
            currency: currency.to_string(),
            programs: Vec::new(),
            serial_number_required: false,
            shipping_constraints: Vec::new(),
        }
    }
}

/// An order to seed. Only `marketplace_id` and `items` are required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderSpec {
    /// `NNN-NNNNNNN-NNNNNNN`; random when absent.
    pub order_id: Option<String>,
    pub marketplace_id: String,
    /// Defaults to the simulator's now.
    pub created: Option<DateTime<Utc>>,
    pub fulfilled_by: FulfilledBy,
    /// Defaults to `UNSHIPPED`.
    pub status: Option<OrderStatus>,
    /// e.g. `PRIME`, `AMAZON_BUSINESS`, `PREMIUM`.
    pub programs: Vec<String>,
    pub buyer: Option<BuyerSpec>,
    pub recipient: Option<AddressSpec>,
    pub ship_by: Option<TimeWindow>,
    pub deliver_by: Option<TimeWindow>,
    /// Defaults to `STANDARD`.
    pub fulfillment_service_level: Option<String>,
    /// `fulfillment.labelPrintingWindow.earliestDateTime`.
    pub label_printing_earliest: Option<DateTime<Utc>>,
    pub items: Vec<ItemSpec>,
}

/// Who cancelled (`cancelledBy`) or asked to cancel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancelParty {
    #[default]
    Buyer,
    Merchant,
    Amazon,
}

impl CancelParty {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelParty::Buyer => "BUYER",
            CancelParty::Merchant => "MERCHANT",
            CancelParty::Amazon => "AMAZON",
        }
    }
}

/// A cancellation: whole order (`skus` empty) or some lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CancelSpec {
    pub skus: Vec<String>,
    pub by: CancelParty,
    pub reason: Option<String>,
    /// Only record the buyer's cancellation request; the order stays as it is.
    pub request_only: bool,
}

/// A shipment: some units (`items` empty = everything still open) in one package.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipSpec {
    pub items: Vec<ShipItem>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub shipping_service: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipItem {
    pub sku: String,
    pub quantity: u32,
}
