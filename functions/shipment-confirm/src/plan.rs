//! The pure rules of one shipment message against what the connector knows
//! of its order: which order items and units the package holds, and what
//! claiming it in the order's record means (new, a repeat, in flight, a
//! label already bought, or refused). No I/O: [`crate::confirm`] reads and
//! writes the records around these functions.

use carriers::CarrierMapping;
use chrono::{DateTime, Utc};
use domain::AmazonOrderId;
use orders::SentOrder;
use serde_json::json;
use store::{OrderShipments, PackageRecord, PackageState, PackedItem, Refusal, Via};
use wms::ShipmentMessage;

/// SHA-256 of what makes a message "the same package": order, package id,
/// carrier, service, tracking number, ship date and lines. Identity fields
/// (seller id or client code, with or without the prefix) do not count.
/// The confirmation extras of version 2 (supply source, COD method,
/// Transparency codes) count too, and only when present, so a version 1
/// message keeps the hash it always had.
pub fn payload_hash(msg: &ShipmentMessage, order: &AmazonOrderId) -> String {
    let lines: Vec<_> = msg
        .lines
        .iter()
        .map(|l| {
            let mut line = json!([
                l.sku.as_str(),
                l.quantity,
                l.order_item_id.as_ref().map(|i| i.as_str())
            ]);
            if !l.transparency_codes.is_empty()
                && let Some(a) = line.as_array_mut()
            {
                a.push(json!(l.transparency_codes));
            }
            line
        })
        .collect();
    let mut canonical = json!({
        "order": order.as_str(),
        "package_id": msg.package_id,
        "carrier": msg.carrier,
        "service": msg.service,
        "tracking_number": msg.tracking_number,
        "ship_date": msg.ship_date.to_rfc3339(),
        "lines": lines,
    });
    if let Some(id) = &msg.ship_from_supply_source_id {
        canonical["ship_from_supply_source_id"] = json!(id);
    }
    if let Some(cod) = &msg.cod_collection_method {
        canonical["cod_collection_method"] = json!(cod);
    }
    store::sha256_hex(canonical.to_string())
}

/// Units of each order item the package holds, checked against what is
/// still unshipped (sent to the WMS, minus cancelled, minus the units in
/// other packages of the order). No lines: everything that remains.
pub fn package_items(
    msg: &ShipmentMessage,
    sent: &SentOrder,
    record: &OrderShipments,
) -> Result<Vec<PackedItem>, String> {
    let order = &sent.amazon_order_id;
    let remaining = |line: &orders::SentLine| {
        line.quantity
            .saturating_sub(line.cancelled_reported)
            .saturating_sub(record.units(line.order_item_id.as_str()))
    };
    if msg.lines.is_empty() {
        let items: Vec<PackedItem> = sent
            .lines
            .iter()
            .filter(|l| remaining(l) > 0)
            .map(|l| PackedItem {
                order_item_id: l.order_item_id.as_str().to_string(),
                sku: l.sku.as_str().to_string(),
                quantity: remaining(l),
                transparency_codes: Vec::new(),
            })
            .collect();
        if items.is_empty() {
            return Err(format!(
                "order {order} has nothing left to ship: every unit is already confirmed or cancelled; do not send this package again"
            ));
        }
        return Ok(items);
    }
    let mut items: Vec<PackedItem> = Vec::new();
    for (n, line) in msg.lines.iter().enumerate() {
        let codes = line.transparency_codes.len();
        if codes as u64 > u64::from(line.quantity) {
            return Err(format!(
                "`/lines/{n}/transparency_codes` has {codes} codes for {} units: send one code per unit",
                line.quantity
            ));
        }
        let sent_line = match &line.order_item_id {
            Some(id) => {
                let l = sent
                    .lines
                    .iter()
                    .find(|l| &l.order_item_id == id)
                    .ok_or_else(|| {
                        format!(
                            "`/lines/{n}/order_item_id` {id} is not an item of order {order}; use the order_item_id from order.created"
                        )
                    })?;
                if l.sku != line.sku {
                    return Err(format!(
                        "`/lines/{n}`: order item {id} of order {order} is SKU {}, not SKU {}; fix the SKU or the order_item_id",
                        l.sku, line.sku
                    ));
                }
                l
            }
            None => {
                let matching: Vec<&orders::SentLine> =
                    sent.lines.iter().filter(|l| l.sku == line.sku).collect();
                match matching.as_slice() {
                    [] => {
                        return Err(format!(
                            "`/lines/{n}/sku` {} is not on order {order}; send the SKUs of order.created",
                            line.sku
                        ));
                    }
                    [one] => *one,
                    _ => {
                        return Err(format!(
                            "`/lines/{n}`: SKU {} is on {} lines of order {order}; add the line's order_item_id",
                            line.sku,
                            matching.len()
                        ));
                    }
                }
            }
        };
        let id = sent_line.order_item_id.as_str();
        match items.iter_mut().find(|i| i.order_item_id == id) {
            Some(i) => {
                i.quantity += line.quantity;
                i.transparency_codes
                    .extend(line.transparency_codes.iter().cloned());
            }
            None => items.push(PackedItem {
                order_item_id: id.to_string(),
                sku: sent_line.sku.as_str().to_string(),
                quantity: line.quantity,
                transparency_codes: line.transparency_codes.clone(),
            }),
        }
    }
    for item in &items {
        let Some(line) = sent
            .lines
            .iter()
            .find(|l| l.order_item_id.as_str() == item.order_item_id)
        else {
            continue;
        };
        let left = remaining(line);
        if item.quantity > left {
            return Err(format!(
                "SKU {} of order {order}: the package has {} unit(s) but only {left} remain unshipped ({} sent to the WMS, {} cancelled, {} already in other packages); fix the quantities",
                item.sku,
                item.quantity,
                line.quantity,
                line.cancelled_reported,
                record.units(&item.order_item_id)
            ));
        }
    }
    Ok(items)
}

