//! What the wiremock tests of single operations share: fixed credentials
//! (remembering what the client did with them) and a client pointed at a
//! fresh MockServer with LWA answering.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use domain::{PortError, Region, SellerId};
use secrecy::SecretString;
use serde_json::json;
use spapi::quota::MemoryBuckets;
use spapi::{AppCredentials, ClientConfig, Credentials, SellerContext, SpApi};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The seller every request is made for.
pub const SELLER: &str = "A3EXAMPLESELLER";

/// Fixed credentials that remember what the client did with them.
#[derive(Default)]
pub struct Creds {
    /// Sellers the client reported revoked, in order.
    pub revoked: Mutex<Vec<String>>,
    /// How often the client read a refresh token.
    pub refresh_reads: AtomicUsize,
}

#[async_trait::async_trait]
impl Credentials for Creds {
    async fn app(&self) -> Result<AppCredentials, PortError> {
        Ok(AppCredentials {
            client_id: "amzn1.application-oa2-client.test".into(),
            client_secret: SecretString::from("app-secret-value"),
        })
    }
    async fn refresh_token(&self, _seller: &SellerId) -> Result<SecretString, PortError> {
        self.refresh_reads.fetch_add(1, Ordering::SeqCst);
        Ok(SecretString::from("Atzr|refresh-token-value"))
    }
    async fn authorization_revoked(
        &self,
        seller: &SellerId,
        _reason: &str,
    ) -> Result<(), PortError> {
        self.revoked.lock().unwrap().push(seller.to_string());
        Ok(())
    }
}

/// A MockServer with LWA's token endpoint mounted, a client for it, the seller.
#[allow(dead_code)] // tests/client.rs builds its own (other speeds, observers)
pub async fn fixture() -> (MockServer, SpApi, SellerContext) {
    let server = MockServer::start().await;
    let base = server.uri();
    let config = ClientConfig::local(&base, &format!("{base}/auth/o2/token"), 1000.0);
    let api = SpApi::new(
        config,
        Arc::new(Creds::default()),
        Arc::new(MemoryBuckets::default()),
    )
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atza|access-token-value", "token_type": "bearer",
            "expires_in": 3600, "refresh_token": "Atzr|refresh-token-value"
        })))
        .mount(&server)
        .await;
    let seller = SellerContext {
        seller_id: SellerId::new(SELLER).unwrap(),
        region: Region::Eu,
        sandbox: false,
    };
    (server, api, seller)
}
