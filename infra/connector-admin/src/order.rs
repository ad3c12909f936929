//! `order ORDER-ID`: an order's whole history from the state table — when
//! the pull saw it and what it decided (held and why, filtered and why),
//! when it was claimed and sent to the WMS, cancellations sent, each package
//! confirmed (how, when, Amazon's answer) or refused (why), and labels
//! bought for it. Everything comes from the records the jobs keep (ids,
//! SKUs, quantities, carriers — no buyer data); nothing calls Amazon.

use chrono::{DateTime, Utc};
use clap::Args;
use domain::{AmazonOrderId, SellerId};
use serde::Serialize;
use store::{
    Ledger, LedgerEntry, OrderShipments, PackageState, PullNote, PullNotes, SendState,
    SettingsStore, ShipmentRecords,
};

use crate::context::Context;
use crate::error::CliError;
use crate::error::seller_id;
use crate::output::Console;

pub const EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod order 302-1234567-1234567
  connector-admin --stage prod order MG302-1234567-1234567 --seller A1EXAMPLESELLER
  connector-admin --stage prod --json order 302-1234567-1234567";

#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The Amazon order id, or the WMS order number (prefix + Amazon order id).
    pub order: String,
    /// The seller (default: every seller is searched).
    #[arg(long, value_name = "SELLER")]
    pub seller: Option<String>,
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub event: String,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct History {
    pub seller_id: String,
    pub amazon_order_id: String,
    pub wms_order_number: Option<String>,
    /// Amazon's status when last seen.
    pub amazon_status: Option<String>,
    /// `sent`, `sending` (claimed, not confirmed sent), `held`, `filtered`.
    pub state: String,
    pub events: Vec<Event>,
    /// The lines sent to the WMS (SKU, quantity, cancelled so far).
    pub lines: Vec<Line>,
}

#[derive(Debug, Serialize)]
pub struct Line {
    pub order_item_id: String,
    pub sku: String,
    pub quantity: u32,
    pub cancelled: u32,
}

struct Found {
    seller: SellerId,
    order: AmazonOrderId,
    ledger: Option<LedgerEntry>,
    notes: Vec<PullNote>,
    shipments: Option<OrderShipments>,
}

async fn look(ctx: &Context, seller: &SellerId, text: &str) -> Result<Option<Found>, CliError> {
    let store = ctx.store();
    // The WMS order number: the ledger's index knows it.
    let by_number = store.find_by_wms_order_number(seller, text).await?;
    let order = match (&by_number, AmazonOrderId::new(text)) {
        (Some(e), _) => e.amazon_order_id.clone(),
        (None, Ok(id)) => id,
        (None, Err(_)) => return Ok(None),
    };
    let ledger = match by_number {
        Some(e) => Some(e),
        None => store.get_order(seller, &order).await?,
    };
    let notes = store.notes(seller, &order).await?;
    let shipments = store.get_shipments(seller, &order).await?;
    if ledger.is_none() && notes.is_empty() && shipments.is_none() {
        return Ok(None);
    }
    Ok(Some(Found {
        seller: seller.clone(),
        order,
        ledger,
        notes,
        shipments,
    }))
}

