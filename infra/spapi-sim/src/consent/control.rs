//! What tests and the demo see and set of consent (through
//! [`crate::SimControl`]).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::types::SolutionSpec;
use crate::SimError;
use crate::clock::iso;

impl crate::SimControl {
    /// Registers an SP-API application for the consent flow (its LWA client
    /// must be registered with `register_app` too).
    pub fn register_solution(&self, spec: SolutionSpec) {
        self.with(|s| {
            s.consent
                .solutions
                .insert(spec.application_id.clone(), spec);
        });
    }

    /// Who is signed in to Seller Central (and so consents); `None` lets the
    /// consent page offer every seller.
    pub fn sign_in(&self, seller_id: Option<&str>) -> Result<(), SimError> {
        self.with(|s| {
            if let Some(id) = seller_id {
                s.seller(id)?;
            }
            s.consent.signed_in = seller_id.map(str::to_string);
            Ok(())
        })
    }

    /// The sellers who confirmed a consent, in order, and how many denied.
    pub fn consents(&self) -> (Vec<String>, u32) {
        self.with(|s| (s.consent.consents.clone(), s.consent.denials))
    }

    /// The application's notifications not yet delivered (taken).
    pub fn take_app_notifications(&self) -> Vec<Value> {
        self.with(|s| std::mem::take(&mut s.consent.outbox))
    }

    /// Queues Amazon's warning that the client's secret expires at `expiry`
    /// (`APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`).
    pub fn warn_secret_expiry(&self, client_id: &str, expiry: DateTime<Utc>) {
        self.with(|s| {
            let now = s.now();
            let application_id = s
                .consent
                .solutions
                .values()
                .find(|x| x.client_id == client_id)
                .map(|x| x.application_id.clone())
                .unwrap_or_default();
            s.consent.outbox.push(json!({
                "notificationVersion": "1.0",
                "notificationType": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
                "payloadVersion": "2023-11-30",
                "eventTime": iso(now),
                "payload": {"applicationOAuthClientSecretExpiry": {
                    "clientId": client_id,
                    "clientSecretExpiryTime": iso(expiry),
                    "clientSecretExpiryReason": "PERIODIC_ROTATION",
                }},
                "notificationMetadata": {
                    "applicationId": application_id,
                    "subscriptionId": uuid::Uuid::new_v4().to_string(),
                    "publishTime": iso(now),
                    "notificationId": uuid::Uuid::new_v4().to_string(),
                }
            }));
        });
    }

    /// The previous client secret stops working now (the overlap is over).
    pub fn end_secret_overlap(&self, client_id: &str) {
        self.with(|s| {
            s.consent.previous_secrets.remove(client_id);
        });
    }

    /// The client's current secret (tests compare what was stored).
    pub fn client_secret(&self, client_id: &str) -> Option<String> {
        self.with(|s| s.apps.get(client_id).cloned())
    }

    /// The refresh tokens that work for `seller_id` now.
    pub fn live_refresh_tokens(&self, seller_id: &str) -> usize {
        self.with(|s| {
            let revoked = s.sellers.get(seller_id).is_none_or(|x| x.revoked);
            if revoked {
                return 0;
            }
            s.refresh_tokens
                .iter()
                .filter(|(t, id)| *id == seller_id && !s.consent.revoked_tokens.contains(*t))
                .count()
        })
    }
}
