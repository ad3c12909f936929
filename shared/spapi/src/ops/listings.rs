//! Listings Items API v2021-08-01: `patchListingsItem`, `getListingsItem`.

use domain::{MarketplaceId, Operation, SellerId, Sku};

use crate::call::{Call, Method, csv, encode_path_segment};
use crate::models::listings::{
    Item, ListingsItemPatchRequest, ListingsItemSubmissionResponse, PRODUCT, PatchOperation,
};

/// `PATCH /listings/2021-08-01/items/{sellerId}/{sku}`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchListingsItem {
    /// The merchant token (`selling_partner_id` of the consent).
    pub seller_id: SellerId,
    pub sku: Sku,
    pub marketplace_ids: Vec<MarketplaceId>,
    pub body: ListingsItemPatchRequest,
    /// `mode=VALIDATION_PREVIEW`: checked, not applied (answer `VALID`/`INVALID`).
    pub validation_preview: bool,
    /// `includedData=issues` is Amazon's default; kept explicit.
    pub include_issues: bool,
}

impl PatchListingsItem {
    /// The quantity patch for one SKU on one fulfilment channel.
    pub fn set_quantity(
        seller_id: SellerId,
        sku: Sku,
        marketplace_ids: Vec<MarketplaceId>,
        channel: &str,
        quantity: u32,
    ) -> Self {
        Self {
            seller_id,
            sku,
            marketplace_ids,
            body: ListingsItemPatchRequest {
                product_type: PRODUCT.to_string(),
                patches: vec![PatchOperation::set_quantity(channel, quantity)],
            },
            validation_preview: false,
            include_issues: true,
        }
    }
}

impl Call for PatchListingsItem {
    type Output = ListingsItemSubmissionResponse;
    const OPERATION: Operation = Operation::PatchListingsItem;
    const METHOD: Method = Method::Patch;

    fn path(&self) -> String {
        format!(
            "/listings/2021-08-01/items/{}/{}",
            encode_path_segment(self.seller_id.as_str()),
            encode_path_segment(self.sku.as_str())
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![(
            "marketplaceIds",
            csv(self.marketplace_ids.iter().map(|m| m.as_str())),
        )];
        if self.include_issues {
            q.push(("includedData", "issues".to_string()));
        }
        if self.validation_preview {
            q.push(("mode", "VALIDATION_PREVIEW".to_string()));
        }
        q
    }

    fn body(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.body).ok()
    }

    fn validate(&self) -> Result<(), String> {
        if self.marketplace_ids.is_empty() {
            return Err("marketplaceIds is required".to_string());
        }
        if self.body.patches.is_empty() {
            return Err("a patch request needs at least one patch".to_string());
        }
        Ok(())
    }
}

/// `includedData` of getListingsItem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemData {
    Summaries,
    Attributes,
    Issues,
    Offers,
    FulfillmentAvailability,
    ProductTypes,
}

impl ItemData {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemData::Summaries => "summaries",
            ItemData::Attributes => "attributes",
            ItemData::Issues => "issues",
            ItemData::Offers => "offers",
            ItemData::FulfillmentAvailability => "fulfillmentAvailability",
            ItemData::ProductTypes => "productTypes",
        }
    }
}

/// `GET /listings/2021-08-01/items/{sellerId}/{sku}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetListingsItem {
    pub seller_id: SellerId,
    pub sku: Sku,
    pub marketplace_ids: Vec<MarketplaceId>,
    /// Empty = Amazon's default (`summaries`).
    pub included_data: Vec<ItemData>,
}

impl Call for GetListingsItem {
    type Output = Item;
    const OPERATION: Operation = Operation::GetListingsItem;

    fn path(&self) -> String {
        format!(
            "/listings/2021-08-01/items/{}/{}",
            encode_path_segment(self.seller_id.as_str()),
            encode_path_segment(self.sku.as_str())
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![(
            "marketplaceIds",
            csv(self.marketplace_ids.iter().map(|m| m.as_str())),
        )];
        if !self.included_data.is_empty() {
            q.push((
                "includedData",
                csv(self.included_data.iter().map(|d| d.as_str())),
            ));
        }
        q
    }

    fn validate(&self) -> Result<(), String> {
        if self.marketplace_ids.is_empty() {
            return Err("marketplaceIds is required".to_string());
        }
        Ok(())
    }
}
