//! The function's configuration (template.yaml sets it) and the wiring of its
//! clients. `main.rs` reads the environment once and calls [`wire`]; the
//! tests build the same wiring from the template's resolved environment.

use std::sync::Arc;

use aws_config::SdkConfig;
use domain::quota::BucketStore;
use lambda_kit::ConfigError;
use lambda_kit::credentials::{SecretsCredentials, SettingsDirectory};
use lambda_kit::function_config::Common;
use lambda_kit::metrics::Metrics;
use lambda_kit::spapi_env::SpApiEnv;
use secrets::{SecretsCache, SecretsManager};
use spapi::{CallObserver, Credentials, SpApi};
use store::{Clock, DynamoBuckets};

pub use lambda_kit::function_config::system_clock;

use crate::flow::{Onboarding, Options};
use crate::pages::Branding;
use crate::ports::{SpApiAmazon, SubscribeOnConnect};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The variables every function reads (table, app secret, stage, SP-API).
    pub common: Common,
    /// `SPAPI_APPLICATION_ID`: the application's id from Developer Central.
    pub application_id: String,
    /// `SPAPI_APP_DRAFT`: `true` while the application is a draft.
    pub draft: bool,
    /// `OPERATOR_NAME`: the 3PL's name on the pages.
    pub operator_name: String,
    /// `OPERATOR_CONTACT`: an e-mail address or URL on the pages (optional).
    pub operator_contact: Option<String>,
    /// `ONBOARDING_PUBLIC_URL`: the page's base URL when not the Function
    /// URL itself (a custom domain; optional).
    pub public_url: Option<String>,
    /// `SELLER_SECRET_PREFIX`: where sellers' secrets are named
    /// (`connector/<stage>/seller/`, the prefix the role may write).
    pub secret_prefix: String,
    /// `SECRETS_KMS_KEY`: the key new seller secrets are encrypted with.
    pub secrets_kms_key: Option<String>,
    /// `SELLER_CENTRAL_URL`: local runs only, the simulator's Seller Central.
    pub seller_central_url: Option<String>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Config {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required =
            |name: &str| non_empty(get(name)).ok_or_else(|| ConfigError::Missing(name.to_string()));
        let invalid = |name: &str, message: &str| ConfigError::Invalid {
            name: name.into(),
            message: message.into(),
        };
        let application_id = required("SPAPI_APPLICATION_ID")?;
        if application_id.contains("SET-ME") {
            return Err(invalid(
                "SPAPI_APPLICATION_ID",
                "is still the template's placeholder: set the SpApiApplicationId parameter to the application id from Developer Central and deploy again",
            ));
        }
        if application_id.contains(char::is_whitespace) {
            return Err(invalid(
                "SPAPI_APPLICATION_ID",
                "must be the application id from Developer Central (amzn1.sp.solution....)",
            ));
        }
        let draft = match non_empty(get("SPAPI_APP_DRAFT")).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid("SPAPI_APP_DRAFT", "must be true or false")),
        };
        let public_url = non_empty(get("ONBOARDING_PUBLIC_URL"));
        if let Some(url) = &public_url
            && !(url.starts_with("https://") || url.starts_with("http://127.0.0.1"))
        {
            return Err(invalid(
                "ONBOARDING_PUBLIC_URL",
                "must be an https:// URL (the seller's browser opens it)",
            ));
        }
        let secret_prefix = required("SELLER_SECRET_PREFIX")?;
        if !secret_prefix.ends_with('/') {
            return Err(invalid("SELLER_SECRET_PREFIX", "must end with /"));
        }
        // Read like `Common::from_lookup`, but a blank table or secret name
        // counts as unset here, as every required variable of this function.
        let common = Common {
            table: required("TABLE_NAME")?,
            lwa_app_secret: required("LWA_APP_SECRET")?,
            stage: lambda_kit::metrics::stage_from_lookup(&get)?,
            spapi: SpApiEnv::from_lookup(&get)?,
        };
        Ok(Self {
            common,
            application_id,
            draft,
            operator_name: required("OPERATOR_NAME")?,
            operator_contact: non_empty(get("OPERATOR_CONTACT")),
            public_url,
            secret_prefix,
            secrets_kms_key: non_empty(get("SECRETS_KMS_KEY")),
            seller_central_url: non_empty(get("SELLER_CENTRAL_URL")),
        })
    }

    pub fn options(&self) -> Options {
        Options {
            branding: Branding {
                operator: self.operator_name.clone(),
                contact: self.operator_contact.clone(),
            },
            application_id: self.application_id.clone(),
            draft: self.draft,
            public_url: self.public_url.clone(),
            seller_central: self.seller_central_url.clone(),
            secret_prefix: self.secret_prefix.clone(),
        }
    }
}

