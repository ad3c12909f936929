use super::*;

fn seller() -> SellerId {
    SellerId::new("A3EXAMPLESELLER").unwrap()
}

fn order() -> AmazonOrderId {
    AmazonOrderId::new("302-1234567-1234567").unwrap()
}

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
}

#[test]
fn records_written_before_the_confirmation_extras_still_load() {
    let old = r#"{"package_id":"P1","reference_id":1,"payload_hash":"h",
        "items":[{"order_item_id":"12345678901234","sku":"SKU","quantity":1}],
        "carrier_code":"DHL","tracking_number":"T1","ship_date":"2026-09-01T14:00:00Z",
        "state":"confirmed","at":"2026-09-01T14:00:00Z","via":"api"}"#;
    let p: PackageRecord = serde_json::from_str(old).unwrap();
    assert!(p.items[0].transparency_codes.is_empty());
    assert!(p.ship_from_supply_source_id.is_none() && p.cod_collection_method.is_none());
    let again = serde_json::to_value(&p).unwrap();
    assert!(
        again.get("ship_from_supply_source_id").is_none(),
        "absent, not null"
    );
    assert!(again["items"][0].get("transparency_codes").is_none());
}

fn package(id: &str, item: &str, quantity: u32, state: PackageState) -> PackageRecord {
    PackageRecord {
        package_id: id.into(),
        reference_id: 1,
        payload_hash: "h".into(),
        items: vec![PackedItem {
            order_item_id: item.into(),
            sku: "SKU".into(),
            quantity,
            transparency_codes: Vec::new(),
        }],
        carrier_code: "DHL".into(),
        carrier_name: None,
        shipping_method: None,
        tracking_number: "T1".into(),
        ship_date: t(0),
        ship_from_supply_source_id: None,
        cod_collection_method: None,
        state,
        message: Some("{}".into()),
    }
}

/// PKG-1 of [`order`] bound at t(1).
fn binding() -> PackageBinding {
    PackageBinding {
        seller_id: seller(),
        package_id: "PKG-1".into(),
        amazon_order_id: order(),
        payload_hash: "abc".into(),
        bound_at: t(1),
        expires_at: 1_900_000_000,
    }
}

#[test]
fn keys_and_round_trips() {
    assert_eq!(
        Key::package(&seller(), "PKG-1").to_string(),
        "SELLER#A3EXAMPLESELLER / PACKAGE#PKG-1"
    );
    assert_eq!(
        Key::shipments(&seller(), &order()).sk,
        "SHIPMENTS#302-1234567-1234567"
    );
    let b = binding();
    assert_eq!(PackageBinding::try_from(&Item::from(&b)).unwrap(), b);
    let mut r = OrderShipments::new(seller(), order());
    r.packages.insert(
        "PKG-1".into(),
        package(
            "PKG-1",
            "11",
            2,
            PackageState::Confirmed {
                at: t(5),
                via: Via::Api,
                answer: Some("confirmShipment accepted (HTTP 204)".into()),
            },
        ),
    );
    r.packages.insert(
        "PKG-2".into(),
        package(
            "PKG-2",
            "11",
            1,
            PackageState::Confirming {
                lease_until: t(9),
                attempts: 1,
            },
        ),
    );
    let item = shipments_item(&r, 3, t(10), 1_900_000_000).unwrap();
    let back = shipments_from(&item).unwrap();
    assert_eq!(back.version, 3);
    assert_eq!(back.packages, r.packages);
    assert_eq!(back.units("11"), 3);
    assert_eq!(back.units("12"), 0);
}

#[tokio::test]
async fn memory_semantics_match_the_conditional_writes() {
    let m = MemoryStore::new();
    let b = binding();
    assert_eq!(m.bind_package(&b).await.unwrap(), Binding::Bound);
    assert_eq!(
        m.bind_package(&PackageBinding {
            payload_hash: "other".into(),
            ..b.clone()
        })
        .await
        .unwrap(),
        Binding::Existing(b.clone())
    );
    assert!(
        !m.release_package(&seller(), "PKG-1", "other")
            .await
            .unwrap()
    );
    assert!(m.release_package(&seller(), "PKG-1", "abc").await.unwrap());
    assert_eq!(m.get_package(&seller(), "PKG-1").await.unwrap(), None);

    let fresh = OrderShipments::new(seller(), order());
    assert_eq!(m.put_shipments(&fresh, t(0), 1).await.unwrap(), 1);
    let conflict = m.put_shipments(&fresh, t(0), 1).await.unwrap_err();
    assert!(
        matches!(conflict, StoreError::Conflict { .. }),
        "{conflict}"
    );
    let (reference, written) =
        update_shipments(&m, &seller(), &order(), t(1), 1, |r| r.next_reference())
            .await
            .unwrap();
    assert_eq!((reference, written.version), (1, 2));

    let label = LabelRecord {
        tracking_number: "1Z999".into(),
        shipment_id: Some("amzn1.ship.1".into()),
        carrier: Some("UPS".into()),
        bought_at: t(2),
    };
    m.record_label_bought(&seller(), &order(), &label, 1)
        .await
        .unwrap();
    m.record_label_bought(&seller(), &order(), &label, 1)
        .await
        .unwrap();
    assert_eq!(
        m.label_bought(&seller(), &order(), "1Z999").await.unwrap(),
        Some(label)
    );
    assert_eq!(
        m.label_bought(&seller(), &order(), "other").await.unwrap(),
        None
    );
    let stored = m.get_shipments(&seller(), &order()).await.unwrap().unwrap();
    assert_eq!(stored.labels.len(), 1, "recording twice changes nothing");
    assert_eq!(stored.last_reference, 1);
}
