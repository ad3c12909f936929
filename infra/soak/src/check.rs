//! What must hold after a soak, read from what the WMS got, from Amazon's
//! side (the simulator) and from the dead-letter queues; and the report.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use crate::chaos::ChaosPlan;
use crate::fanout::FanoutReport;
use crate::meter::AwsCounts;
use crate::plan::{Fate, Plan};
use crate::rig::{Kind, Pool, Rig, Stats};
use crate::wms::{LabelLog, Wms};
use crate::{SoakConfig, SoakError};

#[derive(Clone, Debug, Default)]
pub struct Timing {
    pub setup: Duration,
    pub active: Duration,
    pub drain: Duration,
    pub ticks: u32,
    pub total: Duration,
}

/// One function's figures.
#[derive(Clone, Debug)]
pub struct FunctionFigures {
    pub kind: Kind,
    pub containers: usize,
    pub memory_mb: u32,
    pub stats: Stats,
    pub aws: AwsCounts,
    pub peak_rss_kib: u64,
    /// Log lines and bytes the processes wrote (what CloudWatch Logs ingests).
    pub log_lines: u64,
    pub log_bytes: u64,
    /// Of those, EMF metric documents.
    pub emf_lines: u64,
    /// Distinct metrics (name + dimension values) the EMF documents define.
    pub metric_series: Vec<String>,
}

/// SP-API calls of one operation, as Amazon (the simulator) counted them.
#[derive(Clone, Debug, Default)]
pub struct OperationFigures {
    pub calls: u64,
    pub throttled: u64,
    pub injected_throttles: u64,
    pub server_errors: u64,
    pub client_errors: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub sellers: u32,
    pub orders: usize,
    pub simulated_hours: f64,
    pub fates: BTreeMap<Fate, usize>,
    pub eligible: usize,
    /// Eligible orders the WMS got an `order.created` for.
    pub received: usize,
    pub lost: Vec<String>,
    /// Order numbers with more than one `order.created`.
    pub duplicated: Vec<String>,
    /// Deduplication ids the WMS got more than once (a message sent again
    /// after a takeover: applied once, as the contract says).
    pub redelivered_ids: Vec<String>,
    /// Of those copies: sent within SQS FIFO's 5-minute interval (real SQS
    /// drops them; moto does not once the first was deleted), and later.
    pub redelivered_in_window: u64,
    pub redelivered_late: Vec<String>,
    /// Orders never eligible that reached the WMS anyway.
    pub ineligible_received: Vec<String>,
    pub unknown_received: usize,
    pub invalid_received: u64,
    pub cancellations_expected: usize,
    pub cancellations_once: usize,
    pub cancellation_problems: Vec<String>,
    pub packages_planned: usize,
    pub packages_confirmed_once: usize,
    pub package_problems: Vec<String>,
    /// Amazon's count of confirmations for packages it already had.
    pub repeat_confirmations: u64,
    pub shipment_messages: u64,
    pub duplicate_shipment_messages: u64,
    pub labels: LabelLog,
    /// Labels Amazon sold (the simulator's count).
    pub labels_bought: u64,
    /// Dead letters by queue: (reason, count).
    pub dead_letters: BTreeMap<String, BTreeMap<String, u64>>,
    pub dead_letters_without_reason: u64,
    pub spapi: BTreeMap<String, OperationFigures>,
    pub lwa_token_requests: u64,
    pub functions: Vec<FunctionFigures>,
    pub amazon_faults: Vec<(u32, String)>,
    /// Faults armed but never triggered (their call never came).
    pub chaos_gave_up: Vec<String>,
    pub timing: Timing,
    pub wall: Duration,
    pub fanout: Option<FanoutReport>,
    pub cost: Option<crate::cost::Cost>,
}

