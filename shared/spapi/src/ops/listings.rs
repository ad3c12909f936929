//! Listings Items API v2021-08-01: `patchListingsItem`, `getListingsItem`,
//! `searchListingsItems`.

use chrono::{DateTime, Utc};
use domain::{MarketplaceId, Operation, SellerId, Sku};

use crate::call::{Call, Method, csv, encode_path_segment};
use crate::models::listings::{
    Item, ItemSearchResults, ListingsItemPatchRequest, ListingsItemSubmissionResponse, PRODUCT,
    PatchOperation,
};
use crate::paginate::PagedCall;

/// `/listings/2021-08-01/items/{sellerId}/{sku}`: the one item that
/// patchListingsItem and getListingsItem address.
fn item_path(seller_id: &SellerId, sku: &Sku) -> String {
    format!(
        "/listings/2021-08-01/items/{}/{}",
        encode_path_segment(seller_id.as_str()),
        encode_path_segment(sku.as_str())
    )
}

/// `includedData` of getListingsItem and searchListingsItems: none when
/// empty (Amazon's default, `summaries`).
fn included_data(data: &[ItemData]) -> Option<(&'static str, String)> {
    (!data.is_empty()).then(|| ("includedData", csv(data.iter().map(|d| d.as_str()))))
}

/// The `marketplaceIds` parameter every Listings operation takes.
fn marketplace_ids(ids: &[MarketplaceId]) -> (&'static str, String) {
    ("marketplaceIds", csv(ids.iter().map(|m| m.as_str())))
}

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
        item_path(&self.seller_id, &self.sku)
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![marketplace_ids(&self.marketplace_ids)];
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
        item_path(&self.seller_id, &self.sku)
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![marketplace_ids(&self.marketplace_ids)];
        q.extend(included_data(&self.included_data));
        q
    }

    fn validate(&self) -> Result<(), String> {
        if self.marketplace_ids.is_empty() {
            return Err("marketplaceIds is required".to_string());
        }
        Ok(())
    }
}

/// Amazon's largest `pageSize` for searchListingsItems.
pub const SEARCH_PAGE_SIZE: u32 = 20;

/// `GET /listings/2021-08-01/items/{sellerId}`: the seller's listings, by
/// creation date range (both bounds included), oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchListingsItems {
    pub seller_id: SellerId,
    pub marketplace_ids: Vec<MarketplaceId>,
    /// Empty = Amazon's default (`summaries`).
    pub included_data: Vec<ItemData>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// 1 to [`SEARCH_PAGE_SIZE`].
    pub page_size: u32,
    pub page_token: Option<String>,
}

impl Call for SearchListingsItems {
    type Output = ItemSearchResults;
    const OPERATION: Operation = Operation::SearchListingsItems;

    fn path(&self) -> String {
        format!(
            "/listings/2021-08-01/items/{}",
            encode_path_segment(self.seller_id.as_str())
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![marketplace_ids(&self.marketplace_ids)];
        q.extend(included_data(&self.included_data));
        if let Some(t) = &self.created_after {
            q.push(("createdAfter", crate::ops::iso(t)));
        }
        if let Some(t) = &self.created_before {
            q.push(("createdBefore", crate::ops::iso(t)));
        }
        q.push(("sortBy", "createdDate".to_string()));
        q.push(("sortOrder", "ASC".to_string()));
        q.push(("pageSize", self.page_size.to_string()));
        if let Some(t) = &self.page_token {
            q.push(("pageToken", t.clone()));
        }
        q
    }

    fn validate(&self) -> Result<(), String> {
        if self.marketplace_ids.is_empty() {
            return Err("marketplaceIds is required".to_string());
        }
        if !(1..=SEARCH_PAGE_SIZE).contains(&self.page_size) {
            return Err(format!("pageSize must be 1 to {SEARCH_PAGE_SIZE}"));
        }
        if let (Some(a), Some(b)) = (self.created_after, self.created_before)
            && a > b
        {
            return Err("createdAfter is later than createdBefore".to_string());
        }
        Ok(())
    }
}

impl PagedCall for SearchListingsItems {
    fn next_token(output: &ItemSearchResults) -> Option<String> {
        output.pagination.as_ref()?.next_token.clone()
    }

    fn with_token(&self, token: String) -> Self {
        Self {
            page_token: Some(token),
            ..self.clone()
        }
    }

    fn token(&self) -> Option<&str> {
        self.page_token.as_deref()
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn search_queries_follow_the_model() {
        let call = SearchListingsItems {
            seller_id: SellerId::new("A3EXAMPLESELLER").unwrap(),
            marketplace_ids: vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()],
            included_data: vec![ItemData::Summaries, ItemData::FulfillmentAvailability],
            created_after: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            created_before: None,
            page_size: 20,
            page_token: None,
        };
        assert_eq!(call.path(), "/listings/2021-08-01/items/A3EXAMPLESELLER");
        let q = call.query();
        assert!(q.contains(&(
            "includedData",
            "summaries,fulfillmentAvailability".to_string()
        )));
        assert!(q.contains(&("createdAfter", "2026-01-01T00:00:00Z".to_string())));
        assert!(q.contains(&("pageSize", "20".to_string())));
        assert!(call.validate().is_ok());
        let next = call.with_token("T2".into());
        assert!(next.query().contains(&("pageToken", "T2".to_string())));
        assert!(
            SearchListingsItems {
                page_size: 21,
                ..call.clone()
            }
            .validate()
            .is_err()
        );
        let answer: ItemSearchResults = serde_json::from_str(
            r#"{"numberOfResults":2,"pagination":{"nextToken":"T2"},"items":[{"sku":"A","summaries":[{"marketplaceId":"A1PA6795UKMFR9","asin":"B0X","productType":"PRODUCT","conditionType":"new_new","status":["BUYABLE"],"itemName":"x","createdDate":"2026-01-01T00:00:00Z","lastUpdatedDate":"2026-01-01T00:00:00Z"}],"fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":3}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            SearchListingsItems::next_token(&answer).as_deref(),
            Some("T2")
        );
        assert_eq!(answer.items[0].summaries()[0].status, ["BUYABLE"]);
        assert_eq!(answer.items[0].quantity("DEFAULT"), Some(3));
    }
}
