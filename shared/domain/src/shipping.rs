//! How a seller's orders ship (issue 17, items 2, 3 and 5): the shipping
//! method table that maps Amazon's service level to the WMS's service code
//! (and a WMS service code back to Amazon's shipping method when a shipment
//! is confirmed), which order programs must ship on labels bought through
//! Amazon (Buy Shipping), and the warehouse's supply source id for
//! confirmations.
//!
//! Amazon's Orders API v2026-01-01 gives one service level per order, the
//! category in `fulfillment.fulfillmentServiceLevel` (`STANDARD`,
//! `EXPEDITED`, `NEXT_DAY`, `SECOND_DAY`, `SAME_DAY`, `PRIORITY`,
//! `SCHEDULED`, `FREE_ECONOMY`); the v0 spellings (`NextDay`, `SecondDay`,
//! ...) are accepted in the table too. The marketplace-specific names of v0
//! (`ShipServiceLevel`, e.g. `Std DE Dom_1`) are not in the v2026 answer, so
//! the table is keyed by category, optionally per marketplace: the same
//! `NEXT_DAY` may be one carrier service in the UK and another in Germany.
//!
//! Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::{DomainError, MarketplaceId};

/// Amazon's service level categories (v2026 spelling).
pub const SERVICE_LEVELS: [&str; 8] = [
    "STANDARD",
    "FREE_ECONOMY",
    "EXPEDITED",
    "PRIORITY",
    "SECOND_DAY",
    "NEXT_DAY",
    "SAME_DAY",
    "SCHEDULED",
];

/// The built-in table: Amazon's category → a neutral WMS service code the
/// WMS maps once to its own carriers. `SAME_DAY` and `SCHEDULED` are left
/// unmapped on purpose: both need a courier booking or a delivery slot, so
/// the WMS must decide (the order message says `"mapping": "unmapped"`).
pub const DEFAULT_METHODS: [(&str, &str); 6] = [
    ("STANDARD", "STANDARD"),
    ("FREE_ECONOMY", "ECONOMY"),
    ("EXPEDITED", "EXPRESS"),
    ("PRIORITY", "PRIORITY"),
    ("SECOND_DAY", "SECOND_DAY"),
    ("NEXT_DAY", "NEXT_DAY"),
];

/// The order programs Amazon lists (`programs` of an order, v2026).
pub const ORDER_PROGRAMS: [&str; 11] = [
    "AMAZON_BAZAAR",
    "AMAZON_BUSINESS",
    "AMAZON_EASY_SHIP",
    "AMAZON_HAUL",
    "DELIVERY_BY_AMAZON",
    "FBM_SHIP_PLUS",
    "INVOICE_BY_AMAZON",
    "IN_STORE_PICK_UP",
    "PREMIUM",
    "PREORDER",
    "PRIME",
];

/// `PRIME` on a merchant-fulfilled order is Seller Fulfilled Prime, which
/// Amazon requires to ship on Buy Shipping labels.
pub const DEFAULT_BUY_SHIPPING_PROGRAMS: [&str; 1] = ["PRIME"];

/// One row of the table: Amazon's side (category, optionally one
/// marketplace) and the WMS's service code; optionally what Amazon is told
/// when the WMS confirms a shipment with that service code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodRow {
    /// Amazon's service level category (`NEXT_DAY`, or v0's `NextDay`).
    pub amazon: String,
    /// Only for orders of this marketplace; absent: any marketplace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<MarketplaceId>,
    /// The WMS's service code; `null` (or absent) marks the category
    /// *unmapped* on purpose, overriding a built-in default.
    #[serde(default)]
    pub wms: Option<String>,
    /// The way back: a shipment confirmed with service `wms` is reported to
    /// Amazon with this shipping method (e.g. `Tracked 24`)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    /// ...and, when set, this carrier code (unless a carrier override matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_code: Option<String>,
}

