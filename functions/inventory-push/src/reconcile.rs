//! The SKU reconciliation's run (the rules are in [`crate::skus`]): every
//! listing of the seller through `searchListingsItems` (summaries and
//! fulfilment availability, in the seller's marketplaces, 20 per page,
//! within its shared quota of 5 calls per second), the WMS's SKUs from its
//! stock endpoint, the comparison, and — for the weekly job and the CLI —
//! the report kept in the table (`CHECKPOINT#sku-reconcile`: when it ran and
//! the report naming at most [`STORED_SKUS`] SKUs per list), three gauges
//! per seller (`SkusOnlyOnAmazon`, `SkusOnlyInWms`, `SkuMapDangling`) and
//! an audit line (`inventory.sku_reconcile`).
//!
//! Amazon pages through at most 1000 items of one search (the model's note
//! on `numberOfResults`): a search that finds more is split by creation
//! date, halves until each holds at most 1000 — also when paging simply
//! ends before `numberOfResults` items came, whatever the cap (listings
//! created within the same second beyond it cannot be split further: the
//! scan is then incomplete, and says so). At 5 calls per second and 20 listings per
//! page, about 100 listings a second: ~85,000 in the function's 15
//! minutes, any number from the CLI. A scan the deadline or the quota
//! stops is incomplete, never guessed (see [`crate::skus`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use domain::{Deadline, MarketplaceId, SellerId};
use lambda_kit::metrics::Job;
use serde::{Deserialize, Serialize};
use spapi::models::listings::{DEFAULT_CHANNEL, Item, SEARCH_RESULTS_CAP};
use spapi::ops::listings::{ItemData, SEARCH_PAGE_SIZE, SearchListingsItems};
use spapi::{SellerContext, SpApiError};

use crate::error::PushError;
use crate::push::Pusher;
use crate::skus::{ListingFacts, SkuReport, reconcile};

/// The checkpoint (job name) that keeps the last reconciliation.
pub const CHECKPOINT: &str = "sku-reconcile";

/// The `audit` field of the line that says how a reconciliation ended.
pub const RECONCILE_ACTION: &str = "inventory.sku_reconcile";

/// SKUs named per list in the stored report (the counts are whole).
pub const STORED_SKUS: usize = 100;

/// The metrics a reconciliation writes (gauges, per seller).
pub const SKUS_ONLY_ON_AMAZON: &str = "SkusOnlyOnAmazon";
pub const SKUS_ONLY_IN_WMS: &str = "SkusOnlyInWms";
pub const SKU_MAP_DANGLING: &str = "SkuMapDangling";

/// Time kept back from the deadline for the report's bookkeeping.
const MARGIN: Duration = Duration::from_secs(20);

/// What the table keeps: when it ran, and the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReconciliation {
    pub ran_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub report: Option<SkuReport>,
}

/// What a reconciliation (or the stock dry run) read.
pub(crate) struct Gathered {
    pub seller: SellerId,
    pub settings: domain::settings::SellerSettings,
    pub markets: Vec<MarketplaceId>,
    pub items: Vec<wms::StockItem>,
    pub scan: Scan,
    pub now: DateTime<Utc>,
}

impl Gathered {
    /// The reconciliation of what was read.
    pub fn report(&self) -> SkuReport {
        let wms: BTreeSet<String> = self
            .items
            .iter()
            .map(|i| i.sku.as_str().to_string())
            .collect();
        let mut report = reconcile(
            &self.scan.listings,
            self.scan.complete,
            &wms,
            &self.settings.inventory,
        );
        report.seller_id = self.seller.to_string();
        report.marketplaces = self.markets.iter().map(|m| m.to_string()).collect();
        report.incomplete_reason = self.scan.incomplete_reason.clone();
        report.listings_read = self.scan.listings.len();
        report.calls = self.scan.calls;
        report.windows = self.scan.windows;
        report
    }
}

/// Every listing Amazon gave, and whether that was all of them.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub listings: BTreeMap<String, ListingFacts>,
    pub complete: bool,
    pub incomplete_reason: Option<String>,
    pub calls: u32,
    pub windows: u32,
}

/// The first creation date searched: before any Amazon listing.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1995, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn facts(item: &Item, channel: &str) -> ListingFacts {
    let channels: Vec<&str> = item
        .fulfillment_availability
        .iter()
        .map(|f| f.fulfillment_channel_code.as_str())
        .collect();
    ListingFacts {
        merchant_fulfilled: channels.is_empty() || channels.contains(&channel),
        active: item.summaries().iter().any(|s| !s.status.is_empty()),
        quantity: item.quantity(channel),
    }
}

