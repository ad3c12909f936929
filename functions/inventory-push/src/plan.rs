//! The pure rules of the push: the quantity to publish per SKU and which
//! SKUs need pushing, zero-stock first. No I/O.

use std::collections::BTreeMap;

use domain::Sku;
use domain::settings::{InventoryMode, InventorySettings};
use store::StockBook;
use wms::StockItem;

/// Quantities to publish, by Amazon seller SKU, and what did not map.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Desired {
    pub quantities: BTreeMap<String, u32>,
    /// WMS SKUs whose mapped Amazon SKU is not a valid SKU.
    pub invalid_mappings: Vec<String>,
    /// SKUs the WMS listed more than once (the last one counts).
    pub duplicates: u32,
}

/// `on_hand` or `available` per the seller's mode, minus the safety buffer,
/// never below 0; WMS SKU → Amazon SKU through the exceptions map.
pub fn desired(items: &[StockItem], settings: &InventorySettings) -> Desired {
    let mut out = Desired::default();
    for item in items {
        let base = match settings.mode {
            InventoryMode::OnHand => item.on_hand,
            InventoryMode::Available => item.available,
        };
        let quantity = base.saturating_sub(settings.safety_buffer);
        let wms_sku = item.sku.as_str();
        let amazon = settings
            .sku_map
            .get(wms_sku)
            .map(String::as_str)
            .unwrap_or(wms_sku);
        if Sku::new(amazon).is_err() {
            out.invalid_mappings.push(wms_sku.to_string());
            continue;
        }
        if out
            .quantities
            .insert(amazon.to_string(), quantity)
            .is_some()
        {
            out.duplicates += 1;
        }
    }
    out
}

/// One SKU to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub sku: String,
    pub quantity: u32,
}

/// What differs from what Amazon has (or is about to have), zero-stock
/// first. On a full resync every SKU is pushed. A quantity Amazon rejected
/// is not re-sent until it changes (or a full resync), so a SKU Amazon does
/// not list is reported once per change, not pushed on every run.
pub fn changes(
    desired: &BTreeMap<String, u32>,
    book: &StockBook,
    full: bool,
) -> (Vec<Change>, u32) {
    let mut zero = Vec::new();
    let mut rest = Vec::new();
    let mut still_rejected = 0u32;
    for (sku, &quantity) in desired {
        let entry = book.get(sku);
        let needed = full
            || match entry {
                None => true,
                Some(e) => {
                    if e.rejected.as_ref().is_some_and(|r| r.quantity == quantity)
                        && e.pending.is_none()
                    {
                        still_rejected += 1;
                        false
                    } else {
                        match (&e.pending, e.pushed) {
                            (Some(p), _) => p.quantity != quantity,
                            (None, Some(p)) => p != quantity,
                            (None, None) => true,
                        }
                    }
                }
            };
        if needed {
            let c = Change {
                sku: sku.clone(),
                quantity,
            };
            if quantity == 0 {
                zero.push(c)
            } else {
                rest.push(c)
            }
        }
    }
    zero.extend(rest);
    (zero, still_rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{PendingPush, Rejection};

    fn item(sku: &str, on_hand: u32, available: u32) -> StockItem {
        StockItem {
            sku: Sku::new(sku).unwrap(),
            on_hand,
            available,
        }
    }

    #[test]
    fn mode_buffer_floor_and_mapping() {
        let items = [
            item("A", 10, 7),
            item("B", 2, 1),
            item("WMS-C", 5, 5),
            item("A", 11, 8),
        ];
        let mut s = InventorySettings::default();
        let d = desired(&items, &s);
        assert_eq!(d.quantities.get("A"), Some(&11), "on hand, last one wins");
        assert_eq!(d.duplicates, 1);
        s.mode = InventoryMode::Available;
        s.safety_buffer = 2;
        s.sku_map.insert("WMS-C".into(), "AMZ-C".into());
        s.sku_map.insert("B".into(), " bad".into());
        let d = desired(&items, &s);
        assert_eq!(d.quantities.get("A"), Some(&6));
        assert_eq!(d.quantities.get("AMZ-C"), Some(&3));
        assert!(!d.quantities.contains_key("WMS-C"));
        assert_eq!(d.invalid_mappings, vec!["B".to_string()]);
        s.safety_buffer = 100;
        assert_eq!(
            desired(&items, &s).quantities.get("A"),
            Some(&0),
            "never below 0"
        );
    }

    #[test]
    fn only_differences_zero_first_and_rejections_not_repeated() {
        let mut book = StockBook::default();
        book.update("SAME", |e| e.pushed = Some(5));
        book.update("MORE", |e| e.pushed = Some(5));
        book.update("INFLIGHT", |e| {
            e.pushed = Some(1);
            e.pending = Some(PendingPush {
                quantity: 4,
                feed_id: "F".into(),
                message_id: 1,
            })
        });
        book.update("REFUSED", |e| {
            e.rejected = Some(Rejection {
                quantity: 3,
                code: "X".into(),
            })
        });
        let desired: BTreeMap<String, u32> = [
            ("SAME", 5),
            ("MORE", 6),
            ("INFLIGHT", 4),
            ("REFUSED", 3),
            ("NEW", 2),
            ("EMPTY", 0),
        ]
        .into_iter()
        .map(|(s, q)| (s.to_string(), q))
        .collect();
        let (c, rejected) = changes(&desired, &book, false);
        let skus: Vec<&str> = c.iter().map(|c| c.sku.as_str()).collect();
        assert_eq!(skus, vec!["EMPTY", "MORE", "NEW"]);
        assert_eq!(rejected, 1);
        let (all, _) = changes(&desired, &book, true);
        assert_eq!(all.len(), 6);
        assert_eq!(all[0].sku, "EMPTY");
    }
}
