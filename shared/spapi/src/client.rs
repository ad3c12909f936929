//! [`SpApi`]: sends a [`Call`] for one seller, as a good citizen of Amazon's
//! quotas. See the crate docs for the steps of one call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use domain::breaker::{Admission, Breaker};
use domain::quota::{BucketKey, BucketStore};
use domain::retry::{Decision, Failure};
use domain::settings::SellerSettings;
use domain::{Deadline, Operation, PortError, Region, SellerId};
use secrecy::{ExposeSecret, SecretString};

use crate::call::Call;
use crate::error::AmazonError;
use crate::lwa::{AppCredentials, CodeGrant, Grant, Lwa, TokenKey};
use crate::observe::{CallEvent, CallObserver, NoObserver};
use crate::quota::QuotaGate;
use crate::{ClientConfig, SpApiError};

/// Where it always was for callers (`spapi::client::decode`); it lives with
/// the rest of the decoding in `crate::decode`.
pub use crate::decode::decode;

/// Where the client gets secrets, and whom it tells when a seller's
/// authorisation is gone. Production: Secrets Manager + the store.
#[async_trait::async_trait]
pub trait Credentials: Send + Sync {
    async fn app(&self) -> Result<AppCredentials, PortError>;
    async fn refresh_token(&self, seller: &SellerId) -> Result<SecretString, PortError>;
    /// LWA said `invalid_grant`: flag the seller so jobs skip it.
    async fn authorization_revoked(&self, seller: &SellerId, reason: &str)
    -> Result<(), PortError>;

    /// LWA refused the application's client secret (`invalid_client`):
    /// forget any cached copy, so the next [`Credentials::app`] reads the
    /// stored one (a rotated secret is picked up at once, not at the cache's
    /// expiry). Nothing to do for credentials that are not cached.
    async fn forget_app(&self) {}

    /// LWA refused the seller's refresh token: forget any cached copy (the
    /// seller may have authorised again since it was read).
    async fn forget_refresh_token(&self, _seller: &SellerId) {}
}

/// Which seller a call is for and where its data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SellerContext {
    pub seller_id: SellerId,
    pub region: Region,
    pub sandbox: bool,
}

impl From<&SellerSettings> for SellerContext {
    fn from(s: &SellerSettings) -> Self {
        Self {
            seller_id: s.seller_id.clone(),
            region: s.region,
            sandbox: s.sandbox,
        }
    }
}

impl SellerContext {
    /// The context of an application-level (grantless) call in `region`,
    /// e.g. rotating the client secret or Notifications destinations: no
    /// seller's token is used; the call's audit line names
    /// [`APPLICATION_SELLER`] ([`SellerId::application`]).
    pub fn application(region: Region, sandbox: bool) -> Self {
        Self {
            seller_id: SellerId::application(),
            region,
            sandbox,
        }
    }
}

/// The `seller` of grantless calls' audit lines.
pub const APPLICATION_SELLER: &str = "APPLICATION";

/// The scope of the application's own (grantless) quota buckets.
pub const APP_SCOPE: &str = "app";

/// The SP-API client. Cheap to clone; build one per warm container.
#[derive(Clone)]
pub struct SpApi {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    lwa: Lwa,
    quota: QuotaGate,
    credentials: Arc<dyn Credentials>,
    breakers: std::sync::Mutex<HashMap<Operation, Breaker>>,
    observer: Arc<dyn CallObserver>,
}

/// The value of the `audit` field on the line every call ends with
/// (ARCHITECTURE.md, "Audit trail").
pub const AUDIT_ACTION: &str = "spapi.call";

/// What the audit line says about a call's last answer.
#[derive(Default)]
struct Trace {
    status: Option<u16>,
    request_id: Option<String>,
    /// Requests sent again (retries, and a resend after an expired token).
    resent: u32,
}

struct Answer {
    status: u16,
    request_id: Option<String>,
    rate_limit: Option<f64>,
    body: Vec<u8>,
}

impl SpApi {
    pub fn new(
        config: ClientConfig,
        credentials: Arc<dyn Credentials>,
        buckets: Arc<dyn BucketStore>,
    ) -> Result<Self, SpApiError> {
        Self::with_observer(config, credentials, buckets, Arc::new(NoObserver))
    }

