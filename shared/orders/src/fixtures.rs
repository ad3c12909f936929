//! Test fixtures from the official model: the orders in the examples and
//! sandbox answers of `shared/amazon/models/orders_2026-01-01.json`, read at
//! run time (the model is not copied into the project).

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::NaiveDate;
use domain::settings::SellerSettings;
use domain::{ClientCode, MarketplaceId, Region, SellerId};
use serde_json::Value;
use spapi::models::orders::Order;

fn model_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/amazon/models/orders_2026-01-01.json")
}

/// Every order in the model's 200 examples and static sandbox answers.
static MODEL_ORDERS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let text = std::fs::read_to_string(model_path()).expect("read the Orders v2026 model");
    let model: Value = serde_json::from_str(&text).expect("model is JSON");
    let mut answers = Vec::new();
    for path in model["paths"].as_object().unwrap().values() {
        let ok = &path["get"]["responses"]["200"];
        if let Some(examples) = ok["examples"].as_object() {
            answers.extend(examples.values().cloned());
        }
        if let Some(statics) = ok["x-amzn-api-sandbox"]["static"].as_array() {
            answers.extend(statics.iter().map(|s| s["response"].clone()));
        }
    }
    let mut orders = Vec::new();
    for answer in answers {
        if let Some(list) = answer["orders"].as_array() {
            orders.extend(list.iter().cloned());
        }
        if answer["order"].is_object() {
            orders.push(answer["order"].clone());
        }
    }
    assert!(orders.len() >= 8, "the model's examples moved");
    orders
});

pub fn model_orders() -> Vec<Value> {
    MODEL_ORDERS.clone()
}

/// The model's order `id` as JSON.
pub fn order_json(id: &str) -> Value {
    MODEL_ORDERS
        .iter()
        .find(|o| o["orderId"] == id)
        .unwrap_or_else(|| panic!("no order {id} in the model's examples"))
        .clone()
}

pub fn parse(json: Value) -> Order {
    serde_json::from_value(json).expect("the spapi model reads the example")
}

/// The model's order `id`.
pub fn order(id: &str) -> Order {
    parse(order_json(id))
}

/// The model's order `id`, changed by `change`.
pub fn with(id: &str, change: impl FnOnce(&mut Value)) -> Order {
    let mut json = order_json(id);
    change(&mut json);
    parse(json)
}

/// The model's two-line order `id` (ECHO-DOT-4-CHARCOAL ×2,
/// FIRE-TV-4K-2021 ×1), open, nothing shipped, nothing cancelled; `change`
/// then sets the state of the moment.
pub fn open_order(id: &str, change: impl FnOnce(&mut Value)) -> Order {
    with(id, |v| {
        v["fulfillment"]["fulfillmentStatus"] = serde_json::json!("UNSHIPPED");
        for item in v["orderItems"].as_array_mut().unwrap() {
            item.as_object_mut().unwrap().remove("cancellation");
            let ordered = item["quantityOrdered"].clone();
            item["fulfillment"]["quantityFulfilled"] = serde_json::json!(0);
            item["fulfillment"]["quantityUnfulfilled"] = ordered;
        }
        change(v);
    })
}

/// A seller on Amazon.com.br (the model's unshipped merchant orders are
/// Brazilian) with the defaults of product.md and the prefix `MG`.
pub fn seller() -> SellerSettings {
    let mut s = SellerSettings::new(
        SellerId::new("A3EXAMPLESELLER").unwrap(),
        ClientCode::new("ACME").unwrap(),
        Region::Na,
        vec![MarketplaceId::new("A2Q3Y263D00KWC").unwrap()],
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        "connector/sellers/A3EXAMPLESELLER",
    );
    s.order_prefix = "MG".into();
    s
}
