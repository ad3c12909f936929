//! Orders as the simulator stores them: the stored order and its life cycle
//! (ship, cancel, status changes). Seed specs are in `spec`, the model's
//! `Order` JSON in `json`.

mod confirm;
mod json;
mod spec;

use chrono::{DateTime, Utc};
use domain::settings::OrderStatus;

use crate::SimError;
use crate::money::Decimal;

pub use confirm::PackageConfirmation;
pub use json::Included;
pub use spec::{
    AddressSpec, BuyerSpec, CancelParty, CancelSpec, FulfilledBy, ItemSpec, OrderSpec, ShipItem,
    ShipSpec, TimeWindow, parse_status,
};
use spec::{ITEM_PROGRAMS, PROGRAMS, SERVICE_LEVELS, SHIPPING_CONSTRAINTS};

#[derive(Clone, Debug)]
struct Cancellation {
    requester: Option<CancelParty>,
    request_reason: Option<String>,
    executed_by: Option<CancelParty>,
    execute_reason: Option<String>,
}

#[derive(Clone, Debug)]
struct StoredItem {
    id: String,
    sku: String,
    asin: String,
    title: String,
    quantity: u32,
    unit_price: Decimal,
    currency: String,
    shipped: u32,
    cancelled: u32,
    cancellation: Option<Cancellation>,
    programs: Vec<String>,
    serial_number_required: bool,
    shipping_constraints: Vec<String>,
}

impl StoredItem {
    fn transparency(&self) -> bool {
        self.programs.iter().any(|p| p == "TRANSPARENCY")
    }

    fn open(&self) -> u32 {
        self.quantity - self.shipped - self.cancelled
    }
}

#[derive(Clone, Debug)]
struct Package {
    reference_id: String,
    created: DateTime<Utc>,
    carrier: String,
    tracking_number: String,
    shipping_service: Option<String>,
    items: Vec<(String, u32)>,
    /// Transparency codes per order item id.
    transparency_codes: std::collections::BTreeMap<String, Vec<String>>,
    supply_source: Option<String>,
    cod_collection_method: Option<String>,
}

/// One confirmed package as control shows it (what Amazon was told).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PackageView {
    pub reference_id: String,
    pub carrier: String,
    pub tracking_number: String,
    pub shipping_service: Option<String>,
    /// (order item id, quantity, transparency codes)
    pub items: Vec<(String, u32, Vec<String>)>,
    pub supply_source: Option<String>,
    pub cod_collection_method: Option<String>,
}

/// A stored order and its life cycle.
#[derive(Clone, Debug)]
pub struct StoredOrder {
    pub id: String,
    pub marketplace_id: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub fulfilled_by: FulfilledBy,
    pub status: OrderStatus,
    programs: Vec<String>,
    buyer: Option<BuyerSpec>,
    recipient: Option<AddressSpec>,
    ship_by: Option<TimeWindow>,
    deliver_by: Option<TimeWindow>,
    label_printing_earliest: Option<DateTime<Utc>>,
    service_level: String,
    items: Vec<StoredItem>,
    packages: Vec<Package>,
    /// Confirmations of a package this order already has (same
    /// `packageReferenceId` or the same tracking number), accepted or not:
    /// a connector that confirms twice shows here.
    pub repeat_confirmations: u32,
}

fn invalid(msg: impl Into<String>) -> SimError {
    SimError::InvalidSpec(msg.into())
}

fn is_order_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && [3, 7, 7]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_digit()))
}

/// A random order id in Amazon's `NNN-NNNNNNN-NNNNNNN` shape.
pub fn random_order_id() -> String {
    format!(
        "{:03}-{:07}-{:07}",
        fastrand::u32(100..1000),
        fastrand::u32(0..10_000_000),
        fastrand::u32(0..10_000_000)
    )
}

fn status_rank(s: OrderStatus) -> Option<u8> {
    match s {
        OrderStatus::PendingAvailability => Some(0),
        OrderStatus::Pending => Some(1),
        OrderStatus::Unshipped => Some(2),
        OrderStatus::PartiallyShipped => Some(3),
        // Terminal states.
        OrderStatus::Shipped | OrderStatus::Cancelled | OrderStatus::Unfulfillable => None,
    }
}

