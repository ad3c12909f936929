//! The control API over HTTP under `/_sim/` (JSON in and out, no auth: the
//! simulator listens on 127.0.0.1 only). Each route calls one [`SimControl`]
//! method; errors are `{"error": "..."}` with 404 (unknown seller, order or
//! operation) or 400.

use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use domain::Operation;
use domain::settings::OrderStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ControlError;
use crate::faults::{Fault, FaultTarget};
use crate::orders::{CancelSpec, OrderSpec, ShipSpec};
use crate::state::iso;
use crate::{SellerSpec, SimControl, SimError};

pub fn routes() -> Router<SimControl> {
    Router::new()
        .route("/_sim/health", get(health))
        .route("/_sim/apps", post(register_app))
        .route("/_sim/sellers", post(add_seller))
        .route("/_sim/sellers/{seller}/revoke", post(revoke))
        .route("/_sim/sellers/{seller}/orders", post(seed_orders))
        .route("/_sim/sellers/{seller}/orders/{order}", get(order_json))
        .route(
            "/_sim/sellers/{seller}/orders/{order}/status",
            post(set_status),
        )
        .route("/_sim/sellers/{seller}/orders/{order}/ship", post(ship))
        .route("/_sim/sellers/{seller}/orders/{order}/cancel", post(cancel))
        .route(
            "/_sim/sellers/{seller}/rates/{operation}",
            put(set_rate).delete(clear_rate),
        )
        .route("/_sim/clock", get(clock))
        .route("/_sim/clock/advance", post(advance_clock))
        .route("/_sim/faults", post(inject_fault).get(pending_faults))
        .route("/_sim/storms", post(storm))
        .route("/_sim/expire-tokens", post(expire_tokens))
        .route("/_sim/metrics", get(metrics))
        .route("/_sim/reset", post(reset))
        .merge(crate::feeds::control::control_routes())
}

type Answer = Result<Json<Value>, ControlError>;
type Body<T> = Result<Json<T>, JsonRejection>;

fn ok() -> Answer {
    Ok(Json(json!({ "ok": true })))
}

fn operation(name: &str) -> Result<Operation, ControlError> {
    Operation::from_name(name).ok_or_else(|| SimError::UnknownOperation(name.to_string()).into())
}

async fn health(State(c): State<SimControl>) -> Answer {
    Ok(Json(json!({ "ok": true, "speed": c.speed() })))
}

#[derive(Deserialize)]
struct AppBody {
    client_id: String,
    client_secret: String,
}

async fn register_app(State(c): State<SimControl>, body: Body<AppBody>) -> Answer {
    let Json(b) = body?;
    c.register_app(&b.client_id, &b.client_secret);
    ok()
}

async fn add_seller(State(c): State<SimControl>, body: Body<SellerSpec>) -> Answer {
    c.add_seller(body?.0)?;
    ok()
}

async fn revoke(State(c): State<SimControl>, Path(seller): Path<String>) -> Answer {
    c.revoke_refresh_token(&seller)?;
    ok()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<OrderSpec>),
    One(Box<OrderSpec>),
}

async fn seed_orders(
    State(c): State<SimControl>,
    Path(seller): Path<String>,
    body: Body<OneOrMany>,
) -> Answer {
    let specs = match body?.0 {
        OneOrMany::Many(v) => v,
        OneOrMany::One(o) => vec![*o],
    };
    let ids = c.seed_orders(&seller, specs)?;
    Ok(Json(json!({ "order_ids": ids })))
}

async fn order_json(
    State(c): State<SimControl>,
    Path((seller, order)): Path<(String, String)>,
) -> Answer {
    Ok(Json(c.order_json(&seller, &order)?))
}

#[derive(Deserialize)]
struct StatusBody {
    status: OrderStatus,
}

async fn set_status(
    State(c): State<SimControl>,
    Path((seller, order)): Path<(String, String)>,
    body: Body<StatusBody>,
) -> Answer {
    c.set_status(&seller, &order, body?.0.status)?;
    ok()
}

async fn ship(
    State(c): State<SimControl>,
    Path((seller, order)): Path<(String, String)>,
    body: Body<ShipSpec>,
) -> Answer {
    c.ship(&seller, &order, body?.0)?;
    ok()
}

async fn cancel(
    State(c): State<SimControl>,
    Path((seller, order)): Path<(String, String)>,
    body: Body<CancelSpec>,
) -> Answer {
    c.cancel(&seller, &order, body?.0)?;
    ok()
}

#[derive(Deserialize)]
struct RateBody {
    rate: f64,
    #[serde(default)]
    burst: Option<u32>,
}

async fn set_rate(
    State(c): State<SimControl>,
    Path((seller, op)): Path<(String, String)>,
    body: Body<RateBody>,
) -> Answer {
    let b = body?.0;
    c.set_rate(&seller, operation(&op)?, b.rate, b.burst)?;
    ok()
}

async fn clear_rate(
    State(c): State<SimControl>,
    Path((seller, op)): Path<(String, String)>,
) -> Answer {
    c.clear_rate(&seller, operation(&op)?);
    ok()
}

async fn clock(State(c): State<SimControl>) -> Answer {
    Ok(Json(json!({ "now": iso(c.now()) })))
}

#[derive(Deserialize)]
struct AdvanceBody {
    seconds: u64,
}

async fn advance_clock(State(c): State<SimControl>, body: Body<AdvanceBody>) -> Answer {
    c.advance_clock(Duration::from_secs(body?.0.seconds));
    clock(State(c)).await
}

#[derive(Deserialize)]
struct FaultBody {
    #[serde(default = "any")]
    target: FaultTarget,
    fault: Fault,
}

fn any() -> FaultTarget {
    FaultTarget::Any
}

async fn inject_fault(State(c): State<SimControl>, body: Body<FaultBody>) -> Answer {
    let b = body?.0;
    c.inject_fault(b.target, b.fault)?;
    pending_faults(State(c)).await
}

async fn pending_faults(State(c): State<SimControl>) -> Answer {
    Ok(Json(json!({ "pending": c.pending_faults() })))
}

#[derive(Deserialize)]
struct StormBody {
    operation: String,
    calls: u32,
}

async fn storm(State(c): State<SimControl>, body: Body<StormBody>) -> Answer {
    let b = body?.0;
    c.storm(operation(&b.operation)?, b.calls);
    ok()
}

async fn expire_tokens(State(c): State<SimControl>) -> Answer {
    c.expire_access_tokens();
    ok()
}

async fn metrics(State(c): State<SimControl>) -> Answer {
    serde_json::to_value(c.metrics())
        .map(Json)
        .map_err(|e| ControlError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn reset(State(c): State<SimControl>) -> Answer {
    c.reset();
    ok()
}
