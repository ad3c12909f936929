//! A tap: an HTTP proxy on 127.0.0.1 in front of moto or the SP-API
//! simulator (point `AWS_ENDPOINT_URL` or `SPAPI_ENDPOINT` at it) that
//! passes every call through, except the one an armed rule picks: that call
//! is signalled (its [`Fired`] future resolves) and held, either *before* it
//! reaches the service ([`Moment::Before`]: the service never sees it) or
//! *after* the service answered ([`Moment::After`]: the service acted, the
//! function never hears). Killing the process when a rule fires cuts the
//! function at exactly that point, deterministically — the moments where a
//! real crash hurts (between an outbound side effect and its record).
//!
//! It is also the fault proxy of the soak ([`Tap::inject`]: the next matching
//! calls get an error answer the service never sent, or hang) and its meter
//! ([`TapConfig::meter`]: every call, its answer and, for DynamoDB writes,
//! the item written, so consumed capacity can be counted).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
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

/// What an injected fault does to the call it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TapFault {
    /// Answer this instead of the service (which never sees the call).
    Respond {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Never answer (the service never sees the call): the caller hangs
    /// until its own timeout, or until Lambda's cuts it off.
    Hang,
}

impl TapFault {
    /// An AWS JSON-protocol error (DynamoDB, SQS, Secrets Manager):
    /// `{"__type": ..., "message": ...}` with `status`. The SDKs retry a 5xx
    /// and a throttling type on their own before the caller sees it.
    pub fn aws(status: u16, error_type: &str, message: &str) -> Self {
        TapFault::Respond {
            status,
            content_type: "application/x-amz-json-1.0".into(),
            body: serde_json::json!({"__type": error_type, "message": message}).to_string(),
        }
    }
}

struct Injected {
    matcher: Matcher,
    fault: TapFault,
    /// Matching calls still to let through before the first one taken.
    skip: usize,
    /// Calls it still takes.
    times: usize,
}

/// One call seen by the tap.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    target: Option<String>,
    body: String,
}

/// A call as the meter sees it, with the service's answer.
#[derive(Debug)]
pub struct Metered<'a> {
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// `X-Amz-Target`, for the AWS JSON protocols.
    pub target: Option<&'a str>,
    pub request: &'a [u8],
    /// The answer's status; 0 when the call got no answer (held, hung,
    /// or the service was unreachable).
    pub status: u16,
    pub response: &'a [u8],
    /// An injected fault answered instead of the service.
    pub injected: bool,
    /// DynamoDB `UpdateItem`/`DeleteItem`: the item as written (new image)
    /// or deleted (old image), when the tap could read it.
    pub item: Option<&'a serde_json::Value>,
    /// How long the service took to answer (zero when it was not asked).
    pub service_time: std::time::Duration,
}

/// Counts what passes a tap (the soak's cost and call figures).
pub trait Meter: Send + Sync {
    fn observe(&self, call: &Metered<'_>);
}

/// How a tap behaves beyond passing calls.
#[derive(Clone, Default)]
pub struct TapConfig {
    /// Keep every call for [`Tap::count`] (tests). A long soak turns it off:
    /// a call's body stays in memory otherwise.
    pub forget_calls: bool,
    /// Told of every call and its answer.
    pub meter: Option<Arc<dyn Meter>>,
    /// Asks DynamoDB for the item image of `UpdateItem` (new) and
    /// `DeleteItem` (old) when the caller did not ask for return values, for
    /// the meter, and takes it out of the answer again: the caller sees the
    /// answer it asked for.
    pub dynamodb_item_images: bool,
    /// Calls whose `X-Amz-Target` starts with a prefix go to that upstream
    /// instead (e.g. DynamoDB to one moto server, SQS and Secrets Manager to
    /// another, so two processes share the work).
    pub routes: Vec<(String, String)>,
}

struct TapState {
    upstream: String,
    client: reqwest::Client,
    config: TapConfig,
    rules: Mutex<Vec<Rule>>,
    faults: Mutex<Vec<Injected>>,
    seen: Mutex<Vec<Call>>,
    injected: std::sync::atomic::AtomicU64,
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
        Self::start_with(upstream, TapConfig::default()).await
    }

