//! What tests and the demo see and set of Feeds and listings (through
//! [`crate::SimControl`] and `/_sim/`).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, State};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::settle::settle;
use super::types::{FeedTiming, Status};
use crate::state::Inner;

/// Control: cancels a feed that is still `IN_QUEUE` (as `cancelFeed` would).
pub(crate) fn cancel(
    inner: &mut Inner,
    speed: f64,
    seller: &str,
    feed_id: &str,
) -> Result<(), String> {
    settle(inner, speed);
    match inner.feeds.feeds.get_mut(feed_id) {
        Some(f) if f.seller == seller && f.status == Status::InQueue => {
            f.status = Status::Cancelled;
            Ok(())
        }
        Some(f) if f.seller == seller => Err(format!(
            "feed {feed_id} is {} and can no longer be cancelled",
            f.status.as_str()
        )),
        _ => Err(format!("no feed {feed_id} for seller {seller}")),
    }
}

/// A feed as control shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedView {
    pub feed_id: String,
    pub feed_type: String,
    /// `IN_QUEUE`, `IN_PROGRESS`, `DONE`, `FATAL` or `CANCELLED`.
    pub status: String,
    pub created: DateTime<Utc>,
    pub result_document_id: Option<String>,
}

impl crate::SimControl {
    /// Lists SKUs for the seller (replacing listings with the same SKU).
    pub fn seed_listings(
        &self,
        seller_id: &str,
        specs: Vec<crate::listings::types::ListingSpec>,
    ) -> Result<(), crate::SimError> {
        self.with(|s| {
            s.seller(seller_id)?;
            let now = s.now();
            let listings = s
                .feeds
                .listings
                .by_seller
                .entry(seller_id.to_string())
                .or_default();
            for spec in specs {
                if spec.sku.is_empty() {
                    return Err(crate::SimError::InvalidSpec("a listing needs a SKU".into()));
                }
                listings.insert(
                    spec.sku.clone(),
                    crate::listings::types::Listing::from_spec(&spec, now),
                );
            }
            Ok(())
        })
    }

