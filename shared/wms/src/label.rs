//! The label contract (WMS ⇄ connector label function): a versioned request
//! (`schemas/label-request.v1.json`, `.v2.json`) with one of six operations
//! in version 1 — `rates`, `purchase`, `one_click`, `documents`, `cancel`,
//! `track` — and five more in version 2 (`additional_inputs`, and the
//! close-out operations `unmanifested`, `collection_form`,
//! `collection_form_history`, `collection_form_reprint`), and its response
//! (`schemas/label-response.v1.json`, `.v2.json`, in the request's
//! version): `ok` with the part named after the operation, or an `error`
//! with a code, a message saying what to do, and whether a retry can
//! succeed. Version 2 also adds `additional_inputs` to purchases, an item's
//! `serial_numbers`, and an offer's `requires_additional_inputs` with
//! Amazon's schema of them.
//!
//! [`LabelRequest::parse`] checks the schema of the version the request
//! names first (a version 1 request with a field of version 2 is refused,
//! never read with the field ignored), then decodes (a failure names the
//! field and the rule, never a value). [`LabelResponse::to_json`] checks
//! what we send against our own schema of its version. Buyer data (the
//! ship-to address, label files, tracking locations) is [`Pii`].

use std::fmt;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, ClientCode, OrderItemId, Pii, SellerId, Sku};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Decimal, MessageVersion, Money, Violation};

/// At most this many violations are reported for one message.
const MAX_VIOLATIONS: usize = 10;

// ---- request -----------------------------------------------------------------

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

impl LabelRequest {
    /// Validates `body` against the schema of the version it names
    /// (`schemas/label-request.v<N>.json`), then decodes it. A version 1
    /// request carrying a field or operation of version 2 is refused.
    pub fn parse(body: &str) -> Result<LabelRequest, LabelContractError> {
        parse(Kind::Request, body)
    }

    /// The request as JSON, checked against the schema (for the WMS side and tests).
    pub fn to_json(&self) -> Result<String, LabelContractError> {
        encode(Kind::Request, self)
    }
}

/// The first part of a version 1 request that only version 2 has, as a
/// JSON pointer (`None`: the request is plain version 1).
fn newer_request_field(value: &Value) -> Option<String> {
    if let Some(op) = OperationName::from_value(value)
        && op.since() == MessageVersion::V2
    {
        return Some("/operation".into());
    }
    for field in [
        "additional_inputs",
        "ship_from",
        "collection_form_id",
        "from",
        "to",
        "max_results",
    ] {
        if value.get(field).is_some() {
            return Some(format!("/{field}"));
        }
    }
    let packages = value.pointer("/shipment/packages")?.as_array()?;
    for (p, package) in packages.iter().enumerate() {
        for (i, item) in package["items"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if item.get("serial_numbers").is_some() {
                return Some(format!("/shipment/packages/{p}/items/{i}/serial_numbers"));
            }
        }
    }
    None
}

// ---- response ----------------------------------------------------------------

/// The answer to one [`LabelRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelResponse {
    /// The request's version.
    pub schema: MessageVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationName>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<RatesResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<PurchasedLabel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<DocumentsResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<Tracking>,
    /// Version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_inputs: Option<AdditionalInputsResult>,
    /// Version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmanifested: Option<UnmanifestedResult>,
    /// Version 2 (`collection_form` and `collection_form_reprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_form: Option<CollectionFormResult>,
    /// Version 2 (`collection_form_history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_forms: Option<CollectionFormsResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LabelError>,
}

/// The successful part of a response, by operation.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelResult {
    Rates(RatesResult),
    Label(PurchasedLabel),
    Documents(DocumentsResult),
    Cancellation(Cancellation),
    Tracking(Tracking),
    AdditionalInputs(AdditionalInputsResult),
    Unmanifested(UnmanifestedResult),
    CollectionForm(CollectionFormResult),
    CollectionForms(CollectionFormsResult),
}

