//! `notifications setup|subscribe|status` (issue 15): Amazon's ORDER_CHANGE
//! notifications for the stage, through the notification function's library
//! (`notifications::subscriptions`, the same code onboarding calls).
//!
//! - `setup`: the destination for the stage's notification queue
//!   (`connector-notifications-<stage>`), once per SP-API region — the
//!   regions of the onboarded sellers, or `--region` — recorded in the table.
//! - `subscribe SELLER|--all`: each seller's ORDER_CHANGE subscription.
//! - `status [SELLER]`: what the table knows: destinations, each seller's
//!   subscription, the last notification, orders the backstop had to send,
//!   the backstop's cadence and whether the seller is silent.
//!
//! Running `setup` or `subscribe` twice changes nothing.

use aws_sdk_sqs::types::QueueAttributeName;
use clap::{Args, Subcommand};
use domain::Region;
use domain::settings::{Authorization, SellerSettings};
use notifications::subscriptions::{
    DestinationOutcome, SellerStatus, SubscribeError, SubscribeOutcome, ensure_destination,
    seller_status, subscribe_seller,
};
use order_pull::backstop::BackstopPolicy;
use serde::Serialize;
use store::{NotificationState, SettingsStore};

use crate::check::diagnose;
use crate::context::Context;
use crate::error::seller_id;
use crate::error::{CliError, Kind};
use crate::output::{Console, age};
use crate::queues::queue_url;

#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Create (or find) Amazon's destination for this stage's notification queue, once per region.
    #[command(
        long_about = "Create (or find) Amazon's notification destination for this stage's SQS queue (connector-notifications-<stage>, output NotificationQueueArn), once per SP-API region, with the application's grantless token (scope sellingpartnerapi::notifications), and record its id in the table. The regions are those of the onboarded sellers, or --region. Running it again changes nothing.",
        after_help = "Examples:\n  connector-admin --stage prod notifications setup\n  connector-admin --stage prod notifications setup --region EU --region NA"
    )]
    Setup(SetupArgs),
    /// Subscribe one seller (or every seller) to ORDER_CHANGE notifications.
    #[command(
        long_about = "Subscribe a seller to ORDER_CHANGE notifications (payload 1.0, OrderStatusChange and BuyerRequestedChange) on its region's destination, with the seller's token, and record the subscription. A subscription the seller already has to this stage's destination is recorded as it is; one to another destination (another tool, an old stack) is an error unless --replace. Running it again changes nothing.",
        after_help = "Examples:\n  connector-admin --stage prod notifications subscribe A1EXAMPLESELLER\n  connector-admin --stage prod notifications subscribe --all"
    )]
    Subscribe(SubscribeArgs),
    /// Each seller's subscription, last notification, orders only the backstop sent, and cadence.
    #[command(
        after_help = "Examples:\n  connector-admin --stage prod notifications status\n  connector-admin --stage prod notifications status A1EXAMPLESELLER"
    )]
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// A region to set up (NA, EU, FE; repeatable). Default: the regions of the onboarded sellers.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// The queue's ARN, if not this stage's connector-notifications-<stage>.
    #[arg(long, value_name = "ARN")]
    pub queue_arn: Option<String>,
}

#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// The seller id.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub seller: Option<String>,
    /// Every onboarded seller whose authorisation works.
    #[arg(long)]
    pub all: bool,
    /// Delete a subscription to another destination and subscribe to this stage's.
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this seller.
    pub seller: Option<String>,
}

pub async fn run(
    command: NotificationsCommand,
    ctx: &Context,
    console: &Console,
) -> Result<(), CliError> {
    match command {
        NotificationsCommand::Setup(args) => setup(args, ctx, console).await,
        NotificationsCommand::Subscribe(args) => subscribe(args, ctx, console).await,
        NotificationsCommand::Status(args) => status(args, ctx, console).await,
    }
}

fn change_word(c: notifications::subscriptions::Change) -> &'static str {
    use notifications::subscriptions::Change::*;
    match c {
        Created => "created",
        Recorded => "found at Amazon and recorded",
        Unchanged => "unchanged",
        Replaced => "moved here from another destination",
    }
}

