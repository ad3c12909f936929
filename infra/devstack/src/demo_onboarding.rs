//! The demo's onboarding step: a second seller connects itself. The
//! operator's invitation (the code behind the CLI's `invite`), then the
//! onboarding function's real handler — wired from its template.yaml
//! environment plus the simulator's SP-API, LWA and Seller Central — called
//! with the Function URL events a browser's requests become: the landing
//! page, the button (a redirect to the simulator's consent page), the
//! seller's Confirm there (over HTTP), and Amazon's redirect back. Prints
//! the steps, the page titles and what was stored; never a code, a state or
//! a token.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use base64::Engine;
use connector_admin::invite::{InviteRequest, invite};
use domain::onboarding::SettingsTemplate;
use domain::{ClientCode, Deadline, MarketplaceId, Region};
use onboarding::config::{Config, wire};
use serde_json::{Value, json};
use spapi_sim::{SimHandle, SolutionSpec};
use store::{Clock, Store};

use crate::demo::DEMO_CLIENT_ID;
use crate::demo_orders::SimClock;
use crate::{DevstackError, Provisioned, Template};

/// The seller that connects itself in the demo.
pub const LINK_SELLER: &str = "A3DEMOLINKSELLER";
/// The onboarding page's address in the demo (events carry it; no server).
const PAGE: &str = "https://demo.lambda-url.eu-west-1.on.aws";
const APP_ID: &str = "amzn1.sp.solution.demo";

/// What the onboarding step did.
#[derive(Clone, Debug, Default)]
pub struct OnboardingDemoReport {
    pub invitation_id: String,
    /// (request, HTTP status, what the page said or where it sent the browser)
    pub steps: Vec<(String, u16, String)>,
    pub secret: String,
    pub marketplaces: Vec<String>,
    pub replay: String,
}

impl fmt::Display for OnboardingDemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invitation            {} for client LINK, link {PAGE}/connect?invitation=...",
            self.invitation_id
        )?;
        for (request, status, what) in &self.steps {
            writeln!(f, "  {request:<34} {status} {what}")?;
        }
        writeln!(
            f,
            "seller connected      {LINK_SELLER}: token in {}, marketplaces {}",
            self.secret,
            self.marketplaces.join(", ")
        )?;
        write!(f, "callback replayed     {}", self.replay)
    }
}

fn event(method: &str, path_and_query: &str, form: Option<&str>) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut e = json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "demo.lambda-url.eu-west-1.on.aws"},
        "requestContext": {"domainName": "demo.lambda-url.eu-west-1.on.aws", "timeEpoch": 0,
            "http": {"method": method, "path": path}},
        "isBase64Encoded": false
    });
    if let Some(body) = form {
        e["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
        e["body"] = base64::engine::general_purpose::STANDARD
            .encode(body)
            .into();
        e["isBase64Encoded"] = true.into();
    }
    e
}

