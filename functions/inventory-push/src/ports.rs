//! The function's outside edges as narrow traits, with their adapters: the
//! WMS stock endpoint (HTTP GET, bearer token, pages) and the job queue.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::Deadline;
use lambda_kit::queue::encode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use wms::StockItem;

/// Why the WMS stock could not be read; says what to check.
#[derive(Debug, thiserror::Error)]
#[error("WMS stock endpoint: {message}")]
pub struct StockError {
    pub message: String,
    pub retryable: bool,
    /// Lambda's `errorType` for it (e.g. `WmsUnavailable`).
    pub error_type: &'static str,
}

impl lambda_kit::error::ErrorType for StockError {
    fn error_type(&self) -> &'static str {
        self.error_type
    }
}

/// Where the stock comes from.
#[async_trait::async_trait]
pub trait StockSource: Send + Sync {
    /// Every page of the client's stock, in order.
    async fn fetch_all(
        &self,
        client_code: &str,
        deadline: &Deadline,
    ) -> Result<Vec<StockItem>, StockError>;
}

/// The secret the operator stores for the WMS stock endpoint.
#[derive(Clone, Deserialize)]
pub struct StockEndpoint {
    pub url: String,
    pub token: SecretString,
    /// PEM of the CA (or CAs) that signed the endpoint's certificate, when
    /// that is a private CA: trusted for this endpoint only, beside the
    /// public roots.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

/// Reads the endpoint's URL and token (Secrets Manager in production).
#[async_trait::async_trait]
pub trait StockEndpointSecret: Send + Sync {
    async fn endpoint(&self) -> Result<StockEndpoint, StockError>;
}

pub struct SecretsStockEndpoint {
    pub cache: secrets::SecretsCache,
    pub secret_name: String,
}

#[async_trait::async_trait]
impl StockEndpointSecret for SecretsStockEndpoint {
    async fn endpoint(&self) -> Result<StockEndpoint, StockError> {
        self.cache
            .get_json::<StockEndpoint>(&self.secret_name)
            .await
            .map_err(|e| StockError {
                message: format!(
                    "the secret {} (JSON {{\"url\", \"token\"[, \"ca_pem\"]}}) could not be read: {e}",
                    self.secret_name
                ),
                retryable: e.is_retryable(),
                error_type: "WmsSecretUnreadable",
            })
    }
}

/// Timeouts, retries and limits of the HTTP stock client.
#[derive(Clone, Copy, Debug)]
pub struct StockHttpOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    pub max_pages: usize,
}

impl Default for StockHttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_pages: 10_000,
        }
    }
}

/// `GET <url>?client_code=<code>[&cursor=<next_page>]` with
/// `Authorization: Bearer <token>` (shared/wms/CONTRACTS.md, "Stock page");
/// each page validated against `stock-page.v1.json`.
pub struct HttpStockSource {
    http: reqwest::Client,
    /// The client for the last `ca_pem` the secret named, with that PEM
    /// (built again only when the secret's CA changes).
    trusting: Mutex<Option<(String, reqwest::Client)>>,
    secret: Arc<dyn StockEndpointSecret>,
    options: StockHttpOptions,
}

impl HttpStockSource {
    pub fn new(
        secret: Arc<dyn StockEndpointSecret>,
        options: StockHttpOptions,
    ) -> Result<Self, StockError> {
        let http = finish(spapi::tls::client_builder(), &options)?;
        Ok(Self {
            http,
            trusting: Mutex::new(None),
            secret,
            options,
        })
    }

