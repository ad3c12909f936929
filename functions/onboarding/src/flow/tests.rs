//! The flow with in-memory fakes of every port: states single-use and
//! bound to their invitation, every refusal a page before anything is
//! stored, a renewal healing a broken authorisation. (The real stores,
//! LWA, the simulator's consent page and a browser: tests/it/onboarding*.)

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::onboarding::{Participation, SettingsTemplate};
use domain::settings::Authorization;
use domain::{ClientCode, MarketplaceId, Region};
use lambda_kit::metrics::MemorySink;
use secrecy::ExposeSecret;
use spapi::{CodeGrant, SpApiError};
use store::{ManualClock, MemoryInvitations, MemoryStore};

use super::*;
use crate::ports::NothingMore;

const DE: &str = "A1PA6795UKMFR9";
const FR: &str = "A13V1IB3VIYZZH";
const SELLER: &str = "A1NEWSELLER";

#[derive(Default)]
struct Secrets {
    written: Mutex<BTreeMap<String, String>>,
}

#[async_trait::async_trait]
impl SecretWriter for Secrets {
    async fn put(
        &self,
        name: &str,
        value: &SecretString,
    ) -> Result<secrets::Written, secrets::SecretsError> {
        let mut w = self.written.lock().unwrap();
        let created = w
            .insert(name.to_string(), value.expose_secret().to_string())
            .is_none();
        Ok(if created {
            secrets::Written::Created
        } else {
            secrets::Written::NewVersion
        })
    }
    async fn last_changed(
        &self,
        _: &str,
    ) -> Result<Option<std::time::SystemTime>, secrets::SecretsError> {
        Ok(None)
    }
}

/// LWA and Amazon: codes `good-N` work once, for the test's redirect URI.
struct FakeAmazon {
    used: Mutex<Vec<String>>,
    selling: Vec<&'static str>,
    redirect_uri: String,
}

#[async_trait::async_trait]
impl Amazon for FakeAmazon {
    async fn exchange_code(
        &self,
        code: SecretString,
        redirect_uri: &str,
        _: &Deadline,
    ) -> Result<CodeGrant, SpApiError> {
        let code = code.expose_secret().to_string();
        let mut used = self.used.lock().unwrap();
        if !code.starts_with("good") || used.contains(&code) || redirect_uri != self.redirect_uri {
            return Err(SpApiError::AuthorizationCode {
                status: 400,
                code: "invalid_grant".into(),
                description: "bad code".into(),
            });
        }
        used.push(code.clone());
        Ok(CodeGrant {
            refresh_token: SecretString::from(format!("Atzr|for-{code}")),
            access_token: SecretString::from("Atza|x"),
            expires_in: Duration::from_secs(3600),
        })
    }

    async fn participations(
        &self,
        _: &SellerId,
        _: Region,
        _: &SecretString,
        _: &Deadline,
    ) -> Result<Vec<Participation>, SpApiError> {
        Ok(self
            .selling
            .iter()
            .map(|m| Participation {
                marketplace_id: m.to_string(),
                participating: true,
            })
            .collect())
    }
}

/// A request's query or form fields.
type Pairs<'a> = &'a [(&'a str, &'a str)];

struct Rig {
    flow: Onboarding,
    invitations: Arc<MemoryInvitations>,
    settings: Arc<MemoryStore>,
    secrets: Arc<Secrets>,
    clock: ManualClock,
    metrics: MemorySink,
}

