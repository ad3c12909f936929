//! Secrets Manager reads, cached per warm Lambda container for a TTL, and
//! handed out as [`SecretString`] so a value can never be printed by
//! `Debug`/`Display` or a log line. Environment variables hold secret
//! *names*; values only ever live here. Writes ([`SecretWriter`]: a seller's
//! refresh token from the consent flow, the application's rotated client
//! secret) create the secret or add a version, never log the value.
//!
//! Must not depend on the store, the SP-API client or any job.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

/// Default time a value is trusted before it is read again (picks up a
/// rotated secret within five minutes).
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "secret {name:?} does not exist: create it (README, \"Onboard a seller\") or fix the name in the settings"
    )]
    NotFound { name: String },
    #[error("secret {name:?} has no string value: store it as a SecretString")]
    Empty { name: String },
    #[error("secret {name:?} is not the expected JSON at `{path}`: {message}")]
    Shape {
        name: String,
        path: String,
        message: String,
    },
    #[error("could not read secret {name:?} from Secrets Manager: {source}")]
    Read {
        name: String,
        retryable: bool,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not write secret {name:?} to Secrets Manager ({action}): {message}")]
    Write {
        name: String,
        action: &'static str,
        /// Secrets Manager's error code and message (they name no value).
        message: String,
        retryable: bool,
    },
}

impl SecretsError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SecretsError::Read {
                retryable: true,
                ..
            } | SecretsError::Write {
                retryable: true,
                ..
            }
        )
    }
}

/// Where secret values come from (Secrets Manager; a map in unit tests).
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync {
    async fn fetch(&self, name: &str) -> Result<SecretString, SecretsError>;
}

/// Secrets Manager as a [`SecretSource`].
#[derive(Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    kms_key: Option<String>,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            client,
            kms_key: None,
        }
    }
}

#[async_trait::async_trait]
impl SecretSource for SecretsManager {
    async fn fetch(&self, name: &str) -> Result<SecretString, SecretsError> {
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| {
                let not_found = matches!(
                    &e,
                    SdkError::ServiceError(s) if matches!(s.err(), GetSecretValueError::ResourceNotFoundException(_))
                );
                if not_found {
                    return SecretsError::NotFound { name: name.to_string() };
                }
                let retryable = match &e {
                    SdkError::ServiceError(s) => matches!(
                        s.err(),
                        GetSecretValueError::InternalServiceError(_)
                    ),
                    SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
                    _ => false,
                };
                SecretsError::Read {
                    name: name.to_string(),
                    retryable,
                    source: Box::new(e),
                }
            })?;
        match out.secret_string() {
            Some(v) if !v.is_empty() => Ok(SecretString::from(v.to_string())),
            _ => Err(SecretsError::Empty {
                name: name.to_string(),
            }),
        }
    }
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The secret did not exist and was created.
    Created,
    /// A new version became current (the previous one stays as
    /// `AWSPREVIOUS`, so nothing reading the old value breaks mid-way).
    NewVersion,
}

/// Where secret values are written (Secrets Manager; a map in tests).
#[async_trait::async_trait]
pub trait SecretWriter: Send + Sync {
    /// Creates `name` with `value`, or puts `value` as its new current version.
    async fn put(&self, name: &str, value: &SecretString) -> Result<Written, SecretsError>;

    /// When the secret's value last changed (`None`: it does not exist).
    async fn last_changed(&self, name: &str) -> Result<Option<SystemTime>, SecretsError>;
}

impl SecretsManager {
    /// New secrets are encrypted with `kms_key` (the deployment's key; an
    /// ARN, id or `alias/...`) instead of the account's default key.
    pub fn with_kms_key(mut self, kms_key: impl Into<String>) -> Self {
        self.kms_key = Some(kms_key.into());
        self
    }
}

fn write_error<E>(name: &str, action: &'static str, e: SdkError<E, HttpResponse>) -> SecretsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retryable = match &e {
        SdkError::ServiceError(s) => {
            s.raw().status().as_u16() >= 500
                || matches!(
                    s.err().code(),
                    Some("InternalServiceError" | "ThrottlingException")
                )
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    let message = match &e {
        SdkError::ServiceError(s) => format!(
            "{} {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or_default()
        ),
        other => aws_sdk_secretsmanager::error::DisplayErrorContext(other).to_string(),
    };
    SecretsError::Write {
        name: name.to_string(),
        action,
        message: message.trim().to_string(),
        retryable,
    }
}

#[async_trait::async_trait]
impl SecretWriter for SecretsManager {
    async fn put(&self, name: &str, value: &SecretString) -> Result<Written, SecretsError> {
        let created = self
            .client
            .create_secret()
            .name(name)
            .secret_string(value.expose_secret())
            .set_kms_key_id(self.kms_key.clone())
            .send()
            .await;
        match created {
            Ok(_) => Ok(Written::Created),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                self.client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value.expose_secret())
                    .send()
                    .await
                    .map(|_| Written::NewVersion)
                    .map_err(|e| write_error(name, "put a new version", e))
            }
            Err(e) => Err(write_error(name, "create", e)),
        }
    }

    async fn last_changed(&self, name: &str) -> Result<Option<SystemTime>, SecretsError> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) => Ok(out
                .last_changed_date()
                .or(out.created_date())
                .and_then(|d| SystemTime::try_from(*d).ok())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(write_error(name, "describe", e)),
        }
    }
}

