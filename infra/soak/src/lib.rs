//! The fault soak (issue 16): the functions' real bootstraps, run by
//! lambda-emu as Lambda runs them, for a fixed simulated period — a number
//! of 15-minute schedule ticks, compressed — with many sellers and orders,
//! while Amazon and AWS misbehave and processes are killed and timed out;
//! then everything the WMS and Amazon got is checked against the plan.
//!
//! - [`plan`]: sellers, orders and each order's fate, from a seed;
//! - [`rig`]: moto, the simulator, the function pools and their taps;
//! - [`source`]: Lambda's SQS event sources and scheduled invocations;
//! - [`wms`]: the warehouse (reads orders, ships, buys labels);
//! - [`chaos`]: the faults, tick by tick;
//! - [`meter`]: calls and DynamoDB units counted at the taps;
//! - [`check`]: what must hold at the end, and the report;
//! - [`fanout`]: one schedule tick for many sellers;
//! - [`cost`]: the run's counts priced.
//!
//! Bench and test infrastructure only: production crates never depend on it.

pub mod chaos;
pub mod check;
pub mod cost;
pub mod fanout;
pub mod meter;
pub mod plan;
mod pricing;
pub mod rig;
pub mod source;
pub mod wms;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use domain::settings::OrderStatus;
use lambda_emu::BuildProfile;
use spapi_sim::{CancelSpec, ItemSpec, OrderSpec};

use chaos::{AmazonFault, ChaosPlan, Intensity};
pub use check::Report;
use plan::{Fate, Plan};
use rig::{Kind, Rig};
use source::Source;
use wms::Wms;

