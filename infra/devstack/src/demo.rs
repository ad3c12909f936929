//! The main job run locally (the README's first command): moto with the
//! template's resources, the SP-API simulator with a demo seller and orders,
//! the seller onboarded exactly as an operator would (settings in the table,
//! refresh token in Secrets Manager), then the production wiring of the
//! SP-API client (Secrets Manager credentials, DynamoDB quota buckets) doing
//! real calls. Prints ids, statuses and counts — never buyer data.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{NaiveDate, TimeDelta, Utc};
use domain::quota::BucketKey;
use domain::settings::SellerSettings;
use domain::{ClientCode, Deadline, MarketplaceId, Operation, Region, SellerId};
use futures::TryStreamExt;
use lambda_kit::credentials::{SecretsCredentials, SettingsDirectory};
use secrets::{SecretsCache, SecretsManager};
use spapi::models::orders::IncludedData;
use spapi::ops::orders::{SearchOrders, SearchWindow};
use spapi::ops::sellers::GetMarketplaceParticipations;
use spapi::{ClientConfig, SellerContext, SpApi};
use spapi_sim::{AddressSpec, BuyerSpec, ItemSpec, OrderSpec, SellerSpec, SimConfig, SimHandle};
use store::{DynamoBuckets, Store};

use crate::{DevstackError, Provisioned};

/// The SP-API application the simulator knows in local runs.
pub const DEMO_CLIENT_ID: &str = "amzn1.application-oa2-client.demo";
/// Not a secret: the simulator's local application.
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
pub const DEMO_SELLER: &str = "A2DEMOSELLER01";
/// Amazon.de
pub const DEMO_MARKETPLACE: &str = "A1PA6795UKMFR9";

/// How to run the demo.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Simulator time compression.
    pub speed: f64,
    /// Orders to seed for the demo seller.
    pub orders: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            speed: 60.0,
            orders: 25,
        }
    }
}

/// What the demo did, for printing and for its test.
#[derive(Clone, Debug, Default)]
pub struct DemoReport {
    pub marketplaces: Vec<String>,
    pub pages: usize,
    pub orders_seen: usize,
    pub statuses: BTreeMap<String, usize>,
    pub lwa_exchanges: u64,
    pub search_calls: u64,
    pub throttled: u64,
    pub bucket_tokens_left: Option<f64>,
}

/// A seller onboarded into the local stack.
pub struct Onboarded {
    pub settings: SellerSettings,
    pub secret_name: String,
}

/// Writes the LWA application secret's value (the template creates it with
/// placeholders, as a deploy does).
pub async fn set_app_secret(
    sdk: &SdkConfig,
    stack: &Provisioned,
    client_id: &str,
    client_secret: &str,
) -> Result<(), DevstackError> {
    let secret = stack.secret("LwaAppSecret")?;
    aws_sdk_secretsmanager::Client::new(sdk)
        .put_secret_value()
        .secret_id(&secret.arn)
        .secret_string(
            serde_json::json!({"client_id": client_id, "client_secret": client_secret}).to_string(),
        )
        .send()
        .await
        .map_err(|e| DevstackError::Aws {
            action: "set the LWA application secret".into(),
            message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
        })?;
    Ok(())
}

/// Onboards a seller as the operator does: the refresh token goes into its
/// own secret, the settings (naming that secret) into the table.
pub async fn onboard(
    sdk: &SdkConfig,
    store: &Store,
    stage: &str,
    settings: SellerSettings,
    refresh_token: &str,
) -> Result<Onboarded, DevstackError> {
    let deployment = connector_admin::Deployment {
        stage: stage.to_string(),
        table: store.table().to_string(),
        app_secret: format!("connector/{stage}/lwa-app"),
    };
    let admin = connector_admin::Admin::new(sdk, deployment);
    let settings = admin
        .put_seller(settings, Some(refresh_token))
        .await
        .map_err(|e| DevstackError::Aws {
            action: "onboard the seller".into(),
            message: e.to_string(),
        })?;
    let secret_name = settings.refresh_token_secret.clone();
    Ok(Onboarded {
        settings,
        secret_name,
    })
}

