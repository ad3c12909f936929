//! The simulator's Seller Central and LWA for the consent flow behave as
//! Amazon does: the consent page checks the application, its draft status
//! and the redirect URI (an error page, never a redirect elsewhere); an
//! authorization code works once, for a few minutes, for the client and
//! redirect URI it was issued to; a new consent gives the seller a working
//! token while a revoked one stays revoked; the client-secret rotation needs
//! the notification queue, keeps the old secret for an overlap and sends the
//! new one as a notification.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tests::sim::{CLIENT_ID, CLIENT_SECRET, DE, SimHandle, SolutionSpec, add_seller, start_sim};

const APP: &str = "amzn1.sp.solution.simtest";
const REDIRECT: &str = "https://connector.example/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sim_with_app(draft: bool, notifications: bool) -> SimHandle {
    let sim = start_sim(10.0).await;
    sim.control().register_solution(SolutionSpec {
        application_id: APP.into(),
        client_id: CLIENT_ID.into(),
        name: "Sim test app".into(),
        redirect_uris: vec![REDIRECT.into()],
        login_uri: None,
        draft,
        notifications,
    });
    sim
}

/// Confirms a consent for `seller`; returns the code.
async fn code_for(sim: &SimHandle, seller: &str) -> String {
    sim.control().sign_in(Some(seller)).unwrap();
    let r = http()
        .post(format!("{}/apps/authorize/consent/confirm", sim.base_url()))
        .form(&[
            ("application_id", APP),
            ("state", "st-1"),
            ("redirect_uri", REDIRECT),
            ("seller_id", seller),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let q: std::collections::BTreeMap<String, String> = url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["selling_partner_id"], seller);
    assert!(to.starts_with(REDIRECT));
    q["spapi_oauth_code"].clone()
}

async fn token(sim: &SimHandle, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http()
        .post(sim.lwa_token_url())
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn exchange(sim: &SimHandle, code: &str, redirect: &str, secret: &str) -> (u16, Value) {
    token(
        sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
        ],
    )
    .await
}

#[tokio::test]
async fn the_consent_page_checks_the_application_as_seller_central_does() {
    let sim = sim_with_app(true, false).await;
    add_seller(&sim, "A1CONSENTSELLER", true);
    let page = |q: &str| {
        let url = format!("{}/apps/authorize/consent?{q}", sim.base_url());
        async move {
            let r = http().get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, html) = page(&format!("application_id={APP}&state=x&version=beta")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"confirm\"") && html.contains("id=\"deny\""));
    assert!(
        html.contains("A1CONSENTSELLER"),
        "the sellers to sign in as"
    );
    for (q, code) in [
        (
            "application_id=amzn1.sp.solution.unknown&state=x&version=beta".to_string(),
            "MD1000",
        ),
        (format!("application_id={APP}&state=x"), "MD9100"),
        (
            format!(
                "application_id={APP}&state=x&version=beta&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
            ),
            "MD5101",
        ),
        (format!("application_id={APP}&version=beta"), "MD1000"),
    ] {
        let (s, html) = page(&q).await;
        assert_eq!(s, 400, "{q}");
        assert!(html.contains(code), "{q}: {html}");
    }
    // Deny: back to the redirect URI with Amazon's error and the state.
    let r = http()
        .post(format!("{}/apps/authorize/consent/deny", sim.base_url()))
        .form(&[
            ("application_id", APP),
            ("state", "st-9"),
            ("redirect_uri", REDIRECT),
            ("version", "beta"),
        ])
        .send()
        .await
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with(&format!("{REDIRECT}?error=access_denied&")),
        "{to}"
    );
    assert!(to.ends_with("&state=st-9"));
    assert_eq!(sim.control().consents().1, 1);
}

