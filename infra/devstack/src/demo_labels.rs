//! The demo's label step: the label function's real handler, wired from its
//! template.yaml environment (resolved against moto) plus the local SP-API
//! endpoint, called as its Function URL is called: rates for a new order of
//! the demo seller, a purchase by rule (the cheapest offer that meets the
//! order's promise), the same purchase again (answered, not bought again),
//! and the label file written to disk. Prints ids, services, prices and the
//! file's path, never buyer data.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use base64::Engine;
use domain::Deadline;
use labels::LabelService;
use labels::config::{Config, wire};
use serde_json::{Value, json};
use spapi_sim::SimHandle;
use store::Clock;
use wms::LabelResponse;

use crate::demo::{DEMO_SELLER, demo_order};
use crate::demo_orders::SimClock;
use crate::{DevstackError, Provisioned, Template};

/// What the label step did.
#[derive(Clone, Debug, Default)]
pub struct LabelDemoReport {
    pub order_number: String,
    /// (service, carrier, price, on time) of each offer.
    pub offers: Vec<(String, String, String, Option<bool>)>,
    pub service: String,
    pub price: String,
    pub shipment_id: String,
    pub tracking_id: String,
    /// The second, identical purchase was answered with the same label.
    pub replayed_same_label: bool,
    /// Labels the simulator sold (1: the retry bought nothing).
    pub labels_bought: u64,
    pub file: PathBuf,
    pub bytes: usize,
}

impl fmt::Display for LabelDemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "label for order       {}", self.order_number)?;
        for (service, carrier, price, on_time) in &self.offers {
            let on_time = match on_time {
                Some(true) => "on time",
                Some(false) => "too late",
                None => "",
            };
            writeln!(
                f,
                "  offer               {service} ({carrier}) {price} {on_time}"
            )?;
        }
        writeln!(
            f,
            "bought                {} for {}: shipment {}, tracking {}",
            self.service, self.price, self.shipment_id, self.tracking_id
        )?;
        writeln!(
            f,
            "same purchase again   {} ({} label bought in all)",
            if self.replayed_same_label {
                "answered with the same label, nothing bought"
            } else {
                "NOT the same label"
            },
            self.labels_bought
        )?;
        write!(
            f,
            "label file            {} ({} bytes)",
            self.file.display(),
            self.bytes
        )
    }
}

fn fail(what: &str) -> impl Fn(String) -> DevstackError + '_ {
    move |message| DevstackError::Moto(format!("label demo, {what}: {message}"))
}

/// The label function's configuration for a local run.
pub fn labels_config(
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
) -> Result<Config, DevstackError> {
    let mut env = stack.function_environment(template, "LabelsFunction")?;
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), sim.control().speed().to_string());
    Config::from_lookup(|k| env.get(k).cloned()).map_err(|e| DevstackError::Template(e.to_string()))
}

/// Calls the handler as the Function URL does (payload format 2.0).
async fn call(service: &LabelService, request: &Value) -> Result<LabelResponse, DevstackError> {
    let event = json!({
        "version": "2.0", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/"}, "timeEpoch": 0},
        "body": request.to_string(), "isBase64Encoded": false
    });
    let out = labels::handle(service, event, Deadline::after(Duration::from_secs(30))).await;
    let body = out["body"].as_str().unwrap_or_default();
    let response = LabelResponse::parse(body).map_err(|e| fail("the answer")(e.to_string()))?;
    match &response.error {
        Some(e) => Err(fail("the label function")(format!(
            "{:?}: {}",
            e.code, e.message
        ))),
        None => Ok(response),
    }
}

/// Buys a label for a new order of the demo seller (onboarded by
/// [`crate::demo::run`]) and writes the file into `out_dir`.
pub async fn buy_label(
    sdk: &SdkConfig,
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
    out_dir: &Path,
) -> Result<LabelDemoReport, DevstackError> {
    let config = labels_config(stack, template, sim)?;
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let metrics = crate::demo::quiet_metrics(&config.common.stage);
    let service = wire(&config, sdk, clock, metrics).map_err(|e| fail("wiring")(e.to_string()))?;
    let control = sim.control();
    let mut order = demo_order(7001);
    let (sku, quantity) = order
        .items
        .first()
        .map(|i| (i.sku.clone(), i.quantity))
        .ok_or_else(|| fail("the demo order")("no items".into()))?;
    let now = control.now();
    order.deliver_by = Some(spapi_sim::TimeWindow {
        earliest: now,
        latest: now + chrono::TimeDelta::days(3),
    });
    let order_id = control
        .seed_order(DEMO_SELLER, order)
        .map_err(|e| fail("seeding an order")(e.to_string()))?;
    let order_number = format!("DM{order_id}");
    let warehouse = json!({"name": "Demo Warehouse", "address_line1": "Lagerstrasse 1",
        "city": "Leipzig", "state_or_region": "SN", "postal_code": "04109", "country_code": "DE"});
    let rates = call(
        &service,
        &json!({"schema": 1, "operation": "rates", "seller_id": DEMO_SELLER,
            "shipment": {"order_number": order_number, "ship_from": warehouse, "packages": [{
                "package_id": format!("{order_number}-1"),
                "weight": {"value": "1.2", "unit": "KILOGRAM"},
                "dimensions": {"length": "30", "width": "20", "height": "12", "unit": "CENTIMETER"},
                "items": [{"sku": sku, "quantity": quantity}]}]}}),
    )
    .await?
    .rates
    .ok_or_else(|| fail("rates")("no rates in the answer".into()))?;
    let purchase = json!({"schema": 1, "operation": "purchase", "seller_id": DEMO_SELLER,
        "idempotency_key": format!("{order_number}-1"), "request_token": rates.request_token,
        "select": {"rule": "cheapest_on_time"}, "label": {"format": "PDF"}});
    let label = call(&service, &purchase)
        .await?
        .label
        .ok_or_else(|| fail("purchase")("no label in the answer".into()))?;
    let again = call(&service, &purchase)
        .await?
        .label
        .ok_or_else(|| fail("purchase")("no label in the answer".into()))?;
    let package = label
        .packages
        .first()
        .ok_or_else(|| fail("purchase")("a label without packages".into()))?;
    let document = package
        .documents
        .first()
        .ok_or_else(|| fail("purchase")("a label without a file".into()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(document.content_base64.expose())
        .map_err(|e| fail("the label file")(e.to_string()))?;
    std::fs::create_dir_all(out_dir).map_err(|e| DevstackError::Read {
        path: out_dir.display().to_string(),
        source: e,
    })?;
    let file = out_dir.join(format!(
        "label-{}-{}.{}",
        label.shipment_id,
        package.package_id,
        document.format.to_ascii_lowercase()
    ));
    std::fs::write(&file, &bytes).map_err(|e| DevstackError::Read {
        path: file.display().to_string(),
        source: e,
    })?;
    Ok(LabelDemoReport {
        order_number,
        offers: rates
            .offers
            .iter()
            .map(|o| {
                (
                    o.service_name.clone(),
                    o.carrier_name.clone(),
                    format!("{} {}", o.price.amount, o.price.currency),
                    o.on_time,
                )
            })
            .collect(),
        service: label.service_name.clone(),
        price: format!("{} {}", label.price.amount, label.price.currency),
        shipment_id: label.shipment_id.clone(),
        tracking_id: package.tracking_id.clone().unwrap_or_default(),
        replayed_same_label: again.replayed
            && again.shipment_id == label.shipment_id
            && again.packages == label.packages,
        labels_bought: control.label_purchases(DEMO_SELLER),
        file,
        bytes: bytes.len(),
    })
}
