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

/// Called once a seller's token and settings are stored (a first connection
/// or a renewal). The place for what a connected seller needs next (issue 15
/// subscribes it to ORDER_CHANGE notifications here). A failure is logged
/// and does not undo the connection: the hook must be safe to run again.
#[async_trait::async_trait]
pub trait AfterConnect: Send + Sync {
    async fn seller_connected(
        &self,
        settings: &SellerSettings,
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
        _: bool,
        _: &Deadline,
    ) -> Result<(), String> {
        Ok(())
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
