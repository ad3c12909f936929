//! Amazon Shipping API v2: getRates, purchaseShipment, oneClickShipment,
//! cancelShipment, getTracking, getShipmentDocuments, getAdditionalInputs
//! (the collection forms are in [`super::collection_forms`]). Every call carries the
//! seller's `x-amzn-shipping-business-id` when its marketplace has one
//! ([`shipping_business_id`]); a purchase carries `x-amzn-IdempotencyKey`,
//! which is what makes it safe for the client to retry after a 5xx or a lost
//! answer (Amazon recognises the retry and returns the same shipment).
//!
//! Each operation spells its `Call` out (path, method, body, headers, its
//! checks): they look alike by design and differ in exactly those; what they
//! share is already one function (`body`, `check_packages`, `Business`).

use domain::Operation;

use crate::call::{Call, Method, encode_path_segment};
use crate::models::shipping::{
    CancelShipmentResponse, ChannelType, DocumentFormat, GetAdditionalInputsResponse,
    GetRatesRequest, GetRatesResponse, GetShipmentDocumentsResponse, GetTrackingResponse,
    OneClickShipmentRequest, OneClickShipmentResponse, Package, PurchaseShipmentRequest,
    PurchaseShipmentResponse, shipping_business_id,
};

pub const BUSINESS_ID_HEADER: &str = "x-amzn-shipping-business-id";

/// The `x-amzn-shipping-business-id` to send for a marketplace (none where
/// the model has no value for it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Business(pub Option<&'static str>);

impl Business {
    pub fn for_marketplace(marketplace_id: &str) -> Self {
        Self(shipping_business_id(marketplace_id))
    }

    /// The header to send, if any.
    pub fn headers(self) -> Vec<(&'static str, String)> {
        self.0
            .map(|id| vec![(BUSINESS_ID_HEADER, id.to_string())])
            .unwrap_or_default()
    }
}

pub(crate) fn body<T: serde::Serialize>(value: &T) -> Option<serde_json::Value> {
    // Our request types always serialise (no maps with non-string keys).
    serde_json::to_value(value).ok()
}

fn check_packages(
    packages: &[Package],
    channel: ChannelType,
    has_order: bool,
) -> Result<(), String> {
    if packages.is_empty() {
        return Err("at least one package is required".into());
    }
    let mut ids: Vec<&str> = packages
        .iter()
        .map(|p| p.package_client_reference_id.as_str())
        .collect();
    if ids.iter().any(|id| id.is_empty()) {
        return Err("every package needs a packageClientReferenceId".into());
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != packages.len() {
        return Err("packageClientReferenceId must be unique per package".into());
    }
    if packages.iter().any(|p| p.items.is_empty()) {
        return Err("every package needs at least one item".into());
    }
    if channel == ChannelType::Amazon && !has_order {
        return Err("channel AMAZON needs amazonOrderDetails.orderId".into());
    }
    Ok(())
}

/// `POST /shipping/v2/shipments/rates`.
#[derive(Clone, Debug)]
pub struct GetRates {
    pub request: GetRatesRequest,
    pub business: Business,
}

impl Call for GetRates {
    type Output = GetRatesResponse;
    const OPERATION: Operation = Operation::GetRates;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        "/shipping/v2/shipments/rates".into()
    }

    fn body(&self) -> Option<serde_json::Value> {
        body(&self.request)
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        let channel = &self.request.channel_details;
        check_packages(
            &self.request.packages,
            channel.channel_type,
            channel.amazon_order_details.is_some(),
        )?;
        if channel.channel_type == ChannelType::External && self.request.ship_to.is_none() {
            return Err("channel EXTERNAL needs a shipTo address".into());
        }
        Ok(())
    }
}

/// `POST /shipping/v2/shipments` with `x-amzn-IdempotencyKey`.
#[derive(Clone, Debug)]
pub struct PurchaseShipment {
    pub request: PurchaseShipmentRequest,
    /// Required here (the model makes it optional): without it a retried
    /// purchase could pay twice.
    pub idempotency_key: String,
    pub business: Business,
}

impl Call for PurchaseShipment {
    type Output = PurchaseShipmentResponse;
    const OPERATION: Operation = Operation::PurchaseShipment;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        "/shipping/v2/shipments".into()
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
            return Err("an idempotency key is required for a purchase".into());
        }
        if self.request.request_token.is_empty() || self.request.rate_id.is_empty() {
            return Err("requestToken and rateId are required".into());
        }
        Ok(())
    }
}

/// `POST /shipping/v2/oneClickShipment`. The model gives this operation no
/// idempotency key, so the client never retries it after a 5xx or a lost
/// answer (it may have bought a label): the caller decides.
#[derive(Clone, Debug)]
pub struct OneClickShipment {
    pub request: OneClickShipmentRequest,
    pub business: Business,
}

