//! The function's one error type. Each variant is one page the seller sees
//! (what happened, what to do: `pages::failure`), one HTTP status and one
//! stable `reason` for the logs and the metrics. Messages name ids, never a
//! code, a state, a token or a secret.

use chrono::{DateTime, Utc};
use domain::onboarding::Refusal;
use domain::{Region, SellerId};

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("no page at this address")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unknown invitation")]
    UnknownInvitation,
    #[error("invitation {id} expired at {at}")]
    InvitationExpired { id: String, at: DateTime<Utc> },
    #[error("invitation {id} was already used by seller {seller}")]
    InvitationUsed { id: String, seller: SellerId },
    #[error("the seller did not authorise the application")]
    Denied,
    #[error("Amazon answered the consent with error {error}")]
    AmazonError { error: String, description: String },
    #[error("unknown or already used state (a replayed or forged callback)")]
    UnknownState,
    #[error("the state expired before Amazon's callback")]
    StateExpired,
    #[error("LWA refused the authorization code: {0}")]
    CodeRefused(#[source] spapi::SpApiError),
    #[error("invitation {id} is for seller {expected}, but seller {got} consented")]
    WrongAccount {
        id: String,
        expected: SellerId,
        got: SellerId,
    },
    #[error("seller {seller} is connected for another client")]
    OtherClient { seller: SellerId },
    #[error("the seller sells in none of the invited marketplaces of {region}")]
    NoMarketplace { region: Region },
    #[error("Amazon refused the check of the new authorisation: {0}")]
    AmazonRefused(#[source] spapi::SpApiError),
    #[error("the Appstore callback is not a Seller Central page")]
    BadCallback,
    #[error("the state table failed: {0}")]
    Store(#[from] store::StoreError),
    #[error("Secrets Manager failed: {0}")]
    Secrets(#[from] secrets::SecretsError),
    #[error("Amazon or LWA failed: {0}")]
    SpApi(#[source] spapi::SpApiError),
    #[error("the function is misconfigured: {0}")]
    Internal(String),
}

impl OnboardingError {
    /// A stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            OnboardingError::BadRequest(_) => "bad_request",
            OnboardingError::NotFound => "not_found",
            OnboardingError::MethodNotAllowed => "method_not_allowed",
            OnboardingError::UnknownInvitation => "unknown_invitation",
            OnboardingError::InvitationExpired { .. } => "invitation_expired",
            OnboardingError::InvitationUsed { .. } => "invitation_used",
            OnboardingError::Denied => "consent_denied",
            OnboardingError::AmazonError { .. } => "amazon_error",
            OnboardingError::UnknownState => "unknown_state",
            OnboardingError::StateExpired => "state_expired",
            OnboardingError::CodeRefused(_) => "code_refused",
            OnboardingError::WrongAccount { .. } => "wrong_account",
            OnboardingError::OtherClient { .. } => "other_client",
            OnboardingError::NoMarketplace { .. } => "no_marketplace",
            OnboardingError::AmazonRefused(_) => "amazon_refused",
            OnboardingError::BadCallback => "bad_callback",
            OnboardingError::Store(_) => "store_unavailable",
            OnboardingError::Secrets(_) => "secrets_unavailable",
            OnboardingError::SpApi(_) => "amazon_unavailable",
            OnboardingError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            OnboardingError::BadRequest(_)
            | OnboardingError::BadCallback
            | OnboardingError::Denied
            | OnboardingError::AmazonError { .. }
            | OnboardingError::UnknownState
            | OnboardingError::CodeRefused(_) => 400,
            OnboardingError::NotFound | OnboardingError::UnknownInvitation => 404,
            OnboardingError::MethodNotAllowed => 405,
            OnboardingError::InvitationExpired { .. } | OnboardingError::StateExpired => 410,
            OnboardingError::InvitationUsed { .. } | OnboardingError::OtherClient { .. } => 409,
            OnboardingError::WrongAccount { .. }
            | OnboardingError::NoMarketplace { .. }
            | OnboardingError::AmazonRefused(_) => 403,
            OnboardingError::Store(_) | OnboardingError::Secrets(_) | OnboardingError::SpApi(_) => {
                503
            }
            OnboardingError::Internal(_) => 500,
        }
    }

    /// Whether the operator has to look (logged at ERROR), rather than the
    /// seller doing something else (WARN) or nothing being wrong (INFO).
    pub fn needs_operator(&self) -> bool {
        matches!(
            self,
            OnboardingError::Store(_)
                | OnboardingError::Secrets(_)
                | OnboardingError::SpApi(_)
                | OnboardingError::Internal(_)
                | OnboardingError::AmazonRefused(_)
                | OnboardingError::OtherClient { .. }
        )
    }

    /// A refusal of the domain rules, with the invitation's id.
    pub fn refused(id: &str, refusal: Refusal) -> Self {
        match refusal {
            Refusal::Expired(at) => OnboardingError::InvitationExpired {
                id: id.to_string(),
                at,
            },
            Refusal::Used(seller) => OnboardingError::InvitationUsed {
                id: id.to_string(),
                seller,
            },
            Refusal::WrongAccount { expected, got } => OnboardingError::WrongAccount {
                id: id.to_string(),
                expected,
                got,
            },
            Refusal::OtherClient { seller, .. } => OnboardingError::OtherClient { seller },
            Refusal::NoMarketplace { region } => OnboardingError::NoMarketplace { region },
        }
    }

    /// An SP-API failure: retryable ones are ours to fix or wait out, the
    /// rest Amazon refused.
    pub fn amazon(e: spapi::SpApiError) -> Self {
        match e {
            spapi::SpApiError::AuthorizationCode { .. } => OnboardingError::CodeRefused(e),
            e if e.is_retryable() => OnboardingError::SpApi(e),
            spapi::SpApiError::Amazon { .. } | spapi::SpApiError::AuthorizationRevoked { .. } => {
                OnboardingError::AmazonRefused(e)
            }
            e => OnboardingError::SpApi(e),
        }
    }
}
