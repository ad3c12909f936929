//! A tap: an HTTP proxy on 127.0.0.1 in front of moto or the SP-API
//! simulator (point `AWS_ENDPOINT_URL` or `SPAPI_ENDPOINT` at it) that
//! passes every call through, except the one an armed rule picks: that call
//! is signalled (its [`Fired`] future resolves) and held, either *before* it
//! reaches the service ([`Moment::Before`]: the service never sees it) or
//! *after* the service answered ([`Moment::After`]: the service acted, the
//! function never hears). Killing the process when a rule fires cuts the
//! function at exactly that point, deterministically — the moments where a
//! real crash hurts (between an outbound side effect and its record).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::EmuError;

/// Which calls a rule picks. Every given part must match.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    /// The AWS JSON protocol's `X-Amz-Target` (`AmazonSQS.SendMessage`,
    /// `DynamoDB_20120810.UpdateItem`).
    pub target: Option<String>,
    pub method: Option<String>,
    /// A substring of the path and query.
    pub path_contains: Option<String>,
    /// A substring of the body.
    pub body_contains: Option<String>,
}

impl Matcher {
    /// An AWS API call by its `X-Amz-Target`.
    pub fn aws(target: &str) -> Self {
        Self {
            target: Some(target.to_string()),
            ..Self::default()
        }
    }

    /// An HTTP call whose path contains `part`.
    pub fn path(part: &str) -> Self {
        Self {
            path_contains: Some(part.to_string()),
            ..Self::default()
        }
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_string());
        self
    }

    pub fn body_contains(mut self, part: &str) -> Self {
        self.body_contains = Some(part.to_string());
        self
    }

    fn matches(&self, call: &Call) -> bool {
        self.target.as_deref().is_none_or(|t| {
            call.target
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(t))
        }) && self
            .method
            .as_deref()
            .is_none_or(|m| call.method.eq_ignore_ascii_case(m))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| call.path.contains(p))
            && self
                .body_contains
                .as_deref()
                .is_none_or(|b| call.body.contains(b))
    }
}

/// Where an armed rule holds its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    /// Before the service sees it.
    Before,
    /// After the service answered; the answer is never passed on.
    After,
}

/// Resolves when the rule fired (the call was held at its moment).
pub struct Fired(oneshot::Receiver<()>);

impl std::future::Future for Fired {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        match std::pin::Pin::new(&mut self.0).poll(cx) {
            std::task::Poll::Ready(Ok(())) => std::task::Poll::Ready(()),
            // The rule was dropped unfired: never resolves.
            std::task::Poll::Ready(Err(_)) => std::task::Poll::Pending,
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

struct Rule {
    matcher: Matcher,
    moment: Moment,
    /// Matching calls still to let through before this one fires.
    skip: usize,
    fire: oneshot::Sender<()>,
}

/// One call seen by the tap.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    target: Option<String>,
    body: String,
}

struct TapState {
    upstream: String,
    client: reqwest::Client,
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Call>>,
}

/// A running tap; dropping it stops it (and releases held calls).
pub struct Tap {
    addr: SocketAddr,
    state: Arc<TapState>,
    task: JoinHandle<()>,
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tap {
    /// A tap in front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Result<Self, EmuError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| EmuError::Io(format!("tap client: {e}")))?;
        let state = Arc::new(TapState {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(pass).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| EmuError::Io(format!("bind the tap: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| EmuError::Io(format!("tap address: {e}")))?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, state, task })
    }

    /// `http://127.0.0.1:PORT` of the tap.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Holds the `(skip + 1)`-th call matching `matcher` at `moment` and
    /// signals it; every other call passes.
    pub fn arm(&self, matcher: Matcher, moment: Moment, skip: usize) -> Fired {
        let (fire, fired) = oneshot::channel();
        self.state
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Rule {
                matcher,
                moment,
                skip,
                fire,
            });
        Fired(fired)
    }

    /// How many calls matching `matcher` the tap has seen (held ones too).
    pub fn count(&self, matcher: &Matcher) -> usize {
        self.state
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|c| matcher.matches(c))
            .count()
    }
}

const HOP_BY_HOP: [&str; 5] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
];

async fn pass(State(s): State<Arc<TapState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let call = Call {
        method: parts.method.to_string(),
        path: path.clone(),
        target: parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    let hold = {
        let mut rules = s.rules.lock().unwrap_or_else(|p| p.into_inner());
        let mut picked = None;
        for (i, r) in rules.iter_mut().enumerate() {
            if r.matcher.matches(&call) {
                if r.skip == 0 {
                    picked = Some(i);
                    break;
                }
                r.skip -= 1;
            }
        }
        picked.map(|i| rules.remove(i))
    };
    s.seen.lock().unwrap_or_else(|p| p.into_inner()).push(call);
    if let Some(rule) = &hold
        && rule.moment == Moment::Before
    {
        return held(hold).await;
    }
    let mut forward = s
        .client
        .request(parts.method.clone(), format!("{}{path}", s.upstream))
        .body(bytes.to_vec());
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    if hold.is_some() {
        return held(hold).await;
    }
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(HeaderName::from(name), value);
        }
    }
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// Signals the rule and never answers (until the tap stops).
async fn held(rule: Option<Rule>) -> Response {
    if let Some(r) = rule {
        let _ = r.fire.send(());
    }
    std::future::pending::<Response>().await
}
