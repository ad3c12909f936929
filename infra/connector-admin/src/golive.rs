//! `golive SELLER`: the go-live checklist (NPFulfilment's test orders,
//! Amazon Shipping's test-label sign-off), against the seller's account as
//! configured (its sandbox when `sandbox` is set), each step a PASS, FAIL or
//! SKIP line with what to do:
//!
//! 1. **authorisation** — `getMarketplaceParticipations` with the seller's
//!    token (the `check` diagnosis on failure), and the configured
//!    marketplaces are ones the seller sells in;
//! 2. **orders (dry run)** — the order pull's own search, marketplaces,
//!    eligibility and mapping over the last `--days` days
//!    (`order_pull::Puller::preview`): what the WMS would get, buyer data
//!    masked, nothing claimed or sent; **role: buyer data** — whether the
//!    orders carry the ship-to address (the Direct-to-Consumer Delivery
//!    role);
//! 3. **stock (dry run)** — the push's quantities against what Amazon's
//!    listings offer now (`inventory_push::Pusher::preview_stock`), nothing
//!    pushed; **SKUs** — the SKU reconciliation of the same reads;
//! 4. **test label** — where the seller uses Amazon Shipping (its labels
//!    job is on): a label bought through the label function's own code for
//!    `--test-shipment` (a label-contract `shipment` with a `ship_to`, never
//!    an Amazon order: that would mark a real order shipped), saved under
//!    `--labels-dir`, then cancelled (`--keep-label` keeps it). Its
//!    idempotency key is the day and the shipment's hash, so running the
//!    check again the same day buys nothing more.
//!
//! Exit code 0 when nothing failed; else the kind of the first failure
//! (4: the seller or its settings must change).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use clap::Args;
use domain::Deadline;
use domain::settings::SellerSettings;
use lambda_kit::metrics::{MemorySink, Metrics};
use order_pull::{Preview, WouldDo};
use serde::Serialize;
use serde_json::{Value, json};
use spapi::SellerContext;
use spapi::ops::sellers::GetMarketplaceParticipations;
use wms::label::{LabelResult, PurchasedLabel};

use crate::context::Context;
use crate::error::seller_id;
use crate::error::{CliError, Kind};
use crate::output::Console;
use crate::skus::{push_error, pusher};

pub const EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod golive A1EXAMPLESELLER --test-shipment test-shipment.json
  connector-admin --stage prod --json golive A1EXAMPLESELLER --days 7 --skip-label

--test-shipment names a JSON file holding a label-contract `shipment` with
`ship_to`, `ship_from` and `packages` (shared/wms/CONTRACTS.md); the label is
saved under --labels-dir and cancelled unless --keep-label.";

#[derive(Debug, Args)]
pub struct GoliveArgs {
    /// The seller id.
    pub seller: String,
    /// The orders dry run looks at orders updated in the last N days.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub days: u32,
    /// A JSON file with the test label's shipment (label contract `shipment`, with `ship_to`).
    #[arg(long, value_name = "FILE")]
    pub test_shipment: Option<PathBuf>,
    /// Where the test label's files are saved.
    #[arg(long, value_name = "DIR", default_value = "golive-labels")]
    pub labels_dir: PathBuf,
    /// The test label's format.
    #[arg(long, default_value = "PDF", value_parser = ["PDF", "PNG", "ZPL"])]
    pub label_format: String,
    /// Keep the test label (it is cancelled by default, so it costs nothing).
    #[arg(long)]
    pub keep_label: bool,
    /// Do not buy a test label even if the seller uses Amazon Shipping.
    #[arg(long, conflicts_with = "test_shipment")]
    pub skip_label: bool,
    /// Orders whose WMS message is printed (all are in --json).
    #[arg(long, default_value_t = 3)]
    pub show_orders: usize,
}