const DOMAIN: &str = "abc123.lambda-url.eu-west-1.on.aws";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn rig(selling: Vec<&'static str>) -> Rig {
    let clock = ManualClock::new(t("2026-12-01T10:00:00Z"));
    let invitations = Arc::new(MemoryInvitations::new());
    let settings = Arc::new(MemoryStore::new());
    let secrets = Arc::new(Secrets::default());
    let sink = MemorySink::new();
    let flow = Onboarding {
        invitations: invitations.clone(),
        settings: settings.clone(),
        secrets: secrets.clone(),
        amazon: Arc::new(FakeAmazon {
            used: Mutex::new(Vec::new()),
            selling,
            redirect_uri: format!("https://{DOMAIN}/callback"),
        }),
        after: Arc::new(NothingMore),
        clock: Arc::new(clock.clone()),
        metrics: Metrics::new("test", Arc::new(sink.clone())),
        options: Options {
            branding: Branding {
                operator: "Acme Fulfilment".into(),
                contact: None,
            },
            application_id: "amzn1.sp.solution.test".into(),
            draft: true,
            public_url: None,
            seller_central: None,
            secret_prefix: "connector/test/seller/".into(),
        },
    };
    Rig {
        flow,
        invitations,
        settings,
        secrets,
        clock,
        metrics: sink,
    }
}

