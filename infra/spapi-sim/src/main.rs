//! `spapi-sim`: runs the SP-API simulator until Ctrl-C. The first line on
//! stdout is its base URL (`http://127.0.0.1:PORT`); logs go to stderr.

use std::io::Write;

use clap::Parser;
use spapi_sim::{AddressSpec, BuyerSpec, ItemSpec, OrderSpec, SellerSpec, SimConfig, SimError};

#[derive(Parser, Debug)]
#[command(about = "SP-API simulator on 127.0.0.1 (LWA, Orders v2026-01-01, Sellers)")]
struct Args {
    /// Port on 127.0.0.1 (0 = a free port).
    #[arg(long, env = "SPAPI_SIM_PORT", default_value_t = 0)]
    port: u16,
    /// Time compression (≥ 1) for quota refill and token lifetimes.
    #[arg(long, env = "SPAPI_SIM_SPEED", default_value_t = 1.0)]
    speed: f64,
    /// Register a demo app (client `demo-client` / `demo-secret`) and seller
    /// (`A1DEMOSELLER`, refresh token `Atzr|demo-refresh`, Amazon.de) with 5 orders.
    #[arg(long)]
    seed_demo: bool,
}

#[tokio::main]
async fn main() -> Result<(), SimError> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let sim = spapi_sim::start(SimConfig {
        speed: args.speed,
        port: args.port,
    })
    .await?;
    if args.seed_demo {
        seed_demo(sim.control())?;
    }
    let mut out = std::io::stdout().lock();
    // The URL line is how another process finds the simulator.
    let _ = writeln!(out, "{}", sim.base_url());
    let _ = out.flush();
    drop(out);
    eprintln!(
        "spapi-sim: LWA token URL {} (Ctrl-C to stop)",
        sim.lwa_token_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await
}

fn seed_demo(c: &spapi_sim::SimControl) -> Result<(), SimError> {
    const DE: &str = "A1PA6795UKMFR9";
    c.register_app("demo-client", "demo-secret");
    c.add_seller(SellerSpec {
        seller_id: "A1DEMOSELLER".into(),
        refresh_token: "Atzr|demo-refresh".into(),
        marketplace_ids: vec![DE.into()],
        pii: true,
        store_name: Some("Demo Store".into()),
        dormant_marketplace_ids: Vec::new(),
        non_amazon_channel: false,
        supply_source_ids: Vec::new(),
    })?;
    let orders = (1..=5)
        .map(|n| OrderSpec {
            order_id: Some(format!("302-0000000-00000{n:02}")),
            marketplace_id: DE.into(),
            programs: if n == 1 { vec!["PRIME".into()] } else { vec![] },
            buyer: Some(BuyerSpec {
                name: Some(format!("Demo Buyer {n}")),
                email: Some(format!("demo-buyer-{n}@marketplace.amazon.de")),
                ..BuyerSpec::default()
            }),
            recipient: Some(AddressSpec {
                name: Some(format!("Demo Buyer {n}")),
                address_line1: Some(format!("Buyerstraße {n}")),
                city: Some("Berlin".into()),
                postal_code: Some("10115".into()),
                country_code: Some("DE".into()),
                ..AddressSpec::default()
            }),
            items: vec![ItemSpec::new(&format!("DEMO-SKU-{n}"), n, "19.99", "EUR")],
            ..OrderSpec::default()
        })
        .collect();
    c.seed_orders("A1DEMOSELLER", orders)?;
    Ok(())
}
