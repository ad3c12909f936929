//! Seller Central's side of the consent flow (issue 14), and the
//! application's own credentials:
//!
//! - the **consent page** `GET /apps/authorize/consent?application_id&state
//!   [&redirect_uri][&version=beta]`: checks the application, its draft
//!   status and the redirect URI as Amazon does (an error page, never a
//!   redirect to an unregistered URI), then shows who is signed in and two
//!   buttons. **Confirm** redirects to the redirect URI with
//!   `spapi_oauth_code`, `state` and `selling_partner_id`; **Deny** with
//!   `error=access_denied` and `state`;
//! - the **Appstore variant**: `GET /apps/appstore/authorize?application_id`
//!   sends the browser to the application's login URI with
//!   `amazon_callback_uri`, `amazon_state` and `selling_partner_id`; the
//!   application comes back to `amazon_callback_uri` with `redirect_uri`,
//!   `amazon_state` and its own `state`, and gets the same consent page;
//! - the **authorization codes** the LWA `authorization_code` grant
//!   exchanges (see `lwa`): valid [`CODE_LIFETIME`] of simulated time, once,
//!   for the application and redirect URI they were issued for; a new
//!   consent gives the seller a new refresh token (and one revoked before
//!   stays revoked);
//! - **client-secret rotation**: `POST /applications/2023-11-30/clientSecret`
//!   (grantless, scope `sellingpartnerapi::client_credential:rotation`)
//!   makes a new secret, keeps the old one working for an overlap, and puts
//!   an `APPLICATION_OAUTH_CLIENT_NEW_SECRET` notification into the
//!   application's outbox, which tests and the demo deliver to its SQS queue.
//!
//! Pages never echo a token or code into the simulator's logs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::SimError;
use crate::http::{error_list, new_request_id, quota_exceeded, respond};
use crate::quota::{Bucket, Plan};
use crate::state::{Inner, Shared, Stamp, iso, random_token};

/// How long an authorization code can be exchanged (simulated time).
pub const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How long an `amazon_state` of the Appstore variant lives.
const AMAZON_STATE_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long the previous client secret keeps working after a rotation
/// (Amazon's sample: seven days).
pub const SECRET_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a new client secret lives (Amazon: 180 days).
const SECRET_LIFETIME_DAYS: i64 = 180;

/// A registered SP-API application ("solution") as control describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolutionSpec {
    /// `amzn1.sp.solution....`
    pub application_id: String,
    /// Its LWA client (registered with `register_app`).
    pub client_id: String,
    pub name: String,
    /// The OAuth redirect URIs registered in Developer Central (HTTPS in
    /// production; any URL here).
    pub redirect_uris: Vec<String>,
    /// The Appstore login URI.
    #[serde(default)]
    pub login_uri: Option<String>,
    /// A draft application: consent needs `version=beta`.
    #[serde(default)]
    pub draft: bool,
    /// An SQS queue is registered for the application's notifications
    /// (needed to rotate its client secret).
    #[serde(default)]
    pub notifications: bool,
}

struct IssuedCode {
    client_id: String,
    seller_id: String,
    redirect_uri: String,
    issued: Stamp,
    used: bool,
}

struct AmazonState {
    application_id: String,
    seller_id: String,
    issued: Stamp,
    used: bool,
}

/// The consent side's state, inside the simulator's `Inner`.
#[derive(Default)]
pub struct ConsentState {
    solutions: HashMap<String, SolutionSpec>,
    /// The seller signed in to Seller Central (who consents).
    signed_in: Option<String>,
    codes: HashMap<String, IssuedCode>,
    amazon_states: HashMap<String, AmazonState>,
    /// Refresh tokens revoked one by one (a seller who authorised again
    /// keeps the new token working).
    pub revoked_tokens: HashSet<String>,
    /// Grantless access tokens: token → (client id, scope).
    pub app_tokens: HashMap<String, (String, String)>,
    /// client id → (previous secret, working until)
    previous_secrets: HashMap<String, (String, Stamp, Duration)>,
    /// When each client's current secret was made.
    secret_made: HashMap<String, DateTime<Utc>>,
    outbox: Vec<Value>,
    rotation_buckets: HashMap<String, Bucket>,
    /// Consents given (seller ids, in order) and denials.
    consents: Vec<String>,
    denials: u32,
}