#[tokio::test]
async fn an_authorization_code_works_once_in_time_for_its_client_and_redirect() {
    let sim = sim_with_app(false, false).await;
    let seller = add_seller(&sim, "A1CODESELLER", true);
    sim.control()
        .register_app("amzn1.application-oa2-client.other", "other-secret");

    let code = code_for(&sim, &seller.seller_id).await;
    let (s, body) = exchange(&sim, &code, "https://other.example/cb", CLIENT_SECRET).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another redirect_uri"
    );
    let (s, body) = exchange(&sim, &code, REDIRECT, "wrong").await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    let (s, body) = token(
        &sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", "amzn1.application-oa2-client.other"),
            ("client_secret", "other-secret"),
        ],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another client"
    );
    let (s, body) = exchange(&sim, &code, REDIRECT, CLIENT_SECRET).await;
    assert_eq!(s, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    assert!(
        refresh.starts_with("Atzr|") && body["access_token"].as_str().unwrap().starts_with("Atza|")
    );
    let (s, _) = exchange(&sim, &code, REDIRECT, CLIENT_SECRET).await;
    assert_eq!(s, 400, "used once");
    // The new token works as a refresh token.
    let (s, _) = token(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(s, 200);

    // Codes expire after five minutes of the simulator's time.
    let late = code_for(&sim, &seller.seller_id).await;
    sim.control().advance_clock(Duration::from_secs(5 * 60 + 1));
    let (s, body) = exchange(&sim, &late, REDIRECT, CLIENT_SECRET).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn a_new_consent_after_a_revocation_gives_a_working_token_and_the_old_stays_revoked() {
    let sim = sim_with_app(false, false).await;
    let seller = add_seller(&sim, "A1REVOKEDSELLER", true);
    let refresh = |t: String| {
        let sim = &sim;
        async move {
            token(
                sim,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", t.as_str()),
                    ("client_id", CLIENT_ID),
                    ("client_secret", CLIENT_SECRET),
                ],
            )
            .await
            .0
        }
    };
    sim.control()
        .revoke_refresh_token(&seller.seller_id)
        .unwrap();
    assert_eq!(refresh(seller.refresh_token.clone()).await, 400);
    assert_eq!(sim.control().live_refresh_tokens(&seller.seller_id), 0);
    let code = code_for(&sim, &seller.seller_id).await;
    let (_, body) = exchange(&sim, &code, REDIRECT, CLIENT_SECRET).await;
    let new = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(refresh(new).await, 200);
    assert_eq!(
        refresh(seller.refresh_token.clone()).await,
        400,
        "the old one stays revoked"
    );
    assert_eq!(sim.control().live_refresh_tokens(&seller.seller_id), 1);
    let _ = DE;
}

async fn grantless(sim: &SimHandle, scope: &str, secret: &str) -> String {
    let (s, body) = token(
        sim,
        &[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn rotate(sim: &SimHandle, access: &str) -> reqwest::Response {
    http()
        .post(format!(
            "{}/applications/2023-11-30/clientSecret",
            sim.base_url()
        ))
        .header("x-amz-access-token", access)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_client_secret_rotates_with_an_overlap_and_a_notification() {
    let rotation = "sellingpartnerapi::client_credential:rotation";
    // Without a registered notification queue, Amazon refuses.
    let sim = sim_with_app(false, false).await;
    let access = grantless(&sim, rotation, CLIENT_SECRET).await;
    let r = rotate(&sim, &access).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("not enrolled for rotation notification")
    );

    let sim = sim_with_app(false, true).await;
    let wrong_scope = grantless(&sim, "sellingpartnerapi::notifications", CLIENT_SECRET).await;
    assert_eq!(rotate(&sim, &wrong_scope).await.status(), 403);
    let access = grantless(&sim, rotation, CLIENT_SECRET).await;
    let r = rotate(&sim, &access).await;
    assert_eq!(r.status(), 204);
    assert!(r.headers().contains_key("x-amzn-requestid"));
    // One call a minute (burst 1).
    assert_eq!(rotate(&sim, &access).await.status(), 429);
    let notes = sim.control().take_app_notifications();
    assert_eq!(notes.len(), 1);
    let n = &notes[0];
    assert_eq!(n["notificationType"], "APPLICATION_OAUTH_CLIENT_NEW_SECRET");
    let payload = &n["payload"]["applicationOAuthClientNewSecret"];
    assert_eq!(payload["clientId"], CLIENT_ID);
    let new = payload["newClientSecret"].as_str().unwrap();
    assert_eq!(
        Some(new.to_string()),
        sim.control().client_secret(CLIENT_ID)
    );
    for field in ["newClientSecretExpiryTime", "oldClientSecretExpiryTime"] {
        assert!(payload[field].as_str().is_some(), "{field}");
    }
    assert_eq!(n["notificationMetadata"]["applicationId"], APP);
    // Both secrets work during the overlap; then only the new one.
    grantless(&sim, rotation, CLIENT_SECRET).await;
    grantless(&sim, rotation, new).await;
    sim.control().end_secret_overlap(CLIENT_ID);
    let (s, body) = token(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("scope", rotation),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    grantless(&sim, rotation, new).await;
}