impl GoliveArgs {
    /// Relative paths taken from `dir` (tests run from a fixture directory).
    pub fn relative_to(&mut self, dir: &Path) {
        if let Some(f) = &mut self.test_shipment
            && f.is_relative()
        {
            *f = dir.join(&*f);
        }
        if self.labels_dir.is_relative() {
            self.labels_dir = dir.join(&self.labels_dir);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub result: Verdict,
    pub detail: String,
    #[serde(skip)]
    kind: Kind,
}

impl Step {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            result: Verdict::Pass,
            detail: detail.into(),
            kind: Kind::Failed,
        }
    }

    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            result: Verdict::Skip,
            detail: detail.into(),
            kind: Kind::Failed,
        }
    }

    fn fail(name: &'static str, kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            name,
            result: Verdict::Fail,
            detail: detail.into(),
            kind,
        }
    }

    fn from_error(name: &'static str, e: CliError) -> Self {
        Self::fail(name, e.kind, e.message)
    }
}

/// The test label, as bought and saved.
#[derive(Clone, Debug, Serialize)]
pub struct TestLabel {
    pub shipment_id: String,
    pub service: String,
    pub carrier: String,
    pub price: String,
    pub replayed: bool,
    pub files: Vec<PathBuf>,
    pub cancelled: bool,
}

#[derive(Debug, Serialize)]
pub struct GoliveReport {
    pub seller_id: String,
    pub sandbox: bool,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<Preview>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock: Option<inventory_push::preview::StockPreview>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<TestLabel>,
}

const AMAZON: Duration = Duration::from_secs(600);

/// The authorisation step, and whether the seller's token works (the
/// other steps need it; a marketplace the seller does not sell in does not
/// stop them).
async fn authorisation(ctx: &Context, settings: &SellerSettings) -> (Step, bool) {
    let name = "authorisation";
    let api = match ctx.admin.spapi(ctx.client.clone()) {
        Ok(api) => api,
        Err(e) => return (Step::from_error(name, e.into()), false),
    };
    let endpoint = ctx.client.base_url(settings.region, settings.sandbox);
    match api
        .call(
            &SellerContext::from(settings),
            &GetMarketplaceParticipations,
            &Deadline::after(crate::check::CHECK_TIME),
        )
        .await
    {
        Err(e) => (
            Step::from_error(
                name,
                crate::check::diagnose(&e, ctx, settings.seller_id.as_str(), &endpoint),
            ),
            false,
        ),
        Ok(parts) => {
            let selling: Vec<String> = parts
                .payload
                .iter()
                .filter(|p| p.participation.is_participating)
                .map(|p| p.marketplace.id.clone())
                .collect();
            let missing: Vec<String> = settings
                .marketplaces
                .iter()
                .map(|m| m.to_string())
                .filter(|m| !selling.contains(m))
                .collect();
            let step = if missing.is_empty() {
                Step::pass(
                    name,
                    format!(
                        "the seller's token works at {endpoint}; Amazon lists marketplaces {}",
                        selling.join(", ")
                    ),
                )
            } else {
                Step::fail(
                    name,
                    Kind::SellerAction,
                    format!(
                        "the settings name marketplace(s) {} where the seller does not sell: fix `marketplaces` in the settings",
                        missing.join(", ")
                    ),
                )
            };
            (step, true)
        }
    }
}

