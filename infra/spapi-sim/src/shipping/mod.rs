//! Amazon Shipping API v2 in the simulator, with state:
//!
//! - **getRates** offers three services (Amazon Shipping, DHL Paket, UPS
//!   Express Saver) priced from the packages' weight in the marketplace's
//!   currency, under a `requestToken` that expires after 10 minutes of
//!   simulated time (`TOKEN_EXPIRED` afterwards). Channel `AMAZON` needs an
//!   open merchant-fulfilled order of the seller (its `shipTo` is ignored,
//!   as Amazon ignores it); `EXTERNAL` needs a `shipTo`. DHL refuses packages
//!   over 31.5 kg (an `ineligibleRates` entry).
//! - **purchaseShipment** buys one of the token's rates. With an
//!   `x-amzn-IdempotencyKey` it behaves as Amazon documents: the same key and
//!   body answer the same shipment again (not bought again); the same key with
//!   another body is refused. Every real purchase is counted
//!   ([`SimControl::label_purchases`]). A purchase for an Amazon order marks
//!   the order's items in the package shipped (all open items when the
//!   package names none).
//! - **oneClickShipment** rates and buys the cheapest of the listed services.
//! - **getShipmentDocuments** returns the label again in the asked format;
//!   labels are small but well-formed PDF, PNG or ZPL files, base64-encoded
//!   (padded to a size with [`SimControl::set_label_padding`]).
//! - **getTracking** events follow simulated time since the purchase
//!   (pick-up after 2 h, delivered on the promised day); a cancelled
//!   shipment shows `PickupCancelled`.
//! - **cancelShipment** works until pick-up (2 simulated hours), once.
//! - Fault: [`SimControl::lose_purchase_answers`] makes the seller's next
//!   purchases succeed but answer 503, as when Amazon's answer is lost.
//! - A cross-border shipment (ship-to country other than the ship-from's)
//!   needs a customs declaration for UPS: its rate has
//!   `requiresAdditionalInputs`, getAdditionalInputs gives the schema and the
//!   purchase checks `additionalInputs` against it ([`inputs`]).
//! - Items may carry `serialNumbers` (channel `AMAZON` only, at most the
//!   quantity, unique); what Amazon was told is kept per shipment.
//! - Every shipment remembers its ship-from address for the carrier's
//!   collection forms ([`collection_forms`]); a shipment on a form can
//!   no longer be cancelled.
//!
//! The `x-amzn-shipping-business-id` header must be one of the model's values
//! when present; the last one seen per seller is kept for tests.

mod cancel;
pub(crate) mod collection_forms;
mod common;
mod control;
mod documents;
pub(crate) mod inputs;
mod label_files;
mod one_click;
mod purchase;
mod rates;
mod tracking;
pub(crate) mod types;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};

use crate::state::Shared;

pub use collection_forms::CollectionFormView;
pub use inputs::customs_schema;
pub use label_files::label_file;
pub use types::{PICKUP_AFTER, ShipmentView, TOKEN_LIFETIME};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/shipping/v2/shipments/rates", post(rates::rates_route))
        .route("/shipping/v2/shipments", post(purchase::purchase_route))
        .route(
            "/shipping/v2/oneClickShipment",
            post(one_click::one_click_route),
        )
        .route(
            "/shipping/v2/shipments/{shipment_id}/cancel",
            put(cancel::cancel_route),
        )
        .route(
            "/shipping/v2/shipments/{shipment_id}/documents",
            get(documents::documents_route),
        )
        .route("/shipping/v2/tracking", get(tracking::tracking_route))
        .merge(inputs::routes())
        .merge(collection_forms::routes())
}
