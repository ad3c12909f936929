//! The label function wired exactly as Lambda wires it (its environment
//! resolved from template.yaml against moto, plus the local SP-API
//! endpoint), on the simulator's clock, invoked as a Function URL or
//! directly, with request builders for the label contract.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use domain::settings::SellerSettings;
use domain::{Deadline, SellerId};
use labels::LabelService;
use labels::config::{Config, wire};
use lambda_kit::metrics::{MemorySink, Metrics};
use serde_json::{Value, json};
use spapi_sim::Fault;
use store::{Clock, Store};
use wms::LabelResponse;

use crate::moto::{TestStack, fresh_stack};
use crate::pull::SimClock;
use crate::sim::{CLIENT_ID, CLIENT_SECRET, SimHandle, TestSeller, UK, add_seller_in, start_sim};

/// Time compression of the label tests: Amazon's 10-minute rates last 60 s
/// of wall time, retries wait 100 ms.
pub const SPEED: f64 = 10.0;

pub struct LabelRig {
    pub stack: TestStack,
    pub sim: SimHandle,
    pub store: Store,
    pub config: Config,
    pub service: LabelService,
    pub seller: TestSeller,
    pub settings: SellerSettings,
    /// The EMF documents the function wrote (one flush per invocation).
    pub metrics: MemorySink,
}

/// The warehouse the labels ship from.
pub fn warehouse() -> Value {
    json!({
        "name": "Test Warehouse", "address_line1": "1 Dock Road", "city": "London",
        "state_or_region": "London", "postal_code": "E16 2QU", "country_code": "GB"
    })
}

/// One package of `items` (`[(sku, quantity)]`).
pub fn package(id: &str, kilograms: &str, items: &[(&str, u32)]) -> Value {
    json!({
        "package_id": id,
        "weight": {"value": kilograms, "unit": "KILOGRAM"},
        "dimensions": {"length": "30", "width": "20", "height": "10", "unit": "CENTIMETER"},
        "items": items.iter().map(|(sku, q)| json!({"sku": sku, "quantity": q})).collect::<Vec<_>>()
    })
}

impl LabelRig {
    /// A fresh stack and simulator with one seller in Amazon.co.uk
    /// (`AmazonShipping_UK`), onboarded with order prefix `MG`.
    pub async fn new(name: &str) -> Self {
        Self::with(name, |_| {}).await
    }

    pub async fn with(name: &str, tweak: impl FnOnce(&mut SellerSettings)) -> Self {
        let stack = fresh_stack(name).await;
        let sim = start_sim(SPEED).await;
        devstack::demo::set_app_secret(&stack.sdk, &stack.resources, CLIENT_ID, CLIENT_SECRET)
            .await
            .expect("app secret");
        let (config, service, metrics) = wire_labels(&stack, &sim, SPEED);
        let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
        let store = Store::new(stack.dynamo(), &stack.table).with_clock(clock);
        let seller = add_seller_in(&sim, "A1LABELSELLER", &[UK], true);
        let mut settings = devstack::demo::demo_settings().expect("settings");
        settings.seller_id = SellerId::new(&seller.seller_id).expect("seller id");
        settings.client_code = domain::ClientCode::new("LBL").expect("client code");
        settings.marketplaces = vec![domain::MarketplaceId::new(UK).expect("marketplace")];
        settings.order_prefix = "MG".into();
        tweak(&mut settings);
        let settings = devstack::demo::onboard(
            &stack.sdk,
            &store,
            &stack.stage,
            settings,
            &seller.refresh_token,
        )
        .await
        .expect("onboard")
        .settings;
        Self {
            stack,
            sim,
            store,
            config,
            service,
            seller,
            settings,
            metrics,
        }
    }

    /// Seeds test order `n` (see `sim::test_order`) in Amazon.co.uk; returns
    /// its WMS order number (`MG` + id).
    pub fn seed_order(&self, n: u32) -> String {
        let id = self
            .sim
            .control()
            .seed_order(&self.seller.seller_id, crate::sim::test_order(n, UK))
            .expect("seed order");
        format!("MG{id}")
    }

    /// A direct invoke: the request is the event, the response the answer.
    pub async fn invoke(&self, request: Value) -> LabelResponse {
        let out = labels::handle(
            &self.service,
            request,
            Deadline::after(Duration::from_secs(30)),
        )
        .await;
        LabelResponse::parse(&out.to_string())
            .unwrap_or_else(|e| panic!("the answer breaks the response contract: {e}\n{out:#}"))
    }

