//! The credentials function against moto and the simulator, wired from
//! template.yaml: Amazon's new client secret (delivered through the
//! application notification queue) is stored as a new version and a warm
//! function picks it up at its first LWA refusal; a late, repeated or
//! foreign notification changes nothing (the foreign one is dead-lettered
//! with its reason); an expiry warning and an old secret make it rotate,
//! once; the daily check writes the secret's age and each seller's days to
//! its yearly renewal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use credentials::config::{Config, wire};
use credentials::{Applied, Keeper};
use devstack::lambda_sqs::Trigger;
use domain::{Deadline, SellerId};
use lambda_kit::batch::SqsDeadLetters;
use lambda_kit::metrics::{MemorySink, Metrics, parse_document};
use order_pull::Mode;
use serde_json::{Value, json};
use store::{Clock, SettingsStore};
use tests::pull::{PullRig, SimClock};
use tests::sim::{CLIENT_ID, CLIENT_SECRET, SolutionSpec, add_seller, seed_orders};

struct Rig {
    pull: PullRig,
    keeper: Keeper,
    dead_letters: SqsDeadLetters,
    metrics: MemorySink,
}

impl Rig {
    async fn new(name: &str) -> Self {
        let pull = PullRig::new(name, 10.0).await;
        let sim = &pull.sim;
        sim.control().register_solution(SolutionSpec {
            application_id: "amzn1.sp.solution.credtest".into(),
            client_id: CLIENT_ID.into(),
            name: "Credentials test".into(),
            redirect_uris: vec!["https://x.example/callback".into()],
            login_uri: None,
            draft: false,
            notifications: true,
        });
        let mut env: BTreeMap<String, String> = pull
            .stack
            .resources
            .function_environment(&pull.stack.template, "CredentialsFunction")
            .expect("the function's environment from template.yaml");
        env.insert("SPAPI_ENDPOINT".into(), sim.base_url());
        env.insert("LWA_TOKEN_URL".into(), sim.lwa_token_url());
        env.insert("SPAPI_TIME_SCALE".into(), "10".into());
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        let metrics = MemorySink::new();
        let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
        let (keeper, dead_letters) = wire(
            &config,
            &pull.stack.sdk,
            clock,
            Metrics::new(config.common.stage.clone(), Arc::new(metrics.clone())),
        )
        .expect("wire");
        Self {
            pull,
            keeper,
            dead_letters,
            metrics,
        }
    }

    fn queue(&self, id: &str) -> devstack::QueueInfo {
        self.pull.stack.resources.queue(id).expect("queue").clone()
    }

    /// Sends Amazon's notifications to the queue and runs the function's
    /// SQS trigger over them.
    async fn deliver(&self, notes: &[Value]) -> Vec<Result<Value, String>> {
        let sqs = self.pull.stack.sqs();
        let q = self.queue("AppNotificationQueue");
        for n in notes {
            sqs.send_message()
                .queue_url(&q.url)
                .message_body(n.to_string())
                .send()
                .await
                .unwrap();
        }
        Trigger {
            sqs: &sqs,
            queue_url: &q.url,
            queue_arn: &q.arn,
            batch_size: 10,
            redeliver_failed: false,
        }
        .run(5, |event| async move {
            credentials::handle(
                &self.keeper,
                &self.dead_letters,
                event,
                Deadline::after(Duration::from_secs(60)),
            )
            .await
            .map_err(|e| e.to_string())
        })
        .await
        .unwrap()
    }

    async fn app_secret(&self) -> Value {
        let arn = &self
            .pull
            .stack
            .resources
            .secret("LwaAppSecret")
            .unwrap()
            .arn;
        let v = self
            .pull
            .stack
            .secrets()
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .unwrap();
        serde_json::from_str(v.secret_string().unwrap()).unwrap()
    }

    async fn put_app_secret(&self, value: Value) {
        let arn = &self
            .pull
            .stack
            .resources
            .secret("LwaAppSecret")
            .unwrap()
            .arn;
        self.pull
            .stack
            .secrets()
            .put_secret_value()
            .secret_id(arn)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap();
    }

