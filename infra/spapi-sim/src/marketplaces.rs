//! The marketplaces the simulator knows: the fact sheet's list
//! (`shared/amazon/README.md`, "Hosts") plus Brazil from the Orders model's
//! sandbox examples, with the fields the Sellers API returns.

/// One marketplace as the Sellers API describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketplaceInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub country_code: &'static str,
    pub currency: &'static str,
    pub language: &'static str,
    pub domain: &'static str,
}

const fn m(
    id: &'static str,
    name: &'static str,
    country_code: &'static str,
    currency: &'static str,
    language: &'static str,
    domain: &'static str,
) -> MarketplaceInfo {
    MarketplaceInfo {
        id,
        name,
        country_code,
        currency,
        language,
        domain,
    }
}

pub const MARKETPLACES: &[MarketplaceInfo] = &[
    m(
        "ATVPDKIKX0DER",
        "Amazon.com",
        "US",
        "USD",
        "en_US",
        "www.amazon.com",
    ),
    m(
        "A2EUQ1WTGCTBG2",
        "Amazon.ca",
        "CA",
        "CAD",
        "en_CA",
        "www.amazon.ca",
    ),
    m(
        "A1AM78C64UM0Y8",
        "Amazon.com.mx",
        "MX",
        "MXN",
        "es_MX",
        "www.amazon.com.mx",
    ),
    m(
        "A2Q3Y263D00KWC",
        "Amazon.com.br",
        "BR",
        "BRL",
        "pt_BR",
        "www.amazon.com.br",
    ),
    m(
        "A1F83G8C2ARO7P",
        "Amazon.co.uk",
        "GB",
        "GBP",
        "en_GB",
        "www.amazon.co.uk",
    ),
    m(
        "A1PA6795UKMFR9",
        "Amazon.de",
        "DE",
        "EUR",
        "de_DE",
        "www.amazon.de",
    ),
    m(
        "A13V1IB3VIYZZH",
        "Amazon.fr",
        "FR",
        "EUR",
        "fr_FR",
        "www.amazon.fr",
    ),
    m(
        "APJ6JRA9NG5V4",
        "Amazon.it",
        "IT",
        "EUR",
        "it_IT",
        "www.amazon.it",
    ),
    m(
        "A1RKKUPIHCS9HS",
        "Amazon.es",
        "ES",
        "EUR",
        "es_ES",
        "www.amazon.es",
    ),
    m(
        "A1805IZSGTT6HS",
        "Amazon.nl",
        "NL",
        "EUR",
        "nl_NL",
        "www.amazon.nl",
    ),
    m(
        "A2NODRKZP88ZB9",
        "Amazon.se",
        "SE",
        "SEK",
        "sv_SE",
        "www.amazon.se",
    ),
    m(
        "A1C3SOZRARQ6R3",
        "Amazon.pl",
        "PL",
        "PLN",
        "pl_PL",
        "www.amazon.pl",
    ),
    m(
        "AMEN7PMS3EDWL",
        "Amazon.com.be",
        "BE",
        "EUR",
        "fr_BE",
        "www.amazon.com.be",
    ),
    m(
        "A28R8C7NBKEWEA",
        "Amazon.ie",
        "IE",
        "EUR",
        "en_IE",
        "www.amazon.ie",
    ),
    m(
        "A1VC38T7YXB528",
        "Amazon.co.jp",
        "JP",
        "JPY",
        "ja_JP",
        "www.amazon.co.jp",
    ),
];

pub fn marketplace(id: &str) -> Option<&'static MarketplaceInfo> {
    MARKETPLACES.iter().find(|m| m.id == id)
}

/// The non-Amazon sales channel the simulator lists beside `home` for a
/// seller with `non_amazon_channel` (the simulator's own id; the shape of the
/// "Non-Amazon" entries Amazon returns: a store that is not `www.amazon.…`).
pub fn non_amazon(home: &MarketplaceInfo) -> MarketplaceInfo {
    MarketplaceInfo {
        id: NON_AMAZON_ID,
        name: "Non-Amazon",
        country_code: home.country_code,
        currency: home.currency,
        language: home.language,
        domain: "sim1.stores.amazon.com",
    }
}

/// The id of the simulated non-Amazon sales channel.
pub const NON_AMAZON_ID: &str = "ASIMNONAMAZON01";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_sheet_marketplace_is_known_once() {
        for id in [
            "A1PA6795UKMFR9",
            "A1F83G8C2ARO7P",
            "A13V1IB3VIYZZH",
            "APJ6JRA9NG5V4",
            "A1RKKUPIHCS9HS",
            "A1805IZSGTT6HS",
            "A2NODRKZP88ZB9",
            "A1C3SOZRARQ6R3",
            "AMEN7PMS3EDWL",
            "A28R8C7NBKEWEA",
            "ATVPDKIKX0DER",
            "A2EUQ1WTGCTBG2",
            "A1AM78C64UM0Y8",
            "A1VC38T7YXB528",
        ] {
            assert_eq!(
                MARKETPLACES.iter().filter(|m| m.id == id).count(),
                1,
                "{id}"
            );
        }
        for m in MARKETPLACES {
            assert_eq!(m.country_code.len(), 2);
            assert!(m.country_code.chars().all(|c| c.is_ascii_uppercase()));
        }
    }
}