/// The stage's notification queue ARN.
async fn queue_arn(ctx: &Context) -> Result<String, CliError> {
    let name = ctx.deployment.queue("notifications", false);
    let url = queue_url(ctx, &name).await?;
    let attrs = ctx
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| CliError::aws(&format!("read the ARN of {name}"), e))?;
    attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| CliError::failed(format!("SQS gave no ARN for {name}")))
}

async fn all_settings(ctx: &Context) -> Result<Vec<SellerSettings>, CliError> {
    let store = ctx.store();
    let mut out = Vec::new();
    for summary in store.list_sellers().await? {
        if let Some(s) = store.get_settings(&summary.seller_id).await? {
            out.push(s);
        }
    }
    Ok(out)
}

async fn setup(args: SetupArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let mut named: Vec<Region> = Vec::new();
    for r in &args.regions {
        named
            .push(r.parse().map_err(|_| {
                CliError::usage(format!("{r:?} is not a region: use NA, EU or FE"))
            })?);
    }
    if named.is_empty() {
        named = all_settings(ctx).await?.iter().map(|s| s.region).collect();
    }
    // In the order NA, EU, FE, each once.
    let regions: Vec<Region> = Region::ALL
        .into_iter()
        .filter(|r| named.contains(r))
        .collect();
    if regions.is_empty() {
        return Err(CliError::usage(
            "no seller is onboarded yet, so no region to set up: name them with --region (NA, EU, FE)",
        ));
    }
    let arn = match args.queue_arn {
        Some(a) => a,
        None => queue_arn(ctx).await?,
    };
    let api = ctx.admin.spapi(ctx.client.clone())?;
    let name = format!("connector-{}", ctx.deployment.stage);
    let mut done: Vec<DestinationOutcome> = Vec::new();
    for region in regions {
        let outcome = ensure_destination(&api, ctx.store(), region, &arn, &name, ctx.clock.now())
            .await
            .map_err(|e| setup_error(e, region))?;
        console.line(format!(
            "{region}: destination {} for {} {}",
            outcome.destination_id,
            outcome.queue_arn,
            change_word(outcome.change)
        ));
        done.push(outcome);
    }
    console.note(format!(
        "next: connector-admin --stage {} notifications subscribe --all",
        ctx.deployment.stage
    ));
    console.json(&done)
}

fn setup_error(e: SubscribeError, region: Region) -> CliError {
    match e {
        SubscribeError::SpApi(spapi::SpApiError::Lwa {
            status,
            code,
            description,
            retryable,
        }) => {
            let kind = if retryable {
                Kind::Temporary
            } else {
                Kind::Config
            };
            CliError::new(
                kind,
                format!(
                    "{region}: the grantless token for sellingpartnerapi::notifications was refused (HTTP {status}, {code}: {description}): check the application's LWA credentials, and that the app has the Notifications API role"
                ),
            )
        }
        SubscribeError::SpApi(s) => {
            let mut err = CliError::from(s);
            err.message = format!("{region}: {}", err.message);
            err
        }
        other => subscribe_error(other),
    }
}

fn subscribe_error(e: SubscribeError) -> CliError {
    match e {
        SubscribeError::NotSetUp { .. } => CliError::config(e.to_string()),
        SubscribeError::OtherDestination { .. } => CliError::failed(e.to_string()),
        SubscribeError::SpApi(s) => CliError::from(s),
        SubscribeError::Store(s) => CliError::from(s),
    }
}

