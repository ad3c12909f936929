//! Amazon's SP-API regions, their hosts, and the marketplaces we know.
//! Source: the "Hosts" table and marketplace ids in `shared/amazon/README.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{DomainError, MarketplaceId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Region {
    Na,
    Eu,
    Fe,
}

impl Region {
    pub const ALL: [Region; 3] = [Region::Na, Region::Eu, Region::Fe];

    /// The SP-API base URL for this region (no trailing slash).
    pub fn endpoint(self, sandbox: bool) -> &'static str {
        match (self, sandbox) {
            (Region::Na, false) => "https://sellingpartnerapi-na.amazon.com",
            (Region::Eu, false) => "https://sellingpartnerapi-eu.amazon.com",
            (Region::Fe, false) => "https://sellingpartnerapi-fe.amazon.com",
            (Region::Na, true) => "https://sandbox.sellingpartnerapi-na.amazon.com",
            (Region::Eu, true) => "https://sandbox.sellingpartnerapi-eu.amazon.com",
            (Region::Fe, true) => "https://sandbox.sellingpartnerapi-fe.amazon.com",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Na => "NA",
            Region::Eu => "EU",
            Region::Fe => "FE",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s.to_ascii_uppercase().as_str() {
            "NA" => Ok(Region::Na),
            "EU" => Ok(Region::Eu),
            "FE" => Ok(Region::Fe),
            _ => Err(DomainError::Invalid {
                kind: "region",
                value: s.to_string(),
                expected: "one of NA, EU, FE",
            }),
        }
    }
}

/// The LWA token endpoint: one host for every region.
pub const LWA_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// A marketplace we know: id, country, region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marketplace {
    pub id: &'static str,
    pub country: &'static str,
    pub region: Region,
}

/// Marketplaces listed in the fact sheet. Others are accepted (a seller's
/// region is a setting), but these get their region checked.
pub const MARKETPLACES: &[Marketplace] = &[
    Marketplace {
        id: "ATVPDKIKX0DER",
        country: "US",
        region: Region::Na,
    },
    Marketplace {
        id: "A2EUQ1WTGCTBG2",
        country: "CA",
        region: Region::Na,
    },
    Marketplace {
        id: "A1AM78C64UM0Y8",
        country: "MX",
        region: Region::Na,
    },
    Marketplace {
        id: "A1F83G8C2ARO7P",
        country: "GB",
        region: Region::Eu,
    },
    Marketplace {
        id: "A1PA6795UKMFR9",
        country: "DE",
        region: Region::Eu,
    },
    Marketplace {
        id: "A13V1IB3VIYZZH",
        country: "FR",
        region: Region::Eu,
    },
    Marketplace {
        id: "APJ6JRA9NG5V4",
        country: "IT",
        region: Region::Eu,
    },
    Marketplace {
        id: "A1RKKUPIHCS9HS",
        country: "ES",
        region: Region::Eu,
    },
    Marketplace {
        id: "A1805IZSGTT6HS",
        country: "NL",
        region: Region::Eu,
    },
    Marketplace {
        id: "A2NODRKZP88ZB9",
        country: "SE",
        region: Region::Eu,
    },
    Marketplace {
        id: "A1C3SOZRARQ6R3",
        country: "PL",
        region: Region::Eu,
    },
    Marketplace {
        id: "AMEN7PMS3EDWL",
        country: "BE",
        region: Region::Eu,
    },
    Marketplace {
        id: "A28R8C7NBKEWEA",
        country: "IE",
        region: Region::Eu,
    },
    Marketplace {
        id: "A33AVAJ2PDY3EV",
        country: "TR",
        region: Region::Eu,
    },
    Marketplace {
        id: "A2VIGQ35RCS4UG",
        country: "AE",
        region: Region::Eu,
    },
    Marketplace {
        id: "A17E79C6D8DWNP",
        country: "SA",
        region: Region::Eu,
    },
    Marketplace {
        id: "ARBP9OOSHTCHU",
        country: "EG",
        region: Region::Eu,
    },
    Marketplace {
        id: "A21TJRUUN4KGV",
        country: "IN",
        region: Region::Eu,
    },
    Marketplace {
        id: "AE08WJ6YKNBMC",
        country: "ZA",
        region: Region::Eu,
    },
    Marketplace {
        id: "A2Q3Y263D00KWC",
        country: "BR",
        region: Region::Na,
    },
    Marketplace {
        id: "A1VC38T7YXB528",
        country: "JP",
        region: Region::Fe,
    },
    Marketplace {
        id: "A39IBJ37TRP1C6",
        country: "AU",
        region: Region::Fe,
    },
    Marketplace {
        id: "A19VAU5U5O7RUS",
        country: "SG",
        region: Region::Fe,
    },
];

pub fn known_marketplace(id: &MarketplaceId) -> Option<&'static Marketplace> {
    MARKETPLACES.iter().find(|m| m.id == id.as_str())
}

/// The marketplace of a country in a region (`GB` or `UK` for Amazon.co.uk),
/// e.g. the marketplace a warehouse ships from when a seller's settings name
/// no marketplace.
pub fn marketplace_for_country(region: Region, country_code: &str) -> Option<&'static Marketplace> {
    let country = match country_code.to_ascii_uppercase().as_str() {
        "UK" => "GB".to_string(),
        other => other.to_string(),
    };
    MARKETPLACES
        .iter()
        .find(|m| m.region == region && m.country == country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_case_insensitively_and_name_the_valid_values() {
        assert_eq!("eu".parse::<Region>().unwrap(), Region::Eu);
        let err = "EUROPE".parse::<Region>().unwrap_err().to_string();
        assert!(err.contains("NA, EU, FE"), "{err}");
    }

    #[test]
    fn hosts_follow_the_fact_sheet() {
        assert_eq!(
            Region::Fe.endpoint(true),
            "https://sandbox.sellingpartnerapi-fe.amazon.com"
        );
        assert_eq!(
            Region::Na.endpoint(false),
            "https://sellingpartnerapi-na.amazon.com"
        );
    }

    #[test]
    fn known_marketplaces_have_their_region() {
        let de = MarketplaceId::new("A1PA6795UKMFR9").unwrap();
        assert_eq!(known_marketplace(&de).unwrap().region, Region::Eu);
        let unknown = MarketplaceId::new("A2ZV50J4W1RKNI").unwrap();
        assert!(known_marketplace(&unknown).is_none());
    }

    #[test]
    fn a_country_names_its_marketplace_in_the_region() {
        assert_eq!(
            marketplace_for_country(Region::Eu, "GB").unwrap().id,
            "A1F83G8C2ARO7P"
        );
        assert_eq!(
            marketplace_for_country(Region::Eu, "uk").unwrap().id,
            "A1F83G8C2ARO7P"
        );
        assert_eq!(
            marketplace_for_country(Region::Eu, "DE").unwrap().id,
            "A1PA6795UKMFR9"
        );
        assert!(marketplace_for_country(Region::Na, "DE").is_none());
        let ids: std::collections::BTreeSet<&str> = MARKETPLACES.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), MARKETPLACES.len(), "ids are unique");
    }
}
