//! The soak's local AWS and Amazon: moto with the template's resources, the
//! simulator, and each function as a pool of Lambda containers (its real
//! bootstrap run by lambda-emu). Every container has its own two taps, one
//! in front of moto and one in front of the simulator, so a fault or a kill
//! armed for one invocation can only hit that invocation; the taps of one
//! function share its [`AwsMeter`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use devstack::{MotoServer, Provisioned, Template};
use lambda_emu::tap::{TapConfig, TapFault};
use lambda_emu::{
    Binaries, BuildProfile, Function, Invocation, InvokeOptions, Kill, LocalOverrides, Matcher,
    Moment, Outcome, Tap,
};
use serde_json::Value;
use spapi_sim::{SimConfig, SimHandle};
use store::Store;
use tokio::sync::Semaphore;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::SoakError;
use crate::meter::{AwsCounts, AwsMeter};
use crate::plan::{PREFIX, Plan};

/// The `X-Amz-Target` prefix of DynamoDB's API.
const DYNAMODB: &str = "DynamoDB_";

/// The LWA application the soak's simulator knows.
pub const CLIENT_ID: &str = "amzn1.application-oa2-client.soak";
pub const CLIENT_SECRET: &str = "soak-client-secret";

/// The functions the soak runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    OrderPull,
    ShipmentConfirm,
    Labels,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::OrderPull, Kind::ShipmentConfirm, Kind::Labels];

    pub fn logical_id(self) -> &'static str {
        match self {
            Kind::OrderPull => "OrderPullFunction",
            Kind::ShipmentConfirm => "ShipmentConfirmFunction",
            Kind::Labels => "LabelsFunction",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::OrderPull => "order-pull",
            Kind::ShipmentConfirm => "shipment-confirm",
            Kind::Labels => "labels",
        }
    }
}

/// The local stack of one soak.
pub struct Rig {
    /// Kept for their lifetime (the servers die with them): DynamoDB's,
    /// then SQS's and Secrets Manager's.
    _motos: [MotoServer; 2],
    /// The router every client of the harness goes through.
    _router: Tap,
    /// `http://127.0.0.1:PORT` of the router (the harness's AWS endpoint).
    pub endpoint: String,
    dynamodb_endpoint: String,
    other_endpoint: String,
    pub sdk: SdkConfig,
    pub template: Template,
    pub resources: Provisioned,
    pub stage: String,
    pub sim: SimHandle,
    pub bins: Binaries,
    pub speed: f64,
    pub store: Store,
    /// The order pull's `ORDER_PULL_CLAIM_STALE_SECONDS` (`None`: its 600 s).
    pub claim_stale_after: Option<Duration>,
}

impl Rig {
    /// Builds the functions (`profile`), starts moto and the simulator and
    /// creates the template's resources for `stage`.
    pub async fn start(profile: BuildProfile, speed: f64, stage: &str) -> Result<Self, SoakError> {
        let bins = tokio::task::spawn_blocking(move || {
            Binaries::build(
                profile,
                &["order-pull", "shipment-confirm", "labels"],
                None,
                &[],
            )
        })
        .await
        .map_err(|e| SoakError::Setup(format!("the build thread: {e}")))??;
        // Two moto servers, each answering one request at a time: DynamoDB
        // on one, SQS and Secrets Manager on the other (moto is the soak's
        // bottleneck; two processes share the two cores). Every client goes
        // through a router (the harness) or a tap (the functions) that
        // sends each call to its server.
        let root = devstack::workspace_root();
        let command = devstack::default_moto_command(&root);
        let dynamodb = MotoServer::start(&command)?;
        let other = MotoServer::start(&command)?;
        let dynamodb_endpoint = dynamodb.endpoint();
        let other_endpoint = other.endpoint();
        let router = Tap::start_with(
            &other_endpoint,
            TapConfig {
                forget_calls: true,
                routes: vec![(DYNAMODB.to_string(), dynamodb_endpoint.clone())],
                ..TapConfig::default()
            },
        )
        .await?;
        let endpoint = router.url();
        let sdk = devstack::local_sdk_config(&endpoint).await;
        let template = Template::load(&devstack::template_path())?;
        let resources = devstack::provision(&sdk, &template, stage, &BTreeMap::new()).await?;
        let sim = spapi_sim::start(SimConfig { speed, port: 0 }).await?;
        sim.control().register_app(CLIENT_ID, CLIENT_SECRET);
        devstack::demo::set_app_secret(&sdk, &resources, CLIENT_ID, CLIENT_SECRET).await?;
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            resources.table("StateTable")?,
        );
        Ok(Self {
            _motos: [dynamodb, other],
            _router: router,
            endpoint,
            dynamodb_endpoint,
            other_endpoint,
            sdk,
            template,
            resources,
            stage: stage.to_string(),
            sim,
            bins,
            speed,
            store,
            claim_stale_after: None,
        })
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn queue_url(&self, logical_id: &str) -> Result<String, SoakError> {
        Ok(self.resources.queue(logical_id)?.url.clone())
    }

