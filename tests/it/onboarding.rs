//! Sellers connecting themselves, over real HTTP (the function behind its
//! Function URL on 127.0.0.1, the simulator's Seller Central and LWA, moto):
//! an invitation's link, the consent, the callback, then the seller's jobs
//! with the stored token; a revoked authorisation flagged once, skipped and
//! healed by a renewal link; every failure page; the Appstore variant; and
//! no code, state or token in any log line. (The same through a real
//! browser: onboarding_browser.rs.)

use std::time::Duration;

use domain::SellerId;
use domain::settings::Authorization;
use lambda_kit::metrics::parse_document;
use order_pull::Mode;
use store::SettingsStore;
use tests::logs::LogCapture;
use tests::onboarding::{APP_ID, OnboardingRig, consent_over_http, location, query_of, reason};
use tests::sim::{DE, TestSeller, UK, add_seller_in, seed_orders};

const SELLER: &str = "A1ONBOARDSELLER";

async fn consent(
    rig: &OnboardingRig,
    link: &str,
    seller: &str,
    confirm: bool,
) -> (u16, String, String) {
    consent_over_http(&rig.url(), &rig.pull.sim, link, seller, confirm).await
}

async fn stored_token(rig: &OnboardingRig, seller: &str) -> String {
    let name = format!("connector/{}/seller/{seller}", rig.pull.stack.stage);
    let value = rig
        .pull
        .stack
        .secrets()
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    json["refresh_token"].as_str().unwrap().to_string()
}

fn test_seller(id: &str, marketplaces: &[&str]) -> TestSeller {
    TestSeller {
        seller_id: id.to_string(),
        refresh_token: String::new(),
        marketplace_ids: marketplaces.iter().map(|m| m.to_string()).collect(),
    }
}

#[tokio::test]
async fn a_seller_connects_by_link_and_its_jobs_run_with_the_stored_token() {
    let (logs, _guard) = LogCapture::start();
    let rig = OnboardingRig::new("onboard-link", 10.0).await;
    let sim = &rig.pull.sim;
    let amazon = add_seller_in(sim, SELLER, &[DE, UK], true);
    let invited = rig.invite(&[DE, "A13V1IB3VIYZZH"], None).await;

    let landing = OnboardingRig::http()
        .get(&invited.link)
        .send()
        .await
        .unwrap();
    let csp = landing.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&format!("form-action 'self' {};", sim.base_url())),
        "{csp}"
    );
    assert_eq!(landing.headers()["referrer-policy"], "no-referrer");
    let html = landing.text().await.unwrap();
    assert!(
        html.contains("Acme Fulfilment &lt;Ltd&gt;"),
        "escaped: {html}"
    );
    assert!(html.contains("Amazon DE (A1PA6795UKMFR9)"));

    let (status, page, callback) = consent(&rig, &invited.link, SELLER, true).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Connected") && page.contains(SELLER),
        "{page}"
    );
    assert!(
        page.contains("does not sell in Amazon FR"),
        "the invited marketplace it lacks is named: {page}"
    );

    // The refresh token Amazon issued is in the seller's own secret; the
    // settings come from the invitation, the marketplaces from Amazon.
    let token = stored_token(&rig, SELLER).await;
    assert!(token.starts_with("Atzr|sim-"), "a token of this consent");
    assert_ne!(token, amazon.refresh_token);
    let settings = rig
        .pull
        .store
        .get_settings(&SellerId::new(SELLER).unwrap())
        .await
        .unwrap()
        .expect("settings stored");
    assert_eq!(settings.client_code.as_str(), "ACME");
    assert_eq!(settings.order_prefix, "AC");
    assert_eq!(
        settings.marketplaces,
        vec![domain::MarketplaceId::new(DE).unwrap()]
    );
    assert_eq!(settings.authorization, Authorization::Active);
    assert!(settings.authorized_at.is_some());
    assert_eq!(
        settings.refresh_token_secret,
        format!("connector/{}/seller/{SELLER}", rig.pull.stack.stage)
    );

    // The seller's jobs run with that token.
    let seller = test_seller(SELLER, &[DE]);
    seed_orders(sim, &amazon, 3);
    rig.pull.settle();
    let report = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.sent, 3, "{report:?}");

    // Amazon's redirect replayed (a reload, a forged copy): nothing happens.
    let again = OnboardingRig::http().get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(reason(&again.text().await.unwrap()), "unknown_state");
    assert_eq!(stored_token(&rig, SELLER).await, token);

    let docs: Vec<_> = rig
        .metrics
        .lines()
        .iter()
        .map(|l| parse_document(l).unwrap())
        .collect();
    let total = |name: &str| -> f64 { docs.iter().filter_map(|d| d.values.get(name)).sum() };
    assert_eq!(total("SellersConnected"), 1.0);
    assert_eq!(total("ConsentFailures"), 1.0);

    // No code, state, token or invitation code in any log line (the
    // function's, the simulator's, the pull's), but the audit lines are there.
    let q = query_of(&callback);
    logs.assert_free_of(&[
        &token,
        q["spapi_oauth_code"].as_str(),
        q["state"].as_str(),
        invited.code.expose(),
        tests::sim::CLIENT_SECRET,
    ]);
    let text = logs.text();
    assert!(text.contains("\"audit\":\"seller.connect\""), "audit line");
    assert!(text.contains("\"audit\":\"secret.write\""));
}

