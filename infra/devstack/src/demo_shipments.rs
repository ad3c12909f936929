//! The demo's shipment confirmation: the WMS ships some of the orders the
//! order pull delivered — one partly then the rest, others whole with
//! different carriers (an alias, an unknown carrier that goes as `Other`),
//! one message sent twice and one for an order that does not exist — by
//! writing shipment messages to the shipment queue in moto; the
//! shipment-confirm function's real handler, wired from its template.yaml
//! environment plus the local SP-API endpoint, takes them as Lambda's SQS
//! trigger would. The report shows what Amazon (the simulator) now says of
//! each order and what went to the dead-letter queue and why. Ids, carriers
//! and tracking numbers only; never buyer data.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use domain::{Deadline, Operation};
use serde_json::{Value, json};
use shipment_confirm::config::{Config, wire};
use spapi_sim::SimHandle;
use store::Clock;

use crate::demo_orders::SimClock;
use crate::lambda_sqs::{Trigger, failed_ids};
use crate::{DevstackError, Provisioned, Template};

/// One package of an order as Amazon shows it after the run.
#[derive(Clone, Debug)]
pub struct ShippedPackage {
    pub reference: String,
    pub carrier: String,
    pub service: Option<String>,
    pub tracking: String,
    pub units: u64,
}

/// One order the demo shipped.
#[derive(Clone, Debug)]
pub struct ShippedOrder {
    pub order_number: String,
    pub status: String,
    pub packages: Vec<ShippedPackage>,
}

#[derive(Clone, Debug, Default)]
pub struct ShipmentDemoReport {
    /// Messages the WMS sent (package id → carrier as the WMS named it).
    pub sent: Vec<(String, String)>,
    pub invocations: usize,
    pub orders: Vec<ShippedOrder>,
    /// (package id, reason) of every dead-lettered message.
    pub dead_letters: Vec<(String, String)>,
    /// confirmShipment calls Amazon received.
    pub confirm_calls: u64,
}

impl fmt::Display for ShipmentDemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Shipment confirmation: the WMS sent {} shipment messages; {} invocation(s) of the shipment-confirm handler; Amazon received {} confirmShipment call(s).",
            self.sent.len(),
            self.invocations,
            self.confirm_calls
        )?;
        for o in &self.orders {
            writeln!(f, "  {}  {}", o.order_number, o.status)?;
            for p in &o.packages {
                writeln!(
                    f,
                    "      package {}: {} {}, tracking {}, {} unit(s)",
                    p.reference,
                    p.carrier,
                    p.service.as_deref().unwrap_or("-"),
                    p.tracking,
                    p.units
                )?;
            }
        }
        if self.dead_letters.is_empty() {
            writeln!(f, "  dead-letter queue: empty")?;
        }
        for (package, reason) in &self.dead_letters {
            writeln!(f, "  dead-lettered {package}: {reason}")?;
        }
        Ok(())
    }
}

fn aws(action: &str) -> impl Fn(String) -> DevstackError + '_ {
    move |message| DevstackError::Aws {
        action: action.to_string(),
        message,
    }
}

/// The shipment-confirm function's configuration for a local run.
pub fn shipment_config(
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
) -> Result<Config, DevstackError> {
    let mut env = stack.function_environment(template, "ShipmentConfirmFunction")?;
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), sim.control().speed().to_string());
    Config::from_lookup(|k| env.get(k).cloned()).map_err(|e| DevstackError::Template(e.to_string()))
}

