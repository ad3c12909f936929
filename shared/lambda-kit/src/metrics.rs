//! The connector's metrics in CloudWatch Embedded Metric Format (EMF): the
//! catalogue of ARCHITECTURE.md ("Metrics"), counted during an invocation
//! and written at its end as JSON lines that CloudWatch Logs turns into
//! metrics — no API call, no permission beyond the log group.
//!
//! - [`Metrics`] is built once per container (in `main`, with the `STAGE`
//!   variable and [`StdoutSink`]) and cloned into whatever counts; tests give
//!   it a [`MemorySink`].
//! - Counts accumulate in memory; [`Metrics::flush`] writes one EMF document
//!   per distinct combination of dimension values (e.g. one per seller and
//!   job, one per SP-API operation) and starts again from zero. Each
//!   function's handler holds a [`FlushGuard`], so the metrics of an
//!   invocation are written when it ends — also when it fails or panics.
//!   (An invocation Lambda kills at its timeout writes nothing: no code runs
//!   then; the deadline margin exists so that does not happen.)
//! - A counter that stayed 0 is not written: CloudWatch bills a custom metric
//!   for each hour it receives data, so quiet per-seller series cost nothing.
//! - Dimensions are few and bounded: `Stage`, `Job`, `Operation` (the SP-API
//!   operation's name) and `Seller` (an onboarded seller's id) — never an
//!   order id, a SKU or buyer data.
//! - [`Metrics`] is also the SP-API client's [`CallObserver`]: requests,
//!   429s, retries and final errors per operation, and LWA `invalid_grant`
//!   per seller.
//!
//! The document, per the EMF specification: dimension values and metric
//! values are members of the root object, `_aws` says which is which:
//!
//! ```json
//! {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"WmsAmazonConnector",
//!   "Dimensions":[["Stage","Job"],["Stage","Job","Seller"]],
//!   "Metrics":[{"Name":"OrdersSeen","Unit":"Count"},{"Name":"OrdersSent","Unit":"Count"}]}]},
//!  "Stage":"prod","Job":"order-pull","Seller":"A1EXAMPLE","OrdersSeen":12,"OrdersSent":10}
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use domain::{Operation, SellerId};
use serde_json::{Map, Value, json};
use spapi::{CallEvent, CallObserver};

use crate::ConfigError;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "WmsAmazonConnector";

/// The environment variable naming the deployment's stage (template.yaml:
/// `STAGE: !Ref Stage`), the `Stage` dimension of every metric.
pub const STAGE_VAR: &str = "STAGE";

/// `STAGE` from environment-like lookups: required, ASCII, no spaces (an
/// EMF dimension value).
pub fn stage_from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let stage = get(STAGE_VAR).ok_or_else(|| ConfigError::Missing(STAGE_VAR.to_string()))?;
    let ok = !stage.is_empty() && stage.len() <= 255 && stage.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(stage)
    } else {
        Err(ConfigError::Invalid {
            name: STAGE_VAR.into(),
            message: "must be the template's Stage: 1 to 255 printable ASCII characters".into(),
        })
    }
}

/// The jobs (the `Job` dimension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Job {
    OrderPull,
    ShipmentConfirm,
    InventoryPush,
    Labels,
    Notifications,
}

impl Job {
    pub const ALL: [Job; 5] = [
        Job::OrderPull,
        Job::ShipmentConfirm,
        Job::InventoryPush,
        Job::Labels,
        Job::Notifications,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Job::OrderPull => "order-pull",
            Job::ShipmentConfirm => "shipment-confirm",
            Job::InventoryPush => "inventory-push",
            Job::Labels => "labels",
            Job::Notifications => "notifications",
        }
    }
}

