//! The label contract (WMS ⇄ connector label function): a versioned request
//! (`schemas/label-request.v1.json`) with one of six operations — `rates`,
//! `purchase`, `one_click`, `documents`, `cancel`, `track` — and its
//! response (`schemas/label-response.v1.json`): `ok` with the part named
//! after the operation, or an `error` with a code, a message saying what to
//! do, and whether a retry can succeed.
//!
//! [`LabelRequest::parse`] checks the schema first, then decodes (a failure
//! names the field and the rule, never a value). [`LabelResponse::to_json`]
//! checks what we send against our own schema. Buyer data (the ship-to
//! address, label files, tracking locations) is [`Pii`].

use std::fmt;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, ClientCode, OrderItemId, Pii, SellerId, Sku};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Decimal, Money, SCHEMA_VERSION, SchemaVersion, Violation};

/// At most this many violations are reported for one message.
const MAX_VIOLATIONS: usize = 10;

// ---- request -----------------------------------------------------------------

/// One call of the label function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelRequest {
    pub schema: SchemaVersion,
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

/// The six operations, tagged by `operation`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum LabelOperation {
    Rates(RatesRequest),
    Purchase(PurchaseRequest),
    OneClick(OneClickRequest),
    Documents(DocumentsRequest),
    Cancel(CancelRequest),
    Track(TrackRequest),
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
}

impl OperationName {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationName::Rates => "rates",
            OperationName::Purchase => "purchase",
            OperationName::OneClick => "one_click",
            OperationName::Documents => "documents",
            OperationName::Cancel => "cancel",
            OperationName::Track => "track",
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneClickRequest {
    pub idempotency_key: String,
    pub shipment: ShipmentSpec,
    pub select: Selection,
    pub label: LabelSpec,
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
    /// Validates `body` against `schemas/label-request.v1.json`, then decodes it.
    pub fn parse(body: &str) -> Result<LabelRequest, LabelContractError> {
        parse(Schema::Request, body)
    }

    /// The request as JSON, checked against the schema (for the WMS side and tests).
    pub fn to_json(&self) -> Result<String, LabelContractError> {
        encode(Schema::Request, self)
    }
}

// ---- response ----------------------------------------------------------------

/// The answer to one [`LabelRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelResponse {
    pub schema: SchemaVersion,
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
}

impl LabelResponse {
    pub fn success(
        operation: OperationName,
        request_id: Option<String>,
        result: LabelResult,
    ) -> Self {
        let mut r = Self::empty(Some(operation), request_id, true);
        match result {
            LabelResult::Rates(v) => r.rates = Some(v),
            LabelResult::Label(v) => r.label = Some(v),
            LabelResult::Documents(v) => r.documents = Some(v),
            LabelResult::Cancellation(v) => r.cancellation = Some(v),
            LabelResult::Tracking(v) => r.tracking = Some(v),
        }
        r
    }

    pub fn failure(
        operation: Option<OperationName>,
        request_id: Option<String>,
        error: LabelError,
    ) -> Self {
        let mut r = Self::empty(operation, request_id, false);
        r.error = Some(error);
        r
    }

    fn empty(operation: Option<OperationName>, request_id: Option<String>, ok: bool) -> Self {
        Self {
            schema: SchemaVersion,
            operation,
            ok,
            request_id,
            rates: None,
            label: None,
            documents: None,
            cancellation: None,
            tracking: None,
            error: None,
        }
    }

    /// The response as JSON, checked against `schemas/label-response.v1.json`.
    pub fn to_json(&self) -> Result<String, LabelContractError> {
        encode(Schema::Response, self)
    }

    /// Validates and decodes a response (the WMS side, tests).
    pub fn parse(body: &str) -> Result<LabelResponse, LabelContractError> {
        parse(Schema::Response, body)
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Schema {
    Request,
    Response,
}

impl Schema {
    fn text(self) -> &'static str {
        match self {
            Schema::Request => include_str!("../schemas/label-request.v1.json"),
            Schema::Response => include_str!("../schemas/label-response.v1.json"),
        }
    }

    fn compiled(self) -> Result<&'static Validator, LabelContractError> {
        static REQUEST: LazyLock<Result<Validator, String>> =
            LazyLock::new(|| compile(Schema::Request));
        static RESPONSE: LazyLock<Result<Validator, String>> =
            LazyLock::new(|| compile(Schema::Response));
        let compiled = match self {
            Schema::Request => &*REQUEST,
            Schema::Response => &*RESPONSE,
        };
        compiled
            .as_ref()
            .map_err(|message| LabelContractError::SchemaUnavailable {
                what: self.what(),
                message: message.clone(),
            })
    }

    fn what(self) -> &'static str {
        match self {
            Schema::Request => "label request",
            Schema::Response => "label response",
        }
    }
}

/// The label schemas' texts (file name, JSON), for tests and tools.
pub fn label_schema_texts() -> [(&'static str, &'static str); 2] {
    [
        ("label-request.v1.json", Schema::Request.text()),
        ("label-response.v1.json", Schema::Response.text()),
    ]
}

fn compile(schema: Schema) -> Result<Validator, String> {
    let value: Value = serde_json::from_str(schema.text()).map_err(|e| format!("not JSON: {e}"))?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&value)
        .map_err(|e| e.to_string())
}

/// Checks a JSON value against the request or response schema.
fn validate(schema: Schema, value: &Value) -> Result<(), LabelContractError> {
    if let Some(Value::Number(n)) = value.get("schema")
        && n.as_u64() != Some(u64::from(SCHEMA_VERSION))
    {
        return Err(LabelContractError::UnsupportedVersion {
            what: schema.what(),
            found: n.to_string(),
        });
    }
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
        what: schema.what(),
        violations,
    })
}

/// Validates a request against its schema (a JSON value already parsed).
pub fn validate_request(value: &Value) -> Result<(), LabelContractError> {
    validate(Schema::Request, value)
}

fn parse<T: DeserializeOwned>(schema: Schema, body: &str) -> Result<T, LabelContractError> {
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

fn encode<T: Serialize>(schema: Schema, message: &T) -> Result<String, LabelContractError> {
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
        "{what}: `/schema` is {found}, but this connector reads only schema version 1: send \"schema\": 1 (see shared/wms/CONTRACTS.md)"
    )]
    UnsupportedVersion { what: &'static str, found: String },
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
        assert!(Schema::Request.compiled().is_ok());
        assert!(Schema::Response.compiled().is_ok());
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
            requests >= 6,
            "one request example per operation, found {requests}"
        );
        assert!(responses >= 6, "response examples, found {responses}");
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
        assert_eq!(operations.len(), 6, "every operation has an example");
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

        let v2 = json!({"schema": 2, "operation": "cancel", "seller_id": "A3EXAMPLESELLER", "shipment_id": "1"});
        let err = LabelRequest::parse(&v2.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema version 1"), "{err}");
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
        let ok_without_result = LabelResponse::empty(Some(OperationName::Rates), None, true);
        assert!(
            ok_without_result
                .to_json()
                .unwrap_err()
                .to_string()
                .contains("/rates")
        );
        let failure = LabelResponse::failure(
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
