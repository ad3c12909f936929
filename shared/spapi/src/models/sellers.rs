//! Sellers API v1 (`sellers.json`): `getMarketplaceParticipations`.

use serde::Deserialize;

/// `GetMarketplaceParticipationsResponse`: `payload` is the list.
#[derive(Clone, Debug, Deserialize)]
pub struct GetMarketplaceParticipationsResponse {
    #[serde(default)]
    pub payload: Vec<MarketplaceParticipation>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceParticipation {
    pub marketplace: Marketplace,
    pub participation: Participation,
    pub store_name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marketplace {
    pub id: String,
    pub name: String,
    pub country_code: String,
    pub default_currency_code: String,
    pub default_language_code: String,
    pub domain_name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participation {
    pub is_participating: bool,
    pub has_suspended_listings: bool,
}
