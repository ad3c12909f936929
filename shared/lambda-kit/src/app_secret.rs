//! The application's LWA credentials secret (`connector/<stage>/lwa-app`):
//! its JSON, and what a rotation writes into it. Amazon makes the client
//! secret expire 180 days after it was issued; the secret keeps when the
//! stored value was made (`rotated_at`) and, when Amazon said so, when it
//! expires (`expires_at`), so its age can be measured and alarmed on.
//!
//! ```json
//! {"client_id": "amzn1.application-oa2-client....", "client_secret": "...",
//!  "rotated_at": "2026-12-01T10:00:00Z", "expires_at": "2027-05-30T10:00:00Z"}
//! ```
//!
//! Writing a new version never breaks a running function: readers cache
//! the value, and the SP-API client reads it again at LWA's first refusal.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use secrets::{SecretWriter, SecretsCache, SecretsError, Written};
use serde::Deserialize;

/// Amazon's lifetime of a client secret (days).
pub const SECRET_LIFETIME_DAYS: i64 = 180;

/// The secret's content.
#[derive(Deserialize)]
pub struct AppSecret {
    pub client_id: String,
    pub client_secret: SecretString,
    /// When this client secret was stored by a rotation (absent for one
    /// put by hand: the secret's last change stands in).
    #[serde(default)]
    pub rotated_at: Option<DateTime<Utc>>,
    /// When Amazon said it expires.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Amazon's publish time of the notification it came from (an older
    /// notification delivered late never replaces a newer secret).
    #[serde(default)]
    pub notified_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecret")
            .field("client_id", &self.client_id)
            .field("rotated_at", &self.rotated_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Reads the secret (through `cache`; give it a zero TTL for a fresh read).
pub async fn read(cache: &SecretsCache, name: &str) -> Result<AppSecret, SecretsError> {
    cache.get_json(name).await
}

/// The JSON of a new client secret.
pub fn document(
    client_id: &str,
    client_secret: &SecretString,
    rotated_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    notified_at: Option<DateTime<Utc>>,
) -> SecretString {
    let mut doc = serde_json::json!({
        "client_id": client_id,
        "client_secret": client_secret.expose_secret(),
        "rotated_at": rotated_at,
    });
    if let Some(t) = expires_at {
        doc["expires_at"] = serde_json::json!(t);
    }
    if let Some(t) = notified_at {
        doc["notified_at"] = serde_json::json!(t);
    }
    SecretString::from(doc.to_string())
}

/// Stores a new client secret for `client_id` (a new version of the secret)
/// and writes the audit line.
pub async fn store_new(
    writer: &dyn SecretWriter,
    name: &str,
    client_id: &str,
    client_secret: &SecretString,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    notified_at: Option<DateTime<Utc>>,
) -> Result<Written, SecretsError> {
    let value = document(client_id, client_secret, now, expires_at, notified_at);
    match writer.put(name, &value).await {
        Ok(w) => {
            crate::audit!(success, "app_secret.write", secret = %name, client_id = %client_id, expires_at = ?expires_at, "the application's new LWA client secret was stored");
            Ok(w)
        }
        Err(e) => {
            crate::audit!(failure, "app_secret.write", secret = %name, client_id = %client_id, error = %e, "the application's new LWA client secret was NOT stored");
            Err(e)
        }
    }
}

/// How old the stored client secret is (whole days): from `rotated_at`, or
/// the secret's last change when it was put by hand.
pub async fn age_days(
    secret: &AppSecret,
    writer: &dyn SecretWriter,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, SecretsError> {
    let made = match secret.rotated_at {
        Some(t) => Some(t),
        None => writer.last_changed(name).await?.map(DateTime::<Utc>::from),
    };
    Ok(made.map(|t| (now - t).num_days().max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    #[derive(Default)]
    struct Map(Mutex<HashMap<String, String>>);

    #[async_trait::async_trait]
    impl secrets::SecretSource for Map {
        async fn fetch(&self, name: &str) -> Result<SecretString, SecretsError> {
            self.0
                .lock()
                .unwrap()
                .get(name)
                .map(|v| SecretString::from(v.clone()))
                .ok_or_else(|| SecretsError::NotFound { name: name.into() })
        }
    }

    #[async_trait::async_trait]
    impl SecretWriter for Map {
        async fn put(&self, name: &str, value: &SecretString) -> Result<Written, SecretsError> {
            self.0
                .lock()
                .unwrap()
                .insert(name.into(), value.expose_secret().to_string());
            Ok(Written::NewVersion)
        }
        async fn last_changed(&self, _: &str) -> Result<Option<SystemTime>, SecretsError> {
            Ok(Some(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000),
            ))
        }
    }

    #[tokio::test]
    async fn a_rotation_keeps_the_date_and_a_hand_put_secret_uses_its_last_change() {
        let map = Arc::new(Map::default());
        let cache = SecretsCache::new(map.clone(), Duration::ZERO);
        let now: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        map.0.lock().unwrap().insert(
            "app".into(),
            r#"{"client_id":"c","client_secret":"by-hand"}"#.into(),
        );
        let old = read(&cache, "app").await.unwrap();
        // 1_764_000_000 is 2025-11-24T16:00:00Z: 371 days before `now`.
        assert_eq!(
            age_days(&old, map.as_ref(), "app", now).await.unwrap(),
            Some(371)
        );
        store_new(
            map.as_ref(),
            "app",
            "c",
            &SecretString::from("new-secret"),
            now,
            Some("2027-05-30T00:00:00Z".parse().unwrap()),
            None,
        )
        .await
        .unwrap();
        let new = read(&cache, "app").await.unwrap();
        assert_eq!(new.client_secret.expose_secret(), "new-secret");
        assert_eq!(new.rotated_at, Some(now));
        let later = now + chrono::TimeDelta::days(10);
        assert_eq!(
            age_days(&new, map.as_ref(), "app", later).await.unwrap(),
            Some(10)
        );
        assert!(!format!("{new:?}").contains("new-secret"));
    }
}
