//! The onboarding function wired exactly as Lambda wires it (its environment
//! resolved from template.yaml against moto, plus the simulator's SP-API,
//! LWA and Seller Central), served over real HTTP on 127.0.0.1 by a small
//! Function URL gateway: each request becomes the event a Function URL sends
//! (payload format 2.0, form bodies base64-encoded as AWS does), and the
//! function's answer becomes the HTTP response. A browser or reqwest talks
//! to it as to the deployed URL. It shares the stack, the simulator and the
//! order pull of a [`PullRig`], so a connected seller's jobs run next.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use connector_admin::invite::{InviteRequest, Invited, invite};
use domain::onboarding::SettingsTemplate;
use domain::{ClientCode, Deadline, MarketplaceId, Region, SellerId};
use lambda_kit::metrics::{MemorySink, Metrics};
use onboarding::Onboarding;
use onboarding::config::{Config, wire};
use serde_json::{Value, json};
use store::Clock;

use crate::pull::{PullRig, SimClock};
use crate::sim::{CLIENT_ID, SimHandle, SolutionSpec};

/// The application id the simulator's Seller Central knows.
pub const APP_ID: &str = "amzn1.sp.solution.onboarding-test";

type Invoke = Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Value> + Send>> + Send + Sync>;

/// A Function URL in front of `invoke` on 127.0.0.1.
pub struct Gateway {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds a free port now (the function needs its public URL before it runs).
pub async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a free port for the Function URL")
}

/// Serves `invoke` on `listener` as a Function URL.
pub fn serve(listener: tokio::net::TcpListener, invoke: Invoke) -> Gateway {
    let addr = listener.local_addr().expect("its address");
    let app = axum::Router::new().fallback(forward).with_state(invoke);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Gateway { addr, task }
}

/// Text and JSON bodies arrive as they are; anything else (a form post)
/// base64-encoded, as Lambda's Function URLs do.
fn is_text(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/") || ct.starts_with("application/json")
}

/// The Function URL event of an HTTP request.
pub fn url_event(method: &str, path: &str, query: &str, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut h = serde_json::Map::new();
    for (name, value) in headers {
        let v = value.to_str().unwrap_or_default().to_string();
        let key = name.as_str().to_ascii_lowercase();
        match h.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                h.insert(key, Value::String(v));
            }
        }
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (body, encoded) = if body.is_empty() {
        (Value::Null, false)
    } else if is_text(content_type) {
        (
            Value::String(String::from_utf8_lossy(body).into_owned()),
            false,
        )
    } else {
        (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        )
    };
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": h.get("user-agent").cloned().unwrap_or(Value::Null)},
            "requestId": uuid_like(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "07/Dec/2026:10:00:00 +0000",
            "timeEpoch": 0
        },
        "body": body,
        "isBase64Encoded": encoded
    })
}

fn uuid_like() -> String {
    format!("{:032x}", fastrand::u128(..))
}

async fn forward(State(invoke): State<Invoke>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let event = url_event(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        &parts.headers,
        &bytes,
    );
    let answer = invoke(event).await;
    http_response(&answer)
}

