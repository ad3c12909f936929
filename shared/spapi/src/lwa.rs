//! Login with Amazon: access tokens for seller calls (refresh-token grant)
//! and grantless calls (client-credentials grant), cached until a minute
//! before they expire, refreshed once per key even when many tasks ask at
//! the same time. `invalid_grant` is final: the seller is remembered as
//! revoked and never retried by this process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::operation::RetrySafety;
use domain::retry::{Decision, Failure, RetryPolicy};
use domain::{Deadline, SellerId, TimeScale};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::SpApiError;

/// The [`TokenKey::Grantless`] name of code exchanges (never cached).
const CODE_EXCHANGE: &str = "authorization_code";

/// Amazon's helpers treat a token as expired this long before it does.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The application's LWA client id and secret (one secret for the deployment).
#[derive(Clone)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Whose token: a seller's, or the application's for a grantless scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TokenKey {
    Seller(SellerId),
    Grantless(&'static str),
}

#[derive(Clone)]
struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    expires_in: u64,
    #[serde(default)]
    refresh_token: Option<SecretString>,
}

/// What LWA gives for a seller's authorization code: the seller's
/// long-lived refresh token (and a first access token). Never printed.
pub struct CodeGrant {
    pub refresh_token: SecretString,
    pub access_token: SecretString,
    pub expires_in: Duration,
}

impl std::fmt::Debug for CodeGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeGrant")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize, Default)]
struct LwaErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// What the token provider needs to ask LWA for a token.
pub enum Grant {
    RefreshToken(SecretString),
    ClientCredentials {
        scope: &'static str,
    },
    /// The consent flow's code, with the `redirect_uri` the consent used.
    AuthorizationCode {
        code: SecretString,
        redirect_uri: String,
    },
}

pub struct Lwa {
    http: reqwest::Client,
    url: String,
    scale: TimeScale,
    retry: RetryPolicy,
    cache: Mutex<HashMap<TokenKey, Arc<Mutex<Option<Cached>>>>>,
}

