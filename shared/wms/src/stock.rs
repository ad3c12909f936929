//! The stock endpoint's answer: one page of per-SKU quantities. The
//! connector GETs the WMS with a bearer token and follows `next_page`.

use domain::Sku;
use serde::{Deserialize, Serialize};

use crate::{Contract, ContractError, SchemaVersion};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockPage {
    pub schema: SchemaVersion,
    pub items: Vec<StockItem>,
    /// Opaque cursor for the next page; `None` on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockItem {
    /// The WMS SKU (the Amazon seller SKU unless the seller's SKU map differs).
    pub sku: Sku,
    /// Stock on hand (SOH).
    pub on_hand: u32,
    /// SOH minus allocated and back-ordered units.
    pub available: u32,
}

impl StockPage {
    /// Validates `body` against `schemas/stock-page.v1.json`, then decodes it.
    pub fn parse(body: &str) -> Result<StockPage, ContractError> {
        Contract::StockPage.parse(body)
    }

    /// The page as JSON, checked against the schema (for the fake WMS and tests).
    pub fn to_json(&self) -> Result<String, ContractError> {
        Contract::StockPage.encode(self)
    }
}
