//! What the consent side remembers: the registered applications, codes and
//! states issued, the applications' secrets and their rotation.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Stamp;
use crate::quota::Bucket;

/// The grantless scope of the client-secret rotation.
pub const ROTATION_SCOPE: &str = "sellingpartnerapi::client_credential:rotation";
/// How long an authorization code can be exchanged (simulated time).
pub const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How long an `amazon_state` of the Appstore variant lives.
pub(crate) const AMAZON_STATE_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long the previous client secret keeps working after a rotation
/// (Amazon's sample: seven days).
pub const SECRET_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a new client secret lives (Amazon: 180 days).
pub(crate) const SECRET_LIFETIME_DAYS: i64 = 180;

/// A registered SP-API application ("solution") as control describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolutionSpec {
    /// `amzn1.sp.solution....`
    pub application_id: String,
    /// Its LWA client (registered with `register_app`).
    pub client_id: String,
    pub name: String,
    /// The OAuth redirect URIs registered in Developer Central (HTTPS in
    /// production; any URL here).
    pub redirect_uris: Vec<String>,
    /// The Appstore login URI.
    #[serde(default)]
    pub login_uri: Option<String>,
    /// A draft application: consent needs `version=beta`.
    #[serde(default)]
    pub draft: bool,
    /// An SQS queue is registered for the application's notifications
    /// (needed to rotate its client secret).
    #[serde(default)]
    pub notifications: bool,
}

pub(crate) struct IssuedCode {
    pub(crate) client_id: String,
    pub(crate) seller_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) issued: Stamp,
    pub(crate) used: bool,
}

pub(crate) struct AmazonState {
    pub(crate) application_id: String,
    pub(crate) seller_id: String,
    pub(crate) issued: Stamp,
    pub(crate) used: bool,
}

/// The consent side's state, inside the simulator's `Inner`.
#[derive(Default)]
pub struct ConsentState {
    pub(crate) solutions: HashMap<String, SolutionSpec>,
    /// The seller signed in to Seller Central (who consents).
    pub(crate) signed_in: Option<String>,
    pub(crate) codes: HashMap<String, IssuedCode>,
    pub(crate) amazon_states: HashMap<String, AmazonState>,
    /// Refresh tokens revoked one by one (a seller who authorised again
    /// keeps the new token working).
    pub revoked_tokens: HashSet<String>,
    /// Grantless access tokens: token → (client id, scope).
    pub app_tokens: HashMap<String, (String, String)>,
    /// client id → (previous secret, working until)
    pub(crate) previous_secrets: HashMap<String, (String, Stamp, Duration)>,
    /// When each client's current secret was made.
    pub(crate) secret_made: HashMap<String, DateTime<Utc>>,
    pub(crate) outbox: Vec<Value>,
    pub(crate) rotation_buckets: HashMap<String, Bucket>,
    /// Consents given (seller ids, in order) and denials.
    pub(crate) consents: Vec<String>,
    pub(crate) denials: u32,
}
