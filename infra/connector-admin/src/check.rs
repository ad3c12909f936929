//! `check SELLER`: one `getMarketplaceParticipations` call with the seller's
//! refresh token, through the same client, credentials and endpoints as the
//! functions, and a diagnosis that names what failed and what to do: the
//! seller's authorisation (LWA `invalid_grant`), a missing role (403), the
//! application's own credentials, the network, Amazon being busy — and, when
//! the call works, whether the seller sells in the marketplaces its settings
//! name.

use std::time::Duration;

use clap::Args;
use domain::Deadline;
use serde::Serialize;
use spapi::SellerContext;
use spapi::SpApiError;
use spapi::ops::sellers::GetMarketplaceParticipations;

use crate::context::Context;
use crate::error::seller_id;
use crate::error::{CliError, Kind};
use crate::output::Console;

pub const EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod check A1EXAMPLESELLER
  connector-admin --stage prod --json check A1EXAMPLESELLER";

/// How long the check may take, retries included.
pub const CHECK_TIME: Duration = Duration::from_secs(45);

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The seller id.
    pub seller: String,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub seller_id: String,
    pub ok: bool,
    /// Where the call went.
    pub spapi_endpoint: String,
    pub lwa_endpoint: String,
    /// The marketplaces Amazon says the seller participates in.
    pub marketplaces: Vec<String>,
    /// Configured marketplaces Amazon does not list for the seller.
    pub not_participating: Vec<String>,
    /// What failed and what to do (empty when `ok`).
    pub problem: Option<String>,
}

/// What a failed call means for the operator.
pub fn diagnose(e: &SpApiError, ctx: &Context, seller: &str, endpoint: &str) -> CliError {
    let stage = &ctx.deployment.stage;
    let app_secret = &ctx.deployment.app_secret;
    match e {
        SpApiError::AuthorizationRevoked { .. } => CliError::seller_action(format!(
            "LWA refused the seller's refresh token (invalid_grant): the seller revoked the authorisation, or it expired (public apps renew every 365 days). \
Ask the seller to authorise the app again in Seller Central, then store the new token: `connector-admin --stage {stage} seller put {seller} --refresh-token-stdin < token.txt`. \
Until then the seller is flagged `authorization: broken` and every job skips it."
        )),
        SpApiError::Lwa {
            status: 0,
            description,
            ..
        } => CliError::temporary(format!(
            "could not reach the LWA token endpoint {} ({description}): check this machine's network or proxy{}; nothing was wrong with the seller as far as this shows",
            ctx.endpoints.lwa,
            if ctx.endpoints.spapi.is_some() {
                " and LWA_TOKEN_URL"
            } else {
                ""
            }
        )),
        SpApiError::Lwa {
            retryable: true,
            status,
            code,
            ..
        } => CliError::temporary(format!(
            "LWA is unavailable (HTTP {status}, {code}): nothing to fix on our side; run the check again in a few minutes"
        )),
        SpApiError::Lwa {
            status,
            code,
            description,
            ..
        } => CliError::config(format!(
            "LWA refused the application's credentials (HTTP {status}, {code}: {description}): check client_id and client_secret in the secret {app_secret} (the app's LWA secret must be rotated every 180 days); the seller's token was not tried"
        )),
        SpApiError::Amazon {
            status: 403,
            code,
            message,
            request_id,
            ..
        } => CliError::seller_action(format!(
            "Amazon refused the call with 403 ({code}: {message}; request id {}): the token works, but the application is not allowed this call for this seller — a role is missing. \
Add the role to the app in Developer Central (Sellers API: any selling-partner role; orders with buyer data: Direct-to-Consumer Delivery), then ask the seller to authorise the app again so the authorisation carries it",
            request_id.as_deref().unwrap_or("none")
        )),
        SpApiError::Amazon {
            status,
            code,
            message,
            ..
        } if *status == 429 || *status >= 500 => CliError::temporary(format!(
            "Amazon is busy or failing (HTTP {status}, {code}: {message}) after the client's retries: run the check again in a minute"
        )),
        SpApiError::Transport { sent, .. } => CliError::temporary(format!(
            "{} the SP-API at {endpoint}: check this machine's network or proxy{} ({e})",
            if *sent {
                "no answer from"
            } else {
                "could not reach"
            },
            if ctx.endpoints.spapi.is_some() {
                " and SPAPI_ENDPOINT"
            } else {
                ""
            }
        )),
        SpApiError::Credentials(p) if !p.retryable => CliError::config(format!(
            "the credentials could not be read: {} — the app's secret is {app_secret}; a seller's token is stored with `connector-admin --stage {stage} seller put {seller} --refresh-token-stdin`",
            p.message
        )),
        SpApiError::ResumeLater { .. } => CliError::temporary(format!(
            "the seller's shared quota for this call is spent for now ({e}): run the check again in a minute"
        )),
        other => {
            let kind = if other.is_retryable() {
                Kind::Temporary
            } else {
                Kind::Failed
            };
            CliError::new(kind, other.to_string())
        }
    }
}

pub async fn run(args: CheckArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let seller = seller_id(&args.seller)?;
    let settings = ctx.admin.get_seller(&seller).await?;
    let endpoint = ctx.client.base_url(settings.region, settings.sandbox);
    let api = ctx.admin.spapi(ctx.client.clone())?;
    let mut report = CheckReport {
        seller_id: seller.to_string(),
        ok: false,
        spapi_endpoint: endpoint.clone(),
        lwa_endpoint: ctx.endpoints.lwa.clone(),
        marketplaces: Vec::new(),
        not_participating: Vec::new(),
        problem: None,
    };
    console.line(format!(
        "checking seller {seller}: getMarketplaceParticipations at {endpoint}, token from {}",
        ctx.endpoints.lwa
    ));
    let answer = api
        .call(
            &SellerContext::from(&settings),
            &GetMarketplaceParticipations,
            &Deadline::after(CHECK_TIME),
        )
        .await;
    let parts = match answer {
        Ok(p) => p,
        Err(e) => {
            let error = diagnose(&e, ctx, seller.as_str(), &endpoint);
            tracing::warn!(seller = %seller, error = %e, "consent check failed");
            report.problem = Some(error.message.clone());
            console.json(&report)?;
            return Err(error);
        }
    };
    report.marketplaces = parts
        .payload
        .iter()
        .filter(|p| p.participation.is_participating)
        .map(|p| p.marketplace.id.clone())
        .collect();
    report.not_participating = settings
        .marketplaces
        .iter()
        .map(|m| m.to_string())
        .filter(|m| !report.marketplaces.contains(m))
        .collect();
    console.line(format!(
        "ok: the seller's authorisation works; Amazon lists marketplaces {}",
        report.marketplaces.join(", ")
    ));
    if !report.not_participating.is_empty() {
        let problem = format!(
            "the settings name marketplace(s) {} where Amazon says the seller does not sell: orders and stock there will fail — fix `marketplaces` in the settings and `connector-admin --stage {} seller put --file SETTINGS.json`",
            report.not_participating.join(", "),
            ctx.deployment.stage
        );
        report.problem = Some(problem.clone());
        console.json(&report)?;
        return Err(CliError::seller_action(problem));
    }
    report.ok = true;
    tracing::info!(seller = %seller, "consent check passed");
    console.json(&report)
}
