//! SP-API simulator: a stateful HTTP server on 127.0.0.1 that answers like
//! Amazon for what the connector calls — Login with Amazon (`/auth/o2/token`),
//! Orders v2026-01-01 (`searchOrders`, `getOrder`) and Sellers
//! (`getMarketplaceParticipations`), Feeds, Listings (`patchListingsItem`,
//! `getListingsItem`, `searchListingsItems` with Amazon's 1000-item cap),
//! v0 `confirmShipment`, Amazon Shipping v2 (rates that may need
//! additional inputs, purchases with serial numbers, collection forms) and
//! Notifications (destinations, subscriptions, and `ORDER_CHANGE` delivery
//! through a [`NotificationSink`]) — with response shapes built from the
//! official models in `shared/amazon/models/`, Amazon's parameter rules,
//! per-(seller, operation) token buckets with the published rates from
//! [`domain::Operation::spec`], time compression (`speed`), and injectable
//! faults (throttles, 5xx, slow or malformed answers, duplicated pages,
//! expired tokens). Tests drive it in-process through [`SimControl`]; other
//! processes (the demo) through the same operations under `/_sim/`.
//!
//! It is test and demo infrastructure: it depends on no production crate but
//! `domain`, and production code must never depend on it. It never logs buyer
//! data or tokens (operation, status and request id only).

mod clock;
mod consent;
mod control;
mod control_http;
mod error;
mod faults;
mod feeds;
mod http;
mod listings;
mod lwa;
mod marketplaces;
mod money;
mod notifications;
mod orders;
mod pipeline;
mod quota;
mod search;
mod shipments;
mod shipping;
mod spapi;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use consent::{CODE_LIFETIME, SECRET_OVERLAP, SolutionSpec};
pub use control::{MetricsReport, SellerSpec, SimControl};
pub use error::SimError;
pub use faults::{Fault, FaultTarget};
pub use feeds::{FeedTiming, FeedView};
pub use listings::{ListingSpec, SKU_NOT_FOUND};
pub use marketplaces::{MARKETPLACES, MarketplaceInfo, NON_AMAZON_ID};
pub use notifications::{
    APPLICATION_ID, NotificationDelivery, NotificationSink, NotificationStats, publish_time,
};
pub use orders::{
    AddressSpec, BuyerSpec, CancelParty, CancelSpec, FulfilledBy, ItemSpec, OrderSpec, PackageView,
    ShipItem, ShipSpec, TimeWindow, random_order_id,
};
pub use quota::{MetricsRow, OperationMetrics};
pub use shipping::{
    CollectionFormView, PICKUP_AFTER, ShipmentView, TOKEN_LIFETIME, customs_schema, label_file,
};

/// How to run the simulator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// Time compression (≥ 1): quota refill, access-token lifetimes and
    /// pagination-token expiry run `speed` times faster than wall time.
    pub speed: f64,
    /// 0 picks a free port.
    pub port: u16,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            speed: 1.0,
            port: 0,
        }
    }
}

/// A running simulator. Dropping it stops the server too; [`SimHandle::shutdown`]
/// also waits for it.
pub struct SimHandle {
    addr: SocketAddr,
    control: SimControl,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// Delivers due notifications (stopped with the simulator).
    deliverer: Option<JoinHandle<()>>,
}

/// Starts the simulator on 127.0.0.1 (never another interface).
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    if !(config.speed.is_finite() && config.speed >= 1.0) {
        return Err(SimError::InvalidSpeed(config.speed));
    }
    let shared = Arc::new(state::Shared::new(config.speed));
    let control = SimControl::new(shared.clone());
    let app = router(shared, control.clone());
    let deliverer = tokio::spawn(notifications::deliver_forever(control.clone()));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
        .await
        .map_err(|source| SimError::Bind {
            port: config.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        port: config.port,
        source,
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, speed = config.speed, "spapi-sim listening");
    Ok(SimHandle {
        addr,
        control,
        stop: Some(stop),
        task: Some(task),
        deliverer: Some(deliverer),
    })
}

fn router(shared: Arc<state::Shared>, control: SimControl) -> Router {
    let amazon = spapi::routes()
        .merge(consent::routes())
        .route("/auth/o2/token", post(lwa::token_endpoint))
        .with_state(shared);
    amazon
        .merge(control_http::routes().with_state(control))
        .fallback(not_found)
}

async fn not_found() -> Response {
    let body = http::error_list("NotFound", "Resource not found.", "");
    http::respond(
        StatusCode::NOT_FOUND,
        &http::new_request_id(),
        None,
        body.to_string(),
    )
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the SP-API "host" for the client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/auth/o2/token`.
    pub fn lwa_token_url(&self) -> String {
        format!("{}/auth/o2/token", self.base_url())
    }

    /// In-process control (the same operations as `/_sim/`).
    pub fn control(&self) -> &SimControl {
        &self.control
    }

    /// Same as [`SimHandle::control`].
    pub fn state(&self) -> &SimControl {
        &self.control
    }

    /// Stops accepting requests and waits (at most 5 s) for the server to end.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(d) = self.deliverer.take() {
            d.abort();
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(SimError::Serve(e)),
            Ok(Err(join)) => Err(SimError::Serve(std::io::Error::other(join))),
            Err(_) => {
                // Connections still open (e.g. a slow fault): stop hard.
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(d) = self.deliverer.take() {
            d.abort();
        }
    }
}
