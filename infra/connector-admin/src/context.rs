//! The clients every command uses, wired once: the deployment's names for
//! the stage, the AWS SDK (which honours `AWS_ENDPOINT_URL`), the state
//! table, SQS, and the SP-API client configuration from the same variables
//! as the functions (`SPAPI_ENDPOINT`, `LWA_TOKEN_URL`, `SPAPI_TIME_SCALE`).

use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_kit::function_config::Common;
use lambda_kit::spapi_env::SpApiEnv;
use spapi::ClientConfig;
use store::{Clock, Store, SystemClock};

use crate::admin::{Admin, Deployment};
use crate::error::CliError;

/// Where the SP-API calls go, for messages ("called <url>").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Endpoints {
    /// `None`: Amazon's host of the seller's region (sandbox if set).
    pub spapi: Option<String>,
    pub lwa: String,
}

pub struct Context {
    pub deployment: Deployment,
    pub sdk: SdkConfig,
    pub admin: Admin,
    pub sqs: aws_sdk_sqs::Client,
    pub client: ClientConfig,
    pub endpoints: Endpoints,
    /// "Now" (the simulator's clock in tests).
    pub clock: Arc<dyn Clock>,
}

impl Context {
    /// From the environment's SP-API settings. Only one of `SPAPI_ENDPOINT`
    /// and `LWA_TOKEN_URL` is a mistake (the functions would ignore both):
    /// refused here, so a check never reaches Amazon by surprise.
    pub fn new(
        sdk: SdkConfig,
        stage: &str,
        env: &SpApiEnv,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CliError> {
        if env.endpoint.is_some() != env.lwa_token_url.is_some() {
            return Err(CliError::config(
                "SPAPI_ENDPOINT and LWA_TOKEN_URL go together (a local simulator or a proxy): set both, or neither to call Amazon",
            ));
        }
        let mut client = env.client_config();
        client.user_agent = spapi::config::user_agent(env!("CARGO_PKG_VERSION"), "connector-admin");
        let endpoints = Endpoints {
            spapi: client.endpoint_override_all.clone(),
            lwa: client.lwa_url.clone(),
        };
        let deployment = Deployment::for_stage(stage);
        let admin = Admin::new(&sdk, deployment.clone()).with_clock(clock.clone());
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            deployment,
            sdk,
            admin,
            client,
            endpoints,
            clock,
        })
    }

    /// The production context: the system clock.
    pub fn system(sdk: SdkConfig, stage: &str, env: &SpApiEnv) -> Result<Self, CliError> {
        Self::new(sdk, stage, env, Arc::new(SystemClock))
    }

    pub fn store(&self) -> &Store {
        &self.admin.store
    }

    /// The variables every function reads, as this stage is deployed: for
    /// the function libraries the commands run in-process (backfill, SKUs,
    /// the go-live checks).
    pub fn function_common(&self) -> Common {
        let d = &self.deployment;
        Common {
            table: d.table.clone(),
            lwa_app_secret: d.app_secret.clone(),
            stage: d.stage.clone(),
            spapi: SpApiEnv {
                endpoint: self.endpoints.spapi.clone(),
                lwa_token_url: self
                    .endpoints
                    .spapi
                    .as_ref()
                    .map(|_| self.endpoints.lwa.clone()),
                time_scale: self.client.time_scale.speed(),
            },
        }
    }
}