/// The HTTP response of a Function URL answer.
pub fn http_response(answer: &Value) -> Response {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(u16::try_from(s).ok()?).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let text = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    let mut response = (status, Body::from(body)).into_response();
    if let Some(headers) = answer["headers"].as_object() {
        for (k, v) in headers {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(k.as_str()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

/// The onboarding function on a test stack, behind its Function URL.
pub struct OnboardingRig {
    pub pull: PullRig,
    pub service: Arc<Onboarding>,
    pub config: Config,
    pub gateway: Gateway,
    /// The EMF documents the function wrote.
    pub metrics: MemorySink,
}

impl OnboardingRig {
    /// A fresh stack and simulator (at `speed`) with the application
    /// registered in Seller Central as a draft, redirecting to this page.
    pub async fn new(name: &str, speed: f64) -> Self {
        let pull = PullRig::new(name, speed).await;
        let listener = bind().await;
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let mut env: BTreeMap<String, String> = pull
            .stack
            .resources
            .function_environment(&pull.stack.template, "OnboardingFunction")
            .expect("the function's environment from template.yaml");
        let sim = &pull.sim;
        env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
        env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
        env.insert("SPAPI_TIME_SCALE".into(), speed.to_string());
        env.insert("SELLER_CENTRAL_URL".into(), sim.base_url());
        env.insert("ONBOARDING_PUBLIC_URL".into(), url.clone());
        env.insert("SPAPI_APPLICATION_ID".into(), APP_ID.into());
        env.insert("SPAPI_APP_DRAFT".into(), "true".into());
        env.insert("OPERATOR_NAME".into(), "Acme Fulfilment <Ltd>".into());
        env.insert("OPERATOR_CONTACT".into(), "onboarding@acme.example".into());
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        let metrics = MemorySink::new();
        let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
        let service = Arc::new(
            wire(
                &config,
                &pull.stack.sdk,
                clock,
                Metrics::new(config.common.stage.clone(), Arc::new(metrics.clone())),
            )
            .expect("wire"),
        );
        sim.control().register_solution(SolutionSpec {
            application_id: APP_ID.into(),
            client_id: CLIENT_ID.into(),
            name: "Acme WMS connector".into(),
            redirect_uris: vec![format!("{url}/callback")],
            login_uri: Some(format!("{url}/login")),
            draft: true,
            notifications: true,
        });
        let invoke_service = service.clone();
        let invoke: Invoke = Arc::new(move |event: Value| {
            let service = invoke_service.clone();
            Box::pin(async move {
                onboarding::handle(&service, event, Deadline::after(Duration::from_secs(30))).await
            })
        });
        let gateway = serve(listener, invoke);
        Self {
            pull,
            service,
            config,
            gateway,
            metrics,
        }
    }

    pub fn url(&self) -> String {
        self.gateway.url()
    }

    /// The operator's invitation (`connector-admin invite`'s library) for
    /// client ACME in the EU.
    pub async fn invite(&self, marketplaces: &[&str], seller: Option<&str>) -> Invited {
        self.invite_with(
            marketplaces,
            seller,
            SettingsTemplate {
                order_prefix: "AC".into(),
                ..SettingsTemplate::default()
            },
        )
        .await
    }

    pub async fn invite_with(
        &self,
        marketplaces: &[&str],
        seller: Option<&str>,
        settings: SettingsTemplate,
    ) -> Invited {
        invite(
            &self.pull.store,
            InviteRequest {
                client_code: ClientCode::new("ACME").expect("client code"),
                region: Region::Eu,
                marketplaces: marketplaces
                    .iter()
                    .map(|m| MarketplaceId::new(*m).expect("marketplace"))
                    .collect(),
                settings,
                seller: seller.map(|s| SellerId::new(s).expect("seller id")),
                days: 3,
            },
            &self.url(),
            SimClock(self.pull.sim.control().clone()).now(),
        )
        .await
        .expect("invite")
    }

    /// An HTTP client that does not follow redirects (each hop is checked).
    pub fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
    }
}

/// A response's `location`.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no location in a {} answer", response.status()))
        .to_string()
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The `id="reason"` of a failure page.
pub fn reason(html: &str) -> String {
    html.split("id=\"reason\">")
        .nth(1)
        .map(|s| s.split('<').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// Walks the website flow over HTTP as a browser would, with the consent
/// confirmed (or denied) by `seller` on Seller Central. Returns the last
/// page's status and HTML, and the callback URL Amazon redirected to.
pub async fn consent_over_http(
    page_url: &str,
    sim: &SimHandle,
    link: &str,
    seller: &str,
    confirm: bool,
) -> (u16, String, String) {
    let http = OnboardingRig::http();
    let landing = http.get(link).send().await.unwrap();
    assert_eq!(landing.status(), 200);
    let code = query_of(link)["invitation"].clone();
    let started = http
        .post(format!("{}/connect", page_url))
        .form(&[("invitation", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303, "{}", started.text().await.unwrap());
    let consent_url = location(&started);
    assert!(
        consent_url.starts_with(&format!(
            "{}/apps/authorize/consent?application_id={APP_ID}&state=",
            sim.base_url()
        )),
        "{consent_url}"
    );
    let q = query_of(&consent_url);
    assert_eq!(q["version"], "beta", "a draft application");
    assert_eq!(q["redirect_uri"], format!("{}/callback", page_url));
    // Seller Central's page, then its button.
    let page = http.get(&consent_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Acme WMS connector would like to access"),
        "{html}"
    );
    let button = if confirm { "confirm" } else { "deny" };
    sim.control().sign_in(Some(seller)).unwrap();
    let answered = http
        .post(format!(
            "{}/apps/authorize/consent/{button}",
            sim.base_url()
        ))
        .form(&[
            ("application_id", APP_ID),
            ("state", q["state"].as_str()),
            ("redirect_uri", q["redirect_uri"].as_str()),
            ("version", "beta"),
            ("seller_id", seller),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 302);
    let callback = location(&answered);
    assert!(
        callback.starts_with(&format!("{}/callback?", page_url)),
        "{callback}"
    );
    let done = http.get(&callback).send().await.unwrap();
    let status = done.status().as_u16();
    (status, done.text().await.unwrap(), callback)
}
