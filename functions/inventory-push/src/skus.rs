//! The pure rules of the SKU reconciliation (DropStream: "the SKUs defined
//! in Amazon … must be identical to the SKUs … in the WMS"): the seller's
//! Amazon listings against the WMS's SKUs, through the seller's SKU mapping
//! exceptions (`inventory.sku_map`, WMS SKU → Amazon SKU). No I/O.
//!
//! What it reports:
//! - **only on Amazon**: active merchant-fulfilled listings no WMS SKU maps
//!   to — the stock push never updates them, and their orders name a SKU the
//!   warehouse does not know;
//! - **only in the WMS**: WMS SKUs (after mapping) Amazon has no listing for
//!   — every push of them is refused;
//! - **not merchant-fulfilled on Amazon**: WMS SKUs whose listing is
//!   fulfilled by Amazon only (FBA) — a push sets no quantity anyone sells;
//! - **mapping exceptions that point nowhere**: a `sku_map` entry whose WMS
//!   SKU the WMS does not have, or whose Amazon SKU Amazon does not list;
//! - counts of listings seen, matched, inactive (closed or suppressed:
//!   matched, but not for sale) and fulfilled by Amazon.
//!
//! An Amazon scan that did not finish (time, Amazon's paging cap) makes
//! "only in the WMS" and the Amazon side of the mapping check unknowable:
//! they are then left out (`None`), never guessed.

use std::collections::{BTreeMap, BTreeSet};

use domain::settings::InventorySettings;
use serde::{Deserialize, Serialize};

/// What the scan learnt of one Amazon listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListingFacts {
    /// The listing has the seller's own fulfilment channel (`DEFAULT`, or
    /// its configured code), or no channel yet (no quantity ever set).
    pub merchant_fulfilled: bool,
    /// Some marketplace lists it as buyable or discoverable.
    pub active: bool,
    /// The quantity on the seller's own channel, if Amazon said.
    pub quantity: Option<u32>,
}

/// A `sku_map` entry that points nowhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DanglingMapping {
    pub wms_sku: String,
    pub amazon_sku: String,
    /// `wms_sku_unknown` (the WMS has no such SKU) or `amazon_sku_unlisted`
    /// (Amazon has no listing with that SKU).
    pub reason: String,
}

/// SKUs of one kind: how many, and which (all of them, or the first
/// [`SkuList::keep`]-many once stored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuList {
    pub count: usize,
    pub skus: Vec<String>,
}

impl SkuList {
    fn of(skus: Vec<String>) -> Self {
        Self {
            count: skus.len(),
            skus,
        }
    }

    /// The same count with at most `n` SKUs named.
    pub fn keep(&mut self, n: usize) {
        self.skus.truncate(n);
    }
}

/// The outcome of one reconciliation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuReport {
    pub seller_id: String,
    /// The Amazon scan read every listing (else the WMS-side lists are unknown).
    pub complete: bool,
    /// Why it is not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    pub marketplaces: Vec<String>,
    /// Listings Amazon returned (any channel, any status).
    pub amazon_listings: usize,
    /// Of those, merchant-fulfilled and active: what the WMS should stock.
    pub amazon_active_mfn: usize,
    /// Listings fulfilled by Amazon only (not the connector's business).
    pub amazon_fba: usize,
    /// SKUs the WMS stock endpoint listed.
    pub wms_skus: usize,
    /// WMS SKUs whose (mapped) SKU Amazon lists merchant-fulfilled.
    pub matched: usize,
    /// Matched, but the listing is inactive (closed or suppressed).
    pub matched_inactive: usize,
    pub only_on_amazon: SkuList,
    /// `None` when the Amazon scan was incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_in_wms: Option<SkuList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_mfn_on_amazon: Option<SkuList>,
    pub dangling_mappings: Vec<DanglingMapping>,
    /// Listings read, Amazon calls made, date windows searched.
    pub listings_read: usize,
    pub calls: u32,
    pub windows: u32,
}

impl SkuReport {
    /// SKU mismatches that need someone: only on Amazon, only in the WMS,
    /// FBA-only in the WMS, and mapping exceptions that point nowhere.
    pub fn problems(&self) -> usize {
        self.only_on_amazon.count
            + self.only_in_wms.as_ref().map_or(0, |l| l.count)
            + self.not_mfn_on_amazon.as_ref().map_or(0, |l| l.count)
            + self.dangling_mappings.len()
    }

    /// The same report naming at most `n` SKUs per list (what is stored).
    pub fn trimmed(&self, n: usize) -> SkuReport {
        let mut r = self.clone();
        r.only_on_amazon.keep(n);
        if let Some(l) = r.only_in_wms.as_mut() {
            l.keep(n);
        }
        if let Some(l) = r.not_mfn_on_amazon.as_mut() {
            l.keep(n);
        }
        r.dangling_mappings.truncate(n);
        r
    }
}

