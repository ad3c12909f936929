//! Listings Items v2021-08-01 in the simulator: per-seller listings with
//! their attributes (the stock quantity is the `fulfillment_availability`
//! attribute), JSON Patch applied the way Amazon describes it (top-level
//! attributes only; `add`/`replace` set the value, `merge` merges entries by
//! `fulfillment_channel_code`, `delete` removes), and the routes
//! `patchListingsItem` / `getListingsItem`. `JSON_LISTINGS_FEED` messages
//! (in `feeds`) go through the same [`patch::apply_patches`].

pub(crate) mod common;
mod items;
pub(crate) mod patch;
mod search;
pub(crate) mod types;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::state::Shared;

pub use types::{ListingSpec, SKU_NOT_FOUND};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/listings/2021-08-01/items/{seller_id}/{sku}",
            get(items::get_route).patch(items::patch_route),
        )
        .merge(search::routes())
}