async fn orders(
    ctx: &Context,
    settings: &SellerSettings,
    days: u32,
) -> (Vec<Step>, Option<Preview>) {
    let name = "orders (dry run)";
    // A dry run sends nothing, cancellation requests included.
    let config = match crate::backfill::config(ctx, false).await {
        Ok(c) => c,
        Err(e) => return (vec![Step::from_error(name, e)], None),
    };
    let metrics = Metrics::new(config.common.stage.clone(), Arc::new(MemorySink::new()));
    let puller = match order_pull::config::wire(&config, &ctx.sdk, ctx.clock.clone(), metrics) {
        Ok((p, _)) => p,
        Err(e) => return (vec![Step::from_error(name, CliError::from(e))], None),
    };
    let since = ctx.clock.now() - TimeDelta::days(i64::from(days));
    let preview = match puller
        .preview(&settings.seller_id, since, &Deadline::after(AMAZON))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            let e = CliError::from(e);
            let e = if e.message.contains("403") {
                CliError::seller_action(format!(
                    "{}: the seller's authorisation lacks the Orders role (Inventory and Order Tracking); add it to the app and have the seller authorise again",
                    e.message
                ))
            } else {
                e
            };
            return (vec![Step::from_error(name, e)], None);
        }
    };
    let (send, already, held, filtered) = (
        preview.count(WouldDo::Send),
        preview.count(WouldDo::AlreadySent),
        preview.count(WouldDo::Hold),
        preview.count(WouldDo::Filter),
    );
    let mut steps = vec![Step::pass(
        name,
        format!(
            "{} order(s) updated in the last {days} day(s){}: {send} would go to the WMS, {already} it already has, {held} held, {filtered} filtered; nothing was sent",
            preview.orders.len(),
            if preview.truncated {
                " (the first 500)"
            } else {
                ""
            }
        ),
    )];
    let role = "role: buyer data";
    let lacking = preview
        .orders
        .iter()
        .filter(|o| o.missing_buyer_data)
        .count();
    let with_address = preview
        .orders
        .iter()
        .filter(|o| o.has_address == Some(true))
        .count();
    steps.push(if lacking > 0 {
        Step::fail(
            role,
            Kind::SellerAction,
            format!(
                "{lacking} order(s) came without the buyer's name or address and would be held: the seller's authorisation lacks the Direct-to-Consumer Delivery role (restricted); add it to the app and have the seller authorise again"
            ),
        )
    } else if with_address > 0 {
        Step::pass(
            role,
            format!("{with_address} order(s) carry the ship-to name and address"),
        )
    } else {
        Step::skip(
            role,
            "no order to send in the period: seed a test order (or widen --days) to see the buyer data",
        )
    });
    (steps, Some(preview))
}

async fn stock(
    ctx: &Context,
    settings: &SellerSettings,
) -> (Vec<Step>, Option<inventory_push::preview::StockPreview>) {
    let name = "stock (dry run)";
    if !settings.jobs.inventory {
        return (
            vec![Step::skip(name, "the seller's inventory job is off")],
            None,
        );
    }
    let preview = match pusher(ctx).await {
        Err(e) => return (vec![Step::from_error(name, e)], None),
        Ok(p) => {
            p.preview_stock(settings.seller_id.as_str(), &Deadline::after(AMAZON))
                .await
        }
    };
    let preview = match preview {
        Ok(p) => p,
        Err(e) => return (vec![Step::from_error(name, push_error(e))], None),
    };
    let mut steps = vec![Step::pass(
        name,
        format!(
            "{} WMS SKU(s): {} would change on Amazon, {} already right, {} not listed on Amazon; nothing was pushed",
            preview.wms_skus,
            preview.would_change.len(),
            preview.unchanged,
            preview.not_listed.len()
        ),
    )];
    let report = &preview.skus;
    let problems = report.problems();
    steps.push(if problems == 0 {
        Step::pass(
            "SKUs",
            format!(
                "identical on both sides: {} matched{}",
                report.matched,
                if report.complete {
                    ""
                } else {
                    " (Amazon scan incomplete)"
                }
            ),
        )
    } else {
        Step::fail(
            "SKUs",
            Kind::SellerAction,
            format!(
                "{} only on Amazon, {} only in the WMS, {} fulfilled by Amazon, {} sku_map entries pointing nowhere: `connector-admin --stage {} skus reconcile {}` lists them",
                report.only_on_amazon.count,
                report.only_in_wms.as_ref().map_or(0, |l| l.count),
                report.not_mfn_on_amazon.as_ref().map_or(0, |l| l.count),
                report.dangling_mappings.len(),
                ctx.deployment.stage,
                settings.seller_id
            ),
        )
    });
    (steps, Some(preview))
}

/// The label function's configuration for this stage.
fn label_config(ctx: &Context) -> labels::config::Config {
    labels::config::Config {
        common: ctx.function_common(),
        document_retention_days: 30,
    }
}

fn extension(format: &str) -> &'static str {
    match format {
        "PNG" => "png",
        "ZPL" => "zpl",
        _ => "pdf",
    }
}