/// Whether `secret` is the client's previous secret, still in its overlap.
pub fn previous_secret_works(inner: &Inner, speed: f64, client_id: &str, secret: &str) -> bool {
    inner
        .consent
        .previous_secrets
        .get(client_id)
        .is_some_and(|(old, since, overlap)| {
            old == secret && inner.sim_elapsed(*since, speed) < *overlap
        })
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/apps/authorize/consent", get(consent_page))
        .route("/apps/authorize/consent/confirm", post(confirm))
        .route("/apps/authorize/consent/deny", post(deny))
        .route("/apps/appstore/authorize", get(appstore_start))
        .route(
            "/apps/authorize/confirm/{application_id}",
            get(appstore_return),
        )
        .route("/applications/2023-11-30/clientSecret", post(rotate_secret))
}

// ---- pages -------------------------------------------------------------

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} - Seller Central (simulator)</title></head>\
         <body><header><p>Amazon Seller Central (SP-API simulator)</p></header>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title)
    );
    let mut resp = (status, html).into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn error_page(code: &str, message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "We could not authorize the application",
        &format!(
            "<p id=\"error-code\">Error code: {}</p><p id=\"error-message\">{}</p>",
            escape(code),
            escape(message)
        ),
    )
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

fn encode(value: &str) -> String {
    domain::onboarding::query_encode(value)
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&encode(v));
        sep = '&';
    }
    url
}

type Pairs = Query<Vec<(String, String)>>;

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// What the consent page needs, checked as Seller Central checks it.
struct ConsentAsk {
    solution: SolutionSpec,
    state: String,
    redirect_uri: String,
    beta: bool,
}

/// Seller Central's error code and message.
type Refused = (&'static str, &'static str);

fn check_ask(inner: &Inner, pairs: &[(String, String)]) -> Result<ConsentAsk, Refused> {
    let Some(application_id) = param(pairs, "application_id") else {
        return Err(("MD1000", "The application_id parameter is missing."));
    };
    let Some(solution) = inner.consent.solutions.get(application_id).cloned() else {
        return Err((
            "MD1000",
            "The application ID is not valid for this marketplace.",
        ));
    };
    let beta = param(pairs, "version") == Some("beta");
    if solution.draft && !beta {
        return Err((
            "MD9100",
            "This application is in draft status: authorise it with version=beta.",
        ));
    }
    let redirect_uri = match param(pairs, "redirect_uri") {
        Some(uri) if solution.redirect_uris.iter().any(|r| r == uri) => uri.to_string(),
        Some(_) => {
            return Err((
                "MD5101",
                "The redirect URI is not one of the application's registered redirect URIs.",
            ));
        }
        None => match solution.redirect_uris.first() {
            Some(first) => first.clone(),
            None => return Err(("MD5101", "The application has no redirect URI.")),
        },
    };
    let Some(state) = param(pairs, "state") else {
        return Err(("MD1000", "The state parameter is missing."));
    };
    Ok(ConsentAsk {
        solution,
        state: state.to_string(),
        redirect_uri,
        beta,
    })
}

