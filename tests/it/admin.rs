//! The operator CLI's library against moto and the simulator: onboarding puts
//! the refresh token in its own secret (never the table), re-onboarding
//! rotates it and clears a broken authorisation, sellers can be listed and
//! disabled, and the consent check makes a real call.

use connector_admin::{Admin, Deployment};
use domain::SellerId;
use domain::settings::Authorization;
use store::SettingsStore;
use tests::moto::fresh_stack;
use tests::sim::{CLIENT_ID, CLIENT_SECRET, add_seller, start_sim};

const SETTINGS: &str = r#"{
  "seller_id": "A1ADMINSELLER",
  "client_code": "ACME",
  "region": "EU",
  "marketplaces": ["A1PA6795UKMFR9"],
  "order_start_date": "2026-11-01",
  "order_prefix": "AC"
}"#;

#[tokio::test]
async fn onboarding_listing_disabling_and_the_consent_check() {
    let stack = fresh_stack("admin").await;
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1ADMINSELLER", false);
    devstack::demo::set_app_secret(&stack.sdk, &stack.resources, CLIENT_ID, CLIENT_SECRET)
        .await
        .unwrap();
    let deployment = Deployment {
        stage: stack.stage.clone(),
        table: stack.table.clone(),
        app_secret: stack.resources.secret("LwaAppSecret").unwrap().arn.clone(),
    };
    let admin = Admin::new(&stack.sdk, deployment);
    let id = SellerId::new("A1ADMINSELLER").unwrap();

    assert!(admin.parse_settings(r#"{"seller_id": "x"}"#).is_err());
    let settings = admin.parse_settings(SETTINGS).expect("valid settings");
    assert!(matches!(
        admin.put_seller(settings.clone(), Some("  ")).await,
        Err(connector_admin::AdminError::EmptyToken)
    ));
    let stored = admin
        .put_seller(settings.clone(), Some(&seller.refresh_token))
        .await
        .expect("onboard");
    assert_eq!(
        stored.refresh_token_secret,
        format!("connector/{}/seller/A1ADMINSELLER", stack.stage)
    );
    // The token is in Secrets Manager, and nowhere in the table.
    let secret = stack
        .secrets()
        .get_secret_value()
        .secret_id(&stored.refresh_token_secret)
        .send()
        .await
        .unwrap();
    assert!(
        secret
            .secret_string()
            .unwrap()
            .contains(&seller.refresh_token)
    );
    let items = stack
        .dynamo()
        .scan()
        .table_name(&stack.table)
        .send()
        .await
        .unwrap();
    assert!(!format!("{:?}", items.items).contains("Atzr|"));

    let ids = admin
        .check(
            &id,
            spapi::ClientConfig::local(&sim.base_url(), &sim.lwa_token_url(), 1000.0),
        )
        .await
        .expect("the consent works");
    assert_eq!(ids, vec![tests::sim::DE.to_string()]);

    admin.set_enabled(&id, false).await.unwrap();
    let list = admin.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(!list[0].enabled);

    // A broken authorisation is cleared by onboarding again with a new token
    // (the secret gets a new version).
    admin
        .store
        .mark_authorization_broken(&id, "invalid_grant")
        .await
        .unwrap();
    admin
        .put_seller(settings, Some("Atzr|a-new-token"))
        .await
        .expect("re-onboard");
    let again = admin.get_seller(&id).await.unwrap();
    assert_eq!(again.authorization, Authorization::Active);
    let secret = stack
        .secrets()
        .get_secret_value()
        .secret_id(&again.refresh_token_secret)
        .send()
        .await
        .unwrap();
    assert!(secret.secret_string().unwrap().contains("a-new-token"));
    assert!(matches!(
        admin.get_seller(&SellerId::new("A1NOSUCH").unwrap()).await,
        Err(connector_admin::AdminError::UnknownSeller(_))
    ));
}
