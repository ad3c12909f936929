//! The label request's types: the operations and what each carries (the
//! shape of `schemas/label-request.v1.json` and `.v2.json`).

// Look-alikes of spapi's Shipping v2 types: these follow the WMS schemas, not Amazon's model.

use std::fmt;

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, ClientCode, OrderItemId, Pii, SellerId, Sku};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Decimal, MessageVersion, Money};

/// One call of the label function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelRequest {
    /// 1 or 2; the response is written in the same version.
    pub schema: MessageVersion,
    /// At least one of `seller_id` and `client_code` (the schema checks it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<SellerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_code: Option<ClientCode>,
    /// Echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub operation: LabelOperation,
}

/// The operations, tagged by `operation` (the last five: version 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum LabelOperation {
    Rates(RatesRequest),
    Purchase(PurchaseRequest),
    OneClick(OneClickRequest),
    Documents(DocumentsRequest),
    Cancel(CancelRequest),
    Track(TrackRequest),
    AdditionalInputs(AdditionalInputsRequest),
    Unmanifested(UnmanifestedRequest),
    CollectionForm(CollectionFormRequest),
    CollectionFormHistory(CollectionFormHistoryRequest),
    CollectionFormReprint(CollectionFormReprintRequest),
}

impl LabelOperation {
    pub fn name(&self) -> OperationName {
        match self {
            LabelOperation::Rates(_) => OperationName::Rates,
            LabelOperation::Purchase(_) => OperationName::Purchase,
            LabelOperation::OneClick(_) => OperationName::OneClick,
            LabelOperation::Documents(_) => OperationName::Documents,
            LabelOperation::Cancel(_) => OperationName::Cancel,
            LabelOperation::Track(_) => OperationName::Track,
            LabelOperation::AdditionalInputs(_) => OperationName::AdditionalInputs,
            LabelOperation::Unmanifested(_) => OperationName::Unmanifested,
            LabelOperation::CollectionForm(_) => OperationName::CollectionForm,
            LabelOperation::CollectionFormHistory(_) => OperationName::CollectionFormHistory,
            LabelOperation::CollectionFormReprint(_) => OperationName::CollectionFormReprint,
        }
    }
}

/// An operation's name, as the response repeats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationName {
    Rates,
    Purchase,
    OneClick,
    Documents,
    Cancel,
    Track,
    AdditionalInputs,
    Unmanifested,
    CollectionForm,
    CollectionFormHistory,
    CollectionFormReprint,
}

impl OperationName {
    pub const ALL: [OperationName; 11] = [
        OperationName::Rates,
        OperationName::Purchase,
        OperationName::OneClick,
        OperationName::Documents,
        OperationName::Cancel,
        OperationName::Track,
        OperationName::AdditionalInputs,
        OperationName::Unmanifested,
        OperationName::CollectionForm,
        OperationName::CollectionFormHistory,
        OperationName::CollectionFormReprint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperationName::Rates => "rates",
            OperationName::Purchase => "purchase",
            OperationName::OneClick => "one_click",
            OperationName::Documents => "documents",
            OperationName::Cancel => "cancel",
            OperationName::Track => "track",
            OperationName::AdditionalInputs => "additional_inputs",
            OperationName::Unmanifested => "unmanifested",
            OperationName::CollectionForm => "collection_form",
            OperationName::CollectionFormHistory => "collection_form_history",
            OperationName::CollectionFormReprint => "collection_form_reprint",
        }
    }

    /// The first contract version that has the operation.
    pub fn since(self) -> MessageVersion {
        match self {
            OperationName::Rates
            | OperationName::Purchase
            | OperationName::OneClick
            | OperationName::Documents
            | OperationName::Cancel
            | OperationName::Track => MessageVersion::V1,
            _ => MessageVersion::V2,
        }
    }

    /// The operation named by a request that may not parse (for the error
    /// response's `operation`).
    pub fn from_value(value: &Value) -> Option<Self> {
        serde_json::from_value(value.get("operation")?.clone()).ok()
    }
}

impl fmt::Display for OperationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatesRequest {
    pub shipment: ShipmentSpec,
    /// Only offers that can print this format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_format: Option<LabelFormat>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PurchaseRequest {
    pub idempotency_key: String,
    pub request_token: String,
    /// The rate to buy; or `select` picks one of the token's rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Selection>,
    pub label: LabelSpec,
    /// Version 2: what the offer's `additional_inputs_schema` asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_inputs: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneClickRequest {
    pub idempotency_key: String,
    pub shipment: ShipmentSpec,
    pub select: Selection,
    pub label: LabelSpec,
    /// Version 2: inputs for an offer that needs them (see
    /// [`PurchaseRequest::additional_inputs`]); without them, offers that
    /// need inputs are not chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_inputs: Option<Map<String, Value>>,
}