impl Lwa {
    pub fn new(http: reqwest::Client, url: String, scale: TimeScale, retry: RetryPolicy) -> Self {
        Self {
            http,
            url,
            scale,
            retry,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn slot(&self, key: &TokenKey) -> Arc<Mutex<Option<Cached>>> {
        let mut cache = self.cache.lock().await;
        cache.entry(key.clone()).or_default().clone()
    }

    /// A valid access token for `key`, from the cache or from LWA. `grant`
    /// is only called when a new token is needed.
    pub async fn token<F, Fut>(
        &self,
        key: &TokenKey,
        app: &AppCredentials,
        grant: F,
        deadline: &Deadline,
    ) -> Result<SecretString, SpApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Grant, SpApiError>>,
    {
        let slot = self.slot(key).await;
        // One refresh per key at a time: the others wait and reuse it.
        let mut guard = slot.lock().await;
        if let Some(cached) = guard.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let grant = grant().await?;
        let answer = self.request(key, app, &grant, deadline).await?;
        let (token, lifetime) = (answer.access_token, Duration::from_secs(answer.expires_in));
        let margin = self.scale.duration(EXPIRY_MARGIN);
        let lifetime = self.scale.duration(lifetime);
        *guard = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }

    /// Forget a cached token (Amazon said it expired).
    pub async fn invalidate(&self, key: &TokenKey) {
        let slot = self.slot(key).await;
        *slot.lock().await = None;
    }

    /// Exchanges a seller's authorization code (the consent flow's
    /// `spapi_oauth_code`) for its refresh token. Not cached: a code works
    /// once. LWA's refusal (`invalid_grant`: expired, used, or another
    /// `redirect_uri`) is [`SpApiError::AuthorizationCode`].
    pub async fn exchange_code(
        &self,
        app: &AppCredentials,
        code: SecretString,
        redirect_uri: &str,
        deadline: &Deadline,
    ) -> Result<CodeGrant, SpApiError> {
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri: redirect_uri.to_string(),
        };
        let answer = self
            .request(&TokenKey::Grantless(CODE_EXCHANGE), app, &grant, deadline)
            .await?;
        let refresh_token = answer.refresh_token.ok_or_else(|| SpApiError::Lwa {
            status: 200,
            code: "malformed_response".into(),
            description: "the code exchange answered without a refresh_token".into(),
            retryable: false,
        })?;
        Ok(CodeGrant {
            refresh_token,
            access_token: answer.access_token,
            expires_in: Duration::from_secs(answer.expires_in),
        })
    }

    async fn request(
        &self,
        key: &TokenKey,
        app: &AppCredentials,
        grant: &Grant,
        deadline: &Deadline,
    ) -> Result<TokenAnswer, SpApiError> {
        let mut retries = 0;
        loop {
            let form: Vec<(&str, &str)> = match grant {
                Grant::RefreshToken(refresh) => vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                    ("client_id", &app.client_id),
                    ("client_secret", app.client_secret.expose_secret()),
                ],
                Grant::ClientCredentials { scope } => vec![
                    ("grant_type", "client_credentials"),
                    ("scope", scope),
                    ("client_id", &app.client_id),
                    ("client_secret", app.client_secret.expose_secret()),
                ],
                Grant::AuthorizationCode { code, redirect_uri } => vec![
                    ("grant_type", "authorization_code"),
                    ("code", code.expose_secret()),
                    ("redirect_uri", redirect_uri),
                    ("client_id", &app.client_id),
                    ("client_secret", app.client_secret.expose_secret()),
                ],
            };
            let sent = self
                .http
                .post(&self.url)
                .form(&form)
                .timeout(deadline.remaining().min(Duration::from_secs(15)))
                .send()
                .await;
            let failure = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes().await.unwrap_or_default();
                    if (200..300).contains(&status) {
                        let answer: TokenAnswer =
                            serde_json::from_slice(&bytes).map_err(|e| SpApiError::Lwa {
                                status,
                                code: "malformed_response".into(),
                                // Never serde's own text: it would quote what it found.
                                description: format!(
                                    "token answer is not LWA's JSON: {}",
                                    crate::decode::mismatch(&e)
                                ),
                                retryable: true,
                            })?;
                        return Ok(answer);
                    }
                    let body: LwaErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
                    if body.error == "invalid_grant"
                        && let TokenKey::Seller(seller) = key
                    {
                        return Err(SpApiError::AuthorizationRevoked {
                            seller: seller.clone(),
                        });
                    }
                    if matches!(grant, Grant::AuthorizationCode { .. })
                        && matches!(body.error.as_str(), "invalid_grant" | "invalid_request")
                    {
                        return Err(SpApiError::AuthorizationCode {
                            status,
                            code: body.error,
                            description: body.error_description,
                        });
                    }
                    let retryable = status >= 500
                        || status == 429
                        || matches!(
                            body.error.as_str(),
                            "server_error" | "temporarily_unavailable"
                        );
                    let error = SpApiError::Lwa {
                        status,
                        code: if body.error.is_empty() {
                            "unknown".into()
                        } else {
                            body.error
                        },
                        description: body.error_description,
                        retryable,
                    };
                    if !retryable {
                        return Err(error);
                    }
                    (
                        Failure::Status(if status < 500 && status != 429 {
                            503
                        } else {
                            status
                        }),
                        error,
                    )
                }
                Err(e) => {
                    let sent = !e.is_connect();
                    let error = SpApiError::Lwa {
                        status: 0,
                        code: "transport".into(),
                        description: e.to_string(),
                        retryable: true,
                    };
                    (
                        if sent {
                            Failure::NoAnswer
                        } else {
                            Failure::NotSent
                        },
                        error,
                    )
                }
            };
            let (failure, error) = failure;
            // Asking for a token again is always harmless.
            match self.retry.decide(
                failure,
                retries,
                RetrySafety::Idempotent,
                false,
                fastrand::f64(),
            ) {
                Decision::Retry { after } if deadline.allows(after) => {
                    tracing::warn!(
                        wait_ms = after.as_millis() as u64,
                        retries,
                        "LWA token request failed, retrying"
                    );
                    tokio::time::sleep(after).await;
                    retries += 1;
                }
                _ => return Err(error),
            }
        }
    }
}
