//! The onboarding flow in a real headless browser (Debian's chromium through
//! chromedriver, `tests::browser`): the invitation link, the landing page's
//! button, the simulator's Seller Central consent page, Amazon's redirect
//! back and the success page — then the seller's jobs run with the token the
//! page stored. The failure pages too: a denied consent, an expired link, a
//! replayed callback. Everything on 127.0.0.1.

use std::time::Duration;

use domain::SellerId;
use domain::settings::Authorization;
use order_pull::Mode;
use store::SettingsStore;
use tests::browser::Browser;
use tests::onboarding::OnboardingRig;
use tests::sim::{DE, TestSeller, add_seller_in, seed_orders};

const SELLER: &str = "A1BROWSERSELLER";

/// Set `ONBOARDING_SCREENSHOTS=/some/dir` to keep a PNG of each page.
async fn snap(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("ONBOARDING_SCREENSHOTS") {
        browser
            .screenshot(&std::path::Path::new(&dir).join(format!("{name}.png")))
            .await;
    }
}

#[tokio::test]
async fn a_seller_connects_in_a_real_browser_and_its_jobs_run() {
    let rig = OnboardingRig::new("browser-connect", 10.0).await;
    let sim = &rig.pull.sim;
    let amazon = add_seller_in(sim, SELLER, &[DE], true);
    sim.control().sign_in(Some(SELLER)).unwrap();
    let invited = rig.invite(&[DE], None).await;
    let browser = Browser::start().await;

    browser.goto(&invited.link).await;
    let title = browser.text_of("h1").await;
    assert_eq!(
        title,
        "Connect your Amazon seller account to Acme Fulfilment <Ltd>"
    );
    let page = browser.source().await;
    assert!(page.contains("Amazon DE (A1PA6795UKMFR9)"));
    snap(&browser, "1-landing").await;
    browser.click("#connect").await;

    // Seller Central (the simulator): who is signed in, and Confirm.
    let signed_in = browser.text_of("#signed-in").await;
    assert!(signed_in.contains(SELLER), "{signed_in}");
    assert!(
        browser.url().await.starts_with(&sim.base_url()),
        "the browser is on Seller Central"
    );
    snap(&browser, "2-consent").await;
    browser.click("#confirm").await;

    // Back on the page: connected.
    assert_eq!(browser.text_of("#result").await, "Connected");
    assert_eq!(browser.text_of("#seller-id").await, SELLER);
    assert!(
        browser
            .url()
            .await
            .starts_with(&format!("{}/callback?", rig.url()))
    );
    snap(&browser, "3-connected").await;

    let id = SellerId::new(SELLER).unwrap();
    let settings = rig.pull.store.get_settings(&id).await.unwrap().unwrap();
    assert_eq!(settings.authorization, Authorization::Active);
    assert_eq!(settings.client_code.as_str(), "ACME");

    // The seller's jobs run with the stored token.
    seed_orders(sim, &amazon, 2);
    rig.pull.settle();
    let seller = TestSeller {
        seller_id: SELLER.into(),
        refresh_token: String::new(),
        marketplace_ids: vec![DE.into()],
    };
    let report = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.sent, 2, "{report:?}");

    // Reloading the callback (Amazon's redirect, used once) does nothing.
    browser.client.refresh().await.unwrap();
    assert_eq!(
        browser.text_of("#result").await,
        "This sign-in was already used"
    );
    assert_eq!(browser.text_of("#reason").await, "unknown_state");
    snap(&browser, "4-replayed").await;
    browser.close().await;
}

#[tokio::test]
async fn denied_and_expired_links_show_what_to_do_in_the_browser() {
    let rig = OnboardingRig::new("browser-failures", 10.0).await;
    let sim = &rig.pull.sim;
    add_seller_in(sim, SELLER, &[DE], true);
    sim.control().sign_in(Some(SELLER)).unwrap();
    let invited = rig.invite(&[DE], None).await;
    let browser = Browser::start().await;

    // The seller cancels on Amazon's page.
    browser.goto(&invited.link).await;
    browser.click("#connect").await;
    browser.text_of("#deny").await;
    browser.click("#deny").await;
    assert_eq!(browser.text_of("#result").await, "You did not give access");
    let todo = browser.text_of("#todo").await;
    assert!(
        todo.contains("open the link from your invitation again"),
        "{todo}"
    );
    snap(&browser, "5-denied").await;

    // The same link still works afterwards: the seller changes its mind.
    browser.goto(&invited.link).await;
    browser.click("#connect").await;
    browser.click("#confirm").await;
    assert_eq!(browser.text_of("#result").await, "Connected");

    // A second link left unused for four days has expired.
    let stale = rig.invite(&[DE], None).await;
    sim.control()
        .advance_clock(Duration::from_secs(4 * 24 * 3600));
    browser.goto(&stale.link).await;
    assert_eq!(
        browser.text_of("#result").await,
        "This invitation has expired"
    );
    let todo = browser.text_of("#todo").await;
    assert!(todo.contains("onboarding@acme.example"), "{todo}");
    snap(&browser, "6-expired").await;
    // The used one says so.
    browser.goto(&invited.link).await;
    assert_eq!(
        browser.text_of("#result").await,
        "This invitation was already used"
    );
    browser.close().await;
}