/// The demo seller's settings: Amazon.de, orders from 30 days ago, prefix `DM`.
/// The functions' metrics for the demo and the benches: kept in memory (the
/// demo prints its own reports; in Lambda they are EMF lines on stdout).
pub fn quiet_metrics(stage: &str) -> lambda_kit::metrics::Metrics {
    lambda_kit::metrics::Metrics::new(stage, Arc::new(lambda_kit::metrics::MemorySink::new()))
}

pub fn demo_settings() -> Result<SellerSettings, DevstackError> {
    let invalid = |e: domain::DomainError| DevstackError::Template(e.to_string());
    let start: NaiveDate = (Utc::now() - TimeDelta::days(30)).date_naive();
    let mut s = SellerSettings::new(
        SellerId::new(DEMO_SELLER).map_err(invalid)?,
        ClientCode::new("DEMO").map_err(invalid)?,
        Region::Eu,
        vec![MarketplaceId::new(DEMO_MARKETPLACE).map_err(invalid)?],
        start,
        "set-by-onboarding",
    );
    s.order_prefix = "DM".to_string();
    Ok(s)
}

/// Demo order `n`: made-up buyer data (the demo never prints it).
pub fn demo_order(n: u32) -> OrderSpec {
    let mut items = vec![ItemSpec {
        title: Some(format!("Demo product {}", n % 7)),
        ..ItemSpec::new(&format!("DEMO-SKU-{}", n % 7), 1 + n % 3, "19.99", "EUR")
    }];
    if n.is_multiple_of(3) {
        items.push(ItemSpec::new("DEMO-SKU-GIFTWRAP", 1, "2.50", "EUR"));
    }
    OrderSpec {
        marketplace_id: DEMO_MARKETPLACE.to_string(),
        buyer: Some(BuyerSpec {
            name: Some(format!("Demo Buyer {n}")),
            email: Some(format!("demo-buyer-{n}@marketplace.amazon.de")),
            ..BuyerSpec::default()
        }),
        recipient: Some(AddressSpec {
            name: Some(format!("Demo Buyer {n}")),
            address_line1: Some(format!("Demostrasse {n}")),
            city: Some("Berlin".to_string()),
            postal_code: Some("10115".to_string()),
            country_code: Some("DE".to_string()),
            ..AddressSpec::default()
        }),
        items,
        ..OrderSpec::default()
    }
}

/// Starts the simulator with the demo application, seller and orders.
pub async fn start_simulator(opts: &DemoOptions) -> Result<SimHandle, DevstackError> {
    let sim = spapi_sim::start(SimConfig {
        speed: opts.speed,
        port: 0,
    })
    .await
    .map_err(|e| DevstackError::Moto(format!("simulator: {e}")))?;
    let c = sim.control();
    c.register_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
    c.add_seller(SellerSpec {
        seller_id: DEMO_SELLER.to_string(),
        refresh_token: demo_refresh_token(),
        marketplace_ids: vec![DEMO_MARKETPLACE.to_string()],
        pii: true,
        store_name: Some("Demo Store".to_string()),
        dormant_marketplace_ids: Vec::new(),
        non_amazon_channel: false,
        supply_source_ids: Vec::new(),
    })
    .map_err(|e| DevstackError::Moto(format!("simulator: {e}")))?;
    c.seed_orders(DEMO_SELLER, (1..=opts.orders).map(demo_order).collect())
        .map_err(|e| DevstackError::Moto(format!("simulator: {e}")))?;
    // Amazon answers only for times at least two minutes in the past.
    c.advance_clock(Duration::from_secs(180));
    Ok(sim)
}

/// The demo seller's refresh token (the simulator's, not a real one).
pub fn demo_refresh_token() -> String {
    format!("Atzr|demo-refresh-{DEMO_SELLER}")
}