    /// Registers the plan's sellers in the simulator and onboards them as
    /// the operator CLI does (settings in the table, refresh token in its
    /// own secret).
    pub async fn onboard(&self, plan: &Plan) -> Result<(), SoakError> {
        for s in &plan.sellers {
            self.sim.control().add_seller(spapi_sim::SellerSpec {
                seller_id: s.seller_id.clone(),
                refresh_token: s.refresh_token.clone(),
                marketplace_ids: vec![s.marketplace.to_string()],
                pii: true,
                store_name: None,
                dormant_marketplace_ids: Vec::new(),
                non_amazon_channel: false,
                supply_source_ids: Vec::new(),
            })?;
            let mut settings = devstack::demo::demo_settings()?;
            settings.seller_id = domain::SellerId::new(&s.seller_id)?;
            settings.client_code = domain::ClientCode::new(&s.client_code)?;
            settings.marketplaces = vec![domain::MarketplaceId::new(s.marketplace)?];
            settings.order_prefix = PREFIX.to_string();
            devstack::demo::onboard(
                &self.sdk,
                &self.store,
                &self.stage,
                settings,
                &s.refresh_token,
            )
            .await?;
        }
        Ok(())
    }

    /// A pool of `containers` containers of `kind`.
    pub async fn pool(&self, kind: Kind, containers: usize) -> Result<Pool, SoakError> {
        let meter = Arc::new(AwsMeter::default());
        let binary = self
            .bins
            .get(&lambda_emu::env::binary_name(
                &self.template,
                kind.logical_id(),
            )?)?
            .to_path_buf();
        let mut list = Vec::new();
        for _ in 0..containers.max(1) {
            let aws = Tap::start_with(
                &self.other_endpoint,
                TapConfig {
                    forget_calls: true,
                    meter: Some(meter.clone()),
                    dynamodb_item_images: true,
                    routes: vec![(DYNAMODB.to_string(), self.dynamodb_endpoint.clone())],
                },
            )
            .await?;
            let sp = Tap::start_with(
                &self.sim.base_url(),
                TapConfig {
                    forget_calls: true,
                    ..TapConfig::default()
                },
            )
            .await?;
            let mut overrides = LocalOverrides::default().aws_endpoint(&aws.url()).spapi(
                &sp.url(),
                &format!("{}/auth/o2/token", sp.url()),
                self.speed,
            );
            if let (Kind::OrderPull, Some(stale)) = (kind, self.claim_stale_after) {
                overrides = overrides.var(
                    "ORDER_PULL_CLAIM_STALE_SECONDS",
                    &stale.as_secs().max(1).to_string(),
                );
            }
            let spec = lambda_emu::env::function_spec(
                &self.template,
                &self.resources,
                kind.logical_id(),
                binary.clone(),
                &overrides,
            )?;
            list.push(Arc::new(Container {
                function: Function::new(spec),
                aws,
                sp,
            }));
        }
        Ok(Pool {
            kind,
            free: Mutex::new((0..list.len()).collect()),
            permits: Semaphore::new(list.len()),
            containers: list,
            meter,
            stats: Mutex::new(Stats::default()),
        })
    }
}

/// One container: the function (one process at a time) and its taps.
pub struct Container {
    pub function: Function,
    /// In front of moto.
    pub aws: Tap,
    /// In front of the simulator (SP-API and LWA).
    pub sp: Tap,
}

/// Which tap a chaos rule is armed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Aws,
    Amazon,
}

/// A fault for one invocation (armed on its container's taps before the
/// event is delivered, disarmed after).
#[derive(Clone, Debug)]
pub enum Chaos {
    /// SIGKILL when the `skip + 1`-th matching call is made (`Before`: the
    /// service never gets it) or answered (`After`: the service acted).
    Kill {
        label: &'static str,
        side: Side,
        matcher: Matcher,
        moment: Moment,
        skip: usize,
        /// This invocation's timeout instead of the template's (the leases
        /// a killed run leaves last until its deadline).
        timeout: Option<Duration>,
    },
    /// The matching call hangs; the invocation runs into `timeout` (its
    /// deadline is that too) and Lambda kills it ("Task timed out").
    Timeout {
        label: &'static str,
        side: Side,
        matcher: Matcher,
        skip: usize,
        timeout: Duration,
    },
    /// Error answers from AWS for the matching calls (the SDK's own
    /// retries see them first).
    AwsErrors {
        label: &'static str,
        matcher: Matcher,
        fault: TapFault,
        skip: usize,
        times: usize,
    },
}

impl Chaos {
    pub fn label(&self) -> &'static str {
        match self {
            Chaos::Kill { label, .. }
            | Chaos::Timeout { label, .. }
            | Chaos::AwsErrors { label, .. } => label,
        }
    }
}