#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error("setting up the soak: {0}")]
    Setup(String),
    #[error("AWS (moto): {0}")]
    Aws(String),
    #[error(transparent)]
    Emu(#[from] lambda_emu::EmuError),
    #[error(transparent)]
    Devstack(#[from] devstack::DevstackError),
    #[error("simulator: {0}")]
    Sim(#[from] spapi_sim::SimError),
    #[error(transparent)]
    Domain(#[from] domain::DomainError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// How big, how long and how hostile a soak is.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    pub sellers: u32,
    pub orders: u32,
    /// Schedule ticks of the active period (each one a scheduled order-pull
    /// run, 15 minutes of Amazon's time).
    pub ticks: u32,
    /// Orders reach Amazon during the first `seed_ticks` ticks.
    pub seed_ticks: u32,
    /// Wall time of one tick (one scheduled run: 15 minutes of Amazon's
    /// time). The functions run on the wall clock, so the order pull's
    /// 5-minute overlap spans 300 s / tick runs here (one in production):
    /// shorter ticks re-read each order more often.
    pub tick: Duration,
    /// The simulator's and the functions' time compression (quotas, token
    /// lifetimes, retry waits): 900 s / `tick` keeps them in step with the
    /// schedule.
    pub speed: f64,
    pub profile: BuildProfile,
    /// Containers per function: order-pull jobs, shipment confirmation, labels.
    pub job_containers: usize,
    pub shipment_containers: usize,
    pub label_containers: usize,
    pub intensity: Intensity,
    /// After the active period, ticks go on until everything settled, at
    /// most this long.
    pub drain_limit: Duration,
    /// A failed SQS record is delivered again after this (the queues'
    /// visibility timeouts, compressed); shipment messages after
    /// `shipment_redelivery`, which must outlast a killed run's leases
    /// often enough for the queue's 10 receives (production: 1,080 s of
    /// visibility against leases of at most 210 s).
    pub redelivery: Duration,
    pub shipment_redelivery: Duration,
    /// A shipment run that is killed runs with this timeout (its claims'
    /// leases end 30 s after its deadline); `None`: the template's 180 s.
    pub shipment_kill_timeout: Option<Duration>,
    /// A `SENDING` claim of the order pull is taken over after this (its
    /// `ORDER_PULL_CLAIM_STALE_SECONDS`; production: 600 s). Shortened with
    /// the compressed schedule, so an order whose run was killed between
    /// the WMS send and the ledger's mark is taken over (and its
    /// cancellations reported) within the run; longer than any live run
    /// holds a claim here.
    pub claim_stale_after: Option<Duration>,
    pub seed: u64,
    /// Sellers in the fan-out measurement (0: not measured).
    pub fanout_sellers: u32,
    /// Where to write every function's log lines (one file per function).
    pub log_dir: Option<std::path::PathBuf>,
}

impl SoakConfig {
    /// The bench: 20 sellers, 10,000 orders, 24 scheduled runs (6 hours of
    /// Amazon's time) of a minute each, release binaries.
    pub fn full() -> Self {
        Self {
            sellers: 20,
            orders: 10_000,
            ticks: 24,
            seed_ticks: 16,
            tick: Duration::from_secs(60),
            speed: 15.0,
            profile: BuildProfile::Release,
            job_containers: 3,
            shipment_containers: 2,
            label_containers: 3,
            intensity: Intensity::Full,
            drain_limit: Duration::from_secs(900),
            redelivery: Duration::from_secs(20),
            shipment_redelivery: Duration::from_secs(45),
            shipment_kill_timeout: None,
            claim_stale_after: Some(Duration::from_secs(120)),
            seed: 16,
            fanout_sellers: 1000,
            log_dir: None,
        }
    }

    /// CI: the same soak with 1,000 orders over 5 sellers, 6 scheduled
    /// runs of 20 s, debug binaries, every kind of fault once.
    pub fn ci() -> Self {
        Self {
            sellers: 5,
            orders: 1000,
            ticks: 6,
            seed_ticks: 4,
            tick: Duration::from_secs(20),
            speed: 45.0,
            profile: BuildProfile::Debug,
            job_containers: 2,
            shipment_containers: 2,
            label_containers: 2,
            intensity: Intensity::Short,
            drain_limit: Duration::from_secs(240),
            redelivery: Duration::from_secs(8),
            shipment_redelivery: Duration::from_secs(15),
            shipment_kill_timeout: Some(Duration::from_secs(25)),
            claim_stale_after: Some(Duration::from_secs(30)),
            seed: 16,
            fanout_sellers: 0,
            log_dir: None,
        }
    }

    /// Amazon's time the active period stands for (one tick = one
    /// 15-minute schedule run).
    pub fn simulated_hours(&self) -> f64 {
        f64::from(self.ticks) * 0.25
    }
}

/// Runs the soak and checks it; the report says what held and what did not.
pub async fn run(config: &SoakConfig) -> Result<Report, SoakError> {
    let started = Instant::now();
    let mut rig = Rig::start(config.profile, config.speed, "soak").await?;
    rig.claim_stale_after = config.claim_stale_after;
    let setup = started.elapsed();
    let plan = Arc::new(Plan::new(
        config.sellers,
        config.orders,
        config.seed_ticks,
        config.seed,
    ));
    rig.onboard(&plan).await?;
    let pull = Arc::new(rig.pool(Kind::OrderPull, config.job_containers + 1).await?);
    let ship = Arc::new(
        rig.pool(Kind::ShipmentConfirm, config.shipment_containers)
            .await?,
    );
    let labels = Arc::new(rig.pool(Kind::Labels, config.label_containers).await?);
    let chaos = Arc::new(ChaosPlan::default());
    let uk = plan.sellers.iter().position(|s| s.buys_labels());
    let schedule = chaos::schedule(
        &chaos,
        config.intensity,
        config.seed_ticks,
        uk,
        config.shipment_kill_timeout,
    );
    let sqs = rig.sqs();
    let wms = Arc::new(Wms::new(
        plan.clone(),
        sqs.clone(),
        rig.queue_url("WmsOrderQueue")?,
        rig.queue_url("ShipmentQueue")?,
    ));

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let jobs = Source::from_template(&rig, "OrderPullFunction", "Jobs", "jobs", config.redelivery)?;
    let shipments = Source::from_template(
        &rig,
        "ShipmentConfirmFunction",
        "Shipments",
        "shipments",
        config.shipment_redelivery,
    )?;
    let feed_jobs = Source::from_template(
        &rig,
        "ShipmentConfirmFunction",
        "FeedJobs",
        "feed-jobs",
        config.shipment_redelivery,
    )?;
    for _ in 0..config.job_containers {
        tasks.push(tokio::spawn(source::poll(
            pull.clone(),
            sqs.clone(),
            jobs.clone(),
            chaos.clone(),
            stop.clone(),
        )));
    }
    for _ in 0..config.shipment_containers.max(1) {
        tasks.push(tokio::spawn(source::poll(
            ship.clone(),
            sqs.clone(),
            shipments.clone(),
            chaos.clone(),
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(source::poll(
        ship.clone(),
        sqs.clone(),
        feed_jobs.clone(),
        chaos.clone(),
        stop.clone(),
    )));
    tasks.push(tokio::spawn(wms.clone().consume(stop.clone())));

    let schedule_event =
        lambda_emu::events::schedule(&rig.template, "OrderPullFunction", "Every15Minutes")?;
    let schedule_dlq = rig.queue_url("OrderPullScheduleDeadLetterQueue")?;
    let control = rig.sim.control().clone();
    let mut applied_faults = Vec::new();
    let active_started = Instant::now();
    let mut drain_started = None;
    let mut tick = 0u32;
    let mut ticks_run = 0;
    loop {
        let tick_started = Instant::now();
        chaos.set_tick(tick);
        wms.set_tick(tick);
        // Amazon: new orders (created 150 s ago: past the two-minute rule
        // and inside the next pull's window), Pending ones released or
        // cancelled two ticks later, cancellations of orders the WMS has.
        let now = control.now();
        for o in plan.orders.iter().filter(|o| o.seed_tick == tick) {
            let seller = &plan.sellers[o.seller];
            let mut items = vec![ItemSpec::new(
                &o.skus()[0].0,
                1,
                "12.50",
                currency(seller.marketplace),
            )];
            if o.fate.two_lines() {
                items.push(ItemSpec::new(
                    &o.skus()[1].0,
                    2,
                    "3.99",
                    currency(seller.marketplace),
                ));
            }
            let spec = OrderSpec {
                order_id: Some(o.amazon_order_id.clone()),
                marketplace_id: seller.marketplace.to_string(),
                created: Some(now - TimeDelta::seconds(150)),
                status: o.fate.pending_first().then_some(OrderStatus::Pending),
                buyer: Some(spapi_sim::BuyerSpec {
                    name: Some(format!("Soak Buyer {}", o.amazon_order_id)),
                    email: Some("soak-buyer@marketplace.amazon.de".into()),
                    ..Default::default()
                }),
                recipient: Some(spapi_sim::AddressSpec {
                    name: Some("Soak Buyer".into()),
                    address_line1: Some("1 Soak Street".into()),
                    city: Some("Berlin".into()),
                    postal_code: Some("10115".into()),
                    country_code: Some(
                        if seller.marketplace == plan::UK {
                            "GB"
                        } else {
                            "DE"
                        }
                        .into(),
                    ),
                    ..Default::default()
                }),
                items,
                ..OrderSpec::default()
            };
            control.seed_order(&seller.seller_id, spec)?;
        }
        for o in plan
            .orders
            .iter()
            .filter(|o| o.fate.pending_first() && o.seed_tick + 2 == tick)
        {
            let seller = &plan.sellers[o.seller].seller_id;
            match o.fate {
                Fate::PendingThenShip => {
                    control.set_status(seller, &o.amazon_order_id, OrderStatus::Unshipped)?
                }
                _ => control.cancel(seller, &o.amazon_order_id, CancelSpec::default())?,
            }
        }
        for index in wms.take_cancels(tick) {
            let o = &plan.orders[index];
            let seller = &plan.sellers[o.seller].seller_id;
            let spec = match o.fate {
                Fate::LineCancelAfterSent => CancelSpec {
                    skus: vec![o.skus()[1].0.clone()],
                    reason: Some("NoInventory".into()),
                    ..CancelSpec::default()
                },
                _ => CancelSpec {
                    reason: Some("BuyerCanceled".into()),
                    ..CancelSpec::default()
                },
            };
            control.cancel(seller, &o.amazon_order_id, spec)?;
        }
        for (_, fault) in schedule.amazon.iter().filter(|(t, _)| *t == tick) {
            match fault {
                AmazonFault::Storm(op, n) => control.storm(*op, *n),
                AmazonFault::Inject(target, f) => control.inject_fault(*target, f.clone())?,
                AmazonFault::LosePurchaseAnswer(s) => {
                    control.lose_purchase_answers(&plan.sellers[*s].seller_id, 1)
                }
            }
            applied_faults.push((tick, fault.label()));
        }
        wms.run_due(tick, &labels, &chaos, config.label_containers)
            .await?;
        source::scheduled(&pull, &schedule_event, &chaos, &sqs, &schedule_dlq).await?;
        ticks_run += 1;
        if tick < config.ticks {
            let received = wms
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .created
                .len();
            eprintln!(
                "soak: tick {}/{} done at {:.0} s, the WMS has {received} orders",
                tick + 1,
                config.ticks,
                started.elapsed().as_secs_f64()
            );
        }
        tick += 1;
        if tick >= config.ticks {
            let drain = *drain_started.get_or_insert_with(Instant::now);
            match unsettled(&rig, &plan, &wms).await? {
                None => break,
                Some(waiting) => {
                    if drain.elapsed() > config.drain_limit {
                        eprintln!("soak: drain limit reached, still waiting for {waiting}");
                        break;
                    }
                    eprintln!(
                        "soak: tick {tick}, {:.0} s into the drain: waiting for {waiting}",
                        drain.elapsed().as_secs_f64()
                    );
                }
            }
        }
        if let Some(rest) = config.tick.checked_sub(tick_started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    let active = drain_started
        .map(|d| d.duration_since(active_started))
        .unwrap_or_else(|| active_started.elapsed());
    let drain = drain_started.map(|d| d.elapsed()).unwrap_or_default();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await
            .map_err(|e| SoakError::Setup(format!("a poller panicked: {e}")))??;
    }
    let finished = started.elapsed();
    for p in [&pull, &ship, &labels] {
        p.stop().await;
        if let Some(dir) = &config.log_dir {
            std::fs::create_dir_all(dir)
                .and_then(|_| {
                    std::fs::write(
                        dir.join(format!("{}.log", p.kind.name())),
                        p.log_lines().join("\n"),
                    )
                })
                .map_err(|e| SoakError::Setup(format!("writing the logs: {e}")))?;
        }
    }
    let mut report = check::check(
        &rig,
        &plan,
        &wms,
        [&pull, &ship, &labels],
        &chaos,
        applied_faults,
        config,
    )
    .await?;
    report.timing = check::Timing {
        setup,
        active,
        drain,
        ticks: ticks_run,
        total: finished,
    };
    drop(rig);
    if config.fanout_sellers > 0 {
        report.fanout = Some(fanout::measure(config.profile, config.fanout_sellers).await?);
    }
    report.cost = Some(cost::Cost::from_report(&report));
    report.wall = started.elapsed();
    Ok(report)
}

fn currency(marketplace: &str) -> &'static str {
    if marketplace == plan::UK {
        "GBP"
    } else {
        "EUR"
    }
}

/// What the plan says must still happen (`None`: everything settled):
/// every eligible order and cancellation reached the WMS, the WMS has
/// nothing left to ship or buy, and no shipment message or feed job waits.
async fn unsettled(rig: &Rig, plan: &Plan, wms: &Wms) -> Result<Option<String>, SoakError> {
    let mut waiting = Vec::new();
    {
        let s = wms.state.lock().unwrap_or_else(|p| p.into_inner());
        let created = plan
            .orders
            .iter()
            .enumerate()
            .filter(|(i, o)| o.fate.eligible() && s.created.contains_key(i))
            .count();
        let cancels = plan
            .orders
            .iter()
            .enumerate()
            .filter(|(i, o)| o.fate.cancellations() > 0 && s.cancelled.contains_key(i))
            .count();
        let want_cancels = plan
            .orders
            .iter()
            .filter(|o| o.fate.cancellations() > 0)
            .count();
        let eligible = plan.eligible().count();
        if created < eligible {
            waiting.push(format!("{} orders", eligible - created));
        }
        if cancels < want_cancels {
            waiting.push(format!("{} cancellations", want_cancels - cancels));
        }
    }
    let pending = wms.pending();
    if pending > 0 {
        waiting.push(format!(
            "{pending} WMS shipments, labels or Amazon cancellations"
        ));
    }
    for q in ["ShipmentQueue", "ShipmentFeedJobQueue"] {
        let depth = rig::queue_depth(rig, q).await?;
        if depth > 0 {
            waiting.push(format!("{depth} messages in {q}"));
        }
    }
    Ok((!waiting.is_empty()).then(|| waiting.join(", ")))
}
