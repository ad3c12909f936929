//! Amazon Shipping API v2, end of day at the warehouse: the parcels not yet
//! on a carrier's manifest per ship-from address (`getUnmanifestedShipments`),
//! the manifest itself (`generateCollectionForm`, with
//! `x-amzn-IdempotencyKey`, so a retried call is the same form), its history
//! (`getCollectionFormHistory`) and a reprint (`getCollectionForm`). Every
//! call carries the marketplace's `x-amzn-shipping-business-id`.
//!
//! Each operation spells its `Call` out, like those of `shipping`: they look
//! alike by design and differ in path, method, body and checks.

use domain::Operation;

use crate::call::{Call, Method, encode_path_segment};
use crate::models::collection_forms::{
    CollectionFormResponse, GenerateCollectionFormRequest, GetCollectionFormHistoryRequest,
    GetCollectionFormHistoryResponse, GetUnmanifestedShipmentsRequest,
    GetUnmanifestedShipmentsResponse,
};
use crate::ops::shipping::{Business, body};

/// `POST /shipping/v2/collectionForms` with `x-amzn-IdempotencyKey`.
#[derive(Clone, Debug)]
pub struct GenerateCollectionForm {
    pub request: GenerateCollectionFormRequest,
    /// Required here (the model makes it optional): a retried call must not
    /// manifest twice.
    pub idempotency_key: String,
    pub business: Business,
}

impl Call for GenerateCollectionForm {
    type Output = CollectionFormResponse;
    const OPERATION: Operation = Operation::GenerateCollectionForm;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        "/shipping/v2/collectionForms".into()
    }

    fn body(&self) -> Option<serde_json::Value> {
        body(&self.request)
    }

    fn idempotency_key(&self) -> Option<&str> {
        Some(&self.idempotency_key)
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        if self.idempotency_key.trim().is_empty() {
            return Err("an idempotency key is required for a collection form".into());
        }
        if self.request.carrier_id.is_empty() {
            return Err("carrierId is required".into());
        }
        Ok(())
    }
}

/// `PUT /shipping/v2/collectionForms/history` (a read with a body).
#[derive(Clone, Debug)]
pub struct GetCollectionFormHistory {
    pub request: GetCollectionFormHistoryRequest,
    pub business: Business,
}

impl Call for GetCollectionFormHistory {
    type Output = GetCollectionFormHistoryResponse;
    const OPERATION: Operation = Operation::GetCollectionFormHistory;
    const METHOD: Method = Method::Put;

    fn path(&self) -> String {
        "/shipping/v2/collectionForms/history".into()
    }

    fn body(&self) -> Option<serde_json::Value> {
        body(&self.request)
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(range) = &self.request.date_range
            && let (Some(start), Some(end)) = (range.start_date, range.end_date)
            && start > end
        {
            return Err("dateRange.startDate is after its endDate".into());
        }
        Ok(())
    }
}

/// `PUT /shipping/v2/unmanifestedShipments` (a read with a body).
#[derive(Clone, Debug, Default)]
pub struct GetUnmanifestedShipments {
    pub request: GetUnmanifestedShipmentsRequest,
    pub business: Business,
}

impl Call for GetUnmanifestedShipments {
    type Output = GetUnmanifestedShipmentsResponse;
    const OPERATION: Operation = Operation::GetUnmanifestedShipments;
    const METHOD: Method = Method::Put;

    fn path(&self) -> String {
        "/shipping/v2/unmanifestedShipments".into()
    }

    fn body(&self) -> Option<serde_json::Value> {
        body(&self.request)
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }
}

/// `GET /shipping/v2/collectionForms/{collectionFormId}`: a reprint.
#[derive(Clone, Debug)]
pub struct GetCollectionForm {
    pub collection_form_id: String,
    pub business: Business,
}

impl Call for GetCollectionForm {
    type Output = CollectionFormResponse;
    const OPERATION: Operation = Operation::GetCollectionForm;

    fn path(&self) -> String {
        format!(
            "/shipping/v2/collectionForms/{}",
            encode_path_segment(&self.collection_form_id)
        )
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        if self.collection_form_id.is_empty() {
            return Err("collectionFormId is required".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_the_model() {
        let generate = GenerateCollectionForm {
            request: GenerateCollectionFormRequest {
                client_reference_details: Vec::new(),
                carrier_id: "AMZN".into(),
                ship_from_address: None,
            },
            idempotency_key: "close-2026-09-01".into(),
            business: Business::for_marketplace("A1F83G8C2ARO7P"),
        };
        assert!(generate.validate().is_ok());
        assert_eq!(
            generate.body().unwrap(),
            serde_json::json!({"carrierId": "AMZN"})
        );
        assert_eq!(generate.idempotency_key(), Some("close-2026-09-01"));
        assert_eq!(GenerateCollectionForm::METHOD, Method::Post);
        assert!(
            GenerateCollectionForm {
                idempotency_key: " ".into(),
                ..generate.clone()
            }
            .validate()
            .is_err()
        );
        assert_eq!(GetCollectionFormHistory::METHOD, Method::Put);
        assert_eq!(GetUnmanifestedShipments::METHOD, Method::Put);
        assert_eq!(
            GetUnmanifestedShipments::default().body().unwrap(),
            serde_json::json!({})
        );
        let reprint = GetCollectionForm {
            collection_form_id: "CF/1".into(),
            business: Business::default(),
        };
        assert_eq!(reprint.path(), "/shipping/v2/collectionForms/CF%2F1");
    }
}
