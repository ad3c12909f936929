//! Orders API v0 (`ordersV0.json`): the request of `confirmShipment`, the one
//! v0 operation that is not deprecated (its answer is 204 No Content). The
//! v0 reads are not used: the v2026-01-01 API replaces them.

use serde::{Deserialize, Serialize};

/// `ConfirmShipmentRequest`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmShipmentRequest {
    pub marketplace_id: String,
    pub package_detail: PackageDetail,
    /// `DirectPayment`, JP only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_collection_method: Option<String>,
}

/// `PackageDetail`. Optional fields are left out rather than sent as null.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PackageDetail {
    /// Seller-chosen, unique within the order, positive numbers only, sent
    /// as a string.
    pub package_reference_id: String,
    /// A value of Amazon's carrier-code list, or `Other` with `carrier_name`.
    pub carrier_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    pub tracking_number: String,
    /// ISO 8601 date-time.
    pub ship_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_supply_source_id: Option<String>,
    pub order_items: Vec<ConfirmShipmentOrderItem>,
}

/// `ConfirmShipmentOrderItem`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmShipmentOrderItem {
    pub order_item_id: String,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transparency_codes: Vec<String>,
}

/// The carrier code that needs a `carrierName`.
pub const OTHER_CARRIER: &str = "Other";
