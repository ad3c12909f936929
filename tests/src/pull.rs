//! The order-pull function wired exactly as Lambda wires it (its environment
//! resolved from template.yaml against moto, plus the local SP-API endpoint),
//! on the simulator's clock, with the WMS order queue and the job queue read
//! back from moto.

use devstack::lambda_sqs::Trigger;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::settings::SellerSettings;
use domain::{Deadline, SellerId};
use lambda_kit::metrics::{MemorySink, Metrics};
use order_pull::config::{Config, DeadLetters, wire};
use order_pull::ports::{OrderSink, Outgoing, QueueError};
use order_pull::{Command, Mode, PullJob, PullReport, Puller};
use serde_json::{Value, json};
use store::{Clock, SettingsStore, Store};
use wms::OrderMessage;

use crate::moto::{TestStack, fresh_stack};
use crate::sim::{CLIENT_ID, CLIENT_SECRET, SimHandle, TestSeller, start_sim};

/// The simulator's clock (the one the demo uses too).
pub use devstack::demo_orders::SimClock;

/// Counts what the function hands to the queue, then passes it on.
pub struct CountingSink {
    inner: Arc<dyn OrderSink>,
    pub sent: Mutex<Vec<String>>,
    /// After this many sends, a send reaches the queue and then never
    /// returns: the process "dies" between the send and the ledger update.
    pub hang_after: Mutex<Option<usize>>,
    /// The next this many sends fail (the queue never gets them), as after
    /// SQS errors the SDK's retries could not ride out.
    pub fail_next: Mutex<usize>,
}