/// One package as it arrives, ready to be claimed.
#[derive(Clone, Debug)]
pub struct Incoming<'a> {
    pub message: &'a ShipmentMessage,
    /// The message body as received (kept to dead-letter it later if a feed
    /// refuses it).
    pub body: &'a str,
    pub payload_hash: &'a str,
    pub carrier: &'a CarrierMapping,
    pub sent: &'a SentOrder,
    /// The seller's supply source, used when the message names none.
    pub default_supply_source: Option<&'a str>,
}

/// What claiming a package in its order's record decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// New: the package is `Confirming` under our lease; confirm it.
    New,
    /// A claim whose run died (its lease ran out) or failed: ours now, but
    /// Amazon may have it already: check the order before confirming.
    TakenOver,
    /// Confirmed before: acknowledge, call nobody.
    AlreadyConfirmed,
    /// Sent in a feed whose report is not read yet: acknowledge (and make
    /// sure a feed check is waiting).
    InFeed { feed_id: String, message_id: u32 },
    /// Another run holds a live lease on it.
    InFlight,
    /// A label bought through the label function carries this tracking
    /// number: Amazon knows the shipment; recorded as confirmed.
    Label,
    /// Cannot be confirmed as it is.
    Refused(String),
}

/// Decides and applies the claim on `record` (the caller writes it back,
/// conditional on its version).
pub fn claim(
    record: &mut OrderShipments,
    incoming: &Incoming<'_>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Claimed {
    let msg = incoming.message;
    let id = msg.package_id.as_str();
    if let Some(existing) = record.packages.get_mut(id) {
        return match &mut existing.state {
            PackageState::Confirmed { .. } => Claimed::AlreadyConfirmed,
            PackageState::Submitted {
                feed_id,
                message_id,
                ..
            } => Claimed::InFeed {
                feed_id: feed_id.clone(),
                message_id: *message_id,
            },
            PackageState::Confirming {
                lease_until: held, ..
            } if *held > now => Claimed::InFlight,
            PackageState::Confirming {
                lease_until: held,
                attempts,
            } => {
                *held = lease_until;
                *attempts += 1;
                Claimed::TakenOver
            }
        };
    }
    let items = match package_items(msg, incoming.sent, record) {
        Ok(items) => items,
        Err(reason) => {
            record.refused.insert(
                id.to_string(),
                Refusal {
                    reason: reason.clone(),
                    at: now,
                    payload_hash: incoming.payload_hash.to_string(),
                },
            );
            return Claimed::Refused(reason);
        }
    };
    let label = record.label(&msg.tracking_number).is_some();
    let reference_id = record.next_reference();
    let state = if label {
        PackageState::Confirmed {
            at: now,
            via: Via::Label,
            answer: Some(
                "a label bought through the label function carries this tracking number: Amazon already has the shipment".into(),
            ),
        }
    } else {
        PackageState::Confirming {
            lease_until,
            attempts: 0,
        }
    };
    record.refused.remove(id);
    record.packages.insert(
        id.to_string(),
        PackageRecord {
            package_id: id.to_string(),
            reference_id,
            payload_hash: incoming.payload_hash.to_string(),
            items,
            carrier_code: incoming.carrier.carrier_code.clone(),
            carrier_name: incoming.carrier.carrier_name.clone(),
            shipping_method: incoming.carrier.shipping_method.clone(),
            tracking_number: msg.tracking_number.clone(),
            ship_date: msg.ship_date,
            ship_from_supply_source_id: msg
                .ship_from_supply_source_id
                .clone()
                .or_else(|| incoming.default_supply_source.map(str::to_string)),
            cod_collection_method: msg.cod_collection_method.clone(),
            state,
            message: (!label).then(|| incoming.body.to_string()),
        },
    );
    if label { Claimed::Label } else { Claimed::New }
}

