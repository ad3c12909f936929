//! Issue 17, items 4 and 9, end to end through the label function (wired
//! from template.yaml against moto and the simulator), label contract
//! version 2: an offer that needs a customs declaration says so with
//! Amazon's schema at rates time, a purchase without or with broken inputs
//! is refused before Amazon is asked, a good one buys once; version 1 never
//! offers it; serial numbers reach Amazon with an Amazon order's label; and
//! the carrier's collection forms at close-out, per carrier and ship-from
//! address, made once per key.

use domain::Operation;
use serde_json::{Value, json};
use tests::labels::{LabelRig, file, warehouse};
use wms::label::ErrorCode;

/// A parcel from the London warehouse to Cologne (cross-border: UPS needs a
/// customs declaration).
fn abroad() -> Value {
    json!({"name": "Erika Mustermann", "address_line1": "Heidestrasse 17", "city": "Koeln",
        "state_or_region": "NW", "postal_code": "51147", "country_code": "DE"})
}

fn other_warehouse() -> Value {
    json!({"name": "Test Warehouse 2", "address_line1": "7 Canal Street", "city": "Manchester",
        "state_or_region": "Greater Manchester", "postal_code": "M1 3HE", "country_code": "GB"})
}

fn parcel(id: &str) -> Value {
    json!({
        "package_id": id,
        "weight": {"value": "0.8", "unit": "KILOGRAM"},
        "dimensions": {"length": "25", "width": "15", "height": "8", "unit": "CENTIMETER"},
        "items": [{"description": "Mug, blue", "quantity": 2, "value": {"amount": "9.95", "currency": "GBP"}}]
    })
}

fn declaration(hs_code: &str) -> Value {
    json!({"customsDeclaration": {"contentsType": "SALE_OF_GOODS", "items": [
        {"description": "Mug, blue", "hsCode": hs_code, "countryOfOrigin": "GB", "quantity": 2,
         "unitValue": {"value": 9.95, "unit": "GBP"}}]}})
}

fn external_rates(rig: &LabelRig, version: u32, ship_from: Value, to: Value, id: &str) -> Value {
    json!({
        "schema": version, "operation": "rates", "seller_id": rig.seller.seller_id,
        "shipment": {"ship_to": to, "ship_from": ship_from, "packages": [parcel(id)]}
    })
}