    pub async fn start_with(upstream: &str, config: TapConfig) -> Result<Self, EmuError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| EmuError::Io(format!("tap client: {e}")))?;
        let state = Arc::new(TapState {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            config,
            rules: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            injected: std::sync::atomic::AtomicU64::new(0),
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

    /// The `(skip + 1)`-th to `(skip + times)`-th calls matching `matcher`
    /// get `fault` instead of the service.
    pub fn inject(&self, matcher: Matcher, fault: TapFault, skip: usize, times: usize) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Injected {
                matcher,
                fault,
                skip,
                times,
            });
    }

    /// Drops every armed rule and injected fault not used yet (calls held
    /// already stay held).
    pub fn disarm(&self) {
        self.state
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.state
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Calls answered by an injected fault (hangs included) so far.
    pub fn injected(&self) -> u64 {
        self.state
            .injected
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many calls matching `matcher` the tap has seen (held ones too;
    /// none when it was started with [`TapConfig::forget_calls`]).
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
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let call = Call {
        method: parts.method.to_string(),
        path: path.clone(),
        target: target.clone(),
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
    let fault = if hold.is_none() {
        take_fault(&s, &call)
    } else {
        None
    };
    let meter = s.config.meter.clone();
    let observe = |status: u16,
                   response: &[u8],
                   injected: bool,
                   item: Option<&Value>,
                   service_time: std::time::Duration| {
        if let Some(m) = &meter {
            m.observe(&Metered {
                method: parts.method.as_str(),
                path: &path,
                target: target.as_deref(),
                request: &bytes,
                status,
                response,
                injected,
                item,
                service_time,
            });
        }
    };
    let zero = std::time::Duration::ZERO;
    if !s.config.forget_calls {
        s.seen.lock().unwrap_or_else(|p| p.into_inner()).push(call);
    }
    if let Some(fault) = fault {
        s.injected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return match fault {
            TapFault::Respond {
                status,
                content_type,
                body,
            } => {
                observe(status, body.as_bytes(), true, None, zero);
                Response::builder()
                    .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY))
                    .header("content-type", content_type)
                    .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
                    .body(Body::from(body))
                    .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
            }
            TapFault::Hang => {
                observe(0, b"", true, None, zero);
                std::future::pending::<Response>().await
            }
        };
    }
    if let Some(rule) = &hold
        && rule.moment == Moment::Before
    {
        observe(0, b"", false, None, zero);
        return held(hold).await;
    }
    // DynamoDB writes: ask for the item image the meter needs, if the
    // caller did not ask for return values itself.
    let image = if s.config.dynamodb_item_images {
        image_request(target.as_deref(), &bytes)
    } else {
        None
    };
    let forwarded = match &image {
        Some((body, _)) => body.clone(),
        None => bytes.to_vec(),
    };
    let upstream = target
        .as_deref()
        .and_then(|t| {
            s.config
                .routes
                .iter()
                .find(|(prefix, _)| t.starts_with(prefix.as_str()))
        })
        .map(|(_, u)| u.trim_end_matches('/'))
        .unwrap_or(&s.upstream);
    let mut forward = s
        .client
        .request(parts.method.clone(), format!("{upstream}{path}"))
        .body(forwarded);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            forward = forward.header(name, value);
        }
    }
    let asked = std::time::Instant::now();
    let answer = match forward.send().await {
        Ok(a) => a,
        Err(e) => {
            observe(0, b"", false, None, asked.elapsed());
            return (StatusCode::BAD_GATEWAY, e.to_string()).into_response();
        }
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    let mut body = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => {
            observe(0, b"", false, None, asked.elapsed());
            return (StatusCode::BAD_GATEWAY, e.to_string()).into_response();
        }
    };
    let service_time = asked.elapsed();
    let mut item = None;
    if let Some((_, ours)) = &image
        && status.is_success()
        && let Ok(mut v) = serde_json::from_slice::<Value>(&body)
    {
        item = v.get("Attributes").cloned();
        if *ours && let Some(obj) = v.as_object_mut() {
            obj.remove("Attributes");
            body = axum::body::Bytes::from(v.to_string());
            headers.remove("x-amz-crc32");
        }
    }
    observe(status.as_u16(), &body, false, item.as_ref(), service_time);
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

fn take_fault(s: &TapState, call: &Call) -> Option<TapFault> {
    let mut faults = s.faults.lock().unwrap_or_else(|p| p.into_inner());
    let mut taken = None;
    for (i, f) in faults.iter_mut().enumerate() {
        if f.matcher.matches(call) {
            if f.skip > 0 {
                f.skip -= 1;
                continue;
            }
            f.times -= 1;
            taken = Some((i, f.fault.clone(), f.times == 0));
            break;
        }
    }
    let (i, fault, used_up) = taken?;
    if used_up {
        faults.remove(i);
    }
    Some(fault)
}

