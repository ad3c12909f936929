//! "Marketplaces: default all" (issue 17, item 1): a seller whose settings
//! list no marketplace is served in every marketplace it sells in, as
//! Amazon's `getMarketplaceParticipations` says — refreshed once a day and
//! kept in the state table ([`Participations`]).
//!
//! Not every participation is a store to pull orders from or push stock to.
//! The rule ([`Participations::effective`]), each exclusion with its reason:
//! - `isParticipating` false: the seller does not sell there (any more);
//! - a marketplace the fact sheet places in another region: another
//!   region's endpoint and token serve it, not this seller's settings;
//! - a domain that is not an Amazon retail site (`www.amazon.…`): Amazon
//!   also lists non-Amazon sales channels (multi-channel fulfilment,
//!   webstores) whose ids no order search or listing takes.
//!
//! Pure: no I/O.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::region::known_marketplace;
use crate::{MarketplaceId, Region};

/// How long a list of participations is used before it is fetched again.
pub fn refresh_after() -> Duration {
    Duration::hours(24)
}

/// One marketplace as `getMarketplaceParticipations` lists it (no buyer
/// data: ids, names, flags).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participation {
    pub marketplace_id: String,
    pub country_code: String,
    pub name: String,
    pub domain_name: String,
    pub participating: bool,
    #[serde(default)]
    pub suspended_listings: bool,
}

/// A seller's participations as last fetched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participations {
    pub fetched_at: DateTime<Utc>,
    pub marketplaces: Vec<Participation>,
    /// Marketplaces a refresh found new, whose orders since the refresh
    /// before must still be pulled once (the incremental windows before
    /// the refresh did not ask for them). Cleared when done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch_up: Vec<CatchUp>,
}

/// Orders of `marketplace_id` last updated after `since` are still to be
/// looked at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatchUp {
    pub marketplace_id: MarketplaceId,
    pub since: DateTime<Utc>,
}

/// How far before the previous refresh a catch-up starts (a marketplace may
/// have started a little before Amazon listed it).
pub fn catch_up_margin() -> Duration {
    Duration::hours(1)
}

/// Why a participation is not one of the seller's marketplaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Excluded {
    NotParticipating,
    OtherRegion { region: Region },
    NotAnAmazonStore,
    InvalidId,
}

impl std::fmt::Display for Excluded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Excluded::NotParticipating => f.write_str("the seller does not participate"),
            Excluded::OtherRegion { region } => write!(f, "a marketplace of region {region}"),
            Excluded::NotAnAmazonStore => f.write_str("not an Amazon retail site"),
            Excluded::InvalidId => f.write_str("not a marketplace id"),
        }
    }
}

impl Participations {
    /// `self` refreshed as `fresh`: the pending catch-ups carried over, plus
    /// one for every marketplace that is effective now and was not before
    /// (from the previous fetch minus [`catch_up_margin`]).
    pub fn refreshed(&self, mut fresh: Participations, region: Region) -> Participations {
        let (before, _) = self.effective(region);
        let (now, _) = fresh.effective(region);
        let mut catch_up: Vec<CatchUp> = self
            .catch_up
            .iter()
            .filter(|c| now.contains(&c.marketplace_id))
            .cloned()
            .collect();
        for m in now {
            if !before.contains(&m) && !catch_up.iter().any(|c| c.marketplace_id == m) {
                catch_up.push(CatchUp {
                    marketplace_id: m,
                    since: self.fetched_at - catch_up_margin(),
                });
            }
        }
        fresh.catch_up = catch_up;
        fresh
    }

