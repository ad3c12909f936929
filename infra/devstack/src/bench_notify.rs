//! The notification benchmark (issue 15): how long an order takes from its
//! creation at Amazon to its `order.created` on the WMS queue, and how many
//! SP-API calls that costs, with and without ORDER_CHANGE notifications —
//! all on the simulator's **compressed clock** (Amazon time runs `speed`
//! times faster than wall time: the simulator's clock, its quota buckets,
//! the client's quota gate, the schedule and the queues' delays).
//!
//! What runs is the production code: the notification handler
//! ([`notifications::Notifier`]), the order pull ([`order_pull::Puller`]:
//! the 15-minute fan-out as the backstop, its jobs, coalesced pulls), the
//! shared per-order step and the real SP-API client over HTTP to the
//! simulator, which raises the notifications (with its delays, duplicates
//! and losses). The AWS side is in memory (`store::MemoryStore`, a WMS queue
//! and a job queue that keep time on the same clock), so moto's speed does
//! not leak into Amazon-time figures; the adapters themselves are what the
//! integration tests cover. One notification consumer and one job runner,
//! as Lambda with a concurrency of one each: the figures are a floor.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use domain::settings::SellerSettings;
use domain::{ClientCode, Deadline, MarketplaceId, PortError, Region, SellerId};
use lambda_kit::batch::{DeadLetter, DeadLetterSink};
use lambda_kit::metrics::{Job, MemorySink, Metrics};
use notifications::{Notifier, NotifyOptions};
use order_pull::ports::{JobQueue, OrderSink, Outgoing, QueueError};
use order_pull::{Handoff, HandoffOptions, PullJob, PullOptions, Puller};
use secrecy::SecretString;
use serde::Serialize;
use spapi::{AppCredentials, Credentials, SpApi};
use spapi_sim::{NotificationDelivery, NotificationSink, SimConfig, SimHandle};
use store::{Clock, MemoryStore, SettingsStore};
use tokio::sync::mpsc;

const CLIENT_ID: &str = "amzn1.application-oa2-client.bench";
const CLIENT_SECRET: &str = "bench-client-secret";
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:connector-notifications-bench";

/// The order load of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Load {
    /// Each seller gets `per_minute` new orders a minute for `minutes`.
    Steady { per_minute: f64, minutes: u32 },
    /// One seller gets `orders` new orders within one minute.
    Burst { orders: u32 },
}

/// One scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    pub name: String,
    pub sellers: u32,
    pub load: Load,
    /// Subscribed to ORDER_CHANGE (else: polling only).
    pub notifications: bool,
    /// Share of notifications Amazon never delivers.
    pub loss: f64,
    /// Share delivered twice.
    pub duplicates: f64,
}

impl Scenario {
    /// The issue's four, plus polling alone under the burst (what (c) is
    /// compared with).
    pub fn all(sellers: u32, minutes: u32, burst: u32) -> Vec<Scenario> {
        let steady = Load::Steady {
            per_minute: 5.0,
            minutes,
        };
        let s = |name: &str, load, notifications, loss, duplicates, sellers| Scenario {
            name: name.into(),
            sellers,
            load,
            notifications,
            loss,
            duplicates,
        };
        vec![
            s(
                "(a) polling only, 5 orders/min per seller",
                steady,
                false,
                0.0,
                0.0,
                sellers,
            ),
            s(
                "(b) notifications, 5 orders/min per seller",
                steady,
                true,
                0.0,
                0.02,
                sellers,
            ),
            s(
                &format!("(c) notifications, a burst of {burst} orders in one minute"),
                Load::Burst { orders: burst },
                true,
                0.0,
                0.02,
                1,
            ),
            s(
                &format!("(c') polling only, the same burst of {burst}"),
                Load::Burst { orders: burst },
                false,
                0.0,
                0.0,
                1,
            ),
            s(
                "(d) notifications, 20 % lost, 5 orders/min per seller",
                steady,
                true,
                0.2,
                0.02,
                sellers,
            ),
        ]
    }
}

