//! The demo's inventory push: a tiny WMS stock endpoint on 127.0.0.1 (one
//! page, bearer token), its URL and token in the template's WMS stock secret,
//! listings seeded in the simulator, then the inventory-push function's real
//! handler wired from its template.yaml environment, run for one seller.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use domain::{Deadline, Sku};
use inventory_push::PushReport;
use inventory_push::config::{Config, wire};
use serde_json::json;
use spapi_sim::{ListingSpec, SimHandle};
use store::Clock;
use wms::{SchemaVersion, StockItem, StockPage};

use crate::demo_orders::SimClock;
use crate::{DevstackError, Provisioned, Template};

const TOKEN: &str = "demo-wms-stock-token";

fn failed(action: &str) -> impl Fn(String) -> DevstackError + '_ {
    move |message| DevstackError::Aws {
        action: action.to_string(),
        message,
    }
}

/// Pushes `stock` (SKU, on hand, available) for `seller_id`, whose listings
/// are seeded first at quantity 0; returns the function's report and the
/// quantities Amazon (the simulator) then shows.
pub async fn push_inventory(
    sdk: &SdkConfig,
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
    seller_id: &str,
    stock: &[(&str, u32, u32)],
) -> Result<(PushReport, Vec<(String, Option<u32>)>), DevstackError> {
    let items: Vec<StockItem> = stock
        .iter()
        .map(|(sku, on_hand, available)| {
            Ok(StockItem {
                sku: Sku::new(*sku).map_err(|e| DevstackError::Template(e.to_string()))?,
                on_hand: *on_hand,
                available: *available,
            })
        })
        .collect::<Result<_, DevstackError>>()?;
    let body = StockPage {
        schema: SchemaVersion,
        items,
        next_page: None,
    }
    .to_json()
    .map_err(|e| DevstackError::Template(e.to_string()))?;
    let app = Router::new().route(
        "/stock",
        get(move |headers: HeaderMap| {
            let body = body.clone();
            async move {
                let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some(&format!("Bearer {TOKEN}"));
                if ok {
                    (StatusCode::OK, body)
                } else {
                    (StatusCode::UNAUTHORIZED, String::new())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| failed("start the demo WMS stock endpoint")(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| failed("start the demo WMS stock endpoint")(e.to_string()))?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let mut env = stack.function_environment(template, "InventoryPushFunction")?;
    let secret = env
        .get("WMS_STOCK_SECRET")
        .cloned()
        .ok_or_else(|| DevstackError::Unresolved("WMS_STOCK_SECRET".into()))?;
    aws_sdk_secretsmanager::Client::new(sdk)
        .put_secret_value()
        .secret_id(secret)
        .secret_string(json!({"url": format!("http://{addr}/stock"), "token": TOKEN}).to_string())
        .send()
        .await
        .map_err(|e| {
            failed("set the WMS stock secret")(
                aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            )
        })?;
    sim.control()
        .seed_listings(
            seller_id,
            stock
                .iter()
                .map(|(sku, _, _)| ListingSpec::new(sku, 0))
                .collect(),
        )
        .map_err(|e| DevstackError::Moto(e.to_string()))?;
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), sim.control().speed().to_string());
    let config = Config::from_lookup(|k| env.get(k).cloned())
        .map_err(|e| DevstackError::Template(e.to_string()))?;
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let metrics = crate::demo::quiet_metrics(&config.common.stage);
    let (pusher, _dead_letters) = wire(&config, sdk, clock, metrics)
        .map_err(|e| DevstackError::Moto(format!("wiring: {e}")))?;
    let report = pusher
        .run(seller_id, &Deadline::after(Duration::from_secs(300)))
        .await
        .map_err(|e| DevstackError::Moto(format!("inventory push: {e}")));
    server.abort();
    let report = report?;
    let shown = stock
        .iter()
        .map(|(sku, _, _)| {
            (
                sku.to_string(),
                sim.control().listing_quantity(seller_id, sku),
            )
        })
        .collect();
    Ok((report, shown))
}
