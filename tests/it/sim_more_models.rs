//! The simulator's answers for what issue 17 added, over HTTP, validated
//! strictly against Amazon's models (no field the model does not define):
//! getAdditionalInputs, the collection forms (generate, history,
//! unmanifested, reprint) and searchListingsItems — and the behaviour the
//! connector relies on: a cross-border UPS rate needs inputs and a purchase
//! without them is refused, the listing search pages through at most its
//! cap while `numberOfResults` counts everything, and a page token belongs
//! to its query.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use spapi_sim::ListingSpec;
use tests::sim::{DE, UK, access_token, add_seller_in, sp_get, start_sim};

use crate::sim_schema::{assert_valid, model, validator};

async fn send(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("x-amz-access-token", token)
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

fn address(name: &str, line: &str, postal: &str, country: &str) -> Value {
    json!({"name": name, "addressLine1": line, "city": "City", "stateOrRegion": "Region",
        "postalCode": postal, "countryCode": country})
}

fn rates_body(ship_to_country: &str) -> Value {
    json!({
        "shipFrom": address("Warehouse", "1 Dock Road", "E16 2QU", "GB"),
        "shipTo": address("Customer", "2 Street", "51147", ship_to_country),
        "packages": [{
            "dimensions": {"length": 30, "width": 20, "height": 10, "unit": "CENTIMETER"},
            "weight": {"unit": "KILOGRAM", "value": 1},
            "insuredValue": {"value": 0, "unit": "GBP"},
            "packageClientReferenceId": "P1",
            "items": [{"quantity": 1}]
        }],
        "channelDetails": {"channelType": "EXTERNAL"}
    })
}

fn spec() -> Value {
    json!({"format": "PDF", "size": {"width": 4, "length": 6, "unit": "INCH"},
        "needFileJoining": false, "requestedDocumentTypes": ["LABEL"]})
}

#[tokio::test]
async fn additional_inputs_and_collection_forms_match_the_shipping_model() {
    let m = model("shippingV2.json");
    let sim = start_sim(100.0).await;
    let seller = add_seller_in(&sim, "A1SIMFORMSELLER", &[UK], true);
    let token = access_token(&sim, &seller).await;
    let base = sim.base_url();
    let post = |path: &'static str, headers: Vec<(&'static str, &'static str)>, body: Value| {
        let (base, token) = (base.clone(), token.clone());
        async move { send(&base, &token, reqwest::Method::POST, path, &headers, &body).await }
    };
    let put = |path: String, body: Value| {
        let (base, token) = (base.clone(), token.clone());
        async move { send(&base, &token, reqwest::Method::PUT, &path, &[], &body).await }
    };

    let (status, rates) = post("/shipping/v2/shipments/rates", vec![], rates_body("DE")).await;
    assert_eq!(status, 200, "{rates}");
    assert_valid(&validator(&m, "GetRatesResponse", true), &rates, "rates");
    let payload = &rates["payload"];
    let rate = |service: &str| {
        payload["rates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["serviceId"] == service)
            .unwrap()
            .clone()
    };
    assert_eq!(rate("UPS-EXPRESS")["requiresAdditionalInputs"], true);
    assert_eq!(rate("AMZN-STD")["requiresAdditionalInputs"], false);
    let rt = payload["requestToken"].as_str().unwrap();
    let inputs = sp_get(
        &sim,
        Some(&token),
        "/shipping/v2/shipments/additionalInputs/schema",
        &[
            ("requestToken", rt),
            ("rateId", rate("UPS-EXPRESS")["rateId"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(inputs.status, 200, "{}", inputs.body);
    assert_valid(
        &validator(&m, "GetAdditionalInputsResponse", true),
        &inputs.json(),
        "getAdditionalInputs",
    );
    assert_eq!(inputs.json()["payload"], spapi_sim::customs_schema());
    let none = sp_get(
        &sim,
        Some(&token),
        "/shipping/v2/shipments/additionalInputs/schema",
        &[
            ("requestToken", rt),
            ("rateId", rate("AMZN-STD")["rateId"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        none.json(),
        json!({"payload": {}}),
        "the model's sandbox answer"
    );
    // A purchase of the UPS rate without its inputs is refused.
    let (status, refused) = post(
        "/shipping/v2/shipments",
        vec![("x-amzn-IdempotencyKey", "k-ups")],
        json!({"requestToken": rt, "rateId": rate("UPS-EXPRESS")["rateId"], "requestedDocumentSpecification": spec()}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_valid(&validator(&m, "ErrorList", true), &refused, "refusal");
    // Domestic: nothing needed.
    let (_, domestic) = post("/shipping/v2/shipments/rates", vec![], rates_body("GB")).await;
    assert!(
        domestic["payload"]["rates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["requiresAdditionalInputs"] == false)
    );

    // Buy the Amazon Shipping rate, then manifest it.
    let (status, bought) = post(
        "/shipping/v2/shipments",
        vec![("x-amzn-IdempotencyKey", "k-amzn")],
        json!({"requestToken": rt, "rateId": rate("AMZN-STD")["rateId"], "requestedDocumentSpecification": spec()}),
    )
    .await;
    assert_eq!(status, 200, "{bought}");
    let (status, waiting) = put("/shipping/v2/unmanifestedShipments".into(), json!({})).await;
    assert_eq!(status, 200, "{waiting}");
    assert_valid(
        &validator(&m, "GetUnmanifestedShipmentsResponse", true),
        &waiting,
        "unmanifested",
    );
    assert_eq!(
        waiting["unmanifestedCarrierInformationList"][0]["carrierId"],
        "AMZN"
    );
    let generate = json!({"carrierId": "AMZN", "shipFromAddress": address("Warehouse", "1 Dock Road", "E16 2QU", "GB")});
    let (status, form) = post(
        "/shipping/v2/collectionForms",
        vec![("x-amzn-IdempotencyKey", "close-1")],
        generate.clone(),
    )
    .await;
    assert_eq!(status, 200, "{form}");
    assert_valid(
        &validator(&m, "GenerateCollectionFormResponse", true),
        &form,
        "generateCollectionForm",
    );
    let (_, again) = post(
        "/shipping/v2/collectionForms",
        vec![("x-amzn-IdempotencyKey", "close-1")],
        generate.clone(),
    )
    .await;
    assert_eq!(again, form, "the same key answers the same form");
    let (status, nothing) = post(
        "/shipping/v2/collectionForms",
        vec![("x-amzn-IdempotencyKey", "close-2")],
        generate,
    )
    .await;
    assert_eq!(status, 400, "nothing left to manifest: {nothing}");
    let (status, history) = put(
        "/shipping/v2/collectionForms/history".into(),
        json!({"carrierId": "AMZN", "maxResults": 5,
            "dateRange": {"startDate": (Utc::now() - TimeDelta::days(1)).to_rfc3339(), "endDate": (Utc::now() + TimeDelta::days(1)).to_rfc3339()}}),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    assert_valid(
        &validator(&m, "GetCollectionFormHistoryResponse", true),
        &history,
        "history",
    );
    let records = history["collectionFormsHistoryRecordList"]
        .as_array()
        .unwrap();
    assert_eq!(records.len(), 1);
    let id = records[0]["collectionFormId"].as_str().unwrap();
    let reprint = sp_get(
        &sim,
        Some(&token),
        &format!("/shipping/v2/collectionForms/{id}"),
        &[],
    )
    .await;
    assert_eq!(reprint.status, 200, "{}", reprint.body);
    assert_valid(
        &validator(&m, "GetCollectionFormResponse", true),
        &reprint.json(),
        "getCollectionForm",
    );
    assert_eq!(reprint.json(), form);
    let shipment = bought["payload"]["shipmentId"].as_str().unwrap();
    let (status, cancel) = put(
        format!("/shipping/v2/shipments/{shipment}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "a manifested parcel: {cancel}");
}

#[tokio::test]
async fn listing_search_matches_the_model_and_pages_up_to_its_cap() {
    let m = model("listingsItems_2021-08-01.json");
    let sim = start_sim(1000.0).await;
    let seller = add_seller_in(&sim, "A1SIMLISTSELLER", &[DE, UK], true);
    let token = access_token(&sim, &seller).await;
    let t0 = Utc::now() - TimeDelta::days(30);
    let mut specs: Vec<ListingSpec> = (0..45)
        .map(|n| {
            ListingSpec::new(&format!("SKU-{n:03}"), n % 3)
                .created_at(t0 + TimeDelta::hours(n as i64))
        })
        .collect();
    specs.push(ListingSpec::new("FBA-1", 4).fba("AMAZON_EU"));
    specs.push(ListingSpec::new("CLOSED-1", 0).inactive());
    specs.push(ListingSpec::new("UK-ONLY", 1).in_marketplaces(&[UK]));
    sim.control()
        .seed_listings(&seller.seller_id, specs)
        .expect("listings");
    sim.control().set_listings_search_cap(30);
    let path = format!("/listings/2021-08-01/items/{}", seller.seller_id);
    let query = [
        ("marketplaceIds", DE),
        ("includedData", "summaries,fulfillmentAvailability"),
        ("sortBy", "createdDate"),
        ("sortOrder", "ASC"),
        ("pageSize", "20"),
    ];
    let first = sp_get(&sim, Some(&token), &path, &query).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let v = validator(&m, "ItemSearchResults", true);
    assert_valid(&v, &first.json(), "searchListingsItems");
    let page = first.json();
    assert_eq!(page["numberOfResults"], 47, "every DE listing counted");
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
    assert_eq!(page["items"][0]["sku"], "SKU-000", "oldest first");
    let next = page["pagination"]["nextToken"]
        .as_str()
        .unwrap()
        .to_string();
    let mut second_query = query.to_vec();
    second_query.push(("pageToken", &next));
    let second = sp_get(&sim, Some(&token), &path, &second_query).await;
    assert_valid(&v, &second.json(), "page 2");
    let page2 = second.json();
    assert_eq!(page2["items"].as_array().unwrap().len(), 10, "the cap: 30");
    assert!(page2["pagination"].get("nextToken").is_none());
    // A token belongs to its query.
    let wrong = sp_get(
        &sim,
        Some(&token),
        &path,
        &[("marketplaceIds", UK), ("pageToken", &next)],
    )
    .await;
    assert_eq!(wrong.status, 400);
    // A narrower search finds the rest; the FBA and closed listings say what they are.
    let late = (t0 + TimeDelta::hours(40)).to_rfc3339();
    let narrow = sp_get(
        &sim,
        Some(&token),
        &path,
        &[
            ("marketplaceIds", DE),
            ("includedData", "summaries,fulfillmentAvailability"),
            ("createdAfter", &late),
            ("pageSize", "20"),
        ],
    )
    .await;
    assert_valid(&v, &narrow.json(), "a window");
    let items = narrow.json()["items"].as_array().unwrap().clone();
    let find = |sku: &str| items.iter().find(|i| i["sku"] == sku).cloned();
    assert_eq!(
        find("FBA-1").unwrap()["fulfillmentAvailability"][0]["fulfillmentChannelCode"],
        "AMAZON_EU"
    );
    assert_eq!(
        find("CLOSED-1").unwrap()["summaries"][0]["status"],
        json!([])
    );
    assert!(find("UK-ONLY").is_none(), "not listed in DE");
    assert!(find("SKU-044").is_some());
}
