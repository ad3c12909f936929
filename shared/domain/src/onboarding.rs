//! Sellers connecting themselves (issue 14): the pure rules of the SP-API
//! consent flow (`shared/amazon/README.md`, "Seller authorisation") — which
//! Seller Central a seller consents on, the consent and Appstore return
//! URLs (built here, on the server, never taken from a request), the
//! operator's invitation and what a successful consent does to a seller's
//! settings, the marketplaces confirmed from Amazon's answer, and the yearly
//! renewal clock.
//!
//! Everything that reaches a browser as a credential (an invitation code,
//! an OAuth `state`) is a [`BearerToken`]: random, URL-safe, and never
//! printed by `Debug`.

use std::fmt;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::region::known_marketplace;
use crate::settings::{
    Authorization, CarrierOverride, InventorySettings, Jobs, ORDER_MESSAGE_VERSIONS, OrderStatus,
    SellerSettings, default_statuses,
};
use crate::shipping::ShippingSettings;
use crate::{ClientCode, DomainError, MarketplaceId, Region, SellerId};

/// Public apps' authorisations must be renewed this often (days).
pub const RENEWAL_DAYS: i64 = 365;
/// The renewal alarm and `connector-admin sellers` warn this long before (days).
pub const RENEWAL_WARNING_DAYS: i64 = 30;
/// The longest an invitation may stay open (days): a link in a mailbox is a
/// credential; the operator sends a new one rather than a long-lived one.
pub const MAX_INVITATION_DAYS: i64 = 7;

/// Seller Central of each marketplace we know: the consent page is
/// `<seller central>/apps/authorize/consent` (Amazon's "Seller Central URLs";
/// Europe's marketplaces share `sellercentral-europe.amazon.com`).
const SELLER_CENTRAL: &[(&str, &str)] = &[
    ("ATVPDKIKX0DER", "https://sellercentral.amazon.com"),
    ("A2EUQ1WTGCTBG2", "https://sellercentral.amazon.ca"),
    ("A1AM78C64UM0Y8", "https://sellercentral.amazon.com.mx"),
    ("A2Q3Y263D00KWC", "https://sellercentral.amazon.com.br"),
    ("A1F83G8C2ARO7P", "https://sellercentral-europe.amazon.com"),
    ("A1PA6795UKMFR9", "https://sellercentral-europe.amazon.com"),
    ("A13V1IB3VIYZZH", "https://sellercentral-europe.amazon.com"),
    ("APJ6JRA9NG5V4", "https://sellercentral-europe.amazon.com"),
    ("A1RKKUPIHCS9HS", "https://sellercentral-europe.amazon.com"),
    ("A1805IZSGTT6HS", "https://sellercentral-europe.amazon.com"),
    ("A2NODRKZP88ZB9", "https://sellercentral-europe.amazon.com"),
    ("A1C3SOZRARQ6R3", "https://sellercentral-europe.amazon.com"),
    ("AMEN7PMS3EDWL", "https://sellercentral-europe.amazon.com"),
    ("A28R8C7NBKEWEA", "https://sellercentral-europe.amazon.com"),
    ("A33AVAJ2PDY3EV", "https://sellercentral.amazon.com.tr"),
    ("A2VIGQ35RCS4UG", "https://sellercentral.amazon.ae"),
    ("A17E79C6D8DWNP", "https://sellercentral.amazon.sa"),
    ("ARBP9OOSHTCHU", "https://sellercentral.amazon.eg"),
    ("A21TJRUUN4KGV", "https://sellercentral.amazon.in"),
    ("AE08WJ6YKNBMC", "https://sellercentral.amazon.co.za"),
    ("A1VC38T7YXB528", "https://sellercentral.amazon.co.jp"),
    ("A39IBJ37TRP1C6", "https://sellercentral.amazon.com.au"),
    ("A19VAU5U5O7RUS", "https://sellercentral.amazon.sg"),
];

/// Every Seller Central origin above: the only places an Appstore
/// `amazon_callback_uri` may send a browser back to.
pub fn seller_central_origins() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = SELLER_CENTRAL.iter().map(|(_, url)| *url).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The Seller Central a seller of `region` consents on: that of the first
/// marketplace we know, else the region's main one.
pub fn seller_central(region: Region, marketplaces: &[MarketplaceId]) -> &'static str {
    marketplaces
        .iter()
        .find_map(|m| {
            SELLER_CENTRAL
                .iter()
                .find(|(id, _)| *id == m.as_str())
                .map(|(_, url)| *url)
        })
        .unwrap_or(match region {
            Region::Na => "https://sellercentral.amazon.com",
            Region::Eu => "https://sellercentral-europe.amazon.com",
            Region::Fe => "https://sellercentral.amazon.co.jp",
        })
}