    /// The seller's `DEFAULT` (MFN) quantity per SKU, after every feed that
    /// has finished by now was applied. `None` = listed without a quantity.
    pub fn listing_quantities(&self, seller_id: &str) -> BTreeMap<String, Option<u32>> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            s.feeds
                .listings
                .by_seller
                .get(seller_id)
                .map(|l| {
                    l.iter()
                        .map(|(sku, listing)| (sku.clone(), listing.quantity("DEFAULT")))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// One SKU's `DEFAULT` quantity (`None`: not listed, or no quantity).
    pub fn listing_quantity(&self, seller_id: &str, sku: &str) -> Option<u32> {
        self.listing_quantities(seller_id)
            .get(sku)
            .copied()
            .flatten()
    }

    /// The `DEFAULT` quantity the SKU's listing offers in `marketplace`
    /// (the last patch or feed naming it, else the seeded value).
    pub fn listing_quantity_in(
        &self,
        seller_id: &str,
        sku: &str,
        marketplace: &str,
    ) -> Option<u32> {
        self.with(|s| {
            s.feeds
                .listings
                .by_seller
                .get(seller_id)?
                .get(sku)?
                .quantity_in(marketplace, "DEFAULT")
        })
    }

    /// The quantity the SKU's listing offers on `channel` (`None` if not listed
    /// or nothing on that channel).
    pub fn listing_channel_quantity(
        &self,
        seller_id: &str,
        sku: &str,
        channel: &str,
    ) -> Option<u32> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            s.feeds
                .listings
                .by_seller
                .get(seller_id)
                .and_then(|l| l.get(sku))
                .and_then(|l| l.quantity(channel))
        })
    }

    /// How many patches were applied to the SKU's listing (0 if not listed).
    pub fn listing_patches(&self, seller_id: &str, sku: &str) -> u64 {
        self.with(|s| {
            s.feeds
                .listings
                .by_seller
                .get(seller_id)
                .and_then(|l| l.get(sku))
                .map_or(0, |l| l.patches_applied)
        })
    }

    /// Every later patch of the listed SKU (by `patchListingsItem` or in a
    /// feed) is refused with this issue code and message.
    pub fn refuse_listing(
        &self,
        seller_id: &str,
        sku: &str,
        code: &str,
        message: &str,
    ) -> Result<(), crate::SimError> {
        self.with(|s| {
            let listing = s
                .feeds
                .listings
                .by_seller
                .get_mut(seller_id)
                .and_then(|l| l.get_mut(sku))
                .ok_or_else(|| {
                    crate::SimError::InvalidSpec(format!("{sku} is not listed for {seller_id}"))
                })?;
            listing.refusal = Some((code.to_string(), message.to_string()));
            Ok(())
        })
    }

    /// The seller's next `n` feeds stay `IN_PROGRESS` for ever (0 clears).
    pub fn stall_feeds(&self, seller_id: &str, n: u32) {
        self.with(|s| s.feeds.stall_next(seller_id, n));
    }

    /// How long feeds created from now on wait and are processed, in
    /// simulated time.
    pub fn set_feed_timing(&self, timing: FeedTiming) {
        self.with(|s| s.feeds.timing = timing);
    }

    /// The seller's feeds, oldest first, moved along to now.
    pub fn feeds(&self, seller_id: &str) -> Vec<FeedView> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            s.feeds
                .feeds
                .values()
                .filter(|f| f.seller == seller_id)
                .map(|f| FeedView {
                    feed_id: f.id.clone(),
                    feed_type: f.feed_type.clone(),
                    status: f.status.as_str().to_string(),
                    created: f.created_at,
                    result_document_id: f.result_document.clone(),
                })
                .collect()
        })
    }

    /// The document a feed was submitted with, as uploaded (`None` if the
    /// feed is unknown or nothing was uploaded).
    pub fn feed_input(&self, seller_id: &str, feed_id: &str) -> Option<(String, Vec<u8>)> {
        self.with(|s| {
            let f = s
                .feeds
                .feeds
                .get(feed_id)
                .filter(|f| f.seller == seller_id)?;
            let d = s.feeds.documents.get(&f.input_document)?;
            Some((d.content_type.clone(), d.content.clone()?))
        })
    }

    /// A feed's processing report, decompressed (`None` until there is one).
    pub fn feed_report(&self, seller_id: &str, feed_id: &str) -> Option<Vec<u8>> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            let f = s
                .feeds
                .feeds
                .get(feed_id)
                .filter(|f| f.seller == seller_id)?;
            let d = s.feeds.documents.get(f.result_document.as_ref()?)?;
            let content = d.content.clone()?;
            if d.gzip {
                let mut out = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(content.as_slice()),
                    &mut out,
                )
                .ok()?;
                Some(out)
            } else {
                Some(content)
            }
        })
    }

    /// Cancels a feed still `IN_QUEUE` (as Amazon's `cancelFeed`).
    pub fn cancel_feed(&self, seller_id: &str, feed_id: &str) -> Result<(), crate::SimError> {
        let speed = self.speed();
        self.with(|s| cancel(s, speed, seller_id, feed_id))
            .map_err(crate::SimError::InvalidSpec)
    }
}

/// The `/_sim` control routes for listings and feeds (merged into
/// `control_http::routes`).
pub(crate) fn control_routes() -> Router<crate::SimControl> {
    Router::new()
        .route(
            "/_sim/sellers/{seller}/listings",
            post(seed_listings_http).get(listings_http),
        )
        .route("/_sim/sellers/{seller}/feeds", get(feeds_http))
        .route("/_sim/sellers/{seller}/feeds/stall", post(stall_http))
}

pub(super) type ControlAnswer = Result<Json<Value>, crate::error::ControlError>;

pub(super) async fn seed_listings_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
    body: Result<Json<Vec<crate::listings::types::ListingSpec>>, JsonRejection>,
) -> ControlAnswer {
    let Json(specs) = body?;
    c.seed_listings(&seller, specs)?;
    Ok(Json(json!({ "ok": true })))
}

pub(super) async fn listings_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
) -> ControlAnswer {
    Ok(Json(json!({ "quantities": c.listing_quantities(&seller) })))
}

pub(super) async fn feeds_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
) -> ControlAnswer {
    Ok(Json(json!({ "feeds": c.feeds(&seller) })))
}

#[derive(serde::Deserialize)]
pub(super) struct StallBody {
    count: u32,
}

pub(super) async fn stall_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
    body: Result<Json<StallBody>, JsonRejection>,
) -> ControlAnswer {
    let Json(b) = body?;
    c.stall_feeds(&seller, b.count);
    Ok(Json(json!({ "ok": true })))
}
