//! The client's part of issue 14 against wiremock: the consent flow's code
//! exchange, a rotated application secret and a seller's new refresh token
//! picked up at the first LWA refusal (not at the cache's expiry), the
//! grantless client-secret rotation call, and the operation named in a
//! revoked seller's reason.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use domain::{Deadline, PortError, Region, SellerId};
use secrecy::{ExposeSecret, SecretString};
use spapi::ops::application::RotateApplicationClientSecret;
use spapi::ops::sellers::GetMarketplaceParticipations;
use spapi::quota::MemoryBuckets;
use spapi::{AppCredentials, ClientConfig, Credentials, SellerContext, SpApi, SpApiError};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const SELLER: &str = "A3EXAMPLESELLER";
const CLIENT_ID: &str = "amzn1.application-oa2-client.test";

/// Credentials as a cache would hold them: `stored` is what Secrets Manager
/// has, `cached` what this container read; `forget_*` re-reads.
struct Creds {
    stored_secret: Mutex<String>,
    cached_secret: Mutex<String>,
    stored_refresh: Mutex<String>,
    cached_refresh: Mutex<String>,
    forgot_app: AtomicUsize,
    forgot_refresh: AtomicUsize,
    revoked: Mutex<Vec<String>>,
}

impl Creds {
    fn new(secret: &str, refresh: &str) -> Arc<Self> {
        Arc::new(Self {
            stored_secret: Mutex::new(secret.into()),
            cached_secret: Mutex::new(secret.into()),
            stored_refresh: Mutex::new(refresh.into()),
            cached_refresh: Mutex::new(refresh.into()),
            forgot_app: AtomicUsize::new(0),
            forgot_refresh: AtomicUsize::new(0),
            revoked: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait::async_trait]
impl Credentials for Creds {
    async fn app(&self) -> Result<AppCredentials, PortError> {
        Ok(AppCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(self.cached_secret.lock().unwrap().clone()),
        })
    }
    async fn refresh_token(&self, _: &SellerId) -> Result<SecretString, PortError> {
        Ok(SecretString::from(
            self.cached_refresh.lock().unwrap().clone(),
        ))
    }
    async fn authorization_revoked(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), PortError> {
        self.revoked
            .lock()
            .unwrap()
            .push(format!("{seller}: {reason}"));
        Ok(())
    }
    async fn forget_app(&self) {
        self.forgot_app.fetch_add(1, Ordering::SeqCst);
        *self.cached_secret.lock().unwrap() = self.stored_secret.lock().unwrap().clone();
    }
    async fn forget_refresh_token(&self, _: &SellerId) {
        self.forgot_refresh.fetch_add(1, Ordering::SeqCst);
        *self.cached_refresh.lock().unwrap() = self.stored_refresh.lock().unwrap().clone();
    }
}

async fn client(server: &MockServer, creds: Arc<Creds>) -> SpApi {
    let base = server.uri();
    let config = ClientConfig::local(&base, &format!("{base}/auth/o2/token"), 1000.0);
    SpApi::new(config, creds, Arc::new(MemoryBuckets::default())).unwrap()
}

fn seller() -> SellerContext {
    SellerContext {
        seller_id: SellerId::new(SELLER).unwrap(),
        region: Region::Eu,
        sandbox: false,
    }
}

fn deadline() -> Deadline {
    Deadline::after(std::time::Duration::from_secs(30))
}

fn token_answer(refresh: Option<&str>) -> ResponseTemplate {
    let mut body = serde_json::json!({
        "access_token": "Atza|access", "token_type": "bearer", "expires_in": 3600
    });
    if let Some(r) = refresh {
        body["refresh_token"] = r.into();
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn lwa_error(status: u16, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(serde_json::json!({"error": error, "error_description": "refused"}))
}

/// A mock of LWA's token endpoint.
fn lwa() -> MockBuilder {
    Mock::given(method("POST")).and(path("/auth/o2/token"))
}

/// A mock of LWA's token endpoint for requests whose form contains `needle`.
fn lwa_when(needle: &str) -> MockBuilder {
    lwa().and(body_string_contains(needle))
}

/// The seller's marketplace participations through `api` (a call that
/// needs the seller's access token).
async fn read_participations(
    api: &SpApi,
) -> Result<<GetMarketplaceParticipations as spapi::Call>::Output, SpApiError> {
    api.call(&seller(), &GetMarketplaceParticipations, &deadline())
        .await
}

async fn participations(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/sellers/v1/marketplaceParticipations"))
        .and(header("x-amz-access-token", "Atza|access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"payload": []})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_code_is_exchanged_for_the_sellers_refresh_token() {
    let server = MockServer::start().await;
    lwa_when("grant_type=authorization_code")
        .and(body_string_contains("code=ANcode1"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fconnect.example%2Fcallback",
        ))
        .and(body_string_contains("client_secret=s1"))
        .respond_with(token_answer(Some("Atzr|new-refresh")))
        .expect(1)
        .mount(&server)
        .await;
    lwa_when("code=ANused")
        .respond_with(lwa_error(400, "invalid_grant"))
        .expect(1)
        .mount(&server)
        .await;
    let api = client(&server, Creds::new("s1", "r")).await;
    let grant = api
        .exchange_authorization_code(
            SecretString::from("ANcode1"),
            "https://connect.example/callback",
            &deadline(),
        )
        .await
        .unwrap();
    assert_eq!(grant.refresh_token.expose_secret(), "Atzr|new-refresh");
    assert!(!format!("{grant:?}").contains("Atzr"));
    let err = api
        .exchange_authorization_code(
            SecretString::from("ANused"),
            "https://connect.example/callback",
            &deadline(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SpApiError::AuthorizationCode { code, .. } if code == "invalid_grant"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("start the consent again"), "{err}");
}

#[tokio::test]
async fn a_rotated_app_secret_is_used_at_the_first_refusal() {
    let server = MockServer::start().await;
    participations(&server).await;
    // LWA knows only the new secret (the old one's overlap is over).
    lwa_when("client_secret=new-secret")
        .respond_with(token_answer(None))
        .mount(&server)
        .await;
    lwa_when("client_secret=old-secret")
        .respond_with(lwa_error(401, "invalid_client"))
        .expect(1)
        .mount(&server)
        .await;
    let creds = Creds::new("old-secret", "r");
    *creds.stored_secret.lock().unwrap() = "new-secret".into();
    let api = client(&server, creds.clone()).await;
    read_participations(&api).await.unwrap();
    assert_eq!(creds.forgot_app.load(Ordering::SeqCst), 1);

    // Nothing newer stored: the refusal stands, read again only once.
    let server = MockServer::start().await;
    lwa()
        .respond_with(lwa_error(401, "invalid_client"))
        .expect(1)
        .mount(&server)
        .await;
    let creds = Creds::new("bad", "r");
    let api = client(&server, creds.clone()).await;
    let err = read_participations(&api).await.unwrap_err();
    assert!(
        matches!(&err, SpApiError::Lwa { code, .. } if code == "invalid_client"),
        "{err:?}"
    );
    assert_eq!(creds.forgot_app.load(Ordering::SeqCst), 1);
    assert!(creds.revoked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_seller_who_authorised_again_is_not_flagged_for_a_stale_cached_token() {
    let server = MockServer::start().await;
    participations(&server).await;
    lwa_when("refresh_token=Atzr%7Cnew")
        .respond_with(token_answer(Some("Atzr|new")))
        .mount(&server)
        .await;
    lwa_when("refresh_token=Atzr%7Cold")
        .respond_with(lwa_error(400, "invalid_grant"))
        .mount(&server)
        .await;
    let creds = Creds::new("s", "Atzr|old");
    *creds.stored_refresh.lock().unwrap() = "Atzr|new".into();
    let api = client(&server, creds.clone()).await;
    read_participations(&api).await.unwrap();
    assert_eq!(creds.forgot_refresh.load(Ordering::SeqCst), 1);
    assert!(creds.revoked.lock().unwrap().is_empty(), "not flagged");

    // Truly revoked: flagged once, with the operation in the reason.
    let creds = Creds::new("s", "Atzr|old");
    let api = client(&server, creds.clone()).await;
    let err = read_participations(&api).await.unwrap_err();
    assert!(
        matches!(err, SpApiError::AuthorizationRevoked { .. }),
        "{err:?}"
    );
    let revoked = creds.revoked.lock().unwrap().clone();
    assert_eq!(revoked.len(), 1);
    assert!(
        revoked[0].contains("invalid_grant") && revoked[0].contains("getMarketplaceParticipations"),
        "{revoked:?}"
    );
}

#[tokio::test]
async fn the_client_secret_rotation_is_a_grantless_post() {
    let server = MockServer::start().await;
    lwa_when("grant_type=client_credentials")
        .and(body_string_contains(
            "scope=sellingpartnerapi%3A%3Aclient_credential%3Arotation",
        ))
        .respond_with(token_answer(None))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/applications/2023-11-30/clientSecret"))
        .and(header("x-amz-access-token", "Atza|access"))
        .respond_with(ResponseTemplate::new(204).insert_header("x-amzn-RequestId", "rq-1"))
        .expect(1)
        .mount(&server)
        .await;
    let api = client(&server, Creds::new("s", "r")).await;
    let app = SellerContext::application(Region::Na, false);
    api.call(&app, &RotateApplicationClientSecret, &deadline())
        .await
        .unwrap();
    // A 5xx is not retried: Amazon may have made a secret already, and a
    // second call would make another.
    let server = MockServer::start().await;
    lwa().respond_with(token_answer(None)).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/applications/2023-11-30/clientSecret"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let api = api_for(&server).await;
    let err = api
        .call(&app, &RotateApplicationClientSecret, &deadline())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
}

async fn api_for(server: &MockServer) -> SpApi {
    client(server, Creds::new("s", "r")).await
}
