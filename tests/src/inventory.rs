//! The inventory-push function wired exactly as Lambda wires it (its
//! environment resolved from template.yaml against moto, the WMS stock
//! secret pointing at a [`FakeWms`], the local SP-API endpoint), on the
//! simulator's clock.

use devstack::lambda_sqs::Trigger;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use domain::settings::SellerSettings;
use domain::{Deadline, SellerId};
use inventory_push::config::DeadLetters;
use inventory_push::config::{Config, wire};
use inventory_push::{PushReport, Pusher};
use lambda_kit::metrics::{MemorySink, Metrics};
use serde_json::{Value, json};
use store::{Clock, Store};

use crate::moto::{TestStack, fresh_stack};
use crate::pull::SimClock;
use crate::sim::{CLIENT_ID, CLIENT_SECRET, SimHandle, TestSeller, start_sim};
use crate::wms_stock::FakeWms;

pub const WMS_TOKEN: &str = "wms-stock-token-for-tests";

pub struct PushRig {
    pub stack: TestStack,
    pub sim: SimHandle,
    pub store: Store,
    pub config: Config,
    pub pusher: Pusher,
    pub dead_letters: DeadLetters,
    /// The EMF documents the function wrote (one flush per invocation).
    pub metrics: MemorySink,
    pub wms: FakeWms,
}

impl PushRig {
    pub async fn new(name: &str, speed: f64) -> Self {
        Self::with_page_size(name, speed, 50).await
    }

    pub async fn with_page_size(name: &str, speed: f64, page_size: usize) -> Self {
        let stack = fresh_stack(name).await;
        let sim = start_sim(speed).await;
        let wms = FakeWms::start(WMS_TOKEN, page_size).await;
        devstack::demo::set_app_secret(&stack.sdk, &stack.resources, CLIENT_ID, CLIENT_SECRET)
            .await
            .expect("app secret");
        let (config, pusher, dead_letters, metrics) = wire_pusher(&stack, &sim, &wms, speed).await;
        let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
        let store = Store::new(stack.dynamo(), &stack.table).with_clock(clock);
        Self {
            stack,
            sim,
            store,
            config,
            pusher,
            dead_letters,
            metrics,
            wms,
        }
    }

    /// Onboards `seller` with client code `CLIENT-<seller id>`.
    pub async fn onboard(
        &self,
        seller: &TestSeller,
        tweak: impl FnOnce(&mut SellerSettings),
    ) -> SellerSettings {
        let mut settings = devstack::demo::demo_settings().expect("settings");
        settings.seller_id = SellerId::new(&seller.seller_id).expect("seller id");
        settings.client_code = domain::ClientCode::new(client_code(seller)).expect("client code");
        settings.marketplaces = seller
            .marketplace_ids
            .iter()
            .map(|m| domain::MarketplaceId::new(m).expect("marketplace"))
            .collect();
        tweak(&mut settings);
        devstack::demo::onboard(
            &self.stack.sdk,
            &self.store,
            &self.stack.stage,
            settings,
            &seller.refresh_token,
        )
        .await
        .expect("onboard")
        .settings
    }

    /// Invokes the handler with `{"kind": "push", "seller_id": ...}`.
    pub async fn push(&self, seller: &TestSeller) -> PushReport {
        self.try_push(seller).await.expect("the push succeeds")
    }

    pub async fn try_push(&self, seller: &TestSeller) -> Result<PushReport, String> {
        let out = inventory_push::handle(
            &self.pusher,
            &self.dead_letters,
            json!({"kind": "push", "seller_id": seller.seller_id}),
            Deadline::after(Duration::from_secs(300)),
        )
        .await
        .map_err(|e| e.to_string())?;
        serde_json::from_value(out).map_err(|e| e.to_string())
    }

    pub async fn schedule(&self) -> Value {
        inventory_push::handle(
            &self.pusher,
            &self.dead_letters,
            json!({"kind": "schedule"}),
            Deadline::after(Duration::from_secs(60)),
        )
        .await
        .expect("the fan-out succeeds")
    }

    /// Runs the job queue's messages through the handler as Lambda's SQS
    /// trigger would (batch size 1), deleting those that did not fail.
    pub async fn run_jobs(&self, max: usize) -> Vec<Result<Value, String>> {
        let sqs = self.stack.sqs();
        let queue = self
            .stack
            .resources
            .queue("InventoryPushJobQueue")
            .expect("the template defines InventoryPushJobQueue");
        Trigger {
            sqs: &sqs,
            queue_url: &self.config.job_queue_url,
            queue_arn: &queue.arn,
            batch_size: 1,
            redeliver_failed: false,
        }
        .run(max, |event| async move {
            inventory_push::handle(
                &self.pusher,
                &self.dead_letters,
                event,
                Deadline::after(Duration::from_secs(120)),
            )
            .await
            .map_err(|e| e.to_string())
        })
        .await
        .expect("deliver the jobs")
    }
}

pub fn client_code(seller: &TestSeller) -> String {
    format!(
        "C{}",
        &seller.seller_id[seller.seller_id.len().saturating_sub(8)..]
    )
}

/// The inventory-push function wired from the template's environment on
/// `stack`, against `sim` and the fake WMS stock endpoint `wms` (its secret
/// written), on the simulator's clock. The app secret must be set.
pub async fn wire_pusher(
    stack: &TestStack,
    sim: &SimHandle,
    wms: &FakeWms,
    speed: f64,
) -> (Config, Pusher, DeadLetters, MemorySink) {
    let mut env: BTreeMap<String, String> = stack
        .resources
        .function_environment(&stack.template, "InventoryPushFunction")
        .expect("the function's environment from template.yaml");
    stack
        .secrets()
        .put_secret_value()
        .secret_id(&env["WMS_STOCK_SECRET"])
        .secret_string(json!({"url": wms.url(), "token": WMS_TOKEN}).to_string())
        .send()
        .await
        .expect("the WMS stock secret");
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), speed.to_string());
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let metrics = MemorySink::new();
    let (pusher, dead_letters) = wire(
        &config,
        &stack.sdk,
        clock,
        Metrics::new(config.common.stage.clone(), Arc::new(metrics.clone())),
    )
    .expect("wire");
    (config, pusher, dead_letters, metrics)
}
