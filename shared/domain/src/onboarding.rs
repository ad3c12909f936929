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
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn m(id: &str) -> MarketplaceId {
        MarketplaceId::new(id).unwrap()
    }

    fn token() -> BearerToken {
        BearerToken::from_random(&[7u8; 32]).unwrap()
    }

    fn invitation(marketplaces: &[&str]) -> Invitation {
        Invitation::new(
            "inv1".into(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            marketplaces.iter().map(|x| m(x)).collect(),
            SettingsTemplate {
                order_prefix: "AC".into(),
                ..SettingsTemplate::default()
            },
            None,
            t("2026-12-01T10:00:00Z"),
            3,
        )
        .unwrap()
    }

    #[test]
    fn tokens_are_url_safe_and_never_debug_printed() {
        let a = BearerToken::from_random(&[0xfb, 0xff, 0x01, 0x02]).err();
        assert!(a.is_some(), "fewer than 16 bytes are refused");
        let tok = BearerToken::from_random(&[0xfbu8; 16]).unwrap();
        assert_eq!(tok.expose().len(), 22);
        assert!(
            tok.expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(BearerToken::parse(tok.expose()).unwrap(), tok);
        assert!(!format!("{tok:?}").contains(tok.expose()));
        // RFC 4648 test vectors, URL alphabet, no padding.
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(b"fooba"), "Zm9vYmE");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        for bad in [
            "short",
            "has space in it 0123456789",
            "semi;colon0123456789012345",
            &"x".repeat(200),
        ] {
            assert!(BearerToken::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn consent_urls_are_built_here_and_encoded() {
        let state = token();
        let url = consent_url(
            seller_central(Region::Eu, &[m("A1PA6795UKMFR9")]),
            "amzn1.sp.solution.abc",
            &state,
            "https://x.lambda-url.eu-west-1.on.aws/callback",
            true,
        );
        assert_eq!(
            url,
            format!(
                "https://sellercentral-europe.amazon.com/apps/authorize/consent?application_id=amzn1.sp.solution.abc&state={}&redirect_uri=https%3A%2F%2Fx.lambda-url.eu-west-1.on.aws%2Fcallback&version=beta",
                state.expose()
            )
        );
        assert_eq!(
            seller_central(Region::Na, &[]),
            "https://sellercentral.amazon.com"
        );
        assert_eq!(
            seller_central(Region::Fe, &[m("A39IBJ37TRP1C6")]),
            "https://sellercentral.amazon.com.au"
        );
        assert!(!consent_url("https://a", "b", &state, "c", false).contains("version"));
    }

    #[test]
    fn the_appstore_return_goes_only_to_seller_central() {
        let state = token();
        let allowed = seller_central_origins();
        let ok = appstore_return_url(
            "https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x",
            &allowed,
            "https://me/callback",
            "amz-state",
            &state,
            false,
        )
        .unwrap();
        assert!(ok.starts_with("https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x?redirect_uri=https%3A%2F%2Fme%2Fcallback&amazon_state=amz-state&state="));
        for evil in [
            "https://evil.example/apps",
            "http://sellercentral.amazon.com/apps",
            "https://sellercentral.amazon.com.evil.example/x",
            "https://sellercentral.amazon.com@evil.example/x",
            "javascript:alert(1)",
            "//sellercentral.amazon.com/x",
            "https://sellercentral.amazon.com\n.evil/x",
        ] {
            assert!(
                appstore_return_url(evil, &allowed, "r", "s", &state, false).is_err(),
                "{evil}"
            );
        }
        assert!(
            appstore_return_url(
                "https://sellercentral.amazon.com/x",
                &allowed,
                "r",
                "",
                &state,
                false
            )
            .is_err(),
            "no amazon_state"
        );
        // A local simulator is allowed when it is the configured origin.
        assert!(
            appstore_return_url(
                "http://127.0.0.1:4000/apps/authorize/confirm?x=1",
                &["http://127.0.0.1:4000"],
                "r",
                "s",
                &state,
                true
            )
            .unwrap()
            .contains("?x=1&redirect_uri=r&amazon_state=s&state=")
        );
        assert_eq!(
            origin_of("HTTPS://SellerCentral.Amazon.com/x"),
            None,
            "scheme is case-sensitive here"
        );
        assert_eq!(
            origin_of("https://SellerCentral.Amazon.com/x?y#z").as_deref(),
            Some("https://sellercentral.amazon.com")
        );
    }

    #[test]
    fn an_invitation_is_open_once_until_it_expires() {
        let mut inv = invitation(&["A1PA6795UKMFR9"]);
        assert!(inv.check_open(t("2026-12-04T09:59:59Z")).is_ok());
        assert_eq!(
            inv.check_open(t("2026-12-04T10:00:00Z")),
            Err(Refusal::Expired(t("2026-12-04T10:00:00Z")))
        );
        let seller = SellerId::new("A1SELLER").unwrap();
        inv.used = Some(InvitationUse {
            seller_id: seller.clone(),
            at: t("2026-12-02T00:00:00Z"),
        });
        assert_eq!(
            inv.check_open(t("2026-12-02T01:00:00Z")),
            Err(Refusal::Used(seller))
        );
        let too_long = Invitation::new(
            "x".into(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            vec![],
            SettingsTemplate::default(),
            None,
            t("2026-12-01T00:00:00Z"),
            30,
        );
        assert!(too_long.unwrap_err().to_string().contains("1 to 7 days"));
        let wrong_region = Invitation::new(
            "x".into(),
            ClientCode::new("ACME").unwrap(),
            Region::Na,
            vec![m("A1PA6795UKMFR9")],
            SettingsTemplate::default(),
            None,
            t("2026-12-01T00:00:00Z"),
            3,
        );
        assert!(wrong_region.unwrap_err().to_string().contains("region"));
        let bad_prefix = Invitation::new(
            "x".into(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            vec![],
            SettingsTemplate {
                order_prefix: "A-B".into(),
                ..SettingsTemplate::default()
            },
            None,
            t("2026-12-01T00:00:00Z"),
            3,
        );
        assert!(bad_prefix.unwrap_err().to_string().contains("prefix"));
    }

    #[test]
    fn marketplaces_are_confirmed_from_amazons_answer() {
        let answer = vec![
            Participation {
                marketplace_id: "A1PA6795UKMFR9".into(),
                participating: true,
            },
            Participation {
                marketplace_id: "A13V1IB3VIYZZH".into(),
                participating: false,
            },
            Participation {
                marketplace_id: "ATVPDKIKX0DER".into(),
                participating: true,
            },
        ];
        let c = invitation(&["A1PA6795UKMFR9", "A13V1IB3VIYZZH"])
            .confirm_marketplaces(&answer)
            .unwrap();
        assert_eq!(c.confirmed, vec![m("A1PA6795UKMFR9")]);
        assert_eq!(c.missing, vec![m("A13V1IB3VIYZZH")]);
        // None invited: every one of the region the seller sells in.
        let all = invitation(&[]).confirm_marketplaces(&answer).unwrap();
        assert_eq!(all.confirmed, vec![m("A1PA6795UKMFR9")]);
        assert_eq!(
            invitation(&["A13V1IB3VIYZZH"]).confirm_marketplaces(&answer),
            Err(Refusal::NoMarketplace { region: Region::Eu })
        );
    }

    #[test]
    fn a_consent_creates_or_renews_the_sellers_settings() {
        let inv = invitation(&["A1PA6795UKMFR9"]);
        let now = t("2026-12-02T12:00:00Z");
        let seller = SellerId::new("A1SELLER").unwrap();
        let new = inv
            .apply(&seller, None, vec![m("A1PA6795UKMFR9")], "sec".into(), now)
            .unwrap();
        assert_eq!(new.order_prefix, "AC");
        assert_eq!(
            new.order_start_date,
            now.date_naive(),
            "connect day by default"
        );
        assert_eq!(new.authorized_at, Some(now));
        assert_eq!(new.refresh_token_secret, "sec");
        assert!(new.validate().is_ok());

        let mut old = new.clone();
        old.order_prefix = "TUNED".into();
        old.authorization = Authorization::Broken {
            reason: "invalid_grant".into(),
            since: now,
        };
        let later = t("2027-11-20T00:00:00Z");
        let renewed = inv
            .apply(
                &seller,
                Some(old),
                vec![m("A1PA6795UKMFR9")],
                "sec2".into(),
                later,
            )
            .unwrap();
        assert_eq!(
            renewed.order_prefix, "TUNED",
            "the operator's settings are kept"
        );
        assert_eq!(renewed.authorization, Authorization::Active);
        assert_eq!(renewed.authorized_at, Some(later));

        let mut other = new.clone();
        other.client_code = ClientCode::new("OTHER").unwrap();
        assert!(matches!(
            inv.apply(&seller, Some(other), vec![], "s".into(), now),
            Err(Refusal::OtherClient { .. })
        ));
        let mut reauth = inv.clone();
        reauth.seller_id = Some(SellerId::new("A1SOMEONEELSE").unwrap());
        assert!(matches!(
            reauth.apply(&seller, None, vec![], "s".into(), now),
            Err(Refusal::WrongAccount { .. })
        ));
    }

    #[test]
    fn renewal_is_a_year_after_the_consent() {
        let at = t("2026-01-10T00:00:00Z");
        assert_eq!(renewal_due(at), t("2027-01-10T00:00:00Z"));
        assert_eq!(days_until_renewal(at, t("2026-12-11T00:00:00Z")), 30);
        assert_eq!(days_until_renewal(at, t("2027-01-11T00:00:00Z")), -1);
    }
}