/// After a refusal by Amazon: the package leaves the order's packages (its
/// units are open again) and its refusal is kept for the operator.
pub fn refuse(record: &mut OrderShipments, package_id: &str, reason: &str, now: DateTime<Utc>) {
    let hash = record
        .packages
        .remove(package_id)
        .map(|p| p.payload_hash)
        .unwrap_or_default();
    record.refused.insert(
        package_id.to_string(),
        Refusal {
            reason: reason.to_string(),
            at: now,
            payload_hash: hash,
        },
    );
}

/// After a failure that may be retried: the claim stays (its units stay
/// reserved) but its lease ends now, so the next delivery takes it over —
/// and checks Amazon's order first.
pub fn release(record: &mut OrderShipments, package_id: &str, now: DateTime<Utc>) {
    if let Some(p) = record.packages.get_mut(package_id)
        && let PackageState::Confirming { lease_until, .. } = &mut p.state
    {
        *lease_until = now;
    }
}

/// The package went out in a feed.
pub fn submitted(
    record: &mut OrderShipments,
    package_id: &str,
    feed_id: &str,
    message_id: u32,
    now: DateTime<Utc>,
) {
    if let Some(p) = record.packages.get_mut(package_id)
        && matches!(p.state, PackageState::Confirming { .. })
    {
        p.state = PackageState::Submitted {
            feed_id: feed_id.to_string(),
            message_id,
            submitted_at: now,
        };
    }
}

/// A feed that failed as a whole (or never finished): its packages go back
/// to `Confirming` with an expired lease, so their next delivery checks
/// Amazon's order and then uses `confirmShipment`. `false` if the package is
/// no longer waiting on `feed_id`.
pub fn back_from_feed(
    record: &mut OrderShipments,
    package_id: &str,
    feed_id: &str,
    now: DateTime<Utc>,
) -> bool {
    match record.packages.get_mut(package_id) {
        Some(p) if matches!(&p.state, PackageState::Submitted { feed_id: f, .. } if f == feed_id) =>
        {
            p.state = PackageState::Confirming {
                lease_until: now,
                attempts: 1,
            };
            true
        }
        _ => false,
    }
}

