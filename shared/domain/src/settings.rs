//! Per-seller settings (product.md, "Per-seller settings"): what the operator
//! sets when onboarding a seller, stored in DynamoDB, read by every job.
//! New fields get serde defaults so older stored settings keep loading.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::region::known_marketplace;
use crate::shipping::ShippingSettings;
use crate::{ClientCode, DomainError, MarketplaceId, Region, SellerId};

/// Amazon's order fulfilment statuses (Orders API v2026-01-01 `FulfillmentStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    PendingAvailability,
    Pending,
    Unshipped,
    PartiallyShipped,
    Shipped,
    Cancelled,
    Unfulfillable,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingAvailability => "PENDING_AVAILABILITY",
            OrderStatus::Pending => "PENDING",
            OrderStatus::Unshipped => "UNSHIPPED",
            OrderStatus::PartiallyShipped => "PARTIALLY_SHIPPED",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Unfulfillable => "UNFULFILLABLE",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InventoryMode {
    /// Stock on hand (SOH).
    #[default]
    OnHand,
    /// SOH minus allocated / back-ordered.
    Available,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySettings {
    #[serde(default)]
    pub mode: InventoryMode,
    /// Units held back from Amazon per SKU.
    #[serde(default)]
    pub safety_buffer: u32,
    /// EventBridge-style rate or cron for this seller's pushes; `None` = the deployment default.
    #[serde(default)]
    pub schedule: Option<String>,
    /// WMS SKU → Amazon seller SKU, for the SKUs that differ.
    #[serde(default)]
    pub sku_map: BTreeMap<String, String>,
    #[serde(default = "default_resync_days")]
    pub full_resync_days: u32,
    /// Amazon's `fulfillment_channel_code` for the seller's own stock
    /// (`DEFAULT` when `None`; other codes for e.g. regional or SFP channels).
    #[serde(default)]
    pub fulfillment_channel_code: Option<String>,
}

fn default_resync_days() -> u32 {
    7
}

impl Default for InventorySettings {
    fn default() -> Self {
        Self {
            mode: InventoryMode::default(),
            safety_buffer: 0,
            schedule: None,
            sku_map: BTreeMap::new(),
            full_resync_days: default_resync_days(),
            fulfillment_channel_code: None,
        }
    }
}

/// A WMS carrier/service mapped to Amazon's carrier code and shipping method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierOverride {
    pub carrier_code: String,
    #[serde(default)]
    pub shipping_method: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jobs {
    #[serde(default = "yes")]
    pub orders: bool,
    #[serde(default = "yes")]
    pub shipments: bool,
    #[serde(default = "yes")]
    pub inventory: bool,
    #[serde(default = "yes")]
    pub labels: bool,
}

fn yes() -> bool {
    true
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            orders: true,
            shipments: true,
            inventory: true,
            labels: true,
        }
    }
}