    fn gauges(&self) -> Vec<lambda_kit::metrics::Parsed> {
        self.metrics
            .take()
            .iter()
            .map(|l| parse_document(l).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn a_new_secret_from_amazon_is_stored_and_used_without_downtime() {
    let rig = Rig::new("cred-new-secret").await;
    let sim = &rig.pull.sim;
    let seller = add_seller(sim, "A1CREDSELLER", true);
    rig.pull.onboard(&seller, |_| {}).await;
    rig.pull.settle();
    assert_eq!(rig.pull.pull(&seller, Mode::Incremental).await.sent, 0);

    // The operator's rotation (what `app rotate-secret` and the daily check call).
    rig.keeper
        .rotate("test-1", &Deadline::after(Duration::from_secs(30)))
        .await
        .unwrap();
    let notes = sim.control().take_app_notifications();
    assert_eq!(notes.len(), 1);
    let new = sim.control().client_secret(CLIENT_ID).unwrap();
    assert_ne!(new, CLIENT_SECRET);
    let answers = rig.deliver(&notes).await;
    assert_eq!(answers.len(), 1);
    assert_eq!(
        devstack::lambda_sqs::failed_ids(answers[0].as_ref().unwrap()),
        Vec::<String>::new()
    );
    let stored = rig.app_secret().await;
    assert_eq!(stored["client_secret"], new.as_str());
    assert_eq!(stored["client_id"], CLIENT_ID);
    assert!(stored["rotated_at"].is_string() && stored["expires_at"].is_string());
    let docs = rig.gauges();
    assert!(
        docs.iter()
            .any(|d| d.values.get("AppSecretRotations") == Some(&1.0))
    );

    // Amazon's overlap ends: the order pull's warm container still has the
    // old secret cached; LWA refuses it once, the stored one is read, the
    // pull goes on.
    sim.control().end_secret_overlap(CLIENT_ID);
    sim.control().expire_access_tokens();
    seed_orders(sim, &seller, 2);
    rig.pull.settle();
    let report = rig.pull.pull(&seller, Mode::Incremental).await;
    assert_eq!(report.sent, 2, "{report:?}");

    // The same notification again, or an older one, changes nothing.
    let again = rig.deliver(&notes).await;
    assert!(devstack::lambda_sqs::failed_ids(again[0].as_ref().unwrap()).is_empty());
    let mut older = notes[0].clone();
    older["payload"]["applicationOAuthClientNewSecret"]["newClientSecret"] =
        "an-older-secret".into();
    older["notificationMetadata"]["publishTime"] =
        (Utc::now() - TimeDelta::days(3)).to_rfc3339().into();
    rig.deliver(&[older]).await;
    assert_eq!(rig.app_secret().await["client_secret"], new.as_str());

    // Another application's notification: dead-lettered with the reason.
    let mut foreign = notes[0].clone();
    foreign["payload"]["applicationOAuthClientNewSecret"]["clientId"] =
        "amzn1.application-oa2-client.someone-else".into();
    foreign["notificationMetadata"]["publishTime"] =
        (Utc::now() + TimeDelta::days(1)).to_rfc3339().into();
    rig.deliver(&[foreign]).await;
    let dlq = rig.queue("AppNotificationDeadLetterQueue");
    let dead = rig
        .pull
        .stack
        .sqs()
        .receive_message()
        .queue_url(&dlq.url)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let messages = dead.messages();
    assert_eq!(messages.len(), 1);
    let reason = messages[0].message_attributes().unwrap()["error_reason"]
        .string_value()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("someone-else") && reason.contains(CLIENT_ID),
        "{reason}"
    );
    assert!(!messages[0].body().unwrap_or_default().is_empty());
    assert_eq!(rig.app_secret().await["client_secret"], new.as_str());
}

#[tokio::test]
async fn an_expiry_warning_and_an_old_secret_rotate_it_once() {
    let rig = Rig::new("cred-rotate").await;
    let sim = &rig.pull.sim;
    let soon = SimClock(sim.control().clone()).now() + TimeDelta::days(20);
    sim.control().warn_secret_expiry(CLIENT_ID, soon);
    let warning = sim.control().take_app_notifications();
    let applied = rig
        .keeper
        .apply(
            serde_json::from_value(warning[0].clone()).unwrap(),
            &Deadline::after(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(applied, Applied::Rotated);
    assert_eq!(
        sim.control().take_app_notifications().len(),
        1,
        "Amazon sent a new secret"
    );
    // The same warning redelivered does not rotate again.
    rig.deliver(&warning).await;
    assert!(
        sim.control().take_app_notifications().is_empty(),
        "rotated once"
    );

    // A far expiry is only logged.
    let far = SimClock(sim.control().clone()).now() + TimeDelta::days(120);
    sim.control().warn_secret_expiry(CLIENT_ID, far);
    let later = sim.control().take_app_notifications();
    let applied = rig
        .keeper
        .apply(
            serde_json::from_value(later[0].clone()).unwrap(),
            &Deadline::after(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert!(
        matches!(applied, Applied::NotYet { days_left } if days_left >= 119),
        "{applied:?}"
    );

    // The daily check: a secret stored 155 days ago is rotated, once a day.
    let now = SimClock(sim.control().clone()).now();
    rig.put_app_secret(json!({
        "client_id": CLIENT_ID,
        "client_secret": sim.control().client_secret(CLIENT_ID).unwrap(),
        "rotated_at": now - TimeDelta::days(155),
    }))
    .await;
    let report = rig
        .keeper
        .health(&Deadline::after(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(report.app_secret_age_days, Some(155));
    assert!(report.rotated);
    assert_eq!(sim.control().take_app_notifications().len(), 1);
    let again = rig
        .keeper
        .health(&Deadline::after(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(
        again.rotated,
        "the day's rotation is replayed, not repeated"
    );
    assert!(sim.control().take_app_notifications().is_empty());
}

#[tokio::test]
async fn the_daily_check_writes_the_secrets_age_and_each_sellers_renewal() {
    let rig = Rig::new("cred-health").await;
    let sim = &rig.pull.sim;
    let now = SimClock(sim.control().clone()).now();
    // A secret put by hand (no rotated_at): its last change counts (today).
    rig.put_app_secret(json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))
        .await;
    let fresh = add_seller(sim, "A1FRESHSELLER", true);
    rig.pull.onboard(&fresh, |_| {}).await;
    let old = add_seller(sim, "A1OLDSELLER", true);
    rig.pull.onboard(&old, |_| {}).await;
    let mut s = rig
        .pull
        .store
        .get_settings(&SellerId::new("A1OLDSELLER").unwrap())
        .await
        .unwrap()
        .unwrap();
    // (An hour of slack: the check runs a few seconds later.)
    s.authorized_at = Some(now - TimeDelta::days(340) + TimeDelta::hours(1));
    rig.pull.store.put_settings(&s).await.unwrap();
    let broken = add_seller(sim, "A1BROKENSELLER", true);
    rig.pull.onboard(&broken, |_| {}).await;
    rig.pull
        .store
        .mark_authorization_broken(&SellerId::new("A1BROKENSELLER").unwrap(), "invalid_grant")
        .await
        .unwrap();

    let answer = credentials::handle(
        &rig.keeper,
        &rig.dead_letters,
        json!({"kind": "health"}),
        Deadline::after(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(answer["app_secret_age_days"], 0);
    assert_eq!(answer["rotated"], false);
    assert_eq!(answer["sellers_checked"], 2);
    assert_eq!(answer["min_days_left"], 25);
    assert_eq!(answer["renew_soon"], json!(["A1OLDSELLER"]));
    assert_eq!(answer["broken"], json!(["A1BROKENSELLER"]));
    let docs = rig.gauges();
    let seller_days = |id: &str| {
        docs.iter()
            .find(|d| d.dimension("Seller") == Some(id))
            .and_then(|d| d.values.get("AuthorizationDaysLeft").copied())
    };
    assert_eq!(seller_days("A1OLDSELLER"), Some(25.0));
    let fresh_days = seller_days("A1FRESHSELLER").expect("a gauge for every active seller");
    assert!((364.0..=365.0).contains(&fresh_days), "{fresh_days}");
    assert_eq!(
        seller_days("A1BROKENSELLER"),
        None,
        "a broken seller is reported, not measured"
    );
    let stage = docs
        .iter()
        .find(|d| {
            d.dimension("Seller").is_none() && d.values.contains_key("AuthorizationMinDaysLeft")
        })
        .expect("the stage's gauges");
    assert_eq!(stage.values["AuthorizationMinDaysLeft"], 25.0);
    assert_eq!(stage.values["AppSecretAgeDays"], 0.0);
}
