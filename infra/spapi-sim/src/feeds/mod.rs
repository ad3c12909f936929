//! Feeds API v2021-06-30 in the simulator, for any feed type.
//!
//! - **Feed documents**: `createFeedDocument` answers a pre-signed URL on the
//!   simulator itself (`/feed-documents/{id}?signature=...`, valid 5 simulated
//!   minutes). The URL behaves like S3's: `PUT` with the document's
//!   `Content-Type` (else 403 `SignatureDoesNotMatch`), no `x-amz-*` header
//!   that was not signed (so an LWA token on it gets 403 `HeadersNotSigned`).
//! - **Feeds**: `IN_QUEUE` → `IN_PROGRESS` → `DONE`/`FATAL` driven by simulated
//!   time (queue and processing delays, [`FeedTiming`]), `CANCELLED` through
//!   control while still queued. When a feed's processing ends, the
//!   [`processor::FeedProcessor`] registered for its feed type runs on the whole state
//!   and its report becomes the `resultFeedDocumentId` (gzipped, with
//!   `compressionAlgorithm: GZIP`, when larger than [`types::GZIP_OVER`] bytes).
//!   Feeds are settled lazily whenever anything observes them (`getFeed`,
//!   `getListingsItem`, control).
//! - **Processors**: one per feed type, listed in `registry` (`JSON_LISTINGS_FEED`:
//!   `listings_feed`; `POST_ORDER_FULFILLMENT_DATA`: `crate::shipments`).
//!   Another feed type registers its own with one line there. An unknown
//!   feed type is refused by `createFeed` (400 InvalidInput), as Amazon does.
//! - **Limits**: `JSON_LISTINGS_FEED` accepts 5 submissions per 5 simulated
//!   minutes per seller (the 6th gets 429 QuotaExceeded), and at most 25,000
//!   messages (more: the feed ends `FATAL`).
//! - **Faults**: `SimControl::stall_feeds(seller, n)` makes the seller's next
//!   `n` feeds stay `IN_PROGRESS` for ever (a known Amazon failure mode).

pub(crate) mod control;
mod create;
mod documents;
mod listings_feed;
pub(crate) mod processor;
mod query;
mod registry;
pub(crate) mod settle;
pub(crate) mod types;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::Shared;

pub use control::FeedView;
pub use types::FeedTiming;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/feeds/2021-06-30/documents",
            post(documents::create_document_route),
        )
        .route(
            "/feeds/2021-06-30/documents/{document_id}",
            get(documents::get_document_route),
        )
        .route(
            "/feeds/2021-06-30/feeds",
            post(create::create_feed_route).get(query::get_feeds_route),
        )
        .route(
            "/feeds/2021-06-30/feeds/{feed_id}",
            get(query::get_feed_route),
        )
        .route(
            "/feed-documents/{document_id}",
            get(documents::download_route)
                .put(documents::upload_route)
                // A 25,000-message feed is ~5 MB; axum's default is 2 MB.
                .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024)),
        )
}