/// A TTL cache in front of a [`SecretSource`]; build one per container.
#[derive(Clone)]
pub struct SecretsCache {
    source: Arc<dyn SecretSource>,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<String, (SecretString, Instant)>>>,
}

impl SecretsCache {
    pub fn new(source: Arc<dyn SecretSource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The secret's value, from the cache while it is fresh.
    pub async fn get(&self, name: &str) -> Result<SecretString, SecretsError> {
        {
            let cache = self.cache.lock().await;
            if let Some((value, read_at)) = cache.get(name)
                && read_at.elapsed() < self.ttl
            {
                return Ok(value.clone());
            }
        }
        let value = self.source.fetch(name).await?;
        tracing::debug!(secret = name, "secret read from the source");
        self.cache
            .lock()
            .await
            .insert(name.to_string(), (value.clone(), Instant::now()));
        Ok(value)
    }

    /// The secret parsed as JSON into `T` (whose fields should themselves be
    /// `SecretString` where they are secret). Errors name the field, never
    /// the value.
    pub async fn get_json<T: DeserializeOwned>(&self, name: &str) -> Result<T, SecretsError> {
        let value = self.get(name).await?;
        let de = &mut serde_json::Deserializer::from_str(value.expose_secret());
        serde_path_to_error::deserialize(de).map_err(|e| SecretsError::Shape {
            name: name.to_string(),
            path: e.path().to_string(),
            message: e.inner().classify_message(),
        })
    }

    /// Drop a cached value (after Amazon refused a credential, say).
    pub async fn invalidate(&self, name: &str) {
        self.cache.lock().await.remove(name);
    }
}

trait ClassifyMessage {
    fn classify_message(&self) -> String;
}

impl ClassifyMessage for serde_json::Error {
    fn classify_message(&self) -> String {
        use serde_json::error::Category;
        match self.classify() {
            Category::Syntax | Category::Eof => "not valid JSON".to_string(),
            // e.g. "missing field `client_secret`", never the value.
            Category::Data => domain::pii::json_data_problem(self),
            Category::Io => "could not be read".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        reads: AtomicUsize,
        value: String,
    }

    #[async_trait::async_trait]
    impl SecretSource for Counting {
        async fn fetch(&self, name: &str) -> Result<SecretString, SecretsError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if name == "missing" {
                return Err(SecretsError::NotFound { name: name.into() });
            }
            Ok(SecretString::from(self.value.clone()))
        }
    }

    #[derive(serde::Deserialize)]
    struct App {
        #[allow(dead_code)]
        client_id: String,
        #[allow(dead_code)]
        client_secret: SecretString,
    }

    #[tokio::test(start_paused = true)]
    async fn values_are_cached_for_the_ttl_then_read_again() {
        let source = Arc::new(Counting {
            reads: AtomicUsize::new(0),
            value: "v".into(),
        });
        let cache = SecretsCache::new(source.clone(), Duration::from_secs(60));
        cache.get("a").await.unwrap();
        cache.get("a").await.unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        // std Instant is not paused: invalidate to prove the refetch path too
        cache.invalidate("a").await;
        cache.get("a").await.unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
        assert!(matches!(
            cache.get("missing").await,
            Err(SecretsError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn zero_ttl_always_reads() {
        let source = Arc::new(Counting {
            reads: AtomicUsize::new(0),
            value: "v".into(),
        });
        let cache = SecretsCache::new(source.clone(), Duration::ZERO);
        cache.get("a").await.unwrap();
        cache.get("a").await.unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn json_errors_name_the_field_and_never_the_value() {
        let source = Arc::new(Counting {
            reads: AtomicUsize::new(0),
            value: r#"{"client_id":"amzn1.application-oa2-client.x","client_secret":12345678}"#
                .into(),
        });
        let cache = SecretsCache::new(source, DEFAULT_TTL);
        let err = cache
            .get_json::<App>("app")
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("client_secret"), "{err}");
        assert!(!err.contains("12345678"), "{err}");
        let debug = format!("{:?}", cache.get("app").await.unwrap());
        assert!(!debug.contains("amzn1"), "{debug}");
    }
}
