//! The production [`spapi::Credentials`]: the application's LWA credentials
//! and each seller's refresh token from Secrets Manager (cached per
//! container), the secret's name from the seller's settings, and a revoked
//! authorisation flagged in the settings so every job skips the seller.

use std::sync::Arc;

use domain::{PortError, SellerId};
use secrecy::SecretString;
use secrets::{SecretsCache, SecretsError};
use serde::Deserialize;
use spapi::{AppCredentials, Credentials};

/// What the credentials need to know of sellers (the store in production).
#[async_trait::async_trait]
pub trait SellerDirectory: Send + Sync {
    /// Name or ARN of the secret holding the seller's refresh token.
    async fn refresh_token_secret(&self, seller: &SellerId) -> Result<String, PortError>;
    async fn mark_authorization_broken(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), PortError>;
}

/// The JSON in the application's secret.
#[derive(Deserialize)]
struct AppSecret {
    client_id: String,
    client_secret: SecretString,
}

/// The JSON in a seller's secret: `{"refresh_token": "Atzr|..."}`.
#[derive(Deserialize)]
struct SellerSecret {
    refresh_token: SecretString,
}

pub struct SecretsCredentials {
    secrets: SecretsCache,
    app_secret_name: String,
    directory: Arc<dyn SellerDirectory>,
}

impl SecretsCredentials {
    pub fn new(
        secrets: SecretsCache,
        app_secret_name: impl Into<String>,
        directory: Arc<dyn SellerDirectory>,
    ) -> Self {
        Self {
            secrets,
            app_secret_name: app_secret_name.into(),
            directory,
        }
    }
}

fn port(e: SecretsError) -> PortError {
    let retryable = e.is_retryable();
    let message = e.to_string();
    let error = if retryable {
        PortError::retryable(message)
    } else {
        PortError::permanent(message)
    };
    error.with_source(e)
}

#[async_trait::async_trait]
impl Credentials for SecretsCredentials {
    async fn app(&self) -> Result<AppCredentials, PortError> {
        let app: AppSecret = self
            .secrets
            .get_json(&self.app_secret_name)
            .await
            .map_err(port)?;
        Ok(AppCredentials {
            client_id: app.client_id,
            client_secret: app.client_secret,
        })
    }

    async fn refresh_token(&self, seller: &SellerId) -> Result<SecretString, PortError> {
        let name = self.directory.refresh_token_secret(seller).await?;
        let secret: SellerSecret = self.secrets.get_json(&name).await.map_err(port)?;
        Ok(secret.refresh_token)
    }

    async fn authorization_revoked(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), PortError> {
        self.directory
            .mark_authorization_broken(seller, reason)
            .await
    }

    async fn forget_app(&self) {
        self.secrets.invalidate(&self.app_secret_name).await;
    }

    async fn forget_refresh_token(&self, seller: &SellerId) {
        match self.directory.refresh_token_secret(seller).await {
            Ok(name) => self.secrets.invalidate(&name).await,
            Err(e) => {
                tracing::warn!(seller = %seller, error = %e, "could not find the seller's secret to read it again")
            }
        }
    }
}

/// The production [`SellerDirectory`]: the seller settings in the store name
/// the refresh-token secret, and a revoked authorisation is recorded there
/// (so every job skips the seller until it is onboarded again).
pub struct SettingsDirectory {
    settings: Arc<dyn store::SettingsStore>,
}

impl SettingsDirectory {
    pub fn new(settings: Arc<dyn store::SettingsStore>) -> Self {
        Self { settings }
    }
}

fn store_port(e: store::StoreError) -> PortError {
    let message = e.to_string();
    let error = if e.is_retryable() {
        PortError::retryable(message)
    } else {
        PortError::permanent(message)
    };
    error.with_source(e)
}

#[async_trait::async_trait]
impl SellerDirectory for SettingsDirectory {
    async fn refresh_token_secret(&self, seller: &SellerId) -> Result<String, PortError> {
        self.settings
            .refresh_token_secret(seller)
            .await
            .map_err(store_port)
    }