/// Percent-encoding of a query value (RFC 3986: everything but the
/// unreserved characters).
pub fn query_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The website workflow's first step: the consent page of `seller_central`
/// for the application, with our `state` and callback, and `version=beta`
/// while the application is a draft.
pub fn consent_url(
    seller_central: &str,
    application_id: &str,
    state: &BearerToken,
    redirect_uri: &str,
    draft: bool,
) -> String {
    let mut url = format!(
        "{}/apps/authorize/consent?application_id={}&state={}&redirect_uri={}",
        seller_central.trim_end_matches('/'),
        query_encode(application_id),
        query_encode(state.expose()),
        query_encode(redirect_uri),
    );
    if draft {
        url.push_str("&version=beta");
    }
    url
}

/// The Appstore variant's return: the browser goes back to Amazon's
/// `amazon_callback_uri` with our callback, Amazon's state and ours. The
/// callback must be HTTPS on a Seller Central origin in `allowed` (or
/// exactly one of them, for a local simulator): anything else would make
/// the page an open redirect.
pub fn appstore_return_url(
    amazon_callback_uri: &str,
    allowed: &[&str],
    redirect_uri: &str,
    amazon_state: &str,
    state: &BearerToken,
    draft: bool,
) -> Result<String, DomainError> {
    let refused = || DomainError::Invalid {
        kind: "amazon_callback_uri",
        value: truncate(amazon_callback_uri, 80),
        expected: "a Seller Central page of Amazon (https://sellercentral...)",
    };
    let origin = origin_of(amazon_callback_uri).ok_or_else(refused)?;
    if !allowed.iter().any(|a| a.trim_end_matches('/') == origin) {
        return Err(refused());
    }
    if amazon_state.is_empty()
        || amazon_state.len() > 2048
        || amazon_state.chars().any(char::is_control)
    {
        return Err(DomainError::Invalid {
            kind: "amazon_state",
            value: String::new(),
            expected: "the amazon_state Amazon sent (not empty, at most 2048 characters)",
        });
    }
    let separator = if amazon_callback_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let mut url = format!(
        "{amazon_callback_uri}{separator}redirect_uri={}&amazon_state={}&state={}",
        query_encode(redirect_uri),
        query_encode(amazon_state),
        query_encode(state.expose()),
    );
    if draft {
        url.push_str("&version=beta");
    }
    Ok(url)
}

/// `scheme://host[:port]` of an absolute http(s) URL without user info or
/// fragment; `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let valid = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !valid || rest[end..].starts_with('#') || url.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A random credential given to a browser: an invitation code or an OAuth
/// `state`. URL-safe base64 without padding; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BearerToken(String);

impl BearerToken {
    /// Shortest accepted (16 random bytes = 22 characters).
    pub const MIN_LEN: usize = 22;
    pub const MAX_LEN: usize = 128;

    /// From random bytes (at least 16, from a cryptographic generator).
    pub fn from_random(bytes: &[u8]) -> Result<Self, DomainError> {
        if bytes.len() < 16 {
            return Err(DomainError::Invalid {
                kind: "random token",
                value: String::new(),
                expected: "at least 16 random bytes",
            });
        }
        Ok(Self(base64url(bytes)))
    }

    /// A token as a browser sent it back.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(DomainError::Invalid {
                kind: "code",
                value: String::new(),
                expected: "the code from the invitation link (22 or more letters, digits, - and _)",
            })
        }
    }

    /// The value, to put into a URL or a hash: never into a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// The settings an invitation gives a new seller besides its id, client
/// code, region and marketplaces (the fields of [`SellerSettings`], same
/// defaults). `order_start_date` left out means the day the seller connects.
/// Its own type rather than a partial `SellerSettings`: it is stored with
/// the invitation and follows its own schema (optional start date, unknown
/// fields refused), so the two lists of fields stay apart on purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsTemplate {
    #[serde(default)]
    pub order_start_date: Option<NaiveDate>,
    #[serde(default = "utc")]
    pub time_zone: String,
    #[serde(default)]
    pub order_prefix: String,
    #[serde(default)]
    pub ship_to_countries: Vec<String>,
    #[serde(default = "default_statuses")]
    pub order_statuses: Vec<OrderStatus>,
    #[serde(default)]
    pub inventory: InventorySettings,
    #[serde(default)]
    pub carrier_overrides: std::collections::BTreeMap<String, CarrierOverride>,
    #[serde(default)]
    pub shipping: ShippingSettings,
    #[serde(default = "first_version")]
    pub order_message_version: u32,
    #[serde(default)]
    pub jobs: Jobs,
    #[serde(default)]
    pub sandbox: bool,
}