fn history(f: Found) -> History {
    let mut events = Vec::new();
    let mut push = |at: DateTime<Utc>, event: &str, detail: String| {
        events.push(Event {
            at,
            event: event.to_string(),
            detail,
        })
    };
    for n in &f.notes {
        let what = n.decision.as_str();
        push(
            n.first_at,
            &format!("first {what}"),
            format!("{} (Amazon status {})", n.reason, n.amazon_status),
        );
        if n.times > 1 {
            push(
                n.last_at,
                &format!("last {what}"),
                format!(
                    "{} (Amazon status {}; {} time(s) in all)",
                    n.reason, n.amazon_status, n.times
                ),
            );
        }
    }
    let mut lines = Vec::new();
    let mut state = match f.notes.iter().max_by_key(|n| n.last_at) {
        Some(n) => n.decision.as_str().to_string(),
        None => "unknown".to_string(),
    };
    if let Some(e) = &f.ledger {
        push(
            e.first_sent_at,
            "claimed",
            format!(
                "eligible: claimed in the ledger for sending as {}",
                e.wms_order_number
            ),
        );
        match (e.state, e.sent_at) {
            (SendState::Sent, Some(at)) => push(
                at,
                "sent to the WMS",
                format!(
                    "order.created for {} (deduplication id {}:{}:created)",
                    e.wms_order_number, e.seller_id, e.amazon_order_id
                ),
            ),
            (SendState::Sent, None) => push(
                e.claimed_at,
                "sent to the WMS",
                format!("order.created for {}", e.wms_order_number),
            ),
            (SendState::Sending, _) => push(
                e.claimed_at,
                "sending",
                "claimed but not recorded as sent (a run was interrupted): a pull re-sends it with the same deduplication id once the claim is 10 minutes old".into(),
            ),
        }
        if let Some(at) = e.cancelled_at {
            push(
                at,
                "cancellation sent",
                "order.cancelled (the whole order) to the WMS".into(),
            );
        }
        push(
            e.last_seen_update,
            "updated on Amazon",
            format!("status {} (the latest update the pull saw)", e.status),
        );
        state = match e.state {
            SendState::Sent => "sent".into(),
            SendState::Sending => "sending".into(),
        };
        if let Some(record) = e
            .payload
            .as_ref()
            .and_then(|p| serde_json::from_str::<orders::SentOrder>(p.expose()).ok())
        {
            for l in record.lines {
                lines.push(Line {
                    order_item_id: l.order_item_id.to_string(),
                    sku: l.sku.to_string(),
                    quantity: l.quantity,
                    cancelled: l.cancelled_reported,
                });
            }
            let cancelled: u32 = lines.iter().map(|l| l.cancelled).sum();
            if cancelled > 0 && e.cancelled_at.is_none() {
                push(
                    e.last_seen_update,
                    "partly cancelled",
                    format!(
                        "{cancelled} unit(s) reported cancelled to the WMS (order.cancelled, scope lines)"
                    ),
                );
            }
        }
    }
    if let Some(s) = &f.shipments {
        for p in s.packages.values() {
            let items = p
                .items
                .iter()
                .map(|i| format!("{} × {}", i.quantity, i.sku))
                .collect::<Vec<_>>()
                .join(", ");
            let carrier = format!(
                "{}{} tracking {}",
                p.carrier_code,
                p.shipping_method
                    .as_deref()
                    .map(|m| format!(" / {m}"))
                    .unwrap_or_default(),
                p.tracking_number
            );
            match &p.state {
                PackageState::Confirmed { at, via, answer } => push(
                    *at,
                    "package confirmed",
                    format!(
                        "{} (reference {}): {items}; {carrier}; via {}; Amazon: {}",
                        p.package_id,
                        p.reference_id,
                        serde_json::to_value(via)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        answer.as_deref().unwrap_or("accepted")
                    ),
                ),
                PackageState::Submitted {
                    feed_id,
                    message_id,
                    submitted_at,
                } => push(
                    *submitted_at,
                    "package in a feed",
                    format!(
                        "{}: {items}; {carrier}; order-fulfilment feed {feed_id} message {message_id}, report not read yet (`connector-admin feeds {}`)",
                        p.package_id, s.seller_id
                    ),
                ),
                PackageState::Confirming {
                    lease_until,
                    attempts,
                } => push(
                    *lease_until,
                    "package being confirmed",
                    format!(
                        "{}: {items}; {carrier}; claimed ({attempts} earlier attempt(s)); SQS delivers it again if this run failed",
                        p.package_id
                    ),
                ),
            }
        }
        for (package, r) in &s.refused {
            push(r.at, "package refused", format!("{package}: {}", r.reason));
        }
        for l in &s.labels {
            push(
                l.bought_at,
                "label bought",
                format!(
                    "tracking {}{}{} (Amazon Shipping, through the label function)",
                    l.tracking_number,
                    l.carrier
                        .as_deref()
                        .map(|c| format!(", {c}"))
                        .unwrap_or_default(),
                    l.shipment_id
                        .as_deref()
                        .map(|id| format!(", shipment {id}"))
                        .unwrap_or_default()
                ),
            );
        }
    }
    events.sort_by_key(|e| e.at);
    History {
        seller_id: f.seller.to_string(),
        amazon_order_id: f.order.to_string(),
        wms_order_number: f.ledger.as_ref().map(|e| e.wms_order_number.clone()),
        amazon_status: f.ledger.as_ref().map(|e| e.status.clone()).or_else(|| {
            f.notes
                .iter()
                .max_by_key(|n| n.last_at)
                .map(|n| n.amazon_status.clone())
        }),
        state,
        events,
        lines,
    }
}

pub async fn run(args: OrderArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let text = args.order.trim();
    let sellers: Vec<SellerId> = match &args.seller {
        Some(s) => vec![seller_id(s)?],
        None => ctx
            .store()
            .list_sellers()
            .await?
            .into_iter()
            .map(|s| s.seller_id)
            .collect(),
    };
    let mut found = Vec::new();
    for seller in &sellers {
        if let Some(f) = look(ctx, seller, text).await? {
            found.push(history(f));
        }
    }
    if found.is_empty() {
        return Err(CliError::not_found(format!(
            "no record of order {text} for {}: the pull never saw it (created before the seller's start date, another marketplace, or not yet pulled — `connector-admin backfill SELLER --from DATE --to DATE` re-pulls a date range), or its records expired (120 days)",
            match &args.seller {
                Some(s) => format!("seller {s}"),
                None => format!("any of the {} seller(s)", sellers.len()),
            }
        )));
    }
    for h in &found {
        console.line(format!(
            "order {} of seller {}{}: {}{}",
            h.amazon_order_id,
            h.seller_id,
            h.wms_order_number
                .as_deref()
                .map(|n| format!(" (WMS {n})"))
                .unwrap_or_default(),
            h.state,
            h.amazon_status
                .as_deref()
                .map(|s| format!(", Amazon status {s}"))
                .unwrap_or_default()
        ));
        console.table(
            &["WHEN (UTC)", "EVENT", "DETAIL"],
            h.events
                .iter()
                .map(|e| {
                    vec![
                        e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        e.event.clone(),
                        e.detail.clone(),
                    ]
                })
                .collect(),
        );
        if !h.lines.is_empty() {
            console.table(
                &["ITEM", "SKU", "QUANTITY", "CANCELLED"],
                h.lines
                    .iter()
                    .map(|l| {
                        vec![
                            l.order_item_id.clone(),
                            l.sku.clone(),
                            l.quantity.to_string(),
                            l.cancelled.to_string(),
                        ]
                    })
                    .collect(),
            );
        }
    }
    console.json(&serde_json::json!({ "orders": found }))
}
