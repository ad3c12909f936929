//! `sellers` (every seller with its state) and `seller show|put|enable|disable`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use domain::SellerId;
use domain::settings::{Authorization, SellerSettings};
use serde::Serialize;
use store::{Checkpoints, SettingsStore};

use crate::context::Context;
use crate::dlq;
use crate::error::CliError;
use crate::error::seller_id;
use crate::output::{Console, age};

pub const LIST_EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod sellers
  connector-admin --stage prod --json sellers --no-dlq";

/// Amazon asks sellers of public apps to renew their authorisation every
/// 365 days: warn a month before (as the renewal alarm does).
pub const RENEW_WARNING_DAYS: i64 =
    domain::onboarding::RENEWAL_DAYS - domain::onboarding::RENEWAL_WARNING_DAYS;

/// An order pull older than this (four missed schedules) is unhealthy.
pub const PULL_LATE_MINUTES: i64 = 60;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Do not read the dead-letter queues (no per-seller dead-letter counts;
    /// reading them hides their messages from other readers for a moment).
    #[arg(long)]
    pub no_dlq: bool,
}

#[derive(Debug, Subcommand)]
pub enum SellerCommand {
    /// Print a seller's settings (never a secret value) and state.
    #[command(after_help = "Examples:\n  connector-admin --stage prod seller show A1EXAMPLESELLER")]
    Show {
        /// The seller id (selling partner id).
        seller: String,
    },
    /// Onboard or update a seller: settings from a JSON file, the refresh token from standard input.
    #[command(
        long_about = "Onboard or update a seller.\n\nWith --file: the settings JSON (fields of shared/domain/src/settings.rs; refresh_token_secret is set for you) is validated and stored. With --refresh-token-stdin: the refresh token (Atzr|...) from the seller's consent is read from standard input, so it never lands in shell history, and stored in the seller's own secret; a broken authorisation is cleared. Without --file the stored settings are kept: that is how a re-authorisation stores the new token.",
        after_help = "Examples:\n  connector-admin --stage prod seller put --file acme.json --refresh-token-stdin\n  connector-admin --stage prod seller put A1EXAMPLESELLER --refresh-token-stdin\n  connector-admin --stage prod seller put --file acme.json"
    )]
    Put(PutArgs),
    /// Enable a seller (every job it has on), or with --job one job of it.
    #[command(
        after_help = "Examples:\n  connector-admin --stage prod seller enable A1EXAMPLESELLER\n  connector-admin --stage prod seller enable A1EXAMPLESELLER --job labels"
    )]
    Enable(ToggleArgs),
    /// Disable a seller (every job stops), or with --job only that job.
    #[command(
        after_help = "Examples:\n  connector-admin --stage prod seller disable A1EXAMPLESELLER\n  connector-admin --stage prod seller disable A1EXAMPLESELLER --job inventory"
    )]
    Disable(ToggleArgs),
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// The seller id; required without --file (must match the file's if both are given).
    pub seller: Option<String>,
    /// Settings JSON file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Read the seller's refresh token from standard input.
    #[arg(long)]
    pub refresh_token_stdin: bool,
}

#[derive(Debug, Args)]
pub struct ToggleArgs {
    /// The seller id.
    pub seller: String,
    /// Only this job (repeatable). Enabling a job also enables the seller.
    #[arg(long = "job", value_enum, value_name = "JOB")]
    pub jobs: Vec<Job>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    Orders,
    Shipments,
    Inventory,
    Labels,
}

impl Job {
    fn flag(self, settings: &mut SellerSettings) -> &mut bool {
        match self {
            Job::Orders => &mut settings.jobs.orders,
            Job::Shipments => &mut settings.jobs.shipments,
            Job::Inventory => &mut settings.jobs.inventory,
            Job::Labels => &mut settings.jobs.labels,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Job::Orders => "orders",
            Job::Shipments => "shipments",
            Job::Inventory => "inventory",
            Job::Labels => "labels",
        }
    }
}

/// The jobs a seller has on.
pub fn jobs_on(settings: &SellerSettings) -> Vec<&'static str> {
    let j = settings.jobs;
    [
        (j.orders, "orders"),
        (j.shipments, "shipments"),
        (j.inventory, "inventory"),
        (j.labels, "labels"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name)
    .collect()
}