impl LabelResponse {
    pub fn success(
        version: MessageVersion,
        operation: OperationName,
        request_id: Option<String>,
        result: LabelResult,
    ) -> Self {
        let mut r = Self::empty(version, Some(operation), request_id, true);
        match result {
            LabelResult::Rates(v) => r.rates = Some(v),
            LabelResult::Label(v) => r.label = Some(v),
            LabelResult::Documents(v) => r.documents = Some(v),
            LabelResult::Cancellation(v) => r.cancellation = Some(v),
            LabelResult::Tracking(v) => r.tracking = Some(v),
            LabelResult::AdditionalInputs(v) => r.additional_inputs = Some(v),
            LabelResult::Unmanifested(v) => r.unmanifested = Some(v),
            LabelResult::CollectionForm(v) => r.collection_form = Some(v),
            LabelResult::CollectionForms(v) => r.collection_forms = Some(v),
        }
        r
    }

    /// A failure in `version`; an error code version 1 does not have is
    /// given as its nearest version 1 code ([`ErrorCode::in_version`]).
    pub fn failure(
        version: MessageVersion,
        operation: Option<OperationName>,
        request_id: Option<String>,
        mut error: LabelError,
    ) -> Self {
        error.code = error.code.in_version(version);
        let operation = operation.filter(|op| op.since() <= version);
        let mut r = Self::empty(version, operation, request_id, false);
        r.error = Some(error);
        r
    }

    fn empty(
        version: MessageVersion,
        operation: Option<OperationName>,
        request_id: Option<String>,
        ok: bool,
    ) -> Self {
        Self {
            schema: version,
            operation,
            ok,
            request_id,
            rates: None,
            label: None,
            documents: None,
            cancellation: None,
            tracking: None,
            additional_inputs: None,
            unmanifested: None,
            collection_form: None,
            collection_forms: None,
            error: None,
        }
    }

    /// The response as JSON, checked against `schemas/label-response.v1.json`.
    pub fn to_json(&self) -> Result<String, LabelContractError> {
        encode(Kind::Response, self)
    }

    /// Validates and decodes a response (the WMS side, tests).
    pub fn parse(body: &str) -> Result<LabelResponse, LabelContractError> {
        parse(Kind::Response, body)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// Bought for an Amazon order: Amazon marks the order shipped.
    Amazon,
    External,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub rate_id: String,
    pub carrier_id: String,
    pub carrier_name: String,
    pub service_id: String,
    pub service_name: String,
    pub price: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_window: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_window: Option<Window>,
    pub label_formats: Vec<LabelFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_time: Option<bool>,
    /// Version 2: the offer is bought only with `additional_inputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_additional_inputs: Option<bool>,
    /// Version 2: Amazon's JSON schema of those inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_inputs_schema: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IneligibleOffer {
    pub carrier_id: String,
    pub carrier_name: String,
    pub service_id: String,
    pub service_name: String,
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatesResult {
    pub request_token: String,
    pub expires_at: DateTime<Utc>,
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon_order_id: Option<AmazonOrderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_by: Option<DateTime<Utc>>,
    pub offers: Vec<Offer>,
    pub ineligible: Vec<IneligibleOffer>,
}

/// A label file (base64); it prints the ship-to address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    #[serde(rename = "type")]
    pub kind: String,
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpi: Option<u32>,
    pub content_base64: Pii<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelPackage {
    pub package_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    pub documents: Vec<Document>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchasedLabel {
    pub shipment_id: String,
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon_order_id: Option<AmazonOrderId>,
    /// The Amazon channel: Amazon marks the order shipped; the connector
    /// does not confirm this package again.
    pub shipment_confirmed_by_amazon: bool,
    pub rate_id: String,
    pub carrier_id: String,
    pub carrier_name: String,
    pub service_id: String,
    pub service_name: String,
    pub price: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_window: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_window: Option<Window>,
    pub purchased_at: DateTime<Utc>,
    /// The stored answer of an idempotency key used before: nothing bought now.
    pub replayed: bool,
    pub packages: Vec<LabelPackage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentsResult {
    pub shipment_id: String,
    pub package_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    pub documents: Vec<Document>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub shipment_id: String,
    pub cancelled_at: DateTime<Utc>,
    pub already_cancelled: bool,
}

/// Where a tracking event happened (a delivery is at the buyer's postal code).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    pub code: String,
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
    pub tracking_id: String,
    pub carrier_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_delivery_date: Option<DateTime<Utc>>,
    pub events: Vec<TrackingEvent>,
}

/// Version 2: the inputs an offer needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalInputsResult {
    pub request_token: String,
    pub rate_id: String,
    pub required: bool,
    /// Amazon's JSON schema (empty when nothing is needed).
    pub schema: Map<String, Value>,
}

/// Version 2: one ship-from address with parcels not yet on a form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanifestedLocation {
    pub ship_from: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_manifest_at: Option<DateTime<Utc>>,
}

/// Version 2: one carrier's addresses with parcels not yet on a form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanifestedCarrier {
    pub carrier_id: String,
    pub carrier_name: String,
    pub locations: Vec<UnmanifestedLocation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanifestedResult {
    pub carriers: Vec<UnmanifestedCarrier>,
}

/// Version 2: a collection form (the carrier's manifest), as a PDF.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFormResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_form_id: Option<String>,
    /// The carrier (known for a form made now or replayed, not for a reprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// The stored answer of an idempotency key used before: no new form.
    pub replayed: bool,
    pub documents: Vec<Document>,
}

