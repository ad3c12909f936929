//! Amazon Shipping API v2 (`shippingV2.json`), close-out at the warehouse:
//! the request and response types of generateCollectionForm,
//! getCollectionFormHistory, getUnmanifestedShipments and getCollectionForm.
//! Unlike the other Shipping v2 answers these are **not** wrapped in
//! `{"payload": ...}` (the model's `*Response` definitions hold the fields
//! directly).
//!
//! A collection form (the carrier's manifest) is a PDF that lists the
//! parcels handed over; it is treated as buyer data ([`Pii`]) like a label.
//! The ship-from address is the warehouse's own.

use chrono::{DateTime, Utc};
use domain::Pii;
use serde::{Deserialize, Serialize};

use super::shipping::Address;

/// `ClientReferenceDetail`: `clientReferenceType` is `IntegratorShipperId`
/// or `IntegratorMerchantId`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientReferenceDetail {
    pub client_reference_type: String,
    pub client_reference_id: String,
}

/// `GenerateCollectionFormRequest` (`carrierId` required).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateCollectionFormRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_reference_details: Vec<ClientReferenceDetail>,
    pub carrier_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_address: Option<Address>,
}

/// `CollectionsFormDocument`: the form as a base64 PDF.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionsFormDocument {
    #[serde(default)]
    pub base64_encoded_content: Option<Pii<String>>,
    #[serde(default)]
    pub document_format: Option<String>,
}

/// `GenerateCollectionFormResponse` (also `GetCollectionFormResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionFormResponse {
    #[serde(default)]
    pub collections_form_document: Option<CollectionsFormDocument>,
}

/// `DateRange` (the model's format is `dateTime`: ISO 8601).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<DateTime<Utc>>,
}

/// `GetCollectionFormHistoryRequest` (every field optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCollectionFormHistoryRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_reference_details: Vec<ClientReferenceDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<DateRange>,
}

/// `CollectionFormsHistoryRecord`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionFormsHistoryRecord {
    #[serde(default)]
    pub carrier_name: Option<String>,
    #[serde(default)]
    pub creation_date: Option<DateTime<Utc>>,
    /// `Completed` or `InProgress`.
    #[serde(default)]
    pub generation_status: Option<String>,
    #[serde(default)]
    pub collection_form_id: Option<String>,
    #[serde(default)]
    pub ship_from_address: Option<Address>,
}

/// `GetCollectionFormHistoryResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCollectionFormHistoryResponse {
    #[serde(default)]
    pub collection_forms_history_record_list: Vec<CollectionFormsHistoryRecord>,
    #[serde(default)]
    pub last_refreshed_date: Option<String>,
}

/// `GetUnmanifestedShipmentsRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUnmanifestedShipmentsRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_reference_details: Vec<ClientReferenceDetail>,
}

/// `UnmanifestedShipmentLocation`: a ship-from address with parcels not
/// yet on a collection form.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmanifestedShipmentLocation {
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub last_manifest_date: Option<DateTime<Utc>>,
}

/// `UnmanifestedCarrierInformation`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmanifestedCarrierInformation {
    #[serde(default)]
    pub carrier_id: Option<String>,
    #[serde(default)]
    pub carrier_name: Option<String>,
    #[serde(default)]
    pub unmanifested_shipment_location_list: Vec<UnmanifestedShipmentLocation>,
}

/// `GetUnmanifestedShipmentsResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUnmanifestedShipmentsResponse {
    #[serde(default)]
    pub unmanifested_carrier_information_list: Vec<UnmanifestedCarrierInformation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_unwrapped_and_forms_never_print() {
        let form: CollectionFormResponse = serde_json::from_str(
            r#"{"collectionsFormDocument":{"base64EncodedContent":"SmFuZQ==","documentFormat":"PDF"}}"#,
        )
        .unwrap();
        let doc = form.collections_form_document.unwrap();
        assert_eq!(doc.document_format.as_deref(), Some("PDF"));
        assert!(!format!("{doc:?}").contains("SmFu"));
        let history: GetCollectionFormHistoryResponse = serde_json::from_str(
            r#"{"collectionFormsHistoryRecordList":[{"carrierName":"Amazon Shipping","creationDate":"2026-09-01T17:00:00Z","generationStatus":"Completed","collectionFormId":"CF1"}],"lastRefreshedDate":"2026-09-01T17:05:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            history.collection_forms_history_record_list[0]
                .collection_form_id
                .as_deref(),
            Some("CF1")
        );
        let request = GetCollectionFormHistoryRequest {
            carrier_id: Some("AMZN".into()),
            max_results: Some(10),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"carrierId": "AMZN", "maxResults": 10})
        );
    }
}