/// How the bench runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BenchOptions {
    /// Time compression (Amazon seconds per wall second).
    pub speed: f64,
    /// After the last order, Amazon minutes to wait for every order at most.
    pub drain_minutes: u32,
    /// Seed of the simulator's losses, duplicates and delays.
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            speed: 30.0,
            drain_minutes: 40,
            seed: 15,
        }
    }
}

/// What a scenario measured (Amazon time).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub scenario: Scenario,
    pub orders: usize,
    /// Orders whose `order.created` reached the WMS.
    pub delivered: usize,
    /// Orders sent more than once (must be 0).
    pub sent_twice: usize,
    pub p50_s: f64,
    pub p95_s: f64,
    pub max_s: f64,
    pub get_order_calls: u64,
    pub search_orders_calls: u64,
    /// `getOrder` + `searchOrders` per 100 orders.
    pub calls_per_100_orders: f64,
    /// 429 answers of every operation.
    pub throttled: u64,
    pub notifications_produced: u64,
    pub notifications_lost: u64,
    pub notifications_duplicated: u64,
    pub coalesced_pulls: u64,
    /// Wall time of the run.
    pub wall_s: f64,
}

impl Report {
    /// Every order reached the WMS exactly once.
    pub fn exactly_once(&self) -> bool {
        self.delivered == self.orders && self.sent_twice == 0
    }
}

/// Amazon time on the compressed clock: `speed` times wall time since start.
#[derive(Clone, Debug)]
struct BenchClock {
    wall: Instant,
    start: DateTime<Utc>,
    speed: f64,
}

impl Clock for BenchClock {
    fn now(&self) -> DateTime<Utc> {
        let amazon = self.wall.elapsed().mul_f64(self.speed);
        self.start + TimeDelta::from_std(amazon).unwrap_or_default()
    }
}

struct BenchCredentials {
    tokens: HashMap<SellerId, String>,
}

#[async_trait::async_trait]
impl Credentials for BenchCredentials {
    async fn app(&self) -> Result<AppCredentials, PortError> {
        Ok(AppCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(CLIENT_SECRET.to_string()),
        })
    }

    async fn refresh_token(&self, seller: &SellerId) -> Result<SecretString, PortError> {
        self.tokens
            .get(seller)
            .map(|t| SecretString::from(t.clone()))
            .ok_or_else(|| PortError::permanent(format!("no token for {seller}")))
    }

    async fn authorization_revoked(&self, _: &SellerId, _: &str) -> Result<(), PortError> {
        Ok(())
    }
}

/// The WMS queue: when each message arrived (Amazon time).
struct BenchWms {
    clock: BenchClock,
    /// (kind, amazon order id, when)
    sent: Mutex<Vec<(String, String, DateTime<Utc>)>>,
}

#[async_trait::async_trait]
impl OrderSink for BenchWms {
    async fn send(&self, m: Outgoing<'_>) -> Result<(), QueueError> {
        // message id: <seller>:<order>:<kind...>
        let order = m
            .message_id
            .split(':')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push((
            m.kind.to_string(),
            order,
            self.clock.now(),
        ));
        Ok(())
    }
}

/// The order-pull job queue: SQS delays in wall time, as SQS keeps them.
#[derive(Default)]
struct BenchJobs {
    queue: Mutex<Vec<(Instant, PullJob)>>,
}

#[async_trait::async_trait]
impl JobQueue for BenchJobs {
    async fn enqueue(&self, job: &PullJob, delay: Duration) -> Result<(), QueueError> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((Instant::now() + delay, job.clone()));
        Ok(())
    }
}

impl BenchJobs {
    fn due(&self) -> Vec<PullJob> {
        let now = Instant::now();
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let (due, rest): (Vec<_>, Vec<_>) = q.drain(..).partition(|(t, _)| *t <= now);
        *q = rest;
        due.into_iter().map(|(_, j)| j).collect()
    }

    fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }
}

/// The notification queue: the simulator sends here.
struct BenchSink(mpsc::UnboundedSender<String>);

#[async_trait::async_trait]
impl NotificationSink for BenchSink {
    async fn deliver(&self, _queue_arn: &str, body: String) -> Result<(), String> {
        self.0.send(body).map_err(|e| e.to_string())
    }
}