fn first_version() -> u32 {
    ORDER_MESSAGE_VERSIONS[0]
}

fn utc() -> String {
    "UTC".to_string()
}

impl Default for SettingsTemplate {
    fn default() -> Self {
        Self {
            order_start_date: None,
            time_zone: utc(),
            order_prefix: String::new(),
            ship_to_countries: Vec::new(),
            order_statuses: default_statuses(),
            inventory: InventorySettings::default(),
            carrier_overrides: Default::default(),
            shipping: ShippingSettings::default(),
            order_message_version: first_version(),
            jobs: Jobs::default(),
            sandbox: false,
        }
    }
}

/// What the operator invites: who (the WMS client code), where (region,
/// marketplaces), with which settings, until when; or the re-authorisation
/// of one seller already onboarded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// A short public id (a hash of the code, never the code): logs, the CLI.
    pub id: String,
    pub client_code: ClientCode,
    pub region: Region,
    /// Marketplaces to pull; empty = every marketplace of the region the
    /// seller sells in (Amazon's answer decides).
    #[serde(default)]
    pub marketplaces: Vec<MarketplaceId>,
    #[serde(default)]
    pub settings: SettingsTemplate,
    /// Set for a re-authorisation: only this selling partner may use it.
    #[serde(default)]
    pub seller_id: Option<SellerId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set once a seller connected through it.
    #[serde(default)]
    pub used: Option<InvitationUse>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationUse {
    pub seller_id: SellerId,
    pub at: DateTime<Utc>,
}

/// Why a consent cannot onboard the seller (each maps to a page that says
/// what to do).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the invitation expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the invitation was already used by seller {0}")]
    Used(SellerId),
    #[error("the invitation is for seller {expected}, but seller {got} consented")]
    WrongAccount { expected: SellerId, got: SellerId },
    #[error("seller {seller} is already connected for client {existing}, not {invited}")]
    OtherClient {
        seller: SellerId,
        existing: ClientCode,
        invited: ClientCode,
    },
    #[error("the seller sells in none of the invited marketplaces of region {region}")]
    NoMarketplace { region: Region },
}

/// A marketplace in Amazon's `getMarketplaceParticipations` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participation {
    pub marketplace_id: String,
    pub participating: bool,
}

/// The marketplaces a seller is onboarded with, and the invited ones it
/// does not sell in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmedMarketplaces {
    pub confirmed: Vec<MarketplaceId>,
    pub missing: Vec<MarketplaceId>,
}

