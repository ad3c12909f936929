//! The operator's side of onboarding: a seller's settings go into the state
//! table and its refresh token into its own Secrets Manager secret
//! (`connector/<stage>/seller/<seller id>`, the name the functions' IAM
//! policies allow), never into the table, a log or an environment variable.
//! Also enable/disable (the seller or one job), the age of the stored
//! authorisation, and the consent check's call. The demo and the tests
//! onboard through this too.

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use domain::settings::{Authorization, SellerSettings};
use domain::{Deadline, SellerId};
use secrets::{SecretsCache, SecretsManager};
use spapi::ops::sellers::GetMarketplaceParticipations;
use spapi::{ClientConfig, SellerContext};
use store::{SettingsStore, Store};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the settings are not valid JSON for a seller: {0}")]
    Settings(String),
    #[error("no seller {0} in the table: onboard it with `connector-admin seller put`")]
    UnknownSeller(String),
    #[error(
        "the refresh token is empty: paste the token from the seller's consent (it starts with Atzr|)"
    )]
    EmptyToken,
    #[error("{action} failed: {message}")]
    Aws { action: String, message: String },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("Amazon refused the check: {0}")]
    SpApi(#[from] spapi::SpApiError),
}

/// Where a deployment keeps things (the template's names for a stage).
#[derive(Clone, Debug)]
pub struct Deployment {
    pub stage: String,
    pub table: String,
    pub app_secret: String,
}

impl Deployment {
    /// The names `template.yaml` gives a stage.
    pub fn for_stage(stage: &str) -> Self {
        Self {
            stage: stage.to_string(),
            table: format!("connector-state-{stage}"),
            app_secret: format!("connector/{stage}/lwa-app"),
        }
    }

    pub fn seller_secret(&self, seller: &SellerId) -> String {
        format!("connector/{}/seller/{seller}", self.stage)
    }

    /// A queue's name (`connector-<logical>-<stage>`, `.fifo` for FIFO
    /// queues), as template.yaml names it.
    pub fn queue(&self, logical: &str, fifo: bool) -> String {
        let suffix = if fifo { ".fifo" } else { "" };
        format!("connector-{logical}-{}{suffix}", self.stage)
    }
}

pub struct Admin {
    pub deployment: Deployment,
    pub store: Store,
    secrets: aws_sdk_secretsmanager::Client,
}

impl Admin {
    pub fn new(sdk: &SdkConfig, deployment: Deployment) -> Self {
        Self {
            store: Store::new(aws_sdk_dynamodb::Client::new(sdk), &deployment.table),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            deployment,
        }
    }

    /// The same, its store reading "now" from `clock` (the simulator's in tests).
    pub fn with_clock(mut self, clock: Arc<dyn store::Clock>) -> Self {
        self.store = self.store.with_clock(clock);
        self
    }

