//! A seller's shipment confirmation applied to a stored order: one package
//! with its items, from `confirmShipment` or a `POST_ORDER_FULFILLMENT_DATA`
//! message. Refused as Amazon refuses it (the reason becomes the 400's
//! message or the processing report's description).

use chrono::{DateTime, Utc};
use domain::settings::OrderStatus;

use super::{FulfilledBy, Package, StoredOrder, truncate};

/// One package as the seller confirms it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageConfirmation {
    /// `packageReferenceId` (confirmShipment) / `MerchantFulfillmentID`
    /// (feed; a generated one when the message has none).
    pub reference_id: String,
    /// The carrier code, or the carrier name for `Other`.
    pub carrier: String,
    pub shipping_service: Option<String>,
    pub tracking_number: String,
    pub ship_time: DateTime<Utc>,
    /// (order item id, quantity); empty = everything still open (feed only).
    pub items: Vec<(String, u32)>,
    /// Transparency codes by order item id.
    pub transparency_codes: std::collections::BTreeMap<String, Vec<String>>,
    /// `shipFromSupplySourceId` / `ShipFromSupplySourceId`.
    pub supply_source: Option<String>,
    /// `codCollectionMethod` / `CODCollectionMethod`.
    pub cod_collection_method: Option<String>,
}

/// Amazon.co.jp, the one marketplace that takes a COD collection method.
pub const JP: &str = "A1VC38T7YXB528";

impl StoredOrder {
    /// Whether a package with this reference id was confirmed already.
    pub fn has_package(&self, reference_id: &str) -> bool {
        self.packages.iter().any(|p| p.reference_id == reference_id)
    }

    /// Units of an order item neither shipped nor cancelled (`None`: no such item).
    pub fn open_units(&self, order_item_id: &str) -> Option<u32> {
        self.items
            .iter()
            .find(|i| i.id == order_item_id)
            .map(|i| i.open())
    }

    /// A reference id not used by this order yet (for feed messages without one).
    pub fn free_reference(&self) -> String {
        (self.packages.len() + 1..)
            .map(|n| n.to_string())
            .find(|r| !self.has_package(r))
            .unwrap_or_default()
    }