fn consent_html(inner: &Inner, ask: &ConsentAsk) -> Response {
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        )
    };
    let mut fields = String::new();
    fields.push_str(&hidden("application_id", &ask.solution.application_id));
    fields.push_str(&hidden("state", &ask.state));
    fields.push_str(&hidden("redirect_uri", &ask.redirect_uri));
    if ask.beta {
        fields.push_str(&hidden("version", "beta"));
    }
    let who = match &inner.consent.signed_in {
        Some(seller) => {
            let store = inner
                .sellers
                .get(seller)
                .map(|s| s.store_name.clone())
                .unwrap_or_default();
            fields.push_str(&hidden("seller_id", seller));
            format!(
                "<p id=\"signed-in\">Signed in as {} ({})</p>",
                escape(&store),
                escape(seller)
            )
        }
        None => {
            let options: String = inner
                .sellers
                .iter()
                .map(|(id, s)| {
                    format!(
                        "<option value=\"{}\">{} ({})</option>",
                        escape(id),
                        escape(&s.store_name),
                        escape(id)
                    )
                })
                .collect();
            format!(
                "<label for=\"seller_id\">Sign in as</label> <select id=\"seller_id\" name=\"seller_id\">{options}</select>"
            )
        }
    };
    let body = format!(
        "<p id=\"app-name\">{name} would like to access your selling account.</p>{who}\
         <form method=\"post\" action=\"/apps/authorize/consent/confirm\">{fields}\
         <button id=\"confirm\" type=\"submit\">Confirm</button></form>\
         <form method=\"post\" action=\"/apps/authorize/consent/deny\">{deny}\
         <button id=\"deny\" type=\"submit\">Cancel</button></form>",
        name = escape(&ask.solution.name),
        deny = {
            let mut f = String::new();
            f.push_str(&hidden("application_id", &ask.solution.application_id));
            f.push_str(&hidden("state", &ask.state));
            f.push_str(&hidden("redirect_uri", &ask.redirect_uri));
            if ask.beta {
                f.push_str(&hidden("version", "beta"));
            }
            f
        }
    );
    page(StatusCode::OK, "Authorize application", &body)
}

async fn consent_page(State(shared): State<Arc<Shared>>, Query(pairs): Pairs) -> Response {
    let inner = shared.lock();
    match check_ask(&inner, &pairs) {
        Ok(ask) => consent_html(&inner, &ask),
        Err((code, message)) => error_page(code, message),
    }
}

type FormPairs = Result<Form<Vec<(String, String)>>, FormRejection>;

async fn confirm(State(shared): State<Arc<Shared>>, form: FormPairs) -> Response {
    let Ok(Form(pairs)) = form else {
        return error_page("MD1000", "The form could not be read.");
    };
    let mut inner = shared.lock();
    let ask = match check_ask(&inner, &pairs) {
        Ok(ask) => ask,
        Err((code, message)) => return error_page(code, message),
    };
    let Some(seller_id) = param(&pairs, "seller_id").map(str::to_string) else {
        return error_page("MD1000", "Nobody is signed in.");
    };
    if !inner.sellers.contains_key(&seller_id) {
        return error_page("MD1000", "Unknown selling account.");
    }
    let code = format!("ANsim{}", random_token(32));
    let issued = inner.stamp();
    inner.consent.codes.insert(
        code.clone(),
        IssuedCode {
            client_id: ask.solution.client_id.clone(),
            seller_id: seller_id.clone(),
            redirect_uri: ask.redirect_uri.clone(),
            issued,
            used: false,
        },
    );
    inner.consent.consents.push(seller_id.clone());
    tracing::info!(operation = "consent", seller = %seller_id, "the seller confirmed the consent");
    redirect(&with_query(
        &ask.redirect_uri,
        &[
            ("spapi_oauth_code", &code),
            ("state", &ask.state),
            ("selling_partner_id", &seller_id),
        ],
    ))
}

async fn deny(State(shared): State<Arc<Shared>>, form: FormPairs) -> Response {
    let Ok(Form(pairs)) = form else {
        return error_page("MD1000", "The form could not be read.");
    };
    let mut inner = shared.lock();
    let ask = match check_ask(&inner, &pairs) {
        Ok(ask) => ask,
        Err((code, message)) => return error_page(code, message),
    };
    inner.consent.denials += 1;
    tracing::info!(operation = "consent", "the seller denied the consent");
    redirect(&with_query(
        &ask.redirect_uri,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The selling partner did not authorize the application.",
            ),
            ("state", &ask.state),
        ],
    ))
}

