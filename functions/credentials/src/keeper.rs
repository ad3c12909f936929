//! [`Keeper`]: the function's state and its two shared steps, reading the
//! stored application secret and rotating it.

use std::sync::Arc;
use std::time::Duration;

use domain::{Deadline, Region};
use lambda_kit::app_secret::{self, AppSecret};
use lambda_kit::metrics::Metrics;
use secrets::{SecretWriter, SecretsCache};
use spapi::ops::application::RotateApplicationClientSecret;
use spapi::{SellerContext, SpApi};
use store::{Clock, Idempotency, IdempotencyError, RunOptions, SettingsStore};

use crate::error::CredentialsError;

/// The idempotency namespace of rotations: one per notification or day.
pub const ROTATION_NAMESPACE: &str = "app-secret-rotation";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeeperOptions {
    /// Rotate when Amazon's expiry warning leaves this many days or fewer
    /// (Amazon warns 90 days ahead: 90 rotates at the warning).
    pub rotate_days_before_expiry: i64,
    /// Rotate (daily check) once the stored secret is this many days old,
    /// whether or not a warning came (Amazon's limit is 180).
    pub rotate_after_days: i64,
    /// The SP-API region whose endpoint takes the rotation call.
    pub app_region: Region,
}

impl Default for KeeperOptions {
    fn default() -> Self {
        Self {
            rotate_days_before_expiry: 90,
            rotate_after_days: 150,
            app_region: Region::Na,
        }
    }
}

pub struct Keeper {
    pub app_secret_name: String,
    /// Reads without a cache: this function decides on the stored value.
    pub reader: SecretsCache,
    pub writer: Arc<dyn SecretWriter>,
    pub settings: Arc<dyn SettingsStore>,
    pub idempotency: Idempotency,
    pub api: SpApi,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub options: KeeperOptions,
}

impl Keeper {
    /// The stored application secret, read now.
    pub async fn current(&self) -> Result<AppSecret, CredentialsError> {
        Ok(app_secret::read(&self.reader, &self.app_secret_name).await?)
    }

    /// Asks Amazon for a new client secret (grantless
    /// `rotateApplicationClientSecret`), at most once per `key`; Amazon
    /// delivers it to the application's queue, and [`Keeper::apply`] stores it.
    pub async fn rotate(&self, key: &str, deadline: &Deadline) -> Result<(), CredentialsError> {
        let lock_for = deadline.remaining().min(Duration::from_secs(900));
        let options = RunOptions::new(
            self.clock.now_ms() + i64::try_from(lock_for.as_millis()).unwrap_or(i64::MAX),
            Duration::from_secs(30 * 24 * 3600),
        );
        let app = SellerContext::application(self.options.app_region, false);
        let result = self
            .idempotency
            .run(key, options, async {
                self.api
                    .call(&app, &RotateApplicationClientSecret, deadline)
                    .await
                    .map(|()| true)
            })
            .await;
        match result {
            Ok(_) => {
                lambda_kit::audit!(success, "app_secret.rotate", key = %key, region = %self.options.app_region, "Amazon was asked for a new LWA client secret; it arrives on the application's notification queue");
                Ok(())
            }
            Err(IdempotencyError::Handler(e)) => {
                lambda_kit::audit!(failure, "app_secret.rotate", key = %key, error = %e, "the LWA client secret could not be rotated");
                Err(e.into())
            }
            Err(IdempotencyError::AlreadyInProgress { .. }) => {
                Err(CredentialsError::RotationInProgress)
            }
            Err(IdempotencyError::Store(e)) => Err(e.into()),
            Err(e @ IdempotencyError::PayloadMismatch { .. }) => {
                Err(CredentialsError::Event(e.to_string()))
            }
        }
    }
}
