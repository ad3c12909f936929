//! A fake WMS stock endpoint for tests: axum on 127.0.0.1 (free port) that
//! answers `GET /stock?client_code=..&cursor=..` with pages of
//! `stock-page.v1.json`, checks the bearer token, and misbehaves on demand
//! (down, HTTP 500, garbage).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::Sku;
use wms::{SchemaVersion, StockItem, StockPage};

/// How the fake answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WmsMode {
    Normal,
    /// HTTP 500 on every page.
    Status500,
    /// 200 with a body that is not a stock page.
    Garbage,
    /// The second page fails with 500 (the first one succeeds).
    FailSecondPage,
    /// 200 with the body given to [`FakeWms::set_raw_page`] on every page.
    Raw,
}

struct FakeState {
    token: String,
    stock: BTreeMap<String, Vec<StockItem>>,
    page_size: usize,
    mode: WmsMode,
    raw_page: String,
    requests: u32,
}

/// A running fake WMS stock endpoint.
pub struct FakeWms {
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

impl FakeWms {
    pub async fn start(token: &str, page_size: usize) -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            token: token.to_string(),
            stock: BTreeMap::new(),
            page_size: page_size.max(1),
            mode: WmsMode::Normal,
            raw_page: String::new(),
            requests: 0,
        }));
        let app = Router::new()
            .route("/stock", get(stock))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the fake WMS");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/stock", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Sets a client's stock: (sku, on_hand, available).
    pub fn set_stock(&self, client_code: &str, items: &[(&str, u32, u32)]) {
        let items = items
            .iter()
            .map(|(sku, on_hand, available)| StockItem {
                sku: Sku::new(*sku).expect("a valid SKU"),
                on_hand: *on_hand,
                available: *available,
            })
            .collect();
        self.set_items(client_code, items);
    }

    pub fn set_items(&self, client_code: &str, items: Vec<StockItem>) {
        self.with(|s| {
            s.stock.insert(client_code.to_string(), items);
        });
    }

    pub fn set_mode(&self, mode: WmsMode) {
        self.with(|s| s.mode = mode);
    }

    /// Answers every page with `body` (HTTP 200, JSON content type): a
    /// stock page as a broken WMS might write it.
    pub fn set_raw_page(&self, body: &str) {
        self.with(|s| {
            s.mode = WmsMode::Raw;
            s.raw_page = body.to_string();
        });
    }

    pub fn requests(&self) -> u32 {
        self.with(|s| s.requests)
    }

    /// Stops the server: connections are refused from now on.
    pub fn go_down(&self) {
        self.task.abort();
    }
}

impl Drop for FakeWms {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn stock(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.requests += 1;
    let expected = format!("Bearer {}", s.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response();
    }
    let offset: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    match s.mode {
        WmsMode::Status500 => return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        WmsMode::Garbage => return (StatusCode::OK, "<html>not json</html>").into_response(),
        WmsMode::Raw => {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                s.raw_page.clone(),
            )
                .into_response();
        }
        WmsMode::FailSecondPage if offset > 0 => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        _ => {}
    }
    let Some(client) = q.get("client_code") else {
        return (StatusCode::BAD_REQUEST, "client_code is required").into_response();
    };
    let all = s.stock.get(client).cloned().unwrap_or_default();
    let end = (offset + s.page_size).min(all.len());
    let page = StockPage {
        schema: SchemaVersion,
        items: all.get(offset..end).map(<[_]>::to_vec).unwrap_or_default(),
        next_page: (end < all.len()).then(|| end.to_string()),
    };
    match page.to_json() {
        Ok(body) => (StatusCode::OK, [("content-type", "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