/// Splits `[from, to]` (whole seconds) into two halves to read, the
/// earlier popped first. They share their middle second: Amazon compares
/// to the millisecond while the bounds are whole seconds, so a listing
/// created inside that second is in the later half (and one on it exactly
/// in both: the scan keeps each SKU once). `false` when a second cannot be
/// split.
fn split(
    todo: &mut Vec<(DateTime<Utc>, DateTime<Utc>)>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> bool {
    let span = (to - from).num_seconds();
    if span <= 1 {
        return false;
    }
    let mid = from + TimeDelta::seconds(span / 2);
    todo.push((mid, to));
    todo.push((from, mid));
    true
}

/// `t` rounded down to the second.
fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

impl Pusher {
    /// Reads every listing of the seller in `markets` (see the module).
    pub async fn scan_listings(
        &self,
        ctx: &SellerContext,
        seller: &SellerId,
        markets: &[MarketplaceId],
        channel: &str,
        deadline: &Deadline,
    ) -> Result<Scan, PushError> {
        let mut scan = Scan::default();
        // The last window ends a minute ahead (bounds are whole seconds,
        // and a listing created while the scan runs must not fall outside).
        let end = whole_second(self.clock.now()) + TimeDelta::minutes(1);
        // Windows of creation dates still to read, the oldest popped first.
        let mut todo: Vec<(DateTime<Utc>, DateTime<Utc>)> = vec![(epoch(), end)];
        let base = SearchListingsItems {
            seller_id: seller.clone(),
            marketplace_ids: markets.to_vec(),
            included_data: vec![ItemData::Summaries, ItemData::FulfillmentAvailability],
            created_after: None,
            created_before: None,
            page_size: SEARCH_PAGE_SIZE,
            page_token: None,
        };
        let mut incomplete: Option<String> = None;
        'windows: while let Some((from, to)) = todo.pop() {
            scan.windows += 1;
            let mut call = SearchListingsItems {
                created_after: Some(from),
                created_before: Some(to),
                ..base.clone()
            };
            let mut first = true;
            // Listings of this window read so far, and how many Amazon says it has.
            let mut read = 0u64;
            let mut found = 0u64;
            loop {
                if !deadline.allows(MARGIN) {
                    incomplete = Some(format!(
                        "out of time after {} listings ({} calls); run `connector-admin skus reconcile {seller}` for a whole scan",
                        scan.listings.len(),
                        scan.calls
                    ));
                    break 'windows;
                }
                let page = match self.api.call(ctx, &call, deadline).await {
                    Ok(p) => p,
                    Err(SpApiError::ResumeLater { .. }) => {
                        incomplete = Some(format!(
                            "the seller's searchListingsItems quota ran out after {} calls",
                            scan.calls
                        ));
                        break 'windows;
                    }
                    Err(e) => return Err(e.into()),
                };
                scan.calls += 1;
                read += page.items.len() as u64;
                found = found.max(page.number_of_results);
                for item in &page.items {
                    scan.listings.insert(item.sku.clone(), facts(item, channel));
                }
                // More than Amazon pages through: narrow at once.
                if first
                    && page.number_of_results > SEARCH_RESULTS_CAP
                    && split(&mut todo, from, to)
                {
                    continue 'windows;
                }
                first = false;
                match page.pagination.and_then(|p| p.next_token) {
                    Some(token) => call.page_token = Some(token),
                    None => break,
                }
            }
            // Paging ended before all Amazon counted (its cap, whatever it
            // is): read the window again in halves.
            if read < found && !split(&mut todo, from, to) {
                incomplete.get_or_insert_with(|| {
                    format!(
                        "{found} listings were created within one second ({}); Amazon paged through {read} of them",
                        from.to_rfc3339()
                    )
                });
            }
        }
        scan.complete = incomplete.is_none();
        scan.incomplete_reason = incomplete;
        Ok(scan)
    }

    /// Reconciles one seller's SKUs; with `record`, keeps the report, writes
    /// the gauges and the audit line (the weekly job and the CLI both do).
    pub async fn reconcile_skus(
        &self,
        seller_id: &str,
        deadline: &Deadline,
        record: bool,
    ) -> Result<SkuReport, PushError> {
        let result = self.reconcile_inner(seller_id, deadline, record).await;
        if let Err(e) = &result {
            lambda_kit::audit!(failure, RECONCILE_ACTION, seller = seller_id, error = %e, "SKU reconciliation failed");
        }
        result
    }

    /// What both the reconciliation and the stock dry run read: the
    /// seller's settings and marketplaces, the whole WMS stock (first:
    /// without it there is nothing to compare) and every Amazon listing.
    pub(crate) async fn gather(
        &self,
        seller_id: &str,
        deadline: &Deadline,
    ) -> Result<Gathered, PushError> {
        let (seller, settings) = self.seller(seller_id).await?;
        let now = self.clock.now();
        let ctx = SellerContext::from(&settings);
        let markets = self.marketplaces(&settings, now, deadline).await?;
        let items = self
            .source
            .fetch_all(settings.client_code.as_str(), deadline)
            .await
            .map_err(PushError::Stock)?;
        let channel = settings
            .inventory
            .fulfillment_channel_code
            .clone()
            .unwrap_or_else(|| DEFAULT_CHANNEL.to_string());
        let scan = self
            .scan_listings(&ctx, &seller, &markets, &channel, deadline)
            .await?;
        Ok(Gathered {
            seller,
            settings,
            markets,
            items,
            scan,
            now,
        })
    }

    async fn reconcile_inner(
        &self,
        seller_id: &str,
        deadline: &Deadline,
        record: bool,
    ) -> Result<SkuReport, PushError> {
        let g = self.gather(seller_id, deadline).await?;
        let report = g.report();
        let (seller, now) = (g.seller, g.now);
        if !report.complete {
            tracing::warn!(
                seller_id,
                reason = report.incomplete_reason.as_deref().unwrap_or(""),
                "the SKU reconciliation read only part of the Amazon listings: SKUs only in the WMS are not reported"
            );
        }
        if record {
            self.record_reconciliation(&seller, &report, now).await?;
        }
        Ok(report)
    }

    async fn record_reconciliation(
        &self,
        seller: &SellerId,
        report: &SkuReport,
        now: DateTime<Utc>,
    ) -> Result<(), PushError> {
        let gauge = |name: &'static str, n: usize| {
            self.metrics
                .gauge(Job::InventoryPush, seller, name, n as u64);
        };
        gauge(SKUS_ONLY_ON_AMAZON, report.only_on_amazon.count);
        if let Some(l) = &report.only_in_wms {
            gauge(SKUS_ONLY_IN_WMS, l.count);
        }
        gauge(SKU_MAP_DANGLING, report.dangling_mappings.len());
        let stored = StoredReconciliation {
            ran_at: Some(now),
            report: Some(report.trimmed(STORED_SKUS)),
        };
        let value = serde_json::to_value(&stored).map_err(|e| {
            PushError::Store(store::StoreError::Json {
                what: "SKU reconciliation",
                path: "/".into(),
                problem: e.to_string(),
            })
        })?;
        let current = self.checkpoints.get_checkpoint(seller, CHECKPOINT).await?;
        match self
            .checkpoints
            .put_checkpoint(seller, CHECKPOINT, &value, current.map(|c| c.version))
            .await
        {
            // Another run wrote at the same time: its report stands.
            Ok(_) | Err(store::StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if report.problems() > 0 {
            tracing::warn!(
                seller_id = %seller,
                only_on_amazon = report.only_on_amazon.count,
                only_in_wms = report.only_in_wms.as_ref().map(|l| l.count),
                not_mfn_on_amazon = report.not_mfn_on_amazon.as_ref().map(|l| l.count),
                dangling_mappings = report.dangling_mappings.len(),
                first_only_on_amazon = %report.only_on_amazon.skus.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                "SKUs differ between Amazon and the WMS: `connector-admin skus report {seller}` shows them"
            );
        }
        lambda_kit::audit!(
            success,
            RECONCILE_ACTION,
            seller = %seller,
            complete = report.complete,
            amazon_listings = report.amazon_listings,
            wms_skus = report.wms_skus,
            matched = report.matched,
            only_on_amazon = report.only_on_amazon.count,
            only_in_wms = report.only_in_wms.as_ref().map_or(0, |l| l.count),
            dangling_mappings = report.dangling_mappings.len(),
            calls = report.calls,
            "SKU reconciliation finished"
        );
        Ok(())
    }

    /// The last reconciliation kept for the seller.
    pub async fn last_reconciliation(
        &self,
        seller: &SellerId,
    ) -> Result<Option<StoredReconciliation>, PushError> {
        Ok(self
            .checkpoints
            .get_checkpoint(seller, CHECKPOINT)
            .await?
            .and_then(|c| serde_json::from_value(c.value).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spapi::models::listings::FulfillmentAvailability;

    fn item(channels: &[&str], status: &[&str]) -> Item {
        Item {
            sku: "S".into(),
            summaries: vec![
                serde_json::json!({"marketplaceId": "A1PA6795UKMFR9", "status": status}),
            ],
            attributes: None,
            issues: Vec::new(),
            fulfillment_availability: channels
                .iter()
                .map(|c| FulfillmentAvailability {
                    fulfillment_channel_code: c.to_string(),
                    quantity: Some(3),
                })
                .collect(),
            product_types: Vec::new(),
        }
    }

    #[test]
    fn channels_and_status_decide_what_a_listing_is() {
        let mfn = facts(&item(&["DEFAULT"], &["BUYABLE"]), "DEFAULT");
        assert!(mfn.merchant_fulfilled && mfn.active);
        assert_eq!(mfn.quantity, Some(3));
        let fba = facts(&item(&["AMAZON_EU"], &["BUYABLE"]), "DEFAULT");
        assert!(!fba.merchant_fulfilled);
        let fresh = facts(&item(&[], &["DISCOVERABLE"]), "DEFAULT");
        assert!(
            fresh.merchant_fulfilled,
            "no channel yet: the push would set one"
        );
        let closed = facts(&item(&["DEFAULT"], &[]), "DEFAULT");
        assert!(!closed.active);
        let sfp = facts(&item(&["SFP_CHANNEL"], &["BUYABLE"]), "SFP_CHANNEL");
        assert!(
            sfp.merchant_fulfilled,
            "the seller's own configured channel"
        );
    }
}