/// The seller's shipping settings (`"shipping"` in the settings JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingSettings {
    /// Use [`DEFAULT_METHODS`] for categories the table does not name.
    #[serde(default = "yes")]
    pub use_default_methods: bool,
    /// The seller's rows; they win over the defaults.
    #[serde(default)]
    pub methods: Vec<MethodRow>,
    /// Orders in any of these programs must ship on labels bought through
    /// Amazon (Buy Shipping / Amazon Shipping).
    #[serde(default = "default_buy_shipping_programs")]
    pub buy_shipping_programs: Vec<String>,
    /// The warehouse's supply source id (`shipFromSupplySourceId`), sent
    /// with every confirmation unless the shipment message names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_supply_source_id: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_buy_shipping_programs() -> Vec<String> {
    DEFAULT_BUY_SHIPPING_PROGRAMS
        .iter()
        .map(|p| p.to_string())
        .collect()
}

impl Default for ShippingSettings {
    fn default() -> Self {
        Self {
            use_default_methods: true,
            methods: Vec::new(),
            buy_shipping_programs: default_buy_shipping_programs(),
            ship_from_supply_source_id: None,
        }
    }
}

/// Where a WMS service code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingSource {
    /// A row of the seller's table.
    Seller,
    /// The built-in table.
    Default,
    /// Nothing maps this category (or a row unmaps it): the WMS decides.
    Unmapped,
}

/// Amazon's service level as the WMS should ship it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WmsService {
    /// Amazon's category in v2026 spelling; `None` if Amazon gave none.
    pub service_level: Option<String>,
    /// The WMS's code; `None` exactly when `source` is `Unmapped`.
    pub code: Option<String>,
    pub source: MappingSource,
}

/// `NextDay`, `next-day`, `Next Day` → `NEXT_DAY`; `None` for a value that
/// is not one of Amazon's categories.
pub fn normalize_service_level(value: &str) -> Option<&'static str> {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in value.trim().chars() {
        if c == '_' || c == '-' || c == ' ' {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase();
        out.push(c.to_ascii_uppercase());
    }
    SERVICE_LEVELS.iter().copied().find(|l| *l == out)
}

impl ShippingSettings {
    /// Amazon's service level of an order in `marketplace` as the WMS's
    /// code: the seller's row for that marketplace, else its row for any
    /// marketplace, else the built-in default (if on), else unmapped.
    pub fn to_wms(&self, marketplace: &MarketplaceId, service_level: Option<&str>) -> WmsService {
        let level = service_level.and_then(normalize_service_level);
        let unmapped = WmsService {
            service_level: level
                .map(str::to_string)
                .or_else(|| service_level.map(|s| s.trim().to_ascii_uppercase())),
            code: None,
            source: MappingSource::Unmapped,
        };
        let Some(level) = level else {
            return unmapped;
        };
        let rows = || {
            self.methods
                .iter()
                .filter(|r| normalize_service_level(&r.amazon) == Some(level))
        };
        let row = rows()
            .find(|r| r.marketplace.as_ref() == Some(marketplace))
            .or_else(|| rows().find(|r| r.marketplace.is_none()));
        if let Some(row) = row {
            return match clean(row.wms.as_deref()) {
                Some(code) => WmsService {
                    code: Some(code),
                    source: MappingSource::Seller,
                    ..unmapped
                },
                None => unmapped,
            };
        }
        if self.use_default_methods
            && let Some((_, code)) = DEFAULT_METHODS.iter().find(|(l, _)| *l == level)
        {
            return WmsService {
                code: Some((*code).to_string()),
                source: MappingSource::Default,
                ..unmapped
            };
        }
        unmapped
    }

    /// The way back: the row whose WMS code is `service` (compared without
    /// case), if it says what to tell Amazon.
    pub fn from_wms(&self, service: &str) -> Option<&MethodRow> {
        let service = service.trim();
        self.methods.iter().find(|r| {
            (r.shipping_method.is_some() || r.carrier_code.is_some())
                && r.wms
                    .as_deref()
                    .is_some_and(|w| w.trim().eq_ignore_ascii_case(service))
        })
    }

    /// The programs of `programs` that make Buy Shipping mandatory (empty:
    /// any label will do).
    pub fn buy_shipping_reasons(&self, programs: &[String]) -> Vec<String> {
        programs
            .iter()
            .filter(|p| {
                self.buy_shipping_programs
                    .iter()
                    .any(|b| b.eq_ignore_ascii_case(p.trim()))
            })
            .map(|p| p.trim().to_ascii_uppercase())
            .collect()
    }

