//! `app` (library part): the application's own LWA client secret — its
//! status, a rotation asked of Amazon (the new secret arrives on the
//! application's notification queue, and the credentials function stores
//! it), or a secret from Developer Central stored by hand.

use chrono::{DateTime, Utc};
use domain::{Deadline, Region};
use lambda_kit::app_secret::{self, SECRET_LIFETIME_DAYS};
use secrecy::{ExposeSecret, SecretString};
use secrets::{SecretWriter, SecretsCache};
use spapi::ops::application::RotateApplicationClientSecret;
use spapi::{SellerContext, SpApi};

use crate::AdminError;

/// What is known of the stored client secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SecretStatus {
    pub client_id: String,
    pub age_days: Option<i64>,
    /// Amazon's expiry if it said so, else 180 days after it was stored.
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
}

fn aws(action: &str, e: impl std::fmt::Display) -> AdminError {
    AdminError::Aws {
        action: action.to_string(),
        message: e.to_string(),
    }
}

pub async fn status(
    reader: &SecretsCache,
    writer: &dyn SecretWriter,
    name: &str,
    now: DateTime<Utc>,
) -> Result<SecretStatus, AdminError> {
    let secret = app_secret::read(reader, name)
        .await
        .map_err(|e| aws("read the application's secret", e))?;
    let age = app_secret::age_days(&secret, writer, name, now)
        .await
        .map_err(|e| aws("describe the application's secret", e))?;
    let expires_at = secret.expires_at.or_else(|| {
        age.map(|a| {
            now - chrono::TimeDelta::days(a) + chrono::TimeDelta::days(SECRET_LIFETIME_DAYS)
        })
    });
    Ok(SecretStatus {
        client_id: secret.client_id,
        age_days: age,
        expires_at,
        rotated_at: secret.rotated_at,
    })
}

/// Asks Amazon for a new client secret (`rotateApplicationClientSecret`).
/// Amazon refuses (HTTP 400) while no notification queue is registered.
pub async fn rotate(api: &SpApi, region: Region, deadline: &Deadline) -> Result<(), AdminError> {
    let app = SellerContext::application(region, false);
    api.call(&app, &RotateApplicationClientSecret, deadline)
        .await?;
    tracing::info!(audit = "app_secret.rotate", outcome = "success", region = %region, "Amazon was asked for a new LWA client secret");
    Ok(())
}

/// Stores a client secret from Developer Central, keeping the stored client id.
pub async fn store_by_hand(
    reader: &SecretsCache,
    writer: &dyn SecretWriter,
    name: &str,
    new_secret: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let new_secret = new_secret.trim();
    if new_secret.is_empty() {
        return Err(AdminError::Settings(
            "the client secret is empty: paste it from Developer Central (it starts with amzn1.oa2-cs.)".into(),
        ));
    }
    let current = app_secret::read(reader, name)
        .await
        .map_err(|e| aws("read the application's secret", e))?;
    if current.client_secret.expose_secret() == new_secret {
        return Err(AdminError::Settings(
            "that is the client secret already stored".into(),
        ));
    }
    app_secret::store_new(
        writer,
        name,
        &current.client_id,
        &SecretString::from(new_secret.to_string()),
        now,
        None,
        None,
    )
    .await
    .map_err(|e| aws("store the application's new client secret", e))?;
    Ok(())
}

// ---- the commands -----------------------------------------------------

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use secrets::SecretsManager;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Console;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// The application's LWA client secret: client id, age, expiry (never the secret).
    #[command(after_help = "Examples:\n  connector-admin --stage prod app status")]
    Status,
    /// Rotate the LWA client secret: ask Amazon for a new one (delivered to the application's notification queue and stored by the credentials function), or store one from Developer Central.
    #[command(
        long_about = "Rotate the application's LWA client secret (Amazon makes it expire after 180 days).\n\nWithout --secret-stdin: asks Amazon (rotateApplicationClientSecret). Amazon sends the new secret to the SQS queue registered for the application's notifications (the stack's AppNotificationQueueArn), and the credentials function stores it as a new version of the secret: every function uses it from its next LWA call, the old one keeps working for Amazon's overlap. Amazon refuses while no queue is registered.\n\nWith --secret-stdin: stores a client secret generated in Developer Central, read from standard input (never an argument, which would land in shell history).",
        after_help = "Examples:\n  connector-admin --stage prod app rotate-secret\n  connector-admin --stage prod app rotate-secret --region EU\n  connector-admin --stage prod app rotate-secret --secret-stdin"
    )]
    RotateSecret(RotateArgs),
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Store this secret (from standard input) instead of asking Amazon.
    #[arg(long)]
    pub secret_stdin: bool,
    /// The SP-API region whose endpoint takes the rotation (the stack's SpApiAppRegion).
    #[arg(long, default_value = "NA")]
    pub region: String,
}

fn secrets_of(ctx: &Context) -> (SecretsCache, SecretsManager) {
    let sm = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&ctx.sdk));
    (SecretsCache::new(Arc::new(sm.clone()), Duration::ZERO), sm)
}

/// `app ...`.
pub async fn run(command: AppCommand, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let name = ctx.deployment.app_secret.clone();
    let (reader, writer) = secrets_of(ctx);
    match command {
        AppCommand::Status => {
            let s = status(&reader, &writer, &name, ctx.clock.now()).await?;
            let age = s
                .age_days
                .map(|d| format!("{d} days old"))
                .unwrap_or_else(|| "age unknown".into());
            let expiry = s
                .expires_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "unknown".into());
            console.line(format!(
                "client {}: the client secret is {age}, expires {expiry} (Amazon's 180 days); secret {name}",
                s.client_id
            ));
            if s.age_days.is_some_and(|d| d >= 150) {
                console.note("rotate it now: connector-admin app rotate-secret");
            }
            console.json(&s)
        }
        AppCommand::RotateSecret(args) => {
            if args.secret_stdin {
                let secret = console.read_input()?;
                store_by_hand(&reader, &writer, &name, &secret, ctx.clock.now())
                    .await
                    .map_err(|e| match e {
                        AdminError::Settings(m) => CliError::usage(m),
                        other => other.into(),
                    })?;
                console.line(format!(
                    "the new client secret is stored in {name}; the functions use it from their next LWA call"
                ));
                console.json(&serde_json::json!({"stored": true, "secret": name}))
            } else {
                let region: Region = args
                    .region
                    .parse()
                    .map_err(|e: domain::DomainError| CliError::usage(e.to_string()))?;
                let api = ctx.admin.spapi(ctx.client.clone())?;
                let deadline = Deadline::after(Duration::from_secs(60));
                rotate(&api, region, &deadline).await?;
                console.line("Amazon is issuing a new client secret: it arrives on the application's notification queue, and the credentials function stores it (connector-admin app status shows its age reset)");
                console.json(&serde_json::json!({"requested": true, "region": region.as_str()}))
            }
        }
    }
}