/// Version 2: one form of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFormRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_form_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<Address>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFormsResult {
    pub forms: Vec<CollectionFormRecord>,
}

/// Why a label request failed (the response schema lists the codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidRequest,
    UnknownSeller,
    LabelsDisabled,
    UnknownOrder,
    OrderNotShippable,
    UnknownSku,
    RateTokenExpired,
    UnknownRateToken,
    UnknownRate,
    NoMatchingRate,
    UnsupportedLabelFormat,
    IdempotencyKeyReused,
    InProgress,
    UnknownShipment,
    NotCancellable,
    AmazonRejected,
    AmazonUnavailable,
    AuthorizationRevoked,
    Internal,
    /// Version 2 codes.
    AdditionalInputsRequired,
    AdditionalInputsInvalid,
    SerialNumbersInvalid,
    NothingToManifest,
    UnknownCollectionForm,
}

impl ErrorCode {
    /// The code as `version` has it: a version 2 code in a version 1
    /// response becomes the version 1 code nearest in meaning.
    pub fn in_version(self, version: MessageVersion) -> ErrorCode {
        if version >= MessageVersion::V2 {
            return self;
        }
        match self {
            ErrorCode::AdditionalInputsRequired => ErrorCode::NoMatchingRate,
            ErrorCode::AdditionalInputsInvalid | ErrorCode::SerialNumbersInvalid => {
                ErrorCode::InvalidRequest
            }
            ErrorCode::NothingToManifest | ErrorCode::UnknownCollectionForm => {
                ErrorCode::InvalidRequest
            }
            other => other,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelError {
    pub code: ErrorCode,
    /// What was wrong and what to do; never quotes buyer data.
    pub message: String,
    pub retryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon_request_id: Option<String>,
}

// ---- validation ----------------------------------------------------------------

/// The label contract's versions, oldest first.
pub const LABEL_VERSIONS: [u32; 2] = [1, 2];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Request,
    Response,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Request => "label request",
            Kind::Response => "label response",
        }
    }
}

/// One schema file: a kind in a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Schema(Kind, MessageVersion);

