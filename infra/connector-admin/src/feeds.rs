//! `feeds SELLER`: the seller's recent feeds from Amazon (`getFeeds`: stock
//! `JSON_LISTINGS_FEED`s and shipment `POST_ORDER_FULFILLMENT_DATA`), their
//! status, and the errors of the most recent processing reports — plus the
//! stock feeds the inventory push still waits on (the table's tracked
//! feeds). The calls spend the seller's shared quota (getFeeds and
//! getFeedDocument allow about one call per 45 s after a burst of 10), so
//! only `--reports` reports are read.

use chrono::{DateTime, TimeDelta, Utc};
use clap::Args;
use domain::Deadline;
use serde::Serialize;
use spapi::SellerContext;
use spapi::models::feeds::Feed;
use spapi::ops::feeds::{GetFeedDocument, GetFeeds};
use store::StockLedger;

use crate::context::Context;
use crate::error::CliError;
use crate::error::seller_id;
use crate::output::{Console, age, clip};

pub const EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod feeds A1EXAMPLESELLER
  connector-admin --stage prod feeds A1EXAMPLESELLER --days 2 --reports 5";

/// The feed types the connector sends.
pub const FEED_TYPES: [&str; 2] = ["JSON_LISTINGS_FEED", "POST_ORDER_FULFILLMENT_DATA"];

#[derive(Debug, Args)]
pub struct FeedsArgs {
    /// The seller id.
    pub seller: String,
    /// How far back (Amazon keeps feeds 90 days).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    pub days: u32,
    /// Read the processing reports of this many of the newest finished feeds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub reports: u32,
    /// At most this many feeds.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub limit: u32,
}