    /// A Function URL call (payload format 2.0): (HTTP status, response).
    pub async fn invoke_url(&self, body: &str, method: &str, base64: bool) -> (u16, LabelResponse) {
        let body = if base64 {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            body.to_string()
        };
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "rawQueryString": "",
            "headers": {"content-type": "application/json", "host": "abc.lambda-url.eu-west-1.on.aws"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc",
                "authorizer": {"iam": {"accessKey": "AKIA", "accountId": "123456789012",
                    "callerId": "AIDA", "userArn": "arn:aws:iam::123456789012:user/wms", "userId": "AIDA"}},
                "domainName": "abc.lambda-url.eu-west-1.on.aws",
                "domainPrefix": "abc",
                "http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1", "userAgent": "wms"},
                "requestId": "r-1",
                "routeKey": "$default",
                "stage": "$default",
                "time": "01/Sep/2026:14:00:00 +0000",
                "timeEpoch": 1788271200000i64
            },
            "body": body,
            "isBase64Encoded": base64
        });
        let out = labels::handle(
            &self.service,
            event,
            Deadline::after(Duration::from_secs(30)),
        )
        .await;
        let status = out["statusCode"].as_u64().expect("statusCode") as u16;
        assert_eq!(out["headers"]["content-type"], "application/json");
        let body = out["body"].as_str().expect("a string body");
        let response = LabelResponse::parse(body)
            .unwrap_or_else(|e| panic!("the answer breaks the response contract: {e}\n{body}"));
        (status, response)
    }

    /// `rates` for an Amazon order by its WMS order number.
    pub fn rates_request(&self, order_number: &str, packages: Vec<Value>) -> Value {
        json!({
            "schema": 1, "operation": "rates", "seller_id": self.seller.seller_id,
            "shipment": {"order_number": order_number, "ship_from": warehouse(), "packages": packages}
        })
    }

    /// Rates for the order, asserting success: (request token, offers JSON).
    pub async fn rates(&self, order_number: &str, packages: Vec<Value>) -> wms::label::RatesResult {
        let r = self
            .invoke(self.rates_request(order_number, packages))
            .await;
        assert!(r.ok, "rates failed: {:?}", r.error);
        r.rates.expect("rates")
    }

    pub fn purchase_request(&self, key: &str, token: &str, rate_id: &str, format: &str) -> Value {
        json!({
            "schema": 1, "operation": "purchase", "seller_id": self.seller.seller_id,
            "idempotency_key": key, "request_token": token, "rate_id": rate_id,
            "label": {"format": format}
        })
    }

    /// The seller's calls of `op` the simulator answered (any status).
    pub fn calls(&self, op: domain::Operation) -> u64 {
        self.sim
            .control()
            .operation_metrics(&self.seller.seller_id, op)
            .calls
    }

    /// Labels the simulator really sold the seller.
    pub fn purchases(&self) -> u64 {
        self.sim.control().label_purchases(&self.seller.seller_id)
    }

    /// Makes the simulator's next `n` purchases slow (the buying call holds
    /// its lock while others arrive).
    pub fn slow_purchases(&self, n: usize, millis: u64) {
        for _ in 0..n {
            self.sim
                .control()
                .inject_fault(
                    spapi_sim::FaultTarget::Operation(domain::Operation::PurchaseShipment),
                    Fault::Slow { millis },
                )
                .expect("fault");
        }
    }

    /// Every item of the state table (for "what is stored" assertions).
    pub async fn table_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .stack
                .dynamo()
                .scan()
                .table_name(&self.stack.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return out,
            }
        }
    }
}

/// A label file's bytes.
pub fn file(doc: &wms::label::Document) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(doc.content_base64.expose())
        .expect("base64")
}

/// The label function wired from the template's environment on `stack`,
/// against `sim` at `speed`, on the simulator's clock (the app secret must
/// be set): the config, the service and its metric sink.
pub fn wire_labels(
    stack: &TestStack,
    sim: &SimHandle,
    speed: f64,
) -> (Config, LabelService, MemorySink) {
    let mut env: BTreeMap<String, String> = stack
        .resources
        .function_environment(&stack.template, "LabelsFunction")
        .expect("the function's environment from template.yaml");
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), speed.to_string());
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let metrics = MemorySink::new();
    let service = wire(
        &config,
        &stack.sdk,
        clock,
        Metrics::new(config.common.stage.clone(), Arc::new(metrics.clone())),
    )
    .expect("wire");
    (config, service, metrics)
}
