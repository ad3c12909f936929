//! The one request path of every simulated SP-API operation: the token
//! (a seller's or the application's), the injected fault, the quota, the
//! operation's handler, then the answer as Amazon shapes it. Below the
//! router (`spapi`) and every area that serves an operation.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::Operation;
use serde_json::Value;

use crate::faults::{Call, Fault, OpCall};
use crate::http::{
    error_list, new_request_id, quota_exceeded, respond, server_error, status_of, truncated,
    wrong_type,
};
use crate::lwa::{authenticate, authenticate_app, expire_all};
use crate::quota::{Bucket, Plan};
use crate::state::{Inner, Shared};

/// What an operation's handler answers: its body, or an error answer.
pub(crate) type Outcome = Result<Value, (StatusCode, Value)>;

/// Whose token an operation takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// A seller's (refresh-token grant); its bucket is the seller's.
    Seller,
    /// The application's grantless token; its bucket is the application's.
    App,
}

/// The quota and metrics scope of grantless calls.
pub(crate) const APP_SCOPE: &str = "app";

/// Runs one SP-API call through auth, faults and quota, then `handler`.
pub(crate) async fn pipeline<F>(
    shared: &Shared,
    call: OpCall,
    headers: &HeaderMap,
    handler: F,
) -> Response
where
    F: FnOnce(&mut Inner, &str, Option<&Fault>) -> Outcome,
{
    pipeline_as(shared, call, headers, Auth::Seller, handler).await
}

/// [`pipeline`] for an operation taking `auth`'s token; a grantless call's
/// handler gets [`APP_SCOPE`] as its "seller".
pub(crate) async fn pipeline_as<F>(
    shared: &Shared,
    call: OpCall,
    headers: &HeaderMap,
    auth: Auth,
    handler: F,
) -> Response
where
    F: FnOnce(&mut Inner, &str, Option<&Fault>) -> Outcome,
{
    let OpCall { op, .. } = call;
    let request_id = new_request_id();
    let fault = shared.lock().faults.take(Call::from(call));
    match fault {
        Some(Fault::Slow { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        Some(Fault::ExpireTokens) => expire_all(&mut shared.lock()),
        _ => {}
    }
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok());
    let (status, body, rate) = {
        let mut inner = shared.lock();
        let who = match auth {
            Auth::Seller => authenticate(&inner, shared.speed, token),
            Auth::App => {
                authenticate_app(&inner, shared.speed, token).map(|()| APP_SCOPE.to_string())
            }
        };
        match who {
            Err(denied) => (
                StatusCode::FORBIDDEN,
                error_list(
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    denied.details(),
                ),
                None,
            ),
            Ok(seller) => {
                let answer = serve(
                    &mut inner,
                    shared.speed,
                    op,
                    &seller,
                    fault.as_ref(),
                    handler,
                );
                inner.record(&seller, op, answer.0.as_u16());
                answer
            }
        }
    };
    let text = match (&fault, status) {
        (Some(Fault::Malformed), StatusCode::OK) => truncated(&body.to_string()),
        (Some(Fault::WrongType), StatusCode::OK) => wrong_type(body).to_string(),
        _ => body.to_string(),
    };
    tracing::info!(
        operation = op.name(),
        status = status.as_u16(),
        request_id,
        "answered"
    );
    respond(status, &request_id, rate, text)
}

fn serve<F>(
    inner: &mut Inner,
    speed: f64,
    op: Operation,
    seller: &str,
    fault: Option<&Fault>,
    handler: F,
) -> (StatusCode, Value, Option<String>)
where
    F: FnOnce(&mut Inner, &str, Option<&Fault>) -> Outcome,
{
    if inner.faults.storm_hit(op) || fault == Some(&Fault::Throttle) {
        inner
            .metrics
            .entry((seller.to_string(), op))
            .or_default()
            .injected_throttles += 1;
        return (StatusCode::TOO_MANY_REQUESTS, quota_exceeded(), None);
    }
    if let Some(Fault::Status { code }) = fault {
        return (status_of(*code), server_error(*code), None);
    }
    if fault == Some(&Fault::Unauthorized) {
        return (
            StatusCode::FORBIDDEN,
            error_list(
                "Unauthorized",
                "Access to requested resource is denied.",
                "",
            ),
            None,
        );
    }
    let key = (seller.to_string(), op);
    let plan = Plan::for_operation(op, inner.rate_overrides.get(&key).copied());
    let now = std::time::Instant::now();
    let bucket = inner
        .buckets
        .entry(key)
        .or_insert_with(|| Bucket::full(plan.burst, now));
    if !bucket.try_take(plan, speed, now) {
        return (StatusCode::TOO_MANY_REQUESTS, quota_exceeded(), None);
    }
    let rate = Some(plan.header_value());
    match handler(inner, seller, fault) {
        Ok(body) => (StatusCode::OK, body, rate),
        Err((status, body)) => (status, body, rate),
    }
}
