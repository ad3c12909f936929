//! The Lambda Runtime API (`/2018-06-01/runtime/...`) one container talks
//! to, on 127.0.0.1: `invocation/next` hands out the next event with the
//! headers Lambda sets (request id, deadline, function ARN, trace id);
//! `invocation/{id}/response`, `invocation/{id}/error` and `init/error`
//! report back. Each container gets its own server (a fresh port), so
//! nothing a killed process left half-done can reach its successor.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::{EmuError, FunctionError};

/// One event for the runtime.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub request_id: String,
    pub deadline_ms: u64,
    pub function_arn: String,
    pub trace_id: String,
    pub body: Vec<u8>,
}

/// What the runtime told the API.
#[derive(Debug)]
pub(crate) enum ApiEvent {
    /// `GET invocation/next`: the runtime is ready for an event.
    Next,
    Response {
        request_id: String,
        body: Vec<u8>,
    },
    Error {
        request_id: String,
        error: FunctionError,
    },
    InitError(FunctionError),
}

struct ApiState {
    deliveries: Mutex<mpsc::Receiver<Delivery>>,
    events: mpsc::UnboundedSender<ApiEvent>,
}

/// A running Runtime API server; dropping it stops the server.
pub(crate) struct RuntimeApi {
    pub addr: SocketAddr,
    pub deliver: mpsc::Sender<Delivery>,
    pub events: mpsc::UnboundedReceiver<ApiEvent>,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> Result<Self, EmuError> {
        let (deliver, deliveries) = mpsc::channel(1);
        let (events_tx, events) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            deliveries: Mutex::new(deliveries),
            events: events_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| EmuError::Io(format!("bind the Runtime API: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| EmuError::Io(format!("Runtime API address: {e}")))?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            deliver,
            events,
            task,
        })
    }
}

type Shared = Arc<ApiState>;

async fn next(State(s): State<Shared>) -> Response {
    let _ = s.events.send(ApiEvent::Next);
    let delivery = s.deliveries.lock().await.recv().await;
    let Some(d) = delivery else {
        return (StatusCode::GONE, "the container is shutting down").into_response();
    };
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("content-type", "application/json");
    put("lambda-runtime-aws-request-id", &d.request_id);
    put("lambda-runtime-deadline-ms", &d.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &d.function_arn);
    put("lambda-runtime-trace-id", &d.trace_id);
    (StatusCode::OK, headers, d.body).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn response(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let _ = s.events.send(ApiEvent::Response {
        request_id: id,
        body: body.to_vec(),
    });
    accepted()
}

/// The error object a runtime posts; when the body is not one, its text
/// with the type from `Lambda-Runtime-Function-Error-Type`.
fn parse_error(headers: &HeaderMap, body: &[u8]) -> FunctionError {
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match serde_json::from_slice::<FunctionError>(body) {
        Ok(mut e) => {
            if e.error_type.is_empty() {
                e.error_type = header_type.unwrap_or_else(|| "Runtime.Unknown".into());
            }
            e
        }
        Err(_) => FunctionError {
            error_type: header_type.unwrap_or_else(|| "Runtime.Unknown".into()),
            error_message: String::from_utf8_lossy(body).into_owned(),
            stack_trace: None,
        },
    }
}

async fn error(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _ = s.events.send(ApiEvent::Error {
        request_id: id,
        error: parse_error(&headers, &body),
    });
    accepted()
}

async fn init_error(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let _ = s
        .events
        .send(ApiEvent::InitError(parse_error(&headers, &body)));
    accepted()
}
