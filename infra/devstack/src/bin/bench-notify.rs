//! `bench-notify`: ORDER_CHANGE notifications against polling, on the
//! simulator's compressed clock (`devstack::bench_notify`): per scenario the
//! p50/p95/max delay from an order's creation to its WMS message, the SP-API
//! calls per 100 orders and the 429s — (a) polling only, (b) notifications
//! at 5 orders/min per seller, (c) a burst of 500 orders in one minute (and
//! (c') the same burst with polling alone), (d) 20 % of notifications lost.
//!
//! `cargo run --release -p devstack --bin bench-notify -- --speed 30`

use clap::Parser;
use devstack::bench_notify::{BenchOptions, HEADER, Scenario, row, run};

#[derive(Parser)]
struct Args {
    /// Time compression: Amazon seconds per wall second.
    #[arg(long, default_value_t = 30.0)]
    speed: f64,
    /// Sellers in the steady scenarios.
    #[arg(long, default_value_t = 3)]
    sellers: u32,
    /// Amazon minutes of steady load.
    #[arg(long, default_value_t = 60)]
    minutes: u32,
    /// Orders of the burst.
    #[arg(long, default_value_t = 500)]
    burst: u32,
    /// Only scenarios whose name contains this (e.g. "(b)").
    #[arg(long)]
    only: Option<String>,
    /// Print each report as JSON too.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let options = BenchOptions {
        speed: args.speed,
        ..BenchOptions::default()
    };
    println!("{HEADER}");
    let mut failed = false;
    for scenario in Scenario::all(args.sellers, args.minutes, args.burst) {
        if args
            .only
            .as_deref()
            .is_some_and(|o| !scenario.name.contains(o))
        {
            continue;
        }
        let report = run(&scenario, &options).await?;
        println!("{}", row(&report));
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        }
        failed |= !report.exactly_once();
    }
    println!(
        "(speed x{}, Amazon time; each row also took {} of wall time per Amazon minute)",
        args.speed,
        format_args!("{:.1} s", 60.0 / args.speed)
    );
    if failed {
        return Err("an order did not reach the WMS exactly once".into());
    }
    Ok(())
}
