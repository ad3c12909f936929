//! `backfill SELLER --from DATE --to DATE`: the order pull run in this
//! process over a closed range of creation dates (`order_pull::backfill`),
//! wired exactly as the function is (`order_pull::config::wire`): the same
//! eligibility rules, ledger, shared quota buckets and WMS order queue, so
//! only orders the WMS never got are sent. Progress per page, a summary at
//! the end. Interrupted (Ctrl-C, a network failure, a crash), it resumes
//! from its checkpoint when run again with the same range.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use clap::Args;
use domain::Deadline;
use domain::settings::SellerSettings;
use lambda_kit::metrics::{MemorySink, Metrics};
use order_pull::config::{Config, wire};
use order_pull::{BackfillReport, Progress};

use crate::context::Context;
use crate::error::CliError;
use crate::error::seller_id;
use crate::output::Console;
use crate::queues::queue_url;

pub const EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod backfill A1EXAMPLESELLER --from 2026-11-01 --to 2026-11-03
  connector-admin --stage prod backfill A1EXAMPLESELLER --from 2026-11-02T06:00:00Z --to 2026-11-02T18:00:00Z

Dates are whole days in the seller's time zone (--to included); times are RFC 3339.";

/// Amazon refuses a "before" bound later than two minutes ago.
pub const SETTLE: TimeDelta = TimeDelta::seconds(130);

/// How long one run may go on (Amazon's quota, not the CLI, sets the pace:
/// about 100 orders every 3 minutes after a burst of 2,000).
pub const MAX_RUN: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The seller id.
    pub seller: String,
    /// First day (YYYY-MM-DD, in the seller's time zone) or instant (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last day, included (YYYY-MM-DD), or the instant the range ends (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Send no order.cancel_requested (for a stage deployed with
    /// WmsCancelRequests=false, whose WMS does not read that kind).
    #[arg(long)]
    pub no_cancel_requests: bool,
}

/// An instant from `--from`/`--to`: a date means 00:00 in `tz` (the day
/// after for an end date), an RFC 3339 time is taken as it is.
pub fn parse_bound(text: &str, tz: &str, end: bool) -> Result<DateTime<Utc>, CliError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        CliError::usage(format!(
            "{text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-11-02T06:00:00Z)"
        ))
    })?;
    let date = if end {
        date.succ_opt()
            .ok_or_else(|| CliError::usage(format!("{text} is too far in the future")))?
    } else {
        date
    };
    let zone = domain::zone::Zone::named(tz).ok_or_else(|| {
        CliError::seller_action(format!("the seller's time zone {tz:?} is not known"))
    })?;
    zone.start_of_day(date)
        .ok_or_else(|| CliError::usage(format!("{text} has no midnight in {tz}")))
}

/// The pull's configuration for this stage, found as deployed.
pub(crate) async fn config(ctx: &Context, cancel_requests: bool) -> Result<Config, CliError> {
    let d = &ctx.deployment;
    Ok(Config {
        common: ctx.function_common(),
        wms_order_queue_url: queue_url(ctx, &d.queue("wms-orders", true)).await?,
        job_queue_url: queue_url(ctx, &d.queue("order-pull-jobs", false)).await?,
        job_dead_letter_queue_url: queue_url(ctx, &d.queue("order-pull-jobs-dlq", false)).await?,
        cancel_requests,
        // Not used by a backfill (it is the schedule's cadence).
        backstop_healthy_minutes: 30,
        claim_stale_after: order_pull::PullOptions::default().claim_stale_after,
    })
}

/// A backfill's range, and what was clamped to get it.
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub notes: Vec<String>,
}

/// The range to pull: `--from`/`--to` for this seller, clamped to its start
/// date and to Amazon's two minutes. Notes say what was clamped.
pub fn range(
    args: &BackfillArgs,
    settings: &SellerSettings,
    now: DateTime<Utc>,
) -> Result<Range, CliError> {
    let mut notes = Vec::new();
    let mut from = parse_bound(&args.from, &settings.time_zone, false)?;
    let mut to = parse_bound(&args.to, &settings.time_zone, true)?;
    let start = settings
        .order_start()
        .map_err(|e| CliError::seller_action(e.to_string()))?;
    if from < start {
        notes.push(format!(
            "the range starts at the seller's order start {start} (orders created before it are never pulled)"
        ));
        from = start;
    }
    if to > now - SETTLE {
        to = now - SETTLE;
        notes.push(format!(
            "the range ends at {to} (Amazon answers for times at least two minutes in the past)"
        ));
    }
    if from >= to {
        return Err(CliError::usage(format!(
            "nothing to pull: the range {} .. {} is empty after clamping",
            args.from, args.to
        )));
    }
    Ok(Range { from, to, notes })
}