impl StoredOrder {
    /// Validates a spec (id already chosen) and builds the stored order.
    pub fn from_spec(
        id: String,
        spec: OrderSpec,
        now: DateTime<Utc>,
    ) -> Result<StoredOrder, SimError> {
        if !is_order_id(&id) {
            return Err(invalid(format!(
                "order id {id} is not shaped NNN-NNNNNNN-NNNNNNN"
            )));
        }
        if spec.items.is_empty() {
            return Err(invalid(format!("order {id} has no items")));
        }
        for p in &spec.programs {
            if !PROGRAMS.contains(&p.as_str()) {
                return Err(invalid(format!("unknown program {p}")));
            }
        }
        let service_level = spec
            .fulfillment_service_level
            .unwrap_or_else(|| "STANDARD".to_string());
        if !SERVICE_LEVELS.contains(&service_level.as_str()) {
            return Err(invalid(format!(
                "unknown fulfillment service level {service_level}"
            )));
        }
        let status = spec.status.unwrap_or(OrderStatus::Unshipped);
        let created = truncate(spec.created.unwrap_or(now));
        let digits: String = id.chars().filter(char::is_ascii_digit).collect();
        let mut items = Vec::with_capacity(spec.items.len());
        for (i, it) in spec.items.into_iter().enumerate() {
            if it.quantity == 0 {
                return Err(invalid(format!("item {} has quantity 0", it.sku)));
            }
            let unit_price = Decimal::parse(&it.unit_price)
                .ok_or_else(|| invalid(format!("item {}: bad unit price", it.sku)))?;
            let currency_ok =
                it.currency.len() == 3 && it.currency.chars().all(|c| c.is_ascii_uppercase());
            if !currency_ok {
                return Err(invalid(format!("item {}: bad currency", it.sku)));
            }
            if items.iter().any(|o: &StoredItem| o.currency != it.currency) {
                return Err(invalid(format!("order {id} mixes currencies")));
            }
            let item_id = it
                .order_item_id
                .unwrap_or_else(|| format!("{}{:02}", &digits[digits.len() - 12..], i + 1));
            if items
                .iter()
                .any(|o: &StoredItem| o.id == item_id || o.sku == it.sku)
            {
                return Err(invalid(format!("order {id}: duplicate item {}", it.sku)));
            }
            if let Some(p) = it
                .programs
                .iter()
                .find(|p| !ITEM_PROGRAMS.contains(&p.as_str()))
            {
                return Err(invalid(format!(
                    "item {}: unknown item program {p}",
                    it.sku
                )));
            }
            if let Some(c) = it
                .shipping_constraints
                .iter()
                .find(|c| !SHIPPING_CONSTRAINTS.contains(&c.as_str()))
            {
                return Err(invalid(format!(
                    "item {}: unknown shipping constraint {c}",
                    it.sku
                )));
            }
            items.push(StoredItem {
                id: item_id,
                title: it
                    .title
                    .unwrap_or_else(|| format!("Simulated product {}", it.sku)),
                sku: it.sku,
                asin: it.asin,
                quantity: it.quantity,
                unit_price,
                currency: it.currency,
                shipped: 0,
                cancelled: 0,
                cancellation: None,
                programs: it.programs,
                serial_number_required: it.serial_number_required,
                shipping_constraints: it.shipping_constraints,
            });
        }
        let mut order = StoredOrder {
            id,
            marketplace_id: spec.marketplace_id,
            created,
            last_updated: created,
            fulfilled_by: spec.fulfilled_by,
            status: OrderStatus::Unshipped,
            programs: spec.programs,
            buyer: spec.buyer,
            recipient: spec.recipient,
            ship_by: spec.ship_by,
            deliver_by: spec.deliver_by,
            label_printing_earliest: spec.label_printing_earliest,
            service_level,
            items,
            packages: Vec::new(),
            repeat_confirmations: 0,
        };
        // A seeded order in a later state gets the quantities that state implies.
        match status {
            OrderStatus::Shipped | OrderStatus::PartiallyShipped | OrderStatus::Cancelled => {
                order.set_status(status, created)?;
                order.last_updated = created;
            }
            other => order.status = other,
        }
        Ok(order)
    }

    fn bump(&mut self, now: DateTime<Utc>) {
        self.last_updated = truncate(now).max(self.last_updated);
    }