#[tokio::test]
async fn an_offer_that_needs_a_customs_declaration_is_bought_only_with_it() {
    let rig = LabelRig::new("feat-label-inputs").await;
    let r = rig
        .invoke(external_rates(&rig, 2, warehouse(), abroad(), "SHOP-1"))
        .await;
    assert!(r.ok, "{:?}", r.error);
    let rates = r.rates.unwrap();
    let ups = rates
        .offers
        .iter()
        .find(|o| o.service_id == "UPS-EXPRESS")
        .expect("UPS is offered in version 2")
        .clone();
    assert_eq!(ups.requires_additional_inputs, Some(true));
    let schema = ups
        .additional_inputs_schema
        .clone()
        .expect("Amazon's schema");
    assert_eq!(schema["required"], json!(["customsDeclaration"]));
    let amzn = rates
        .offers
        .iter()
        .find(|o| o.service_id == "AMZN-STD")
        .unwrap();
    assert_eq!(amzn.requires_additional_inputs, Some(false));
    assert!(amzn.additional_inputs_schema.is_none());
    assert_eq!(
        rig.calls(Operation::GetAdditionalInputs),
        1,
        "one offer needs inputs"
    );

    // The schema again, by operation (from the stored rates: no new call).
    let asked = rig
        .invoke(
            json!({"schema": 2, "operation": "additional_inputs", "seller_id": rig.seller.seller_id,
            "request_token": rates.request_token, "rate_id": ups.rate_id}),
        )
        .await;
    let inputs = asked.additional_inputs.expect("the schema");
    assert!(inputs.required);
    assert_eq!(inputs.schema, schema);
    let none = rig
        .invoke(
            json!({"schema": 2, "operation": "additional_inputs", "seller_id": rig.seller.seller_id,
            "request_token": rates.request_token, "rate_id": amzn.rate_id}),
        )
        .await
        .additional_inputs
        .unwrap();
    assert!(!none.required && none.schema.is_empty());
    assert_eq!(rig.calls(Operation::GetAdditionalInputs), 1);

    let purchase = |key: &str, inputs: Option<Value>| {
        let mut p = json!({
            "schema": 2, "operation": "purchase", "seller_id": rig.seller.seller_id,
            "idempotency_key": key, "request_token": rates.request_token, "rate_id": ups.rate_id,
            "label": {"format": "PDF"}
        });
        if let Some(i) = inputs {
            p["additional_inputs"] = i;
        }
        p
    };
    // Without the inputs: refused, naming them, before Amazon is asked.
    let missing = rig.invoke(purchase("SHOP-1-a", None)).await;
    let e = missing.error.expect("refused");
    assert_eq!(e.code, ErrorCode::AdditionalInputsRequired);
    assert!(e.message.contains("customsDeclaration"), "{}", e.message);
    // With a broken HS code: the field named, the value never.
    let broken = rig
        .invoke(purchase("SHOP-1-b", Some(declaration("MUG"))))
        .await;
    let e = broken.error.expect("refused");
    assert_eq!(e.code, ErrorCode::AdditionalInputsInvalid);
    assert!(
        e.message.contains("/customsDeclaration/items/0/hsCode"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("MUG\""), "{}", e.message);
    assert_eq!(rig.calls(Operation::PurchaseShipment), 0);
    assert_eq!(rig.purchases(), 0);

    // With good inputs: bought once, replayed after.
    let good = rig
        .invoke(purchase("SHOP-1-c", Some(declaration("691200"))))
        .await;
    let label = good.label.unwrap_or_else(|| panic!("{:?}", good.error));
    assert_eq!(label.service_id, "UPS-EXPRESS");
    assert!(!label.replayed);
    let again = rig
        .invoke(purchase("SHOP-1-c", Some(declaration("691200"))))
        .await;
    let replay = again.label.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.shipment_id, label.shipment_id);
    assert_eq!(rig.purchases(), 1);

    // One click by rule picks an offer that needs inputs only when given some.
    let one_click = |key: &str, inputs: Option<Value>| {
        let mut p = json!({
            "schema": 2, "operation": "one_click", "seller_id": rig.seller.seller_id,
            "idempotency_key": key,
            "shipment": {"ship_to": abroad(), "ship_from": warehouse(), "packages": [parcel(key)]},
            "select": {"rule": "fastest"}, "label": {"format": "PDF"}
        });
        if let Some(i) = inputs {
            p["additional_inputs"] = i;
        }
        p
    };
    let plain = rig.invoke(one_click("SHOP-2", None)).await.label.unwrap();
    assert_ne!(
        plain.service_id, "UPS-EXPRESS",
        "UPS needs inputs it did not get"
    );
    let declared = rig
        .invoke(one_click("SHOP-3", Some(declaration("691200"))))
        .await;
    assert_eq!(
        declared
            .label
            .unwrap_or_else(|| panic!("{:?}", declared.error))
            .service_id,
        "UPS-EXPRESS",
        "the fastest, now that its inputs came"
    );
}

#[tokio::test]
async fn version_1_never_offers_what_it_cannot_buy() {
    let rig = LabelRig::new("feat-label-inputs-v1").await;
    let r = rig
        .invoke(external_rates(&rig, 1, warehouse(), abroad(), "SHOP-9"))
        .await;
    let rates = r.rates.unwrap();
    assert!(rates.offers.iter().all(|o| o.service_id != "UPS-EXPRESS"));
    assert!(
        rates
            .offers
            .iter()
            .all(|o| o.requires_additional_inputs.is_none())
    );
    let ups = rates
        .ineligible
        .iter()
        .find(|o| o.service_id == "UPS-EXPRESS")
        .expect("listed as ineligible");
    assert_eq!(ups.reasons[0].code, "ADDITIONAL_INPUTS_REQUIRED");
    assert_eq!(
        rig.calls(Operation::GetAdditionalInputs),
        0,
        "version 1 cannot send inputs: no schema fetched"
    );
    // A version 1 request with a version 2 field is refused, by name.
    let mut p = rig.purchase_request("SHOP-9", &rates.request_token, "RATE", "PDF");
    p["additional_inputs"] = declaration("691200");
    let refused = rig.invoke(p).await;
    assert_eq!(refused.schema, wms::MessageVersion::V1);
    let e = refused.error.unwrap();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(e.message.contains("/additional_inputs") && e.message.contains("\"schema\": 2"));
}