/// One seller's line of `subscribe --all`.
#[derive(Debug, Serialize)]
struct SubscribeLine {
    seller_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribed: Option<SubscribeOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

async fn subscribe(args: SubscribeArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let sellers: Vec<SellerSettings> = match &args.seller {
        Some(s) => vec![ctx.admin.get_seller(&seller_id(s)?).await?],
        None => all_settings(ctx)
            .await?
            .into_iter()
            .filter(|s| matches!(s.authorization, Authorization::Active))
            .collect(),
    };
    if sellers.is_empty() {
        return Err(CliError::not_found(
            "no onboarded seller with a working authorisation to subscribe",
        ));
    }
    let api = ctx.admin.spapi(ctx.client.clone())?;
    let mut lines = Vec::new();
    let mut first_error: Option<CliError> = None;
    for settings in &sellers {
        let seller = settings.seller_id.to_string();
        match subscribe_seller(&api, ctx.store(), settings, args.replace, ctx.clock.now()).await {
            Ok(outcome) => {
                console.line(format!(
                    "{seller}: ORDER_CHANGE subscription {} {}",
                    outcome.subscription_id,
                    change_word(outcome.change)
                ));
                lines.push(SubscribeLine {
                    seller_id: seller,
                    subscribed: Some(outcome),
                    problem: None,
                });
            }
            Err(e) => {
                let error = match e {
                    SubscribeError::SpApi(s) => {
                        let endpoint = ctx.client.base_url(settings.region, settings.sandbox);
                        diagnose(&s, ctx, &seller, &endpoint)
                    }
                    other => subscribe_error(other),
                };
                console.line(format!("{seller}: not subscribed: {}", error.message));
                lines.push(SubscribeLine {
                    seller_id: seller,
                    subscribed: None,
                    problem: Some(error.message.clone()),
                });
                first_error.get_or_insert(error);
            }
        }
    }
    console.json(&lines)?;
    match first_error {
        Some(e) if sellers.len() == 1 => Err(e),
        Some(e) => Err(CliError::new(
            e.kind,
            format!(
                "some sellers were not subscribed (see above); the first: {}",
                e.message
            ),
        )),
        None => Ok(()),
    }
}

/// What `status` prints as JSON.
#[derive(Debug, Serialize)]
struct StatusReport {
    destinations: Vec<DestinationLine>,
    sellers: Vec<SellerStatus>,
}

#[derive(Debug, Serialize)]
struct DestinationLine {
    region: Region,
    destination_id: Option<String>,
    queue_arn: Option<String>,
}

async fn status(args: StatusArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let store = ctx.store();
    let now = ctx.clock.now();
    let mut destinations = Vec::new();
    for region in Region::ALL {
        let d = store.destination(region).await?;
        destinations.push(DestinationLine {
            region,
            destination_id: d.as_ref().map(|d| d.destination_id.clone()),
            queue_arn: d.map(|d| d.queue_arn),
        });
    }
    let sellers: Vec<SellerSettings> = match &args.seller {
        Some(s) => vec![ctx.admin.get_seller(&seller_id(s)?).await?],
        None => all_settings(ctx).await?,
    };
    // The order pull's policy with the default interval (the deployed one is
    // the template's BackstopHealthyMinutes).
    let policy = BackstopPolicy::default();
    let mut statuses = Vec::new();
    for settings in &sellers {
        statuses.push(seller_status(store, settings, &policy, now).await?);
    }
    let set_up: Vec<String> = destinations
        .iter()
        .filter(|d| d.destination_id.is_some())
        .map(|d| d.region.to_string())
        .collect();
    console.line(if set_up.is_empty() {
        format!(
            "no destination set up: connector-admin --stage {} notifications setup",
            ctx.deployment.stage
        )
    } else {
        format!("destinations set up for {}", set_up.join(", "))
    });
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| format!("{} ago", age((now - t).num_seconds())))
            .unwrap_or_else(|| "never".into())
    };
    console.table(
        &[
            "SELLER",
            "SUBSCRIPTION",
            "LAST NOTIFICATION",
            "RECEIVED",
            "MISSED (LAST)",
            "BACKSTOP",
            "STATE",
        ],
        statuses
            .iter()
            .map(|s| {
                vec![
                    s.seller_id.clone(),
                    s.subscription_id.clone().unwrap_or_else(|| "none".into()),
                    when(s.last_received_at),
                    s.received.to_string(),
                    format!("{} ({})", s.missed, when(s.last_missed_at)),
                    s.backstop.clone(),
                    if s.silent {
                        "SILENT: subscribe again".to_string()
                    } else if s.subscription_id.is_none() {
                        "not subscribed".to_string()
                    } else {
                        "ok".to_string()
                    },
                ]
            })
            .collect(),
    );
    console.json(&StatusReport {
        destinations,
        sellers: statuses,
    })
}