    async fn mark_authorization_broken(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), PortError> {
        self.settings
            .mark_authorization_broken(seller, reason)
            .await
            .map_err(store_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    struct Map(HashMap<String, String>);

    #[async_trait::async_trait]
    impl secrets::SecretSource for Map {
        async fn fetch(&self, name: &str) -> Result<SecretString, SecretsError> {
            self.0
                .get(name)
                .map(|v| SecretString::from(v.clone()))
                .ok_or_else(|| SecretsError::NotFound { name: name.into() })
        }
    }

    #[derive(Default)]
    struct Directory {
        broken: Mutex<Vec<(String, String)>>,
    }

    #[async_trait::async_trait]
    impl SellerDirectory for Directory {
        async fn refresh_token_secret(&self, seller: &SellerId) -> Result<String, PortError> {
            Ok(format!("connector/sellers/{seller}"))
        }
        async fn mark_authorization_broken(
            &self,
            seller: &SellerId,
            reason: &str,
        ) -> Result<(), PortError> {
            self.broken
                .lock()
                .unwrap()
                .push((seller.to_string(), reason.to_string()));
            Ok(())
        }
    }

    #[tokio::test]
    async fn reads_app_and_seller_secrets_and_flags_revocations() {
        let source = Map(HashMap::from([
            (
                "app".to_string(),
                r#"{"client_id":"amzn1.application-oa2-client.x","client_secret":"s3cr3t"}"#
                    .to_string(),
            ),
            (
                "connector/sellers/A3EXAMPLESELLER".to_string(),
                r#"{"refresh_token":"Atzr|r"}"#.to_string(),
            ),
        ]));
        let dir = Arc::new(Directory::default());
        let creds = SecretsCredentials::new(
            SecretsCache::new(Arc::new(source), Duration::from_secs(60)),
            "app",
            dir.clone(),
        );
        let app = creds.app().await.unwrap();
        assert_eq!(app.client_id, "amzn1.application-oa2-client.x");
        assert_eq!(app.client_secret.expose_secret(), "s3cr3t");
        assert!(!format!("{app:?}").contains("s3cr3t"));
        let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
        assert_eq!(
            creds.refresh_token(&seller).await.unwrap().expose_secret(),
            "Atzr|r"
        );
        let other = SellerId::new("A3OTHERSELLER1").unwrap();
        let err = creds.refresh_token(&other).await.unwrap_err();
        assert!(
            !err.retryable && err.message.contains("does not exist"),
            "{err}"
        );
        creds
            .authorization_revoked(&seller, "invalid_grant")
            .await
            .unwrap();
        assert_eq!(dir.broken.lock().unwrap().len(), 1);
    }

    /// Counts reads, and serves whatever value is current.
    struct Changing {
        value: Mutex<String>,
        reads: Mutex<usize>,
    }

    #[async_trait::async_trait]
    impl secrets::SecretSource for Changing {
        async fn fetch(&self, _: &str) -> Result<SecretString, SecretsError> {
            *self.reads.lock().unwrap() += 1;
            Ok(SecretString::from(self.value.lock().unwrap().clone()))
        }
    }

    #[tokio::test]
    async fn forgetting_reads_the_stored_value_again() {
        let source = Arc::new(Changing {
            value: Mutex::new(
                r#"{"client_id":"c","client_secret":"old","refresh_token":"Atzr|old"}"#.into(),
            ),
            reads: Mutex::new(0),
        });
        let creds = SecretsCredentials::new(
            SecretsCache::new(source.clone(), Duration::from_secs(3600)),
            "app",
            Arc::new(Directory::default()),
        );
        let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
        assert_eq!(
            creds.app().await.unwrap().client_secret.expose_secret(),
            "old"
        );
        *source.value.lock().unwrap() =
            r#"{"client_id":"c","client_secret":"new","refresh_token":"Atzr|new"}"#.into();
        assert_eq!(
            creds.app().await.unwrap().client_secret.expose_secret(),
            "old",
            "cached"
        );
        creds.forget_app().await;
        assert_eq!(
            creds.app().await.unwrap().client_secret.expose_secret(),
            "new"
        );
        let before = *source.reads.lock().unwrap();
        creds.refresh_token(&seller).await.unwrap();
        creds.forget_refresh_token(&seller).await;
        assert_eq!(
            creds.refresh_token(&seller).await.unwrap().expose_secret(),
            "Atzr|new"
        );
        assert_eq!(*source.reads.lock().unwrap(), before + 2);
    }
}