#[tokio::test]
async fn serial_numbers_go_with_an_amazon_orders_label() {
    let rig = LabelRig::new("feat-label-serials").await;
    let number = rig.seed_order(2); // SKU-2-A × 1, SKU-2-B × 2
    let one_click = |key: &str, items: Value, version: u32| {
        json!({
            "schema": version, "operation": "one_click", "seller_id": rig.seller.seller_id,
            "idempotency_key": key,
            "shipment": {"order_number": number, "ship_from": warehouse(), "packages": [{
                "package_id": key, "weight": {"value": "1.2", "unit": "KILOGRAM"},
                "dimensions": {"length": "30", "width": "20", "height": "10", "unit": "CENTIMETER"},
                "items": items}]},
            "select": {"rule": "cheapest"}, "label": {"format": "ZPL"}
        })
    };
    let too_many = rig
        .invoke(one_click(
            "PKG-S1",
            json!([{"sku": "SKU-2-A", "quantity": 1, "serial_numbers": ["SN-1", "SN-2"]}]),
            2,
        ))
        .await;
    assert_eq!(
        too_many.error.unwrap().code,
        ErrorCode::SerialNumbersInvalid
    );
    let repeated = rig
        .invoke(one_click(
            "PKG-S2",
            json!([{"sku": "SKU-2-A", "quantity": 1, "serial_numbers": ["SN-1"]},
                   {"sku": "SKU-2-B", "quantity": 2, "serial_numbers": ["SN-1", "SN-3"]}]),
            2,
        ))
        .await;
    assert_eq!(
        repeated.error.unwrap().code,
        ErrorCode::SerialNumbersInvalid
    );
    let v1 = rig
        .invoke(one_click(
            "PKG-S3",
            json!([{"sku": "SKU-2-A", "quantity": 1, "serial_numbers": ["SN-1"]}]),
            1,
        ))
        .await;
    let e = v1.error.unwrap();
    assert!(
        e.message
            .contains("/shipment/packages/0/items/0/serial_numbers"),
        "{}",
        e.message
    );
    assert_eq!(rig.purchases(), 0);

    let bought = rig
        .invoke(one_click(
            "PKG-S4",
            json!([{"sku": "SKU-2-A", "quantity": 1, "serial_numbers": ["SN-A-1"]},
                   {"sku": "SKU-2-B", "quantity": 2, "serial_numbers": ["SN-B-1", "SN-B-2"]}]),
            2,
        ))
        .await;
    let label = bought.label.unwrap_or_else(|| panic!("{:?}", bought.error));
    let shipments = rig.sim.control().shipments(&rig.seller.seller_id);
    let on_amazon = shipments
        .iter()
        .find(|s| s.shipment_id == label.shipment_id)
        .unwrap();
    assert_eq!(on_amazon.serial_numbers, ["SN-A-1", "SN-B-1", "SN-B-2"]);

    // Serial numbers on a shipment that is no Amazon order are refused.
    let external = rig
        .invoke(json!({
            "schema": 2, "operation": "rates", "seller_id": rig.seller.seller_id,
            "shipment": {"ship_to": abroad(), "ship_from": warehouse(), "packages": [{
                "package_id": "X1", "weight": {"value": "1", "unit": "KILOGRAM"},
                "dimensions": {"length": "30", "width": "20", "height": "10", "unit": "CENTIMETER"},
                "items": [{"description": "Drill", "quantity": 1, "serial_numbers": ["SN-X"]}]}]}
        }))
        .await;
    let e = external.error.unwrap();
    assert_eq!(e.code, ErrorCode::SerialNumbersInvalid);
    assert!(e.message.contains("order_number"), "{}", e.message);
}

fn pdf_text(doc: &wms::label::Document) -> String {
    String::from_utf8_lossy(&file(doc)).into_owned()
}

