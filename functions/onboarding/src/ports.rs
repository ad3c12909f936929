//! The function's ports: what happens after a seller is stored, and Amazon.

use std::sync::Arc;

use domain::onboarding::Participation;
use domain::quota::BucketStore;
use domain::settings::SellerSettings;
use domain::{Deadline, PortError, Region, SellerId};
use secrecy::SecretString;
use spapi::ops::sellers::GetMarketplaceParticipations;
use spapi::{
    AppCredentials, CallObserver, ClientConfig, CodeGrant, Credentials, SellerContext, SpApi,
    SpApiError,
};
use store::{Clock, NotificationState};
use subscriptions::SubscribeError;

/// Called once a seller's token and settings are stored (a first connection
/// or a renewal), with the refresh token the seller just gave (the
/// function never reads sellers' secrets). The place for what a connected
/// seller needs next: [`SubscribeOnConnect`] subscribes it to ORDER_CHANGE
/// notifications. A failure is logged and does not undo the connection:
/// the hook must be safe to run again.
#[async_trait::async_trait]
pub trait AfterConnect: Send + Sync {
    async fn seller_connected(
        &self,
        settings: &SellerSettings,
        refresh_token: &SecretString,
        first_time: bool,
        deadline: &Deadline,
    ) -> Result<(), String>;
}

/// Nothing more to do (the default until another feature plugs in).
pub struct NothingMore;

#[async_trait::async_trait]
impl AfterConnect for NothingMore {
    async fn seller_connected(
        &self,
        _: &SellerSettings,
        _: &SecretString,
        _: bool,
        _: &Deadline,
    ) -> Result<(), String> {
        Ok(())
    }
}

// Looks like the functions' ports structs (Puller, Pusher...): only what subscribing a seller needs.
/// Subscribes a connected seller to `ORDER_CHANGE` notifications (issue 15)
/// through the same step as `connector-admin notifications subscribe SELLER`, with
/// the token the seller just gave. Idempotent: a renewal finds the
/// subscription it has. In a deployment whose notifications are not set up
/// (no destination for the seller's region) there is nothing to do: the
/// scheduled pull serves the seller, and
/// `connector-admin notifications subscribe --all` subscribes it after the
/// setup. A subscription of the
/// seller's to another destination is left alone and reported (moving it
/// is the operator's decision: `subscribe SELLER --replace`).
pub struct SubscribeOnConnect {
    pub config: ClientConfig,
    pub credentials: Arc<dyn Credentials>,
    pub buckets: Arc<dyn BucketStore>,
    pub observer: Arc<dyn CallObserver>,
    pub state: Arc<dyn NotificationState>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait::async_trait]
impl AfterConnect for SubscribeOnConnect {
    async fn seller_connected(
        &self,
        settings: &SellerSettings,
        refresh_token: &SecretString,
        _first_time: bool,
        _deadline: &Deadline,
    ) -> Result<(), String> {
        let api = SpApi::with_observer(
            self.config.clone(),
            Arc::new(JustConsented {
                app: self.credentials.clone(),
                seller: settings.seller_id.clone(),
                token: refresh_token.clone(),
            }),
            self.buckets.clone(),
            self.observer.clone(),
        )
        .map_err(|e| e.to_string())?;
        match subscriptions::subscribe_seller(
            &api,
            self.state.as_ref(),
            settings,
            false,
            self.clock.now(),
        )
        .await
        {
            Ok(outcome) => {
                tracing::info!(seller = %settings.seller_id, subscription = %outcome.subscription_id, change = ?outcome.change, "the seller is subscribed to ORDER_CHANGE notifications");
                Ok(())
            }
            Err(SubscribeError::NotSetUp { region }) => {
                tracing::info!(seller = %settings.seller_id, region = %region, "notifications are not set up for the seller's region: the scheduled pull serves it (`connector-admin notifications setup`, then `connector-admin notifications subscribe --all`)");
                Ok(())
            }
            Err(e) => Err(format!("subscribing to ORDER_CHANGE notifications: {e}")),
        }
    }
}

/// What the consent flow asks of Amazon: the code exchange, and the
/// seller's marketplaces with the token it just gave.
#[async_trait::async_trait]
pub trait Amazon: Send + Sync {
    async fn exchange_code(
        &self,
        code: SecretString,
        redirect_uri: &str,
        deadline: &Deadline,
    ) -> Result<CodeGrant, SpApiError>;

    async fn participations(
        &self,
        seller: &SellerId,
        region: Region,
        refresh_token: &SecretString,
        deadline: &Deadline,
    ) -> Result<Vec<Participation>, SpApiError>;
}

/// [`Amazon`] through the SP-API client: the application's credentials
/// from Secrets Manager, quotas shared through the state table.
pub struct SpApiAmazon {
    pub api: SpApi,
    pub config: ClientConfig,
    pub credentials: Arc<dyn Credentials>,
    pub buckets: Arc<dyn BucketStore>,
    pub observer: Arc<dyn CallObserver>,
}

/// The credentials of a seller who consented a moment ago: its refresh
/// token is not stored yet, so it is handed over directly.
struct JustConsented {
    app: Arc<dyn Credentials>,
    seller: SellerId,
    token: SecretString,
}

#[async_trait::async_trait]
impl Credentials for JustConsented {
    async fn app(&self) -> Result<AppCredentials, PortError> {
        self.app.app().await
    }
    async fn refresh_token(&self, seller: &SellerId) -> Result<SecretString, PortError> {
        if seller == &self.seller {
            Ok(self.token.clone())
        } else {
            Err(PortError::permanent(format!(
                "no refresh token for seller {seller} in this consent"
            )))
        }
    }
    async fn authorization_revoked(&self, _: &SellerId, _: &str) -> Result<(), PortError> {
        // Nothing is stored yet: the consent fails and says so instead.
        Ok(())
    }
    async fn forget_app(&self) {
        self.app.forget_app().await;
    }
}

#[async_trait::async_trait]
impl Amazon for SpApiAmazon {
    async fn exchange_code(
        &self,
        code: SecretString,
        redirect_uri: &str,
        deadline: &Deadline,
    ) -> Result<CodeGrant, SpApiError> {
        self.api
            .exchange_authorization_code(code, redirect_uri, deadline)
            .await
    }

    async fn participations(
        &self,
        seller: &SellerId,
        region: Region,
        refresh_token: &SecretString,
        deadline: &Deadline,
    ) -> Result<Vec<Participation>, SpApiError> {
        let api = SpApi::with_observer(
            self.config.clone(),
            Arc::new(JustConsented {
                app: self.credentials.clone(),
                seller: seller.clone(),
                token: refresh_token.clone(),
            }),
            self.buckets.clone(),
            self.observer.clone(),
        )?;
        let context = SellerContext {
            seller_id: seller.clone(),
            region,
            sandbox: false,
        };
        let answer = api
            .call(&context, &GetMarketplaceParticipations, deadline)
            .await?;
        Ok(answer
            .payload
            .into_iter()
            .map(|p| Participation {
                marketplace_id: p.marketplace.id,
                participating: p.participation.is_participating,
            })
            .collect())
    }
}
