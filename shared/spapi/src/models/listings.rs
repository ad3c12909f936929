//! Listings Items API v2021-08-01 (`listingsItems_2021-08-01.json`):
//! `patchListingsItem` / `getListingsItem` bodies, and the JSON Patch that
//! sets a listing's `fulfillment_availability` (its stock quantity), shared
//! with the `JSON_LISTINGS_FEED` messages of [`super::listings_feed`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The attribute that carries a seller-fulfilled quantity.
pub const FULFILLMENT_AVAILABILITY_PATH: &str = "/attributes/fulfillment_availability";
/// The seller's own (MFN) fulfilment channel.
pub const DEFAULT_CHANNEL: &str = "DEFAULT";
/// The generic product type, enough for offer-only (quantity) patches.
pub const PRODUCT: &str = "PRODUCT";

/// `PatchOperation.op`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Replace,
    Merge,
    Delete,
}

/// `PatchOperation`: one JSON Patch step on a top-level attribute.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Vec<Value>>,
}

/// One `fulfillment_availability` attribute value (snake_case, as in the
/// product type definitions).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct FulfillmentAvailabilityValue {
    pub fulfillment_channel_code: String,
    pub quantity: u32,
}

impl PatchOperation {
    /// `merge` of `fulfillment_availability`: sets `quantity` for `channel`
    /// and keeps `restock_date` / `lead_time_to_ship_max_days` (changelog
    /// 2025-06-16; `replace` would drop them).
    pub fn set_quantity(channel: &str, quantity: u32) -> Self {
        let value = FulfillmentAvailabilityValue {
            fulfillment_channel_code: channel.to_string(),
            quantity,
        };
        PatchOperation {
            op: PatchOp::Merge,
            path: FULFILLMENT_AVAILABILITY_PATH.to_string(),
            value: Some(vec![serde_json::to_value(value).unwrap_or(Value::Null)]),
        }
    }
}

/// `ListingsItemPatchRequest`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListingsItemPatchRequest {
    pub product_type: String,
    pub patches: Vec<PatchOperation>,
}

/// `Issue.severity`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// `Issue`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    pub code: String,
    pub message: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribute_names: Vec<String>,
}

/// Listings issue codes that mean "there is no listing for this SKU" (as
/// opposed to a listing that refused the value). Amazon publishes no list of
/// its issue codes, so the connector decides by code, never by message text:
/// `4000001` is the code the project's simulator gives a PATCH of an unknown
/// SKU. A code seen in production for the same case is added here; every
/// rejection is logged with its code (inventory push), so it can be found.
pub const SKU_NOT_FOUND_CODES: &[&str] = &["4000001"];

/// Whether an issue `code` means the SKU has no listing on Amazon.
pub fn is_unknown_sku_code(code: &str) -> bool {
    SKU_NOT_FOUND_CODES.contains(&code.trim())
}

/// `ListingsItemSubmissionResponse.status`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubmissionStatus {
    /// Queued for processing (not yet applied).
    Accepted,
    /// Refused; `issues` says why.
    Invalid,
    /// Only with `mode=VALIDATION_PREVIEW`.
    Valid,
}

/// `ListingsItemSubmissionResponse`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListingsItemSubmissionResponse {
    pub sku: String,
    pub status: SubmissionStatus,
    pub submission_id: String,
    #[serde(default)]
    pub issues: Vec<Issue>,
}

impl ListingsItemSubmissionResponse {
    /// The `ERROR` issues (what made the submission `INVALID`).
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }
}

/// `FulfillmentAvailability` (getListingsItem, camelCase).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentAvailability {
    pub fulfillment_channel_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
}

/// `Item` (getListingsItem's answer): the parts the connector reads are
/// typed; the rest are kept as JSON.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub sku: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summaries: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fulfillment_availability: Vec<FulfillmentAvailability>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_types: Vec<Value>,
}

/// `ItemSummaryByMarketplace` (the parts the connector reads).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ItemSummary {
    pub marketplace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    /// `BUYABLE`, `DISCOVERABLE`; empty when the listing is neither
    /// (inactive: closed, suppressed).
    #[serde(default)]
    pub status: Vec<String>,
}

/// `Pagination` of searchListingsItems.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_token: Option<String>,
}

/// `ItemSearchResults` (searchListingsItems). Amazon pages through at most
/// [`SEARCH_RESULTS_CAP`] items of one search, whatever `numberOfResults`
/// says: a larger search must be narrowed (e.g. by creation date).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ItemSearchResults {
    pub number_of_results: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    pub items: Vec<Item>,
}

/// The model's note on `numberOfResults`: at most 1000 items of one search
/// can be returned and paged through.
pub const SEARCH_RESULTS_CAP: u64 = 1000;

impl Item {
    /// The typed summaries (those that do not parse are skipped).
    pub fn summaries(&self) -> Vec<ItemSummary> {
        self.summaries
            .iter()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }

    /// The quantity offered on `channel`, if the answer included it.
    pub fn quantity(&self, channel: &str) -> Option<u32> {
        self.fulfillment_availability
            .iter()
            .find(|f| f.fulfillment_channel_code == channel)
            .and_then(|f| f.quantity)
    }
}
