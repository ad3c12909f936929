//! The listings the simulator keeps per seller: what control seeds
//! ([`ListingSpec`]), a listing's attributes and quantities.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Issue codes the simulator uses (Amazon's are numeric and undocumented;
/// these are stable so tests can match them).
pub const SKU_NOT_FOUND: &str = "4000001";
pub const INVALID_VALUE: &str = "4000002";
pub const UNSUPPORTED_PATCH: &str = "4000003";

/// A listing as control seeds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingSpec {
    pub sku: String,
    /// `DEFAULT` (MFN) quantity; `None` = no fulfillment_availability yet.
    #[serde(default)]
    pub quantity: Option<u32>,
    #[serde(default = "default_product_type")]
    pub product_type: String,
    #[serde(default)]
    pub asin: Option<String>,
    /// The `fulfillment_channel_code` of `quantity`: `None` = `DEFAULT`
    /// (merchant fulfilled); e.g. `AMAZON_EU` for an FBA listing.
    #[serde(default)]
    pub channel: Option<String>,
    /// When the listing was created (default: when it is seeded).
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Closed or suppressed: its summaries carry no status.
    #[serde(default)]
    pub inactive: bool,
    /// The marketplaces it is listed in; empty = all the seller's.
    #[serde(default)]
    pub marketplaces: Vec<String>,
}

pub(crate) fn default_product_type() -> String {
    "PRODUCT".to_string()
}

impl ListingSpec {
    pub fn new(sku: &str, quantity: u32) -> Self {
        Self {
            sku: sku.to_string(),
            quantity: Some(quantity),
            product_type: default_product_type(),
            asin: None,
            channel: None,
            created: None,
            inactive: false,
            marketplaces: Vec::new(),
        }
    }

    /// Fulfilled by Amazon on `channel` (e.g. `AMAZON_EU`).
    pub fn fba(mut self, channel: &str) -> Self {
        self.channel = Some(channel.to_string());
        self
    }

    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created = Some(at);
        self
    }

    pub fn inactive(mut self) -> Self {
        self.inactive = true;
        self
    }

    pub fn in_marketplaces(mut self, marketplaces: &[&str]) -> Self {
        self.marketplaces = marketplaces.iter().map(|m| m.to_string()).collect();
        self
    }
}

#[derive(Clone, Debug)]
pub struct Listing {
    pub product_type: String,
    pub asin: String,
    pub attributes: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// How many patches were applied (tests count writes).
    pub patches_applied: u64,
    /// Every patch of this listing is refused with this issue (code,
    /// message): a listing Amazon will not take a quantity for.
    pub refusal: Option<(String, String)>,
    /// `fulfillment_availability` as last set for each marketplace a patch
    /// or feed named; a marketplace never named keeps the seeded value.
    pub by_marketplace: BTreeMap<String, Value>,
    seeded_availability: Option<Value>,
    /// Closed or suppressed (no status in its summaries).
    pub inactive: bool,
    /// Listed only in these marketplaces; empty = all the seller's.
    pub marketplaces: Vec<String>,
}

impl Listing {
    pub fn from_spec(spec: &ListingSpec, now: DateTime<Utc>) -> Self {
        let mut attributes = Map::new();
        if let Some(q) = spec.quantity {
            let channel = spec.channel.as_deref().unwrap_or("DEFAULT");
            attributes.insert(
                "fulfillment_availability".into(),
                json!([{ "fulfillment_channel_code": channel, "quantity": q }]),
            );
        }
        let asin = spec
            .asin
            .clone()
            .unwrap_or_else(|| format!("B0{}", crate::clock::random_token(8).to_ascii_uppercase()));
        Self {
            product_type: spec.product_type.clone(),
            asin,
            seeded_availability: attributes.get("fulfillment_availability").cloned(),
            attributes,
            created: spec.created.unwrap_or(now),
            updated: spec.created.map_or(now, |c| c.max(now)),
            patches_applied: 0,
            refusal: None,
            by_marketplace: BTreeMap::new(),
            inactive: spec.inactive,
            marketplaces: spec.marketplaces.clone(),
        }
    }

    /// Whether it is listed in `marketplace`.
    pub fn listed_in(&self, marketplace: &str) -> bool {
        self.marketplaces.is_empty() || self.marketplaces.iter().any(|m| m == marketplace)
    }

    /// Amazon's summary status: none when inactive, else buyable with stock
    /// on any channel, discoverable without.
    pub fn status(&self) -> Value {
        let stock = self
            .attributes
            .get("fulfillment_availability")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|e| e["quantity"].as_u64().unwrap_or(0) > 0));
        match (self.inactive, stock) {
            (true, _) => json!([]),
            (false, true) => json!(["BUYABLE", "DISCOVERABLE"]),
            (false, false) => json!(["DISCOVERABLE"]),
        }
    }

    /// The quantity offered on `channel` in `marketplace`.
    pub fn quantity_in(&self, marketplace: &str, channel: &str) -> Option<u32> {
        let availability = self
            .by_marketplace
            .get(marketplace)
            .or(self.seeded_availability.as_ref())?;
        availability
            .as_array()?
            .iter()
            .find(|e| e["fulfillment_channel_code"] == channel)
            .and_then(|e| e["quantity"].as_u64())
            .and_then(|q| u32::try_from(q).ok())
    }

    /// The quantity offered on `channel`.
    pub fn quantity(&self, channel: &str) -> Option<u32> {
        self.attributes
            .get("fulfillment_availability")?
            .as_array()?
            .iter()
            .find(|e| e["fulfillment_channel_code"] == channel)
            .and_then(|e| e["quantity"].as_u64())
            .and_then(|q| u32::try_from(q).ok())
    }

    pub(crate) fn fulfillment_availability(&self) -> Vec<Value> {
        self.attributes
            .get("fulfillment_availability")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let mut out =
                            json!({ "fulfillmentChannelCode": e["fulfillment_channel_code"] });
                        if let Some(q) = e["quantity"].as_u64() {
                            out["quantity"] = json!(q);
                        }
                        out
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Listings per seller: seller id → SKU → listing.
#[derive(Debug, Default)]
pub struct Listings {
    pub by_seller: BTreeMap<String, BTreeMap<String, Listing>>,
    /// How many items one searchListingsItems search can page through
    /// (Amazon's model: 1000); control may lower it for tests.
    pub search_cap: Option<u64>,
}