#[tokio::test]
async fn a_revoked_seller_is_flagged_once_skipped_and_healed_by_a_renewal_link() {
    let (logs, _guard) = LogCapture::start();
    let rig = OnboardingRig::new("onboard-revoked", 10.0).await;
    let sim = &rig.pull.sim;
    let amazon = add_seller_in(sim, SELLER, &[DE], true);
    let invited = rig.invite(&[DE], None).await;
    assert_eq!(consent(&rig, &invited.link, SELLER, true).await.0, 200);
    let seller = test_seller(SELLER, &[DE]);
    let id = SellerId::new(SELLER).unwrap();
    rig.pull.settle();
    assert_eq!(rig.pull.pull(&seller, Mode::Incremental).await.sent, 0);

    // The seller removes the app in Seller Central.
    sim.control().revoke_refresh_token(SELLER).unwrap();
    sim.control().expire_access_tokens();
    rig.pull.settle();
    let report = rig.pull.pull(&seller, Mode::Incremental).await;
    assert!(
        matches!(report.outcome, order_pull::Outcome::Skipped { .. }),
        "{report:?}"
    );
    let flagged = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    let Authorization::Broken { reason, since } = &flagged.authorization else {
        panic!("flagged: {:?}", flagged.authorization)
    };
    assert!(
        reason.contains("invalid_grant") && reason.contains("searchOrders"),
        "the operation is named: {reason}"
    );
    let since = *since;
    // Skipped from now on without asking LWA, with one WARN per run.
    let asked = sim.control().token_requests(SELLER);
    rig.pull.schedule().await;
    rig.pull.schedule().await;
    let _ = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!(
        sim.control().token_requests(SELLER),
        asked,
        "LWA not asked again"
    );
    let warned = logs
        .text()
        .lines()
        .filter(|l| l.contains("order pull skipped: the seller's authorisation is broken"))
        .count();
    assert_eq!(warned, 2, "one WARN per fan-out run");
    let still = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    assert!(
        matches!(still.authorization, Authorization::Broken { since: s, .. } if s == since),
        "flagged once: the first time is kept"
    );

    // A renewal link for this seller heals it; its tuned settings stay.
    let mut tuned = still.clone();
    tuned.order_prefix = "TUNED".into();
    rig.pull.store.put_settings(&tuned).await.unwrap();
    let renewal = rig.invite(&[DE], Some(SELLER)).await;
    let (status, page, _) = consent(&rig, &renewal.link, SELLER, true).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("renewed"), "{page}");
    let healed = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    assert_eq!(healed.authorization, Authorization::Active);
    assert_eq!(healed.order_prefix, "TUNED");
    // The warm order-pull container still holds the old token in its cache:
    // LWA refuses it once, the stored one is read again, the pull works.
    seed_orders(sim, &amazon, 2);
    rig.pull.settle();
    // (The first run finishes the window the refused run had begun.)
    let first = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!(first.outcome, order_pull::Outcome::Done, "{first:?}");
    rig.pull.settle();
    let second = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!(first.sent + second.sent, 2, "{first:?} {second:?}");
    assert!(
        logs.text()
            .contains("the seller's refresh token changed since it was read"),
        "the cached token was refused once and the stored one read again"
    );
    let after = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    assert_eq!(
        after.authorization,
        Authorization::Active,
        "not flagged again"
    );
    assert_eq!(
        sim.control().live_refresh_tokens(SELLER),
        1,
        "only the new token works"
    );
}