async fn test_label(
    ctx: &Context,
    settings: &SellerSettings,
    args: &GoliveArgs,
) -> (Step, Option<TestLabel>) {
    let name = "test label";
    if !settings.jobs.labels {
        return (
            Step::skip(
                name,
                "the seller does not use Amazon Shipping through the connector (its labels job is off)",
            ),
            None,
        );
    }
    if args.skip_label {
        return (Step::skip(name, "--skip-label"), None);
    }
    let Some(file) = &args.test_shipment else {
        return (
            Step::fail(
                name,
                Kind::Usage,
                "the seller uses Amazon Shipping: give --test-shipment FILE (a label-contract `shipment` with `ship_to`, `ship_from`, `packages`) to buy and save a test label, or --skip-label",
            ),
            None,
        );
    };
    let shipment: Value = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            return (
                Step::fail(
                    name,
                    Kind::Usage,
                    format!("could not read {} as JSON: {e}", file.display()),
                ),
                None,
            );
        }
    };
    if shipment.get("order_number").is_some() {
        return (
            Step::fail(
                name,
                Kind::Usage,
                "the test shipment names an Amazon order: a label for it would mark a real order shipped; give a `ship_to` address instead",
            ),
            None,
        );
    }
    let day = ctx.clock.now().format("%Y%m%d");
    let hash = store::sha256_hex(shipment.to_string());
    let key = format!("golive-{day}-{}", &hash[..12]);
    let request = json!({
        "schema": 2, "operation": "one_click", "seller_id": settings.seller_id,
        "idempotency_key": key, "shipment": shipment,
        "select": {"rule": "cheapest"}, "label": {"format": args.label_format},
    });
    let parsed = match wms::LabelRequest::parse(&request.to_string()) {
        Ok(r) => r,
        Err(e) => {
            return (
                Step::fail(name, Kind::Usage, format!("{}: {e}", file.display())),
                None,
            );
        }
    };
    let metrics = Metrics::new(ctx.deployment.stage.clone(), Arc::new(MemorySink::new()));
    let service =
        match labels::config::wire(&label_config(ctx), &ctx.sdk, ctx.clock.clone(), metrics) {
            Ok(s) => s,
            Err(e) => return (Step::from_error(name, CliError::from(e)), None),
        };
    let deadline = Deadline::after(Duration::from_secs(120));
    let label: PurchasedLabel = match service.execute(&parsed, &deadline).await {
        Ok(LabelResult::Label(l)) => l,
        Ok(_) => {
            return (
                Step::fail(name, Kind::Failed, "the label function answered no label"),
                None,
            );
        }
        Err(e) => {
            let kind = if e.is_retryable() {
                Kind::Temporary
            } else {
                Kind::SellerAction
            };
            return (
                Step::fail(name, kind, format!("Amazon Shipping: {e}")),
                None,
            );
        }
    };
    let mut saved = Vec::new();
    if let Err(e) = std::fs::create_dir_all(&args.labels_dir) {
        return (
            Step::fail(
                name,
                Kind::Failed,
                format!(
                    "label {} bought, but {} could not be made: {e}",
                    label.shipment_id,
                    args.labels_dir.display()
                ),
            ),
            None,
        );
    }
    for p in &label.packages {
        for (n, d) in p.documents.iter().enumerate() {
            let bytes = match labels::service::decode_document(d) {
                Ok(b) => b,
                Err(e) => return (Step::fail(name, Kind::Failed, e.to_string()), None),
            };
            let path = args.labels_dir.join(format!(
                "golive-{}-{}-{}-{}.{}",
                settings.seller_id,
                label.shipment_id,
                p.package_id,
                n + 1,
                extension(&d.format)
            ));
            if let Err(e) = std::fs::write(&path, bytes) {
                return (
                    Step::fail(name, Kind::Failed, format!("{}: {e}", path.display())),
                    None,
                );
            }
            saved.push(path);
        }
    }
    let mut cancelled = false;
    if !args.keep_label {
        let cancel = json!({"schema": 2, "operation": "cancel", "seller_id": settings.seller_id,
            "shipment_id": label.shipment_id});
        match wms::LabelRequest::parse(&cancel.to_string()) {
            Ok(r) => match service.execute(&r, &deadline).await {
                Ok(_) => cancelled = true,
                Err(e) => {
                    return (
                        Step::fail(
                            name,
                            Kind::Failed,
                            format!(
                                "label {} bought and saved, but not cancelled ({e}): cancel it with the label function before the carrier collects it",
                                label.shipment_id
                            ),
                        ),
                        None,
                    );
                }
            },
            Err(e) => return (Step::fail(name, Kind::Failed, e.to_string()), None),
        }
    }
    let test = TestLabel {
        shipment_id: label.shipment_id.clone(),
        service: label.service_name.clone(),
        carrier: label.carrier_name.clone(),
        price: format!("{} {}", label.price.amount.as_str(), label.price.currency),
        replayed: label.replayed,
        files: saved,
        cancelled,
    };
    let detail = format!(
        "{} ({}) label {} bought for {}{}, saved as {}{}",
        test.service,
        test.carrier,
        test.shipment_id,
        test.price,
        if test.replayed {
            " (earlier today: not bought again)"
        } else {
            ""
        },
        test.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        if cancelled {
            ", then cancelled"
        } else {
            ", kept"
        }
    );
    (Step::pass(name, detail), Some(test))
}