/// A seller's state, as `sellers` and `seller show` print it.
#[derive(Clone, Debug, Serialize)]
pub struct SellerState {
    pub seller_id: String,
    pub client_code: String,
    pub enabled: bool,
    pub jobs: Vec<&'static str>,
    /// `active` or `broken`.
    pub authorization: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_broken: Option<Broken>,
    /// When the refresh token was stored (its secret's last change).
    pub token_stored_at: Option<DateTime<Utc>>,
    pub token_age_days: Option<i64>,
    /// When the seller authorised the application: kept in its settings
    /// (the consent flow, or a token stored by hand), else the token's date.
    pub authorized_at: Option<DateTime<Utc>>,
    /// Days since then.
    pub authorization_age_days: Option<i64>,
    /// When Amazon wants it renewed (365 days after it was given).
    pub renewal_due: Option<DateTime<Utc>>,
    /// The order pull's checkpoint: orders updated before this reached the WMS.
    pub last_pull: Option<DateTime<Utc>>,
    /// The last inventory push that finished.
    pub last_push: Option<DateTime<Utc>>,
    /// Dead letters naming this seller (`None`: not read).
    pub dead_letters: Option<usize>,
    /// `ok`, or what is wrong and what to do.
    pub health: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Broken {
    pub reason: String,
    pub since: DateTime<Utc>,
}

/// Reads a seller's state (no secret value, no Amazon call).
pub async fn state(
    ctx: &Context,
    settings: &SellerSettings,
    dead_letters: Option<usize>,
) -> Result<SellerState, CliError> {
    let now = ctx.clock.now();
    let seller = &settings.seller_id;
    let token_stored_at = ctx.admin.token_stored_at(settings).await?;
    let last_pull = ctx
        .store()
        .get_checkpoint(seller, order_pull::Mode::Incremental.checkpoint())
        .await?
        .and_then(|c| serde_json::from_value::<order_pull::PullState>(c.value).ok())
        .and_then(|s| s.done_until);
    let last_push = ctx
        .store()
        .get_checkpoint(seller, "inventory-push")
        .await?
        .and_then(|c| {
            c.value
                .get("last_run_at")
                .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
        });
    let (authorization, authorization_broken) = match &settings.authorization {
        Authorization::Active => ("active", None),
        Authorization::Broken { reason, since } => (
            "broken",
            Some(Broken {
                reason: reason.clone(),
                since: *since,
            }),
        ),
    };
    let token_age_days = token_stored_at.map(|t| (now - t).num_days());
    let authorized_at = settings.authorized_at.or(token_stored_at);
    let authorization_age_days = authorized_at.map(|t| (now - t).num_days());
    let renewal_due = authorized_at.map(domain::onboarding::renewal_due);
    let mut health = Vec::new();
    let id = seller.as_str();
    if let Some(b) = &authorization_broken {
        health.push(format!(
            "authorisation broken since {} ({}): send the seller a renewal link (`connector-admin invite --url URL --seller {id}`), or store a new token with `connector-admin seller put {id} --refresh-token-stdin`",
            b.since.format("%Y-%m-%d %H:%M UTC"),
            b.reason
        ));
    }
    match (token_stored_at, authorization_age_days) {
        (None, _) => health.push(format!(
            "no refresh token stored: invite the seller (`connector-admin invite --url URL --seller {id}`) or `connector-admin seller put {id} --refresh-token-stdin`"
        )),
        (_, Some(days)) if days >= RENEW_WARNING_DAYS => health.push(format!(
            "the authorisation is {days} days old: Amazon wants it renewed every 365 days — send the seller a renewal link with `connector-admin invite --url URL --seller {id}`"
        )),
        _ => {}
    }
    if !settings.enabled {
        health.push(format!(
            "disabled: no job runs (`connector-admin seller enable {id}`)"
        ));
    } else if settings.jobs.orders {
        match last_pull {
            None => health.push("no order pull has finished yet".into()),
            Some(t) if (now - t).num_minutes() > PULL_LATE_MINUTES => health.push(format!(
                "the last order pull covers up to {} ago: look at `connector-admin dlq show --queue order-pull-jobs` and the order-pull logs",
                age((now - t).num_seconds())
            )),
            Some(_) => {}
        }
    }
    if let Some(n) = dead_letters.filter(|n| *n > 0) {
        health.push(format!(
            "{n} dead letter(s): `connector-admin dlq show` lists them with their reasons"
        ));
    }
    if health.is_empty() {
        health.push("ok".into());
    }
    Ok(SellerState {
        seller_id: seller.to_string(),
        client_code: settings.client_code.to_string(),
        enabled: settings.enabled,
        jobs: jobs_on(settings),
        authorization,
        authorization_broken,
        token_stored_at,
        token_age_days,
        authorized_at,
        authorization_age_days,
        renewal_due,
        last_pull,
        last_push,
        dead_letters,
        health,
    })
}

fn when(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    t.map(|t| format!("{} ago", age((now - t).num_seconds())))
        .unwrap_or_else(|| "never".into())
}

/// `sellers`.
pub async fn list(args: ListArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let summaries = ctx.store().list_sellers().await?;
    let mut all = Vec::new();
    for s in &summaries {
        if let Some(settings) = ctx.store().get_settings(&s.seller_id).await? {
            all.push(settings);
        }
    }
    let counts: Option<BTreeMap<String, usize>> = if args.no_dlq {
        None
    } else {
        Some(dlq::dead_letters_per_seller(ctx, &all).await?)
    };
    let mut states = Vec::new();
    for settings in &all {
        let n = counts
            .as_ref()
            .map(|c| c.get(settings.seller_id.as_str()).copied().unwrap_or(0));
        states.push(state(ctx, settings, n).await?);
    }
    let now = ctx.clock.now();
    if states.is_empty() {
        console.line(format!(
            "no sellers in stage {}: onboard one with `connector-admin seller put --file SETTINGS.json --refresh-token-stdin`",
            ctx.deployment.stage
        ));
    }
    console.table(
        &[
            "SELLER",
            "CLIENT",
            "STATE",
            "JOBS",
            "AUTH",
            "AUTH AGE",
            "LAST PULL",
            "LAST PUSH",
            "DLQ",
            "HEALTH",
        ],
        states
            .iter()
            .map(|s| {
                vec![
                    s.seller_id.clone(),
                    s.client_code.clone(),
                    if s.enabled { "enabled" } else { "disabled" }.into(),
                    s.jobs.join(","),
                    s.authorization.to_uppercase(),
                    s.authorization_age_days
                        .map(|d| format!("{d} d"))
                        .unwrap_or_else(|| "none".into()),
                    when(s.last_pull, now),
                    when(s.last_push, now),
                    s.dead_letters
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into()),
                    s.health.join("; "),
                ]
            })
            .collect(),
    );
    console.json(&serde_json::json!({ "stage": ctx.deployment.stage, "sellers": states }))
}