/// The job counters (unit Count; dimension sets `[Stage, Job]` and, when
/// the seller is known, `[Stage, Job, Seller]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    /// order-pull: orders Amazon listed in the pulled windows.
    OrdersSeen,
    /// order-pull: `order.created` messages sent to the WMS.
    OrdersSent,
    /// order-pull: `order.cancelled` messages sent to the WMS.
    CancellationsSent,
    /// order-pull: orders not sent yet (Pending, or data Amazon did not give).
    OrdersHeld,
    /// order-pull: pull jobs that finished their window.
    OrderPullRuns,
    /// shipment-confirm: packages Amazon has confirmed (`confirmShipment`,
    /// found on the order, or accepted in a feed's report).
    ConfirmationsAccepted,
    /// shipment-confirm: packages Amazon refused (`confirmShipment` or a
    /// feed's report).
    ConfirmationsRejected,
    /// shipment-confirm, inventory-push: feeds submitted.
    FeedsSubmitted,
    /// shipment-confirm, inventory-push: feeds that failed as a whole
    /// (FATAL, CANCELLED, feed-level errors, no usable report).
    FeedErrors,
    /// shipment-confirm, inventory-push: feeds Amazon has not finished in time.
    FeedsStuck,
    /// inventory-push: SKU quantities Amazon accepted.
    SkusPushed,
    /// inventory-push: SKU quantities Amazon rejected.
    SkusRejected,
    /// labels: labels bought from Amazon.
    LabelsBought,
    /// labels: purchases answered from the store (same idempotency key).
    LabelsReplayed,
    /// labels: purchase requests (purchase, one-click) that failed.
    LabelsFailed,
    /// any job: records our code sent to a dead-letter queue.
    DeadLettered,
    /// shipment-confirm: a package of an order that had to ship on a Buy
    /// Shipping label (e.g. Seller Fulfilled Prime) confirmed with another
    /// carrier's label (sent to Amazon anyway, with a WARN).
    BuyShippingBypassed,
}

impl Counter {
    pub const ALL: [Counter; 17] = [
        Counter::OrdersSeen,
        Counter::OrdersSent,
        Counter::CancellationsSent,
        Counter::OrdersHeld,
        Counter::OrderPullRuns,
        Counter::ConfirmationsAccepted,
        Counter::ConfirmationsRejected,
        Counter::FeedsSubmitted,
        Counter::FeedErrors,
        Counter::FeedsStuck,
        Counter::SkusPushed,
        Counter::SkusRejected,
        Counter::LabelsBought,
        Counter::LabelsReplayed,
        Counter::LabelsFailed,
        Counter::DeadLettered,
        Counter::BuyShippingBypassed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Counter::OrdersSeen => "OrdersSeen",
            Counter::OrdersSent => "OrdersSent",
            Counter::CancellationsSent => "CancellationsSent",
            Counter::OrdersHeld => "OrdersHeld",
            Counter::OrderPullRuns => "OrderPullRuns",
            Counter::ConfirmationsAccepted => "ConfirmationsAccepted",
            Counter::ConfirmationsRejected => "ConfirmationsRejected",
            Counter::FeedsSubmitted => "FeedsSubmitted",
            Counter::FeedErrors => "FeedErrors",
            Counter::FeedsStuck => "FeedsStuck",
            Counter::SkusPushed => "SkusPushed",
            Counter::SkusRejected => "SkusRejected",
            Counter::LabelsBought => "LabelsBought",
            Counter::LabelsReplayed => "LabelsReplayed",
            Counter::LabelsFailed => "LabelsFailed",
            Counter::DeadLettered => "DeadLettered",
            Counter::BuyShippingBypassed => "BuyShippingBypassed",
        }
    }
}

/// The SP-API counters (unit Count; dimension sets `[Stage]` and
/// `[Stage, Operation]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpApiCounter {
    /// Requests sent (each attempt).
    Calls,
    /// 429 answers.
    Throttled,
    /// Requests sent again.
    Retries,
    /// Calls that finally failed (a deferral to a later invocation is not one).
    Errors,
}