pub async fn run(args: GoliveArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let seller = seller_id(&args.seller)?;
    let settings = ctx.admin.get_seller(&seller).await?;
    console.note(format!(
        "go-live checks of seller {seller} ({} account{}): nothing is sent to the WMS or pushed to Amazon",
        settings.region,
        if settings.sandbox { ", sandbox" } else { "" }
    ));
    let mut report = GoliveReport {
        seller_id: seller.to_string(),
        sandbox: settings.sandbox,
        steps: Vec::new(),
        orders: None,
        stock: None,
        label: None,
    };
    let (auth, authorised) = authorisation(ctx, &settings).await;
    report.steps.push(auth);
    if authorised {
        let (steps, preview) = orders(ctx, &settings, args.days).await;
        report.steps.extend(steps);
        report.orders = preview;
        let (steps, stock) = stock(ctx, &settings).await;
        report.steps.extend(steps);
        report.stock = stock;
        let (step, label) = test_label(ctx, &settings, &args).await;
        report.steps.push(step);
        report.label = label;
    } else {
        for name in ["orders (dry run)", "stock (dry run)", "test label"] {
            report
                .steps
                .push(Step::skip(name, "needs a working authorisation (above)"));
        }
    }
    console.table(
        &["RESULT", "CHECK", "DETAIL"],
        report
            .steps
            .iter()
            .map(|s| {
                vec![
                    format!("{:?}", s.result).to_uppercase(),
                    s.name.to_string(),
                    s.detail.clone(),
                ]
            })
            .collect(),
    );
    if let Some(preview) = &report.orders {
        for o in preview
            .orders
            .iter()
            .filter(|o| o.would == WouldDo::Send)
            .take(args.show_orders)
        {
            if let Some(m) = &o.message {
                console.line(format!(
                    "the WMS would get for {} (buyer data masked):\n{}",
                    o.amazon_order_id,
                    serde_json::to_string_pretty(m).unwrap_or_default()
                ));
            }
        }
        console.table(
            &["ORDER", "STATUS", "WOULD", "WHY"],
            preview
                .orders
                .iter()
                .filter(|o| o.would != WouldDo::Send)
                .map(|o| {
                    vec![
                        o.amazon_order_id.clone(),
                        o.status.clone(),
                        format!("{:?}", o.would).to_lowercase(),
                        o.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        );
    }
    if let Some(stock) = &report.stock {
        console.table(
            &["SKU", "ON AMAZON NOW", "WOULD PUSH"],
            stock
                .would_change
                .iter()
                .take(50)
                .map(|c| {
                    vec![
                        c.sku.clone(),
                        c.amazon.map_or("-".into(), |q| q.to_string()),
                        c.would_push.to_string(),
                    ]
                })
                .collect(),
        );
    }
    console.json(&report)?;
    let failed: Vec<&Step> = report
        .steps
        .iter()
        .filter(|s| s.result == Verdict::Fail)
        .collect();
    match failed.first() {
        None => {
            console.line(format!(
                "go-live checks passed for seller {seller} ({} skipped)",
                report
                    .steps
                    .iter()
                    .filter(|s| s.result == Verdict::Skip)
                    .count()
            ));
            Ok(())
        }
        Some(first) => Err(CliError::new(
            first.kind,
            format!(
                "{} of {} go-live checks failed; first: {}: {}",
                failed.len(),
                report.steps.len(),
                first.name,
                first.detail
            ),
        )),
    }
}