#[async_trait::async_trait]
impl OrderSink for CountingSink {
    async fn send(&self, message: Outgoing<'_>) -> Result<(), QueueError> {
        {
            let mut fail = self.fail_next.lock().unwrap_or_else(|p| p.into_inner());
            if *fail > 0 {
                *fail -= 1;
                return Err(QueueError {
                    action: "send to the WMS order queue",
                    message: "InternalError (test)".into(),
                    retryable: true,
                });
            }
        }
        self.inner.send(message.clone()).await?;
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message.message_id.to_string());
        let hang = *self.hang_after.lock().unwrap_or_else(|p| p.into_inner());
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner()).len();
        if hang.is_some_and(|n| sent > n) {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

/// Everything one order-pull test needs.
pub struct PullRig {
    pub stack: TestStack,
    pub sim: SimHandle,
    pub store: Store,
    pub config: Config,
    pub puller: Puller,
    pub dead_letters: DeadLetters,
    /// The EMF documents the function wrote (one flush per invocation).
    pub metrics: MemorySink,
    pub counting: Arc<CountingSink>,
    /// Every message read from the WMS queue so far.
    pub delivered: Mutex<Vec<OrderMessage>>,
}

impl PullRig {
    pub async fn new(name: &str, speed: f64) -> Self {
        let stack = fresh_stack(name).await;
        let sim = start_sim(speed).await;
        devstack::demo::set_app_secret(&stack.sdk, &stack.resources, CLIENT_ID, CLIENT_SECRET)
            .await
            .expect("app secret");
        let mut env: BTreeMap<String, String> = stack
            .resources
            .function_environment(&stack.template, "OrderPullFunction")
            .expect("the function's environment from template.yaml");
        env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
        env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
        env.insert("SPAPI_TIME_SCALE".into(), speed.to_string());
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
        let metrics = MemorySink::new();
        let (mut puller, dead_letters) = wire(
            &config,
            &stack.sdk,
            clock.clone(),
            Metrics::new(config.common.stage.clone(), Arc::new(metrics.clone())),
        )
        .expect("wire");
        let counting = Arc::new(CountingSink {
            inner: puller.sink.clone(),
            sent: Mutex::new(Vec::new()),
            hang_after: Mutex::new(None),
            fail_next: Mutex::new(0),
        });
        puller.sink = counting.clone();
        // Follow-ups in tests run at once (production waits a minute).
        puller.options.retry_delay = Duration::ZERO;
        let store = Store::new(stack.dynamo(), &stack.table).with_clock(clock);
        Self {
            stack,
            sim,
            store,
            config,
            puller,
            dead_letters,
            metrics,
            counting,
            delivered: Mutex::new(Vec::new()),
        }
    }

    /// Onboards `seller` (settings + refresh-token secret), prefix `MG`.
    pub async fn onboard(
        &self,
        seller: &TestSeller,
        tweak: impl FnOnce(&mut SellerSettings),
    ) -> SellerSettings {
        onboard_mg(&self.stack, &self.store, seller, tweak).await
    }

    pub async fn set_settings(&self, settings: &SellerSettings) {
        self.store
            .put_settings(settings)
            .await
            .expect("put settings");
    }

    /// Invokes the handler with `{"kind": "pull", ...}`.
    pub async fn pull(&self, seller: &TestSeller, mode: Mode) -> PullReport {
        self.try_pull(seller, mode, Deadline::after(Duration::from_secs(120)))
            .await
            .expect("the pull succeeds")
    }

    pub async fn try_pull(
        &self,
        seller: &TestSeller,
        mode: Mode,
        deadline: Deadline,
    ) -> Result<PullReport, order_pull::HandlerError> {
        let event = serde_json::to_value(Command::Pull(PullJob::new(&seller.seller_id, mode)))
            .expect("event");
        let out = order_pull::handle(&self.puller, &self.dead_letters, event, deadline).await?;
        Ok(serde_json::from_value(out.clone()).unwrap_or_else(|_| {
            panic!("a pull report: {out}");
        }))
    }

    /// Invokes the handler with the schedule's event.
    pub async fn schedule(&self) -> Value {
        order_pull::handle(
            &self.puller,
            &self.dead_letters,
            json!({"kind": "schedule"}),
            Deadline::after(Duration::from_secs(60)),
        )
        .await
        .expect("fan-out")
    }

    /// Delivers the job queue's messages to the handler as Lambda's SQS
    /// trigger would (batch size 1), until the queue is empty or `max` jobs ran.
    /// Returns the handler's answers.
    pub async fn run_jobs(&self, max: usize) -> Vec<Result<Value, String>> {
        let sqs = self.stack.sqs();
        let queue = self
            .stack
            .resources
            .queue("OrderPullJobQueue")
            .expect("the template defines OrderPullJobQueue");
        Trigger {
            sqs: &sqs,
            queue_url: &self.config.job_queue_url,
            queue_arn: &queue.arn,
            batch_size: 1,
            redeliver_failed: false,
        }
        .run(max, |event| async move {
            order_pull::handle(
                &self.puller,
                &self.dead_letters,
                event,
                Deadline::after(Duration::from_secs(60)),
            )
            .await
            .map_err(|e| e.to_string())
        })
        .await
        .expect("deliver the jobs")
    }

    /// Reads (and deletes) everything on the WMS order queue.
    pub async fn drain_wms(&self) -> Vec<OrderMessage> {
        let messages =
            devstack::drain::messages(&self.stack.sqs(), &self.config.wms_order_queue_url)
                .await
                .expect("drain the WMS queue");
        let out: Vec<OrderMessage> = messages
            .into_iter()
            .map(|m| {
                OrderMessage::parse(&m.body.unwrap_or_default())
                    .unwrap_or_else(|e| panic!("the WMS got an invalid order message: {e}"))
            })
            .collect();
        self.delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(out.iter().cloned());
        out
    }

    /// All messages delivered so far, by (kind, WMS order number) → count.
    pub fn delivered_counts(&self) -> BTreeMap<(String, String), usize> {
        let mut counts = BTreeMap::new();
        for m in self
            .delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            *counts
                .entry((m.kind().to_string(), m.order_number().to_string()))
                .or_default() += 1;
        }
        counts
    }

    /// Message ids the function handed to the queue (before SQS dedup).
    pub fn sent_ids(&self) -> Vec<String> {
        self.counting
            .sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Moves the simulator's clock past the settle time, so what was just
    /// seeded or changed is inside the next window.
    pub fn settle(&self) {
        self.sim.control().advance_clock(Duration::from_secs(180));
    }
}

/// Onboards `seller` in `stack` as the operator CLI does (settings +
/// refresh-token secret): the demo settings in the seller's marketplaces,
/// order prefix `MG`, then `tweak`.
pub async fn onboard_mg(
    stack: &TestStack,
    store: &Store,
    seller: &TestSeller,
    tweak: impl FnOnce(&mut SellerSettings),
) -> SellerSettings {
    let mut settings = devstack::demo::demo_settings().expect("settings");
    settings.seller_id = SellerId::new(&seller.seller_id).expect("seller id");
    settings.marketplaces = seller
        .marketplace_ids
        .iter()
        .map(|m| domain::MarketplaceId::new(m).expect("marketplace"))
        .collect();
    settings.order_prefix = "MG".into();
    tweak(&mut settings);
    devstack::demo::onboard(
        &stack.sdk,
        store,
        &stack.stage,
        settings,
        &seller.refresh_token,
    )
    .await
    .expect("onboard")
    .settings
}

/// Starts a rig with a seller (buyer and address roles granted) in DE.
pub async fn rig_with_seller(name: &str, seller_id: &str) -> (PullRig, TestSeller) {
    let rig = PullRig::new(name, 1000.0).await;
    let seller = crate::sim::add_seller(&rig.sim, seller_id, true);
    rig.onboard(&seller, |_| {}).await;
    (rig, seller)
}
