//! `bench-ship`: shipment confirmation against the simulator at Amazon's
//! published rates, time-compressed. Pulls a backlog of demo orders into the
//! ledger, sends one whole-order shipment message per order to the shipment
//! queue, and runs the shipment-confirm handler as Lambda's SQS trigger
//! would (batches of up to 100) until the queue is empty — once with
//! `confirmShipment` only (a threshold nobody reaches), once with the
//! production threshold (feeds) — then prints the calls Amazon received,
//! the 429s, and the Amazon time the run took at the published rates.
//!
//! `cargo run --release -p devstack --bin bench-ship -- --orders 300 --speed 20`

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use devstack::demo::{self, DEMO_SELLER, DemoOptions};
use devstack::demo_orders::SimClock;
use devstack::lambda_sqs::{self, Record};
use devstack::{MotoServer, Template, demo_orders, demo_shipments};
use domain::{Deadline, Operation};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 300)]
    orders: u32,
    /// Time compression of the simulator (its quotas refill this much faster).
    #[arg(long, default_value_t = 20.0)]
    speed: f64,
}

struct Run {
    packages: usize,
    invocations: usize,
    confirm_calls: u64,
    feeds: u64,
    throttled: u64,
    wall: Duration,
}

async fn run(
    sdk: &aws_config::SdkConfig,
    stack: &devstack::Provisioned,
    template: &Template,
    sim: &spapi_sim::SimHandle,
    numbers: &[String],
    threshold: usize,
    tag: &str,
) -> Result<Run, Box<dyn std::error::Error>> {
    let config = demo_shipments::shipment_config(stack, template, sim)?;
    let clock: Arc<dyn store::Clock> = Arc::new(SimClock(sim.control().clone()));
    let metrics = devstack::demo::quiet_metrics(&config.common.stage);
    let mut function = shipment_confirm::config::wire(&config, sdk, clock, metrics)?;
    function.confirmer.options.feed_threshold = threshold;
    let arn = stack.queue("ShipmentQueue")?.arn.clone();
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let before = sim.control().metrics();
    for number in numbers {
        let body = json!({
            "schema": 1, "seller_id": DEMO_SELLER, "order_number": number,
            "package_id": format!("{tag}-{number}"), "carrier": "DHL",
            "tracking_number": format!("{tag}{}", number.replace('-', "")),
            "ship_date": "2026-09-01T14:00:00Z",
        });
        sqs.send_message()
            .queue_url(&config.shipment_queue_url)
            .message_body(body.to_string())
            .send()
            .await?;
    }
    let started = Instant::now();
    let mut invocations = 0;
    loop {
        // Up to 100 records per invocation, as the event source gathers them.
        let mut messages = Vec::new();
        for _ in 0..10 {
            let got = sqs
                .receive_message()
                .queue_url(&config.shipment_queue_url)
                .max_number_of_messages(10)
                .send()
                .await?;
            let batch = got.messages.unwrap_or_default();
            if batch.is_empty() {
                break;
            }
            messages.extend(batch);
        }
        if messages.is_empty() {
            break;
        }
        let event = lambda_sqs::event(
            &arn,
            messages.iter().map(|m| Record {
                message_id: m.message_id.as_deref().unwrap_or_default(),
                receipt_handle: m.receipt_handle.as_deref().unwrap_or_default(),
                body: m.body.as_deref().unwrap_or_default(),
            }),
        );
        let answer =
            shipment_confirm::handle(&function, event, Deadline::after(Duration::from_secs(170)))
                .await?;
        invocations += 1;
        let failed = lambda_sqs::failed_ids(&answer);
        for m in &messages {
            let id = m.message_id.clone().unwrap_or_default();
            let handle = m.receipt_handle.clone().unwrap_or_default();
            if failed.contains(&id) {
                sqs.change_message_visibility()
                    .queue_url(&config.shipment_queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await?;
            } else {
                sqs.delete_message()
                    .queue_url(&config.shipment_queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
    }
    let wall = started.elapsed();
    let after = sim.control().metrics();
    let count = |m: &spapi_sim::MetricsReport,
                 op: Operation,
                 f: fn(&spapi_sim::OperationMetrics) -> u64| {
        m.operations
            .iter()
            .filter(|r| r.operation == op.name())
            .map(|r| f(&r.metrics))
            .sum::<u64>()
    };
    let delta = |op, f| count(&after, op, f) - count(&before, op, f);
    let throttled: u64 = after
        .operations
        .iter()
        .map(|r| r.metrics.throttled)
        .sum::<u64>()
        - before
            .operations
            .iter()
            .map(|r| r.metrics.throttled)
            .sum::<u64>();
    Ok(Run {
        packages: numbers.len(),
        invocations,
        confirm_calls: delta(Operation::ConfirmShipment, |m| m.calls),
        feeds: delta(Operation::CreateFeed, |m| m.ok),
        throttled,
        wall,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let root = devstack::workspace_root();
    let moto = MotoServer::start(&devstack::default_moto_command(&root))?;
    let sdk = devstack::local_sdk_config(&moto.endpoint()).await;
    let template = Template::load(&devstack::template_path())?;
    let stack = devstack::provision(&sdk, &template, "bench", &Default::default()).await?;
    let sim = demo::start_simulator(&DemoOptions {
        speed: args.speed,
        orders: args.orders,
    })
    .await?;
    let store = store::Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        stack.table("StateTable")?,
    );
    demo::set_app_secret(&sdk, &stack, demo::DEMO_CLIENT_ID, demo::DEMO_CLIENT_SECRET).await?;
    demo::onboard(
        &sdk,
        &store,
        "bench",
        demo::demo_settings()?,
        &demo::demo_refresh_token(),
    )
    .await?;
    let pulled = demo_orders::pull_orders(&sdk, &stack, &template, &sim).await?;
    let numbers: Vec<String> = pulled
        .delivered
        .iter()
        .filter(|d| d.kind == "order.created")
        .map(|d| d.order_number.clone())
        .collect();
    let half = numbers.len() / 2;
    let api = run(
        &sdk,
        &stack,
        &template,
        &sim,
        &numbers[..half],
        usize::MAX,
        "A",
    )
    .await?;
    let feed = run(&sdk, &stack, &template, &sim, &numbers[half..], 25, "F").await?;
    for (name, r) in [
        ("confirmShipment only", api),
        ("feeds from 25 per seller and batch", feed),
    ] {
        println!(
            "{name}: {} packages in {} invocation(s): {} confirmShipment call(s), {} feed(s), {} x 429; {:.1} s wall = {:.0} s of Amazon time at speed {}",
            r.packages,
            r.invocations,
            r.confirm_calls,
            r.feeds,
            r.throttled,
            r.wall.as_secs_f64(),
            r.wall.as_secs_f64() * args.speed,
            args.speed
        );
    }
    Ok(())
}
