//! Amazon's notifications about the application's client secret, as its
//! registered SQS queue receives them (the payloads of Amazon's
//! `selling-partner-api-samples`, `use-cases/lwa-rotation`):
//!
//! - `APPLICATION_OAUTH_CLIENT_NEW_SECRET`: the new secret (after a
//!   rotation), its expiry and the old one's end of overlap. Stored at once
//!   as a new version of the application's secret; an older or repeated
//!   notification never replaces a newer secret (`notified_at`).
//! - `APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`: Amazon's warning. When the
//!   expiry is within `rotate_days_before_expiry`, the secret is rotated
//!   (once per notification, through the idempotency layer).
//!
//! Other types are acknowledged and logged. A notification for another
//! application's client is dead-lettered with the reason.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::CredentialsError;
use crate::keeper::Keeper;

pub const NEW_SECRET: &str = "APPLICATION_OAUTH_CLIENT_NEW_SECRET";
pub const SECRET_EXPIRY: &str = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub notification_type: String,
    #[serde(default)]
    pub payload: Payload,
    pub notification_metadata: Metadata,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub application_id: Option<String>,
    pub notification_id: String,
    pub publish_time: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Payload {
    #[serde(rename = "applicationOAuthClientNewSecret", default)]
    pub new_secret: Option<NewSecret>,
    #[serde(rename = "applicationOAuthClientSecretExpiry", default)]
    pub expiry: Option<Expiry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSecret {
    pub client_id: String,
    pub new_client_secret: SecretString,
    #[serde(default)]
    pub new_client_secret_expiry_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub old_client_secret_expiry_time: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("client_id", &self.client_id)
            .field(
                "new_client_secret_expiry_time",
                &self.new_client_secret_expiry_time,
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expiry {
    pub client_id: String,
    pub client_secret_expiry_time: DateTime<Utc>,
    #[serde(default)]
    pub client_secret_expiry_reason: Option<String>,
}

/// What a notification did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A new client secret is stored.
    Stored,
    /// Already stored, or older than what is stored.
    AlreadyCurrent,
    /// The expiry is near: the secret was rotated (Amazon sends the new one).
    Rotated,
    /// The expiry is still far.
    NotYet { days_left: i64 },
    /// A type this function does not handle.
    Ignored,
}

impl Keeper {
    pub async fn apply(
        &self,
        n: Notification,
        deadline: &domain::Deadline,
    ) -> Result<Applied, CredentialsError> {
        let id = &n.notification_metadata.notification_id;
        match n.notification_type.as_str() {
            NEW_SECRET => {
                let new = n.payload.new_secret.ok_or_else(|| {
                    CredentialsError::Refused(format!(
                        "{NEW_SECRET} notification {id} has no applicationOAuthClientNewSecret payload"
                    ))
                })?;
                self.store_new_secret(new, n.notification_metadata.publish_time)
                    .await
            }
            SECRET_EXPIRY => {
                let expiry = n.payload.expiry.ok_or_else(|| {
                    CredentialsError::Refused(format!(
                        "{SECRET_EXPIRY} notification {id} has no applicationOAuthClientSecretExpiry payload"
                    ))
                })?;
                self.expiry_warned(expiry, id, n.notification_metadata.publish_time, deadline)
                    .await
            }
            other => {
                tracing::info!(notification_type = other, notification_id = %id, "notification type not handled by this function; acknowledged");
                Ok(Applied::Ignored)
            }
        }
    }

    async fn store_new_secret(
        &self,
        new: NewSecret,
        published: DateTime<Utc>,
    ) -> Result<Applied, CredentialsError> {
        let current = self.current().await?;
        self.same_client(&current.client_id, &new.client_id)?;
        if current.notified_at.is_some_and(|t| t >= published)
            || current.client_secret.expose_secret() == new.new_client_secret.expose_secret()
        {
            tracing::info!(client_id = %new.client_id, "this client secret (or a newer one) is already stored");
            return Ok(Applied::AlreadyCurrent);
        }
        lambda_kit::app_secret::store_new(
            self.writer.as_ref(),
            &self.app_secret_name,
            &new.client_id,
            &new.new_client_secret,
            self.clock.now(),
            new.new_client_secret_expiry_time,
            Some(published),
        )
        .await?;
        self.metrics
            .stage_count(lambda_kit::metrics::APP_SECRET_ROTATIONS, 1);
        tracing::warn!(
            client_id = %new.client_id,
            old_secret_works_until = ?new.old_client_secret_expiry_time,
            new_secret_expires_at = ?new.new_client_secret_expiry_time,
            "Amazon issued a new LWA client secret; it is stored and every function uses it from its next LWA call"
        );
        Ok(Applied::Stored)
    }

    async fn expiry_warned(
        &self,
        expiry: Expiry,
        notification_id: &str,
        published: DateTime<Utc>,
        deadline: &domain::Deadline,
    ) -> Result<Applied, CredentialsError> {
        let current = self.current().await?;
        self.same_client(&current.client_id, &expiry.client_id)?;
        let now = self.clock.now();
        let days_left = (expiry.client_secret_expiry_time - now).num_days();
        if current.rotated_at.is_some_and(|t| t >= published) {
            tracing::info!(client_id = %expiry.client_id, "the warned secret was already replaced");
            return Ok(Applied::AlreadyCurrent);
        }
        if days_left > self.options.rotate_days_before_expiry {
            tracing::warn!(client_id = %expiry.client_id, expires_at = %expiry.client_secret_expiry_time, days_left, reason = ?expiry.client_secret_expiry_reason, "Amazon warns that the LWA client secret expires; it is rotated when {} days are left", self.options.rotate_days_before_expiry);
            return Ok(Applied::NotYet { days_left });
        }
        tracing::warn!(client_id = %expiry.client_id, expires_at = %expiry.client_secret_expiry_time, days_left, "the LWA client secret expires soon: rotating it");
        self.rotate(&format!("expiry-{notification_id}"), deadline)
            .await?;
        Ok(Applied::Rotated)
    }

    fn same_client(&self, ours: &str, theirs: &str) -> Result<(), CredentialsError> {
        if ours == theirs {
            Ok(())
        } else {
            Err(CredentialsError::Refused(format!(
                "the notification is for LWA client {theirs}, but this deployment's application secret holds client {ours}: check the queue registered in Developer Central"
            )))
        }
    }
}