    fn terminal_error(&self) -> Result<(), SimError> {
        if status_rank(self.status).is_none() {
            return Err(SimError::InvalidTransition {
                order: self.id.clone(),
                reason: format!("it is already {}", self.status.as_str()),
            });
        }
        Ok(())
    }

    /// Moves the order forward: Pending → Unshipped → PartiallyShipped →
    /// Shipped, or to Cancelled/Unfulfillable from any open state.
    pub fn set_status(&mut self, to: OrderStatus, now: DateTime<Utc>) -> Result<(), SimError> {
        if to == self.status {
            return Ok(());
        }
        self.terminal_error()?;
        match to {
            OrderStatus::Cancelled => {
                return self.cancel(&CancelSpec::default(), now);
            }
            OrderStatus::Shipped => return self.ship(&ShipSpec::default(), now),
            OrderStatus::PartiallyShipped => {
                if self.items.iter().any(|i| i.shipped > 0) {
                    self.status = to;
                } else {
                    let total: u32 = self.items.iter().map(StoredItem::open).sum();
                    let first = self.items.iter().find(|i| i.open() > 0);
                    match first {
                        Some(item) if total > 1 => {
                            let one = ShipSpec {
                                items: vec![ShipItem {
                                    sku: item.sku.clone(),
                                    quantity: 1,
                                }],
                                ..ShipSpec::default()
                            };
                            return self.ship(&one, now);
                        }
                        _ => {
                            return Err(SimError::InvalidTransition {
                                order: self.id.clone(),
                                reason: "one open unit cannot be partially shipped".to_string(),
                            });
                        }
                    }
                }
            }
            OrderStatus::Unfulfillable => self.status = to,
            forward => {
                let (Some(from), Some(rank)) = (status_rank(self.status), status_rank(forward))
                else {
                    return Err(SimError::InvalidTransition {
                        order: self.id.clone(),
                        reason: format!("cannot move to {}", forward.as_str()),
                    });
                };
                if rank < from {
                    return Err(SimError::InvalidTransition {
                        order: self.id.clone(),
                        reason: format!(
                            "cannot move back from {} to {}",
                            self.status.as_str(),
                            forward.as_str()
                        ),
                    });
                }
                self.status = forward;
            }
        }
        self.bump(now);
        Ok(())
    }