impl Report {
    /// Lost, duplicated, double confirmations, double labels, dead letters
    /// without a reason: each must be zero.
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        let mut bad = |what: &str, n: usize, sample: &[String]| {
            if n > 0 {
                f.push(format!(
                    "{what}: {n} (e.g. {})",
                    sample
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        };
        bad("orders lost", self.lost.len(), &self.lost);
        bad("orders duplicated", self.duplicated.len(), &self.duplicated);
        bad(
            "ineligible orders sent",
            self.ineligible_received.len(),
            &self.ineligible_received,
        );
        bad(
            "cancellation problems",
            self.cancellation_problems.len(),
            &self.cancellation_problems,
        );
        bad(
            "package problems",
            self.package_problems.len(),
            &self.package_problems,
        );
        if self.repeat_confirmations > 0 {
            f.push(format!(
                "double confirmations at Amazon: {}",
                self.repeat_confirmations
            ));
        }
        let label_orders = self.fates.get(&Fate::Label).copied().unwrap_or(0) as u64;
        if self.labels_bought != label_orders || self.labels.keys_with_two_shipments > 0 {
            f.push(format!(
                "labels: {} bought for {label_orders} label orders, {} keys with two shipments",
                self.labels_bought, self.labels.keys_with_two_shipments
            ));
        }
        if self.dead_letters_without_reason > 0 {
            f.push(format!(
                "dead letters without a reason: {}",
                self.dead_letters_without_reason
            ));
        }
        if self.unknown_received > 0 || self.invalid_received > 0 {
            f.push(format!(
                "WMS messages for unknown orders: {}, breaking the contract: {}",
                self.unknown_received, self.invalid_received
            ));
        }
        f
    }

    pub fn spapi_calls(&self) -> u64 {
        self.spapi.values().map(|o| o.calls).sum()
    }

    pub fn throttled_not_injected(&self) -> u64 {
        self.spapi
            .values()
            .map(|o| o.throttled.saturating_sub(o.injected_throttles))
            .sum()
    }

    pub fn function(&self, kind: Kind) -> Option<&FunctionFigures> {
        self.functions.iter().find(|f| f.kind == kind)
    }
}

/// A reason without its variable parts (ids, numbers), to group by.
fn reason_kind(reason: &str) -> String {
    let mut out = String::new();
    for word in reason.split_whitespace().take(14) {
        if word.chars().any(|c| c.is_ascii_digit()) {
            out.push_str("… ");
        } else {
            out.push_str(word);
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

pub async fn check(
    rig: &Rig,
    plan: &Plan,
    wms: &Wms,
    pools: [&Pool; 3],
    chaos: &ChaosPlan,
    amazon_faults: Vec<(u32, String)>,
    config: &SoakConfig,
) -> Result<Report, SoakError> {
    let mut r = Report {
        sellers: config.sellers,
        orders: plan.orders.len(),
        simulated_hours: config.simulated_hours(),
        fates: plan.fates(),
        eligible: plan.eligible().count(),
        amazon_faults,
        chaos_gave_up: chaos
            .gave_up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Report::default()
    };
    let label_tracking;
    {
        let s = wms.state.lock().unwrap_or_else(|p| p.into_inner());
        for (i, o) in plan.orders.iter().enumerate() {
            let created = s.created.get(&i).copied().unwrap_or(0);
            if o.fate.eligible() {
                if created == 0 {
                    r.lost.push(o.number.clone());
                } else {
                    r.received += 1;
                }
            } else if created > 0 {
                r.ineligible_received.push(o.number.clone());
            }
            if created > 1 {
                r.duplicated.push(o.number.clone());
            }
            let cancelled = s.cancelled.get(&i).copied().unwrap_or(0) as usize;
            let want = o.fate.cancellations();
            r.cancellations_expected += want;
            if want > 0 && cancelled == want {
                r.cancellations_once += 1;
            } else if cancelled != want {
                r.cancellation_problems.push(format!(
                    "{} ({}): {cancelled} order.cancelled, {want} expected",
                    o.number,
                    o.fate.name()
                ));
            }
        }
        if s.cancel_requests > 0 {
            // No order of the plan has a buyer asking to cancel.
            r.cancellation_problems.push(format!(
                "{} order.cancel_requested, none expected",
                s.cancel_requests
            ));
        }
        let mut ids: HashMap<&str, u32> = HashMap::new();
        for m in &s.received {
            *ids.entry(m.dedup_id.as_str()).or_default() += 1;
        }
        r.redelivered_in_window = s.redelivered_in_window;
        r.redelivered_late = s.redelivered_late.clone();
        r.redelivered_ids = ids
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id.to_string())
            .collect();
        r.unknown_received = s.unknown.len();
        r.invalid_received = s.invalid;
        r.shipment_messages = s.shipments_sent;
        r.duplicate_shipment_messages = s.duplicates_sent;
        r.labels = s.labels.clone();
        label_tracking = s.label_tracking.clone();
    }

    // Amazon's side: every planned package confirmed exactly once.
    let control = rig.sim.control();
    for (i, o) in plan.orders.iter().enumerate() {
        if o.packages.is_empty() {
            continue;
        }
        let seller = &plan.sellers[o.seller].seller_id;
        r.packages_planned += o.packages.len();
        let json = control.order_json(seller, &o.amazon_order_id)?;
        let got: Vec<String> = json["packages"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p["trackingNumber"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut ok = 0;
        for p in &o.packages {
            let tracking = match &p.tracking {
                Some(t) => Some(t.clone()),
                None => label_tracking.get(&i).cloned(),
            };
            let n = tracking
                .as_ref()
                .map(|t| got.iter().filter(|g| *g == t).count())
                .unwrap_or(0);
            if n == 1 {
                ok += 1;
            } else {
                r.package_problems.push(format!(
                    "{} {} ({}): at Amazon {n} times",
                    o.number,
                    p.package_id,
                    o.fate.name()
                ));
            }
        }
        r.packages_confirmed_once += ok;
        if got.len() != o.packages.len() {
            r.package_problems.push(format!(
                "{} ({}): Amazon has {} packages, {} shipped",
                o.number,
                o.fate.name(),
                got.len(),
                o.packages.len()
            ));
        }
    }
    for s in &plan.sellers {
        r.repeat_confirmations += control.repeat_confirmations(&s.seller_id)?;
        r.labels_bought += control.label_purchases(&s.seller_id);
    }
    let metrics = control.metrics();
    for row in metrics.operations {
        let e = r.spapi.entry(row.operation).or_default();
        e.calls += row.metrics.calls;
        e.throttled += row.metrics.throttled;
        e.injected_throttles += row.metrics.injected_throttles;
        e.server_errors += row.metrics.server_errors;
        e.client_errors += row.metrics.client_errors;
    }
    r.lwa_token_requests = metrics.token_requests.values().sum();

    // Dead letters, each with its reason.
    for (logical, q) in &rig.resources.queues {
        if !logical.contains("DeadLetter") {
            continue;
        }
        for letter in devstack::drain::dead_letters(&rig.sqs(), &q.url).await? {
            let key = match &letter.reason {
                Some(text) => reason_kind(text),
                None => {
                    r.dead_letters_without_reason += 1;
                    "(no reason)".to_string()
                }
            };
            *r.dead_letters
                .entry(q.name.clone())
                .or_default()
                .entry(key)
                .or_default() += 1;
        }
    }

    for pool in pools {
        let lines = pool.log_lines();
        let mut series = std::collections::BTreeSet::new();
        let mut emf = 0;
        for l in &lines {
            if l.contains("\"_aws\"") {
                emf += 1;
                for s in emf_series(l) {
                    series.insert(s);
                }
            }
        }
        r.functions.push(FunctionFigures {
            kind: pool.kind,
            containers: pool.size(),
            memory_mb: memory_mb(rig, pool.kind),
            stats: pool.stats(),
            aws: pool.counts(),
            peak_rss_kib: pool.peak_rss_kib(),
            log_lines: lines.len() as u64,
            log_bytes: lines.iter().map(|l| l.len() as u64 + 1).sum(),
            emf_lines: emf,
            metric_series: series.into_iter().collect(),
        });
    }
    Ok(r)
}

fn memory_mb(rig: &Rig, kind: Kind) -> u32 {
    rig.template
        .function_setting(kind.logical_id(), "MemorySize")
        .and_then(serde_json::Value::as_u64)
        .map(|m| m as u32)
        .unwrap_or(128)
}

/// The metrics one EMF document defines: `name{dim=value,...}` per metric
/// and dimension set.
pub fn emf_series(line: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(line) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for directive in doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let metrics: Vec<&str> = directive["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        for set in directive["Dimensions"].as_array().into_iter().flatten() {
            let dims: Vec<String> = set
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str())
                .map(|d| format!("{d}={}", doc[d].as_str().unwrap_or("")))
                .collect();
            for m in &metrics {
                out.push(format!("{m}{{{}}}", dims.join(",")));
            }
        }
    }
    out
}

fn secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl Report {
    /// The report as Markdown (BENCHMARKS.md's tables).
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Soak: {} sellers, {} orders, {} ticks ({:.1} h of Amazon's time at one 15-minute schedule run a tick), \
             wall {} (setup {}, active {}, drain {}).\n",
            self.sellers,
            self.orders,
            self.timing.ticks,
            self.simulated_hours,
            secs(self.wall),
            secs(self.timing.setup),
            secs(self.timing.active),
            secs(self.timing.drain),
        );
        let failures = self.failures();
        let _ = writeln!(
            o,
            "**Result: {}**\n",
            if failures.is_empty() {
                "every check held".to_string()
            } else {
                format!("FAILED — {}", failures.join("; "))
            }
        );
        let _ = writeln!(o, "| check | result |\n|---|---:|");
        let rows: Vec<(String, String)> = vec![
            (
                "orders eligible / received by the WMS".into(),
                format!("{} / {}", self.eligible, self.received),
            ),
            ("lost".into(), self.lost.len().to_string()),
            (
                "duplicated (by order number)".into(),
                self.duplicated.len().to_string(),
            ),
            (
                "messages sent again with the same deduplication id (applied once): within SQS FIFO's 5 min / later".into(),
                format!(
                    "{} / {}",
                    self.redelivered_in_window,
                    self.redelivered_late.len()
                ),
            ),
            (
                "never-eligible orders sent".into(),
                self.ineligible_received.len().to_string(),
            ),
            (
                "cancellations delivered once / expected".into(),
                format!(
                    "{} / {}",
                    self.cancellations_once, self.cancellations_expected
                ),
            ),
            (
                "packages confirmed once / shipped".into(),
                format!(
                    "{} / {}",
                    self.packages_confirmed_once, self.packages_planned
                ),
            ),
            (
                "double confirmations (Amazon's count)".into(),
                self.repeat_confirmations.to_string(),
            ),
            (
                "shipment messages (of which sent twice)".into(),
                format!(
                    "{} ({})",
                    self.shipment_messages, self.duplicate_shipment_messages
                ),
            ),
            (
                "labels bought / label orders".into(),
                format!(
                    "{} / {}",
                    self.labels_bought,
                    self.fates.get(&Fate::Label).copied().unwrap_or(0)
                ),
            ),
            (
                "label requests (concurrent + retries): answered, replayed".into(),
                format!(
                    "{}: {}, {}",
                    self.labels.requests, self.labels.answered, self.labels.replayed
                ),
            ),
            (
                "label keys with two shipments".into(),
                self.labels.keys_with_two_shipments.to_string(),
            ),
            (
                "dead letters (without a reason)".into(),
                format!(
                    "{} ({})",
                    self.dead_letters
                        .values()
                        .flat_map(|m| m.values())
                        .sum::<u64>(),
                    self.dead_letters_without_reason
                ),
            ),
            (
                "SP-API calls per 100 orders (all operations)".into(),
                format!(
                    "{:.1}",
                    self.spapi_calls() as f64 * 100.0 / self.orders.max(1) as f64
                ),
            ),
            (
                "searchOrders calls per 100 orders".into(),
                format!(
                    "{:.2}",
                    self.spapi.get("searchOrders").map(|s| s.calls).unwrap_or(0) as f64 * 100.0
                        / self.orders.max(1) as f64
                ),
            ),
            (
                "429s not injected".into(),
                self.throttled_not_injected().to_string(),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(o, "| {k} | {v} |");
        }
        let _ = writeln!(o, "\nOrders by fate:\n\n| fate | orders |\n|---|---:|");
        for (f, n) in &self.fates {
            let _ = writeln!(o, "| {} | {n} |", f.name());
        }
        let _ = writeln!(
            o,
            "\nSP-API (Amazon's count):\n\n| operation | calls | 429 | of which injected | 5xx | 4xx |\n|---|---:|---:|---:|---:|---:|"
        );
        for (op, s) in &self.spapi {
            let _ = writeln!(
                o,
                "| {op} | {} | {} | {} | {} | {} |",
                s.calls, s.throttled, s.injected_throttles, s.server_errors, s.client_errors
            );
        }
        let _ = writeln!(o, "\nLWA token requests: {}\n", self.lwa_token_requests);
        let _ = writeln!(
            o,
            "Functions:\n\n| function | containers | memory | invocations | cold starts | billed | peak RSS | log lines (EMF) | log bytes | outcomes |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for f in &self.functions {
            let outcomes: Vec<String> = f
                .stats
                .outcomes
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(
                o,
                "| {} | {} | {} MB | {} | {} | {:.1} s | {:.1} MiB | {} ({}) | {} | {} |",
                f.kind.name(),
                f.containers,
                f.memory_mb,
                f.stats.invocations,
                f.stats.cold_starts,
                f.stats.billed_ms as f64 / 1000.0,
                f.peak_rss_kib as f64 / 1024.0,
                f.log_lines,
                f.emf_lines,
                f.log_bytes,
                outcomes.join(", ")
            );
        }
        let _ = writeln!(
            o,
            "\nAWS calls (at the functions' taps):\n\n| function | DynamoDB calls | RRU | WRU | SQS requests | Secrets Manager calls | injected errors |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for f in &self.functions {
            let _ = writeln!(
                o,
                "| {} | {} | {:.0} | {:.0} | {} | {} | {} |",
                f.kind.name(),
                f.aws.calls_of("DynamoDB."),
                f.aws.rru,
                f.aws.wru,
                f.aws.sqs_requests,
                f.aws.calls_of("SecretsManager."),
                f.aws.injected
            );
        }
        let _ = writeln!(
            o,
            "\nAWS calls by operation (and moto's time answering them here):\n\n| function | operation | calls | per order | moto ms per call |\n|---|---|---:|---:|---:|"
        );
        for f in &self.functions {
            for (op, n) in &f.aws.calls {
                let ms = f.aws.service_ms.get(op).copied().unwrap_or(0.0);
                let _ = writeln!(
                    o,
                    "| {} | {op} | {n} | {:.2} | {:.1} |",
                    f.kind.name(),
                    *n as f64 / self.orders.max(1) as f64,
                    ms / (*n).max(1) as f64
                );
            }
        }
        let _ = writeln!(
            o,
            "\nFaults injected:\n\n| fault | armed | happened |\n|---|---:|---:|"
        );
        let mut amazon: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, label) in &self.amazon_faults {
            *amazon.entry(label.as_str()).or_default() += 1;
        }
        for (label, n) in amazon {
            let _ = writeln!(o, "| Amazon: {label} | {n} | {n} |");
        }
        for f in &self.functions {
            for (label, (armed, hit)) in &f.stats.chaos {
                let _ = writeln!(o, "| {}: {label} | {armed} | {hit} |", f.kind.name());
            }
        }
        if !self.chaos_gave_up.is_empty() {
            let _ = writeln!(
                o,
                "\nArmed but never triggered (their call never came): {}",
                self.chaos_gave_up.join("; ")
            );
        }
        if !self.dead_letters.is_empty() {
            let _ = writeln!(
                o,
                "\nDead letters:\n\n| queue | reason | messages |\n|---|---|---:|"
            );
            for (q, reasons) in &self.dead_letters {
                for (reason, n) in reasons {
                    let _ = writeln!(o, "| {q} | {reason} | {n} |");
                }
            }
        }
        if !self.labels.failures.is_empty() {
            let _ = writeln!(o, "\nLabel requests that failed (the WMS retried):\n");
            for (why, n) in &self.labels.failures {
                let _ = writeln!(o, "- {why}: {n}");
            }
        }
        if let Some(f) = &self.fanout {
            let _ = writeln!(o, "\n{}", f.markdown());
        }
        if let Some(c) = &self.cost {
            let _ = writeln!(o, "\n{}", c.markdown());
        }
        o
    }
}
