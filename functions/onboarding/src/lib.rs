//! The onboarding Lambda (issue 14): sellers connect themselves. Its
//! Function URL is public by necessity (a seller's browser opens it, Amazon
//! redirects to it), so it is safe by design: every page is small escaped
//! HTML under a strict Content-Security-Policy, every Amazon URL is built
//! here (no open redirect), nothing secret is in a page or a log line, a
//! replayed or forged callback does nothing, and reserved concurrency caps
//! what a flood can cost.
//!
//! | request | what happens |
//! |---|---|
//! | `GET /connect?invitation=CODE` | the operator's invitation (the CLI's `invite`): who asks, what access, one button |
//! | `POST /connect` | a fresh single-use `state` bound to the invitation, then `303` to the region's Seller Central consent page (`version=beta` while the app is a draft) |
//! | `GET /callback?spapi_oauth_code&state&selling_partner_id` | the state consumed (conditional delete), the code exchanged at LWA, the marketplaces confirmed with `getMarketplaceParticipations`, the invitation claimed, the refresh token written to the seller's secret, the settings created or renewed; a success page. `?error=...`: the seller denied, or Amazon failed |
//! | `GET /login?amazon_callback_uri&amazon_state&selling_partner_id` | the Appstore variant: a page asking for the invitation code |
//! | `POST /login` | the code checked, a state made, `303` back to Amazon's `amazon_callback_uri` (Seller Central only) |
//!
//! Every failure is a page that says what happened and what to do
//! ([`error::OnboardingError`], [`pages::failure`]) and a log line with a
//! stable reason. After a seller is stored, [`ports::AfterConnect`] is
//! called: the place for what a connected seller needs next.
//!
//! Must not depend on other functions; reads no environment (see `main.rs`).

pub mod config;
pub mod error;
pub mod flow;
pub mod http;
pub mod pages;
pub mod ports;

use domain::Deadline;
use serde_json::Value;

pub use error::OnboardingError;
pub use flow::{Onboarding, Options};

/// The function's handler: a Function URL event in, its answer out.
pub async fn handle(service: &Onboarding, event: Value, deadline: Deadline) -> Value {
    // The invocation's metrics are written when it ends, however it ends.
    let _metrics = service.metrics.flush_on_drop();
    let response = match http::parse(event) {
        Ok(request) => service.route(&request, &deadline).await,
        Err(e) => {
            tracing::warn!(reason = e.reason(), error = %e, "not a Function URL request");
            pages::failure(&service.options.branding, &e)
        }
    };
    response.into_event()
}