    /// The HTTP client for `endpoint`: the shared one, or one that also
    /// trusts the endpoint's own CA.
    fn client_for(&self, endpoint: &StockEndpoint) -> Result<reqwest::Client, StockError> {
        let Some(pem) = endpoint.ca_pem.as_deref() else {
            return Ok(self.http.clone());
        };
        let mut trusting = self.trusting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached, client)) = trusting.as_ref()
            && cached == pem
        {
            return Ok(client.clone());
        }
        let builder = spapi::tls::client_builder_trusting(pem).map_err(|reason| StockError {
            message: format!(
                "\"ca_pem\" in the stock endpoint secret: {reason}; put the PEM of the CA that signed the WMS certificate there, or remove the field"
            ),
            retryable: false,
            error_type: "WmsSecretUnreadable",
        })?;
        let client = finish(builder, &self.options)?;
        *trusting = Some((pem.to_string(), client.clone()));
        Ok(client)
    }

    async fn page(
        &self,
        http: &reqwest::Client,
        endpoint: &StockEndpoint,
        client_code: &str,
        cursor: Option<&str>,
        page: usize,
        deadline: &Deadline,
    ) -> Result<wms::StockPage, StockError> {
        let mut attempt = 0u32;
        loop {
            let mut query = vec![("client_code", client_code)];
            if let Some(c) = cursor {
                query.push(("cursor", c));
            }
            let sent = http
                .get(&endpoint.url)
                .query(&query)
                .bearer_auth(endpoint.token.expose_secret())
                .timeout(deadline.remaining().min(self.options.request_timeout))
                .send()
                .await;
            let failure = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match status {
                        200 => {
                            let body = resp.text().await.map_err(|e| StockError {
                                message: format!(
                                    "page {page}: the body broke off: {}",
                                    e.without_url()
                                ),
                                retryable: true,
                                error_type: "WmsUnavailable",
                            })?;
                            return wms::StockPage::parse(&body).map_err(|e| StockError {
                                message: format!("page {page} is not a valid stock page (stock-page.v1.json): {e}"),
                                retryable: false,
                                error_type: "WmsStockInvalid",
                            });
                        }
                        401 | 403 => {
                            return Err(StockError {
                                message: format!(
                                    "HTTP {status}: the bearer token was refused; check the token in the stock endpoint secret"
                                ),
                                retryable: false,
                                error_type: "WmsTokenRefused",
                            });
                        }
                        s if s == 429 || s >= 500 => format!("HTTP {s}"),
                        s => {
                            return Err(StockError {
                                message: format!(
                                    "page {page}: HTTP {s}; check the endpoint URL in the stock endpoint secret"
                                ),
                                retryable: false,
                                error_type: "WmsEndpointRefused",
                            });
                        }
                    }
                }
                Err(e) if let Some(refusal) = spapi::tls::certificate_refusal(&e) => {
                    return Err(StockError {
                        message: format!(
                            "page {page}: the WMS endpoint's TLS certificate was refused ({refusal}); if a private CA signed it, put that CA's PEM in the stock endpoint secret as \"ca_pem\""
                        ),
                        retryable: false,
                        error_type: "WmsCertificateRefused",
                    });
                }
                Err(e) if e.is_timeout() => "no answer before the timeout".to_string(),
                Err(e) if e.is_connect() => "could not connect (is the WMS down?)".to_string(),
                Err(e) => format!("request failed: {}", e.without_url()),
            };
            let wait = self
                .options
                .backoff
                .saturating_mul(1 << attempt.min(8))
                .mul_f64(1.0 + fastrand::f64() * 0.25);
            if attempt >= self.options.retries || !deadline.allows(wait) {
                return Err(StockError {
                    message: format!("page {page}: {failure} after {} attempt(s)", attempt + 1),
                    retryable: true,
                    error_type: "WmsUnavailable",
                });
            }
            tracing::warn!(page, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, reason = %failure, "WMS stock page failed, retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[async_trait::async_trait]
impl StockSource for HttpStockSource {
    async fn fetch_all(
        &self,
        client_code: &str,
        deadline: &Deadline,
    ) -> Result<Vec<StockItem>, StockError> {
        let endpoint = self.secret.endpoint().await?;
        let http = self.client_for(&endpoint)?;
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        for page in 1..=self.options.max_pages {
            let p = self
                .page(
                    &http,
                    &endpoint,
                    client_code,
                    cursor.as_deref(),
                    page,
                    deadline,
                )
                .await?;
            items.extend(p.items);
            match p.next_page {
                None => {
                    tracing::info!(pages = page, skus = items.len(), "WMS stock read");
                    return Ok(items);
                }
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(StockError {
                            message: format!(
                                "page {page} repeats an earlier cursor: the endpoint's paging loops"
                            ),
                            retryable: false,
                            error_type: "WmsStockInvalid",
                        });
                    }
                    cursor = Some(next);
                }
            }
        }
        Err(StockError {
            message: format!("more than {} pages: stopping", self.options.max_pages),
            retryable: false,
            error_type: "WmsStockInvalid",
        })
    }
}

/// `builder` with the stock client's timeouts, built.
fn finish(
    builder: reqwest::ClientBuilder,
    options: &StockHttpOptions,
) -> Result<reqwest::Client, StockError> {
    builder
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .build()
        .map_err(|e| StockError {
            message: format!("could not build the HTTP client: {e}"),
            retryable: false,
            error_type: "WmsClientFailed",
        })
}

/// A per-seller job (the job queue's message body): the stock push, or
/// the weekly SKU reconciliation (`"task": "reconcile_skus"`). A body
/// without `task` is a push, as before the reconciliation existed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushJob {
    pub seller_id: String,
    #[serde(default, skip_serializing_if = "PushTask::is_push")]
    pub task: PushTask,
}

impl PushJob {
    pub fn push(seller_id: impl Into<String>) -> Self {
        Self {
            seller_id: seller_id.into(),
            task: PushTask::Push,
        }
    }

    pub fn reconcile(seller_id: impl Into<String>) -> Self {
        Self {
            seller_id: seller_id.into(),
            task: PushTask::ReconcileSkus,
        }
    }
}

/// What a job does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushTask {
    #[default]
    Push,
    ReconcileSkus,
}

impl PushTask {
    pub fn is_push(&self) -> bool {
        *self == PushTask::Push
    }
}

pub use lambda_kit::queue::QueueError;

/// Where per-seller jobs go: the inventory-push job queue.
#[async_trait::async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, job: &PushJob, delay: Duration) -> Result<(), QueueError>;
}

/// The job queue (an SQS queue; at most 15 minutes of delay).
pub use lambda_kit::queue::SqsQueue as SqsJobQueue;

#[async_trait::async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, job: &PushJob, delay: Duration) -> Result<(), QueueError> {
        let body = encode("encode a job", job)?;
        // As in order-pull and shipment-confirm: a send SQS refuses (4xx)
        // is permanent, so its record goes to the dead-letter queue at once
        // with its reason (QueueRefused) instead of after every retry.
        self.send("enqueue an inventory-push job", body, delay)
            .await
    }
}