impl Call for OneClickShipment {
    type Output = OneClickShipmentResponse;
    const OPERATION: Operation = Operation::OneClickShipment;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        "/shipping/v2/oneClickShipment".into()
    }

    fn body(&self) -> Option<serde_json::Value> {
        body(&self.request)
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        let channel = &self.request.channel_details;
        check_packages(
            &self.request.packages,
            channel.channel_type,
            channel.amazon_order_details.is_some(),
        )?;
        if self.request.service_selection.service_id.is_empty() {
            return Err("serviceSelection.serviceId needs at least one service".into());
        }
        Ok(())
    }
}

/// `PUT /shipping/v2/shipments/{shipmentId}/cancel`.
#[derive(Clone, Debug)]
pub struct CancelShipment {
    pub shipment_id: String,
    pub business: Business,
}

impl Call for CancelShipment {
    type Output = CancelShipmentResponse;
    const OPERATION: Operation = Operation::CancelShipment;
    const METHOD: Method = Method::Put;

    fn path(&self) -> String {
        format!(
            "/shipping/v2/shipments/{}/cancel",
            encode_path_segment(&self.shipment_id)
        )
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        if self.shipment_id.is_empty() {
            return Err("shipmentId is required".into());
        }
        Ok(())
    }
}

/// `GET /shipping/v2/tracking?trackingId=&carrierId=`.
#[derive(Clone, Debug)]
pub struct GetTracking {
    pub tracking_id: String,
    pub carrier_id: String,
    pub business: Business,
}

impl Call for GetTracking {
    type Output = GetTrackingResponse;
    const OPERATION: Operation = Operation::GetTracking;

    fn path(&self) -> String {
        "/shipping/v2/tracking".into()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("trackingId", self.tracking_id.clone()),
            ("carrierId", self.carrier_id.clone()),
        ]
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        if self.tracking_id.is_empty() || self.carrier_id.is_empty() {
            return Err("trackingId and carrierId are required".into());
        }
        Ok(())
    }
}

/// `GET /shipping/v2/shipments/{shipmentId}/documents`: a label again
/// (reprint), in another format or dpi if asked.
#[derive(Clone, Debug)]
pub struct GetShipmentDocuments {
    pub shipment_id: String,
    pub package_client_reference_id: String,
    pub format: Option<DocumentFormat>,
    pub dpi: Option<u32>,
    pub business: Business,
}

impl Call for GetShipmentDocuments {
    type Output = GetShipmentDocumentsResponse;
    const OPERATION: Operation = Operation::GetShipmentDocuments;

    fn path(&self) -> String {
        format!(
            "/shipping/v2/shipments/{}/documents",
            encode_path_segment(&self.shipment_id)
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![(
            "packageClientReferenceId",
            self.package_client_reference_id.clone(),
        )];
        if let Some(f) = self.format {
            q.push(("format", f.as_str().to_string()));
        }
        if let Some(dpi) = self.dpi {
            q.push(("dpi", dpi.to_string()));
        }
        q
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        if self.shipment_id.is_empty() || self.package_client_reference_id.is_empty() {
            return Err("shipmentId and packageClientReferenceId are required".into());
        }
        Ok(())
    }
}

/// `GET /shipping/v2/shipments/additionalInputs/schema?requestToken=&rateId=`:
/// the JSON schema of the inputs a rate with `requiresAdditionalInputs`
/// needs (customs, dangerous goods declarations, ...).
#[derive(Clone, Debug)]
pub struct GetAdditionalInputs {
    pub request_token: String,
    pub rate_id: String,
    pub business: Business,
}

impl Call for GetAdditionalInputs {
    type Output = GetAdditionalInputsResponse;
    const OPERATION: Operation = Operation::GetAdditionalInputs;

    fn path(&self) -> String {
        "/shipping/v2/shipments/additionalInputs/schema".into()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("requestToken", self.request_token.clone()),
            ("rateId", self.rate_id.clone()),
        ]
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        self.business.headers()
    }