    /// Checks what serde cannot; every message says what to change.
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |m: String| Err(DomainError::Settings(m));
        let mut seen: Vec<(&str, Option<&MarketplaceId>)> = Vec::new();
        for (n, row) in self.methods.iter().enumerate() {
            let Some(level) = normalize_service_level(&row.amazon) else {
                return bad(format!(
                    "shipping.methods[{n}].amazon {:?} is not one of Amazon's service levels: use one of {}",
                    row.amazon,
                    SERVICE_LEVELS.join(", ")
                ));
            };
            if seen.contains(&(level, row.marketplace.as_ref())) {
                return bad(format!(
                    "shipping.methods[{n}] maps {level}{} a second time: keep one row per service level and marketplace",
                    row.marketplace
                        .as_ref()
                        .map(|m| format!(" in {m}"))
                        .unwrap_or_default()
                ));
            }
            seen.push((level, row.marketplace.as_ref()));
            for (field, value) in [
                ("wms", &row.wms),
                ("shipping_method", &row.shipping_method),
                ("carrier_code", &row.carrier_code),
            ] {
                if let Some(v) = value
                    && (v.trim().is_empty() || v.chars().count() > 64)
                {
                    return bad(format!(
                        "shipping.methods[{n}].{field} must be 1 to 64 characters (leave it out, or null for wms, to mark the service level unmapped)"
                    ));
                }
            }
            if row.wms.is_none() && (row.shipping_method.is_some() || row.carrier_code.is_some()) {
                return bad(format!(
                    "shipping.methods[{n}] has no wms code but a shipping_method or carrier_code: the way back needs the WMS's service code"
                ));
            }
        }
        // The way back must be unambiguous.
        for (n, a) in self.methods.iter().enumerate() {
            for b in self.methods.iter().skip(n + 1) {
                let same_code = match (a.wms.as_deref(), b.wms.as_deref()) {
                    (Some(x), Some(y)) => x.trim().eq_ignore_ascii_case(y.trim()),
                    _ => false,
                };
                if same_code
                    && (a.shipping_method != b.shipping_method || a.carrier_code != b.carrier_code)
                {
                    return bad(format!(
                        "shipping.methods: WMS code {:?} is reported to Amazon two different ways: give both rows the same shipping_method and carrier_code",
                        a.wms.as_deref().unwrap_or_default()
                    ));
                }
            }
        }
        for p in &self.buy_shipping_programs {
            if !ORDER_PROGRAMS
                .iter()
                .any(|k| k.eq_ignore_ascii_case(p.trim()))
            {
                return bad(format!(
                    "shipping.buy_shipping_programs: {p:?} is not an Amazon order program: use some of {}",
                    ORDER_PROGRAMS.join(", ")
                ));
            }
        }
        if let Some(id) = &self.ship_from_supply_source_id
            && (id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()))
        {
            return bad(
                "shipping.ship_from_supply_source_id must be 1 to 128 printable characters without spaces (the supply source id from Seller Central)"
                    .into(),
            );
        }
        Ok(())
    }

    /// The table as the operator reads it: one line per category (and per
    /// marketplace row), what the WMS gets and where it comes from.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for row in &self.methods {
            let level = normalize_service_level(&row.amazon).unwrap_or("?");
            let market = row
                .marketplace
                .as_ref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            let back = match (&row.carrier_code, &row.shipping_method) {
                (None, None) => String::new(),
                (c, m) => format!(
                    "; confirmed as {}{}",
                    c.as_deref().unwrap_or("the WMS carrier"),
                    m.as_deref().map(|m| format!(" / {m}")).unwrap_or_default()
                ),
            };
            match clean(row.wms.as_deref()) {
                Some(code) => lines.push(format!("{level}{market} -> {code} (seller){back}")),
                None => lines.push(format!("{level}{market} -> UNMAPPED (seller)")),
            }
        }
        for level in SERVICE_LEVELS {
            let named = self.methods.iter().any(|r| {
                r.marketplace.is_none() && normalize_service_level(&r.amazon) == Some(level)
            });
            if named {
                continue;
            }
            match DEFAULT_METHODS.iter().find(|(l, _)| *l == level) {
                Some((_, code)) if self.use_default_methods => {
                    lines.push(format!("{level} -> {code} (default)"))
                }
                _ => lines.push(format!("{level} -> UNMAPPED")),
            }
        }
        lines
    }
}

fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> MarketplaceId {
        MarketplaceId::new("A1PA6795UKMFR9").unwrap()
    }

    fn uk() -> MarketplaceId {
        MarketplaceId::new("A1F83G8C2ARO7P").unwrap()
    }

    fn row(amazon: &str, market: Option<MarketplaceId>, wms: Option<&str>) -> MethodRow {
        MethodRow {
            amazon: amazon.into(),
            marketplace: market,
            wms: wms.map(str::to_string),
            shipping_method: None,
            carrier_code: None,
        }
    }

    #[test]
    fn service_levels_normalise_from_both_spellings() {
        for (input, expected) in [
            ("NEXT_DAY", Some("NEXT_DAY")),
            ("NextDay", Some("NEXT_DAY")),
            ("next-day", Some("NEXT_DAY")),
            (" Second Day ", Some("SECOND_DAY")),
            ("FreeEconomy", Some("FREE_ECONOMY")),
            ("Standard", Some("STANDARD")),
            ("Std DE Dom_1", None),
            ("", None),
        ] {
            assert_eq!(normalize_service_level(input), expected, "{input}");
        }
    }

    #[test]
    fn seller_rows_beat_defaults_and_marketplace_rows_beat_general_ones() {
        let s = ShippingSettings {
            methods: vec![
                row("NextDay", None, Some("DHL-EXPRESS")),
                row("NEXT_DAY", Some(uk()), Some("RM-TRACKED-24")),
                row("STANDARD", None, None),
            ],
            ..ShippingSettings::default()
        };
        let w = s.to_wms(&uk(), Some("NEXT_DAY"));
        assert_eq!(w.code.as_deref(), Some("RM-TRACKED-24"));
        assert_eq!(w.source, MappingSource::Seller);
        let w = s.to_wms(&de(), Some("NEXT_DAY"));
        assert_eq!(w.code.as_deref(), Some("DHL-EXPRESS"));
        // A row without a code unmaps the built-in default on purpose.
        let w = s.to_wms(&de(), Some("STANDARD"));
        assert_eq!((w.code, w.source), (None, MappingSource::Unmapped));
        // Not in the table: the default.
        let w = s.to_wms(&de(), Some("EXPEDITED"));
        assert_eq!(w.code.as_deref(), Some("EXPRESS"));
        assert_eq!(w.source, MappingSource::Default);
        assert_eq!(w.service_level.as_deref(), Some("EXPEDITED"));
    }

    #[test]
    fn same_day_scheduled_unknown_and_missing_levels_are_unmapped() {
        let s = ShippingSettings::default();
        for level in [
            Some("SAME_DAY"),
            Some("SCHEDULED"),
            Some("WARP_SPEED"),
            None,
        ] {
            let w = s.to_wms(&de(), level);
            assert_eq!(w.source, MappingSource::Unmapped, "{level:?}");
            assert!(w.code.is_none());
        }
        assert_eq!(
            s.to_wms(&de(), Some("warp speed")).service_level.as_deref(),
            Some("WARP SPEED"),
            "an unknown level is passed on as given (upper case)"
        );
        let off = ShippingSettings {
            use_default_methods: false,
            ..ShippingSettings::default()
        };
        assert_eq!(
            off.to_wms(&de(), Some("STANDARD")).source,
            MappingSource::Unmapped
        );
    }

    #[test]
    fn the_way_back_finds_the_row_of_a_wms_code() {
        let mut r = row("NEXT_DAY", Some(uk()), Some("RM-TRACKED-24"));
        r.shipping_method = Some("Tracked 24".into());
        r.carrier_code = Some("Royal Mail".into());
        let s = ShippingSettings {
            methods: vec![r, row("STANDARD", None, Some("DHL-PAKET"))],
            ..ShippingSettings::default()
        };
        let back = s.from_wms("rm-tracked-24").unwrap();
        assert_eq!(back.shipping_method.as_deref(), Some("Tracked 24"));
        assert!(s.from_wms("DHL-PAKET").is_none(), "nothing to tell Amazon");
        assert!(s.from_wms("UPS").is_none());
    }

    #[test]
    fn buy_shipping_follows_the_programs() {
        let s = ShippingSettings::default();
        assert_eq!(
            s.buy_shipping_reasons(&["PRIME".into(), "AMAZON_BUSINESS".into()]),
            ["PRIME"]
        );
        assert!(s.buy_shipping_reasons(&["PREMIUM".into()]).is_empty());
        let wider = ShippingSettings {
            buy_shipping_programs: vec!["PRIME".into(), "premium".into()],
            ..ShippingSettings::default()
        };
        assert_eq!(wider.buy_shipping_reasons(&["PREMIUM".into()]), ["PREMIUM"]);
    }

    #[test]
    fn validation_says_what_to_change() {
        type Case = (fn(&mut ShippingSettings), &'static str);
        let cases: Vec<Case> = vec![
            (
                |s| s.methods = vec![row("WARP", None, Some("X"))],
                "service levels",
            ),
            (
                |s| {
                    s.methods = vec![
                        row("NEXT_DAY", None, Some("A")),
                        row("NextDay", None, Some("B")),
                    ]
                },
                "a second time",
            ),
            (
                |s| s.methods = vec![row("NEXT_DAY", None, Some(" "))],
                "1 to 64",
            ),
            (
                |s| {
                    let mut r = row("NEXT_DAY", None, None);
                    r.shipping_method = Some("Tracked 24".into());
                    s.methods = vec![r];
                },
                "way back",
            ),
            (
                |s| {
                    let mut a = row("NEXT_DAY", None, Some("X"));
                    a.shipping_method = Some("One".into());
                    let mut b = row("STANDARD", None, Some("x"));
                    b.shipping_method = Some("Two".into());
                    s.methods = vec![a, b];
                },
                "two different ways",
            ),
            (
                |s| s.buy_shipping_programs = vec!["PRIMO".into()],
                "order program",
            ),
            (
                |s| s.ship_from_supply_source_id = Some("has space".into()),
                "supply source",
            ),
        ];
        for (change, expected) in cases {
            let mut s = ShippingSettings::default();
            change(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        let ok = ShippingSettings {
            methods: vec![
                row("NEXT_DAY", Some(uk()), Some("RM24")),
                row("NEXT_DAY", Some(de()), Some("DHL-EXP")),
                row("SAME_DAY", None, None),
            ],
            ship_from_supply_source_id: Some("057d3fcc-b750-419f-bbcd-4d340c60c430".into()),
            ..ShippingSettings::default()
        };
        ok.validate().unwrap();
    }

    #[test]
    fn the_readme_example_is_valid_settings() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("\"shipping\": {")
            .expect("the README shows the shipping settings");
        let block = &readme[start..];
        let end = block.find("```").expect("the block ends");
        let json = format!("{{{}}}", &block[..end]);
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let s: ShippingSettings = serde_json::from_value(value["shipping"].clone()).unwrap();
        s.validate().unwrap();
        assert_eq!(
            s.to_wms(&uk(), Some("NEXT_DAY")).code.as_deref(),
            Some("RM-TRACKED-24")
        );
        assert_eq!(
            s.to_wms(&de(), Some("SCHEDULED")).source,
            MappingSource::Unmapped
        );
    }

    #[test]
    fn the_description_lists_every_level_once_plus_marketplace_rows() {
        let s = ShippingSettings {
            methods: vec![
                row("NEXT_DAY", Some(uk()), Some("RM24")),
                row("STANDARD", None, Some("DHL-PAKET")),
                row("EXPEDITED", None, None),
            ],
            ..ShippingSettings::default()
        };
        let lines = s.describe();
        assert!(lines.contains(&"NEXT_DAY (A1F83G8C2ARO7P) -> RM24 (seller)".to_string()));
        assert!(lines.contains(&"STANDARD -> DHL-PAKET (seller)".to_string()));
        assert!(lines.contains(&"EXPEDITED -> UNMAPPED (seller)".to_string()));
        assert!(lines.contains(&"NEXT_DAY -> NEXT_DAY (default)".to_string()));
        assert!(lines.contains(&"SAME_DAY -> UNMAPPED".to_string()));
        assert_eq!(lines.len(), 3 + 6, "{lines:#?}");
    }
}