async fn appstore_start(
    State(shared): State<Arc<Shared>>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let mut inner = shared.lock();
    let Some(application_id) = param(&pairs, "application_id").map(str::to_string) else {
        return error_page("MD1000", "The application_id parameter is missing.");
    };
    let Some(solution) = inner.consent.solutions.get(&application_id).cloned() else {
        return error_page("MD1000", "The application ID is not valid.");
    };
    let Some(login_uri) = solution.login_uri.clone() else {
        return error_page("MD1000", "The application has no login URI.");
    };
    let Some(seller_id) = inner.consent.signed_in.clone() else {
        return error_page("MD1000", "Sign in to Seller Central first.");
    };
    let amazon_state = format!("amzn-{}", random_token(24));
    let issued = inner.stamp();
    inner.consent.amazon_states.insert(
        amazon_state.clone(),
        AmazonState {
            application_id: application_id.clone(),
            seller_id: seller_id.clone(),
            issued,
            used: false,
        },
    );
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let callback = format!("http://{host}/apps/authorize/confirm/{application_id}");
    let mut pairs = vec![
        ("amazon_callback_uri", callback.as_str()),
        ("amazon_state", amazon_state.as_str()),
        ("selling_partner_id", seller_id.as_str()),
    ];
    if solution.draft {
        pairs.push(("version", "beta"));
    }
    redirect(&with_query(&login_uri, &pairs))
}

async fn appstore_return(
    State(shared): State<Arc<Shared>>,
    Path(application_id): Path<String>,
    Query(mut pairs): Pairs,
) -> Response {
    let speed = shared.speed;
    let mut inner = shared.lock();
    let Some(amazon_state) = param(&pairs, "amazon_state").map(str::to_string) else {
        return error_page("MD1000", "The amazon_state parameter is missing.");
    };
    let elapsed = |s: Stamp| inner.sim_elapsed(s, speed);
    let valid = inner
        .consent
        .amazon_states
        .get(&amazon_state)
        .is_some_and(|s| {
            !s.used
                && s.application_id == application_id
                && elapsed(s.issued) < AMAZON_STATE_LIFETIME
        });
    if !valid {
        return error_page("MD1000", "The amazon_state is invalid or expired.");
    }
    if let Some(s) = inner.consent.amazon_states.get_mut(&amazon_state) {
        s.used = true;
        let seller = s.seller_id.clone();
        inner.consent.signed_in = Some(seller);
    }
    pairs.push(("application_id".into(), application_id));
    match check_ask(&inner, &pairs) {
        Ok(ask) => consent_html(&inner, &ask),
        Err((code, message)) => error_page(code, message),
    }
}

// ---- the LWA authorization_code grant -----------------------------------

/// Why a code was refused (LWA answers `invalid_grant` for all of them).
pub enum CodeRefusal {
    Unknown,
    Used,
    Expired,
    OtherClient,
    OtherRedirect,
}

/// Exchanges a code: on success the seller gets a new refresh token (a
/// previously revoked one stays revoked).
pub fn exchange(
    inner: &mut Inner,
    speed: f64,
    code: &str,
    client_id: &str,
    redirect_uri: Option<&str>,
) -> Result<(String, String), CodeRefusal> {
    let now = inner.stamp();
    let Some(issued) = inner.consent.codes.get_mut(code) else {
        return Err(CodeRefusal::Unknown);
    };
    if issued.used {
        return Err(CodeRefusal::Used);
    }
    if now.sim_since(issued.issued, speed) >= CODE_LIFETIME {
        return Err(CodeRefusal::Expired);
    }
    if issued.client_id != client_id {
        return Err(CodeRefusal::OtherClient);
    }
    if redirect_uri != Some(issued.redirect_uri.as_str()) {
        return Err(CodeRefusal::OtherRedirect);
    }
    issued.used = true;
    let seller_id = issued.seller_id.clone();
    let refresh = format!("Atzr|sim-{}", random_token(40));
    let was_revoked = inner.sellers.get(&seller_id).is_some_and(|s| s.revoked);
    if was_revoked {
        let old: Vec<String> = inner
            .refresh_tokens
            .iter()
            .filter(|(_, s)| **s == seller_id)
            .map(|(t, _)| t.clone())
            .collect();
        inner.consent.revoked_tokens.extend(old);
    }
    if let Some(s) = inner.sellers.get_mut(&seller_id) {
        s.revoked = false;
    }
    inner
        .refresh_tokens
        .insert(refresh.clone(), seller_id.clone());
    Ok((seller_id, refresh))
}

