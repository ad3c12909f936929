//! The label response's types: the result of each operation, or an error
//! with its code (the shape of `schemas/label-response.v1.json`, `.v2.json`).

// Look-alikes of spapi's Shipping v2 types: these follow the WMS schemas, not Amazon's model.

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, Pii};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::request::{Address, LabelFormat, OperationName};
use crate::{MessageVersion, Money};

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

    pub(super) fn empty(
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

// LabelPackage plus shipment_id: the documents answer's own shape in the label-response schemas.
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