/// The production wiring: one set of clients per container.
pub fn wire(
    config: &Config,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
) -> Result<Onboarding, spapi::SpApiError> {
    // Not `Common::clients`: this SP-API client shares its credentials,
    // buckets and observer with the subscriptions made after a connection,
    // and writes sellers' secrets (with the KMS key).
    let store = config.common.store(sdk, clock.clone());
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let cache = SecretsCache::new(
        Arc::new(SecretsManager::new(sm.clone())),
        secrets::DEFAULT_TTL,
    );
    let directory = Arc::new(SettingsDirectory::new(Arc::new(store.clone())));
    let credentials: Arc<dyn Credentials> = Arc::new(SecretsCredentials::new(
        cache,
        &config.common.lwa_app_secret,
        directory,
    ));
    let buckets: Arc<dyn BucketStore> = Arc::new(DynamoBuckets::new(store.clone()));
    let observer: Arc<dyn CallObserver> = Arc::new(metrics.clone());
    let client = config.common.spapi.client_config();
    let api = SpApi::with_observer(
        client.clone(),
        credentials.clone(),
        buckets.clone(),
        observer.clone(),
    )?;
    let mut writer = SecretsManager::new(sm);
    if let Some(key) = &config.secrets_kms_key {
        writer = writer.with_kms_key(key);
    }
    let store = Arc::new(store);
    let after = SubscribeOnConnect {
        config: client.clone(),
        credentials: credentials.clone(),
        buckets: buckets.clone(),
        observer: observer.clone(),
        state: store.clone(),
        clock: clock.clone(),
    };
    Ok(Onboarding {
        invitations: store.clone(),
        settings: store,
        secrets: Arc::new(writer),
        amazon: Arc::new(SpApiAmazon {
            api,
            config: client,
            credentials,
            buckets,
            observer,
        }),
        after: Arc::new(after),
        clock,
        metrics,
        options: config.options(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_kit::function_config::lookup;

    const BASE: [(&str, &str); 6] = [
        ("TABLE_NAME", "t"),
        ("LWA_APP_SECRET", "s"),
        ("STAGE", "prod"),
        ("SPAPI_APPLICATION_ID", "amzn1.sp.solution.abc"),
        ("OPERATOR_NAME", "Acme Fulfilment"),
        ("SELLER_SECRET_PREFIX", "connector/prod/seller/"),
    ];

    #[test]
    fn config_reads_the_templates_variables() {
        let c = Config::from_lookup(lookup(&BASE)).unwrap();
        assert!(!c.draft);
        assert_eq!(c.public_url, None);
        assert_eq!(c.options().branding.operator, "Acme Fulfilment");
        let mut placeholder = BASE.to_vec();
        placeholder.retain(|(k, _)| *k != "SPAPI_APPLICATION_ID");
        placeholder.push(("SPAPI_APPLICATION_ID", "amzn1.sp.solution.SET-ME"));
        let err = Config::from_lookup(lookup(&placeholder)).unwrap_err();
        assert!(err.to_string().contains("SpApiApplicationId"), "{err}");
        let mut more = BASE.to_vec();
        more.extend([
            ("SPAPI_APP_DRAFT", "true"),
            ("OPERATOR_CONTACT", ""),
            ("ONBOARDING_PUBLIC_URL", "https://connect.acme.example/"),
        ]);
        let c = Config::from_lookup(lookup(&more)).unwrap();
        assert!(c.draft);
        assert_eq!(c.operator_contact, None, "empty is unset");
        for (name, value) in [
            ("SPAPI_APP_DRAFT", "yes"),
            ("ONBOARDING_PUBLIC_URL", "http://connect.acme.example"),
            ("SELLER_SECRET_PREFIX", "connector/prod/seller"),
        ] {
            let mut bad = BASE.to_vec();
            bad.retain(|(k, _)| *k != name);
            bad.push((name, value));
            let err = Config::from_lookup(lookup(&bad)).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        let mut missing = BASE.to_vec();
        missing.retain(|(k, _)| *k != "OPERATOR_NAME");
        assert!(Config::from_lookup(lookup(&missing)).is_err());
    }
}