impl SpApiCounter {
    pub const ALL: [SpApiCounter; 4] = [
        SpApiCounter::Calls,
        SpApiCounter::Throttled,
        SpApiCounter::Retries,
        SpApiCounter::Errors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SpApiCounter::Calls => "SpApiCalls",
            SpApiCounter::Throttled => "SpApiThrottled",
            SpApiCounter::Retries => "SpApiRetries",
            SpApiCounter::Errors => "SpApiErrors",
        }
    }
}

/// LWA `invalid_grant` for a seller (dimension sets `[Stage]`, `[Stage, Seller]`).
pub const AUTHORIZATION_FAILURES: &str = "AuthorizationFailures";
/// Seconds since a seller's last successful order pull (`[Stage, Seller]`).
pub const ORDER_PULL_AGE: &str = "OrderPullAgeSeconds";
/// The largest [`ORDER_PULL_AGE`] of the sellers whose pull is on (`[Stage]`).
pub const ORDER_PULL_MAX_AGE: &str = "OrderPullMaxAgeSeconds";

/// Sellers connected (or re-authorised) through the consent flow (`[Stage]`).
pub const SELLERS_CONNECTED: &str = "SellersConnected";
/// Consent callbacks that did not connect a seller: denied, expired,
/// replayed, refused by LWA or Amazon (`[Stage]`).
pub const CONSENT_FAILURES: &str = "ConsentFailures";
/// Days until a seller's yearly authorisation renewal is due, 0 once due
/// (`[Stage, Seller]`, unit None).
pub const AUTHORIZATION_DAYS_LEFT: &str = "AuthorizationDaysLeft";
/// The smallest [`AUTHORIZATION_DAYS_LEFT`] of the active sellers (`[Stage]`):
/// the renewal alarm's metric.
pub const AUTHORIZATION_MIN_DAYS_LEFT: &str = "AuthorizationMinDaysLeft";
/// Days since the application's LWA client secret was stored (`[Stage]`,
/// unit None): Amazon makes it expire after 180.
pub const APP_SECRET_AGE_DAYS: &str = "AppSecretAgeDays";
/// New application client secrets stored (Amazon's notification or the
/// operator's rotation; `[Stage]`).
pub const APP_SECRET_ROTATIONS: &str = "AppSecretRotations";

/// The unit of a metric (EMF's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Count,
    Seconds,
    /// EMF's `None`: a plain number (days).
    NoUnit,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::NoUnit => "None",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// EMF takes at most this many values for one metric in one document.
pub const MAX_VALUES: usize = 100;

/// Where EMF documents go: stdout in Lambda (CloudWatch Logs reads them
/// there), memory in tests.
pub trait MetricSink: Send + Sync {
    /// One EMF document: a single-line JSON object, without the newline.
    fn write_line(&self, line: &str);
}

/// Standard output, one document per line, each in one write (so a log
/// line never lands inside a document).
pub struct StdoutSink;

impl MetricSink for StdoutSink {
    fn write_line(&self, line: &str) {
        // Nothing useful to do if stdout is gone: the metrics are lost with it.
        let _ = write_document(&mut std::io::stdout().lock(), line);
    }
}

/// `line` and its newline in one write, then a flush (Lambda forwards
/// stdout line by line; a document must not wait in a buffer when the
/// invocation ends).
fn write_document(out: &mut impl Write, line: &str) -> std::io::Result<()> {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Keeps the documents in memory (tests; the demo, which prints its own
/// summary instead of raw JSON).
#[derive(Clone, Default)]
pub struct MemorySink {
    lines: Arc<Mutex<Vec<String>>>,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every document written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The documents written so far, forgetting them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl MetricSink for MemorySink {
    fn write_line(&self, line: &str) {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line.to_string());
    }
}

/// The dimension values of one document (besides `Stage`, which all share);
/// the default, none of them: a deployment-wide (`[Stage]`) metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Dimensions {
    job: Option<Job>,
    operation: Option<&'static str>,
    seller: Option<String>,
}

/// The dimension sets a metric is published under (each an EMF `DimensionSet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Sets {
    /// `[Stage, Job]`.
    Job,
    /// `[Stage, Job]` and `[Stage, Job, Seller]`.
    JobAndSeller,
    /// `[Stage]` and `[Stage, Operation]`.
    StageAndOperation,
    /// `[Stage]` and `[Stage, Seller]`.
    StageAndSeller,
    /// `[Stage, Seller]`.
    Seller,
    /// `[Stage]`.
    Stage,
}