pub async fn run(args: BackfillArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let seller = seller_id(&args.seller)?;
    let settings = ctx.admin.get_seller(&seller).await?;
    let Range { from, to, notes } = range(&args, &settings, ctx.clock.now())?;
    for n in &notes {
        console.note(format!("note: {n}"));
    }
    let config = config(ctx, !args.no_cancel_requests).await?;
    // The CLI writes no CloudWatch metrics (it is not a Lambda: its EMF
    // lines would land nowhere); its summary is the operator's record.
    let metrics = Metrics::new(config.common.stage.clone(), Arc::new(MemorySink::new()));
    let (puller, _) = wire(&config, &ctx.sdk, ctx.clock.clone(), metrics)?;
    console.note(format!(
        "backfill of seller {seller}: orders created {from} .. {to}, through the ledger to {}",
        ctx.deployment.queue("wms-orders", true)
    ));
    let progress = console.progress("backfill: first page");
    let on_page = |p: Progress| {
        progress.update(&format!(
            "backfill: page {}, {} orders seen, {} sent, {} already in the WMS, {} held, {} filtered",
            p.page,
            p.totals.orders_seen,
            p.totals.sent,
            p.totals.already_sent,
            p.totals.held,
            p.totals.filtered
        ))
    };
    let deadline = Deadline::after(MAX_RUN);
    let work = puller.backfill(&seller, from, to, &deadline, on_page);
    let outcome = tokio::select! {
        r = work => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    progress.finish();
    let report: BackfillReport = match outcome {
        None => {
            return Err(CliError::temporary(
                "interrupted: every finished page is checkpointed; run the same command again to resume (nothing is sent twice)",
            ));
        }
        Some(Err(e)) => {
            let e = CliError::from(e);
            return Err(CliError::new(
                e.kind,
                format!(
                    "{}; the backfill stopped at a checkpoint: run the same command again to resume",
                    e.message
                ),
            ));
        }
        Some(Ok(r)) => r,
    };
    let t = report.totals;
    console.table(
        &["", "ORDERS"],
        vec![
            vec!["pages".into(), t.pages.to_string()],
            vec!["seen".into(), t.orders_seen.to_string()],
            vec![
                "sent now (the WMS never had them)".into(),
                t.sent.to_string(),
            ],
            vec!["already in the WMS".into(), t.already_sent.to_string()],
            vec!["being sent by another run".into(), t.in_flight.to_string()],
            vec!["held (pending, data missing)".into(), t.held.to_string()],
            vec!["filtered by the settings".into(), t.filtered.to_string()],
            vec!["cancellations sent".into(), t.cancellations.to_string()],
        ],
    );
    console.line(format!(
        "backfill {}{}",
        if report.finished {
            "finished"
        } else {
            "not finished (time limit): run the same command again to continue"
        },
        if report.resumed {
            " (resumed an interrupted run; totals cover every run)"
        } else {
            ""
        }
    ));
    let problem = if !report.finished {
        Some(CliError::temporary(
            "the backfill reached its time limit: run the same command again to continue",
        ))
    } else if t.in_flight > 0 {
        Some(CliError::temporary(format!(
            "{} order(s) were claimed by another or an interrupted run and not sent now: run the same backfill again after {} (a claim is taken over after 10 minutes, with the same deduplication id)",
            t.in_flight,
            (ctx.clock.now() + TimeDelta::minutes(11)).format("%H:%M UTC")
        )))
    } else {
        None
    };
    console.json(&serde_json::json!({
        "backfill": report,
        "notes": notes,
        "problem": problem.as_ref().map(|p| &p.message),
    }))?;
    problem.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_days_in_the_sellers_zone() {
        let from = parse_bound("2026-11-01", "Europe/Berlin", false).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-10-31T23:00:00+00:00");
        let to = parse_bound("2026-11-03", "Europe/Berlin", true).unwrap();
        assert_eq!(
            to.to_rfc3339(),
            "2026-11-03T23:00:00+00:00",
            "--to includes the day"
        );
        let exact = parse_bound("2026-11-02T06:00:00Z", "Europe/Berlin", true).unwrap();
        assert_eq!(exact.to_rfc3339(), "2026-11-02T06:00:00+00:00");
        assert!(parse_bound("yesterday", "UTC", false).is_err());
    }
}
