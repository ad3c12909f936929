//! The production credentials path against moto: the application's LWA
//! credentials and the seller's refresh token come from Secrets Manager (the
//! secret named in the seller's settings), and an `invalid_grant` flags the
//! seller in the table so every job skips it.

use std::time::Duration;

use domain::settings::Authorization;
use domain::{Deadline, SellerId};
use spapi::SpApiError;
use spapi::ops::sellers::GetMarketplaceParticipations;
use store::{SettingsStore, Store};
use tests::moto::fresh_stack;
use tests::sim::{CLIENT_ID, CLIENT_SECRET, add_seller, start_sim};

#[tokio::test]
async fn secrets_and_settings_drive_the_client_and_revocation_is_recorded() {
    let stack = fresh_stack("credentials").await;
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A2DEMOSELLER01", false);
    // The demo's onboarding is the operator's: settings + secrets.
    devstack::demo::set_app_secret(&stack.sdk, &stack.resources, CLIENT_ID, CLIENT_SECRET)
        .await
        .expect("app secret");
    let store = Store::new(stack.dynamo(), &stack.table);
    let settings = devstack::demo::demo_settings().expect("settings");
    let onboarded = devstack::demo::onboard(
        &stack.sdk,
        &store,
        &stack.stage,
        settings,
        &seller.refresh_token,
    )
    .await
    .expect("onboard");
    let (api, _) =
        devstack::demo::client(&stack.sdk, &stack.resources, &store, &sim).expect("client");
    let ctx = spapi::SellerContext::from(&onboarded.settings);
    let d = Deadline::after(Duration::from_secs(30));
    let parts = api
        .call(&ctx, &GetMarketplaceParticipations, &d)
        .await
        .expect("a call with credentials from Secrets Manager");
    assert!(!parts.payload.is_empty());

    sim.control()
        .revoke_refresh_token(&seller.seller_id)
        .unwrap();
    sim.control().expire_access_tokens();
    let err = api
        .call(&ctx, &GetMarketplaceParticipations, &d)
        .await
        .expect_err("the refresh token was revoked");
    assert!(
        matches!(err, SpApiError::AuthorizationRevoked { .. }),
        "{err:?}"
    );
    let stored = store
        .get_settings(&SellerId::new(&seller.seller_id).unwrap())
        .await
        .expect("read")
        .expect("settings");
    assert!(
        matches!(stored.authorization, Authorization::Broken { .. }),
        "{:?}",
        stored.authorization
    );
}