    /// Ships units in one package; the order becomes PartiallyShipped or Shipped.
    pub fn ship(&mut self, spec: &ShipSpec, now: DateTime<Utc>) -> Result<(), SimError> {
        self.terminal_error()?;
        let wanted: Vec<(usize, u32)> = if spec.items.is_empty() {
            self.items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.open() > 0)
                .map(|(n, i)| (n, i.open()))
                .collect()
        } else {
            let mut v = Vec::new();
            for s in &spec.items {
                let n = self
                    .items
                    .iter()
                    .position(|i| i.sku == s.sku)
                    .ok_or_else(|| invalid(format!("order {} has no SKU {}", self.id, s.sku)))?;
                if s.quantity == 0 || s.quantity > self.items[n].open() {
                    return Err(SimError::InvalidTransition {
                        order: self.id.clone(),
                        reason: format!("cannot ship {} of SKU {}", s.quantity, s.sku),
                    });
                }
                v.push((n, s.quantity));
            }
            v
        };
        if wanted.is_empty() {
            return Err(SimError::InvalidTransition {
                order: self.id.clone(),
                reason: "nothing left to ship".to_string(),
            });
        }
        for (n, q) in &wanted {
            self.items[*n].shipped += q;
        }
        if self.fulfilled_by == FulfilledBy::Merchant {
            let number = self.packages.len() + 1;
            self.packages.push(Package {
                reference_id: number.to_string(),
                created: truncate(now),
                carrier: spec.carrier.clone().unwrap_or_else(|| "DHL".to_string()),
                tracking_number: spec
                    .tracking_number
                    .clone()
                    .unwrap_or_else(|| format!("SIM{}{:02}", self.id.replace('-', ""), number)),
                shipping_service: spec.shipping_service.clone(),
                items: wanted
                    .iter()
                    .map(|(n, q)| (self.items[*n].id.clone(), *q))
                    .collect(),
                transparency_codes: Default::default(),
                supply_source: None,
                cod_collection_method: None,
            });
        }
        self.settle();
        if self.status != OrderStatus::Shipped {
            self.status = OrderStatus::PartiallyShipped;
        }
        self.bump(now);
        Ok(())
    }

    /// Cancels the whole order or some lines, or records a buyer's request.
    pub fn cancel(&mut self, spec: &CancelSpec, now: DateTime<Utc>) -> Result<(), SimError> {
        self.terminal_error()?;
        let targets: Vec<usize> = if spec.skus.is_empty() {
            if !spec.request_only && self.items.iter().any(|i| i.shipped > 0) {
                return Err(SimError::InvalidTransition {
                    order: self.id.clone(),
                    reason: "a partly shipped order cannot be cancelled whole".to_string(),
                });
            }
            (0..self.items.len()).collect()
        } else {
            let mut v = Vec::new();
            for sku in &spec.skus {
                let n = self
                    .items
                    .iter()
                    .position(|i| &i.sku == sku)
                    .ok_or_else(|| invalid(format!("order {} has no SKU {sku}", self.id)))?;
                if self.items[n].open() == 0 {
                    return Err(SimError::InvalidTransition {
                        order: self.id.clone(),
                        reason: format!("SKU {sku} has no open units"),
                    });
                }
                v.push(n);
            }
            v
        };
        for n in targets {
            let item = &mut self.items[n];
            let c = item.cancellation.get_or_insert(Cancellation {
                requester: None,
                request_reason: None,
                executed_by: None,
                execute_reason: None,
            });
            if spec.request_only {
                c.requester = Some(spec.by);
                c.request_reason = spec.reason.clone();
            } else {
                c.executed_by = Some(spec.by);
                c.execute_reason = spec.reason.clone();
                item.cancelled += item.open();
            }
        }
        self.settle();
        self.bump(now);
        Ok(())
    }

    /// The confirmed packages, as control shows them.
    pub fn package_views(&self) -> Vec<PackageView> {
        self.packages
            .iter()
            .map(|p| PackageView {
                reference_id: p.reference_id.clone(),
                carrier: p.carrier.clone(),
                tracking_number: p.tracking_number.clone(),
                shipping_service: p.shipping_service.clone(),
                items: p
                    .items
                    .iter()
                    .map(|(id, q)| {
                        (
                            id.clone(),
                            *q,
                            p.transparency_codes.get(id).cloned().unwrap_or_default(),
                        )
                    })
                    .collect(),
                supply_source: p.supply_source.clone(),
                cod_collection_method: p.cod_collection_method.clone(),
            })
            .collect()
    }

    /// The status the quantities imply once nothing is open.
    fn settle(&mut self) {
        if self.items.iter().any(|i| i.open() > 0) {
            return;
        }
        self.status = if self.items.iter().any(|i| i.shipped > 0) {
            OrderStatus::Shipped
        } else {
            OrderStatus::Cancelled
        };
    }
}

impl StoredOrder {
    /// The `Summary` of an `ORDER_CHANGE` notification about this order
    /// (`schemas/notifications/OrderChangeNotification.json`): v0 status
    /// names, `MFN`/`AFN`, per-item counts and the buyer's cancel request.
    pub(crate) fn change_summary(&self) -> serde_json::Value {
        use serde_json::json;
        let status = match self.status {
            OrderStatus::PendingAvailability => "PendingAvailability",
            OrderStatus::Pending => "Pending",
            OrderStatus::Unshipped => "Unshipped",
            OrderStatus::PartiallyShipped => "PartiallyShipped",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Cancelled => "Canceled",
            OrderStatus::Unfulfillable => "Unfulfillable",
        };
        let shipped: u32 = self.items.iter().map(|i| i.shipped).sum();
        let open: u32 = self.items.iter().map(StoredItem::open).sum();
        let items: Vec<serde_json::Value> = self
            .items
            .iter()
            .map(|i| {
                json!({
                    "OrderItemId": i.id,
                    "SellerSKU": i.sku,
                    "SupplySourceId": null,
                    "OrderItemStatus": if i.open() == 0 && i.shipped > 0 { "Shipped" } else { "Unshipped" },
                    "Quantity": i.quantity,
                    "QuantityShipped": i.shipped,
                    "IsBuyerRequestedCancel": i.cancellation.as_ref().is_some_and(|c| c.requester.is_some()),
                })
            })
            .collect();
        let mut summary = json!({
            "MarketplaceId": self.marketplace_id,
            "OrderStatus": status,
            "PurchaseDate": crate::clock::iso(self.created),
            "DestinationPostalCode": self
                .recipient
                .as_ref()
                .and_then(|r| r.postal_code.clone())
                .unwrap_or_default(),
            "FulfillmentType": match self.fulfilled_by {
                FulfilledBy::Merchant => "MFN",
                FulfilledBy::Amazon => "AFN",
            },
            "OrderType": "StandardOrder",
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": open,
            "OrderItems": items,
        });
        if let Some(w) = &self.ship_by {
            summary["EarliestShipDate"] = json!(crate::clock::iso(w.earliest));
            summary["LatestShipDate"] = json!(crate::clock::iso(w.latest));
        }
        summary
    }

