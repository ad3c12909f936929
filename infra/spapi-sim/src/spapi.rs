//! The SP-API routes (Orders v2026-01-01 `searchOrders`/`getOrder`, Sellers
//! `getMarketplaceParticipations`) and the pipeline every call goes through:
//! request id → injected fault → access token → storm/throttle/5xx faults →
//! the (seller, operation) bucket → the operation → metrics and headers.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use domain::Operation;
use serde_json::{Value, json};

use crate::faults::{Call, Fault, OpCall};
use crate::http::{
    error_list, new_request_id, quota_exceeded, respond, server_error, status_of, truncated,
    wrong_type,
};
use crate::lwa::{authenticate, authenticate_app, expire_all};
use crate::marketplaces::marketplace;
use crate::quota::{Bucket, Plan};
use crate::search::{self, has_page_token, invalid_input, search_orders};
use crate::state::{Inner, Shared};

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;
type Outcome = Result<Value, (StatusCode, Value)>;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/orders/2026-01-01/orders", get(search_route))
        .route("/orders/2026-01-01/orders/{order_id}", get(get_order_route))
        .route(
            "/sellers/v1/marketplaceParticipations",
            get(participations_route),
        )
        .merge(crate::feeds::routes())
        .merge(crate::listings::routes())
        .merge(crate::shipments::routes())
        .merge(crate::shipping::routes())
        .merge(crate::notifications::routes())
}

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

fn query(pairs: Pairs) -> Result<search::Query, (StatusCode, Value)> {
    pairs
        .map(|Query(p)| search::Query(p))
        .map_err(|_| invalid_input("The query string is malformed."))
}

async fn search_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    pairs: Pairs,
) -> Response {
    let q = query(pairs);
    let call = OpCall {
        op: Operation::SearchOrders,
        has_page_token: q.as_ref().is_ok_and(has_page_token),
    };
    let speed = shared.speed;
    pipeline(&shared, call, &headers, move |inner, seller, fault| {
        let q = q?;
        if fault == Some(&Fault::ExpiredPageToken) {
            return Err(invalid_input("The paginationToken has expired."));
        }
        if fault == Some(&Fault::DuplicatePage)
            && let Some(page) = inner.last_page.get(seller)
        {
            return Ok(page.clone());
        }
        search_orders(inner, speed, seller, &q)
    })
    .await
}

async fn get_order_route(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    pairs: Pairs,
) -> Response {
    let q = query(pairs);
    let call = OpCall {
        op: Operation::GetOrder,
        has_page_token: false,
    };
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        let included = q?.included().map_err(invalid_input)?.unwrap_or_default();
        let seller = inner
            .seller(seller)
            .map_err(|_| invalid_input("Unknown seller."))?;
        let order = seller.orders.get(&order_id).ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                error_list(
                    "NotFound",
                    "The requested order was not found.",
                    "No order with this orderId exists for the selling partner.",
                ),
            )
        })?;
        let json = order.to_json(included, seller.pii, marketplace(&order.marketplace_id));
        Ok(json!({ "order": json }))
    })
    .await
}

async fn participations_route(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let call = OpCall {
        op: Operation::GetMarketplaceParticipations,
        has_page_token: false,
    };
    pipeline(&shared, call, &headers, |inner, seller, _| {
        let seller = inner
            .seller(seller)
            .map_err(|_| invalid_input("Unknown seller."))?;
        let entry = |m: &crate::MarketplaceInfo, participating: bool| {
            json!({
                "marketplace": {
                    "id": m.id,
                    "name": m.name,
                    "countryCode": m.country_code,
                    "defaultCurrencyCode": m.currency,
                    "defaultLanguageCode": m.language,
                    "domainName": m.domain,
                },
                "participation": { "isParticipating": participating, "hasSuspendedListings": false },
                "storeName": seller.store_name,
            })
        };
        let mut payload: Vec<Value> = seller
            .marketplace_ids
            .iter()
            .filter_map(|id| marketplace(id))
            .map(|m| entry(m, true))
            .collect();
        payload.extend(
            seller
                .dormant_marketplace_ids
                .iter()
                .filter_map(|id| marketplace(id))
                .map(|m| entry(m, false)),
        );
        if seller.non_amazon_channel
            && let Some(first) = seller.marketplace_ids.first().and_then(|id| marketplace(id))
        {
            // Amazon also lists non-Amazon sales channels (multi-channel
            // fulfilment); their ids take no orders or listings.
            payload.push(entry(&crate::marketplaces::non_amazon(first), true));
        }
        Ok(json!({ "payload": payload }))
    })
    .await
}

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