impl Rig {
    async fn invite(&self, marketplaces: &[&str], seller: Option<&str>) -> BearerToken {
        let code = random_token().unwrap();
        let key = InvitationKey::of(&code);
        let inv = Invitation::new(
            key.public_id(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            marketplaces
                .iter()
                .map(|m| MarketplaceId::new(*m).unwrap())
                .collect(),
            SettingsTemplate {
                order_prefix: "AC".into(),
                ..SettingsTemplate::default()
            },
            seller.map(|s| SellerId::new(s).unwrap()),
            self.clock.now(),
            3,
        )
        .unwrap();
        self.invitations.put_invitation(&code, &inv).await.unwrap();
        code
    }

    async fn send(&self, method: &str, path: &str, query: Pairs<'_>, form: Pairs<'_>) -> Response {
        let req = Request {
            method: method.into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            form: form
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            domain: Some(DOMAIN.into()),
        };
        self.flow
            .route(&req, &Deadline::after(Duration::from_secs(30)))
            .await
    }

    /// Presses the button; returns the state from the consent URL.
    async fn start(&self, code: &BearerToken) -> String {
        let r = self
            .send("POST", "/connect", &[], &[("invitation", code.expose())])
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let location = r.header("location").unwrap().to_string();
        assert!(
            location.starts_with("https://sellercentral-europe.amazon.com/apps/authorize/consent?application_id=amzn1.sp.solution.test&state="),
            "{location}"
        );
        assert!(location.ends_with("&version=beta"), "draft app: {location}");
        assert!(location.contains(&format!("redirect_uri=https%3A%2F%2F{DOMAIN}%2Fcallback")));
        let state = location
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert!(
            !location.contains(code.expose()),
            "the invitation code never goes to Amazon"
        );
        state.to_string()
    }

    async fn callback(&self, state: &str, code: &str, seller: &str) -> Response {
        self.send(
            "GET",
            "/callback",
            &[
                ("spapi_oauth_code", code),
                ("state", state),
                ("selling_partner_id", seller),
            ],
            &[],
        )
        .await
    }

    /// The seller comes back from Amazon with `error` instead of a code.
    async fn refused_on_amazon(&self, state: &str, error: &[(&str, &str)]) -> Response {
        let mut query = error.to_vec();
        query.push(("state", state));
        self.send("GET", "/callback", &query, &[]).await
    }

    /// The reason on the page a callback for [`SELLER`] answers with.
    async fn callback_reason(&self, state: &str, code: &str) -> String {
        Self::reason(&self.callback(state, code, SELLER).await)
    }

    /// The reason on the page a request answers with.
    async fn reason_of(&self, method: &str, path: &str, q: Pairs<'_>, f: Pairs<'_>) -> String {
        Self::reason(&self.send(method, path, q, f).await)
    }

    fn reason(r: &Response) -> String {
        r.body
            .split("id=\"reason\">")
            .nth(1)
            .map(|s| s.split('<').next().unwrap_or_default().to_string())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn a_seller_connects_once_through_an_invitation() {
    let rig = rig(vec![DE, FR]);
    let code = rig.invite(&[DE], None).await;
    let landing = rig
        .send("GET", "/connect", &[("invitation", code.expose())], &[])
        .await;
    assert_eq!(landing.status, 200);
    assert!(landing.body.contains("Acme Fulfilment"));
    let csp = landing.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' https://sellercentral-europe.amazon.com;"),
        "{csp}"
    );
    let state = rig.start(&code).await;
    let done = rig.callback(&state, "good-1", SELLER).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains(SELLER));
    let seller = SellerId::new(SELLER).unwrap();
    let settings = rig.settings.get_settings(&seller).await.unwrap().unwrap();
    assert_eq!(
        settings.refresh_token_secret,
        format!("connector/test/seller/{SELLER}")
    );
    assert_eq!(settings.marketplaces, vec![MarketplaceId::new(DE).unwrap()]);
    assert_eq!(settings.order_prefix, "AC");
    assert_eq!(settings.authorized_at, Some(rig.clock.now()));
    assert_eq!(
        rig.secrets.written.lock().unwrap()[&settings.refresh_token_secret],
        r#"{"refresh_token":"Atzr|for-good-1"}"#
    );
    // The same callback again (replay, back button): nothing happens.
    let again = rig.callback(&state, "good-2", SELLER).await;
    assert_eq!(Rig::reason(&again), "unknown_state");
    assert_eq!(again.status, 400);
    // The link is used up.
    let reopened = rig
        .send("GET", "/connect", &[("invitation", code.expose())], &[])
        .await;
    assert_eq!(Rig::reason(&reopened), "invitation_used");
    rig.flow.metrics.flush();
    let lines = rig.metrics.lines().join("\n");
    assert!(lines.contains("\"SellersConnected\":1"), "{lines}");
    assert!(lines.contains("\"ConsentFailures\":1"), "{lines}");
}

#[tokio::test]
async fn forged_expired_and_denied_callbacks_store_nothing() {
    let rig = rig(vec![DE]);
    let code = rig.invite(&[DE], None).await;
    // A state we never issued, and one that is not even token-shaped.
    let forged = random_token().unwrap();
    assert_eq!(
        rig.callback_reason(forged.expose(), "good-1").await,
        "unknown_state"
    );
    assert_eq!(rig.callback_reason("x", "good-1").await, "unknown_state");
    // Too slow on Amazon's page.
    let state = rig.start(&code).await;
    rig.clock.advance(STATE_LIFETIME + Duration::from_secs(1));
    assert_eq!(rig.callback_reason(&state, "good-1").await, "state_expired");
    // Denied on Amazon's page: the state is burnt too.
    let state = rig.start(&code).await;
    let denied = rig
        .refused_on_amazon(&state, &[("error", "access_denied")])
        .await;
    assert_eq!(Rig::reason(&denied), "consent_denied");
    assert!(denied.body.contains("Confirm"), "says what to do");
    assert_eq!(rig.callback_reason(&state, "good-1").await, "unknown_state");
    // Amazon's own error, its text escaped.
    let state = rig.start(&code).await;
    let failed = rig
        .refused_on_amazon(
            &state,
            &[
                ("error", "server_error"),
                ("error_description", "<b>boom</b>"),
            ],
        )
        .await;
    assert_eq!(Rig::reason(&failed), "amazon_error");
    assert!(failed.body.contains("&lt;b&gt;boom"));
    // A code LWA refuses (expired, used): start again.
    let state = rig.start(&code).await;
    assert_eq!(rig.callback_reason(&state, "stale").await, "code_refused");
    assert!(rig.secrets.written.lock().unwrap().is_empty());
    assert!(rig.settings.list_sellers().await.unwrap().is_empty());
    // The invitation still works after all that.
    let state = rig.start(&code).await;
    assert_eq!(rig.callback(&state, "good-9", SELLER).await.status, 200);
}

#[tokio::test]
async fn expired_unknown_and_misused_invitations_are_refused_with_a_page() {
    let rig = rig(vec![FR]);
    let unknown = random_token().unwrap();
    assert_eq!(
        rig.reason_of("GET", "/connect", &[("invitation", unknown.expose())], &[])
            .await,
        "unknown_invitation"
    );
    assert_eq!(
        rig.reason_of("GET", "/connect", &[], &[]).await,
        "unknown_invitation"
    );
    let code = rig.invite(&[DE], None).await;
    // The seller sells in none of the invited marketplaces.
    let state = rig.start(&code).await;
    assert_eq!(
        rig.callback_reason(&state, "good-1").await,
        "no_marketplace"
    );
    rig.clock.advance(Duration::from_secs(3 * 24 * 3600));
    let expired = rig
        .send("GET", "/connect", &[("invitation", code.expose())], &[])
        .await;
    assert_eq!(Rig::reason(&expired), "invitation_expired");
    assert_eq!(expired.status, 410);
    assert_eq!(
        rig.reason_of("POST", "/connect", &[], &[("invitation", code.expose())])
            .await,
        "invitation_expired"
    );
    assert_eq!(
        rig.reason_of("DELETE", "/connect", &[], &[]).await,
        "method_not_allowed"
    );
    assert_eq!(rig.reason_of("GET", "/admin", &[], &[]).await, "not_found");
}

#[tokio::test]
async fn a_renewal_heals_a_broken_authorisation_and_keeps_the_settings() {
    let rig = rig(vec![DE]);
    let first = rig.invite(&[DE], None).await;
    let state = rig.start(&first).await;
    assert_eq!(rig.callback(&state, "good-1", SELLER).await.status, 200);
    let seller = SellerId::new(SELLER).unwrap();
    let mut s = rig.settings.get_settings(&seller).await.unwrap().unwrap();
    s.order_prefix = "TUNED".into();
    rig.settings.put_settings(&s).await.unwrap();
    rig.settings
        .mark_authorization_broken(&seller, "invalid_grant (during searchOrders)")
        .await
        .unwrap();
    rig.clock.advance(Duration::from_secs(300 * 24 * 3600));
    // A renewal invitation for this seller: another account is refused.
    let renewal = rig.invite(&[DE], Some(SELLER)).await;
    let landing = rig
        .send("GET", "/connect", &[("invitation", renewal.expose())], &[])
        .await;
    assert!(landing.body.contains("renews"), "{}", landing.body);
    let state = rig.start(&renewal).await;
    let wrong = rig.callback(&state, "good-2", "A1SOMEONEELSE").await;
    assert_eq!(Rig::reason(&wrong), "wrong_account");
    let state = rig.start(&renewal).await;
    let done = rig.callback(&state, "good-3", SELLER).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("renewed"));
    let s = rig.settings.get_settings(&seller).await.unwrap().unwrap();
    assert_eq!(s.authorization, Authorization::Active);
    assert_eq!(s.order_prefix, "TUNED");
    assert_eq!(s.authorized_at, Some(rig.clock.now()));
    assert_eq!(
        rig.secrets.written.lock().unwrap()[&s.refresh_token_secret],
        r#"{"refresh_token":"Atzr|for-good-3"}"#
    );
    // An invitation of another client cannot take the seller over.
    let mut other = rig.invite(&[DE], None).await;
    {
        let key = InvitationKey::of(&other);
        let mut inv = rig.invitations.get_invitation(&key).await.unwrap().unwrap();
        inv.client_code = ClientCode::new("OTHER").unwrap();
        other = random_token().unwrap();
        inv.id = InvitationKey::of(&other).public_id();
        rig.invitations.put_invitation(&other, &inv).await.unwrap();
    }
    let state = rig.start(&other).await;
    let taken = rig.callback(&state, "good-4", SELLER).await;
    assert_eq!(Rig::reason(&taken), "other_client");
    assert_eq!(
        rig.settings
            .get_settings(&seller)
            .await
            .unwrap()
            .unwrap()
            .client_code
            .as_str(),
        "ACME"
    );
}

