//! Seller Central's side of the consent flow (issue 14), and the
//! application's own credentials:
//!
//! - the **consent page** `GET /apps/authorize/consent?application_id&state
//!   [&redirect_uri][&version=beta]`: checks the application, its draft
//!   status and the redirect URI as Amazon does (an error page, never a
//!   redirect to an unregistered URI), then shows who is signed in and two
//!   buttons. **Confirm** redirects to the redirect URI with
//!   `spapi_oauth_code`, `state` and `selling_partner_id`; **Deny** with
//!   `error=access_denied` and `state`;
//! - the **Appstore variant**: `GET /apps/appstore/authorize?application_id`
//!   sends the browser to the application's login URI with
//!   `amazon_callback_uri`, `amazon_state` and `selling_partner_id`; the
//!   application comes back to `amazon_callback_uri` with `redirect_uri`,
//!   `amazon_state` and its own `state`, and gets the same consent page;
//! - the **authorization codes** the LWA `authorization_code` grant
//!   exchanges (see `lwa`): valid [`CODE_LIFETIME`] of simulated time, once,
//!   for the application and redirect URI they were issued for; a new
//!   consent gives the seller a new refresh token (and one revoked before
//!   stays revoked);
//! - **client-secret rotation**: `POST /applications/2023-11-30/clientSecret`
//!   (grantless, scope `sellingpartnerapi::client_credential:rotation`)
//!   makes a new secret, keeps the old one working for an overlap, and puts
//!   an `APPLICATION_OAUTH_CLIENT_NEW_SECRET` notification into the
//!   application's outbox, which tests and the demo deliver to its SQS queue.
//!
//! Pages never echo a token or code into the simulator's logs.

mod control;
pub(crate) mod exchange;
mod pages;
mod rotation;
pub(crate) mod types;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::Shared;

pub use types::{CODE_LIFETIME, SECRET_OVERLAP, SolutionSpec};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/apps/authorize/consent", get(pages::consent_page))
        .route("/apps/authorize/consent/confirm", post(pages::confirm))
        .route("/apps/authorize/consent/deny", post(pages::deny))
        .route("/apps/appstore/authorize", get(pages::appstore_start))
        .route(
            "/apps/authorize/confirm/{application_id}",
            get(pages::appstore_return),
        )
        .route(
            "/applications/2023-11-30/clientSecret",
            post(rotation::rotate_secret),
        )
}