    /// Applies a confirmed package, or says why Amazon would refuse it.
    /// `supply_sources` are the seller's (Amazon refuses any other id).
    pub fn confirm_package(
        &mut self,
        p: &PackageConfirmation,
        supply_sources: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        if let Some(source) = &p.supply_source
            && !supply_sources.contains(source)
        {
            return Err(format!(
                "shipFromSupplySourceId {source} is not a supply source of this selling partner."
            ));
        }
        if let Some(cod) = &p.cod_collection_method {
            if cod != "DirectPayment" {
                return Err(format!(
                    "codCollectionMethod {cod} is not valid; the only value is DirectPayment."
                ));
            }
            if self.marketplace_id != JP {
                return Err(
                    "codCollectionMethod is only supported in the JP marketplace.".to_string(),
                );
            }
        }
        if self.fulfilled_by != FulfilledBy::Merchant {
            return Err(format!(
                "Order {} is fulfilled by Amazon; only merchant-fulfilled orders can be confirmed.",
                self.id
            ));
        }
        match self.status {
            OrderStatus::Cancelled => {
                return Err(format!(
                    "Order {} has been cancelled; it cannot be confirmed as shipped.",
                    self.id
                ));
            }
            OrderStatus::Pending | OrderStatus::PendingAvailability => {
                return Err(format!(
                    "Order {} is pending; it cannot be shipped before payment is confirmed.",
                    self.id
                ));
            }
            OrderStatus::Unfulfillable => {
                return Err(format!("Order {} is unfulfillable.", self.id));
            }
            _ => {}
        }
        if self.has_package(&p.reference_id)
            || self
                .packages
                .iter()
                .any(|k| k.tracking_number == p.tracking_number)
        {
            self.repeat_confirmations += 1;
        }
        if self.has_package(&p.reference_id) {
            return Err(format!(
                "packageReferenceId {} has already been used for order {}.",
                p.reference_id, self.id
            ));
        }
        let wanted: Vec<(usize, u32)> = if p.items.is_empty() {
            self.items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.open() > 0)
                .map(|(n, i)| (n, i.open()))
                .collect()
        } else {
            let mut wanted: Vec<(usize, u32)> = Vec::new();
            for (id, quantity) in &p.items {
                let n =
                    self.items.iter().position(|i| &i.id == id).ok_or_else(|| {
                        format!("Order item {id} is not part of order {}.", self.id)
                    })?;
                if *quantity == 0 {
                    return Err(format!(
                        "The quantity of order item {id} must be at least 1."
                    ));
                }
                match wanted.iter_mut().find(|(m, _)| *m == n) {
                    Some((_, q)) => *q += quantity,
                    None => wanted.push((n, *quantity)),
                }
            }
            for (n, quantity) in &wanted {
                let item = &self.items[*n];
                if *quantity > item.open() {
                    return Err(format!(
                        "The quantity {quantity} of order item {} exceeds the {} unit(s) not yet shipped or cancelled.",
                        item.id,
                        item.open()
                    ));
                }
            }
            wanted
        };
        if wanted.is_empty() {
            return Err(format!("Order {} has nothing left to ship.", self.id));
        }
        for (n, quantity) in &wanted {
            let item = &self.items[*n];
            let codes = p.transparency_codes.get(&item.id).map_or(0, Vec::len);
            if item.transparency() && codes != *quantity as usize {
                return Err(format!(
                    "Order item {} is enrolled in Transparency: {quantity} transparency code(s) are required, {codes} were given.",
                    item.id
                ));
            }
            if codes > *quantity as usize {
                return Err(format!(
                    "Order item {} has more transparency codes ({codes}) than units shipped ({quantity}).",
                    item.id
                ));
            }
        }
        for (n, q) in &wanted {
            self.items[*n].shipped += q;
        }
        self.packages.push(Package {
            reference_id: p.reference_id.clone(),
            created: truncate(p.ship_time),
            carrier: p.carrier.clone(),
            tracking_number: p.tracking_number.clone(),
            shipping_service: p.shipping_service.clone(),
            items: wanted
                .iter()
                .map(|(n, q)| (self.items[*n].id.clone(), *q))
                .collect(),
            transparency_codes: p.transparency_codes.clone(),
            supply_source: p.supply_source.clone(),
            cod_collection_method: p.cod_collection_method.clone(),
        });
        self.settle();
        if self.status != OrderStatus::Shipped {
            self.status = OrderStatus::PartiallyShipped;
        }
        self.bump(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::{CancelSpec, ItemSpec, OrderSpec};

    fn order() -> StoredOrder {
        let spec = OrderSpec {
            marketplace_id: "A1PA6795UKMFR9".into(),
            items: vec![
                ItemSpec::new("A", 2, "10.00", "EUR"),
                ItemSpec::new("B", 1, "5.00", "EUR"),
            ],
            ..OrderSpec::default()
        };
        StoredOrder::from_spec("302-1234567-7654321".into(), spec, Utc::now()).expect("order")
    }

    fn package(reference: &str, items: &[(&str, u32)]) -> PackageConfirmation {
        PackageConfirmation {
            reference_id: reference.into(),
            carrier: "DHL".into(),
            shipping_service: Some("Paket".into()),
            tracking_number: format!("T{reference}"),
            ship_time: Utc::now(),
            items: items.iter().map(|(i, q)| (i.to_string(), *q)).collect(),
            transparency_codes: Default::default(),
            supply_source: None,
            cod_collection_method: None,
        }
    }

    #[test]
    fn supply_sources_cod_and_transparency_codes_are_checked_and_kept() {
        let spec = OrderSpec {
            marketplace_id: "A1PA6795UKMFR9".into(),
            items: vec![ItemSpec {
                programs: vec!["TRANSPARENCY".into()],
                ..ItemSpec::new("T", 2, "10.00", "EUR")
            }],
            ..OrderSpec::default()
        };
        let mut o =
            StoredOrder::from_spec("302-1234567-7654322".into(), spec, Utc::now()).expect("order");
        let id = o.items[0].id.clone();
        let sources = vec!["WH-1".to_string()];
        let mut p = package("1", &[(&id, 2)]);
        let err = o.confirm_package(&p, &sources, Utc::now()).unwrap_err();
        assert!(
            err.contains("Transparency: 2 transparency code(s) are required, 0"),
            "{err}"
        );
        p.transparency_codes
            .insert(id.clone(), vec!["AZ:1".into(), "AZ:2".into()]);
        p.supply_source = Some("WH-9".into());
        let err = o.confirm_package(&p, &sources, Utc::now()).unwrap_err();
        assert!(err.contains("not a supply source"), "{err}");
        p.supply_source = Some("WH-1".into());
        p.cod_collection_method = Some("DirectPayment".into());
        let err = o.confirm_package(&p, &sources, Utc::now()).unwrap_err();
        assert!(
            err.contains("only supported in the JP marketplace"),
            "{err}"
        );
        p.cod_collection_method = None;
        o.confirm_package(&p, &sources, Utc::now())
            .expect("confirmed");
        let view = &o.package_views()[0];
        assert_eq!(view.supply_source.as_deref(), Some("WH-1"));
        assert_eq!(view.items[0].2, ["AZ:1", "AZ:2"]);
        let json = o.to_json(crate::orders::Included::all(), true, None);
        assert_eq!(
            json["packages"][0]["packageItems"][0]["transparencyCodes"],
            serde_json::json!(["AZ:1", "AZ:2"])
        );
    }

    #[test]
    fn partial_then_rest_ships_the_order() {
        let mut o = order();
        let (a, b) = (o.items[0].id.clone(), o.items[1].id.clone());
        o.confirm_package(&package("1", &[(&a, 1)]), &[], Utc::now())
            .expect("partial");
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        assert_eq!(o.repeat_confirmations, 0);
        let err = o
            .confirm_package(&package("1", &[(&b, 1)]), &[], Utc::now())
            .unwrap_err();
        assert!(err.contains("already been used"), "{err}");
        assert_eq!(
            o.repeat_confirmations, 1,
            "a second confirmation is counted"
        );
        let err = o
            .confirm_package(&package("2", &[(&a, 2)]), &[], Utc::now())
            .unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
        let err = o
            .confirm_package(&package("2", &[("999", 1)]), &[], Utc::now())
            .unwrap_err();
        assert!(err.contains("not part of"), "{err}");
        o.confirm_package(&package("2", &[]), &[], Utc::now())
            .expect("the rest");
        assert_eq!(o.status, OrderStatus::Shipped);
        assert_eq!(o.packages.len(), 2);
        assert_eq!(o.packages[1].items.len(), 2);
        let err = o
            .confirm_package(&package("3", &[]), &[], Utc::now())
            .unwrap_err();
        assert!(err.contains("nothing left"), "{err}");
    }

    #[test]
    fn cancelled_orders_are_refused() {
        let mut o = order();
        o.cancel(&CancelSpec::default(), Utc::now())
            .expect("cancel");
        let err = o
            .confirm_package(&package("1", &[]), &[], Utc::now())
            .unwrap_err();
        assert!(err.contains("cancelled"), "{err}");
        assert_eq!(o.free_reference(), "1");
    }
}