/// Compares the Amazon listings (`complete` = every one was read) with the
/// WMS's SKUs through `settings.sku_map`.
pub fn reconcile(
    amazon: &BTreeMap<String, ListingFacts>,
    complete: bool,
    wms_skus: &BTreeSet<String>,
    settings: &InventorySettings,
) -> SkuReport {
    let amazon_sku = |wms: &str| -> String {
        settings
            .sku_map
            .get(wms)
            .cloned()
            .unwrap_or_else(|| wms.to_string())
    };
    // Amazon SKU → the WMS SKUs that map to it.
    let mut mapped: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for wms in wms_skus {
        mapped.entry(amazon_sku(wms)).or_default().push(wms);
    }
    let mut report = SkuReport {
        complete,
        amazon_listings: amazon.len(),
        wms_skus: wms_skus.len(),
        ..SkuReport::default()
    };
    let mut only_on_amazon = Vec::new();
    for (sku, facts) in amazon {
        if !facts.merchant_fulfilled {
            report.amazon_fba += 1;
            continue;
        }
        if facts.active {
            report.amazon_active_mfn += 1;
        }
        if mapped.contains_key(sku) {
            report.matched += 1;
            if !facts.active {
                report.matched_inactive += 1;
            }
        } else if facts.active {
            only_on_amazon.push(sku.clone());
        }
    }
    report.only_on_amazon = SkuList::of(only_on_amazon);
    if complete {
        let mut only_in_wms = Vec::new();
        let mut fba = Vec::new();
        for wms in wms_skus {
            match amazon.get(&amazon_sku(wms)) {
                None => only_in_wms.push(wms.clone()),
                Some(f) if !f.merchant_fulfilled => fba.push(wms.clone()),
                Some(_) => {}
            }
        }
        report.only_in_wms = Some(SkuList::of(only_in_wms));
        report.not_mfn_on_amazon = Some(SkuList::of(fba));
    }
    for (wms, to) in &settings.sku_map {
        let reason = if !wms_skus.contains(wms) {
            Some("wms_sku_unknown")
        } else if complete && !amazon.contains_key(to) {
            Some("amazon_sku_unlisted")
        } else {
            None
        };
        if let Some(reason) = reason {
            report.dangling_mappings.push(DanglingMapping {
                wms_sku: wms.clone(),
                amazon_sku: to.clone(),
                reason: reason.to_string(),
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mfn(active: bool) -> ListingFacts {
        ListingFacts {
            merchant_fulfilled: true,
            active,
            quantity: Some(1),
        }
    }

    fn fba() -> ListingFacts {
        ListingFacts {
            merchant_fulfilled: false,
            active: true,
            quantity: None,
        }
    }

    fn amazon() -> BTreeMap<String, ListingFacts> {
        BTreeMap::from([
            ("MUG-BLUE".to_string(), mfn(true)),
            ("MUG-RED".to_string(), mfn(true)),
            ("AMZ-PLATE".to_string(), mfn(true)),
            ("OLD-CUP".to_string(), mfn(false)),
            ("FBA-BOWL".to_string(), fba()),
            ("NOBODY".to_string(), mfn(true)),
            ("CLOSED-NOBODY".to_string(), mfn(false)),
        ])
    }

    fn wms(skus: &[&str]) -> BTreeSet<String> {
        skus.iter().map(|s| s.to_string()).collect()
    }

    fn settings() -> InventorySettings {
        let mut s = InventorySettings::default();
        s.sku_map.insert("WMS-PLATE".into(), "AMZ-PLATE".into());
        s.sku_map.insert("WMS-GONE".into(), "MUG-RED".into());
        s.sku_map.insert("WMS-SPOON".into(), "AMZ-SPOON".into());
        s
    }

    #[test]
    fn both_sides_the_map_and_what_it_points_to() {
        let r = reconcile(
            &amazon(),
            true,
            &wms(&[
                "MUG-BLUE",
                "MUG-RED",
                "WMS-PLATE",
                "OLD-CUP",
                "FBA-BOWL",
                "WMS-SPOON",
                "TEAPOT",
            ]),
            &settings(),
        );
        assert_eq!(
            r.only_on_amazon.skus,
            ["NOBODY"],
            "closed listings are not missing stock"
        );
        assert_eq!(
            r.only_in_wms.as_ref().unwrap().skus,
            ["TEAPOT", "WMS-SPOON"],
            "unmapped and mapped to an unlisted SKU"
        );
        assert_eq!(r.not_mfn_on_amazon.as_ref().unwrap().skus, ["FBA-BOWL"]);
        assert_eq!(
            r.dangling_mappings,
            vec![
                DanglingMapping {
                    wms_sku: "WMS-GONE".into(),
                    amazon_sku: "MUG-RED".into(),
                    reason: "wms_sku_unknown".into()
                },
                DanglingMapping {
                    wms_sku: "WMS-SPOON".into(),
                    amazon_sku: "AMZ-SPOON".into(),
                    reason: "amazon_sku_unlisted".into()
                },
            ]
        );
        assert_eq!(
            (
                r.matched,
                r.matched_inactive,
                r.amazon_fba,
                r.amazon_active_mfn
            ),
            (4, 1, 1, 4)
        );
        assert_eq!(r.problems(), 1 + 2 + 1 + 2);
    }

    #[test]
    fn an_incomplete_scan_says_nothing_about_the_wms_side() {
        let r = reconcile(&amazon(), false, &wms(&["MUG-BLUE", "TEAPOT"]), &settings());
        assert!(r.only_in_wms.is_none() && r.not_mfn_on_amazon.is_none());
        assert!(
            r.dangling_mappings
                .iter()
                .all(|d| d.reason == "wms_sku_unknown"),
            "{:?}",
            r.dangling_mappings
        );
        assert!(r.only_on_amazon.skus.contains(&"NOBODY".to_string()));
    }

    #[test]
    fn stored_reports_keep_counts_and_name_a_few() {
        let skus: Vec<String> = (0..500).map(|n| format!("SKU-{n:03}")).collect();
        let r = SkuReport {
            only_on_amazon: SkuList::of(skus),
            ..SkuReport::default()
        };
        let t = r.trimmed(100);
        assert_eq!(
            (t.only_on_amazon.count, t.only_on_amazon.skus.len()),
            (500, 100)
        );
    }
}