impl Invitation {
    /// A new invitation open for `days` (1 to [`MAX_INVITATION_DAYS`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        client_code: ClientCode,
        region: Region,
        marketplaces: Vec<MarketplaceId>,
        settings: SettingsTemplate,
        seller_id: Option<SellerId>,
        now: DateTime<Utc>,
        days: i64,
    ) -> Result<Self, DomainError> {
        if !(1..=MAX_INVITATION_DAYS).contains(&days) {
            return Err(DomainError::Settings(format!(
                "an invitation is open 1 to {MAX_INVITATION_DAYS} days, not {days}: send a new one when it expires"
            )));
        }
        let invitation = Self {
            id,
            client_code,
            region,
            marketplaces,
            settings,
            seller_id,
            created_at: now,
            expires_at: now + TimeDelta::days(days),
            used: None,
        };
        invitation.validate()?;
        Ok(invitation)
    }

    /// The settings a seller would get, checked with a placeholder seller.
    pub fn validate(&self) -> Result<(), DomainError> {
        for m in &self.marketplaces {
            if let Some(known) = known_marketplace(m)
                && known.region != self.region
            {
                return Err(DomainError::Settings(format!(
                    "marketplace {m} ({}) is in region {}, not {}: fix the region or the marketplace",
                    known.country, known.region, self.region
                )));
            }
        }
        let probe =
            SellerId::new("A1PLACEHOLDER").map_err(|e| DomainError::Settings(e.to_string()))?;
        let marketplaces = if self.marketplaces.is_empty() {
            // Any marketplace of the region stands in for Amazon's answer.
            crate::region::MARKETPLACES
                .iter()
                .filter(|m| m.region == self.region)
                .filter_map(|m| MarketplaceId::new(m.id).ok())
                .take(1)
                .collect()
        } else {
            self.marketplaces.clone()
        };
        let today = self.created_at.date_naive();
        self.new_settings(probe, marketplaces, "probe".into(), self.created_at, today)
            .validate()
    }

    /// Whether the invitation can still be used at `now`.
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        if let Some(used) = &self.used {
            return Err(Refusal::Used(used.seller_id.clone()));
        }
        if now >= self.expires_at {
            return Err(Refusal::Expired(self.expires_at));
        }
        Ok(())
    }

    /// The invited marketplaces the seller sells in (all of the region's
    /// when none were invited). Refused when none is left.
    pub fn confirm_marketplaces(
        &self,
        participations: &[Participation],
    ) -> Result<ConfirmedMarketplaces, Refusal> {
        let selling: Vec<&str> = participations
            .iter()
            .filter(|p| p.participating)
            .map(|p| p.marketplace_id.as_str())
            .collect();
        let (confirmed, missing): (Vec<MarketplaceId>, Vec<MarketplaceId>) =
            if self.marketplaces.is_empty() {
                let confirmed = selling
                    .iter()
                    .filter_map(|id| MarketplaceId::new(*id).ok())
                    .filter(|m| known_marketplace(m).is_some_and(|k| k.region == self.region))
                    .collect();
                (confirmed, Vec::new())
            } else {
                self.marketplaces
                    .iter()
                    .cloned()
                    .partition(|m| selling.contains(&m.as_str()))
            };
        if confirmed.is_empty() {
            return Err(Refusal::NoMarketplace {
                region: self.region,
            });
        }
        Ok(ConfirmedMarketplaces { confirmed, missing })
    }

    /// What a consent by `seller` does to its settings: a new seller gets the
    /// invitation's settings; a seller already onboarded for the same client
    /// keeps its own (the operator's tuning) with the confirmed marketplaces;
    /// either way the authorisation is active again from `now` and the token
    /// is in `secret`. A seller of another client, or the wrong account for a
    /// re-authorisation, is refused.
    pub fn apply(
        &self,
        seller: &SellerId,
        existing: Option<SellerSettings>,
        marketplaces: Vec<MarketplaceId>,
        secret: String,
        now: DateTime<Utc>,
    ) -> Result<SellerSettings, Refusal> {
        if let Some(expected) = &self.seller_id
            && expected != seller
        {
            return Err(Refusal::WrongAccount {
                expected: expected.clone(),
                got: seller.clone(),
            });
        }
        match existing {
            None => {
                Ok(self.new_settings(seller.clone(), marketplaces, secret, now, now.date_naive()))
            }
            Some(old) if old.client_code != self.client_code => Err(Refusal::OtherClient {
                seller: seller.clone(),
                existing: old.client_code,
                invited: self.client_code.clone(),
            }),
            Some(mut old) => {
                old.region = self.region;
                old.marketplaces = marketplaces;
                old.refresh_token_secret = secret;
                old.authorization = Authorization::Active;
                old.authorized_at = Some(now);
                Ok(old)
            }
        }
    }

    fn new_settings(
        &self,
        seller: SellerId,
        marketplaces: Vec<MarketplaceId>,
        secret: String,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> SellerSettings {
        let t = &self.settings;
        let mut s = SellerSettings::new(
            seller,
            self.client_code.clone(),
            self.region,
            marketplaces,
            t.order_start_date.unwrap_or(today),
            secret,
        );
        s.time_zone = t.time_zone.clone();
        s.order_prefix = t.order_prefix.clone();
        s.ship_to_countries = t.ship_to_countries.clone();
        s.order_statuses = t.order_statuses.clone();
        s.inventory = t.inventory.clone();
        s.carrier_overrides = t.carrier_overrides.clone();
        s.shipping = t.shipping.clone();
        s.order_message_version = t.order_message_version;
        s.jobs = t.jobs;
        s.sandbox = t.sandbox;
        s.authorized_at = Some(now);
        s
    }
}

/// When the authorisation given at `authorized_at` must be renewed.
pub fn renewal_due(authorized_at: DateTime<Utc>) -> DateTime<Utc> {
    authorized_at + TimeDelta::days(RENEWAL_DAYS)
}

/// Whole days until the renewal is due (negative once overdue).
pub fn days_until_renewal(authorized_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (renewal_due(authorized_at) - now).num_days()
}

#[cfg(test)]
mod tests;
