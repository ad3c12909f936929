//! `skus reconcile SELLER` and `skus report SELLER`: the seller's Amazon
//! listings against the WMS's SKUs (issue 17; DropStream: "the SKUs defined
//! in Amazon … must be identical to the SKUs … in the WMS"). `reconcile`
//! runs the inventory-push library's reconciliation in this process, wired
//! exactly as the function is (`inventory_push::config::wire`: the WMS stock
//! endpoint from its secret, the seller's shared quota for
//! searchListingsItems), keeps its report where the weekly job keeps its
//! own, and prints it; `report` prints the last one kept (the weekly job's
//! or the last `reconcile`). Exit code 4 when SKUs differ (someone must fix
//! them in Amazon, the WMS, or the seller's `inventory.sku_map`).

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use domain::Deadline;
use inventory_push::config::{Config, wire};
use inventory_push::skus::SkuReport;
use inventory_push::{PushError, Pusher};
use lambda_kit::metrics::{MemorySink, Metrics};
use serde::Serialize;

use crate::context::Context;
use crate::error::seller_id;
use crate::error::{CliError, Kind};
use crate::output::Console;
use crate::queues::queue_url;

pub const RECONCILE_EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod skus reconcile A1EXAMPLESELLER
  connector-admin --stage prod --json skus reconcile A1EXAMPLESELLER --show 500

Reads every listing of the seller (searchListingsItems: 5 calls a second,
20 listings each, about 100 listings a second) and the whole WMS stock.
Exit code 4 when SKUs differ.";

pub const REPORT_EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod skus report A1EXAMPLESELLER

The weekly job (inventory-push, 03:00 in the seller's time zone) keeps a
report naming at most 100 SKUs per list; the counts are whole.";

/// How long one reconciliation may go on (Amazon's quota sets the pace).
pub const MAX_RUN: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Subcommand)]
pub enum SkusCommand {
    /// Compare the seller's Amazon listings with the WMS's SKUs now; keep and print the report.
    #[command(after_help = RECONCILE_EXAMPLES)]
    Reconcile(ReconcileArgs),
    /// The last reconciliation kept (the weekly job's or the last `skus reconcile`).
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The seller id.
    pub seller: String,
    /// SKUs printed per list (all are counted; --json prints them all).
    #[arg(long, default_value_t = 50)]
    pub show: usize,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The seller id.
    pub seller: String,
    /// SKUs printed per list.
    #[arg(long, default_value_t = 50)]
    pub show: usize,
}

/// The inventory push's configuration for this stage, found as deployed.
pub async fn push_config(ctx: &Context) -> Result<Config, CliError> {
    let d = &ctx.deployment;
    Ok(Config {
        common: ctx.function_common(),
        wms_stock_secret: format!("connector/{}/wms-stock", d.stage),
        job_queue_url: queue_url(ctx, &d.queue("inventory-push-jobs", false)).await?,
        job_dead_letter_queue_url: queue_url(ctx, &d.queue("inventory-push-jobs-dlq", false))
            .await?,
        patch_threshold: 50,
        feed_stuck_minutes: 120,
    })
}

/// The inventory-push library wired for this stage (no CloudWatch metrics:
/// the CLI is not a Lambda).
pub async fn pusher(ctx: &Context) -> Result<Pusher, CliError> {
    let config = push_config(ctx).await?;
    let metrics = Metrics::new(config.common.stage.clone(), Arc::new(MemorySink::new()));
    let (pusher, _) = wire(&config, &ctx.sdk, ctx.clock.clone(), metrics).map_err(push_error)?;
    Ok(pusher)
}

/// An inventory-push failure for the operator.
pub fn push_error(e: PushError) -> CliError {
    let kind = match &e {
        PushError::UnknownSeller(_) => Kind::NotFound,
        PushError::InvalidSeller(..) => Kind::Usage,
        PushError::Stock(s) if !s.retryable => Kind::Config,
        PushError::Amazon(spapi::SpApiError::AuthorizationRevoked { .. }) => Kind::SellerAction,
        PushError::Amazon(spapi::SpApiError::Amazon { status: 403, .. }) => Kind::SellerAction,
        PushError::Marketplaces(_) => Kind::SellerAction,
        e if e.is_retryable() => Kind::Temporary,
        _ => Kind::Failed,
    };
    let hint = match &e {
        PushError::Stock(_) => {
            " (the WMS stock endpoint is in the secret connector/<stage>/wms-stock, read from this machine)"
        }
        PushError::Amazon(spapi::SpApiError::Amazon { status: 403, .. }) => {
            ": the seller's authorisation lacks the Product Listing role; add it to the app and have the seller authorise again"
        }
        _ => "",
    };
    CliError::new(kind, format!("{e}{hint}"))
}

fn list_rows(title: &str, skus: &[String], count: usize, show: usize) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = skus
        .iter()
        .take(show)
        .map(|s| vec![title.to_string(), s.clone()])
        .collect();
    if count > rows.len() {
        rows.push(vec![
            title.to_string(),
            format!("… and {} more", count - rows.len()),
        ]);
    }
    rows
}

