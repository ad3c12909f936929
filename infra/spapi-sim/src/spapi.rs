//! The SP-API routes (Orders v2026-01-01 `searchOrders`/`getOrder`, Sellers
//! `getMarketplaceParticipations`) and the pipeline every call goes through:
//! request id → injected fault → access token → storm/throttle/5xx faults →
//! the (seller, operation) bucket → the operation → metrics and headers.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use domain::Operation;
use serde_json::{Value, json};

use crate::faults::{Fault, OpCall};
use crate::http::error_list;
use crate::marketplaces::marketplace;
use crate::pipeline::pipeline;
use crate::search::{self, has_page_token, invalid_input, search_orders};
use crate::state::Shared;

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

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