fn message(
    seller_id: &str,
    order_number: &str,
    package: &str,
    carrier: &str,
    lines: &[(String, u32)],
) -> String {
    let mut m = json!({
        "schema": 1,
        "seller_id": seller_id,
        "order_number": order_number,
        "package_id": package,
        "carrier": carrier,
        "tracking_number": format!("DEMO{}", package.replace('-', "")),
        "ship_date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if !lines.is_empty() {
        m["lines"] = json!(
            lines
                .iter()
                .map(|(sku, q)| json!({"sku": sku, "quantity": q}))
                .collect::<Vec<_>>()
        );
    }
    m.to_string()
}

/// Ships the first `count` (at most 4) of `order_numbers` (WMS order
/// numbers the order pull delivered for `seller_id`, e.g. `DM302-...` for
/// [`crate::demo::DEMO_SELLER`]) through the shipment queue and the function.
pub async fn ship_orders(
    sdk: &SdkConfig,
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
    seller_id: &str,
    order_numbers: &[String],
    count: usize,
) -> Result<ShipmentDemoReport, DevstackError> {
    let config = shipment_config(stack, template, sim)?;
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let metrics = crate::demo::quiet_metrics(&config.common.stage);
    let function = wire(&config, sdk, clock, metrics)
        .map_err(|e| DevstackError::Moto(format!("wiring: {e}")))?;
    let shipment_arn = stack.queue("ShipmentQueue")?.arn.clone();
    let c = sim.control();
    let chosen: Vec<&String> = order_numbers.iter().take(count.min(4)).collect();
    // `DM302-1234567-1234567` → `302-1234567-1234567` (prefixes are letters and digits).
    let amazon_id = |number: &str| number[number.len().saturating_sub(19)..].to_string();
    let mut report = ShipmentDemoReport::default();
    let mut bodies: Vec<(String, String, String)> = Vec::new();
    let carriers = ["DHL", "Royal Mail 48", "Kurier Müller", "UPS"];
    for (i, number) in chosen.iter().enumerate() {
        let package = format!("PKG-{}", i + 1);
        let carrier = carriers[i % carriers.len()];
        let order = c
            .order_json(seller_id, &amazon_id(number))
            .map_err(|e| DevstackError::Moto(e.to_string()))?;
        let total: u64 = order["orderItems"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["quantityOrdered"].as_u64()).sum())
            .unwrap_or(1);
        if i == 0 && total > 1 {
            // The first order: one unit of its first item now, the rest later.
            let sku = order["orderItems"][0]["product"]["sellerSku"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let (a, b) = (format!("{package}-A"), format!("{package}-B"));
            bodies.push((
                a.clone(),
                carrier.to_string(),
                message(seller_id, number, &a, carrier, &[(sku, 1)]),
            ));
            bodies.push((
                b.clone(),
                "DHL".to_string(),
                message(seller_id, number, &b, "DHL", &[]),
            ));
        } else {
            bodies.push((
                package.clone(),
                carrier.to_string(),
                message(seller_id, number, &package, carrier, &[]),
            ));
        }
    }
    // The WMS sends one message twice, and one for an order nobody knows.
    if let Some(first) = bodies.first().cloned() {
        bodies.push(first);
    }
    bodies.push((
        "PKG-X".to_string(),
        "DHL".to_string(),
        message(seller_id, "302-9999999-9999999", "PKG-X", "DHL", &[]),
    ));
    let sqs = aws_sdk_sqs::Client::new(sdk);
    for (package, carrier, body) in &bodies {
        report.sent.push((package.clone(), carrier.clone()));
        sqs.send_message()
            .queue_url(&config.shipment_queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                aws("send a shipment message")(
                    aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
                )
            })?;
    }
    // Lambda's SQS trigger: batches of up to 10; failed records come back.
    let answers = Trigger {
        sqs: &sqs,
        queue_url: &config.shipment_queue_url,
        queue_arn: &shipment_arn,
        batch_size: 10,
        redeliver_failed: false,
    }
    .run(20, |event| {
        let function = &function;
        async move {
            shipment_confirm::handle(function, event, Deadline::after(Duration::from_secs(120)))
                .await
                .map_err(|e| e.to_string())
        }
    })
    .await?;
    report.invocations = answers.len();
    for answer in &answers {
        let failed = match answer {
            Ok(v) => failed_ids(v).len(),
            Err(e) => {
                return Err(DevstackError::Moto(format!(
                    "the shipment handler failed; its batch would be retried: {e}"
                )));
            }
        };
        if failed > 0 {
            return Err(DevstackError::Moto(format!(
                "{failed} shipment message(s) failed and would be retried: {answer:?}"
            )));
        }
    }
    // What went to the dead-letter queue, and why.
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&config.dead_letter_queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| {
                aws("read the dead-letter queue")(
                    aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let body: Value =
                serde_json::from_str(m.body.as_deref().unwrap_or("null")).unwrap_or(Value::Null);
            let reason = m
                .message_attributes
                .as_ref()
                .and_then(|a| a.get("error_reason"))
                .and_then(|v| v.string_value.clone())
                .unwrap_or_default();
            report.dead_letters.push((
                body["package_id"].as_str().unwrap_or("?").to_string(),
                reason,
            ));
            sqs.delete_message()
                .queue_url(&config.dead_letter_queue_url)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .map_err(|e| {
                    aws("delete a dead letter")(
                        aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
                    )
                })?;
        }
    }
    for number in chosen {
        let order = c
            .order_json(seller_id, &amazon_id(number))
            .map_err(|e| DevstackError::Moto(e.to_string()))?;
        let packages = order["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| ShippedPackage {
                reference: p["packageReferenceId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                carrier: p["carrier"].as_str().unwrap_or_default().to_string(),
                service: p["shippingService"].as_str().map(str::to_string),
                tracking: p["trackingNumber"].as_str().unwrap_or_default().to_string(),
                units: p["packageItems"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|i| i["quantity"].as_u64()).sum())
                    .unwrap_or(0),
            })
            .collect();
        report.orders.push(ShippedOrder {
            order_number: number.clone(),
            status: order["fulfillment"]["fulfillmentStatus"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            packages,
        });
    }
    report.confirm_calls = c
        .operation_metrics(seller_id, Operation::ConfirmShipment)
        .calls;
    Ok(report)
}