    /// Whether the list is older than [`refresh_after`] at `now`.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        now - self.fetched_at >= refresh_after()
    }

    /// The marketplaces a seller of `region` is served in, in Amazon's order,
    /// and the others with the reason.
    pub fn effective(&self, region: Region) -> (Vec<MarketplaceId>, Vec<(String, Excluded)>) {
        let mut included = Vec::new();
        let mut excluded = Vec::new();
        for p in &self.marketplaces {
            let Ok(id) = MarketplaceId::new(&p.marketplace_id) else {
                excluded.push((p.marketplace_id.clone(), Excluded::InvalidId));
                continue;
            };
            let reason = if !p.participating {
                Some(Excluded::NotParticipating)
            } else if let Some(known) = known_marketplace(&id)
                && known.region != region
            {
                Some(Excluded::OtherRegion {
                    region: known.region,
                })
            } else if !p
                .domain_name
                .trim()
                .to_ascii_lowercase()
                .starts_with("www.amazon.")
            {
                Some(Excluded::NotAnAmazonStore)
            } else {
                None
            };
            match reason {
                Some(r) => excluded.push((p.marketplace_id.clone(), r)),
                None if !included.contains(&id) => included.push(id),
                None => {}
            }
        }
        (included, excluded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn p(id: &str, country: &str, domain: &str, participating: bool) -> Participation {
        Participation {
            marketplace_id: id.into(),
            country_code: country.into(),
            name: format!("Amazon {country}"),
            domain_name: domain.into(),
            participating,
            suspended_listings: false,
        }
    }

    #[test]
    fn only_amazon_stores_of_the_region_the_seller_sells_in() {
        let list = Participations {
            fetched_at: Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap(),
            marketplaces: vec![
                p("A1PA6795UKMFR9", "DE", "www.amazon.de", true),
                p("A1F83G8C2ARO7P", "GB", "www.amazon.co.uk", true),
                p("A13V1IB3VIYZZH", "FR", "www.amazon.fr", false),
                p("ATVPDKIKX0DER", "US", "www.amazon.com", true),
                p("A2ZV50J4W1RKNI", "US", "sim1.stores.amazon.com", true),
                p("A1PA6795UKMFR9", "DE", "www.amazon.de", true),
                p("not an id", "DE", "www.amazon.de", true),
                // Not in the fact sheet, but an Amazon store: kept.
                p("A1ZZZZZZZZZZZZ", "XX", "www.amazon.example", true),
            ],
            catch_up: Vec::new(),
        };
        let (included, excluded) = list.effective(Region::Eu);
        let ids: Vec<&str> = included.iter().map(|m| m.as_str()).collect();
        assert_eq!(ids, ["A1PA6795UKMFR9", "A1F83G8C2ARO7P", "A1ZZZZZZZZZZZZ"]);
        let reasons: Vec<(&str, &Excluded)> =
            excluded.iter().map(|(id, r)| (id.as_str(), r)).collect();
        assert_eq!(
            reasons,
            [
                ("A13V1IB3VIYZZH", &Excluded::NotParticipating),
                (
                    "ATVPDKIKX0DER",
                    &Excluded::OtherRegion { region: Region::Na }
                ),
                ("A2ZV50J4W1RKNI", &Excluded::NotAnAmazonStore),
                ("not an id", &Excluded::InvalidId),
            ]
        );
    }

    #[test]
    fn a_marketplace_found_new_is_caught_up_from_the_refresh_before() {
        let at = Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap();
        let old = Participations {
            fetched_at: at,
            marketplaces: vec![p("A1PA6795UKMFR9", "DE", "www.amazon.de", true)],
            catch_up: Vec::new(),
        };
        let fresh = Participations {
            fetched_at: at + Duration::days(1),
            marketplaces: vec![
                p("A1PA6795UKMFR9", "DE", "www.amazon.de", true),
                p("A1805IZSGTT6HS", "NL", "www.amazon.nl", true),
                p("A2ZV50J4W1RKNI", "US", "sim1.stores.amazon.com", true),
            ],
            catch_up: Vec::new(),
        };
        let next = old.refreshed(fresh.clone(), Region::Eu);
        assert_eq!(
            next.catch_up,
            [CatchUp {
                marketplace_id: MarketplaceId::new("A1805IZSGTT6HS").unwrap(),
                since: at - Duration::hours(1),
            }]
        );
        // Still pending at the next refresh: kept, not restarted; dropped
        // once the marketplace is gone again.
        let later = next.refreshed(
            Participations {
                fetched_at: at + Duration::days(2),
                ..fresh.clone()
            },
            Region::Eu,
        );
        assert_eq!(later.catch_up, next.catch_up);
        let gone = next.refreshed(
            Participations {
                fetched_at: at + Duration::days(2),
                ..old.clone()
            },
            Region::Eu,
        );
        assert!(gone.catch_up.is_empty());
    }

    #[test]
    fn a_list_is_fetched_again_after_a_day() {
        let at = Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap();
        let list = Participations {
            fetched_at: at,
            marketplaces: Vec::new(),
            catch_up: Vec::new(),
        };
        assert!(!list.is_stale(at + Duration::hours(23)));
        assert!(list.is_stale(at + Duration::hours(24)));
    }
}
