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
//! ship-to address, label files, tracking locations) is [`Pii`](domain::Pii).
//!
//! Where things are: the request's types in `request`, the response's in
//! `response`, schema checking and decoding in `validate`, the error in
//! `errors`.

mod errors;
mod request;
mod response;
mod validate;

pub use errors::LabelContractError;
pub use request::{
    AdditionalInputsRequest, Address, CancelRequest, CollectionFormHistoryRequest,
    CollectionFormReprintRequest, CollectionFormRequest, Dimensions, DocumentsRequest, ItemSpec,
    LabelFormat, LabelOperation, LabelRequest, LabelSize, LabelSpec, LengthUnit, OneClickRequest,
    OperationName, PackageSpec, PurchaseRequest, RatesRequest, SelectRule, Selection, ShipmentSpec,
    TrackRequest, UnmanifestedRequest, Weight, WeightUnit,
};
pub use response::{
    AdditionalInputsResult, Cancellation, Channel, CollectionFormRecord, CollectionFormResult,
    CollectionFormsResult, Document, DocumentsResult, ErrorCode, IneligibleOffer, LabelError,
    LabelPackage, LabelResponse, LabelResult, Location, Offer, PurchasedLabel, RatesResult, Reason,
    Tracking, TrackingEvent, UnmanifestedCarrier, UnmanifestedLocation, UnmanifestedResult, Window,
};
pub use validate::{LABEL_VERSIONS, label_schema_texts, validate_request};

#[cfg(test)]
mod tests;