/// One error of a processing report.
#[derive(Clone, Debug, Serialize)]
pub struct ReportError {
    pub message_id: Option<u64>,
    /// The SKU (listings) or Amazon order id (shipments) it concerns.
    pub subject: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct FeedView {
    pub feed_id: String,
    pub feed_type: String,
    pub status: String,
    pub created: String,
    pub ended: Option<String>,
    /// The inventory push has not read its report yet.
    pub tracked: bool,
    pub stuck_since: Option<DateTime<Utc>>,
    /// From the processing report, when it was read.
    pub processed: Option<u64>,
    pub accepted: Option<u64>,
    pub errors: Option<Vec<ReportError>>,
    /// Why the report could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_problem: Option<String>,
}

fn parse_report(feed: &Feed, bytes: &[u8]) -> Result<(u64, u64, Vec<ReportError>), String> {
    if feed.feed_type == "JSON_LISTINGS_FEED" {
        let r = spapi::models::listings_feed::ProcessingReport::parse(bytes)
            .map_err(|e| format!("not a JSON_LISTINGS_FEED processing report: {e}"))?;
        let errors = r
            .issues
            .iter()
            .filter(|i| i.severity == spapi::models::listings::Severity::Error)
            .map(|i| ReportError {
                message_id: i.message_id.map(u64::from),
                subject: i.sku.clone(),
                code: i.code.clone().unwrap_or_default(),
                message: i.message.clone(),
            })
            .collect();
        Ok((
            r.summary.messages_processed,
            r.summary.messages_accepted,
            errors,
        ))
    } else {
        let r = spapi::models::order_fulfillment_feed::parse_processing_report(bytes)
            .map_err(|e| e.to_string())?;
        let summary = r.summary.unwrap_or_default();
        let errors = r
            .results
            .iter()
            .filter(|x| x.result_code == spapi::models::order_fulfillment_feed::ResultCode::Error)
            .map(|x| ReportError {
                message_id: Some(x.message_id),
                subject: x.amazon_order_id.clone(),
                code: x.message_code.clone(),
                message: x.description.clone(),
            })
            .collect();
        Ok((summary.processed, summary.successful, errors))
    }
}

pub async fn run(args: FeedsArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let seller = seller_id(&args.seller)?;
    let settings = ctx.admin.get_seller(&seller).await?;
    let api = ctx.admin.spapi(ctx.client.clone())?;
    let seller_ctx = SellerContext::from(&settings);
    let deadline = Deadline::after(std::time::Duration::from_secs(600));
    let since = ctx.clock.now() - TimeDelta::days(i64::from(args.days));
    let mut feeds: Vec<Feed> = Vec::new();
    let mut call = GetFeeds {
        feed_types: FEED_TYPES.iter().map(|t| t.to_string()).collect(),
        marketplace_ids: settings.marketplaces.iter().take(10).cloned().collect(),
        page_size: Some(args.limit.min(100)),
        created_since: Some(since),
        next_token: None,
    };
    loop {
        let page = api.call(&seller_ctx, &call, &deadline).await?;
        feeds.extend(page.feeds);
        match page.next_token {
            Some(t) if feeds.len() < args.limit as usize => call.next_token = Some(t),
            _ => break,
        }
    }
    feeds.sort_by(|a, b| b.created_time.cmp(&a.created_time));
    feeds.truncate(args.limit as usize);
    let tracked = ctx.store().tracked_feeds(&seller).await?;
    let progress = console.progress("reading processing reports");
    let mut views = Vec::new();
    let mut reports_left = args.reports;
    for f in &feeds {
        let t = tracked.iter().find(|t| t.feed_id == f.feed_id);
        let mut view = FeedView {
            feed_id: f.feed_id.clone(),
            feed_type: f.feed_type.clone(),
            status: f.processing_status.as_str().to_string(),
            created: f.created_time.clone(),
            ended: f.processing_end_time.clone(),
            tracked: t.is_some(),
            stuck_since: t.and_then(|t| t.stuck_since),
            processed: None,
            accepted: None,
            errors: None,
            report_problem: None,
        };
        if let Some(doc_id) = f
            .result_feed_document_id
            .as_ref()
            .filter(|_| reports_left > 0 && f.processing_status.is_terminal())
        {
            reports_left -= 1;
            progress.update(&format!("report of feed {}", f.feed_id));
            let doc = api
                .call(
                    &seller_ctx,
                    &GetFeedDocument {
                        feed_document_id: doc_id.clone(),
                    },
                    &deadline,
                )
                .await?;
            let bytes = api.download_feed_document(&doc, &deadline).await?;
            match parse_report(f, &bytes) {
                Ok((processed, accepted, errors)) => {
                    view.processed = Some(processed);
                    view.accepted = Some(accepted);
                    view.errors = Some(errors);
                }
                Err(e) => view.report_problem = Some(e),
            }
        }
        views.push(view);
    }
    progress.finish();
    let now = ctx.clock.now();
    console.table(
        &["FEED", "TYPE", "STATUS", "CREATED", "REPORT", "NOTE"],
        views
            .iter()
            .map(|v| {
                let created = DateTime::parse_from_rfc3339(&v.created)
                    .map(|t| format!("{} ago", age((now - t.with_timezone(&Utc)).num_seconds())))
                    .unwrap_or_else(|_| v.created.clone());
                let report = match (&v.errors, &v.report_problem) {
                    (Some(errors), _) => format!(
                        "{} processed, {} accepted, {} error(s)",
                        v.processed.unwrap_or(0),
                        v.accepted.unwrap_or(0),
                        errors.len()
                    ),
                    (None, Some(p)) => clip(p, 60),
                    (None, None) => "-".into(),
                };
                let note = match (v.tracked, v.stuck_since) {
                    (_, Some(t)) => format!(
                        "STUCK since {}: its SKUs were pushed again",
                        t.format("%Y-%m-%d %H:%M")
                    ),
                    (true, None) => "the inventory push reads its report on its next run".into(),
                    _ => String::new(),
                };
                vec![
                    v.feed_id.clone(),
                    v.feed_type.clone(),
                    v.status.clone(),
                    created,
                    report,
                    note,
                ]
            })
            .collect(),
    );
    let errors: Vec<(&FeedView, &ReportError)> = views
        .iter()
        .flat_map(|v| v.errors.iter().flatten().map(move |e| (v, e)))
        .collect();
    if !errors.is_empty() {
        console.table(
            &["FEED", "MESSAGE", "SKU / ORDER", "CODE", "ERROR"],
            errors
                .iter()
                .map(|(v, e)| {
                    vec![
                        v.feed_id.clone(),
                        e.message_id.map(|m| m.to_string()).unwrap_or_default(),
                        e.subject.clone().unwrap_or_default(),
                        e.code.clone(),
                        e.message.clone(),
                    ]
                })
                .collect(),
        );
    }
    if views.is_empty() {
        console.line(format!(
            "no stock or shipment feeds for seller {seller} in the last {} day(s)",
            args.days
        ));
    }
    console.json(&serde_json::json!({ "seller_id": seller, "since": since, "feeds": views }))
}