/// Prints a report as tables; the JSON document is the report itself.
pub fn print_report(report: &SkuReport, show: usize, console: &Console) {
    let unknown = "unknown (scan incomplete)".to_string();
    console.table(
        &["", "SKUS"],
        vec![
            vec![
                "Amazon listings read".into(),
                report.amazon_listings.to_string(),
            ],
            vec![
                "  merchant-fulfilled and active".into(),
                report.amazon_active_mfn.to_string(),
            ],
            vec![
                "  fulfilled by Amazon".into(),
                report.amazon_fba.to_string(),
            ],
            vec!["WMS SKUs".into(), report.wms_skus.to_string()],
            vec![
                "matched (same SKU, or through sku_map)".into(),
                report.matched.to_string(),
            ],
            vec![
                "  of those inactive on Amazon".into(),
                report.matched_inactive.to_string(),
            ],
            vec![
                "only on Amazon".into(),
                report.only_on_amazon.count.to_string(),
            ],
            vec![
                "only in the WMS".into(),
                report
                    .only_in_wms
                    .as_ref()
                    .map_or(unknown.clone(), |l| l.count.to_string()),
            ],
            vec![
                "in the WMS, fulfilled by Amazon".into(),
                report
                    .not_mfn_on_amazon
                    .as_ref()
                    .map_or(unknown, |l| l.count.to_string()),
            ],
            vec![
                "sku_map entries that point nowhere".into(),
                report.dangling_mappings.len().to_string(),
            ],
        ],
    );
    let mut rows = list_rows(
        "only on Amazon",
        &report.only_on_amazon.skus,
        report.only_on_amazon.count,
        show,
    );
    if let Some(l) = &report.only_in_wms {
        rows.extend(list_rows("only in the WMS", &l.skus, l.count, show));
    }
    if let Some(l) = &report.not_mfn_on_amazon {
        rows.extend(list_rows("fulfilled by Amazon", &l.skus, l.count, show));
    }
    console.table(&["MISMATCH", "SKU"], rows);
    console.table(
        &["SKU_MAP ENTRY", "POINTS TO", "PROBLEM"],
        report
            .dangling_mappings
            .iter()
            .take(show)
            .map(|d| {
                vec![
                    d.wms_sku.clone(),
                    d.amazon_sku.clone(),
                    match d.reason.as_str() {
                        "wms_sku_unknown" => "the WMS has no such SKU".to_string(),
                        "amazon_sku_unlisted" => "Amazon lists no such SKU".to_string(),
                        other => other.to_string(),
                    },
                ]
            })
            .collect(),
    );
    if let Some(why) = &report.incomplete_reason {
        console.note(format!("note: the Amazon scan is incomplete: {why}"));
    }
}

/// Exit status of a report: 4 when SKUs differ.
pub fn verdict(report: &SkuReport, stage: &str, console: &Console) -> Result<(), CliError> {
    let problems = report.problems();
    if problems == 0 {
        console.line(format!(
            "no SKU mismatch: {} WMS SKU(s) matched on Amazon{}",
            report.matched,
            if report.complete {
                ""
            } else {
                " (the Amazon scan is incomplete: see the note)"
            }
        ));
        return Ok(());
    }
    Err(CliError::seller_action(format!(
        "{problems} SKU mismatch(es) for seller {}: make the SKUs identical in Amazon and the WMS, or map a WMS SKU to its Amazon SKU in the seller's inventory.sku_map (`connector-admin --stage {stage} seller put --file SETTINGS.json`)",
        report.seller_id
    )))
}

#[derive(Serialize)]
struct Kept<'a> {
    ran_at: Option<chrono::DateTime<chrono::Utc>>,
    report: &'a SkuReport,
}

pub async fn run(command: SkusCommand, ctx: &Context, console: &Console) -> Result<(), CliError> {
    match command {
        SkusCommand::Reconcile(args) => {
            let seller = seller_id(&args.seller)?;
            ctx.admin.get_seller(&seller).await?;
            let pusher = pusher(ctx).await?;
            console.note(format!(
                "reconciling seller {seller}: every Amazon listing against the WMS stock"
            ));
            let deadline = Deadline::after(MAX_RUN);
            let work = pusher.reconcile_skus(seller.as_str(), &deadline, true);
            let report = tokio::select! {
                r = work => r.map_err(push_error)?,
                _ = tokio::signal::ctrl_c() => {
                    return Err(CliError::temporary("interrupted: nothing was kept; run the same command again"));
                }
            };
            print_report(&report, args.show, console);
            console.json(&report)?;
            verdict(&report, &ctx.deployment.stage, console)
        }
        SkusCommand::Report(args) => {
            let seller = seller_id(&args.seller)?;
            ctx.admin.get_seller(&seller).await?;
            let pusher = pusher(ctx).await?;
            let kept = pusher
                .last_reconciliation(&seller)
                .await
                .map_err(push_error)?;
            let Some((ran_at, report)) = kept.and_then(|k| Some((k.ran_at, k.report?))) else {
                return Err(CliError::not_found(format!(
                    "no SKU reconciliation kept for seller {seller} yet: run `connector-admin --stage {} skus reconcile {seller}` (the weekly job runs at 03:00 in the seller's time zone)",
                    ctx.deployment.stage
                )));
            };
            if let Some(at) = ran_at {
                console.line(format!(
                    "SKU reconciliation of seller {seller}, {} ({} ago)",
                    at.format("%Y-%m-%d %H:%M UTC"),
                    crate::output::age((ctx.clock.now() - at).num_seconds())
                ));
            }
            print_report(&report, args.show, console);
            console.json(&Kept {
                ran_at,
                report: &report,
            })?;
            verdict(&report, &ctx.deployment.stage, console)
        }
    }
}