/// Version 2: the schema of an offer's additional inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalInputsRequest {
    pub request_token: String,
    pub rate_id: String,
}

/// Version 2: the carriers with parcels not yet on a collection form, per
/// ship-from address (only `ship_from`'s, if given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanifestedRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<Address>,
}

/// Version 2: the carrier's collection form (manifest) for the parcels of
/// one ship-from address, made once per idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFormRequest {
    pub idempotency_key: String,
    pub carrier_id: String,
    pub ship_from: Address,
}

/// Version 2: the collection forms made, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFormHistoryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
}

/// Version 2: a collection form printed again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFormReprintRequest {
    pub collection_form_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocumentsRequest {
    pub shipment_id: String,
    /// Default: the shipment's only (or first) package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    /// Default: the format it was bought in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<LabelFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpi: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub shipment_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackRequest {
    /// A label bought through the connector; or `tracking_id` + `carrier_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_id: Option<String>,
}

/// What to ship: `order_number` (an Amazon order) or `ship_to`, exactly one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<Address>,
    pub ship_from: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<DateTime<Utc>>,
    pub packages: Vec<PackageSpec>,
}

impl ShipmentSpec {
    /// The Amazon order id behind `order_number` given the seller's prefix:
    /// `MG302-1234567-1234567` with prefix `MG`, or the bare id.
    pub fn amazon_order_id(&self, order_prefix: &str) -> Option<AmazonOrderId> {
        let number = self.order_number.as_deref()?;
        if let Some(rest) = number.strip_prefix(order_prefix)
            && let Ok(id) = AmazonOrderId::new(rest)
        {
            return Some(id);
        }
        AmazonOrderId::new(number).ok()
    }
}

/// An address. As a ship-to it is buyer data; the warehouse's own
/// (ship-from, return-to) is handled the same way for simplicity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    pub state_or_region: Pii<String>,
    pub postal_code: Pii<String>,
    pub country_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Pii<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackageSpec {
    pub package_id: String,
    pub weight: Weight,
    pub dimensions: Dimensions,
    /// Default: the items' values summed, or zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_value: Option<Money>,
    pub items: Vec<ItemSpec>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemSpec {
    pub quantity: u32,
    /// For an Amazon order: the SKU (or `order_item_id`) names the order line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_item_id: Option<OrderItemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The value of one unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Weight>,
    /// Version 2, Amazon orders: the units' serial numbers (at most
    /// `quantity`, unique in the package).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serial_numbers: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WeightUnit {
    Gram,
    Kilogram,
    Ounce,
    Pound,
}

impl WeightUnit {
    /// Amazon's spelling (the same as ours).
    pub fn as_str(self) -> &'static str {
        match self {
            WeightUnit::Gram => "GRAM",
            WeightUnit::Kilogram => "KILOGRAM",
            WeightUnit::Ounce => "OUNCE",
            WeightUnit::Pound => "POUND",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    pub value: Decimal,
    pub unit: WeightUnit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LengthUnit {
    Centimeter,
    Inch,
}

impl LengthUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            LengthUnit::Centimeter => "CENTIMETER",
            LengthUnit::Inch => "INCH",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    pub length: Decimal,
    pub width: Decimal,
    pub height: Decimal,
    pub unit: LengthUnit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LabelFormat {
    Pdf,
    Png,
    Zpl,
}

impl LabelFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelFormat::Pdf => "PDF",
            LabelFormat::Png => "PNG",
            LabelFormat::Zpl => "ZPL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [LabelFormat::Pdf, LabelFormat::Png, LabelFormat::Zpl]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSize {
    pub width: Decimal,
    pub length: Decimal,
    pub unit: LengthUnit,
}

/// The label wanted: format, and optionally size and dpi (default: the
/// rate's first supported size, Amazon's default dpi).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSpec {
    pub format: LabelFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<LabelSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpi: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectRule {
    /// The cheapest offer that delivers by the order's latest delivery date
    /// (the cheapest of all when Amazon gives no promise).
    CheapestOnTime,
    Cheapest,
    /// The earliest delivery (ties: the cheaper).
    Fastest,
    /// The offer of `service_id`.
    Service,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub rule: SelectRule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
}