/// What one function's invocations did.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub invocations: u64,
    pub cold_starts: u64,
    /// Sum of invocation durations, each rounded up to the millisecond (as
    /// Lambda bills), init included for cold starts.
    pub billed_ms: u64,
    pub init_ms: u64,
    /// By outcome: response, error (by errorType), timed out, killed, crashed, init failed.
    pub outcomes: BTreeMap<String, u64>,
    /// Chaos applied: label → (armed, took effect).
    pub chaos: BTreeMap<&'static str, (u64, u64)>,
}

/// A function's containers, one invocation per container at a time.
pub struct Pool {
    pub kind: Kind,
    containers: Vec<Arc<Container>>,
    free: Mutex<Vec<usize>>,
    permits: Semaphore,
    pub meter: Arc<AwsMeter>,
    stats: Mutex<Stats>,
}

impl Pool {
    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn counts(&self) -> AwsCounts {
        self.meter.counts()
    }

    pub fn size(&self) -> usize {
        self.containers.len()
    }

    /// The largest peak RSS of any of the pool's processes (KiB).
    pub fn peak_rss_kib(&self) -> u64 {
        self.containers
            .iter()
            .map(|c| c.function.max_peak_rss_kib())
            .max()
            .unwrap_or(0)
    }

    /// Every line the pool's processes wrote.
    pub fn log_lines(&self) -> Vec<String> {
        self.containers
            .iter()
            .flat_map(|c| c.function.logs().into_iter().map(|l| l.text))
            .collect()
    }

    /// Injected faults the taps answered (AWS side).
    pub fn injected(&self) -> u64 {
        self.containers.iter().map(|c| c.aws.injected()).sum()
    }

    /// Stops every container (end of the run).
    pub async fn stop(&self) {
        for c in &self.containers {
            c.function.stop().await;
        }
    }

    /// Invokes a free container with `event`, `chaos` armed for it; says
    /// whether the chaos happened (a kill or timeout did, an error was
    /// injected).
    pub async fn invoke(
        &self,
        event: &Value,
        chaos: Option<Chaos>,
    ) -> Result<(Invocation, Option<(&'static str, bool)>), SoakError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| SoakError::Setup(e.to_string()))?;
        let index = self
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .ok_or_else(|| SoakError::Setup("no free container under a permit".into()))?;
        let container = self.containers[index].clone();
        let mut options = InvokeOptions::default();
        let label = chaos.as_ref().map(Chaos::label);
        let errors_only = matches!(chaos, Some(Chaos::AwsErrors { .. }));
        let injected_before = container.aws.injected();
        let tap = |side: Side| match side {
            Side::Aws => &container.aws,
            Side::Amazon => &container.sp,
        };
        match chaos {
            Some(Chaos::Kill {
                side,
                matcher,
                moment,
                skip,
                timeout,
                ..
            }) => {
                options.kill = Some(Kill::when(tap(side).arm(matcher, moment, skip)));
                options.timeout = timeout;
            }
            Some(Chaos::Timeout {
                side,
                matcher,
                skip,
                timeout,
                ..
            }) => {
                tap(side).inject(matcher, TapFault::Hang, skip, 1);
                options.timeout = Some(timeout);
            }
            Some(Chaos::AwsErrors {
                matcher,
                fault,
                skip,
                times,
                ..
            }) => container.aws.inject(matcher, fault, skip, times),
            None => {}
        }
        let result = container.function.invoke_with(event, options).await;
        let injected = container.aws.injected() > injected_before;
        container.aws.disarm();
        container.sp.disarm();
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(index);
        let inv = result?;
        let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        s.invocations += 1;
        let init = inv.init_duration.unwrap_or_default();
        s.cold_starts += u64::from(inv.cold_start);
        s.init_ms += init.as_millis() as u64;
        s.billed_ms += (inv.duration + init).as_micros().div_ceil(1000) as u64;
        let outcome = match &inv.outcome {
            Outcome::Response(_) => "response".to_string(),
            Outcome::Error(e) => format!("error {}", e.error_type),
            Outcome::TimedOut(_) => "timed out".to_string(),
            Outcome::Killed => "killed".to_string(),
            Outcome::Crashed(why) => format!("crashed ({why})"),
            Outcome::InitFailed(_) => "init failed".to_string(),
        };
        *s.outcomes.entry(outcome).or_default() += 1;
        let happened = label.map(|label| {
            let hit = if errors_only {
                injected
            } else {
                matches!(inv.outcome, Outcome::Killed | Outcome::TimedOut(_))
            };
            let e = s.chaos.entry(label).or_default();
            e.0 += 1;
            e.1 += u64::from(hit);
            (label, hit)
        });
        Ok((inv, happened))
    }
}

/// Messages in a queue: visible, in flight and delayed.
pub async fn queue_depth(rig: &Rig, logical_id: &str) -> Result<u64, SoakError> {
    let attrs = rig
        .sqs()
        .get_queue_attributes()
        .queue_url(rig.queue_url(logical_id)?)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| SoakError::Aws(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?
        .attributes
        .unwrap_or_default();
    Ok([
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .filter_map(|a| attrs.get(a))
    .filter_map(|v| v.parse::<u64>().ok())
    .sum())
}