impl Schema {
    fn text(self) -> &'static str {
        match self {
            Schema(Kind::Request, MessageVersion::V1) => {
                include_str!("../schemas/label-request.v1.json")
            }
            Schema(Kind::Response, MessageVersion::V1) => {
                include_str!("../schemas/label-response.v1.json")
            }
            Schema(Kind::Request, MessageVersion::V2) => {
                include_str!("../schemas/label-request.v2.json")
            }
            Schema(Kind::Response, MessageVersion::V2) => {
                include_str!("../schemas/label-response.v2.json")
            }
        }
    }

    fn compiled(self) -> Result<&'static Validator, LabelContractError> {
        type Compiled = LazyLock<Result<Validator, String>>;
        static REQUEST_1: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Request, MessageVersion::V1)));
        static RESPONSE_1: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Response, MessageVersion::V1)));
        static REQUEST_2: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Request, MessageVersion::V2)));
        static RESPONSE_2: Compiled =
            LazyLock::new(|| compile(Schema(Kind::Response, MessageVersion::V2)));
        let compiled = match self {
            Schema(Kind::Request, MessageVersion::V1) => &*REQUEST_1,
            Schema(Kind::Response, MessageVersion::V1) => &*RESPONSE_1,
            Schema(Kind::Request, MessageVersion::V2) => &*REQUEST_2,
            Schema(Kind::Response, MessageVersion::V2) => &*RESPONSE_2,
        };
        compiled
            .as_ref()
            .map_err(|message| LabelContractError::SchemaUnavailable {
                what: self.0.what(),
                message: message.clone(),
            })
    }
}

/// The label schemas' texts (file name, JSON), for tests and tools.
pub fn label_schema_texts() -> [(&'static str, &'static str); 4] {
    [
        (
            "label-request.v1.json",
            Schema(Kind::Request, MessageVersion::V1).text(),
        ),
        (
            "label-response.v1.json",
            Schema(Kind::Response, MessageVersion::V1).text(),
        ),
        (
            "label-request.v2.json",
            Schema(Kind::Request, MessageVersion::V2).text(),
        ),
        (
            "label-response.v2.json",
            Schema(Kind::Response, MessageVersion::V2).text(),
        ),
    ]
}

fn compile(schema: Schema) -> Result<Validator, String> {
    let value: Value = serde_json::from_str(schema.text()).map_err(|e| format!("not JSON: {e}"))?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&value)
        .map_err(|e| e.to_string())
}

/// The version a message names: 1 when it names none (the schema then
/// says `schema` is required), an error for a number we do not read.
fn version_of(kind: Kind, value: &Value) -> Result<MessageVersion, LabelContractError> {
    match value.get("schema") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .and_then(MessageVersion::from_number)
            .ok_or_else(|| LabelContractError::UnsupportedVersion {
                what: kind.what(),
                found: n.to_string(),
            }),
        _ => Ok(MessageVersion::V1),
    }
}

/// Checks a JSON value against the request or response schema of the
/// version it names.
fn validate(kind: Kind, value: &Value) -> Result<(), LabelContractError> {
    let version = version_of(kind, value)?;
    if kind == Kind::Request
        && version == MessageVersion::V1
        && let Some(path) = newer_request_field(value)
    {
        return Err(LabelContractError::NewerField {
            what: kind.what(),
            path,
        });
    }
    let schema = Schema(kind, version);
    let mut violations: Vec<Violation> = schema
        .compiled()?
        .iter_errors(value)
        .map(|e| violation(&e))
        .collect();
    if violations.is_empty() {
        return Ok(());
    }
    violations.sort_by(|a, b| a.path.cmp(&b.path).then(a.rule.cmp(&b.rule)));
    violations.dedup();
    violations.truncate(MAX_VIOLATIONS);
    Err(LabelContractError::Invalid {
        what: kind.what(),
        violations,
    })
}

/// Validates a request against its schema (a JSON value already parsed).
pub fn validate_request(value: &Value) -> Result<(), LabelContractError> {
    validate(Kind::Request, value)
}