/// For `UpdateItem`/`DeleteItem` without `ReturnValues`: the body asking
/// for `ALL_NEW`/`ALL_OLD`, and `true` (the answer's `Attributes` are ours
/// to take out). With the caller's own `ALL_NEW`/`ALL_OLD`: the body as is,
/// `false`. Anything else: `None`.
fn image_request(target: Option<&str>, body: &[u8]) -> Option<(Vec<u8>, bool)> {
    let target = target?;
    let wanted = if target.ends_with(".UpdateItem") {
        "ALL_NEW"
    } else if target.ends_with(".DeleteItem") {
        "ALL_OLD"
    } else {
        return None;
    };
    let mut v: Value = serde_json::from_slice(body).ok()?;
    match v.get("ReturnValues").and_then(Value::as_str) {
        None | Some("NONE") => {
            v.as_object_mut()?
                .insert("ReturnValues".into(), Value::String(wanted.into()));
            Some((v.to_string().into_bytes(), true))
        }
        Some(r) if r == wanted => Some((body.to_vec(), false)),
        Some(_) => None,
    }
}

/// Signals the rule and never answers (until the tap stops).
async fn held(rule: Option<Rule>) -> Response {
    if let Some(r) = rule {
        let _ = r.fire.send(());
    }
    std::future::pending::<Response>().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers `{"from": name, "body": <request body>}`.
    async fn upstream(name: &'static str) -> (String, JoinHandle<()>) {
        let app = Router::new().fallback(move |body: axum::body::Bytes| async move {
            serde_json::json!({"from": name, "body": String::from_utf8_lossy(&body)}).to_string()
        });
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        (
            url,
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }),
        )
    }

    #[derive(Default)]
    struct Count(Mutex<Vec<(Option<String>, u16, bool)>>);

    impl Meter for Count {
        fn observe(&self, call: &Metered<'_>) {
            self.0.lock().unwrap().push((
                call.target.map(str::to_string),
                call.status,
                call.injected,
            ));
        }
    }

    async fn post(url: &str, target: &str, body: &str) -> (u16, String) {
        let r = reqwest::Client::new()
            .post(url)
            .header("x-amz-target", target)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    #[tokio::test]
    async fn faults_are_injected_for_the_chosen_calls_routed_and_metered() {
        let (a, _a) = upstream("a").await;
        let (b, _b) = upstream("b").await;
        let meter = Arc::new(Count::default());
        let tap = Tap::start_with(
            &a,
            TapConfig {
                forget_calls: true,
                meter: Some(meter.clone()),
                routes: vec![("DynamoDB_".into(), b.clone())],
                ..TapConfig::default()
            },
        )
        .await
        .unwrap();
        // Routed by target.
        assert!(
            post(&tap.url(), "AmazonSQS.SendMessage", "x")
                .await
                .1
                .contains("\"a\"")
        );
        assert!(
            post(&tap.url(), "DynamoDB_20120810.GetItem", "x")
                .await
                .1
                .contains("\"b\"")
        );
        // The 2nd and 3rd matching calls get the fault; others pass.
        let fault = TapFault::aws(500, "InternalError", "injected");
        tap.inject(Matcher::aws("AmazonSQS.SendMessage"), fault, 1, 2);
        let answers: Vec<u16> = futures_answers(&tap.url()).await;
        assert_eq!(answers, vec![200, 500, 500, 200]);
        assert_eq!(tap.injected(), 2);
        // Disarmed: nothing more is injected.
        tap.inject(Matcher::aws("AmazonSQS.SendMessage"), TapFault::Hang, 0, 1);
        tap.disarm();
        assert_eq!(post(&tap.url(), "AmazonSQS.SendMessage", "x").await.0, 200);
        let seen = meter.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 7);
        assert_eq!(seen.iter().filter(|(_, _, injected)| *injected).count(), 2);
        assert!(seen.iter().all(|(t, _, _)| t.is_some()));
        assert_eq!(tap.count(&Matcher::default()), 0, "calls not kept");
    }

    async fn futures_answers(url: &str) -> Vec<u16> {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(post(url, "AmazonSQS.SendMessage", "x").await.0);
        }
        out
    }

    #[test]
    fn dynamodb_writes_ask_for_the_item_image_only_when_the_caller_did_not() {
        let (body, ours) = image_request(
            Some("DynamoDB_20120810.UpdateItem"),
            br#"{"TableName":"t"}"#,
        )
        .unwrap();
        assert!(ours);
        assert!(
            String::from_utf8(body)
                .unwrap()
                .contains("\"ReturnValues\":\"ALL_NEW\"")
        );
        let (_, ours) = image_request(
            Some("DynamoDB_20120810.DeleteItem"),
            br#"{"ReturnValues":"ALL_OLD"}"#,
        )
        .unwrap();
        assert!(!ours, "the caller's own image is left in the answer");
        assert!(
            image_request(
                Some("DynamoDB_20120810.UpdateItem"),
                br#"{"ReturnValues":"UPDATED_NEW"}"#
            )
            .is_none()
        );
        assert!(image_request(Some("DynamoDB_20120810.GetItem"), b"{}").is_none());
    }
}
