//! The consent flow, request by request (see the crate docs for the map).

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use domain::onboarding::{
    self, BearerToken, Invitation, appstore_return_url, consent_url, origin_of,
    seller_central_origins,
};
use domain::settings::SellerSettings;
use domain::{Deadline, SellerId};
use lambda_kit::metrics::{CONSENT_FAILURES, Metrics, SELLERS_CONNECTED};
use secrecy::{ExposeSecret, SecretString};
use secrets::SecretWriter;
use store::{Clock, InvitationClaim, InvitationKey, InvitationStore, SettingsStore, StateUse};

use crate::error::OnboardingError;
use crate::http::{Request, Response};
use crate::pages::{self, Branding, Connected};
use crate::ports::{AfterConnect, Amazon};

/// How long a seller may take on Amazon's page.
pub const STATE_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// What the deployment configures (template parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub branding: Branding,
    /// The SP-API application's id (`amzn1.sp.solution....`).
    pub application_id: String,
    /// The application is still a draft: consent with `version=beta`.
    pub draft: bool,
    /// The page's public base URL (a custom domain); `None`: the Function
    /// URL's own host from the request.
    pub public_url: Option<String>,
    /// Local runs only: the simulator's Seller Central (consent pages and
    /// the only Appstore callback origin).
    pub seller_central: Option<String>,
    /// Name prefix of the sellers' secrets (`connector/<stage>/seller/`).
    pub secret_prefix: String,
}

// Looks like the other functions' ports structs (Puller, Pusher...): only what this job uses.
pub struct Onboarding {
    pub invitations: Arc<dyn InvitationStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub secrets: Arc<dyn SecretWriter>,
    pub amazon: Arc<dyn Amazon>,
    pub after: Arc<dyn AfterConnect>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub options: Options,
}

/// A fresh random credential (two v4 UUIDs: 244 random bits from the OS).
pub fn random_token() -> Result<BearerToken, OnboardingError> {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    BearerToken::from_random(&bytes).map_err(|e| OnboardingError::Internal(e.to_string()))
}