#[tokio::test]
async fn the_appstore_variant_returns_only_to_seller_central() {
    let rig = rig(vec![DE]);
    let code = rig.invite(&[DE], None).await;
    let callback = "https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.test";
    let page = rig
        .send(
            "GET",
            "/login",
            &[
                ("amazon_callback_uri", callback),
                ("amazon_state", "amz-1"),
                ("selling_partner_id", SELLER),
            ],
            &[],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<label for=\"invitation\">Invitation code</label>")
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("form-action 'self' https://sellercentral.amazon.com;")
    );
    let evil = rig
        .send(
            "GET",
            "/login",
            &[
                ("amazon_callback_uri", "https://evil.example/x"),
                ("amazon_state", "s"),
            ],
            &[],
        )
        .await;
    assert_eq!(Rig::reason(&evil), "bad_callback");
    let posted_evil = rig
        .send(
            "POST",
            "/login",
            &[],
            &[
                ("amazon_callback_uri", "https://evil.example/x"),
                ("amazon_state", "s"),
                ("invitation", code.expose()),
            ],
        )
        .await;
    assert_eq!(Rig::reason(&posted_evil), "bad_callback");
    // A mistyped code: the form again, with a message.
    let typo = rig
        .send(
            "POST",
            "/login",
            &[],
            &[
                ("amazon_callback_uri", callback),
                ("amazon_state", "amz-1"),
                ("invitation", "nope"),
            ],
        )
        .await;
    assert_eq!(typo.status, 400);
    assert!(typo.body.contains("We do not know this invitation code"));
    let go = rig
        .send(
            "POST",
            "/login",
            &[],
            &[
                ("amazon_callback_uri", callback),
                ("amazon_state", "amz-1"),
                ("invitation", code.expose()),
            ],
        )
        .await;
    assert_eq!(go.status, 303);
    let location = go.header("location").unwrap();
    assert!(
        location.starts_with(&format!(
            "{callback}?redirect_uri=https%3A%2F%2F{DOMAIN}%2Fcallback&amazon_state=amz-1&state="
        )),
        "{location}"
    );
    let state = location
        .split("&state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(rig.callback(state, "good-1", SELLER).await.status, 200);
}