#[derive(Default)]
struct CountingDeadLetters(Mutex<usize>);

#[async_trait::async_trait]
impl DeadLetterSink for CountingDeadLetters {
    async fn dead_letter(&self, _: DeadLetter) -> Result<(), String> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(())
    }
}

fn seller_id(n: u32) -> SellerId {
    SellerId::new(format!("A1BENCHSELLER{n:02}")).unwrap_or_else(|_| SellerId::application())
}

fn settings(n: u32) -> Result<SellerSettings, Box<dyn std::error::Error>> {
    let mut s = crate::demo::demo_settings()?;
    s.seller_id = seller_id(n);
    s.client_code = ClientCode::new(format!("B{n:02}"))?;
    s.marketplaces = vec![MarketplaceId::new(crate::demo::DEMO_MARKETPLACE)?];
    s.refresh_token_secret = format!("bench/{}", s.seller_id);
    Ok(s)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Runs one scenario on a fresh simulator.
pub async fn run(
    scenario: &Scenario,
    options: &BenchOptions,
) -> Result<Report, Box<dyn std::error::Error>> {
    let wall = Instant::now();
    let sim: SimHandle = spapi_sim::start(SimConfig {
        speed: options.speed,
        port: 0,
    })
    .await?;
    let control = sim.control().clone();
    control.register_app(CLIENT_ID, CLIENT_SECRET);
    let clock = BenchClock {
        wall: Instant::now(),
        start: control.now(),
        speed: options.speed,
    };
    let shared_clock: Arc<dyn Clock> = Arc::new(clock.clone());
    // Keep the simulator's clock on the compressed one.
    let sync = {
        let (control, clock) = (control.clone(), clock.clone());
        tokio::spawn(async move {
            loop {
                let lag = clock.now() - control.now();
                if let Ok(lag) = lag.to_std() {
                    control.advance_clock(lag);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let store = MemoryStore::new().with_clock(shared_clock.clone());
    let mut tokens = HashMap::new();
    let mut all_settings = Vec::new();
    for n in 1..=scenario.sellers {
        let s = settings(n)?;
        let token = format!("Atzr|bench-{n}");
        control.add_seller(spapi_sim::SellerSpec::new(
            s.seller_id.as_str(),
            &token,
            &[crate::demo::DEMO_MARKETPLACE],
            true,
        ))?;
        store.put_settings(&s).await?;
        tokens.insert(s.seller_id.clone(), token);
        all_settings.push(s);
    }
    let api = SpApi::new(
        lambda_kit::spapi_env::client_config(
            &Some(sim.base_url()),
            &Some(sim.lwa_token_url()),
            options.speed,
        ),
        Arc::new(BenchCredentials { tokens }),
        Arc::new(store.clone()),
    )?;
    let wms = Arc::new(BenchWms {
        clock: clock.clone(),
        sent: Mutex::new(Vec::new()),
    });
    let jobs = Arc::new(BenchJobs::default());
    let metrics = Metrics::new("bench", Arc::new(MemorySink::new()));
    let store_arc = Arc::new(store.clone());
    let puller = Arc::new(Puller {
        api: api.clone(),
        settings: store_arc.clone(),
        ledger: store_arc.clone(),
        checkpoints: store_arc.clone(),
        notes: store_arc.clone(),
        notify: store_arc.clone(),
        participations: store_arc.clone(),
        sink: wms.clone(),
        jobs: jobs.clone(),
        clock: shared_clock.clone(),
        options: PullOptions {
            // SQS delays are wall time: a minute of Amazon time.
            retry_delay: Duration::from_secs(60).div_f64(options.speed),
            ..PullOptions::default()
        },
        metrics: metrics.clone(),
    });
    let notifier = Arc::new(Notifier {
        api: api.clone(),
        settings: store_arc.clone(),
        state: store_arc.clone(),
        participations: store_arc.clone(),
        handoff: Handoff {
            ledger: store_arc.clone(),
            notes: store_arc.clone(),
            sink: wms.clone(),
            clock: shared_clock.clone(),
            metrics: metrics.clone(),
            options: HandoffOptions::default(),
            delay_job: Some(Job::Notifications),
        },
        jobs: jobs.clone(),
        clock: shared_clock.clone(),
        metrics: metrics.clone(),
        options: NotifyOptions::default(),
    });

    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    if scenario.notifications {
        control.set_notification_sink(Arc::new(BenchSink(tx)));
        control.set_notification_delivery(NotificationDelivery {
            loss: scenario.loss,
            duplicates: scenario.duplicates,
            seed: options.seed,
            ..NotificationDelivery::default()
        });
        notifications::subscriptions::ensure_destination(
            &api,
            &store,
            Region::Eu,
            QUEUE_ARN,
            "connector-bench",
            clock.now(),
        )
        .await?;
        for s in &all_settings {
            notifications::subscriptions::subscribe_seller(&api, &store, s, false, clock.now())
                .await?;
        }
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped =
        |s: &Arc<std::sync::atomic::AtomicBool>| s.load(std::sync::atomic::Ordering::Relaxed);

    // The notification consumer: batches of up to 10, as the SQS trigger.
    let consumer = {
        let (notifier, stop) = (notifier.clone(), stop.clone());
        tokio::spawn(async move {
            let dead = CountingDeadLetters::default();
            while !stopped(&stop) {
                let first = match tokio::time::timeout(Duration::from_millis(20), rx.recv()).await {
                    Ok(Some(b)) => b,
                    Ok(None) => break,
                    Err(_) => continue,
                };
                let mut bodies = vec![first];
                while bodies.len() < 10 {
                    match rx.try_recv() {
                        Ok(b) => bodies.push(b),
                        Err(_) => break,
                    }
                }
                let ids: Vec<String> = (0..bodies.len()).map(|i| format!("m-{i}")).collect();
                let records = bodies
                    .iter()
                    .zip(&ids)
                    .map(|(b, id)| crate::lambda_sqs::Record {
                        message_id: id,
                        receipt_handle: "r",
                        body: b,
                    });
                let event = crate::lambda_sqs::event(QUEUE_ARN, records);
                if let Ok(event) = serde_json::from_value(event) {
                    let _ = notifier
                        .run_batch(event, &dead, &Deadline::after(Duration::from_secs(60)))
                        .await;
                }
            }
        })
    };
    // The job runner.
    let runner = {
        let (puller, jobs, stop) = (puller.clone(), jobs.clone(), stop.clone());
        tokio::spawn(async move {
            while !stopped(&stop) {
                let due = jobs.due();
                if due.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                for job in due {
                    if let Err(e) = puller
                        .run(&job, &Deadline::after(Duration::from_secs(600)))
                        .await
                    {
                        tracing::warn!(error = %e, "bench: pull job failed");
                    }
                }
            }
        })
    };
    // The schedule: a fan-out a minute in, then every 15 minutes.
    let schedule = {
        let (puller, stop, clock) = (puller.clone(), stop.clone(), clock.clone());
        tokio::spawn(async move {
            let mut next = clock.now() + TimeDelta::minutes(1);
            while !stopped(&stop) {
                if clock.now() >= next {
                    if let Err(e) = puller.fan_out().await {
                        tracing::warn!(error = %e, "bench: fan-out failed");
                    }
                    next += TimeDelta::minutes(15);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // The orders.
    let mut created: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let start = clock.now() + TimeDelta::minutes(2);
    let plan: Vec<(DateTime<Utc>, u32)> = match scenario.load {
        Load::Steady {
            per_minute,
            minutes,
        } => {
            let gap = 60.0 / per_minute;
            let per_seller = (f64::from(minutes) * per_minute) as u32;
            let mut v = Vec::new();
            for s in 1..=scenario.sellers {
                // Sellers offset from each other within the gap.
                let offset = gap * f64::from(s - 1) / f64::from(scenario.sellers);
                for i in 0..per_seller {
                    let at = offset + gap * f64::from(i);
                    v.push((start + TimeDelta::milliseconds((at * 1000.0) as i64), s));
                }
            }
            v
        }
        Load::Burst { orders } => (0..orders)
            .map(|i| {
                let at = 60_000.0 * f64::from(i) / f64::from(orders);
                (start + TimeDelta::milliseconds(at as i64), 1)
            })
            .collect(),
    };
    let mut plan = plan;
    plan.sort();
    let mut counter = 0u32;
    for (at, seller) in plan {
        while clock.now() < at {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        counter += 1;
        let id = format!("{:03}-{:07}-{:07}", 100 + seller, counter, counter);
        let now = clock.now();
        let spec = spapi_sim::OrderSpec {
            order_id: Some(id.clone()),
            created: Some(now),
            ..crate::demo::demo_order(counter)
        };
        control.seed_order(seller_id(seller).as_str(), spec)?;
        created.insert(id, now);
    }
    // Until every order is at the WMS, or the drain time is up.
    let give_up = clock.now() + TimeDelta::minutes(i64::from(options.drain_minutes));
    loop {
        let delivered = {
            let sent = wms.sent.lock().unwrap_or_else(|p| p.into_inner());
            sent.iter()
                .filter(|(k, _, _)| k == "order.created")
                .map(|(_, id, _)| id.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        if delivered >= created.len() || clock.now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = tokio::join!(consumer, runner, schedule);
    sync.abort();
    let _ = jobs.is_empty();

    // What it came to.
    let sent = wms.sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut first: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut times: HashMap<String, usize> = HashMap::new();
    for (kind, id, at) in &sent {
        if kind != "order.created" {
            continue;
        }
        *times.entry(id.clone()).or_default() += 1;
        first.entry(id.clone()).or_insert(*at);
    }
    let mut delays: Vec<f64> = created
        .iter()
        .filter_map(|(id, c)| {
            first
                .get(id)
                .map(|at| (*at - *c).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let m = control.metrics();
    let sum = |op: &str| -> u64 {
        m.operations
            .iter()
            .filter(|r| r.operation == op)
            .map(|r| r.metrics.calls)
            .sum()
    };
    let throttled: u64 = m.operations.iter().map(|r| r.metrics.throttled).sum();
    let (get, search) = (sum("getOrder"), sum("searchOrders"));
    let stats = control.notification_stats();
    let coalesced_pulls = {
        let mut n = 0;
        for s in &all_settings {
            use store::NotificationState;
            n += store.coalesce_state(&s.seller_id).await?.jobs;
        }
        n
    };
    let report = Report {
        scenario: scenario.clone(),
        orders: created.len(),
        delivered: first.len(),
        sent_twice: times.values().filter(|n| **n > 1).count(),
        p50_s: percentile(&delays, 0.50),
        p95_s: percentile(&delays, 0.95),
        max_s: delays.last().copied().unwrap_or(0.0),
        get_order_calls: get,
        search_orders_calls: search,
        calls_per_100_orders: (get + search) as f64 * 100.0 / created.len().max(1) as f64,
        throttled,
        notifications_produced: stats.produced,
        notifications_lost: stats.lost,
        notifications_duplicated: stats.duplicated,
        coalesced_pulls,
        wall_s: wall.elapsed().as_secs_f64(),
    };
    sim.shutdown().await?;
    Ok(report)
}

/// A Markdown row of a report.
pub fn row(r: &Report) -> String {
    format!(
        "| {} | {} | {}{} | {:.0} s | {:.0} s | {:.0} s | {:.1} ({} getOrder, {} searchOrders) | {} | {} |",
        r.scenario.name,
        r.orders,
        r.delivered,
        if r.sent_twice == 0 {
            ", each once"
        } else {
            ", SOME TWICE"
        },
        r.p50_s,
        r.p95_s,
        r.max_s,
        r.calls_per_100_orders,
        r.get_order_calls,
        r.search_orders_calls,
        r.throttled,
        r.coalesced_pulls,
    )
}

/// The table's header.
pub const HEADER: &str = "| scenario | orders | at the WMS | p50 | p95 | max | SP-API calls per 100 orders | 429s | coalesced pulls |\n|---|---:|---|---:|---:|---:|---|---:|---:|";