/// A value Amazon sent back, kept short and printable for a page or a log.
fn sanitized(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

impl Onboarding {
    /// Answers one request with a page or a redirect.
    pub async fn route(&self, req: &Request, deadline: &Deadline) -> Response {
        let path = req.path.trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        let result = match (req.method.as_str(), path) {
            ("GET" | "HEAD", "/") => Ok(pages::start(&self.options.branding)),
            ("GET", "/connect") => self.landing(req).await,
            ("POST", "/connect") => self.start_consent(req).await,
            ("GET", "/callback") => self.callback(req, deadline).await,
            ("GET", "/login") => self.appstore_login(req),
            ("POST", "/login") => self.appstore_continue(req).await,
            (_, "/" | "/connect" | "/callback" | "/login") => {
                Err(OnboardingError::MethodNotAllowed)
            }
            _ => Err(OnboardingError::NotFound),
        };
        match result {
            Ok(response) => {
                tracing::info!(method = %req.method, path, status = response.status, "answered");
                response
            }
            Err(e) => {
                if path == "/callback" || (path == "/login" && req.method == "POST") {
                    self.metrics.stage_count(CONSENT_FAILURES, 1);
                }
                let reason = e.reason();
                let status = e.status();
                if e.needs_operator() {
                    tracing::error!(method = %req.method, path, status, reason, error = %e, "onboarding failed");
                } else {
                    tracing::warn!(method = %req.method, path, status, reason, error = %e, "onboarding refused");
                }
                pages::failure(&self.options.branding, &e)
            }
        }
    }

    fn public_url(&self, req: &Request) -> Result<String, OnboardingError> {
        if let Some(url) = &self.options.public_url {
            return Ok(url.trim_end_matches('/').to_string());
        }
        req.domain
            .as_deref()
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
            .map(|d| format!("https://{d}"))
            .ok_or_else(|| OnboardingError::Internal("no public URL: the request names no domain and ONBOARDING_PUBLIC_URL is not set".into()))
    }

    fn redirect_uri(&self, req: &Request) -> Result<String, OnboardingError> {
        Ok(format!("{}/callback", self.public_url(req)?))
    }

    fn consent_base(&self, invitation: &Invitation) -> String {
        match &self.options.seller_central {
            Some(local) => local.trim_end_matches('/').to_string(),
            None => {
                onboarding::seller_central(invitation.region, &invitation.marketplaces).to_string()
            }
        }
    }

    fn callback_origins(&self) -> Vec<String> {
        match &self.options.seller_central {
            Some(local) => origin_of(local).into_iter().collect(),
            None => seller_central_origins()
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    /// The invitation a code opens, if it can still be used.
    async fn open_invitation(
        &self,
        code: Option<&str>,
    ) -> Result<(BearerToken, InvitationKey, Invitation), OnboardingError> {
        let code = code
            .and_then(|c| BearerToken::parse(c.trim()).ok())
            .ok_or(OnboardingError::UnknownInvitation)?;
        let key = InvitationKey::of(&code);
        let invitation = self
            .invitations
            .get_invitation(&key)
            .await?
            .ok_or(OnboardingError::UnknownInvitation)?;
        let now = self.clock.now();
        invitation
            .check_open(now)
            .map_err(|r| OnboardingError::refused(&invitation.id, r))?;
        Ok((code, key, invitation))
    }

    async fn landing(&self, req: &Request) -> Result<Response, OnboardingError> {
        let (code, _, invitation) = self.open_invitation(req.query("invitation")).await?;
        tracing::info!(invitation = %invitation.id, "invitation opened");
        Ok(pages::landing(
            &self.options.branding,
            &invitation,
            &code,
            &origin_of(&self.consent_base(&invitation)).unwrap_or_default(),
        ))
    }

    async fn new_state(&self, key: &InvitationKey) -> Result<BearerToken, OnboardingError> {
        let state = random_token()?;
        let expires = self.clock.now() + TimeDelta::from_std(STATE_LIFETIME).unwrap_or_default();
        self.invitations.create_state(&state, key, expires).await?;
        Ok(state)
    }

    /// The button: a fresh single-use state, then Seller Central's consent page.
    async fn start_consent(&self, req: &Request) -> Result<Response, OnboardingError> {
        let (_, key, invitation) = self.open_invitation(req.field("invitation")).await?;
        let redirect_uri = self.redirect_uri(req)?;
        let state = self.new_state(&key).await?;
        let url = consent_url(
            &self.consent_base(&invitation),
            &self.options.application_id,
            &state,
            &redirect_uri,
            self.options.draft,
        );
        tracing::info!(invitation = %invitation.id, region = %invitation.region, "consent started: the seller goes to Seller Central");
        Ok(Response::see_other(url))
    }

    /// The Appstore variant's login page (Amazon sent the seller here).
    fn appstore_login(&self, req: &Request) -> Result<Response, OnboardingError> {
        let callback = req
            .query("amazon_callback_uri")
            .ok_or_else(|| OnboardingError::BadRequest("no amazon_callback_uri".into()))?;
        let amazon_state = req
            .query("amazon_state")
            .ok_or_else(|| OnboardingError::BadRequest("no amazon_state".into()))?;
        let origin = self.allowed_callback(callback)?;
        tracing::info!("the Appstore sent a seller to the login page");
        Ok(pages::appstore_login(
            &self.options.branding,
            callback,
            amazon_state,
            &origin,
            None,
        ))
    }

    fn allowed_callback(&self, callback: &str) -> Result<String, OnboardingError> {
        let origin = origin_of(callback).ok_or(OnboardingError::BadCallback)?;
        let allowed = self.callback_origins();
        if allowed.iter().any(|a| a == &origin) {
            Ok(origin)
        } else {
            Err(OnboardingError::BadCallback)
        }
    }

    /// The Appstore variant: the seller entered the invitation code; back to
    /// Amazon with our state.
    async fn appstore_continue(&self, req: &Request) -> Result<Response, OnboardingError> {
        let callback = req
            .field("amazon_callback_uri")
            .ok_or_else(|| OnboardingError::BadRequest("no amazon_callback_uri".into()))?;
        let amazon_state = req
            .field("amazon_state")
            .ok_or_else(|| OnboardingError::BadRequest("no amazon_state".into()))?;
        let origin = self.allowed_callback(callback)?;
        let (_, key, invitation) = match self.open_invitation(req.field("invitation")).await {
            Ok(found) => found,
            Err(OnboardingError::UnknownInvitation) => {
                tracing::warn!(
                    reason = "unknown_invitation",
                    "an unknown invitation code was entered on the Appstore login page"
                );
                return Ok(pages::appstore_login(
                    &self.options.branding,
                    callback,
                    amazon_state,
                    &origin,
                    Some("We do not know this invitation code. Check it and try again."),
                ));
            }
            Err(e) => return Err(e),
        };
        let redirect_uri = self.redirect_uri(req)?;
        let state = self.new_state(&key).await?;
        let allowed = self.callback_origins();
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        let url = appstore_return_url(
            callback,
            &allowed,
            &redirect_uri,
            amazon_state,
            &state,
            self.options.draft,
        )
        .map_err(|_| OnboardingError::BadCallback)?;
        tracing::info!(invitation = %invitation.id, "consent started from the Appstore");
        Ok(Response::see_other(url))
    }

    /// Amazon's redirect after the consent (or its refusal).
    async fn callback(
        &self,
        req: &Request,
        deadline: &Deadline,
    ) -> Result<Response, OnboardingError> {
        let state = req.query("state").and_then(|s| BearerToken::parse(s).ok());
        if let Some(error) = req.query("error") {
            // Burn the state: this consent is over either way.
            if let Some(state) = &state {
                self.invitations
                    .consume_state(state, self.clock.now())
                    .await?;
            }
            return Err(if error == "access_denied" {
                OnboardingError::Denied
            } else {
                OnboardingError::AmazonError {
                    error: sanitized(error, 64),
                    description: sanitized(req.query("error_description").unwrap_or_default(), 300),
                }
            });
        }
        let (Some(code), Some(partner)) = (
            req.query("spapi_oauth_code"),
            req.query("selling_partner_id"),
        ) else {
            return Err(OnboardingError::BadRequest(
                "the callback lacks spapi_oauth_code or selling_partner_id".into(),
            ));
        };
        let state = state.ok_or(OnboardingError::UnknownState)?;
        let key = match self
            .invitations
            .consume_state(&state, self.clock.now())
            .await?
        {
            StateUse::Valid(key) => key,
            StateUse::Expired => return Err(OnboardingError::StateExpired),
            StateUse::Unknown => return Err(OnboardingError::UnknownState),
        };
        let seller = SellerId::new(partner).map_err(|_| {
            OnboardingError::BadRequest("selling_partner_id is not a seller id".into())
        })?;
        let invitation = self
            .invitations
            .get_invitation(&key)
            .await?
            .ok_or(OnboardingError::UnknownInvitation)?;
        let id = invitation.id.clone();
        let result = self
            .connect(
                req,
                &key,
                &invitation,
                &seller,
                SecretString::from(code.to_string()),
                deadline,
            )
            .await;
        match &result {
            Ok(c) => {
                lambda_kit::audit!(success, "seller.connect", seller = %seller, invitation = %id, renewed = c.renewed, marketplaces = c.marketplaces.len(), "the seller connected through the consent flow");
            }
            Err(e) => {
                lambda_kit::audit!(failure, "seller.connect", seller = %seller, invitation = %id, reason = e.reason(), error = %e, "the consent did not connect the seller");
            }
        }
        let connected = result?;
        self.metrics.stage_count(SELLERS_CONNECTED, 1);
        Ok(pages::success(&self.options.branding, &connected))
    }

    async fn connect(
        &self,
        req: &Request,
        key: &InvitationKey,
        invitation: &Invitation,
        seller: &SellerId,
        code: SecretString,
        deadline: &Deadline,
    ) -> Result<Connected, OnboardingError> {
        let now = self.clock.now();
        // Used by this very seller (a retried or repeated consent) is fine.
        let reused = invitation
            .used
            .as_ref()
            .is_some_and(|u| &u.seller_id == seller);
        if !reused {
            invitation
                .check_open(now)
                .map_err(|r| OnboardingError::refused(&invitation.id, r))?;
        }
        // Refuse what no token can fix before asking Amazon for one.
        let existing = self.settings.get_settings(seller).await?;
        if let Some(expected) = &invitation.seller_id
            && expected != seller
        {
            return Err(OnboardingError::WrongAccount {
                id: invitation.id.clone(),
                expected: expected.clone(),
                got: seller.clone(),
            });
        }
        if let Some(old) = &existing
            && old.client_code != invitation.client_code
        {
            return Err(OnboardingError::OtherClient {
                seller: seller.clone(),
            });
        }
        let redirect_uri = self.redirect_uri(req)?;
        let grant = self
            .amazon
            .exchange_code(code, &redirect_uri, deadline)
            .await
            .map_err(OnboardingError::amazon)?;
        let participations = self
            .amazon
            .participations(seller, invitation.region, &grant.refresh_token, deadline)
            .await
            .map_err(OnboardingError::amazon)?;
        let marketplaces = invitation
            .confirm_marketplaces(&participations)
            .map_err(|r| OnboardingError::refused(&invitation.id, r))?;
        match self.invitations.claim_invitation(key, seller, now).await? {
            InvitationClaim::Claimed => {}
            InvitationClaim::UsedBy(other) => {
                return Err(OnboardingError::InvitationUsed {
                    id: invitation.id.clone(),
                    seller: other,
                });
            }
            InvitationClaim::Missing => return Err(OnboardingError::UnknownInvitation),
        }
        let secret = format!("{}{seller}", self.options.secret_prefix);
        let value = SecretString::from(
            serde_json::json!({"refresh_token": grant.refresh_token.expose_secret()}).to_string(),
        );
        match self.secrets.put(&secret, &value).await {
            Ok(written) => {
                lambda_kit::audit!(success, "secret.write", seller = %seller, secret = %secret, written = ?written, "the seller's refresh token was stored");
            }
            Err(e) => {
                lambda_kit::audit!(failure, "secret.write", seller = %seller, secret = %secret, error = %e, "the seller's refresh token was not stored");
                return Err(e.into());
            }
        }
        let first_time = existing.is_none();
        // None invited: the seller is served in every marketplace it sells
        // in, as Amazon's participations say from day to day (an empty list
        // in the settings); the check above made sure there is one.
        let kept = if invitation.marketplaces.is_empty() {
            Vec::new()
        } else {
            marketplaces.confirmed.clone()
        };
        let settings: SellerSettings = invitation
            .apply(seller, existing, kept, secret, now)
            .map_err(|r| OnboardingError::refused(&invitation.id, r))?;
        self.settings.put_settings(&settings).await?;
        if !marketplaces.missing.is_empty() {
            tracing::warn!(seller = %seller, invitation = %invitation.id, missing = ?marketplaces.missing.iter().map(|m| m.as_str()).collect::<Vec<_>>(), "the seller does not sell in some invited marketplaces; they were left out");
        }
        if let Err(e) = self
            .after
            .seller_connected(&settings, &grant.refresh_token, first_time, deadline)
            .await
        {
            tracing::warn!(seller = %seller, error = %e, "the follow-up of a connected seller failed; the seller is connected");
        }
        Ok(Connected {
            seller_id: seller.clone(),
            marketplaces: marketplaces.confirmed,
            missing: marketplaces.missing,
            renewed: !first_time,
            renewal_due: onboarding::renewal_due(now),
        })
    }
}

#[cfg(test)]
mod tests;
