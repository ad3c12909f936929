//! `app` (library part): the application's own LWA client secret — its
//! status, a rotation asked of Amazon (the new secret arrives on the
//! application's notification queue, and the credentials function stores
//! it), or a secret from Developer Central stored by hand.

use chrono::{DateTime, Utc};
use domain::{Deadline, Region};
use lambda_kit::app_secret::{self, SECRET_LIFETIME_DAYS};
use secrecy::{ExposeSecret, SecretString};
use secrets::{SecretWriter, SecretsCache};
use spapi::ops::application::RotateApplicationClientSecret;
use spapi::{SellerContext, SpApi};

use crate::AdminError;

/// What is known of the stored client secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SecretStatus {
    pub client_id: String,
    pub age_days: Option<i64>,
    /// Amazon's expiry if it said so, else 180 days after it was stored.
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
}

fn aws(action: &str, e: impl std::fmt::Display) -> AdminError {
    AdminError::Aws {
        action: action.to_string(),
        message: e.to_string(),
    }
}

pub async fn status(
    reader: &SecretsCache,
    writer: &dyn SecretWriter,
    name: &str,
    now: DateTime<Utc>,
) -> Result<SecretStatus, AdminError> {
    let secret = app_secret::read(reader, name)
        .await
        .map_err(|e| aws("read the application's secret", e))?;
    let age = app_secret::age_days(&secret, writer, name, now)
        .await
        .map_err(|e| aws("describe the application's secret", e))?;
    let expires_at = secret.expires_at.or_else(|| {
        age.map(|a| {
            now - chrono::TimeDelta::days(a) + chrono::TimeDelta::days(SECRET_LIFETIME_DAYS)
        })
    });
    Ok(SecretStatus {
        client_id: secret.client_id,
        age_days: age,
        expires_at,
        rotated_at: secret.rotated_at,
    })
}

/// Asks Amazon for a new client secret (`rotateApplicationClientSecret`).
/// Amazon refuses (HTTP 400) while no notification queue is registered.
pub async fn rotate(api: &SpApi, region: Region, deadline: &Deadline) -> Result<(), AdminError> {
    let app =
        SellerContext::application(region).map_err(|e| AdminError::Settings(e.to_string()))?;
    api.call(&app, &RotateApplicationClientSecret, deadline)
        .await?;
    tracing::info!(audit = "app_secret.rotate", outcome = "success", region = %region, "Amazon was asked for a new LWA client secret");
    Ok(())
}

/// Stores a client secret from Developer Central, keeping the stored client id.
pub async fn store_by_hand(
    reader: &SecretsCache,
    writer: &dyn SecretWriter,
    name: &str,
    new_secret: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let new_secret = new_secret.trim();
    if new_secret.is_empty() {
        return Err(AdminError::Settings(
            "the client secret is empty: paste it from Developer Central (it starts with amzn1.oa2-cs.)".into(),
        ));
    }
    let current = app_secret::read(reader, name)
        .await
        .map_err(|e| aws("read the application's secret", e))?;
    if current.client_secret.expose_secret() == new_secret {
        return Err(AdminError::Settings(
            "that is the client secret already stored".into(),
        ));
    }
    app_secret::store_new(
        writer,
        name,
        &current.client_id,
        &SecretString::from(new_secret.to_string()),
        now,
        None,
        None,
    )
    .await
    .map_err(|e| aws("store the application's new client secret", e))?;
    Ok(())
}
