//! Orders API v2026-01-01 (`orders_2026-01-01.json`): `searchOrders` and
//! `getOrder`. Only the fields the connector uses are typed; required fields
//! of the model are required here too, everything else is optional.

use chrono::{DateTime, Utc};
use domain::Pii;
use domain::settings::OrderStatus;
use serde::Deserialize;

use super::Money;

/// `includedData` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IncludedData {
    Buyer,
    Recipient,
    Proceeds,
    Expense,
    Promotion,
    Cancellation,
    Fulfillment,
    Packages,
    Tax,
    Payment,
    FulfillmentOrders,
}

impl IncludedData {
    pub fn as_str(self) -> &'static str {
        match self {
            IncludedData::Buyer => "BUYER",
            IncludedData::Recipient => "RECIPIENT",
            IncludedData::Proceeds => "PROCEEDS",
            IncludedData::Expense => "EXPENSE",
            IncludedData::Promotion => "PROMOTION",
            IncludedData::Cancellation => "CANCELLATION",
            IncludedData::Fulfillment => "FULFILLMENT",
            IncludedData::Packages => "PACKAGES",
            IncludedData::Tax => "TAX",
            IncludedData::Payment => "PAYMENT",
            IncludedData::FulfillmentOrders => "FULFILLMENT_ORDERS",
        }
    }
}

/// `SearchOrdersResponse` (not wrapped in `payload`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrdersResponse {
    pub orders: Vec<Order>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
    #[serde(default)]
    pub last_updated_before: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_before: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    #[serde(default)]
    pub next_token: Option<String>,
}

/// `GetOrderResponse`.
#[derive(Clone, Debug, Deserialize)]
pub struct GetOrderResponse {
    pub order: Order,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    pub created_time: DateTime<Utc>,
    pub last_updated_time: DateTime<Utc>,
    #[serde(default)]
    pub programs: Vec<String>,
    pub sales_channel: SalesChannel,
    #[serde(default)]
    pub buyer: Option<Buyer>,
    #[serde(default)]
    pub recipient: Option<Recipient>,
    #[serde(default)]
    pub fulfillment: Option<OrderFulfillment>,
    pub order_items: Vec<OrderItem>,
    #[serde(default)]
    pub packages: Vec<OrderPackage>,
}

impl Order {
    pub fn has_program(&self, program: &str) -> bool {
        self.programs.iter().any(|p| p == program)
    }

