//! `demo`: the README's first command. Starts moto and creates the template's
//! resources in it, starts the SP-API simulator with a demo seller and orders,
//! onboards the seller and runs the main job's code against both (and a
//! second seller connects itself by invitation link); prints ids,
//! statuses and counts (never buyer data). Everything listens on 127.0.0.1
//! and stops when the demo ends.

use std::process::ExitCode;

use clap::Parser;
use devstack::demo::{self, DemoOptions};
use devstack::demo_orders;
use devstack::{MotoServer, Template};

#[derive(Parser, Debug)]
#[command(about = "Run the connector's main job locally (moto + SP-API simulator)")]
struct Args {
    /// Simulator time compression (1 = Amazon's real rate limits).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Orders to seed for the demo seller.
    #[arg(long, default_value_t = 25)]
    orders: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_target(false)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), devstack::DevstackError> {
    let root = devstack::workspace_root();
    let moto = MotoServer::start(&devstack::default_moto_command(&root))?;
    println!("local AWS (moto)      {}", moto.endpoint());
    let sdk = devstack::local_sdk_config(&moto.endpoint()).await;
    let template = Template::load(&devstack::template_path())?;
    let stack = devstack::provision(&sdk, &template, "demo", &Default::default()).await?;
    println!(
        "from template.yaml    tables {:?}, queues {:?}, secrets {:?}",
        stack.tables.values().collect::<Vec<_>>(),
        stack.queues.values().map(|q| &q.name).collect::<Vec<_>>(),
        stack.secrets.values().map(|s| &s.name).collect::<Vec<_>>(),
    );
    let opts = DemoOptions {
        speed: args.speed,
        orders: args.orders,
    };
    let sim = demo::start_simulator(&opts).await?;
    println!(
        "SP-API simulator      {} (speed x{}), seller {} with {} orders",
        sim.base_url(),
        opts.speed,
        demo::DEMO_SELLER,
        opts.orders
    );
    let report = demo::run(&sdk, &stack, &sim).await?;
    println!("seller onboarded      settings in the table, refresh token in Secrets Manager");
    println!("marketplaces          {}", report.marketplaces.join(", "));
    println!(
        "searchOrders          {} orders in {} pages; statuses {:?}",
        report.orders_seen, report.pages, report.statuses
    );
    println!(
        "quota                 {} searchOrders calls, {} throttled (429), shared bucket holds {} tokens",
        report.search_calls,
        report.throttled,
        report
            .bucket_tokens_left
            .map(|t| format!("{t:.2}"))
            .unwrap_or_else(|| "?".into())
    );
    println!(
        "LWA                   {} token exchange(s), then cached",
        report.lwa_exchanges
    );

    // The main job: the order-pull function's handler, as EventBridge and SQS invoke it.
    let pulled = demo_orders::pull_orders(&sdk, &stack, &template, &sim).await?;
    println!(
        "order pull            schedule fan-out {}; {} job(s) run",
        pulled.fan_out, pulled.jobs_run
    );
    println!(
        "WMS order queue       {} message(s):",
        pulled.delivered.len()
    );
    for d in &pulled.delivered {
        println!(
            "  {:<16} {:<24} {} line(s), {} unit(s){}",
            d.kind,
            d.order_number,
            d.lines,
            d.units,
            d.country
                .as_ref()
                .map(|c| format!(", ship to {c}"))
                .unwrap_or_default()
        );
    }
    // Amazon cancels one of them; the next scheduled run tells the WMS, once.
    if let Some(first) = pulled.delivered.first() {
        let amazon_id = first.order_number.trim_start_matches("DM").to_string();
        sim.control()
            .cancel(
                demo::DEMO_SELLER,
                &amazon_id,
                spapi_sim::CancelSpec::default(),
            )
            .map_err(|e| devstack::DevstackError::Moto(e.to_string()))?;
        sim.control()
            .advance_clock(std::time::Duration::from_secs(16 * 60));
        let again = demo_orders::pull_orders(&sdk, &stack, &template, &sim).await?;
        for d in &again.delivered {
            println!(
                "  {:<16} {:<24} {} unit(s)",
                d.kind, d.order_number, d.units
            );
        }
        println!(
            "next run              {} new message(s) (the cancellation; nothing sent twice)",
            again.delivered.len()
        );
        println!(
            "SP-API calls          {:?}, {} throttled (429)",
            again.api_calls, again.throttled
        );
    }
    // Notifications: new orders reach the WMS at once, no pull involved.
    let notified =
        devstack::demo_notifications::notify_orders(&sdk, &stack, &template, &sim, 3).await?;
    println!(
        "notifications         destination {} (set up once), subscription {}",
        notified.destination, notified.subscription
    );
    println!(
        "                      {} ORDER_CHANGE delivered, {} batch(es), {} getOrder call(s), WMS got at once:",
        notified.notifications, notified.batches, notified.get_order_calls
    );
    for d in &notified.delivered {
        println!(
            "  {:<22} {:<24} {} line(s), {} unit(s)",
            d.kind, d.order_number, d.lines, d.units
        );
    }
    // Shipments: the WMS ships some of the pulled orders (not the cancelled one).
    let to_ship: Vec<String> = pulled
        .delivered
        .iter()
        .skip(1)
        .map(|d| d.order_number.clone())
        .collect();
    let shipped = devstack::demo_shipments::ship_orders(
        &sdk,
        &stack,
        &template,
        &sim,
        demo::DEMO_SELLER,
        &to_ship,
        3,
    )
    .await?;
    println!(
        "shipment confirmation {} message(s) in {} invocation(s), {} confirmShipment call(s), {} dead-lettered",
        shipped.sent.len(),
        shipped.invocations,
        shipped.confirm_calls,
        shipped.dead_letters.len()
    );
    for order in &shipped.orders {
        for p in &order.packages {
            println!(
                "  {:<24} {:<18} package {} via {} tracking {} ({} unit(s))",
                order.order_number, order.status, p.reference, p.carrier, p.tracking, p.units
            );
        }
    }
    for (id, reason) in &shipped.dead_letters {
        println!("  dead-lettered {id}: {reason}");
    }

    // A label at the packing bench: rates, a purchase, the same purchase
    // retried (bought once), the file written to disk.
    let label = devstack::demo_labels::buy_label(
        &sdk,
        &stack,
        &template,
        &sim,
        &root.join("target/demo-labels"),
    )
    .await?;
    println!("{label}");

    // Stock: the WMS's on-hand/available per SKU to Amazon's listings.
    let stock: Vec<(&str, u32, u32)> = vec![
        ("DEMO-SKU-0", 12, 10),
        ("DEMO-SKU-1", 0, 0),
        ("DEMO-SKU-2", 40, 35),
        ("DEMO-SKU-3", 5, 2),
    ];
    let (pushed, on_amazon) = devstack::demo_inventory::push_inventory(
        &sdk,
        &stack,
        &template,
        &sim,
        demo::DEMO_SELLER,
        &stock,
    )
    .await?;
    println!(
        "inventory push        {} WMS SKU(s), {} change(s) via {}, {} accepted, {} rejected",
        pushed.wms_skus, pushed.changes, pushed.via, pushed.accepted, pushed.rejected
    );
    for (sku, quantity) in &on_amazon {
        println!(
            "  {:<20} quantity on Amazon: {}",
            sku,
            quantity
                .map(|q| q.to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    // Another seller connects itself through an invitation link.
    let connected =
        devstack::demo_onboarding::connect_by_link(&sdk, &stack, &template, &sim).await?;
    println!("{connected}");
    let _ = sim.shutdown().await;
    drop(moto);
    Ok(())
}