fn parse<T: DeserializeOwned>(schema: Kind, body: &str) -> Result<T, LabelContractError> {
    let value: Value = serde_json::from_str(body).map_err(|e| LabelContractError::NotJson {
        what: schema.what(),
        line: e.line(),
        column: e.column(),
    })?;
    validate(schema, &value)?;
    serde_path_to_error::deserialize(value).map_err(|e| LabelContractError::Invalid {
        what: schema.what(),
        violations: vec![Violation {
            path: pointer(&e.path().to_string()),
            rule: "does not fit the field's type or format (see the schema)".to_string(),
        }],
    })
}

fn encode<T: Serialize>(schema: Kind, message: &T) -> Result<String, LabelContractError> {
    let value = serde_json::to_value(message).map_err(|source| LabelContractError::Encode {
        what: schema.what(),
        source,
    })?;
    validate(schema, &value)?;
    serde_json::to_string(&value).map_err(|source| LabelContractError::Encode {
        what: schema.what(),
        source,
    })
}

/// `serde_path_to_error`'s dotted path (`shipment.packages[0].weight`) as a
/// JSON pointer (`/shipment/packages/0/weight`).
fn pointer(path: &str) -> String {
    if path.is_empty() || path == "." {
        return "/".to_string();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let (name, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out.push('/');
            out.push_str(name);
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(index.trim_end_matches(']'));
        }
    }
    out
}

fn names(keys: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    keys.into_iter()
        .map(|k| format!("`{}`", k.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A schema error as a rule about a field, without the field's value.
fn violation(error: &ValidationError<'_>) -> Violation {
    let at = error.instance_path().as_str();
    let path = if at.is_empty() {
        "/".to_string()
    } else {
        at.to_string()
    };
    let rule = |rule: String| Violation {
        path: path.clone(),
        rule,
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => Violation {
            path: format!("{at}/{}", property.as_str().unwrap_or_default()),
            rule: "is required".to_string(),
        },
        ValidationErrorKind::Type { kind } => rule(match kind {
            TypeKind::Single(t) => format!("must be of type {t}"),
            TypeKind::Multiple(ts) => format!(
                "must be one of the types {}",
                ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            ),
        }),
        ValidationErrorKind::Minimum { limit } => rule(format!("must be at least {limit}")),
        ValidationErrorKind::Maximum { limit } => rule(format!("must be at most {limit}")),
        ValidationErrorKind::MinLength { limit } => {
            rule(format!("must have at least {limit} character(s)"))
        }
        ValidationErrorKind::MaxLength { limit } => {
            rule(format!("must have at most {limit} characters"))
        }
        ValidationErrorKind::Pattern { pattern } => rule(match pattern.as_str() {
            "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$" => {
                "must be an idempotency key: 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit".to_string()
            }
            "^[0-9]{1,9}(\\.[0-9]{1,6})?$" => {
                "must be a non-negative decimal number written as a string, e.g. \"1.25\"".to_string()
            }
            other => crate::contract::pattern_rule(other),
        }),
        ValidationErrorKind::Format { format } if format == "date-time" => rule(
            "must be an RFC 3339 date-time with an offset, e.g. 2026-09-01T14:00:00Z".to_string(),
        ),
        ValidationErrorKind::Format { format } => rule(format!("must be a valid {format}")),
        ValidationErrorKind::Enum { options } => rule(format!("must be one of {options}")),
        ValidationErrorKind::Constant { expected_value } => {
            rule(format!("must be {expected_value}"))
        }
        ValidationErrorKind::MinItems { limit } => {
            rule(format!("must have at least {limit} item(s)"))
        }
        ValidationErrorKind::MaxItems { limit } => rule(format!("must have at most {limit} items")),
        ValidationErrorKind::AdditionalProperties { unexpected } => rule(format!(
            "has field(s) the contract does not define: {}",
            names(unexpected)
        )),
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::OneOfMultipleValid { .. }
            if at.ends_with("/shipment") =>
        {
            rule("needs exactly one of `order_number` (an Amazon order) and `ship_to`".to_string())
        }
        ValidationErrorKind::AnyOf { context } => {
            let missing: Vec<String> = context
                .iter()
                .flatten()
                .filter_map(|e| match e.kind() {
                    ValidationErrorKind::Required { property } => {
                        property.as_str().map(str::to_string)
                    }
                    _ => None,
                })
                .collect();
            if !missing.is_empty() {
                rule(format!("needs {}", names(&missing).replace("`, `", "` or `")))
            } else {
                rule("does not match any of the allowed shapes".to_string())
            }
        }
        _ => rule(error.masked_with("the value").to_string()),
    }
}

/// What is wrong with a label request or response. Messages name the field
/// and the rule, never a value.
#[derive(Debug, thiserror::Error)]
pub enum LabelContractError {
    #[error(
        "{what}: the body is not valid JSON (at line {line}, column {column}): send one UTF-8 JSON object (see shared/wms/CONTRACTS.md)"
    )]
    NotJson {
        what: &'static str,
        line: usize,
        column: usize,
    },
    #[error(
        "{what}: `/schema` is {found}, but this connector reads label contract versions 1 and 2: send \"schema\": 1 or 2 (see shared/wms/CONTRACTS.md)"
    )]
    UnsupportedVersion { what: &'static str, found: String },
    #[error(
        "{what}: `{path}` is part of label contract version 2, but the request says \"schema\": 1: send \"schema\": 2 (see shared/wms/CONTRACTS.md, \"Label contract version 2\")"
    )]
    NewerField { what: &'static str, path: String },
    #[error(
        "{what} breaks its schema: {}; fix the request and send it again (see shared/wms/CONTRACTS.md, \"Label request and response\")",
        violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; ")
    )]
    Invalid {
        what: &'static str,
        violations: Vec<Violation>,
    },
    #[error("{what}: could not be encoded as JSON: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{what}: the embedded JSON Schema does not compile ({message}); this is a bug in the wms crate"
    )]
    SchemaUnavailable { what: &'static str, message: String },
}