// ---- client-secret rotation --------------------------------------------

async fn rotate_secret(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let request_id = new_request_id();
    let op = Operation::RotateApplicationClientSecret;
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let speed = shared.speed;
    let mut inner = shared.lock();
    let Some((client_id, scope)) = inner.consent.app_tokens.get(&token).cloned() else {
        return respond(
            StatusCode::FORBIDDEN,
            &request_id,
            None,
            error_list(
                "Unauthorized",
                "Access to requested resource is denied.",
                "",
            )
            .to_string(),
        );
    };
    if scope != crate::lwa::ROTATION_SCOPE {
        return respond(
            StatusCode::FORBIDDEN,
            &request_id,
            None,
            error_list(
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token's scope does not allow this operation.",
            )
            .to_string(),
        );
    }
    let plan = Plan::for_operation(op, None);
    let now = Instant::now();
    let allowed = inner
        .consent
        .rotation_buckets
        .entry(client_id.clone())
        .or_insert_with(|| Bucket::full(plan.burst, now))
        .try_take(plan, speed, now);
    if !allowed {
        inner.record(&client_id, op, 429);
        return respond(
            StatusCode::TOO_MANY_REQUESTS,
            &request_id,
            None,
            quota_exceeded().to_string(),
        );
    }
    let rate = Some(plan.header_value());
    let solution = inner
        .consent
        .solutions
        .values()
        .find(|s| s.client_id == client_id)
        .cloned();
    let Some(solution) = solution.filter(|s| s.notifications) else {
        inner.record(&client_id, op, 400);
        return respond(
            StatusCode::BAD_REQUEST,
            &request_id,
            rate,
            error_list(
                "InvalidInput",
                "Application is not enrolled for rotation notification. Please update application notification preference in Developer console.",
                "",
            )
            .to_string(),
        );
    };
    let Some(old) = inner.apps.get(&client_id).cloned() else {
        return respond(
            StatusCode::NOT_FOUND,
            &request_id,
            rate,
            error_list("NotFound", "Unknown application.", "").to_string(),
        );
    };
    let new_secret = format!("amzn1.oa2-cs.v1.sim{}", random_token(40));
    let stamp = inner.stamp();
    let now_time = inner.now();
    inner
        .consent
        .previous_secrets
        .insert(client_id.clone(), (old, stamp, SECRET_OVERLAP));
    inner.apps.insert(client_id.clone(), new_secret.clone());
    inner
        .consent
        .secret_made
        .insert(client_id.clone(), now_time);
    let overlap = TimeDelta::from_std(SECRET_OVERLAP).unwrap_or_default();
    let notification = json!({
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "2023-11-30",
        "eventTime": iso(now_time),
        "payload": {"applicationOAuthClientNewSecret": {
            "clientId": client_id,
            "newClientSecret": new_secret,
            "newClientSecretExpiryTime": iso(now_time + TimeDelta::days(SECRET_LIFETIME_DAYS)),
            "oldClientSecretExpiryTime": iso(now_time + overlap),
        }},
        "notificationMetadata": {
            "applicationId": solution.application_id,
            "subscriptionId": uuid::Uuid::new_v4().to_string(),
            "publishTime": iso(now_time),
            "notificationId": uuid::Uuid::new_v4().to_string(),
        }
    });
    inner.consent.outbox.push(notification);
    inner.record(&client_id, op, 204);
    tracing::info!(operation = op.name(), status = 204, request_id, "answered");
    let mut resp = respond(StatusCode::NO_CONTENT, &request_id, rate, String::new());
    resp.headers_mut().remove(CONTENT_TYPE);
    resp
}