fn title(html: &str) -> String {
    html.split("<h1")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .unwrap_or_default()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

fn fail(what: impl fmt::Display) -> DevstackError {
    DevstackError::Moto(format!("onboarding demo: {what}"))
}

fn query_value(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Runs the step against the demo's stack and simulator.
pub async fn connect_by_link(
    sdk: &SdkConfig,
    stack: &Provisioned,
    template: &Template,
    sim: &SimHandle,
) -> Result<OnboardingDemoReport, DevstackError> {
    let mut env = stack.function_environment(template, "OnboardingFunction")?;
    env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
    env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
    env.insert("SPAPI_TIME_SCALE".into(), sim.control().speed().to_string());
    env.insert("SELLER_CENTRAL_URL".into(), sim.base_url());
    env.insert("SPAPI_APPLICATION_ID".into(), APP_ID.into());
    env.insert("ONBOARDING_PUBLIC_URL".into(), PAGE.into());
    env.insert("OPERATOR_NAME".into(), "Demo Fulfilment".into());
    let config = Config::from_lookup(|k| env.get(k).cloned()).map_err(fail)?;
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let service = wire(
        &config,
        sdk,
        clock.clone(),
        crate::demo::quiet_metrics(&config.common.stage),
    )
    .map_err(fail)?;
    sim.control().register_solution(SolutionSpec {
        application_id: APP_ID.into(),
        client_id: DEMO_CLIENT_ID.into(),
        name: "Demo connector".into(),
        redirect_uris: vec![format!("{PAGE}/callback")],
        login_uri: Some(format!("{PAGE}/login")),
        draft: false,
        notifications: true,
    });
    sim.control()
        .add_seller(spapi_sim::SellerSpec {
            store_name: Some("Link Store".into()),
            ..spapi_sim::SellerSpec::new(
                LINK_SELLER,
                "Atzr|demo-link-seller-before",
                &[crate::demo::DEMO_MARKETPLACE],
                true,
            )
        })
        .map_err(fail)?;
    sim.control().sign_in(Some(LINK_SELLER)).map_err(fail)?;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(sdk),
        stack.table("StateTable")?,
    );
    let invited = invite(
        &store,
        InviteRequest {
            client_code: ClientCode::new("LINK").map_err(fail)?,
            region: Region::Eu,
            marketplaces: vec![MarketplaceId::new(crate::demo::DEMO_MARKETPLACE).map_err(fail)?],
            settings: SettingsTemplate {
                order_prefix: "LK".into(),
                ..SettingsTemplate::default()
            },
            seller: None,
            days: 3,
        },
        PAGE,
        clock.now(),
    )
    .await
    .map_err(fail)?;
    let mut report = OnboardingDemoReport {
        invitation_id: invited.invitation.id.clone(),
        ..OnboardingDemoReport::default()
    };
    let deadline = || Deadline::after(Duration::from_secs(30));
    let code = invited.code.expose().to_string();
    // The seller opens the link.
    let landing = onboarding::handle(
        &service,
        event("GET", &format!("/connect?invitation={code}"), None),
        deadline(),
    )
    .await;
    report.steps.push((
        "GET /connect (the link)".into(),
        landing["statusCode"].as_u64().unwrap_or(0) as u16,
        title(landing["body"].as_str().unwrap_or_default()),
    ));
    // The button.
    let started = onboarding::handle(
        &service,
        event("POST", "/connect", Some(&format!("invitation={code}"))),
        deadline(),
    )
    .await;
    let consent = started["headers"]["location"]
        .as_str()
        .ok_or_else(|| fail("the button did not redirect"))?
        .to_string();
    report.steps.push((
        "POST /connect (the button)".into(),
        started["statusCode"].as_u64().unwrap_or(0) as u16,
        "to Seller Central's consent page".into(),
    ));
    // Seller Central: the seller confirms.
    let state = query_value(&consent, "state").ok_or_else(|| fail("no state"))?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(fail)?;
    let confirmed = http
        .post(format!("{}/apps/authorize/consent/confirm", sim.base_url()))
        .form(&[
            ("application_id", APP_ID),
            ("state", state.as_str()),
            ("redirect_uri", &format!("{PAGE}/callback")),
            ("seller_id", LINK_SELLER),
        ])
        .send()
        .await
        .map_err(fail)?;
    let callback = confirmed
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| fail("Seller Central did not redirect"))?
        .to_string();
    report.steps.push((
        "Seller Central: Confirm".into(),
        confirmed.status().as_u16(),
        "back to the page's /callback".into(),
    ));
    let path = callback.trim_start_matches(PAGE).to_string();
    let done = onboarding::handle(&service, event("GET", &path, None), deadline()).await;
    report.steps.push((
        "GET /callback (Amazon's redirect)".into(),
        done["statusCode"].as_u64().unwrap_or(0) as u16,
        title(done["body"].as_str().unwrap_or_default()),
    ));
    let again = onboarding::handle(&service, event("GET", &path, None), deadline()).await;
    report.replay = format!(
        "{} {}",
        again["statusCode"].as_u64().unwrap_or(0),
        title(again["body"].as_str().unwrap_or_default())
    );
    let seller = domain::SellerId::new(LINK_SELLER).map_err(fail)?;
    let settings = store::SettingsStore::get_settings(&store, &seller)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("the seller was not stored"))?;
    report.secret = settings.refresh_token_secret.clone();
    report.marketplaces = settings
        .marketplaces
        .iter()
        .map(|m| m.to_string())
        .collect();
    Ok(report)
}