impl LabelContractError {
    /// Never: a contract error is about the message itself.
    pub fn is_retryable(&self) -> bool {
        false
    }

    pub fn violations(&self) -> &[Violation] {
        match self {
            LabelContractError::Invalid { violations, .. } => violations,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONTRACTS_MD: &str = include_str!("../CONTRACTS.md");

    /// The examples of CONTRACTS.md's label section: a line
    /// `<!-- example: label-request -->` (or `label-response`) before a
    /// ```json block.
    fn documented() -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let mut lines = CONTRACTS_MD.lines();
        while let Some(line) = lines.next() {
            let Some(tag) = line
                .strip_prefix("<!-- example: ")
                .and_then(|l| l.strip_suffix(" -->"))
            else {
                continue;
            };
            assert_eq!(
                lines.next(),
                Some("```json"),
                "{tag}: a ```json block follows"
            );
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            let value = serde_json::from_str(&body.join("\n"))
                .unwrap_or_else(|e| panic!("CONTRACTS.md {tag} example is not JSON: {e}"));
            out.push((tag.to_string(), value));
        }
        out
    }

    #[test]
    fn both_schemas_compile() {
        for (name, text) in label_schema_texts() {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                v["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{name}"
            );
        }
        for version in [MessageVersion::V1, MessageVersion::V2] {
            assert!(Schema(Kind::Request, version).compiled().is_ok());
            assert!(Schema(Kind::Response, version).compiled().is_ok());
        }
    }

    #[test]
    fn every_documented_example_is_valid_and_round_trips() {
        let examples = documented();
        let requests = examples
            .iter()
            .filter(|(t, _)| t == "label-request")
            .count();
        let responses = examples
            .iter()
            .filter(|(t, _)| t == "label-response")
            .count();
        assert!(
            requests >= 11,
            "one request example per operation, found {requests}"
        );
        assert!(responses >= 11, "response examples, found {responses}");
        let mut operations = std::collections::BTreeSet::new();
        for (tag, value) in examples {
            let text = value.to_string();
            let back: Value = match tag.as_str() {
                "label-request" => {
                    let r = LabelRequest::parse(&text)
                        .unwrap_or_else(|e| panic!("documented request refused: {e}\n{value:#}"));
                    operations.insert(r.operation.name());
                    serde_json::from_str(&r.to_json().unwrap()).unwrap()
                }
                "label-response" => {
                    let r = LabelResponse::parse(&text)
                        .unwrap_or_else(|e| panic!("documented response refused: {e}\n{value:#}"));
                    serde_json::from_str(&r.to_json().unwrap()).unwrap()
                }
                other => panic!("unknown example tag {other}"),
            };
            assert_eq!(back, value, "{tag}: nothing lost, nothing added");
        }
        assert_eq!(
            operations.len(),
            OperationName::ALL.len(),
            "every operation has an example"
        );
    }

    fn rates_request() -> Value {
        json!({
            "schema": 1, "operation": "rates", "client_code": "ACME",
            "shipment": {
                "order_number": "MG302-1234567-1234567",
                "ship_from": {"name": "Warehouse 1", "address_line1": "1 Dock Road", "city": "Leipzig",
                    "state_or_region": "SN", "postal_code": "04109", "country_code": "DE"},
                "packages": [{"package_id": "PKG-1", "weight": {"value": "1.25", "unit": "KILOGRAM"},
                    "dimensions": {"length": "30", "width": "20", "height": "10", "unit": "CENTIMETER"},
                    "items": [{"quantity": 1, "sku": "SKU-1"}]}]
            }
        })
    }

    #[test]
    fn errors_name_the_field_and_rule_never_the_value() {
        let mut v = rates_request();
        v["shipment"]["packages"][0]["weight"]["value"] = json!("heavy Jane Buyer");
        v["shipment"]["ship_to"] = v["shipment"]["ship_from"].clone();
        let err = LabelRequest::parse(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains("/shipment/packages/0/weight/value"), "{err}");
        assert!(err.contains("non-negative decimal"), "{err}");
        assert!(err.contains("exactly one of `order_number`"), "{err}");
        assert!(!err.contains("Jane"), "{err}");

        let purchase = json!({"schema": 1, "operation": "purchase", "seller_id": "A3EXAMPLESELLER",
            "idempotency_key": "bad key with spaces", "request_token": "RT", "label": {"format": "PDF"}});
        let err = LabelRequest::parse(&purchase.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/idempotency_key") && err.contains("idempotency key"),
            "{err}"
        );
        assert!(err.contains("`rate_id` or `select`"), "{err}");

        let no_seller = json!({"schema": 1, "operation": "cancel", "shipment_id": "1"});
        let err = LabelRequest::parse(&no_seller.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`seller_id` or `client_code`"), "{err}");

        let v3 = json!({"schema": 3, "operation": "cancel", "seller_id": "A3EXAMPLESELLER", "shipment_id": "1"});
        let err = LabelRequest::parse(&v3.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("versions 1 and 2"), "{err}");
        assert!(
            LabelRequest::parse("{")
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn the_order_number_gives_the_amazon_order_id() {
        let r = LabelRequest::parse(&rates_request().to_string()).unwrap();
        let LabelOperation::Rates(rates) = r.operation else {
            panic!("rates")
        };
        assert_eq!(
            rates.shipment.amazon_order_id("MG").unwrap().as_str(),
            "302-1234567-1234567"
        );
        assert_eq!(rates.shipment.amazon_order_id("XX"), None);
    }

    #[test]
    fn responses_are_checked_before_they_leave() {
        let ok_without_result =
            LabelResponse::empty(MessageVersion::V1, Some(OperationName::Rates), None, true);
        assert!(
            ok_without_result
                .to_json()
                .unwrap_err()
                .to_string()
                .contains("/rates")
        );
        let failure = LabelResponse::failure(
            MessageVersion::V1,
            None,
            Some("r-1".into()),
            LabelError {
                code: ErrorCode::InvalidRequest,
                message: "the body is not JSON".into(),
                retryable: false,
                hint: None,
                amazon_request_id: None,
            },
        );
        let text = failure.to_json().unwrap();
        assert_eq!(LabelResponse::parse(&text).unwrap(), failure);
    }

    #[test]
    fn version_2_is_a_superset_and_version_1_refuses_its_fields() {
        // Every version 1 request is a valid version 2 request.
        let mut v = rates_request();
        v["schema"] = json!(2);
        assert!(LabelRequest::parse(&v.to_string()).is_ok());
        // A version 2 field in a version 1 request is refused, by name.
        let mut serials = rates_request();
        serials["shipment"]["packages"][0]["items"][0]["serial_numbers"] = json!(["SN1"]);
        let err = LabelRequest::parse(&serials.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/shipment/packages/0/items/0/serial_numbers")
                && err.contains("send \"schema\": 2"),
            "{err}"
        );
        serials["schema"] = json!(2);
        let parsed = LabelRequest::parse(&serials.to_string()).unwrap();
        let LabelOperation::Rates(r) = parsed.operation else {
            panic!("rates")
        };
        assert_eq!(r.shipment.packages[0].items[0].serial_numbers, ["SN1"]);
        let close_out = json!({"schema": 1, "operation": "unmanifested", "client_code": "ACME"});
        let err = LabelRequest::parse(&close_out.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`/operation` is part of label contract version 2"),
            "{err}"
        );
        let inputs = json!({"schema": 1, "operation": "purchase", "client_code": "ACME",
            "idempotency_key": "K1", "request_token": "RT", "rate_id": "R",
            "label": {"format": "PDF"}, "additional_inputs": {"x": 1}});
        assert!(
            LabelRequest::parse(&inputs.to_string())
                .unwrap_err()
                .to_string()
                .contains("/additional_inputs")
        );
        // A collection form needs its key, carrier and address.
        let form = json!({"schema": 2, "operation": "collection_form", "client_code": "ACME", "carrier_id": "AMZN"});
        let err = LabelRequest::parse(&form.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/idempotency_key") && err.contains("/ship_from"),
            "{err}"
        );
    }

    #[test]
    fn version_2_error_codes_fall_back_in_version_1() {
        let error = LabelError {
            code: ErrorCode::AdditionalInputsRequired,
            message: "the offer needs additional inputs".into(),
            retryable: false,
            hint: None,
            amazon_request_id: None,
        };
        let v1 = LabelResponse::failure(
            MessageVersion::V1,
            Some(OperationName::Purchase),
            None,
            error.clone(),
        );
        assert_eq!(v1.error.as_ref().unwrap().code, ErrorCode::NoMatchingRate);
        assert!(v1.to_json().is_ok());
        let v2 = LabelResponse::failure(
            MessageVersion::V2,
            Some(OperationName::Purchase),
            None,
            error,
        );
        assert_eq!(
            v2.error.as_ref().unwrap().code,
            ErrorCode::AdditionalInputsRequired
        );
        assert!(v2.to_json().unwrap().contains("\"schema\":2"));
    }

    #[test]
    fn label_files_never_print() {
        let d = Document {
            kind: "LABEL".into(),
            format: "PDF".into(),
            dpi: None,
            content_base64: Pii::new("SmFuZSBCdXllcg==".into()),
        };
        assert!(!format!("{d:?}").contains("SmFu"));
    }
}
