//! `soak`: the fault soak (issue 16) with the release bootstraps, then the
//! 1,000-seller fan-out and the cost; prints the report (Markdown, the
//! tables of BENCHMARKS.md) and exits 1 when a check failed.
//!
//! `bash infra/soak.sh` (the documented command) builds the functions'
//! release binaries and runs this harness (a debug build).

use std::time::Duration;

use clap::Parser;
use lambda_emu::BuildProfile;
use soak::SoakConfig;
use soak::chaos::Intensity;

#[derive(Parser)]
#[command(
    about = "The fault soak: sellers, orders and faults through the local Lambda, then checked"
)]
struct Args {
    #[arg(long, default_value_t = 20)]
    sellers: u32,
    #[arg(long, default_value_t = 10_000)]
    orders: u32,
    /// Scheduled order-pull runs of the active period (15 minutes of
    /// Amazon's time each).
    #[arg(long, default_value_t = 24)]
    ticks: u32,
    /// Runs during which the orders reach Amazon.
    #[arg(long, default_value_t = 16)]
    seed_ticks: u32,
    /// Wall seconds per run.
    #[arg(long, default_value_t = 60)]
    tick_seconds: u64,
    /// Time compression of the simulator and the functions (default: 900 /
    /// the tick's seconds, in step with the schedule).
    #[arg(long)]
    speed: Option<f64>,
    /// Sellers in the fan-out measurement (0: skip it).
    #[arg(long, default_value_t = 1000)]
    fanout_sellers: u32,
    /// Only the fan-out measurement (no soak, no cost).
    #[arg(long)]
    fanout_only: bool,
    /// Use the debug binaries (quicker to build; the bench uses release).
    #[arg(long)]
    debug: bool,
    /// Every kind of fault once, no kill before a WMS send (as in CI).
    #[arg(long)]
    short_faults: bool,
    #[arg(long, default_value_t = 16)]
    seed: u64,
    /// Longest wait after the active period for everything to settle.
    #[arg(long, default_value_t = 900)]
    drain_seconds: u64,
    /// Write every function's log lines here (one file per function).
    #[arg(long)]
    log_dir: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let config = SoakConfig {
        sellers: a.sellers,
        orders: a.orders,
        ticks: a.ticks,
        seed_ticks: a.seed_ticks.min(a.ticks).max(1),
        tick: Duration::from_secs(a.tick_seconds),
        speed: a
            .speed
            .unwrap_or(900.0 / a.tick_seconds.max(1) as f64)
            .max(1.0),
        profile: if a.debug {
            BuildProfile::Debug
        } else {
            BuildProfile::Release
        },
        intensity: if a.short_faults {
            Intensity::Short
        } else {
            Intensity::Full
        },
        drain_limit: Duration::from_secs(a.drain_seconds),
        seed: a.seed,
        fanout_sellers: a.fanout_sellers,
        log_dir: a.log_dir,
        shipment_kill_timeout: a.short_faults.then(|| Duration::from_secs(60)),
        ..SoakConfig::full()
    };
    if a.fanout_only {
        match soak::fanout::measure(config.profile, config.fanout_sellers.max(1)).await {
            Ok(f) => println!("{}", f.markdown()),
            Err(e) => {
                eprintln!("soak: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    match soak::run(&config).await {
        Ok(report) => {
            println!("{}", report.markdown());
            if !report.failures().is_empty() {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    }
}