    /// Parses and validates settings JSON (the fields of `SellerSettings`;
    /// `refresh_token_secret` may be omitted, onboarding sets it).
    pub fn parse_settings(&self, json: &str) -> Result<SellerSettings, AdminError> {
        let mut value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| AdminError::Settings(e.to_string()))?;
        if let Some(obj) = value.as_object_mut()
            && !obj.contains_key("refresh_token_secret")
        {
            obj.insert("refresh_token_secret".into(), "set-by-onboarding".into());
        }
        let settings: SellerSettings =
            serde_json::from_value(value).map_err(|e| AdminError::Settings(e.to_string()))?;
        settings
            .validate()
            .map_err(|e| AdminError::Settings(e.to_string()))?;
        Ok(settings)
    }

    /// Onboards or updates a seller: with a refresh token, writes it to the
    /// seller's secret (created or given a new version); then stores the
    /// settings naming that secret, with the authorisation reset to active.
    pub async fn put_seller(
        &self,
        mut settings: SellerSettings,
        refresh_token: Option<&str>,
    ) -> Result<SellerSettings, AdminError> {
        let secret = self.deployment.seller_secret(&settings.seller_id);
        if let Some(token) = refresh_token {
            let token = token.trim();
            if token.is_empty() {
                return Err(AdminError::EmptyToken);
            }
            self.write_secret(
                &secret,
                &serde_json::json!({"refresh_token": token}).to_string(),
            )
            .await
            .inspect_err(|e| {
                lambda_kit::audit!(failure, "secret.write", seller = %settings.seller_id, secret = %secret, error = %e, "the seller's refresh token was not stored");
            })?;
            lambda_kit::audit!(success, "secret.write", seller = %settings.seller_id, secret = %secret, "the seller's refresh token was stored");
        }
        if refresh_token.is_some() {
            // The seller granted this token now (or when the operator got it).
            settings.authorized_at = Some(self.store.now());
        }
        settings.refresh_token_secret = secret;
        settings.authorization = Authorization::Active;
        self.store.put_settings(&settings).await?;
        Ok(settings)
    }

    async fn write_secret(&self, name: &str, value: &str) -> Result<(), AdminError> {
        let created = self
            .secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                self.secrets
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AdminError::Aws {
                        action: format!("update the secret {name}"),
                        message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                    })
            }
            Err(e) => Err(AdminError::Aws {
                action: format!("create the secret {name}"),
                message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            }),
        }
    }

    pub async fn get_seller(&self, seller: &SellerId) -> Result<SellerSettings, AdminError> {
        self.store
            .get_settings(seller)
            .await?
            .ok_or_else(|| AdminError::UnknownSeller(seller.to_string()))
    }

    pub async fn set_enabled(&self, seller: &SellerId, enabled: bool) -> Result<(), AdminError> {
        let mut settings = self.get_seller(seller).await?;
        settings.enabled = enabled;
        self.store.put_settings(&settings).await?;
        Ok(())
    }

    /// Stores a new refresh token for a seller already onboarded (its
    /// settings unchanged) and clears a broken authorisation: what a
    /// re-authorisation needs.
    pub async fn put_token(
        &self,
        seller: &SellerId,
        refresh_token: &str,
    ) -> Result<SellerSettings, AdminError> {
        let settings = self.get_seller(seller).await?;
        self.put_seller(settings, Some(refresh_token)).await
    }

    /// Writes settings as given (enable/disable of the seller or its jobs).
    pub async fn save(&self, settings: &SellerSettings) -> Result<(), AdminError> {
        Ok(self.store.put_settings(settings).await?)
    }

    /// When the seller's refresh token was stored (its secret's last change),
    /// `None` if the secret does not exist. No secret value is read.
    pub async fn token_stored_at(
        &self,
        settings: &SellerSettings,
    ) -> Result<Option<DateTime<Utc>>, AdminError> {
        let name = &settings.refresh_token_secret;
        match self.secrets.describe_secret().secret_id(name).send().await {
            Ok(d) => Ok(d
                .last_changed_date()
                .or(d.created_date())
                .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(AdminError::Aws {
                action: format!("describe the secret {name}"),
                message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            }),
        }
    }

    pub async fn list(&self) -> Result<Vec<store::SellerSummary>, AdminError> {
        Ok(self.store.list_sellers().await?)
    }

    /// The SP-API client as the functions wire it: the application's and
    /// the sellers' credentials from Secrets Manager, the shared quota
    /// buckets in the state table.
    pub fn spapi(&self, client: ClientConfig) -> Result<spapi::SpApi, AdminError> {
        let secrets = SecretsCache::new(
            Arc::new(SecretsManager::new(self.secrets.clone())),
            secrets::DEFAULT_TTL,
        );
        Ok(lambda_kit::spapi_env::production_client(
            secrets,
            &self.store,
            &self.deployment.app_secret,
            client,
        )?)
    }

    /// Checks the consent: a `getMarketplaceParticipations` call with the
    /// seller's refresh token. Returns the marketplace ids Amazon lists.
    pub async fn check(
        &self,
        seller: &SellerId,
        client: ClientConfig,
    ) -> Result<Vec<String>, AdminError> {
        let settings = self.get_seller(seller).await?;
        let api = self.spapi(client)?;
        let parts = api
            .call(
                &SellerContext::from(&settings),
                &GetMarketplaceParticipations,
                &Deadline::after(std::time::Duration::from_secs(60)),
            )
            .await?;
        Ok(parts
            .payload
            .into_iter()
            .map(|p| p.marketplace.id)
            .collect())
    }
}