    fn validate(&self) -> Result<(), String> {
        if self.request_token.is_empty() || self.rate_id.is_empty() {
            return Err("requestToken and rateId are required".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::shipping::{
        Address, ChannelDetails, Currency, Decimal, Dimensions, DocumentSize, DocumentType, Item,
        RequestedDocumentSpecification, Weight,
    };
    use domain::Pii;

    fn d(s: &str) -> Decimal {
        Decimal::new(s).unwrap()
    }

    fn address() -> Address {
        Address {
            name: Pii::new("Warehouse 1".into()),
            address_line1: Pii::new("1 Dock Road".into()),
            address_line2: None,
            address_line3: None,
            company_name: None,
            state_or_region: Pii::new("Berlin".into()),
            city: Pii::new("Berlin".into()),
            country_code: "DE".into(),
            postal_code: Pii::new("10115".into()),
            email: None,
            phone_number: None,
        }
    }

    fn package(id: &str) -> Package {
        Package {
            dimensions: Dimensions {
                length: d("30"),
                width: d("20"),
                height: d("10"),
                unit: "CENTIMETER".into(),
            },
            weight: Weight {
                unit: "KILOGRAM".into(),
                value: d("1.25"),
            },
            insured_value: Currency {
                value: d("0"),
                unit: "EUR".into(),
            },
            package_client_reference_id: id.into(),
            items: vec![Item {
                quantity: 1,
                item_value: None,
                description: None,
                item_identifier: Some("12345678901234".into()),
                weight: None,
                serial_numbers: Vec::new(),
            }],
        }
    }

    #[test]
    fn rates_body_follows_the_model_and_sends_the_business_id() {
        let call = GetRates {
            request: GetRatesRequest {
                ship_to: None,
                ship_from: address(),
                return_to: None,
                ship_date: None,
                packages: vec![package("P1")],
                channel_details: ChannelDetails::amazon("302-1234567-1234567"),
            },
            business: Business::for_marketplace("A1F83G8C2ARO7P"),
        };
        assert!(call.validate().is_ok());
        let body = call.body().unwrap();
        assert_eq!(body["channelDetails"]["channelType"], "AMAZON");
        assert_eq!(
            body["channelDetails"]["amazonOrderDetails"]["orderId"],
            "302-1234567-1234567"
        );
        assert_eq!(body["packages"][0]["weight"]["value"], 1.25);
        assert_eq!(body["packages"][0]["packageClientReferenceId"], "P1");
        assert!(body.get("shipTo").is_none());
        assert_eq!(
            call.headers(),
            vec![(BUSINESS_ID_HEADER, "AmazonShipping_UK".to_string())]
        );
        // Amazon.de: no business id in the model, so no header.
        assert!(
            Business::for_marketplace("A1PA6795UKMFR9")
                .headers()
                .is_empty()
        );
    }

    #[test]
    fn bad_requests_are_refused_before_they_cost_quota() {
        let mut call = GetRates {
            request: GetRatesRequest {
                ship_to: None,
                ship_from: address(),
                return_to: None,
                ship_date: None,
                packages: vec![package("P1"), package("P1")],
                channel_details: ChannelDetails::amazon("302-1234567-1234567"),
            },
            business: Business::default(),
        };
        assert!(call.validate().unwrap_err().contains("unique"));
        call.request.packages = vec![package("P1")];
        call.request.channel_details = ChannelDetails::external();
        assert!(call.validate().unwrap_err().contains("shipTo"));
        let purchase = PurchaseShipment {
            request: PurchaseShipmentRequest {
                request_token: "t".into(),
                rate_id: "r".into(),
                requested_document_specification: RequestedDocumentSpecification {
                    format: DocumentFormat::Zpl,
                    size: DocumentSize {
                        width: d("4"),
                        length: d("6"),
                        unit: "INCH".into(),
                    },
                    dpi: Some(203),
                    page_layout: None,
                    need_file_joining: false,
                    requested_document_types: vec![DocumentType::Label],
                },
                additional_inputs: None,
            },
            idempotency_key: " ".into(),
            business: Business::default(),
        };
        assert!(purchase.validate().unwrap_err().contains("idempotency"));
        assert_eq!(
            purchase.body().unwrap()["requestedDocumentSpecification"]["requestedDocumentTypes"],
            serde_json::json!(["LABEL"])
        );
    }

    #[test]
    fn paths_and_queries() {
        let docs = GetShipmentDocuments {
            shipment_id: "sh/1".into(),
            package_client_reference_id: "P1".into(),
            format: Some(DocumentFormat::Png),
            dpi: Some(300),
            business: Business::default(),
        };
        assert_eq!(docs.path(), "/shipping/v2/shipments/sh%2F1/documents");
        assert_eq!(
            docs.query(),
            vec![
                ("packageClientReferenceId", "P1".to_string()),
                ("format", "PNG".to_string()),
                ("dpi", "300".to_string())
            ]
        );
        let cancel = CancelShipment {
            shipment_id: "123".into(),
            business: Business::default(),
        };
        assert_eq!(cancel.path(), "/shipping/v2/shipments/123/cancel");
        assert_eq!(CancelShipment::METHOD, Method::Put);
        let track = GetTracking {
            tracking_id: "T1".into(),
            carrier_id: "AMZN".into(),
            business: Business::default(),
        };
        assert_eq!(
            track.query(),
            vec![
                ("trackingId", "T1".to_string()),
                ("carrierId", "AMZN".to_string())
            ]
        );
        let inputs = GetAdditionalInputs {
            request_token: "RT1".into(),
            rate_id: "R1".into(),
            business: Business::for_marketplace("A1F83G8C2ARO7P"),
        };
        assert_eq!(
            inputs.path(),
            "/shipping/v2/shipments/additionalInputs/schema"
        );
        assert_eq!(
            inputs.query(),
            vec![
                ("requestToken", "RT1".to_string()),
                ("rateId", "R1".to_string())
            ]
        );
        assert!(
            GetAdditionalInputs {
                rate_id: String::new(),
                ..inputs
            }
            .validate()
            .is_err()
        );
    }
}
