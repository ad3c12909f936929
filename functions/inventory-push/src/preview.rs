//! A dry run of the stock push (the go-live check's "stock" step): the
//! quantities the push would publish (the seller's mode, buffer and SKU
//! mapping: [`crate::plan::desired`]) against what Amazon's listings offer
//! on the seller's channel right now, read with the reconciliation's scan.
//! Nothing is pushed, nothing recorded. A first push after go-live sends
//! every SKU (a full resync); these are the ones whose Amazon quantity it
//! would change.

use serde::{Deserialize, Serialize};

use crate::error::PushError;
use crate::plan::desired;
use crate::push::Pusher;
use crate::skus::SkuReport;
use domain::Deadline;

/// One SKU whose Amazon quantity the push would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChange {
    /// The Amazon seller SKU (after the mapping).
    pub sku: String,
    /// What Amazon offers now on the seller's channel (`None`: no quantity).
    pub amazon: Option<u32>,
    pub would_push: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockPreview {
    pub seller_id: String,
    pub marketplaces: Vec<String>,
    /// Quantities the push would publish (WMS SKUs with a valid Amazon SKU).
    pub wms_skus: usize,
    pub would_change: Vec<StockChange>,
    /// Already what Amazon offers.
    pub unchanged: usize,
    /// Amazon SKUs (after mapping) with no merchant-fulfilled listing that
    /// the scan saw: Amazon would refuse their quantities.
    pub not_listed: Vec<String>,
    /// WMS SKUs whose mapped Amazon SKU is not a valid SKU.
    pub invalid_mappings: Vec<String>,
    /// The SKU reconciliation of the same reads.
    pub skus: SkuReport,
}

impl Pusher {
    /// What a push would change on Amazon now (see the module).
    pub async fn preview_stock(
        &self,
        seller_id: &str,
        deadline: &Deadline,
    ) -> Result<StockPreview, PushError> {
        let g = self.gather(seller_id, deadline).await?;
        let wanted = desired(&g.items, &g.settings.inventory);
        let mut preview = StockPreview {
            seller_id: seller_id.to_string(),
            marketplaces: g.markets.iter().map(|m| m.to_string()).collect(),
            wms_skus: wanted.quantities.len(),
            would_change: Vec::new(),
            unchanged: 0,
            not_listed: Vec::new(),
            invalid_mappings: wanted.invalid_mappings.clone(),
            skus: g.report(),
        };
        for (sku, &quantity) in &wanted.quantities {
            match g.scan.listings.get(sku) {
                Some(f) if f.merchant_fulfilled && f.quantity == Some(quantity) => {
                    preview.unchanged += 1
                }
                Some(f) if f.merchant_fulfilled => preview.would_change.push(StockChange {
                    sku: sku.clone(),
                    amazon: f.quantity,
                    would_push: quantity,
                }),
                // FBA-only, or not seen (when the scan was whole: not listed).
                Some(_) => preview.not_listed.push(sku.clone()),
                None if g.scan.complete => preview.not_listed.push(sku.clone()),
                None => {}
            }
        }
        Ok(preview)
    }
}