impl Sets {
    fn lists(self) -> &'static [&'static [&'static str]] {
        match self {
            Sets::Job => &[&["Stage", "Job"]],
            Sets::JobAndSeller => &[&["Stage", "Job"], &["Stage", "Job", "Seller"]],
            Sets::StageAndOperation => &[&["Stage"], &["Stage", "Operation"]],
            Sets::StageAndSeller => &[&["Stage"], &["Stage", "Seller"]],
            Sets::Seller => &[&["Stage", "Seller"]],
            Sets::Stage => &[&["Stage"]],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    /// Counters add up.
    Sum,
    /// Gauges keep the last value.
    Last,
    /// Distributions keep every value (written as EMF value arrays, so
    /// CloudWatch computes percentiles).
    Each,
}

#[derive(Clone, Debug)]
struct Sample {
    unit: Unit,
    value: u64,
    /// [`Aggregate::Each`]: every value recorded.
    values: Vec<u64>,
}

/// One document in the making: its metrics by dimension sets and name.
type Document = BTreeMap<(Sets, &'static str), Sample>;

struct Inner {
    namespace: String,
    stage: String,
    sink: Arc<dyn MetricSink>,
    pending: Mutex<BTreeMap<Dimensions, Document>>,
}

/// The metrics of a container: count during an invocation, [`flush`](Self::flush)
/// at its end. Cheap to clone (all clones share the counts).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.inner.namespace)
            .field("stage", &self.inner.stage)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics of `stage` in [`NAMESPACE`], written to `sink`.
    pub fn new(stage: impl Into<String>, sink: Arc<dyn MetricSink>) -> Self {
        Self {
            inner: Arc::new(Inner {
                namespace: NAMESPACE.to_string(),
                stage: stage.into(),
                sink,
                pending: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Metrics of `stage` written to standard output (Lambda).
    pub fn stdout(stage: impl Into<String>) -> Self {
        Self::new(stage, Arc::new(StdoutSink))
    }

    pub fn stage(&self) -> &str {
        &self.inner.stage
    }

    fn record(
        &self,
        dims: Dimensions,
        sets: Sets,
        name: &'static str,
        unit: Unit,
        value: u64,
        aggregate: Aggregate,
    ) {
        let mut pending = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pending
            .entry(dims)
            .or_default()
            .entry((sets, name))
            .or_insert(Sample {
                unit,
                value: 0,
                values: Vec::new(),
            });
        match aggregate {
            Aggregate::Sum => entry.value = entry.value.saturating_add(value),
            Aggregate::Last => entry.value = value,
            Aggregate::Each => entry.values.push(value),
        }
    }

    /// Adds `n` to a job counter, for `seller` when it is known (a counter
    /// that stays 0 is not written).
    pub fn count(&self, job: Job, seller: Option<&SellerId>, counter: Counter, n: u64) {
        if n == 0 {
            return;
        }
        self.job_count(job, seller, counter.name(), n);
    }

    /// A job counter named `name` (a [`Counter`] or another job-level
    /// counter), for `seller` when it is known.
    pub(crate) fn job_count(
        &self,
        job: Job,
        seller: Option<&SellerId>,
        name: &'static str,
        n: u64,
    ) {
        let (seller, sets) = match seller {
            Some(s) => (Some(s.as_str().to_string()), Sets::JobAndSeller),
            None => (None, Sets::Job),
        };
        self.record(
            Dimensions {
                job: Some(job),
                operation: None,
                seller,
            },
            sets,
            name,
            Unit::Count,
            n,
            Aggregate::Sum,
        );
    }

    /// Adds one to an SP-API counter of `operation`.
    pub fn spapi(&self, operation: Operation, counter: SpApiCounter) {
        self.record(
            Dimensions {
                job: None,
                operation: Some(operation.name()),
                seller: None,
            },
            Sets::StageAndOperation,
            counter.name(),
            Unit::Count,
            1,
            Aggregate::Sum,
        );
    }

    /// LWA refused the seller's refresh token (`invalid_grant`).
    pub fn authorization_failure(&self, seller: &SellerId) {
        self.record(
            Dimensions {
                job: None,
                operation: None,
                seller: Some(seller.as_str().to_string()),
            },
            Sets::StageAndSeller,
            AUTHORIZATION_FAILURES,
            Unit::Count,
            1,
            Aggregate::Sum,
        );
    }

    /// Seconds since the seller's last successful order pull.
    pub fn order_pull_age(&self, seller: &SellerId, seconds: u64) {
        self.seller_gauge(seller, ORDER_PULL_AGE, Unit::Seconds, seconds);
    }

    /// The largest order-pull age over the sellers whose pull is on.
    pub fn order_pull_max_age(&self, seconds: u64) {
        self.record(
            Dimensions::default(),
            Sets::Stage,
            ORDER_PULL_MAX_AGE,
            Unit::Seconds,
            seconds,
            Aggregate::Last,
        );
    }

    /// Adds `n` to a deployment-wide counter (`[Stage]`; 0 is not written).
    pub fn stage_count(&self, name: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        self.record(
            Dimensions::default(),
            Sets::Stage,
            name,
            Unit::Count,
            n,
            Aggregate::Sum,
        );
    }

    /// A deployment-wide gauge (`[Stage]`): the last value is written.
    pub fn stage_gauge(&self, name: &'static str, unit: Unit, value: u64) {
        self.record(
            Dimensions::default(),
            Sets::Stage,
            name,
            unit,
            value,
            Aggregate::Last,
        );
    }

    /// A per-seller gauge (`[Stage, Seller]`): the last value is written.
    pub fn seller_gauge(&self, seller: &SellerId, name: &'static str, unit: Unit, value: u64) {
        self.record(
            Dimensions {
                job: None,
                operation: None,
                seller: Some(seller.as_str().to_string()),
            },
            Sets::Seller,
            name,
            unit,
            value,
            Aggregate::Last,
        );
    }

    /// A job's measurement for one seller (a gauge: the last value counts),
    /// under `[Stage, Job]` and `[Stage, Job, Seller]`, written even when 0
    /// (e.g. the SKU reconciliation's `SkusOnlyOnAmazon`).
    pub fn gauge(&self, job: Job, seller: &SellerId, name: &'static str, value: u64) {
        self.record(
            Dimensions {
                job: Some(job),
                operation: None,
                seller: Some(seller.as_str().to_string()),
            },
            Sets::JobAndSeller,
            name,
            Unit::Count,
            value,
            Aggregate::Last,
        );
    }

    /// Writes one EMF document per combination of dimension values counted
    /// since the last flush, and starts again from zero. Returns how many.
    pub fn flush(&self) -> usize {
        let pending =
            std::mem::take(&mut *self.inner.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let mut written = 0;
        for (dims, document) in pending {
            // A distribution with more values than one document takes goes
            // on in further documents of the same dimensions.
            for part in split_values(document) {
                let line = self.document(timestamp, &dims, &part);
                self.inner.sink.write_line(&line);
                written += 1;
            }
        }
        written
    }

    /// A guard that flushes when dropped: hold one for the whole invocation.
    pub fn flush_on_drop(&self) -> FlushGuard {
        FlushGuard {
            metrics: self.clone(),
        }
    }

    fn document(&self, timestamp: u64, dims: &Dimensions, document: &Document) -> String {
        // One directive per dimension-set list; each names its metrics.
        let mut directives: BTreeMap<Sets, Vec<Value>> = BTreeMap::new();
        let mut root = Map::new();
        for ((sets, name), v) in document {
            directives
                .entry(*sets)
                .or_default()
                .push(json!({"Name": name, "Unit": v.unit.as_str()}));
            if v.values.is_empty() {
                root.insert((*name).to_string(), json!(v.value));
            } else {
                root.insert((*name).to_string(), json!(v.values));
            }
        }
        let directives: Vec<Value> = directives
            .into_iter()
            .map(|(sets, metrics)| {
                json!({
                    "Namespace": self.inner.namespace,
                    "Dimensions": sets.lists(),
                    "Metrics": metrics,
                })
            })
            .collect();
        root.insert("Stage".into(), json!(self.inner.stage));
        if let Some(job) = dims.job {
            root.insert("Job".into(), json!(job.as_str()));
        }
        if let Some(op) = dims.operation {
            root.insert("Operation".into(), json!(op));
        }
        if let Some(seller) = &dims.seller {
            root.insert("Seller".into(), json!(seller));
        }
        root.insert(
            "_aws".into(),
            json!({"Timestamp": timestamp, "CloudWatchMetrics": directives}),
        );
        Value::Object(root).to_string()
    }
}

/// One pending document as the documents to write: distributions cut into
/// [`MAX_VALUES`]-value parts, the first part with everything else.
fn split_values(mut document: Document) -> Vec<Document> {
    let mut parts = vec![Document::new()];
    for (key, sample) in std::mem::take(&mut document) {
        if sample.values.is_empty() {
            parts[0].insert(key, sample);
            continue;
        }
        for (n, chunk) in sample.values.chunks(MAX_VALUES).enumerate() {
            if parts.len() <= n {
                parts.push(Document::new());
            }
            parts[n].insert(
                key,
                Sample {
                    unit: sample.unit,
                    value: 0,
                    values: chunk.to_vec(),
                },
            );
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// Flushes its [`Metrics`] when dropped (the end of an invocation, however
/// it ends).
#[must_use = "the metrics are flushed when the guard is dropped"]
pub struct FlushGuard {
    metrics: Metrics,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.metrics.flush();
    }
}

impl CallObserver for Metrics {
    fn observe(&self, event: &CallEvent<'_>) {
        match event {
            CallEvent::Sent { operation } => self.spapi(*operation, SpApiCounter::Calls),
            CallEvent::Throttled { operation } => self.spapi(*operation, SpApiCounter::Throttled),
            CallEvent::Retrying { operation } => self.spapi(*operation, SpApiCounter::Retries),
            CallEvent::Failed { operation, .. } => self.spapi(*operation, SpApiCounter::Errors),
            CallEvent::AuthorizationRevoked { seller } => self.authorization_failure(seller),
        }
    }
}

/// A [`crate::batch::DeadLetterSink`] that counts `DeadLettered` for `job`
/// for every record it dead-letters, and passes it on to `inner`.
pub struct CountedDeadLetters<S> {
    inner: S,
    metrics: Metrics,
    job: Job,
}

impl<S> CountedDeadLetters<S> {
    pub fn new(inner: S, metrics: Metrics, job: Job) -> Self {
        Self {
            inner,
            metrics,
            job,
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait::async_trait]
impl<S: crate::batch::DeadLetterSink> crate::batch::DeadLetterSink for CountedDeadLetters<S> {
    async fn dead_letter(&self, letter: crate::batch::DeadLetter) -> Result<(), String> {
        self.inner.dead_letter(letter).await?;
        // The seller of a refused record is often unknown (a body that does
        // not parse) or unverified: `[Stage, Job]` only (ARCHITECTURE.md).
        self.metrics.count(self.job, None, Counter::DeadLettered, 1);
        Ok(())
    }
}

mod notifications;
mod reader;

pub use notifications::{
    NOTIFICATION_PUBLISH_DELAY, NOTIFICATION_RECEIVE_DELAY, NOTIFICATIONS_SILENT_SELLERS,
    NotifyCounter, ORDER_TO_WMS_DELAY,
};
pub use reader::{Directive, Parsed, parse_document};

#[cfg(test)]
mod tests;
