//! End-to-end rig: the template's resources in moto, the SP-API simulator,
//! and the functions' real debug binaries run by the local Lambda
//! (`lambda-emu`) with the environment template.yaml gives them. Nothing of
//! the function runs in the test process: events go in through the Runtime
//! API, effects are read back from moto and the simulator.

use std::sync::Mutex;
use std::time::Duration;

use chrono::TimeDelta;
use domain::settings::SellerSettings;
use lambda_emu::events::SqsSource;
use lambda_emu::{Binaries, Function, FunctionSpec, Invocation, LocalOverrides};
use serde_json::Value;
use store::Store;
use wms::OrderMessage;

use crate::moto::{TestStack, fresh_stack};
use crate::sim::{CLIENT_ID, CLIENT_SECRET, SimHandle, TestSeller, start_sim, test_order};

/// The functions' debug binaries (built once per test process; a no-op
/// when `infra/test.sh` built them first).
pub async fn binaries() -> &'static Binaries {
    tokio::task::spawn_blocking(Binaries::debug)
        .await
        .expect("the build thread")
        .unwrap_or_else(|e| panic!("{e}"))
}

pub struct E2e {
    pub stack: TestStack,
    pub sim: SimHandle,
    pub store: Store,
    pub speed: f64,
}

impl E2e {
    pub async fn new(name: &str, speed: f64) -> Self {
        let stack = fresh_stack(name).await;
        let sim = start_sim(speed).await;
        devstack::demo::set_app_secret(&stack.sdk, &stack.resources, CLIENT_ID, CLIENT_SECRET)
            .await
            .expect("app secret");
        let store = Store::new(stack.dynamo(), &stack.table);
        Self {
            stack,
            sim,
            store,
            speed,
        }
    }

    /// Onboards `seller` as the operator CLI does (prefix `MG`).
    pub async fn onboard(
        &self,
        seller: &TestSeller,
        tweak: impl FnOnce(&mut SellerSettings),
    ) -> SellerSettings {
        crate::pull::onboard_mg(&self.stack, &self.store, seller, tweak).await
    }

    /// The local stack's additions: moto, the simulator.
    pub fn overrides(&self) -> LocalOverrides {
        LocalOverrides::default()
            .aws_endpoint(&self.stack.endpoint)
            .spapi(&self.sim.base_url(), &self.sim.lwa_token_url(), self.speed)
    }

    /// The template's function `logical_id` with `overrides`.
    pub async fn spec_with(&self, logical_id: &str, overrides: &LocalOverrides) -> FunctionSpec {
        let bins = binaries().await;
        let name = lambda_emu::env::binary_name(&self.stack.template, logical_id)
            .expect("the function's binary");
        let binary = bins
            .get(&name)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_path_buf();
        lambda_emu::env::function_spec(
            &self.stack.template,
            &self.stack.resources,
            logical_id,
            binary,
            overrides,
        )
        .expect("the function's spec from template.yaml")
    }

    pub async fn spec(&self, logical_id: &str) -> FunctionSpec {
        self.spec_with(logical_id, &self.overrides()).await
    }

    pub async fn function(&self, logical_id: &str) -> Function {
        Function::new(self.spec(logical_id).await)
    }

    /// The template's SQS event source `event` of `function`.
    pub fn source(&self, function: &str, event: &str) -> SqsSource {
        SqsSource::from_template(&self.stack.template, &self.stack.resources, function, event)
            .expect("the event source")
    }

    /// Delivers the queue's messages to `function` as Lambda's event source
    /// does (failed records made visible again at once when
    /// `redeliver_failed`), until the queue is empty or `rounds` ran.
    pub async fn run_queue(
        &self,
        function: &Function,
        source: &SqsSource,
        rounds: usize,
        redeliver_failed: bool,
    ) -> Vec<Invocation> {
        let sqs = self.stack.sqs();
        let seen = Mutex::new(Vec::new());
        source
            .trigger(&sqs, redeliver_failed)
            .run(rounds, |event| {
                let seen = &seen;
                async move {
                    let inv = function.invoke(&event).await.expect("the emulator");
                    seen.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(inv.clone());
                    inv.into_result()
                }
            })
            .await
            .expect("the event source");
        seen.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    /// Seeds test orders 1..=n created ten minutes ago (the functions run on
    /// the wall clock; orders must be older than Amazon's two minutes).
    pub fn seed_past_orders(&self, seller: &TestSeller, n: u32) -> Vec<String> {
        let created = self.sim.control().now() - TimeDelta::minutes(10);
        let specs = (1..=n)
            .map(|i| {
                let mut o = test_order(i, &seller.marketplace_ids[0]);
                o.created = Some(created);
                o
            })
            .collect();
        self.sim
            .control()
            .seed_orders(&seller.seller_id, specs)
            .expect("seed orders")
    }

    /// Reads (and deletes) everything on the WMS order queue.
    pub async fn drain_wms(&self) -> Vec<OrderMessage> {
        let url = &self
            .stack
            .resources
            .queue("WmsOrderQueue")
            .expect("the WMS queue")
            .url;
        let mut out = Vec::new();
        for (body, _) in self.drain(url).await {
            out.push(
                OrderMessage::parse(&body)
                    .unwrap_or_else(|e| panic!("the WMS got an invalid order message: {e}")),
            );
        }
        out
    }

    /// Reads (and deletes) every message of a queue: (body, attributes).
    pub async fn drain(&self, url: &str) -> Vec<(String, Value)> {
        let messages = devstack::drain::messages(&self.stack.sqs(), url)
            .await
            .expect("drain the queue");
        // The attributes as Lambda's SQS event shows them.
        let event = devstack::lambda_sqs::event_from_messages(
            "arn:aws:sqs:us-east-1:123456789012:q",
            &messages,
        );
        messages
            .iter()
            .zip(event["Records"].as_array().into_iter().flatten())
            .map(|(m, record)| {
                (
                    m.body.clone().unwrap_or_default(),
                    record["messageAttributes"].clone(),
                )
            })
            .collect()
    }
}

/// A wait long enough for anything a debug binary does against moto in
/// these tests; a hang fails the test instead of blocking CI.
pub const LIMIT: Duration = Duration::from_secs(120);
