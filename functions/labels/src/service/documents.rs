//! A bought label's files: `documents` (printed again, maybe in another
//! format), the files of a replayed purchase (stored, else Amazon's again),
//! and their decoding.

use base64::Engine;
use domain::Deadline;
use domain::settings::SellerSettings;
use spapi::SellerContext;
use spapi::models::shipping as amazon;
use spapi::ops::shipping::{Business, GetShipmentDocuments};
use wms::label::{Document, DocumentsRequest, DocumentsResult, LabelFormat};

use super::LabelService;
use crate::error::LabelError;
use crate::model::Purchase;

pub(super) fn document(d: &amazon::PackageDocument, dpi: Option<u32>) -> Document {
    Document {
        kind: d.kind.clone(),
        format: d.format.clone(),
        dpi,
        content_base64: d.contents.clone(),
    }
}

impl LabelService {
    pub(super) async fn documents(
        &self,
        seller: &SellerSettings,
        request: &DocumentsRequest,
        deadline: &Deadline,
    ) -> Result<DocumentsResult, LabelError> {
        let (_, purchase) = self.bought(seller, &request.shipment_id).await?;
        let package = match &request.package_id {
            Some(id) => purchase
                .packages
                .iter()
                .find(|p| &p.package_id == id)
                .ok_or_else(|| {
                    LabelError::Invalid(format!(
                        "package {id} is not in shipment {}: its packages are {}",
                        purchase.shipment_id,
                        purchase
                            .packages
                            .iter()
                            .map(|p| p.package_id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            None => purchase
                .packages
                .first()
                .ok_or_else(|| LabelError::Internal("a stored label without packages".into()))?,
        };
        let format = request.format.unwrap_or(purchase.format);
        if !purchase.rate.prints(format) {
            return Err(LabelError::UnsupportedLabelFormat(format!(
                "{} cannot print {} labels; it prints {}",
                purchase.rate.service_name,
                format.as_str(),
                purchase
                    .rate
                    .label_formats()
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let dpi = request.dpi.or(if format == purchase.format {
            purchase.dpi
        } else {
            None
        });
        let (tracking, documents) = self
            .fetch_documents(
                seller,
                &purchase,
                &package.package_id,
                format,
                dpi,
                deadline,
            )
            .await?;
        Ok(DocumentsResult {
            shipment_id: purchase.shipment_id.clone(),
            package_id: package.package_id.clone(),
            tracking_id: tracking.or_else(|| package.tracking_id.clone()),
            documents,
        })
    }

    /// The files of a replayed purchase: stored ones, else Amazon's again.
    pub(super) async fn replay_documents(
        &self,
        seller: &SellerSettings,
        purchase: &Purchase,
        deadline: &Deadline,
    ) -> Result<Vec<(String, Vec<Document>)>, LabelError> {
        if purchase.documents_stored {
            let stored = self
                .labels
                .get_documents(&seller.seller_id, &purchase.shipment_id)
                .await?;
            if !stored.is_empty() {
                return Ok(purchase
                    .packages
                    .iter()
                    .map(|p| {
                        (
                            p.package_id.clone(),
                            stored
                                .iter()
                                .filter(|d| d.package_id == p.package_id)
                                .map(|d| Document {
                                    kind: d.doc_type.clone(),
                                    format: d.format.clone(),
                                    dpi: purchase.dpi,
                                    content_base64: d.contents.clone(),
                                })
                                .collect(),
                        )
                    })
                    .collect());
            }
        }
        let mut out = Vec::new();
        for p in &purchase.packages {
            let docs = self
                .fetch_documents(
                    seller,
                    purchase,
                    &p.package_id,
                    purchase.format,
                    purchase.dpi,
                    deadline,
                )
                .await?;
            out.push((p.package_id.clone(), docs.1));
        }
        Ok(out)
    }

    pub(super) async fn fetch_documents(
        &self,
        seller: &SellerSettings,
        purchase: &Purchase,
        package_id: &str,
        format: LabelFormat,
        dpi: Option<u32>,
        deadline: &Deadline,
    ) -> Result<(Option<String>, Vec<Document>), LabelError> {
        let call = GetShipmentDocuments {
            shipment_id: purchase.shipment_id.clone(),
            package_client_reference_id: package_id.to_string(),
            format: amazon::DocumentFormat::parse(format.as_str()),
            dpi,
            business: Business::for_marketplace(&purchase.marketplace_id),
        };
        let answer = self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?
            .payload;
        let detail = answer.package_document_detail;
        Ok((
            detail.tracking_id.clone(),
            detail
                .package_documents
                .iter()
                .map(|d| document(d, dpi))
                .collect(),
        ))
    }
}

/// Decodes a label file (tests and the demo write it to disk).
pub fn decode_document(d: &Document) -> Result<Vec<u8>, LabelError> {
    base64::engine::general_purpose::STANDARD
        .decode(d.content_base64.expose().as_bytes())
        .map_err(|e| LabelError::Internal(format!("label file is not base64: {e}")))
}
