//! Which carrier Amazon is told about: a WMS carrier name and service become
//! Amazon's `carrierCode` (`carrierName` for `Other`) and `shippingMethod`,
//! for `confirmShipment` and the order-fulfilment feed alike.
//!
//! The rules, first match wins:
//! 1. **Per-seller override** (`SellerSettings::carrier_overrides`): a key
//!    `"<carrier>/<service>"` or `"<carrier>"`, compared without case,
//!    punctuation or extra spaces; its code and, if set, its shipping method.
//! 2. **Exact code**: the WMS sends one of the codes in [`CODES`], spelt
//!    exactly as Amazon spells it (case-sensitive).
//! 3. **Built-in alias** ([`ALIASES`]): a common name, compared without case
//!    or punctuation, alone or followed by a product name — `Royal Mail 48`
//!    → `Royal Mail`, `USPS Priority Mail` → `USPS`, `DHL Express` → `DHL`,
//!    `Evri` → `Hermes UK`. The longest alias wins (`DPD Local` before `DPD`).
//! 4. **Anything else** goes as `Other` with the WMS carrier as `carrierName`:
//!    Amazon accepts it, it just cannot track the parcel on its own.
//!
//! The shipping method is the override's, else the WMS service, else — for
//! an alias with a product name such as `Royal Mail 48` — the WMS carrier
//! name itself, so the product is not lost.
//!
//! [`CODES`] is the subset of Amazon's carrier-code list the connector knows
//! by name; a test checks every one against `shared/amazon/carrier-codes.txt`
//! (read at test time: production never reads that file). A code outside
//! [`CODES`] still works through a per-seller override.
//!
//! Pure: no I/O, depends on `domain` only.

use std::collections::BTreeMap;

use domain::settings::CarrierOverride;
use domain::shipping::ShippingSettings;

/// Amazon's code for a carrier not on its list; needs a carrier name.
pub const OTHER: &str = "Other";

/// Amazon carrier codes the connector accepts as sent and maps aliases to,
/// exactly as Amazon spells them (2022 list, `carrier-codes.txt`).
pub const CODES: &[&str] = &[
    // UK and Ireland
    "Royal Mail",
    "Parcelforce",
    "Hermes UK",
    "Yodel",
    "DPD Local",
    "DX",
    "Tuffnells",
    "Whistl",
    "APC",
    "Fastway",
    // Germany, Austria, Switzerland
    "DHL",
    "DHL-Paket",
    "Deutsche Post",
    "Hermes",
    "Hermes Logistik Gruppe",
    "GLS",
    "DPD",
    "AT POST",
    "Swiss post",
    // Benelux, Nordics, Poland
    "PostNL",
    "BPOST",
    "PostNord",
    "InPost",
    "Polish Post",
    // France
    "La Poste",
    "Colissimo",
    "Chronopost",
    "Colis Prive",
    "Mondial Relay",
    "GEODIS",
    // Spain, Italy
    "Correos",
    "Correos Express",
    "Seur",
    "MRW",
    "Nacex",
    "Poste Italiane",
    "SDA",
    "BRT",
    // North America
    "USPS",
    "UPS",
    "UPS Mail Innovations",
    "UPS Freight",
    "FedEx",
    "FedEx SmartPost",
    "Fedex Freight",
    "OnTrac",
    "Lasership",
    "Canada Post",
    "PUROLATOR",
    // Asia-Pacific, Middle East
    "Japan Post",
    "YamatoTransport",
    "SagawaExpress",
    "Australia Post",
    "Singapore Post",
    "India Post",
    "China Post",
    "Emirates Post",
    "Aramex",
    // Worldwide (not "DHL Express": the issue maps that name to DHL, see ALIASES)
    "DHL eCommerce",
    "DHL Global Mail",
    "DHL Freight",
    "TNT",
    "Asendia",
    "Landmark Global",
    "Spring GDS",
    "DB Schenker",
    "Amazon Shipping",
    OTHER,
];

