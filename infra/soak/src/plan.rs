//! What the soak's Amazon and WMS do with each order, decided up front from
//! the seed (so a run can be repeated), and what must be true at the end.
//!
//! Every order has a [`Fate`]: shipped whole in one package, in two packages
//! at once, partly now and the rest later, Pending first (released later, or
//! cancelled before it ever becomes eligible), cancelled whole or in part by
//! Amazon after the WMS got it, or shipped with a label bought through the
//! label function (UK sellers: Amazon Shipping). Some shipment messages are
//! sent twice by the WMS.

use std::collections::BTreeMap;

/// The seller's marketplaces: Amazon.de, or Amazon.co.uk for the sellers
/// that buy labels (Amazon Shipping v2 in the simulator is UK).
pub const DE: &str = "A1PA6795UKMFR9";
pub const UK: &str = "A1F83G8C2ARO7P";

/// The WMS order number prefix every soak seller has.
pub const PREFIX: &str = "SK";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fate {
    /// One package with everything.
    Ship,
    /// Two packages sent together (one line each).
    MultiPackage,
    /// A package with part of the units, the rest in a second one later.
    Partial,
    /// Pending (payment not confirmed) first; released later, then shipped.
    PendingThenShip,
    /// Pending, then cancelled by Amazon: never eligible, never sent.
    PendingCancelled,
    /// Amazon cancels the whole order after the WMS got it; nothing ships.
    CancelAfterSent,
    /// Amazon cancels the second line after the WMS got it; the first ships.
    LineCancelAfterSent,
    /// A label bought through the label function (concurrent and retried
    /// requests under one idempotency key), then the shipment message.
    Label,
}

impl Fate {
    pub fn name(self) -> &'static str {
        match self {
            Fate::Ship => "shipped whole",
            Fate::MultiPackage => "two packages at once",
            Fate::Partial => "partial, rest later",
            Fate::PendingThenShip => "Pending, released, shipped",
            Fate::PendingCancelled => "Pending, cancelled (never eligible)",
            Fate::CancelAfterSent => "cancelled after sent",
            Fate::LineCancelAfterSent => "one line cancelled after sent",
            Fate::Label => "label bought, shipped",
        }
    }

    /// Needs an order with two lines.
    pub fn two_lines(self) -> bool {
        matches!(
            self,
            Fate::MultiPackage | Fate::Partial | Fate::LineCancelAfterSent
        )
    }

    /// Reaches the WMS (`order.created`).
    pub fn eligible(self) -> bool {
        self != Fate::PendingCancelled
    }

    pub fn pending_first(self) -> bool {
        matches!(self, Fate::PendingThenShip | Fate::PendingCancelled)
    }

    /// `order.cancelled` messages the WMS must get (exactly).
    pub fn cancellations(self) -> usize {
        usize::from(matches!(
            self,
            Fate::CancelAfterSent | Fate::LineCancelAfterSent
        ))
    }
}

/// One package the WMS ships: its id, its lines, and when (ticks after the
/// WMS got the order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPackage {
    pub package_id: String,
    /// `None` for a label package: Amazon's tracking id, known after the buy.
    pub tracking: Option<String>,
    pub lines: Vec<(String, u32)>,
    pub after_ticks: u32,
}

#[derive(Clone, Debug)]
pub struct PlannedOrder {
    pub seller: usize,
    pub amazon_order_id: String,
    pub number: String,
    pub fate: Fate,
    /// The tick at which Amazon gets the order (seeded).
    pub seed_tick: u32,
    /// The WMS sends each of its shipment messages twice.
    pub duplicate_messages: bool,
    pub packages: Vec<PlannedPackage>,
}

impl PlannedOrder {
    pub fn skus(&self) -> Vec<(String, u32)> {
        let mut v = vec![(self.sku("A"), 1)];
        if self.fate.two_lines() {
            v.push((self.sku("B"), 2));
        }
        v
    }

    fn sku(&self, line: &str) -> String {
        format!("SOAK-{}-{line}", self.seller)
    }
}

/// The fate mix (out of 1,000), the label share only for UK sellers.
const MIX: [(Fate, u32); 7] = [
    (Fate::MultiPackage, 100),
    (Fate::Partial, 100),
    (Fate::PendingThenShip, 80),
    (Fate::PendingCancelled, 20),
    (Fate::CancelAfterSent, 50),
    (Fate::LineCancelAfterSent, 30),
    (Fate::Ship, 620),
];

/// Orders of a UK seller that buy a label (out of 1,000).
const LABEL_SHARE: u32 = 150;
/// Shipment messages the WMS sends twice (out of 1,000 orders).
const DUPLICATE_SHARE: u32 = 60;

/// The whole plan: sellers (index → seller id, marketplace) and orders.
#[derive(Clone, Debug)]
pub struct Plan {
    pub sellers: Vec<PlannedSeller>,
    pub orders: Vec<PlannedOrder>,
    /// WMS order number → index in `orders`.
    pub by_number: BTreeMap<String, usize>,
}

#[derive(Clone, Debug)]
pub struct PlannedSeller {
    pub seller_id: String,
    pub client_code: String,
    pub marketplace: &'static str,
    pub refresh_token: String,
}

