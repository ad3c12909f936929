//! One scheduled order-pull run for many enabled sellers (settings in the
//! table, no orders): from the scheduled event to the last per-seller job
//! on its queue, the DynamoDB reads and writes and SQS sends it took
//! (counted at its tap), its peak RSS. Two ticks: the first one (it also
//! writes each seller's reconcile checkpoint) and a steady one.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use lambda_emu::BuildProfile;
use store::SettingsStore;

use crate::SoakError;
use crate::meter::AwsCounts;
use crate::plan::PREFIX;
use crate::rig::queue_depth;
use crate::rig::{Kind, Rig};

/// One scheduled run's figures.
#[derive(Clone, Debug)]
pub struct FanoutTick {
    pub name: &'static str,
    /// Event handed over → the function's answer.
    pub duration: Duration,
    /// Event handed over → the last job send answered.
    pub to_last_job: Duration,
    pub jobs_queued: u64,
    pub aws: AwsCounts,
    pub answer: serde_json::Value,
}

#[derive(Clone, Debug)]
pub struct FanoutReport {
    pub sellers: u32,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub ticks: Vec<FanoutTick>,
    pub peak_rss_kib: u64,
    /// moto's own latency per call while the function ran (its serialised
    /// server, this machine), to tell the function's time from the fake's.
    pub moto_ms_per_call: f64,
}

pub async fn measure(profile: BuildProfile, sellers: u32) -> Result<FanoutReport, SoakError> {
    let rig = Rig::start(profile, 60.0, "fanout").await?;
    let start = (chrono::Utc::now() - chrono::TimeDelta::days(30)).date_naive();
    for i in 0..sellers {
        let mut s = devstack::demo::demo_settings()?;
        s.seller_id = domain::SellerId::new(format!("A2FAN{i:06}"))?;
        s.client_code = domain::ClientCode::new(format!("FAN{i:06}"))?;
        s.order_prefix = PREFIX.to_string();
        s.order_start_date = start;
        s.refresh_token_secret = format!("connector/fanout/seller/A2FAN{i:06}");
        rig.store.put_settings(&s).await?;
    }
    let pool = rig.pool(Kind::OrderPull, 1).await?;
    let event = lambda_emu::events::schedule(&rig.template, "OrderPullFunction", "Every15Minutes")?;
    let jobs_url = rig.queue_url("OrderPullJobQueue")?;
    let mut ticks = Vec::new();
    let mut moto_calls = 0u64;
    let mut moto_time = Duration::ZERO;
    for name in ["first tick", "steady tick"] {
        let before = pool.counts();
        let t0 = Instant::now();
        let (inv, _) = pool.invoke(&event, None).await?;
        let duration = t0.elapsed();
        let answer = inv
            .response()
            .ok_or_else(|| SoakError::Setup(format!("the fan-out failed: {}", inv.payload())))?;
        let after = pool.counts();
        let mut aws = after.clone();
        for (k, v) in &before.calls {
            if let Some(n) = aws.calls.get_mut(k) {
                *n -= v;
            }
        }
        aws.rru -= before.rru;
        aws.wru -= before.wru;
        aws.sqs_requests -= before.sqs_requests;
        let to_last_job = after
            .last_send
            .map(|t| t.saturating_duration_since(t0))
            .unwrap_or_default();
        let jobs_queued = queue_depth(&rig, "OrderPullJobQueue").await?;
        moto_calls += aws.calls.values().sum::<u64>();
        moto_time += duration;
        ticks.push(FanoutTick {
            name,
            duration,
            to_last_job,
            jobs_queued,
            aws,
            answer,
        });
        if ticks.len() == 1 {
            // Empty for the next tick's count (SQS allows one purge a minute).
            rig.sqs()
                .purge_queue()
                .queue_url(&jobs_url)
                .send()
                .await
                .map_err(|e| {
                    SoakError::Aws(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
                })?;
        }
    }
    let spec_timeout = lambda_emu::env::function_spec(
        &rig.template,
        &rig.resources,
        Kind::OrderPull.logical_id(),
        std::path::PathBuf::from("bootstrap"),
        &lambda_emu::LocalOverrides::default(),
    )?;
    Ok(FanoutReport {
        sellers,
        timeout: spec_timeout.timeout,
        memory_mb: spec_timeout.memory_mb,
        ticks,
        peak_rss_kib: pool.peak_rss_kib(),
        moto_ms_per_call: moto_time.as_secs_f64() * 1000.0 / moto_calls.max(1) as f64,
    })
}

impl FanoutReport {
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Fan-out: one scheduled run for {} enabled sellers (timeout {} s, {} MB):\n\n\
             | run | event → last job queued | event → answer | jobs on the queue | DynamoDB reads (RRU) | DynamoDB writes (WRU) | SQS sends (requests) | answer |\n\
             |---|---:|---:|---:|---:|---:|---:|---|",
            self.sellers,
            self.timeout.as_secs(),
            self.memory_mb
        );
        for t in &self.ticks {
            let reads = t.aws.calls.get("DynamoDB.GetItem").copied().unwrap_or(0)
                + t.aws.calls.get("DynamoDB.Query").copied().unwrap_or(0)
                + t.aws
                    .calls
                    .get("DynamoDB.BatchGetItem")
                    .copied()
                    .unwrap_or(0);
            let writes = t.aws.calls.get("DynamoDB.PutItem").copied().unwrap_or(0)
                + t.aws.calls.get("DynamoDB.UpdateItem").copied().unwrap_or(0);
            let sends = t.aws.calls.get("SQS.SendMessage").copied().unwrap_or(0)
                + t.aws
                    .calls
                    .get("SQS.SendMessageBatch")
                    .copied()
                    .unwrap_or(0);
            let _ = writeln!(
                o,
                "| {} | {:.1} s | {:.1} s | {} | {reads} ({:.0}) | {writes} ({:.0}) | {sends} ({}) | `{}` |",
                t.name,
                t.to_last_job.as_secs_f64(),
                t.duration.as_secs_f64(),
                t.jobs_queued,
                t.aws.rru,
                t.aws.wru,
                t.aws.sqs_requests,
                t.answer
            );
        }
        let _ = writeln!(
            o,
            "\nPeak RSS {:.1} MiB; {:.1} ms of wall time per AWS call here (moto, one request at a time).",
            self.peak_rss_kib as f64 / 1024.0,
            self.moto_ms_per_call
        );
        o
    }
}