/// `seller ...`.
pub async fn run(command: SellerCommand, ctx: &Context, console: &Console) -> Result<(), CliError> {
    match command {
        SellerCommand::Show { seller } => show(&seller_id(&seller)?, ctx, console).await,
        SellerCommand::Put(args) => put(args, ctx, console).await,
        SellerCommand::Enable(args) => toggle(args, true, ctx, console).await,
        SellerCommand::Disable(args) => toggle(args, false, ctx, console).await,
    }
}

async fn show(seller: &SellerId, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let settings = ctx.admin.get_seller(seller).await?;
    let counts = dlq::dead_letters_per_seller(ctx, std::slice::from_ref(&settings)).await?;
    let state = state(
        ctx,
        &settings,
        Some(counts.get(seller.as_str()).copied().unwrap_or(0)),
    )
    .await?;
    let settings_json = serde_json::to_value(&settings)
        .map_err(|e| CliError::failed(format!("could not encode the settings: {e}")))?;
    let shipping = settings.shipping.describe();
    let marketplaces = marketplaces(ctx, &settings).await?;
    if !console.json {
        let text = serde_json::to_string_pretty(&settings_json).unwrap_or_default();
        console.line(text);
        let now = ctx.clock.now();
        console.line(format!(
            "\nstate: {}, jobs: {}, authorisation {}{}, given {} (renew by {}), token stored {}, last pull {}, last push {}, {} dead letter(s)",
            if state.enabled { "enabled" } else { "disabled" },
            state.jobs.join(","),
            state.authorization,
            state
                .authorization_broken
                .as_ref()
                .map(|b| format!(" ({})", b.reason))
                .unwrap_or_default(),
            when(state.authorized_at, now),
            state
                .renewal_due
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "-".into()),
            when(state.token_stored_at, now),
            when(state.last_pull, now),
            when(state.last_push, now),
            state.dead_letters.unwrap_or(0)
        ));
        console.line(format!("health: {}", state.health.join("; ")));
        console.line("shipping methods (Amazon service level -> WMS service):");
        for line in &shipping {
            console.line(format!("  {line}"));
        }
        console.line(format!("marketplaces: {}", marketplaces.summary));
        for line in &marketplaces.lines {
            console.line(format!("  {line}"));
        }
    }
    console.json(&serde_json::json!({
        "settings": settings_json,
        "state": state,
        "shipping_methods": shipping,
        "marketplaces": marketplaces,
    }))
}

/// What `seller show` says of the seller's marketplaces: the listed ones, or
/// for "default all" the participations kept from Amazon (served, excluded
/// with the reason, catch-ups still to run).
#[derive(serde::Serialize)]
struct MarketplaceView {
    summary: String,
    lines: Vec<String>,
}