/// Common names → Amazon code. Names are in [`normalize`]d form.
pub const ALIASES: &[(&str, &str)] = &[
    ("royal mail", "Royal Mail"),
    ("rm", "Royal Mail"),
    ("parcelforce", "Parcelforce"),
    ("parcelforce worldwide", "Parcelforce"),
    ("evri", "Hermes UK"),
    ("hermes uk", "Hermes UK"),
    ("myhermes", "Hermes UK"),
    ("yodel", "Yodel"),
    ("dpd local", "DPD Local"),
    ("dpd", "DPD"),
    ("dx", "DX"),
    ("tuffnells", "Tuffnells"),
    ("whistl", "Whistl"),
    ("apc", "APC"),
    ("apc overnight", "APC"),
    ("dhl", "DHL"),
    // The rule: DHL Express goes as DHL (the service stays the
    // shipping method); a seller who wants the `DHL Express` code sets an
    // override.
    ("dhl express", "DHL"),
    ("dhl paket", "DHL"),
    ("dhl parcel", "DHL"),
    ("dhl ecommerce", "DHL eCommerce"),
    ("dhl global mail", "DHL Global Mail"),
    ("dhl freight", "DHL Freight"),
    ("deutsche post", "Deutsche Post"),
    ("deutsche post dhl", "Deutsche Post"),
    ("hermes", "Hermes"),
    ("hermes germany", "Hermes"),
    ("gls", "GLS"),
    ("general logistics systems", "GLS"),
    ("austrian post", "AT POST"),
    ("osterreichische post", "AT POST"),
    ("post at", "AT POST"),
    ("swiss post", "Swiss post"),
    ("die post", "Swiss post"),
    ("postnl", "PostNL"),
    ("post nl", "PostNL"),
    ("bpost", "BPOST"),
    ("postnord", "PostNord"),
    ("inpost", "InPost"),
    ("poczta polska", "Polish Post"),
    ("polish post", "Polish Post"),
    ("la poste", "La Poste"),
    ("colissimo", "Colissimo"),
    ("chronopost", "Chronopost"),
    ("colis prive", "Colis Prive"),
    ("mondial relay", "Mondial Relay"),
    ("geodis", "GEODIS"),
    ("correos", "Correos"),
    ("correos express", "Correos Express"),
    ("seur", "Seur"),
    ("mrw", "MRW"),
    ("nacex", "Nacex"),
    ("poste italiane", "Poste Italiane"),
    ("sda", "SDA"),
    ("brt", "BRT"),
    ("bartolini", "BRT"),
    ("usps", "USPS"),
    ("us postal service", "USPS"),
    ("united states postal service", "USPS"),
    ("ups", "UPS"),
    ("united parcel service", "UPS"),
    ("ups mail innovations", "UPS Mail Innovations"),
    ("ups freight", "UPS Freight"),
    ("fedex", "FedEx"),
    ("federal express", "FedEx"),
    ("fedex smartpost", "FedEx SmartPost"),
    ("fedex freight", "Fedex Freight"),
    ("ontrac", "OnTrac"),
    ("lasership", "Lasership"),
    ("canada post", "Canada Post"),
    ("postes canada", "Canada Post"),
    ("purolator", "PUROLATOR"),
    ("japan post", "Japan Post"),
    ("yamato", "YamatoTransport"),
    ("yamato transport", "YamatoTransport"),
    ("sagawa", "SagawaExpress"),
    ("sagawa express", "SagawaExpress"),
    ("australia post", "Australia Post"),
    ("auspost", "Australia Post"),
    ("singapore post", "Singapore Post"),
    ("singpost", "Singapore Post"),
    ("india post", "India Post"),
    ("china post", "China Post"),
    ("emirates post", "Emirates Post"),
    ("aramex", "Aramex"),
    ("tnt", "TNT"),
    ("asendia", "Asendia"),
    ("landmark global", "Landmark Global"),
    ("spring gds", "Spring GDS"),
    ("db schenker", "DB Schenker"),
    ("schenker", "DB Schenker"),
    ("amazon shipping", "Amazon Shipping"),
];

/// Which rule produced a mapping (for logs and the report).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Override,
    Exact,
    Alias,
    Other,
    /// The seller's shipping method table (`shipping.methods`, the way back
    /// from a WMS service code).
    MethodTable,
}

/// What Amazon is told about the carrier of one package.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CarrierMapping {
    /// `carrierCode` (`confirmShipment`) / `CarrierCode` (feed).
    pub carrier_code: String,
    /// Set exactly when `carrier_code` is [`OTHER`].
    pub carrier_name: Option<String>,
    pub shipping_method: Option<String>,
    pub rule: Rule,
}

impl CarrierMapping {
    pub fn is_other(&self) -> bool {
        self.carrier_code == OTHER
    }
}

/// Lower case, every run of characters other than letters and digits one
/// space, trimmed; German/French accents folded (`Österreichische` →
/// `osterreichische`). `"DHL-Paket"` → `"dhl paket"`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut space = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = fold(c);
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    out
}