    /// Whether the buyer asked to cancel any item.
    pub(crate) fn cancel_requested(&self) -> bool {
        self.items.iter().any(|i| {
            i.cancellation
                .as_ref()
                .is_some_and(|c| c.requester.is_some())
        })
    }
}

/// Stored times have whole seconds, so what is filtered is what is shown.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(items: Vec<ItemSpec>) -> StoredOrder {
        let spec = OrderSpec {
            marketplace_id: "A1PA6795UKMFR9".into(),
            items,
            ..OrderSpec::default()
        };
        StoredOrder::from_spec("302-1234567-7654321".into(), spec, Utc::now()).expect("order")
    }

    #[test]
    fn shipping_and_cancelling_move_the_status() {
        let t = Utc::now();
        let mut o = order(vec![
            ItemSpec::new("A", 2, "10.00", "EUR"),
            ItemSpec::new("B", 1, "5", "EUR"),
        ]);
        assert_eq!(o.status, OrderStatus::Unshipped);
        o.set_status(OrderStatus::PartiallyShipped, t)
            .expect("partial");
        assert_eq!(o.items[0].shipped, 1);
        o.cancel(
            &CancelSpec {
                skus: vec!["B".into()],
                ..CancelSpec::default()
            },
            t,
        )
        .expect("cancel B");
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        o.set_status(OrderStatus::Shipped, t).expect("ship rest");
        assert_eq!(o.status, OrderStatus::Shipped);
        assert_eq!(o.packages.len(), 2);
        assert!(o.set_status(OrderStatus::Unshipped, t).is_err());
        let j = o.to_json(Included::all(), true, None);
        assert_eq!(j["proceeds"]["grandTotal"]["amount"], "20.00");
        assert_eq!(j["orderItems"][1]["fulfillment"]["quantityUnfulfilled"], 0);
        assert_eq!(
            j["orderItems"][1]["cancellation"]["cancellationExecution"]["cancelledBy"],
            "BUYER"
        );
    }

    #[test]
    fn cancelling_everything_cancels_the_order_and_no_going_back() {
        let t = Utc::now();
        let mut o = order(vec![ItemSpec::new("A", 1, "1", "EUR")]);
        assert!(o.set_status(OrderStatus::PartiallyShipped, t).is_err());
        o.set_status(OrderStatus::Cancelled, t).expect("cancel");
        assert_eq!(o.status, OrderStatus::Cancelled);
        assert!(o.set_status(OrderStatus::Shipped, t).is_err());
    }

    #[test]
    fn bad_specs_are_rejected() {
        let spec = |items| OrderSpec {
            order_id: None,
            marketplace_id: "A1PA6795UKMFR9".into(),
            items,
            ..OrderSpec::default()
        };
        let now = Utc::now();
        let one = || vec![ItemSpec::new("A", 1, "1", "EUR")];
        assert!(StoredOrder::from_spec("12-3".into(), spec(one()), now).is_err());
        assert!(StoredOrder::from_spec("302-1234567-7654321".into(), spec(vec![]), now).is_err());
        let bad_price = vec![ItemSpec::new("A", 1, "1,5", "EUR")];
        assert!(
            StoredOrder::from_spec("302-1234567-7654321".into(), spec(bad_price), now).is_err()
        );
        let mut s = spec(one());
        s.programs = vec!["PRIMO".into()];
        assert!(StoredOrder::from_spec("302-1234567-7654321".into(), s, now).is_err());
        assert!(is_order_id(&random_order_id()));
    }
}