async fn marketplaces(
    ctx: &Context,
    settings: &domain::settings::SellerSettings,
) -> Result<MarketplaceView, CliError> {
    use store::ParticipationStore;
    if !settings.all_marketplaces() {
        let ids: Vec<String> = settings
            .marketplaces
            .iter()
            .map(|m| m.to_string())
            .collect();
        return Ok(MarketplaceView {
            summary: format!("listed in the settings: {}", ids.join(", ")),
            lines: Vec::new(),
        });
    }
    let Some(kept) = ctx
        .admin
        .store
        .get_participations(&settings.seller_id)
        .await?
    else {
        return Ok(MarketplaceView {
            summary: "every marketplace the seller participates in (not fetched from Amazon yet: the next pull or push does)".into(),
            lines: Vec::new(),
        });
    };
    let (served, excluded) = kept.effective(settings.region);
    let served: Vec<String> = served.iter().map(|m| m.to_string()).collect();
    let mut lines: Vec<String> = excluded
        .iter()
        .map(|(id, why)| format!("{id} excluded: {why}"))
        .collect();
    lines.extend(kept.catch_up.iter().map(|c| {
        format!(
            "{} new: its orders since {} are still to be pulled once",
            c.marketplace_id, c.since
        )
    }));
    Ok(MarketplaceView {
        summary: format!(
            "every marketplace the seller participates in (as Amazon listed them at {}): {}",
            kept.fetched_at,
            served.join(", ")
        ),
        lines,
    })
}

async fn put(args: PutArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let token = if args.refresh_token_stdin {
        Some(console.read_input()?)
    } else {
        None
    };
    let stored = match (&args.file, &args.seller) {
        (Some(file), named) => {
            let json = std::fs::read_to_string(file).map_err(|e| {
                CliError::usage(format!(
                    "cannot read the settings file {}: {e}",
                    file.display()
                ))
            })?;
            let settings = ctx.admin.parse_settings(&json)?;
            if let Some(named) = named
                && named != settings.seller_id.as_str()
            {
                return Err(CliError::usage(format!(
                    "the command names seller {named} but {} holds seller {}",
                    file.display(),
                    settings.seller_id
                )));
            }
            let existing = ctx.store().get_settings(&settings.seller_id).await?;
            if existing.is_none() && token.is_none() {
                return Err(CliError::usage(format!(
                    "seller {} is new: give its refresh token too (--refresh-token-stdin < token.txt)",
                    settings.seller_id
                )));
            }
            let mut settings = settings;
            if token.is_none()
                && let Some(old) = existing
            {
                // Settings only: the stored token and its state stay.
                settings.refresh_token_secret = old.refresh_token_secret;
                settings.authorization = old.authorization;
                ctx.admin.save(&settings).await?;
                settings
            } else {
                ctx.admin.put_seller(settings, token.as_deref()).await?
            }
        }
        (None, Some(seller)) => {
            let Some(token) = token else {
                return Err(CliError::usage(
                    "nothing to store: give --file SETTINGS.json, --refresh-token-stdin, or both",
                ));
            };
            ctx.admin.put_token(&seller_id(seller)?, &token).await?
        }
        (None, None) => {
            return Err(CliError::usage(
                "name the seller (seller put SELLER --refresh-token-stdin) or give its settings (--file SETTINGS.json)",
            ));
        }
    };
    tracing::info!(seller = %stored.seller_id, token_stored = args.refresh_token_stdin, "seller stored");
    console.line(format!(
        "seller {} stored{}; check it with `connector-admin --stage {} check {}`",
        stored.seller_id,
        if args.refresh_token_stdin {
            format!(" (refresh token in secret {})", stored.refresh_token_secret)
        } else {
            String::new()
        },
        ctx.deployment.stage,
        stored.seller_id
    ));
    console.json(&serde_json::json!({
        "seller_id": stored.seller_id,
        "refresh_token_secret": stored.refresh_token_secret,
        "token_stored": args.refresh_token_stdin,
    }))
}

async fn toggle(
    args: ToggleArgs,
    on: bool,
    ctx: &Context,
    console: &Console,
) -> Result<(), CliError> {
    let seller = seller_id(&args.seller)?;
    let mut settings = ctx.admin.get_seller(&seller).await?;
    if args.jobs.is_empty() {
        settings.enabled = on;
    } else {
        for job in &args.jobs {
            *job.flag(&mut settings) = on;
        }
        if on {
            settings.enabled = true;
        }
    }
    ctx.admin.save(&settings).await?;
    let what = if args.jobs.is_empty() {
        format!("seller {seller}")
    } else {
        format!(
            "job(s) {} of seller {seller}",
            args.jobs
                .iter()
                .map(|j| j.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    console.line(format!(
        "{what} {}; seller {}, jobs on: {}",
        if on { "enabled" } else { "disabled" },
        if settings.enabled {
            "enabled"
        } else {
            "disabled"
        },
        jobs_on(&settings).join(", ")
    ));
    console.json(&serde_json::json!({
        "seller_id": seller,
        "enabled": settings.enabled,
        "jobs": jobs_on(&settings),
    }))
}