#[tokio::test]
async fn close_out_makes_one_collection_form_per_carrier_and_warehouse() {
    let rig = LabelRig::new("feat-label-close-out").await;
    let seller = rig.seller.seller_id.clone();
    // Parcels: two Amazon Shipping from London, one from Manchester, one DHL from London.
    let mut bought = Vec::new();
    for (key, from, service) in [
        ("CO-1", warehouse(), "AMZN-STD"),
        ("CO-2", warehouse(), "AMZN-STD"),
        ("CO-3", other_warehouse(), "AMZN-STD"),
        ("CO-4", warehouse(), "DHL-PAKET"),
    ] {
        let to = json!({"name": "Shop Customer", "address_line1": "2 High Street", "city": "Leeds",
            "state_or_region": "West Yorkshire", "postal_code": "LS1 1AA", "country_code": "GB"});
        let r = rig
            .invoke(json!({
                "schema": 2, "operation": "one_click", "seller_id": seller, "idempotency_key": key,
                "shipment": {"ship_to": to, "ship_from": from, "packages": [parcel(key)]},
                "select": {"rule": "service", "service_id": service}, "label": {"format": "PDF"}
            }))
            .await;
        bought.push(r.label.unwrap_or_else(|| panic!("{key}: {:?}", r.error)));
    }
    let ask = |op: &str, extra: Value| {
        let mut v = json!({"schema": 2, "operation": op, "seller_id": seller});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let waiting = rig
        .invoke(ask("unmanifested", json!({})))
        .await
        .unmanifested
        .unwrap();
    let places = |carrier: &str| -> Vec<String> {
        waiting
            .carriers
            .iter()
            .find(|c| c.carrier_id == carrier)
            .map(|c| {
                c.locations
                    .iter()
                    .map(|l| l.ship_from.postal_code.expose().clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut amzn = places("AMZN");
    amzn.sort();
    assert_eq!(amzn, ["E16 2QU", "M1 3HE"]);
    assert_eq!(places("DHL"), ["E16 2QU"]);

    // The Amazon Shipping form for London: its two parcels, once per key.
    let form_request = ask(
        "collection_form",
        json!({"idempotency_key": "CLOSE-LDN-AMZN", "carrier_id": "AMZN", "ship_from": warehouse()}),
    );
    let made = rig.invoke(form_request.clone()).await;
    let form = made
        .collection_form
        .unwrap_or_else(|| panic!("{:?}", made.error));
    assert!(!form.replayed);
    let id = form
        .collection_form_id
        .clone()
        .expect("its id, from Amazon's history");
    assert_eq!(form.documents[0].kind, "COLLECTION_FORM");
    let text = pdf_text(&form.documents[0]);
    assert!(text.starts_with("%PDF"));
    for label in &bought[..2] {
        let tracking = label.packages[0].tracking_id.as_deref().unwrap();
        assert!(text.contains(tracking), "{tracking} on the form");
    }
    let manchester = bought[2].packages[0].tracking_id.as_deref().unwrap();
    assert!(!text.contains(manchester));
    let replay = rig.invoke(form_request).await.collection_form.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.collection_form_id.as_deref(), Some(id.as_str()));
    assert_eq!(pdf_text(&replay.documents[0]), text);
    assert_eq!(rig.sim.control().collection_forms_generated(&seller), 1);
    let forms = rig.sim.control().collection_forms(&seller);
    assert_eq!(forms[0].shipment_ids.len(), 2);

    // London's Amazon Shipping parcels are manifested; the rest still wait.
    let waiting = rig
        .invoke(ask("unmanifested", json!({"ship_from": warehouse()})))
        .await
        .unmanifested
        .unwrap();
    let carriers: Vec<&str> = waiting
        .carriers
        .iter()
        .map(|c| c.carrier_id.as_str())
        .collect();
    assert_eq!(carriers, ["DHL"]);
    let generate_calls = rig.calls(Operation::GenerateCollectionForm);
    let nothing = rig
        .invoke(ask(
            "collection_form",
            json!({"idempotency_key": "CLOSE-LDN-AMZN-2", "carrier_id": "AMZN", "ship_from": warehouse()}),
        ))
        .await;
    assert_eq!(nothing.error.unwrap().code, ErrorCode::NothingToManifest);
    assert_eq!(
        rig.calls(Operation::GenerateCollectionForm),
        generate_calls,
        "refused before Amazon is asked"
    );

    // A parcel on a form can no longer be cancelled.
    let cancel = rig
        .invoke(
            json!({"schema": 2, "operation": "cancel", "seller_id": seller,
            "shipment_id": bought[0].shipment_id}),
        )
        .await;
    assert_eq!(cancel.error.unwrap().code, ErrorCode::NotCancellable);

    // History and reprint.
    let history = rig
        .invoke(ask(
            "collection_form_history",
            json!({"carrier_id": "AMZN"}),
        ))
        .await
        .collection_forms
        .unwrap();
    assert_eq!(history.forms.len(), 1);
    assert_eq!(
        history.forms[0].collection_form_id.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(history.forms[0].status, "Completed");
    let reprint = rig
        .invoke(ask(
            "collection_form_reprint",
            json!({"collection_form_id": id}),
        ))
        .await
        .collection_form
        .unwrap();
    assert_eq!(pdf_text(&reprint.documents[0]), text);
    let unknown = rig
        .invoke(ask(
            "collection_form_reprint",
            json!({"collection_form_id": "CF-NOPE"}),
        ))
        .await;
    assert_eq!(
        unknown.error.unwrap().code,
        ErrorCode::UnknownCollectionForm
    );

    // Version 1 has no close-out: refused by name.
    let v1 = rig
        .invoke(json!({"schema": 1, "operation": "unmanifested", "seller_id": seller}))
        .await;
    let e = v1.error.unwrap();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(
        e.message
            .contains("`/operation` is part of label contract version 2")
    );
    assert!(
        v1.operation.is_none(),
        "a version 1 answer names no version 2 operation"
    );
}