impl PlannedSeller {
    pub fn buys_labels(&self) -> bool {
        self.marketplace == UK
    }
}

impl Plan {
    /// `sellers` sellers (one in five in the UK, buying labels), `orders`
    /// orders spread round-robin over them and over the first `seed_ticks`
    /// ticks.
    pub fn new(sellers: u32, orders: u32, seed_ticks: u32, seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let sellers: Vec<PlannedSeller> = (0..sellers as usize)
            .map(|i| PlannedSeller {
                seller_id: format!("A1SOAKSELLER{i:02}"),
                client_code: format!("SOAK{i:02}"),
                marketplace: if i % 5 == 4 { UK } else { DE },
                refresh_token: format!("Atzr|soak-refresh-{i:02}"),
            })
            .collect();
        let mut planned = Vec::with_capacity(orders as usize);
        let mut by_number = BTreeMap::new();
        let per_tick = orders.div_ceil(seed_ticks.max(1)).max(1);
        for i in 0..orders {
            let seller = i as usize % sellers.len().max(1);
            let roll = rng.u32(0..1000);
            let fate = if sellers[seller].buys_labels() && rng.u32(0..1000) < LABEL_SHARE {
                Fate::Label
            } else {
                let mut acc = 0;
                MIX.iter()
                    .find(|(_, share)| {
                        acc += share;
                        roll < acc
                    })
                    .map(|(f, _)| *f)
                    .unwrap_or(Fate::Ship)
            };
            let amazon_order_id =
                format!("{:03}-{:07}-{:07}", 300 + seller, i, rng.u32(0..10_000_000));
            let number = format!("{PREFIX}{amazon_order_id}");
            let mut order = PlannedOrder {
                seller,
                amazon_order_id,
                number: number.clone(),
                fate,
                seed_tick: i / per_tick,
                duplicate_messages: rng.u32(0..1000) < DUPLICATE_SHARE,
                packages: Vec::new(),
            };
            order.packages = packages(&order);
            by_number.insert(number, planned.len());
            planned.push(order);
        }
        Self {
            sellers,
            orders: planned,
            by_number,
        }
    }

    pub fn order(&self, number: &str) -> Option<&PlannedOrder> {
        self.by_number.get(number).map(|i| &self.orders[*i])
    }

    pub fn eligible(&self) -> impl Iterator<Item = &PlannedOrder> {
        self.orders.iter().filter(|o| o.fate.eligible())
    }

    /// Orders by fate (for the report).
    pub fn fates(&self) -> BTreeMap<Fate, usize> {
        let mut m = BTreeMap::new();
        for o in &self.orders {
            *m.entry(o.fate).or_default() += 1;
        }
        m
    }
}

fn packages(o: &PlannedOrder) -> Vec<PlannedPackage> {
    let a = o.sku("A");
    let b = o.sku("B");
    let pkg = |n: u32, lines: Vec<(String, u32)>, after_ticks: u32| PlannedPackage {
        package_id: format!("{}-P{n}", o.number),
        tracking: Some(format!("TRK{}P{n}", o.amazon_order_id.replace('-', ""))),
        lines,
        after_ticks,
    };
    match o.fate {
        Fate::Ship | Fate::PendingThenShip => vec![pkg(1, o.skus(), 1)],
        Fate::MultiPackage => vec![pkg(1, vec![(a, 1)], 1), pkg(2, vec![(b, 2)], 1)],
        Fate::Partial => vec![
            pkg(1, vec![(a, 1), (b.clone(), 1)], 1),
            pkg(2, vec![(b, 1)], 3),
        ],
        // Shipped once the WMS has the cancellation of the other line.
        Fate::LineCancelAfterSent => vec![pkg(1, vec![(a, 1)], 1)],
        Fate::Label => vec![PlannedPackage {
            tracking: None,
            ..pkg(1, o.skus(), 1)
        }],
        Fate::PendingCancelled | Fate::CancelAfterSent => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_repeatable_and_mixed() {
        let a = Plan::new(20, 2000, 10, 7);
        let b = Plan::new(20, 2000, 10, 7);
        assert_eq!(a.orders.len(), 2000);
        assert!(
            a.orders
                .iter()
                .zip(&b.orders)
                .all(|(x, y)| x.number == y.number && x.fate == y.fate)
        );
        let fates = a.fates();
        for f in [
            Fate::Ship,
            Fate::MultiPackage,
            Fate::Partial,
            Fate::PendingThenShip,
            Fate::PendingCancelled,
            Fate::CancelAfterSent,
            Fate::LineCancelAfterSent,
            Fate::Label,
        ] {
            assert!(
                fates.get(&f).copied().unwrap_or(0) > 0,
                "{f:?} in {fates:?}"
            );
        }
        // Labels only where Amazon Shipping is (UK).
        assert!(
            a.orders
                .iter()
                .filter(|o| o.fate == Fate::Label)
                .all(|o| a.sellers[o.seller].buys_labels())
        );
        assert_eq!(a.by_number.len(), 2000, "order numbers are unique");
        assert!(a.orders.iter().all(|o| o.seed_tick < 10));
    }
}