// ---- control -----------------------------------------------------------

impl crate::SimControl {
    /// Registers an SP-API application for the consent flow (its LWA client
    /// must be registered with `register_app` too).
    pub fn register_solution(&self, spec: SolutionSpec) {
        self.with(|s| {
            s.consent
                .solutions
                .insert(spec.application_id.clone(), spec);
        });
    }

    /// Who is signed in to Seller Central (and so consents); `None` lets the
    /// consent page offer every seller.
    pub fn sign_in(&self, seller_id: Option<&str>) -> Result<(), SimError> {
        self.with(|s| {
            if let Some(id) = seller_id {
                s.seller(id)?;
            }
            s.consent.signed_in = seller_id.map(str::to_string);
            Ok(())
        })
    }

    /// The sellers who confirmed a consent, in order, and how many denied.
    pub fn consents(&self) -> (Vec<String>, u32) {
        self.with(|s| (s.consent.consents.clone(), s.consent.denials))
    }

    /// The application's notifications not yet delivered (taken).
    pub fn take_app_notifications(&self) -> Vec<Value> {
        self.with(|s| std::mem::take(&mut s.consent.outbox))
    }

    /// Queues Amazon's warning that the client's secret expires at `expiry`
    /// (`APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`).
    pub fn warn_secret_expiry(&self, client_id: &str, expiry: DateTime<Utc>) {
        self.with(|s| {
            let now = s.now();
            let application_id = s
                .consent
                .solutions
                .values()
                .find(|x| x.client_id == client_id)
                .map(|x| x.application_id.clone())
                .unwrap_or_default();
            s.consent.outbox.push(json!({
                "notificationVersion": "1.0",
                "notificationType": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
                "payloadVersion": "2023-11-30",
                "eventTime": iso(now),
                "payload": {"applicationOAuthClientSecretExpiry": {
                    "clientId": client_id,
                    "clientSecretExpiryTime": iso(expiry),
                    "clientSecretExpiryReason": "PERIODIC_ROTATION",
                }},
                "notificationMetadata": {
                    "applicationId": application_id,
                    "subscriptionId": uuid::Uuid::new_v4().to_string(),
                    "publishTime": iso(now),
                    "notificationId": uuid::Uuid::new_v4().to_string(),
                }
            }));
        });
    }

    /// The previous client secret stops working now (the overlap is over).
    pub fn end_secret_overlap(&self, client_id: &str) {
        self.with(|s| {
            s.consent.previous_secrets.remove(client_id);
        });
    }

    /// The client's current secret (tests compare what was stored).
    pub fn client_secret(&self, client_id: &str) -> Option<String> {
        self.with(|s| s.apps.get(client_id).cloned())
    }

    /// The refresh tokens that work for `seller_id` now.
    pub fn live_refresh_tokens(&self, seller_id: &str) -> usize {
        self.with(|s| {
            let revoked = s.sellers.get(seller_id).is_none_or(|x| x.revoked);
            if revoked {
                return 0;
            }
            s.refresh_tokens
                .iter()
                .filter(|(t, id)| *id == seller_id && !s.consent.revoked_tokens.contains(*t))
                .count()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            with_query("https://x/cb", &[("state", "a b&c"), ("code", "1")]),
            "https://x/cb?state=a%20b%26c&code=1"
        );
        assert_eq!(
            with_query("https://x/cb?y=1", &[("a", "b")]),
            "https://x/cb?y=1&a=b"
        );
    }
}