    /// The fulfilment status, if Amazon sent it and it is one we know.
    pub fn status(&self) -> Option<OrderStatus> {
        match self.fulfillment.as_ref()?.fulfillment_status {
            StatusValue::Known(s) => Some(s),
            StatusValue::Other(_) => None,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesChannel {
    pub channel_name: String,
    #[serde(default)]
    pub marketplace_id: Option<String>,
    #[serde(default)]
    pub marketplace_name: Option<String>,
}

/// `Buyer`: all of it is buyer data.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    #[serde(default)]
    pub buyer_name: Option<Pii<String>>,
    #[serde(default)]
    pub buyer_email: Option<Pii<String>>,
    #[serde(default)]
    pub buyer_company_name: Option<Pii<String>>,
    #[serde(default)]
    pub buyer_purchase_order_number: Option<Pii<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    #[serde(default)]
    pub delivery_address: Option<CustomerAddress>,
}

/// `CustomerAddress`: everything but the country code is buyer data.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAddress {
    #[serde(default)]
    pub name: Option<Pii<String>>,
    #[serde(default)]
    pub company_name: Option<Pii<String>>,
    #[serde(default)]
    pub address_line1: Option<Pii<String>>,
    #[serde(default)]
    pub address_line2: Option<Pii<String>>,
    #[serde(default)]
    pub address_line3: Option<Pii<String>>,
    #[serde(default)]
    pub city: Option<Pii<String>>,
    #[serde(default)]
    pub district_or_county: Option<Pii<String>>,
    #[serde(default)]
    pub state_or_region: Option<Pii<String>>,
    #[serde(default)]
    pub municipality: Option<Pii<String>>,
    #[serde(default)]
    pub postal_code: Option<Pii<String>>,
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub phone: Option<Pii<String>>,
    #[serde(default)]
    pub address_type: Option<String>,
}

/// A status we know, or one Amazon added after this code was written.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusValue {
    Known(OrderStatus),
    Other(String),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    pub fulfillment_status: StatusValue,
    #[serde(default)]
    pub fulfilled_by: Option<String>,
    #[serde(default)]
    pub fulfillment_service_level: Option<String>,
    #[serde(default)]
    pub ship_by_window: Option<DateTimeRange>,
    #[serde(default)]
    pub deliver_by_window: Option<DateTimeRange>,
    /// The earliest time the shipping label can be printed (no `latest`).
    #[serde(default)]
    pub label_printing_window: Option<DateTimeRange>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeRange {
    #[serde(default)]
    pub earliest_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub latest_date_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    pub order_item_id: String,
    pub quantity_ordered: u32,
    pub product: ItemProduct,
    #[serde(default)]
    pub programs: Vec<String>,
    #[serde(default)]
    pub cancellation: Option<ItemCancellation>,
    #[serde(default)]
    pub fulfillment: Option<ItemFulfillment>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProduct {
    #[serde(default)]
    pub asin: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default)]
    pub price: Option<ItemPrice>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPrice {
    #[serde(default)]
    pub unit_price: Option<Money>,
    #[serde(default)]
    pub price_designation: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCancellation {
    #[serde(default)]
    pub cancellation_request: Option<ItemCancellationRequest>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCancellationRequest {
    #[serde(default)]
    pub requester: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFulfillment {
    #[serde(default)]
    pub quantity_fulfilled: Option<u32>,
    #[serde(default)]
    pub quantity_unfulfilled: Option<u32>,
    #[serde(default)]
    pub packing: Option<ItemPacking>,
    #[serde(default)]
    pub shipping: Option<ItemShipping>,
}

/// `ItemPacking`: only what the warehouse acts on.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPacking {
    #[serde(default)]
    pub serial_number_requirement: Option<SerialNumberRequirement>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SerialNumberRequirement {
    /// `REQUIRED`.
    #[serde(default)]
    pub requirement_type: Option<String>,
}

/// `ItemShipping`: the constraints a carrier must meet.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemShipping {
    #[serde(default)]
    pub shipping_constraints: Option<ItemShippingConstraints>,
}

/// `ItemShippingConstraints`: each is `MANDATORY` when present.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemShippingConstraints {
    #[serde(default)]
    pub pallet_delivery: Option<String>,
    #[serde(default)]
    pub cash_on_delivery: Option<String>,
    #[serde(default)]
    pub signature_confirmation: Option<String>,
    #[serde(default)]
    pub recipient_identity_verification: Option<String>,
    #[serde(default)]
    pub recipient_age_verification: Option<String>,
}

impl ItemShippingConstraints {
    /// The mandatory constraints, named as the WMS order message names them.
    pub fn mandatory(&self) -> Vec<&'static str> {
        [
            (&self.pallet_delivery, "PALLET_DELIVERY"),
            (&self.cash_on_delivery, "CASH_ON_DELIVERY"),
            (&self.signature_confirmation, "SIGNATURE_CONFIRMATION"),
            (
                &self.recipient_identity_verification,
                "RECIPIENT_IDENTITY_VERIFICATION",
            ),
            (
                &self.recipient_age_verification,
                "RECIPIENT_AGE_VERIFICATION",
            ),
        ]
        .into_iter()
        .filter(|(v, _)| v.as_deref() == Some("MANDATORY"))
        .map(|(_, name)| name)
        .collect()
    }
}

impl OrderItem {
    /// Whether Amazon asks for serial numbers of this line.
    pub fn serial_numbers_required(&self) -> bool {
        self.fulfillment
            .as_ref()
            .and_then(|f| f.packing.as_ref())
            .and_then(|p| p.serial_number_requirement.as_ref())
            .and_then(|r| r.requirement_type.as_deref())
            == Some("REQUIRED")
    }

    /// Whether the item is in Amazon's Transparency program (a code per
    /// unit must go with the shipment confirmation).
    pub fn transparency(&self) -> bool {
        self.programs.iter().any(|p| p == "TRANSPARENCY")
    }

    /// The mandatory shipping constraints of this line.
    pub fn shipping_constraints(&self) -> Vec<&'static str> {
        self.fulfillment
            .as_ref()
            .and_then(|f| f.shipping.as_ref())
            .and_then(|s| s.shipping_constraints.as_ref())
            .map(ItemShippingConstraints::mandatory)
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPackage {
    pub package_reference_id: String,
    #[serde(default)]
    pub created_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub package_status: Option<PackageStatus>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub ship_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub shipping_service: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub package_items: Vec<PackageItem>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageStatus {
    pub status: String,
    #[serde(default)]
    pub detailed_status: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageItem {
    pub order_item_id: String,
    pub quantity: u32,
    #[serde(default)]
    pub transparency_codes: Vec<String>,
}