/// Everything the process logs, in JSON as in Lambda (a global subscriber:
/// the forbidden values below are unique to the test that checks them).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(lambda_kit::log_filter("trace"))
            .with_writer(move || SharedWriter(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_code_state_token_or_invitation_code_reaches_a_log_line() {
    let logs = captured_logs();
    let rig = rig(vec![DE]);
    let code = rig.invite(&[DE], None).await;
    let landing = rig
        .send("GET", "/connect", &[("invitation", code.expose())], &[])
        .await;
    assert_eq!(landing.status, 200);
    let denied_state = rig.start(&code).await;
    rig.send(
        "GET",
        "/callback",
        &[("error", "access_denied"), ("state", &denied_state)],
        &[],
    )
    .await;
    let state = rig.start(&code).await;
    let oauth_code = "good-unlogged-code-4711";
    assert_eq!(rig.callback(&state, oauth_code, SELLER).await.status, 200);
    // Replayed, and a forged one.
    rig.callback(&state, oauth_code, SELLER).await;
    rig.callback(
        random_token().unwrap().expose(),
        "good-forged-code-0815",
        SELLER,
    )
    .await;
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("\"audit\":\"seller.connect\"") && text.contains("unknown_state"),
        "the capture works: {text}"
    );
    for forbidden in [
        code.expose(),
        denied_state.as_str(),
        state.as_str(),
        oauth_code,
        "good-forged-code-0815",
        "Atzr|for-good-unlogged-code-4711",
    ] {
        if let Some(line) = text.lines().find(|l| l.contains(forbidden)) {
            panic!("a log line holds {forbidden:?}: {line}");
        }
    }
}

#[tokio::test]
async fn with_no_marketplace_invited_the_seller_follows_its_participations() {
    let rig = rig(vec![DE, FR, "ATVPDKIKX0DER"]);
    let code = rig.invite(&[], None).await;
    let state = rig.start(&code).await;
    let done = rig.callback(&state, "good-1", SELLER).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Amazon DE") && done.body.contains("Amazon FR"),
        "the region's marketplaces it sells in are shown: {}",
        done.body
    );
    assert!(!done.body.contains("ATVPDKIKX0DER"), "not another region's");
    let stored = rig
        .settings
        .get_settings(&SellerId::new(SELLER).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.marketplaces.is_empty(),
        "an empty list: every marketplace Amazon says, from day to day"
    );
}