    /// A client that tells `observer` about every call (metrics).
    pub fn with_observer(
        config: ClientConfig,
        credentials: Arc<dyn Credentials>,
        buckets: Arc<dyn BucketStore>,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Self, SpApiError> {
        let http = crate::tls::client_builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| SpApiError::Lwa {
                status: 0,
                code: "client_build".into(),
                description: format!("could not build the HTTP client: {e}"),
                retryable: false,
            })?;
        let lwa = Lwa::new(
            http.clone(),
            config.lwa_url.clone(),
            config.time_scale,
            config.retry,
        );
        let quota = QuotaGate::new(buckets, config.time_scale);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                lwa,
                quota,
                credentials,
                breakers: std::sync::Mutex::new(HashMap::new()),
                observer,
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The HTTP client (feed documents use it without SP-API headers).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Send `call` for `seller`, retrying what is safe to retry, never waiting
    /// past `deadline`. Ends with one audit line (success, failure, or
    /// deferred to a later invocation) naming the seller and the operation.
    pub async fn call<C: Call>(
        &self,
        seller: &SellerContext,
        call: &C,
        deadline: &Deadline,
    ) -> Result<C::Output, SpApiError> {
        let mut trace = Trace::default();
        let result = self
            .call_traced(seller, call, deadline, None, &mut trace)
            .await;
        self.audit(seller, C::OPERATION, &trace, result.as_ref().err());
        result
    }

    /// [`SpApi::call`], waiting at most `quota_wait` (Amazon time) for a
    /// token of the seller's bucket: if none comes by then, the call is not
    /// sent and answers [`SpApiError::ResumeLater`] at once. The request and
    /// its retries still have until `deadline`. For callers with a cheaper
    /// way than waiting (the notification handler coalesces into a search).
    pub async fn call_waiting_at_most<C: Call>(
        &self,
        seller: &SellerContext,
        call: &C,
        deadline: &Deadline,
        quota_wait: std::time::Duration,
    ) -> Result<C::Output, SpApiError> {
        let mut trace = Trace::default();
        let result = self
            .call_traced(seller, call, deadline, Some(quota_wait), &mut trace)
            .await;
        self.audit(seller, C::OPERATION, &trace, result.as_ref().err());
        result
    }

    fn observe(&self, event: CallEvent<'_>) {
        self.inner.observer.observe(&event);
    }

    /// The audit line of one call (and the observer's `Failed`). The arms
    /// look alike but differ in level, `outcome` and sentence, which
    /// `tracing`'s macros take as literals: one macro call per outcome.
    fn audit(
        &self,
        seller: &SellerContext,
        op: Operation,
        trace: &Trace,
        error: Option<&SpApiError>,
    ) {
        let status = trace.status.unwrap_or(0);
        let request_id = trace.request_id.as_deref().unwrap_or("");
        let resent = trace.resent;
        // One audit line per outcome: a tracing macro has a fixed level, so the arms repeat fields.
        match error {
            None => tracing::info!(
                audit = AUDIT_ACTION,
                outcome = "success",
                seller = %seller.seller_id,
                operation = op.name(),
                status,
                request_id,
                resent,
                "SP-API call"
            ),
            Some(e @ SpApiError::ResumeLater { .. }) => tracing::info!(
                audit = AUDIT_ACTION,
                outcome = "deferred",
                seller = %seller.seller_id,
                operation = op.name(),
                status,
                request_id,
                resent,
                reason = %e,
                "SP-API call left for a later invocation"
            ),
            Some(e) => {
                self.observe(CallEvent::Failed {
                    operation: op,
                    error: e,
                });
                tracing::warn!(
                    audit = AUDIT_ACTION,
                    outcome = "failure",
                    seller = %seller.seller_id,
                    operation = op.name(),
                    status,
                    request_id,
                    resent,
                    error = %e,
                    "SP-API call failed"
                );
            }
        }
    }

    async fn call_traced<C: Call>(
        &self,
        seller: &SellerContext,
        call: &C,
        deadline: &Deadline,
        quota_wait: Option<std::time::Duration>,
        trace: &mut Trace,
    ) -> Result<C::Output, SpApiError> {
        let op = C::OPERATION;
        call.validate()
            .map_err(|message| SpApiError::InvalidRequest {
                operation: op,
                message,
            })?;
        let (token_key, bucket) = match call.grantless_scope() {
            Some(scope) => (TokenKey::Grantless(scope), BucketKey::new(APP_SCOPE, op)),
            None => (
                TokenKey::Seller(seller.seller_id.clone()),
                BucketKey::new(seller.seller_id.as_str(), op),
            ),
        };
        let url = format!(
            "{}{}",
            self.inner.config.base_url(seller.region, seller.sandbox),
            call.path()
        );
        let mut retries = 0u32;
        let mut refreshed_expired_token = false;
        loop {
            self.admit(op, deadline).await?;
            match quota_wait {
                Some(wait) => {
                    let wait = self.inner.config.time_scale.duration(wait);
                    let until = Deadline::at(deadline.instant().min(Instant::now() + wait));
                    self.inner.quota.acquire(&bucket, &until).await?;
                }
                None => self.inner.quota.acquire(&bucket, deadline).await?,
            }
            let token = match self.access_token(seller, &token_key, op, deadline).await {
                // LWA failed in a way worth retrying, but the invocation has
                // no time left for even the first back-off: resume later,
                // as for any other call that cannot finish in time.
                Err(SpApiError::Lwa {
                    retryable: true,
                    status,
                    code,
                    ..
                }) if !deadline.allows(self.inner.config.retry.base) => {
                    return Err(SpApiError::ResumeLater {
                        operation: op,
                        after: self.inner.config.retry.base,
                        reason: format!(
                            "the LWA token request failed ({code}, HTTP {status}) with no time left to retry"
                        ),
                    });
                }
                other => other?,
            };
            let started = Instant::now();
            self.observe(CallEvent::Sent { operation: op });
            let sent = self.send(call, &url, &token, deadline).await;
            let (failure, error) = match sent {
                Ok(answer) => {
                    trace.status = Some(answer.status);
                    trace.request_id.clone_from(&answer.request_id);
                    let elapsed_ms = started.elapsed().as_millis() as u64;
                    tracing::debug!(
                        operation = op.name(),
                        status = answer.status,
                        request_id = answer.request_id.as_deref().unwrap_or(""),
                        elapsed_ms,
                        retries,
                        "SP-API answer"
                    );
                    if let Some(rate) = answer.rate_limit
                        && let Err(e) = self.inner.quota.observe(&bucket, rate).await
                    {
                        tracing::warn!(bucket = %bucket, error = %e, "could not record the observed rate");
                    }
                    if (200..300).contains(&answer.status) {
                        self.on_success(op);
                        return decode::<C::Output>(
                            op,
                            answer.status,
                            answer.request_id.as_deref(),
                            &answer.body,
                        );
                    }
                    let error = amazon_error(op, &answer);
                    if answer.status == 403 && !refreshed_expired_token && token_expired(&error) {
                        // Our cached token expired early (clock, revocation): refresh once.
                        tracing::info!(
                            operation = op.name(),
                            "access token expired; refreshing once"
                        );
                        refreshed_expired_token = true;
                        self.inner.lwa.invalidate(&token_key).await;
                        self.observe(CallEvent::Retrying { operation: op });
                        trace.resent += 1;
                        continue;
                    }
                    if answer.status == 429 {
                        self.observe(CallEvent::Throttled { operation: op });
                        self.inner.quota.throttled(&bucket).await;
                    }
                    (Failure::Status(answer.status), error)
                }
                Err(e) => {
                    trace.status = None;
                    trace.request_id = None;
                    let sent = !e.is_connect();
                    let failure = if sent {
                        Failure::NoAnswer
                    } else {
                        Failure::NotSent
                    };
                    (
                        failure,
                        SpApiError::Transport {
                            operation: op,
                            sent,
                            source: e,
                        },
                    )
                }
            };
            let retryable_failure = match failure {
                Failure::Status(s) => domain::retry::is_retryable_status(s),
                Failure::NotSent | Failure::NoAnswer => true,
            };
            if retryable_failure {
                self.on_failure(op);
            } else {
                self.on_success(op);
            }
            let decision = self.inner.config.retry.decide(
                failure,
                retries,
                op.spec().retry,
                call.idempotency_key().is_some(),
                fastrand::f64(),
            );
            match decision {
                Decision::Retry { after } => {
                    if !deadline.allows(after) {
                        return Err(SpApiError::ResumeLater {
                            operation: op,
                            after,
                            reason: error.to_string(),
                        });
                    }
                    tracing::warn!(
                        operation = op.name(),
                        wait_ms = after.as_millis() as u64,
                        retry = retries + 1,
                        status = error.status().unwrap_or(0),
                        request_id = error.request_id().unwrap_or(""),
                        "SP-API call failed, retrying"
                    );
                    self.observe(CallEvent::Retrying { operation: op });
                    trace.resent += 1;
                    tokio::time::sleep(after).await;
                    retries += 1;
                }
                Decision::GiveUp => return Err(error),
            }
        }
    }

    async fn admit(&self, op: Operation, deadline: &Deadline) -> Result<(), SpApiError> {
        loop {
            let admission = {
                let mut breakers = self
                    .inner
                    .breakers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                breakers
                    .entry(op)
                    .or_insert_with(|| Breaker::new(self.inner.config.time_scale))
                    .admit(Instant::now())
            };
            match admission {
                Admission::Go | Admission::Probe => return Ok(()),
                Admission::Wait(wait) => {
                    if !deadline.allows(wait) {
                        return Err(SpApiError::ResumeLater {
                            operation: op,
                            after: wait,
                            reason: format!(
                                "the circuit breaker for {op} is open after repeated failures"
                            ),
                        });
                    }
                    tracing::warn!(
                        operation = op.name(),
                        wait_ms = wait.as_millis() as u64,
                        "circuit open, waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn on_success(&self, op: Operation) {
        let mut breakers = self
            .inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(b) = breakers.get_mut(&op) {
            b.on_success();
        }
    }

    fn on_failure(&self, op: Operation) {
        let mut breakers = self
            .inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        breakers
            .entry(op)
            .or_insert_with(|| Breaker::new(self.inner.config.time_scale))
            .on_failure(Instant::now());
    }

    async fn access_token(
        &self,
        seller: &SellerContext,
        key: &TokenKey,
        op: Operation,
        deadline: &Deadline,
    ) -> Result<SecretString, SpApiError> {
        let creds = &self.inner.credentials;
        // A refusal of a cached credential is checked once against a fresh
        // read: a rotated application secret or a seller's new refresh token
        // (re-authorised since this container cached the old one) is used at
        // once instead of failing until the cache expires.
        let mut read_again = false;
        loop {
            let app = creds.app().await.map_err(SpApiError::Credentials)?;
            let used: std::sync::Mutex<Option<SecretString>> = std::sync::Mutex::new(None);
            let result = self
                .inner
                .lwa
                .token(
                    key,
                    &app,
                    || async {
                        match key {
                            TokenKey::Seller(id) => {
                                let token = creds
                                    .refresh_token(id)
                                    .await
                                    .map_err(SpApiError::Credentials)?;
                                *used.lock().unwrap_or_else(|p| p.into_inner()) =
                                    Some(token.clone());
                                Ok(Grant::RefreshToken(token))
                            }
                            TokenKey::Grantless(scope) => Ok(Grant::ClientCredentials { scope }),
                        }
                    },
                    deadline,
                )
                .await;
            match &result {
                Err(SpApiError::AuthorizationRevoked { .. }) if !read_again => {
                    read_again = true;
                    creds.forget_refresh_token(&seller.seller_id).await;
                    let old = used.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let (Some(old), Ok(new)) =
                        (old, creds.refresh_token(&seller.seller_id).await)
                        && old.expose_secret() != new.expose_secret()
                    {
                        tracing::info!(seller = %seller.seller_id, "the seller's refresh token changed since it was read; trying the stored one");
                        continue;
                    }
                }
                Err(SpApiError::Lwa { code, .. }) if code == "invalid_client" && !read_again => {
                    read_again = true;
                    creds.forget_app().await;
                    if let Ok(new) = creds.app().await
                        && (new.client_id != app.client_id
                            || new.client_secret.expose_secret()
                                != app.client_secret.expose_secret())
                    {
                        tracing::warn!(
                            "LWA refused the application's client secret; the stored secret has changed (rotated), using it"
                        );
                        continue;
                    }
                }
                _ => {}
            }
            if let Err(SpApiError::AuthorizationRevoked { .. }) = &result {
                self.observe(CallEvent::AuthorizationRevoked {
                    seller: &seller.seller_id,
                });
                tracing::error!(seller_id = %seller.seller_id, operation = op.name(), "LWA invalid_grant: the seller's authorisation is revoked");
                if let Err(e) = creds
                    .authorization_revoked(
                        &seller.seller_id,
                        &format!("LWA answered invalid_grant to the refresh token (during {op})"),
                    )
                    .await
                {
                    tracing::error!(audit = "authorization.revoked", outcome = "failure", seller = %seller.seller_id, error = %e, "could not flag the seller as revoked");
                }
            }
            return result;
        }
    }

    /// The consent flow's last step: exchanges a seller's authorization code
    /// (`spapi_oauth_code`) at LWA for its refresh token, with the
    /// application's credentials (read again once if LWA refuses them, as
    /// for every call). `redirect_uri` must be the one the consent used.
    pub async fn exchange_authorization_code(
        &self,
        code: SecretString,
        redirect_uri: &str,
        deadline: &Deadline,
    ) -> Result<CodeGrant, SpApiError> {
        let creds = &self.inner.credentials;
        let mut app = creds.app().await.map_err(SpApiError::Credentials)?;
        let first = self
            .inner
            .lwa
            .exchange_code(&app, code.clone(), redirect_uri, deadline)
            .await;
        match first {
            Err(SpApiError::Lwa { code: error, .. }) if error == "invalid_client" => {
                creds.forget_app().await;
                let fresh = creds.app().await.map_err(SpApiError::Credentials)?;
                if fresh.client_secret.expose_secret() == app.client_secret.expose_secret()
                    && fresh.client_id == app.client_id
                {
                    return Err(SpApiError::Lwa {
                        status: 401,
                        code: error,
                        description: "LWA refused the application's client id and secret".into(),
                        retryable: false,
                    });
                }
                app = fresh;
                self.inner
                    .lwa
                    .exchange_code(&app, code, redirect_uri, deadline)
                    .await
            }
            other => other,
        }
    }

    async fn send<C: Call>(
        &self,
        call: &C,
        url: &str,
        token: &SecretString,
        deadline: &Deadline,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .inner
            .http
            .request(C::METHOD.as_reqwest(), url)
            .header("x-amz-access-token", token.expose_secret())
            .timeout(deadline.remaining().min(self.inner.config.request_timeout));
        let query = call.query();
        if !query.is_empty() {
            req = req.query(&query);
        }
        if let Some(key) = call.idempotency_key() {
            req = req.header("x-amzn-IdempotencyKey", key);
        }
        for (name, value) in call.headers() {
            req = req.header(name, value);
        }
        if let Some(body) = call.body() {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("x-amzn-RequestId");
        let rate_limit =
            header("x-amzn-RateLimit-Limit").and_then(|v| v.trim().parse::<f64>().ok());
        let body = resp.bytes().await?.to_vec();
        Ok(Answer {
            status,
            request_id,
            rate_limit,
            body,
        })
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<AmazonError>,
}

fn amazon_error(op: Operation, answer: &Answer) -> SpApiError {
    let first = serde_json::from_slice::<ErrorBody>(&answer.body)
        .ok()
        .and_then(|b| b.errors.into_iter().next());
    let (code, message, details) = match first {
        Some(e) => (e.code, e.message, e.details.filter(|d| !d.is_empty())),
        None => (
            match answer.status {
                429 => "QuotaExceeded".to_string(),
                s if s >= 500 => "ServerError".to_string(),
                _ => "Unknown".to_string(),
            },
            "Amazon's error body was empty or not in the SP-API error format".to_string(),
            None,
        ),
    };
    SpApiError::Amazon {
        operation: op,
        status: answer.status,
        code,
        message,
        details,
        request_id: answer.request_id.clone(),
    }
}

fn token_expired(error: &SpApiError) -> bool {
    match error {
        SpApiError::Amazon {
            message,
            details,
            code,
            ..
        } => {
            let text = format!("{code} {message} {}", details.as_deref().unwrap_or(""))
                .to_ascii_lowercase();
            text.contains("expired")
        }
        _ => false,
    }
}