/// The production client wiring, pointed at the simulator.
pub fn client(
    sdk: &SdkConfig,
    stack: &Provisioned,
    store: &Store,
    sim: &SimHandle,
) -> Result<(SpApi, Arc<DynamoBuckets>), DevstackError> {
    let secrets = SecretsCache::new(
        Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(
            sdk,
        ))),
        secrets::DEFAULT_TTL,
    );
    let directory = Arc::new(SettingsDirectory::new(Arc::new(store.clone())));
    let credentials = Arc::new(SecretsCredentials::new(
        secrets,
        stack.secret("LwaAppSecret")?.arn.clone(),
        directory,
    ));
    let buckets = Arc::new(DynamoBuckets::new(store.clone()));
    let config = ClientConfig::local(&sim.base_url(), &sim.lwa_token_url(), sim.control().speed());
    let api = SpApi::new(config, credentials, buckets.clone())
        .map_err(|e| DevstackError::Moto(format!("SP-API client: {e}")))?;
    Ok((api, buckets))
}

/// Runs the issue-2 demo: onboarding, then the client's calls through the
/// shared buckets. `sdk`/`stack` come from [`crate::provision`].
pub async fn run(
    sdk: &SdkConfig,
    stack: &Provisioned,
    sim: &SimHandle,
) -> Result<DemoReport, DevstackError> {
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(sdk),
        stack.table("StateTable")?,
    );
    set_app_secret(sdk, stack, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).await?;
    let stage = stack
        .parameters
        .get("Stage")
        .cloned()
        .unwrap_or_else(|| "demo".to_string());
    let seller = onboard(sdk, &store, &stage, demo_settings()?, &demo_refresh_token()).await?;
    let (api, buckets) = client(sdk, stack, &store, sim)?;
    let ctx = SellerContext::from(&seller.settings);
    let deadline = Deadline::after(Duration::from_secs(120));
    let fail = |e: spapi::SpApiError| DevstackError::Moto(format!("SP-API: {e}"));

    let mut report = DemoReport::default();
    let parts = api
        .call(&ctx, &GetMarketplaceParticipations, &deadline)
        .await
        .map_err(fail)?;
    report.marketplaces = parts
        .payload
        .iter()
        .map(|p| format!("{} ({})", p.marketplace.id, p.marketplace.country_code))
        .collect();

    let mut search = SearchOrders::new(
        SearchWindow::LastUpdated {
            after: seller
                .settings
                .order_start()
                .map_err(|e| DevstackError::Template(e.to_string()))?,
            before: None,
        },
        seller.settings.marketplaces.clone(),
    );
    search.max_results_per_page = Some(10);
    search.included_data = vec![IncludedData::Recipient, IncludedData::Fulfillment];
    let pages: Vec<_> = api
        .pages(&ctx, search, &deadline)
        .try_collect()
        .await
        .map_err(fail)?;
    report.pages = pages.len();
    for page in &pages {
        for order in &page.output.orders {
            report.orders_seen += 1;
            let status = order
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "unknown".to_string());
            *report.statuses.entry(status).or_default() += 1;
        }
    }
    let m = sim
        .control()
        .operation_metrics(DEMO_SELLER, Operation::SearchOrders);
    report.search_calls = m.calls;
    report.throttled = m.throttled;
    report.lwa_exchanges = sim.control().token_requests(DEMO_SELLER);
    // The shared bucket as every Lambda sees it, straight from the table.
    let key = BucketKey::new(DEMO_SELLER, Operation::SearchOrders);
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("BUCKET#{}", key.scope)))
        .key(
            "sk",
            AttributeValue::S(format!("OP#{}", key.operation.name())),
        )
        .consistent_read(true)
        .send()
        .await
        .ok()
        .and_then(|o| o.item);
    report.bucket_tokens_left = item
        .as_ref()
        .and_then(|i| i.get("tokens"))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok());
    drop(buckets);
    Ok(report)
}