/// Whether the seller's refresh token still works.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Authorization {
    #[default]
    Active,
    /// LWA answered `invalid_grant`: the seller must authorise the app again.
    Broken {
        reason: String,
        since: DateTime<Utc>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerSettings {
    pub seller_id: SellerId,
    pub client_code: ClientCode,
    pub region: Region,
    /// The marketplaces served; empty = every marketplace the seller
    /// participates in (`getMarketplaceParticipations`, refreshed daily; see
    /// [`crate::participations`]).
    #[serde(default)]
    pub marketplaces: Vec<MarketplaceId>,
    /// Orders created before 00:00 of this date (in `time_zone`) are never pulled.
    pub order_start_date: NaiveDate,
    #[serde(default = "utc")]
    pub time_zone: String,
    #[serde(default)]
    pub order_prefix: String,
    /// ISO 3166 alpha-2 country codes; empty = all countries.
    #[serde(default)]
    pub ship_to_countries: Vec<String>,
    #[serde(default = "default_statuses")]
    pub order_statuses: Vec<OrderStatus>,
    #[serde(default)]
    pub inventory: InventorySettings,
    #[serde(default)]
    pub carrier_overrides: BTreeMap<String, CarrierOverride>,
    /// Shipping method table (Amazon service level ⇄ WMS service code), the
    /// programs that must ship on Amazon-bought labels, the supply source.
    #[serde(default)]
    pub shipping: ShippingSettings,
    /// The order message version the WMS reads (`shared/wms/CONTRACTS.md`):
    /// 1 (the default, so existing integrations keep working) or 2 (adds the
    /// mapped shipping method, Buy Shipping and line requirements).
    #[serde(default = "first_version")]
    pub order_message_version: u32,
    #[serde(default)]
    pub jobs: Jobs,
    #[serde(default)]
    pub sandbox: bool,
    /// Name (or ARN) of the Secrets Manager secret holding the refresh token.
    pub refresh_token_secret: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub authorization: Authorization,
    /// When the seller last granted the application access (the consent
    /// flow's callback, or the operator storing a refresh token). Public
    /// apps' authorisations are renewed every 365 days from this date.
    /// `None` for sellers onboarded before the date was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_at: Option<DateTime<Utc>>,
}

fn utc() -> String {
    "UTC".to_string()
}

fn first_version() -> u32 {
    1
}

/// The order message versions this code can send.
pub const ORDER_MESSAGE_VERSIONS: [u32; 2] = [1, 2];

pub fn default_statuses() -> Vec<OrderStatus> {
    vec![OrderStatus::Unshipped, OrderStatus::PartiallyShipped]
}

impl SellerSettings {
    /// A seller with the defaults of product.md.
    pub fn new(
        seller_id: SellerId,
        client_code: ClientCode,
        region: Region,
        marketplaces: Vec<MarketplaceId>,
        order_start_date: NaiveDate,
        refresh_token_secret: impl Into<String>,
    ) -> Self {
        Self {
            seller_id,
            client_code,
            region,
            marketplaces,
            order_start_date,
            time_zone: utc(),
            order_prefix: String::new(),
            ship_to_countries: Vec::new(),
            order_statuses: default_statuses(),
            inventory: InventorySettings::default(),
            carrier_overrides: BTreeMap::new(),
            shipping: ShippingSettings::default(),
            order_message_version: first_version(),
            jobs: Jobs::default(),
            sandbox: false,
            refresh_token_secret: refresh_token_secret.into(),
            enabled: true,
            authorization: Authorization::Active,
            authorized_at: None,
        }
    }

    /// Checks what serde cannot: every message says what to change.
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |m: String| Err(DomainError::Settings(m));
        if self.marketplaces.len() > 50 {
            return bad("more than 50 marketplace ids: Amazon accepts at most 50 per call".into());
        }
        for m in &self.marketplaces {
            if let Some(known) = known_marketplace(m)
                && known.region != self.region
            {
                return bad(format!(
                    "marketplace {m} ({}) is in region {}, not {}: fix the region or the marketplace",
                    known.country, known.region, self.region
                ));
            }
        }
        if !crate::zone::is_known(&self.time_zone) {
            return bad(format!(
                "unknown time zone {:?}: use an IANA name such as UTC or Europe/Berlin",
                self.time_zone
            ));
        }
        if self.order_prefix.len() > 10
            || !self.order_prefix.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return bad(format!(
                "order prefix {:?} must be at most 10 letters or digits (e.g. MG)",
                self.order_prefix
            ));
        }
        for c in &self.ship_to_countries {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return bad(format!(
                    "ship-to country {c:?} must be an upper-case ISO 3166 alpha-2 code such as DE"
                ));
            }
        }
        if self.order_statuses.is_empty() {
            return bad(
                "no order statuses: use the default UNSHIPPED and PARTIALLY_SHIPPED".into(),
            );
        }
        if self.order_statuses.contains(&OrderStatus::Cancelled) {
            return bad("CANCELLED orders are never sent as new orders: remove it".into());
        }
        if self.refresh_token_secret.trim().is_empty() {
            return bad(
                "refresh_token_secret is empty: give the name of the seller's secret".into(),
            );
        }
        if !ORDER_MESSAGE_VERSIONS.contains(&self.order_message_version) {
            return bad(format!(
                "order_message_version {} is not one this connector sends: use 1 or 2 (shared/wms/CONTRACTS.md)",
                self.order_message_version
            ));
        }
        self.shipping.validate()?;
        Ok(())
    }

    /// The first instant whose orders are pulled: 00:00 of the start date in
    /// the seller's time zone.
    pub fn order_start(&self) -> Result<DateTime<Utc>, DomainError> {
        let zone = crate::zone::Zone::named(&self.time_zone).ok_or_else(|| {
            DomainError::Settings(format!("unknown time zone {:?}", self.time_zone))
        })?;
        zone.start_of_day(self.order_start_date)
            .ok_or_else(|| DomainError::Settings("order start date has no valid midnight".into()))
    }

    /// Whether the seller is served in every marketplace it participates in
    /// (no marketplace listed).
    pub fn all_marketplaces(&self) -> bool {
        self.marketplaces.is_empty()
    }

    /// The same settings serving `marketplaces` (the participations resolved
    /// for a seller with none listed), for the rules that read the list.
    pub fn with_marketplaces(&self, marketplaces: Vec<MarketplaceId>) -> SellerSettings {
        SellerSettings {
            marketplaces,
            ..self.clone()
        }
    }

    /// The WMS order number for an Amazon order id.
    pub fn wms_order_number(&self, amazon_order_id: &crate::AmazonOrderId) -> String {
        format!("{}{}", self.order_prefix, amazon_order_id)
    }

    pub fn ships_to(&self, country_code: &str) -> bool {
        self.ship_to_countries.is_empty()
            || self
                .ship_to_countries
                .iter()
                .any(|c| c.eq_ignore_ascii_case(country_code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller() -> SellerSettings {
        SellerSettings::new(
            SellerId::new("A3EXAMPLESELLER").unwrap(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()],
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            "connector/sellers/A3EXAMPLESELLER",
        )
    }

    #[test]
    fn defaults_follow_product_md() {
        let s = seller();
        assert_eq!(
            s.order_statuses,
            vec![OrderStatus::Unshipped, OrderStatus::PartiallyShipped]
        );
        assert_eq!(s.inventory.full_resync_days, 7);
        assert!(s.jobs.orders && s.enabled);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn start_date_is_midnight_in_the_seller_time_zone() {
        let mut s = seller();
        assert_eq!(
            s.order_start().unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        s.time_zone = "Europe/Berlin".into();
        assert_eq!(
            s.order_start().unwrap().to_rfc3339(),
            "2026-02-28T23:00:00+00:00"
        );
        s.time_zone = "America/Los_Angeles".into();
        assert_eq!(
            s.order_start().unwrap().to_rfc3339(),
            "2026-03-01T08:00:00+00:00"
        );
    }

    #[test]
    fn prefix_and_country_rules() {
        let mut s = seller();
        s.order_prefix = "MG".into();
        let id = crate::AmazonOrderId::new("113-1234567-1234567").unwrap();
        assert_eq!(s.wms_order_number(&id), "MG113-1234567-1234567");
        assert!(s.ships_to("FR"));
        s.ship_to_countries = vec!["DE".into(), "AT".into()];
        assert!(s.ships_to("de") && !s.ships_to("FR"));
    }

    #[test]
    fn validation_says_what_to_change() {
        type Mutation = fn(&mut SellerSettings);
        let cases: Vec<(Mutation, &str)> = vec![
            (|s| s.region = Region::Na, "region EU, not NA"),
            (|s| s.time_zone = "Mars/Olympus".into(), "IANA"),
            (|s| s.order_prefix = "MG-".into(), "letters or digits"),
            (|s| s.ship_to_countries = vec!["Germany".into()], "alpha-2"),
            (
                |s| s.order_statuses = vec![OrderStatus::Cancelled],
                "never sent",
            ),
            (|s| s.refresh_token_secret = " ".into(), "secret"),
            (|s| s.order_message_version = 3, "use 1 or 2"),
            (
                |s| s.shipping.buy_shipping_programs = vec!["NOPE".into()],
                "order program",
            ),
        ];
        for (mutate, expected) in cases {
            let mut s = seller();
            mutate(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn no_marketplace_means_all_of_them() {
        let mut s = seller();
        s.marketplaces.clear();
        assert!(s.validate().is_ok(), "empty = every participation");
        assert!(s.all_marketplaces());
        let uk = MarketplaceId::new("A1F83G8C2ARO7P").unwrap();
        let resolved = s.with_marketplaces(vec![uk.clone()]);
        assert_eq!(resolved.marketplaces, [uk]);
        assert_eq!(resolved.seller_id, s.seller_id);
        let json = r#"{"seller_id":"A3EXAMPLESELLER","client_code":"ACME","region":"EU",
            "order_start_date":"2026-03-01","refresh_token_secret":"s"}"#;
        let parsed: SellerSettings = serde_json::from_str(json).unwrap();
        assert!(parsed.marketplaces.is_empty() && parsed.validate().is_ok());
    }

    #[test]
    fn old_stored_settings_load_with_defaults() {
        let json = r#"{"seller_id":"A3EXAMPLESELLER","client_code":"ACME","region":"EU",
            "marketplaces":["A1PA6795UKMFR9"],"order_start_date":"2026-03-01",
            "refresh_token_secret":"s"}"#;
        let s: SellerSettings = serde_json::from_str(json).unwrap();
        assert_eq!(s, seller_with_secret("s"));
    }

    fn seller_with_secret(secret: &str) -> SellerSettings {
        let mut s = seller();
        s.refresh_token_secret = secret.into();
        s
    }
}