#[tokio::test]
async fn every_failure_is_a_page_that_says_what_to_do_and_stores_nothing() {
    let rig = OnboardingRig::new("onboard-failures", 10.0).await;
    let sim = &rig.pull.sim;
    add_seller_in(sim, SELLER, &[DE], true);
    add_seller_in(sim, "A1OTHERSELLER", &[DE], true);
    let http = OnboardingRig::http();

    // Denied on Amazon's page.
    let invited = rig.invite(&[DE], None).await;
    let (status, page, _) = consent(&rig, &invited.link, SELLER, false).await;
    assert_eq!(
        (status, reason(&page).as_str()),
        (400, "consent_denied"),
        "{page}"
    );
    assert!(page.contains("You did not give access"));

    // A code that waited too long (LWA's codes live minutes).
    let q = {
        let started = http
            .post(format!("{}/connect", rig.url()))
            .form(&[("invitation", invited.code.expose())])
            .send()
            .await
            .unwrap();
        query_of(&location(&started))
    };
    sim.control().sign_in(Some(SELLER)).unwrap();
    let answered = http
        .post(format!("{}/apps/authorize/consent/confirm", sim.base_url()))
        .form(&[
            ("application_id", APP_ID),
            ("state", q["state"].as_str()),
            ("redirect_uri", q["redirect_uri"].as_str()),
            ("version", "beta"),
            ("seller_id", SELLER),
        ])
        .send()
        .await
        .unwrap();
    let callback = location(&answered);
    sim.control().advance_clock(Duration::from_secs(6 * 60));
    let late = http.get(&callback).send().await.unwrap();
    assert_eq!(reason(&late.text().await.unwrap()), "code_refused");

    // Nothing was stored by any of that.
    let id = SellerId::new(SELLER).unwrap();
    assert!(rig.pull.store.get_settings(&id).await.unwrap().is_none());

    // The link works; then it is used up, also for another account.
    assert_eq!(consent(&rig, &invited.link, SELLER, true).await.0, 200);
    let used = http.get(&invited.link).send().await.unwrap();
    assert_eq!(used.status(), 409);
    assert_eq!(reason(&used.text().await.unwrap()), "invitation_used");

    // A renewal link is for its seller only.
    let renewal = rig.invite(&[DE], Some(SELLER)).await;
    let (_, page, _) = consent(&rig, &renewal.link, "A1OTHERSELLER", true).await;
    assert_eq!(reason(&page), "wrong_account", "{page}");
    assert!(
        rig.pull
            .store
            .get_settings(&SellerId::new("A1OTHERSELLER").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // An expired link.
    let stale = rig.invite(&[DE], None).await;
    sim.control()
        .advance_clock(Duration::from_secs(3 * 24 * 3600 + 60));
    let expired = http.get(&stale.link).send().await.unwrap();
    assert_eq!(expired.status(), 410);
    let html = expired.text().await.unwrap();
    assert_eq!(reason(&html), "invitation_expired");
    assert!(
        html.contains("onboarding@acme.example"),
        "the operator's contact"
    );

    // A made-up code, and a path that is not a page.
    let unknown = http
        .get(format!(
            "{}/connect?invitation=AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            rig.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(reason(&unknown.text().await.unwrap()), "unknown_invitation");
    let nothing = http
        .get(format!("{}/admin", rig.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(nothing.status(), 404);
}

#[tokio::test]
async fn the_appstore_variant_connects_with_the_invitation_code() {
    let rig = OnboardingRig::new("onboard-appstore", 10.0).await;
    let sim = &rig.pull.sim;
    add_seller_in(sim, SELLER, &[DE], true);
    sim.control().sign_in(Some(SELLER)).unwrap();
    let invited = rig.invite(&[DE], None).await;
    let http = OnboardingRig::http();
    // The seller presses "Authorize now" on the Appstore listing.
    let start = http
        .get(format!(
            "{}/apps/appstore/authorize?application_id={APP_ID}",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    let login = location(&start);
    assert!(
        login.starts_with(&format!("{}/login?", rig.url())),
        "{login}"
    );
    let page = http.get(&login).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<label for=\"invitation\">Invitation code</label>"));
    let q = query_of(&login);
    let back = http
        .post(format!("{}/login", rig.url()))
        .form(&[
            ("amazon_callback_uri", q["amazon_callback_uri"].as_str()),
            ("amazon_state", q["amazon_state"].as_str()),
            ("invitation", invited.code.expose()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 303);
    let to_amazon = location(&back);
    assert!(
        to_amazon.starts_with(&q["amazon_callback_uri"]),
        "{to_amazon}"
    );
    let consent_page = http.get(&to_amazon).send().await.unwrap();
    assert_eq!(
        consent_page.status(),
        200,
        "{}",
        consent_page.text().await.unwrap()
    );
    let back_q = query_of(&to_amazon);
    let answered = http
        .post(format!("{}/apps/authorize/consent/confirm", sim.base_url()))
        .form(&[
            ("application_id", APP_ID),
            ("state", back_q["state"].as_str()),
            ("redirect_uri", back_q["redirect_uri"].as_str()),
            ("version", "beta"),
            ("seller_id", SELLER),
        ])
        .send()
        .await
        .unwrap();
    let done = http.get(location(&answered)).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Connected"));
    assert_eq!(sim.control().consents().0, vec![SELLER.to_string()]);
}

#[tokio::test]
async fn a_connected_seller_is_subscribed_to_order_change_once_notifications_are_set_up() {
    let (logs, _guard) = LogCapture::start();
    let rig = OnboardingRig::new("onboard-notify", 10.0).await;
    let sim = &rig.pull.sim;
    let stack = &rig.pull.stack;
    sim.control().set_notification_sink(std::sync::Arc::new(
        devstack::notify::SqsNotificationSink::new(stack.sqs()),
    ));

    // Notifications not set up: the seller connects, nothing is subscribed
    // and the log says how to do it later.
    add_seller_in(sim, SELLER, &[DE], true);
    let first = rig.invite(&[DE], None).await;
    let (status, page, _) = consent(&rig, &first.link, SELLER, true).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(sim.control().subscription_id(SELLER), None);
    assert!(
        logs.text().contains("notifications are not set up"),
        "{}",
        logs.text()
    );

    // `connector-admin notifications setup` for the region, then a renewal:
    // the connection subscribes the seller with the token it just gave.
    let queue_arn = stack
        .resources
        .queue("NotificationQueue")
        .expect("the template defines NotificationQueue")
        .arn
        .clone();
    let seller_id = SellerId::new(SELLER).unwrap();
    let settings = rig
        .pull
        .store
        .get_settings(&seller_id)
        .await
        .unwrap()
        .expect("settings stored");
    notifications::subscriptions::ensure_destination(
        &rig.pull.puller.api,
        &rig.pull.store,
        settings.region,
        &queue_arn,
        "connector-onboard-notify",
        chrono::Utc::now(),
    )
    .await
    .expect("the destination");
    let renewal = rig.invite(&[DE], Some(SELLER)).await;
    let (status, page, _) = consent(&rig, &renewal.link, SELLER, true).await;
    assert_eq!(status, 200, "{page}");
    let at_amazon = sim
        .control()
        .subscription_id(SELLER)
        .expect("subscribed at Amazon");
    let recorded = store::NotificationState::subscription(&rig.pull.store, &seller_id)
        .await
        .unwrap()
        .expect("the subscription recorded");
    assert_eq!(recorded.subscription_id, at_amazon);

    // Connecting again finds that subscription: still one, the same.
    let again = rig.invite(&[DE], Some(SELLER)).await;
    let (status, page, _) = consent(&rig, &again.link, SELLER, true).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(sim.control().subscription_id(SELLER), Some(at_amazon));
    let token = stored_token(&rig, SELLER).await;
    logs.assert_free_of(&[&token, tests::sim::CLIENT_SECRET]);
}
