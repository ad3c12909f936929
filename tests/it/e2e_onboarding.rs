//! Onboarding end to end on the real artifacts: the onboarding and
//! credentials functions' debug `bootstrap` binaries run by the local Lambda
//! (lambda-emu) with template.yaml's environment. A real headless browser
//! opens the invitation link on the local Function URL (each HTTP request a
//! Function URL event into the binary), consents on the simulator's Seller
//! Central and lands on the success page; then the order pull's binary
//! pulls the seller's orders with the token the onboarding binary stored.
//! The credentials binary takes Amazon's new client secret from its queue.

use std::sync::Arc;

use lambda_emu::Function;
use serde_json::{Value, json};
use tests::browser::Browser;
use tests::emu::{E2e, LIMIT};
use tests::onboarding::{APP_ID, bind, serve};
use tests::sim::{CLIENT_ID, DE, SolutionSpec, add_seller_in};

const SELLER: &str = "A1E2EONBOARDING";

#[tokio::test]
async fn a_seller_connects_through_the_real_binary_and_its_orders_flow() {
    let e = E2e::new("e2e-onboarding", 10.0).await;
    let sim = &e.sim;
    let listener = bind().await;
    let url = format!("http://{}", listener.local_addr().unwrap());
    sim.control().register_solution(SolutionSpec {
        application_id: APP_ID.into(),
        client_id: CLIENT_ID.into(),
        name: "Acme WMS connector".into(),
        redirect_uris: vec![format!("{url}/callback")],
        login_uri: Some(format!("{url}/login")),
        draft: false,
        notifications: true,
    });
    let amazon = add_seller_in(sim, SELLER, &[DE], true);
    sim.control().sign_in(Some(SELLER)).unwrap();
    let spec = e
        .spec_with(
            "OnboardingFunction",
            &e.overrides()
                .var("SELLER_CENTRAL_URL", &sim.base_url())
                .var("ONBOARDING_PUBLIC_URL", &url)
                .var("SPAPI_APPLICATION_ID", APP_ID)
                .var("OPERATOR_NAME", "Acme Fulfilment"),
        )
        .await;
    let onboarding = Arc::new(Function::new(spec));
    let function = onboarding.clone();
    let _gateway = serve(
        listener,
        Arc::new(move |event: Value| {
            let f = function.clone();
            Box::pin(async move {
                let inv = tokio::time::timeout(LIMIT, f.invoke(&event))
                    .await
                    .expect("the invocation finishes")
                    .expect("the runtime API");
                inv.response().unwrap_or_else(|| {
                    panic!(
                        "the onboarding function failed: {:?}\n{}",
                        inv.error(),
                        f.log_text()
                    )
                })
            })
        }),
    );

    // The operator's invitation, as `connector-admin invite` makes it.
    let invited = connector_admin::invite::invite(
        &e.store,
        connector_admin::invite::InviteRequest {
            client_code: domain::ClientCode::new("ACME").unwrap(),
            region: domain::Region::Eu,
            marketplaces: vec![domain::MarketplaceId::new(DE).unwrap()],
            settings: Default::default(),
            seller: None,
            days: 3,
        },
        &url,
        chrono::Utc::now(),
    )
    .await
    .unwrap();

    let browser = Browser::start().await;
    browser.goto(&invited.link).await;
    assert_eq!(
        browser.text_of("h1").await,
        "Connect your Amazon seller account to Acme Fulfilment"
    );
    browser.click("#connect").await;
    browser.text_of("#signed-in").await;
    browser.click("#confirm").await;
    assert_eq!(browser.text_of("#result").await, "Connected");
    assert_eq!(browser.text_of("#seller-id").await, SELLER);
    browser.close().await;
    let logs = onboarding.log_text();
    assert!(logs.contains("seller.connect"), "{logs}");
    assert!(
        !logs.contains(invited.code.expose()),
        "the invitation code is not logged"
    );

    // The order pull's binary pulls with the stored token.
    e.seed_past_orders(
        &tests::sim::TestSeller {
            seller_id: SELLER.into(),
            refresh_token: amazon.refresh_token.clone(),
            marketplace_ids: vec![DE.into()],
        },
        2,
    );
    let pull = e.function("OrderPullFunction").await;
    let inv = tokio::time::timeout(
        LIMIT,
        pull.invoke(&json!({"kind": "pull", "seller_id": SELLER, "mode": "incremental"})),
    )
    .await
    .unwrap()
    .unwrap();
    let report = inv
        .response()
        .unwrap_or_else(|| panic!("{:?}\n{}", inv.error(), pull.log_text()));
    assert_eq!(report["sent"], 2, "{report}");
    let delivered = e.drain_wms().await;
    assert_eq!(delivered.len(), 2);

    // Amazon rotates the client secret; the credentials binary stores it.
    let credentials = e.function("CredentialsFunction").await;
    let keeper_queue = e
        .stack
        .resources
        .queue("AppNotificationQueue")
        .unwrap()
        .url
        .clone();
    let new_secret = {
        // What `connector-admin app rotate-secret` asks Amazon for.
        let ctx = connector_admin::Context::new(
            e.stack.sdk.clone(),
            &e.stack.stage,
            &lambda_kit::spapi_env::SpApiEnv {
                endpoint: Some(sim.base_url()),
                lwa_token_url: Some(sim.lwa_token_url()),
                time_scale: 10.0,
            },
            Arc::new(store::SystemClock),
        )
        .unwrap();
        let api = ctx.admin.spapi(ctx.client.clone()).unwrap();
        connector_admin::app::rotate(
            &api,
            domain::Region::Eu,
            &domain::Deadline::after(std::time::Duration::from_secs(30)),
        )
        .await
        .unwrap();
        sim.control().client_secret(CLIENT_ID).unwrap()
    };
    for n in sim.control().take_app_notifications() {
        e.stack
            .sqs()
            .send_message()
            .queue_url(&keeper_queue)
            .message_body(n.to_string())
            .send()
            .await
            .unwrap();
    }
    let source = e.source("CredentialsFunction", "Notifications");
    let runs = e.run_queue(&credentials, &source, 3, false).await;
    assert_eq!(runs.len(), 1);
    assert!(runs[0].response().is_some(), "{}", credentials.log_text());
    let arn = &e.stack.resources.secret("LwaAppSecret").unwrap().arn;
    let stored = e
        .stack
        .secrets()
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(stored["client_secret"], new_secret.as_str());
    assert!(
        !credentials.log_text().contains(&new_secret),
        "no secret in the logs"
    );
}