/// Amazon has the package; `answer` is what Amazon said.
pub fn confirmed(
    record: &mut OrderShipments,
    package_id: &str,
    via: Via,
    answer: &str,
    now: DateTime<Utc>,
) {
    if let Some(p) = record.packages.get_mut(package_id) {
        p.state = PackageState::Confirmed {
            at: now,
            via,
            answer: Some(answer.to_string()),
        };
        p.message = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{ClientCode, MarketplaceId, OrderItemId, SellerId, Sku};
    use orders::SentLine;
    use store::LabelRecord;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn sent() -> SentOrder {
        let line = |id: &str, sku: &str, q: u32| SentLine {
            order_item_id: OrderItemId::new(id).unwrap(),
            sku: Sku::new(sku).unwrap(),
            quantity: q,
            fulfilled_at_send: 0,
            cancelled_reported: 0,
            cancel_requested: false,
        };
        SentOrder {
            seller_id: SellerId::new("A3EXAMPLESELLER").unwrap(),
            client_code: ClientCode::new("ACME").unwrap(),
            order_number: "MG302-1234567-1234567".into(),
            amazon_order_id: AmazonOrderId::new("302-1234567-1234567").unwrap(),
            marketplace_id: MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
            lines: vec![line("11", "MUG", 3), line("12", "CUP", 1)],
            buy_shipping: Vec::new(),
        }
    }

    fn message(package: &str, lines: serde_json::Value) -> ShipmentMessage {
        let mut body = json!({
            "schema": 1, "client_code": "ACME", "order_number": "MG302-1234567-1234567",
            "package_id": package, "carrier": "DHL", "tracking_number": format!("T-{package}"),
            "ship_date": "2026-09-01T14:00:00Z"
        });
        if !lines.is_null() {
            body["lines"] = lines;
        }
        ShipmentMessage::parse(&body.to_string()).expect("a valid message")
    }

    fn record() -> OrderShipments {
        let s = sent();
        OrderShipments::new(s.seller_id, s.amazon_order_id)
    }

    fn carrier() -> CarrierMapping {
        carriers::map_carrier("DHL", None, &Default::default())
    }

    fn take(r: &mut OrderShipments, m: &ShipmentMessage, now: i64) -> Claimed {
        let s = sent();
        let c = carrier();
        let hash = payload_hash(m, &s.amazon_order_id);
        claim(
            r,
            &Incoming {
                message: m,
                body: "{}",
                payload_hash: &hash,
                carrier: &c,
                sent: &s,
                default_supply_source: Some("SELLER-DEFAULT-SOURCE"),
            },
            t(now),
            t(now + 60),
        )
    }

    fn message_v2(package: &str, extra: serde_json::Value) -> ShipmentMessage {
        let mut body = json!({
            "schema": 2, "client_code": "ACME", "order_number": "MG302-1234567-1234567",
            "package_id": package, "carrier": "DHL", "tracking_number": format!("T-{package}"),
            "ship_date": "2026-09-01T14:00:00Z"
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        ShipmentMessage::parse(&body.to_string()).expect("a valid message")
    }

    #[test]
    fn transparency_codes_supply_source_and_cod_reach_the_record() {
        let mut r = record();
        let m = message_v2(
            "P1",
            json!({
                "ship_from_supply_source_id": "WAREHOUSE-2",
                "cod_collection_method": "DirectPayment",
                "lines": [
                    {"sku": "MUG", "quantity": 1, "transparency_codes": ["AZ:1"]},
                    {"sku": "MUG", "quantity": 1, "order_item_id": "11", "transparency_codes": ["AZ:2"]},
                    {"sku": "CUP", "quantity": 1}
                ]
            }),
        );
        assert_eq!(take(&mut r, &m, 0), Claimed::New);
        let p = &r.packages["P1"];
        assert_eq!(p.ship_from_supply_source_id.as_deref(), Some("WAREHOUSE-2"));
        assert_eq!(p.cod_collection_method.as_deref(), Some("DirectPayment"));
        assert_eq!(p.items[0].quantity, 2);
        assert_eq!(p.items[0].transparency_codes, ["AZ:1", "AZ:2"]);
        assert!(p.items[1].transparency_codes.is_empty());

        // No supply source in the message: the seller's.
        let plain = message_v2("P2", json!({"lines": [{"sku": "MUG", "quantity": 1}]}));
        assert_eq!(take(&mut r, &plain, 1), Claimed::New);
        assert_eq!(
            r.packages["P2"].ship_from_supply_source_id.as_deref(),
            Some("SELLER-DEFAULT-SOURCE")
        );
    }

    #[test]
    fn more_codes_than_units_is_refused_by_line() {
        let mut r = record();
        let m = message_v2(
            "P1",
            json!({"lines": [{"sku": "MUG", "quantity": 2, "transparency_codes": ["A", "B", "C"]}]}),
        );
        match take(&mut r, &m, 0) {
            Claimed::Refused(reason) => assert!(
                reason.contains("`/lines/0/transparency_codes` has 3 codes for 2 units"),
                "{reason}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_1_hashes_do_not_change_and_the_extras_count_in_version_2() {
        let order = sent().amazon_order_id;
        let v1 = message("P1", json!([{"sku": "MUG", "quantity": 1}]));
        // The hash a version 1 message always had (bindings made before the
        // upgrade must still match their message).
        assert_eq!(
            payload_hash(&v1, &order),
            store::sha256_hex(
                json!({
                    "order": "302-1234567-1234567", "package_id": "P1", "carrier": "DHL",
                    "service": null, "tracking_number": "T-P1",
                    "ship_date": "2026-09-01T14:00:00+00:00",
                    "lines": [["MUG", 1, null]],
                })
                .to_string()
            )
        );
        let a = message_v2(
            "P1",
            json!({"lines": [{"sku": "MUG", "quantity": 1, "transparency_codes": ["X"]}]}),
        );
        let b = message_v2(
            "P1",
            json!({"lines": [{"sku": "MUG", "quantity": 1, "transparency_codes": ["Y"]}]}),
        );
        assert_ne!(payload_hash(&a, &order), payload_hash(&b, &order));
        let c = message_v2(
            "P1",
            json!({"ship_from_supply_source_id": "W1", "lines": [{"sku": "MUG", "quantity": 1}]}),
        );
        assert_ne!(payload_hash(&c, &order), payload_hash(&v1, &order));
    }

    fn units(r: &OrderShipments) -> (u32, u32) {
        (r.units("11"), r.units("12"))
    }

    #[test]
    fn partial_then_all_that_remains() {
        let mut r = record();
        let first = message("P1", json!([{"sku": "MUG", "quantity": 2}]));
        assert_eq!(take(&mut r, &first, 0), Claimed::New);
        assert_eq!(units(&r), (2, 0));
        assert_eq!(r.packages["P1"].reference_id, 1);
        let rest = message("P2", serde_json::Value::Null);
        assert_eq!(take(&mut r, &rest, 1), Claimed::New);
        assert_eq!(units(&r), (3, 1));
        let p2 = &r.packages["P2"];
        assert_eq!(p2.reference_id, 2);
        assert_eq!(
            p2.items
                .iter()
                .map(|i| (i.sku.as_str(), i.quantity))
                .collect::<Vec<_>>(),
            vec![("MUG", 1), ("CUP", 1)]
        );
        let more = message("P3", serde_json::Value::Null);
        let Claimed::Refused(reason) = take(&mut r, &more, 2) else {
            panic!("nothing is left");
        };
        assert!(reason.contains("nothing left to ship"), "{reason}");
        assert!(r.refused.contains_key("P3"));
    }

    #[test]
    fn bad_lines_are_refused_with_a_reason() {
        let cases = [
            (json!([{"sku": "PLATE", "quantity": 1}]), "is not on order"),
            (json!([{"sku": "MUG", "quantity": 4}]), "only 3 remain"),
            (
                json!([{"sku": "MUG", "quantity": 2}, {"sku": "MUG", "quantity": 2}]),
                "only 3 remain",
            ),
            (
                json!([{"sku": "MUG", "quantity": 1, "order_item_id": "99"}]),
                "is not an item",
            ),
            (
                json!([{"sku": "CUP", "quantity": 1, "order_item_id": "11"}]),
                "is SKU MUG",
            ),
        ];
        for (lines, expected) in cases {
            let mut r = record();
            let m = message("P1", lines);
            match take(&mut r, &m, 0) {
                Claimed::Refused(reason) => assert!(reason.contains(expected), "{reason}"),
                other => panic!("{expected}: {other:?}"),
            }
            assert!(r.packages.is_empty());
        }
    }

    #[test]
    fn cancelled_units_are_not_shipped() {
        let mut s = sent();
        s.lines[0].cancelled_reported = 2;
        let r = record();
        let m = message("P1", json!([{"sku": "MUG", "quantity": 2}]));
        let err = package_items(&m, &s, &r).unwrap_err();
        assert!(err.contains("only 1 remain"), "{err}");
        let all = package_items(&message("P2", serde_json::Value::Null), &s, &r).unwrap();
        assert_eq!(all[0].quantity, 1);
    }

    #[test]
    fn repeats_leases_and_takeovers() {
        let mut r = record();
        let m = message("P1", serde_json::Value::Null);
        assert_eq!(take(&mut r, &m, 0), Claimed::New);
        assert_eq!(take(&mut r, &m, 10), Claimed::InFlight, "lease until 60");
        assert_eq!(take(&mut r, &m, 61), Claimed::TakenOver);
        release(&mut r, "P1", t(62));
        assert_eq!(take(&mut r, &m, 62), Claimed::TakenOver);
        confirmed(&mut r, "P1", Via::Api, "accepted", t(63));
        assert_eq!(take(&mut r, &m, 64), Claimed::AlreadyConfirmed);
        assert!(
            r.packages["P1"].message.is_none(),
            "kept only until confirmed"
        );
        refuse(&mut r, "P1", "Amazon said no", t(65));
        assert_eq!(units(&r), (0, 0), "a refused package frees its units");
        assert_eq!(r.refused["P1"].reason, "Amazon said no");
    }

    #[test]
    fn feed_states() {
        let mut r = record();
        let m = message("P1", serde_json::Value::Null);
        assert_eq!(take(&mut r, &m, 0), Claimed::New);
        submitted(&mut r, "P1", "F1", 3, t(1));
        assert_eq!(
            take(&mut r, &m, 2),
            Claimed::InFeed {
                feed_id: "F1".into(),
                message_id: 3
            }
        );
        assert!(!back_from_feed(&mut r, "P1", "F2", t(3)), "another feed");
        assert!(back_from_feed(&mut r, "P1", "F1", t(3)));
        assert_eq!(
            take(&mut r, &m, 4),
            Claimed::TakenOver,
            "checked, then confirmShipment"
        );
        assert_eq!(units(&r), (3, 1), "the units stayed reserved throughout");
    }

    #[test]
    fn a_label_bought_for_the_order_is_not_confirmed_again() {
        let mut r = record();
        r.labels.push(LabelRecord {
            tracking_number: "T-P1".into(),
            shipment_id: None,
            carrier: None,
            bought_at: t(0),
        });
        let m = message("P1", serde_json::Value::Null);
        assert_eq!(take(&mut r, &m, 1), Claimed::Label);
        assert!(r.packages["P1"].is_confirmed());
        assert_eq!(take(&mut r, &m, 2), Claimed::AlreadyConfirmed);
    }

    #[test]
    fn hashes_ignore_identity_but_not_content() {
        let order = sent().amazon_order_id;
        let a = message("P1", json!([{"sku": "MUG", "quantity": 1}]));
        let mut b = a.clone();
        b.client_code = None;
        b.seller_id = Some(SellerId::new("A3EXAMPLESELLER").unwrap());
        b.order_number = "302-1234567-1234567".into();
        assert_eq!(payload_hash(&a, &order), payload_hash(&b, &order));
        let mut c = a.clone();
        c.tracking_number = "other".into();
        assert_ne!(payload_hash(&a, &order), payload_hash(&c, &order));
        assert_eq!(payload_hash(&a, &order).len(), 64);
    }
}
