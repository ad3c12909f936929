//! `bench-pull`: the order pull's throughput against the simulator at
//! Amazon's published rates, time-compressed. Seeds a backlog for one seller,
//! runs the scheduled pull (fan-out, jobs, follow-ups) until the job queue is
//! empty, and prints the orders delivered, the SP-API calls per 100 orders,
//! the 429s, the throughput Amazon's quota allows at that call rate, and the
//! local processing time per order.
//!
//! `cargo run --release -p devstack --bin bench-pull -- --orders 5000 --speed 60`

use std::time::{Duration, Instant};

use clap::Parser;
use devstack::demo::{self, DemoOptions};
use devstack::{MotoServer, Template, demo_orders};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 3000)]
    orders: u32,
    /// Time compression of the simulator (its quotas refill this much faster).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
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
    let started = Instant::now();
    let report = demo_orders::pull_orders(&sdk, &stack, &template, &sim).await?;
    let wall = started.elapsed();
    let amazon_time = Duration::from_secs_f64(wall.as_secs_f64() * args.speed);
    let orders = report.delivered.len();
    let search = report.api_calls.get("searchOrders").copied().unwrap_or(0);
    let per_100 = search as f64 * 100.0 / orders.max(1) as f64;
    // What Amazon allows one seller: burst pages at once, then the refill.
    let spec = domain::Operation::SearchOrders.spec();
    let sustained = spec.rate_per_sec * 3600.0 * 100.0 / per_100.max(1e-9);
    println!(
        "bench-pull: {orders} orders delivered; {search} searchOrders calls ({per_100:.2} per 100 orders), \
         calls {:?}, {} x 429, {} job(s); Amazon's quota allows {:.0} orders at once and {sustained:.0} orders/hour \
         sustained per seller at this call rate; local processing {:.1} s wall ({:.1} ms per order, moto-bound, \
         simulated {:.2} h at speed x{})",
        report.api_calls,
        report.throttled,
        report.jobs_run,
        f64::from(spec.burst) * 100.0 / per_100.max(1e-9),
        wall.as_secs_f64(),
        wall.as_secs_f64() * 1000.0 / orders.max(1) as f64,
        amazon_time.as_secs_f64() / 3600.0,
        args.speed,
    );
    drop(moto);
    Ok(())
}