fn fold(c: char) -> char {
    match c {
        'ä' | 'à' | 'á' | 'â' => 'a',
        'ö' | 'ó' | 'ô' | 'ò' => 'o',
        'ü' | 'ú' | 'û' | 'ù' => 'u',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

/// The override key for a carrier and an optional service, normalised
/// (`"Royal Mail / Tracked 24"` → `"royal mail/tracked 24"`).
pub fn override_key(key: &str) -> String {
    match key.split_once('/') {
        Some((carrier, service)) => format!("{}/{}", normalize(carrier), normalize(service)),
        None => normalize(key),
    }
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The alias of a normalised carrier name, longest first: the whole name,
/// or the alias followed by more words.
fn alias(normalized: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .filter(|(name, _)| {
            normalized == *name
                || normalized
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(' '))
        })
        .max_by_key(|(name, _)| name.len())
        .map(|(_, code)| *code)
}

/// Maps the WMS `carrier` and `service` for one seller.
pub fn map_carrier(
    carrier: &str,
    service: Option<&str>,
    overrides: &BTreeMap<String, CarrierOverride>,
) -> CarrierMapping {
    let carrier = carrier.trim();
    let service = non_empty(service);
    let wanted_full = service
        .as_deref()
        .map(|s| format!("{}/{}", normalize(carrier), normalize(s)));
    let wanted = normalize(carrier);
    let found = overrides
        .iter()
        .map(|(k, v)| (override_key(k), v))
        .filter(|(k, _)| Some(k) == wanted_full.as_ref() || *k == wanted)
        // A carrier/service key beats a carrier key.
        .max_by_key(|(k, _)| k.contains('/'));
    if let Some((_, o)) = found {
        let code = o.carrier_code.trim().to_string();
        let other = code == OTHER;
        return CarrierMapping {
            carrier_name: other.then(|| carrier.to_string()),
            carrier_code: code,
            shipping_method: non_empty(o.shipping_method.as_deref()).or(service),
            rule: Rule::Override,
        };
    }
    if carrier != OTHER
        && let Some(code) = CODES.iter().find(|c| **c == carrier)
    {
        return CarrierMapping {
            carrier_code: (*code).to_string(),
            carrier_name: None,
            shipping_method: service,
            rule: Rule::Exact,
        };
    }
    if let Some(code) = alias(&wanted) {
        // "Royal Mail 48": the product name is the carrier string itself.
        let product = (wanted != normalize(code)).then(|| carrier.to_string());
        return CarrierMapping {
            carrier_code: code.to_string(),
            carrier_name: None,
            shipping_method: service.or(product),
            rule: Rule::Alias,
        };
    }
    CarrierMapping {
        carrier_code: OTHER.to_string(),
        carrier_name: Some(carrier.to_string()),
        shipping_method: service,
        rule: Rule::Other,
    }
}

/// [`map_carrier`] for one seller, then the way back of its shipping method
/// table: a WMS service code with a row there gets the row's shipping method
/// (and its carrier code, if set), unless a carrier override matched.
pub fn map_for_seller(
    carrier: &str,
    service: Option<&str>,
    overrides: &BTreeMap<String, CarrierOverride>,
    shipping: &ShippingSettings,
) -> CarrierMapping {
    let mut m = map_carrier(carrier, service, overrides);
    if m.rule == Rule::Override {
        return m;
    }
    let Some(row) = service.and_then(|s| shipping.from_wms(s)) else {
        return m;
    };
    if let Some(method) = non_empty(row.shipping_method.as_deref()) {
        m.shipping_method = Some(method);
    }
    if let Some(code) = non_empty(row.carrier_code.as_deref()) {
        m.carrier_name = (code == OTHER).then(|| carrier.trim().to_string());
        m.carrier_code = code;
    }
    m.rule = Rule::MethodTable;
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn accepted_codes() -> BTreeSet<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/amazon/carrier-codes.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        text.lines().map(str::to_string).collect()
    }

    fn check(
        carrier: &str,
        service: Option<&str>,
        expected: (&str, Option<&str>, Option<&str>, Rule),
    ) {
        let m = map_carrier(carrier, service, &BTreeMap::new());
        assert_eq!(
            (
                m.carrier_code.as_str(),
                m.carrier_name.as_deref(),
                m.shipping_method.as_deref(),
                m.rule
            ),
            expected,
            "{carrier:?} / {service:?}"
        );
    }

    #[test]
    fn every_code_is_one_amazon_accepts_spelt_exactly() {
        let accepted = accepted_codes();
        assert!(
            accepted.len() > 300,
            "the list has {} codes",
            accepted.len()
        );
        for code in CODES {
            assert!(
                accepted.contains(*code),
                "{code:?} is not in carrier-codes.txt"
            );
        }
        for (name, code) in ALIASES {
            assert!(
                CODES.contains(code),
                "alias {name:?} maps to {code:?}, not in CODES"
            );
            assert_eq!(&normalize(name), name, "alias {name:?} is not normalised");
        }
        let names: BTreeSet<_> = ALIASES.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), ALIASES.len(), "an alias is listed twice");
        let codes: BTreeSet<_> = CODES.iter().collect();
        assert_eq!(codes.len(), CODES.len(), "a code is listed twice");
    }

    #[test]
    fn exact_codes_are_case_sensitive() {
        check("Royal Mail", None, ("Royal Mail", None, None, Rule::Exact));
        check(
            "DHL",
            Some("Paket"),
            ("DHL", None, Some("Paket"), Rule::Exact),
        );
        check(
            "Colis Prive",
            None,
            ("Colis Prive", None, None, Rule::Exact),
        );
        // Amazon's list has a `DHL Express` code too, but the rule asked for
        // is DHL Express → DHL; a seller can override it.
        check(
            "DHL Express",
            None,
            ("DHL", None, Some("DHL Express"), Rule::Alias),
        );
        // Another spelling is not the code, but the alias still finds it.
        check("royal mail", None, ("Royal Mail", None, None, Rule::Alias));
        check(
            "COLIS PRIVE",
            None,
            ("Colis Prive", None, None, Rule::Alias),
        );
    }

    #[test]
    fn common_names_map_through_aliases() {
        check(
            "Royal Mail 48",
            None,
            ("Royal Mail", None, Some("Royal Mail 48"), Rule::Alias),
        );
        check(
            "Royal Mail Tracked 24",
            Some("Signed For"),
            ("Royal Mail", None, Some("Signed For"), Rule::Alias),
        );
        check(
            "USPS Priority Mail",
            None,
            ("USPS", None, Some("USPS Priority Mail"), Rule::Alias),
        );
        check(
            "dhl express",
            Some("Express Worldwide"),
            ("DHL", None, Some("Express Worldwide"), Rule::Alias),
        );
        check(
            "DHL Paket",
            None,
            ("DHL", None, Some("DHL Paket"), Rule::Alias),
        );
        check(
            "Deutsche Post DHL",
            None,
            (
                "Deutsche Post",
                None,
                Some("Deutsche Post DHL"),
                Rule::Alias,
            ),
        );
        check("Evri", None, ("Hermes UK", None, Some("Evri"), Rule::Alias));
        check("Hermes", None, ("Hermes", None, None, Rule::Exact));
        check("DPD Local", None, ("DPD Local", None, None, Rule::Exact));
        check(
            "dpd local next day",
            None,
            ("DPD Local", None, Some("dpd local next day"), Rule::Alias),
        );
        check(
            "DPD Classic",
            None,
            ("DPD", None, Some("DPD Classic"), Rule::Alias),
        );
        check(
            "ups",
            Some("Standard"),
            ("UPS", None, Some("Standard"), Rule::Alias),
        );
        check(
            "FedEx International Priority",
            None,
            (
                "FedEx",
                None,
                Some("FedEx International Priority"),
                Rule::Alias,
            ),
        );
        check(
            "GLS",
            Some("BusinessParcel"),
            ("GLS", None, Some("BusinessParcel"), Rule::Exact),
        );
        check(
            "Post NL",
            None,
            ("PostNL", None, Some("Post NL"), Rule::Alias),
        );
        check(
            "La Poste - Colissimo",
            None,
            ("La Poste", None, Some("La Poste - Colissimo"), Rule::Alias),
        );
        check(
            "Correos Express",
            None,
            ("Correos Express", None, None, Rule::Exact),
        );
        check(
            "Poste Italiane",
            None,
            ("Poste Italiane", None, None, Rule::Exact),
        );
        check(
            "Amazon Shipping",
            Some("Next Day"),
            ("Amazon Shipping", None, Some("Next Day"), Rule::Exact),
        );
        check(
            "Österreichische Post",
            None,
            ("AT POST", None, Some("Österreichische Post"), Rule::Alias),
        );
    }

    #[test]
    fn unknown_carriers_go_as_other_with_their_name() {
        check(
            "Kurier Müller",
            Some("Same day"),
            (
                "Other",
                Some("Kurier Müller"),
                Some("Same day"),
                Rule::Other,
            ),
        );
        // A word that merely starts like an alias is not that carrier.
        check(
            "Upsilon Freight",
            None,
            ("Other", Some("Upsilon Freight"), None, Rule::Other),
        );
        check("DHLX", None, ("Other", Some("DHLX"), None, Rule::Other));
        // "Other" itself still needs a name: the WMS's word is all we have.
        check("Other", None, ("Other", Some("Other"), None, Rule::Other));
    }

    #[test]
    fn seller_overrides_come_first_carrier_service_before_carrier() {
        let mut o = BTreeMap::new();
        o.insert(
            "DHL Express".to_string(),
            CarrierOverride {
                carrier_code: "DHL Express".into(),
                shipping_method: None,
            },
        );
        o.insert(
            "royal mail / tracked 24".to_string(),
            CarrierOverride {
                carrier_code: "Royal Mail".into(),
                shipping_method: Some("Tracked 24".into()),
            },
        );
        o.insert(
            "Royal-Mail".to_string(),
            CarrierOverride {
                carrier_code: "Parcelforce".into(),
                shipping_method: None,
            },
        );
        o.insert(
            "Kurier".to_string(),
            CarrierOverride {
                carrier_code: "Other".into(),
                shipping_method: Some("Bike".into()),
            },
        );
        let m = map_carrier("dhl express", Some("Worldwide"), &o);
        assert_eq!(
            (
                m.carrier_code.as_str(),
                m.shipping_method.as_deref(),
                m.rule
            ),
            ("DHL Express", Some("Worldwide"), Rule::Override)
        );
        let m = map_carrier("Royal Mail", Some("Tracked-24"), &o);
        assert_eq!(
            (m.carrier_code.as_str(), m.shipping_method.as_deref()),
            ("Royal Mail", Some("Tracked 24"))
        );
        let m = map_carrier("Royal Mail", Some("48"), &o);
        assert_eq!(
            (m.carrier_code.as_str(), m.shipping_method.as_deref()),
            ("Parcelforce", Some("48"))
        );
        let m = map_carrier("KURIER", None, &o);
        assert_eq!(
            (
                m.carrier_code.as_str(),
                m.carrier_name.as_deref(),
                m.shipping_method.as_deref()
            ),
            ("Other", Some("KURIER"), Some("Bike"))
        );
        assert!(m.is_other());
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("  DHL-Paket "), "dhl paket");
        assert_eq!(normalize("Royal Mail® 1st  Class"), "royal mail 1st class");
        assert_eq!(
            override_key("Royal Mail/Tracked 24"),
            "royal mail/tracked 24"
        );
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn the_sellers_method_table_names_the_shipping_method_of_a_wms_code() {
        use domain::shipping::MethodRow;
        let shipping = ShippingSettings {
            methods: vec![
                MethodRow {
                    amazon: "NEXT_DAY".into(),
                    marketplace: None,
                    wms: Some("RM-TRACKED-24".into()),
                    shipping_method: Some("Tracked 24".into()),
                    carrier_code: Some("Royal Mail".into()),
                },
                MethodRow {
                    amazon: "STANDARD".into(),
                    marketplace: None,
                    wms: Some("ECO".into()),
                    shipping_method: Some("Economy".into()),
                    carrier_code: None,
                },
            ],
            ..ShippingSettings::default()
        };
        let none = BTreeMap::new();
        let m = map_for_seller("RM", Some("rm-tracked-24"), &none, &shipping);
        assert_eq!(
            (
                m.carrier_code.as_str(),
                m.shipping_method.as_deref(),
                m.rule
            ),
            ("Royal Mail", Some("Tracked 24"), Rule::MethodTable)
        );
        // A carrier from the aliases keeps its code; the method comes from the table.
        let m = map_for_seller("DHL", Some("ECO"), &none, &shipping);
        assert_eq!(
            (m.carrier_code.as_str(), m.shipping_method.as_deref()),
            ("DHL", Some("Economy"))
        );
        // An unknown carrier mapped to a real code loses its Other name.
        let m = map_for_seller("Kurier Müller", Some("RM-TRACKED-24"), &none, &shipping);
        assert_eq!(
            (m.carrier_code.as_str(), m.carrier_name),
            ("Royal Mail", None)
        );
        // Codes the table does not know, and an explicit carrier override, win as before.
        let m = map_for_seller("DHL", Some("Paket"), &none, &shipping);
        assert_eq!(m.shipping_method.as_deref(), Some("Paket"));
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "DHL/ECO".to_string(),
            CarrierOverride {
                carrier_code: "DHL-Paket".into(),
                shipping_method: None,
            },
        );
        let m = map_for_seller("DHL", Some("ECO"), &overrides, &shipping);
        assert_eq!(
            (
                m.carrier_code.as_str(),
                m.shipping_method.as_deref(),
                m.rule
            ),
            ("DHL-Paket", Some("ECO"), Rule::Override)
        );
    }
}
