//! `invite` (library part): an operator's invitation for a seller to connect
//! itself through the onboarding page (issue 14). The invitation is stored
//! (hashed, with a TTL) and its link printed once: the code in it is the
//! only copy.

use chrono::{DateTime, Utc};
use domain::onboarding::{BearerToken, Invitation, SettingsTemplate};
use domain::settings::SellerSettings;
use domain::{ClientCode, MarketplaceId, Region, SellerId};
use store::{InvitationKey, InvitationStore};

use crate::AdminError;

/// Days an invitation stays open unless told otherwise.
pub const DEFAULT_DAYS: i64 = 3;

/// What the operator asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRequest {
    pub client_code: ClientCode,
    pub region: Region,
    /// Empty: every marketplace of the region the seller sells in.
    pub marketplaces: Vec<MarketplaceId>,
    pub settings: SettingsTemplate,
    /// A renewal of this seller only.
    pub seller: Option<SellerId>,
    pub days: i64,
}

/// A stored invitation and its link.
#[derive(Debug)]
pub struct Invited {
    pub invitation: Invitation,
    pub code: BearerToken,
    pub link: String,
}

/// The fields of a settings file that `invite --file` takes: the seller
/// settings without `seller_id` and `refresh_token_secret` (Amazon and the
/// onboarding decide those); `client_code`, `region` and `marketplaces` may
/// be there or on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsFile {
    pub client_code: Option<ClientCode>,
    pub region: Option<Region>,
    pub marketplaces: Vec<MarketplaceId>,
    pub settings: SettingsTemplate,
}

/// Parses a settings file for an invitation; errors name the field.
pub fn parse_settings_file(json: &str) -> Result<SettingsFile, AdminError> {
    let mut value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| AdminError::Settings(e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| AdminError::Settings("the settings file must be a JSON object".into()))?;
    for refused in [
        "seller_id",
        "refresh_token_secret",
        "authorization",
        "authorized_at",
        "enabled",
    ] {
        if obj.contains_key(refused) {
            return Err(AdminError::Settings(format!(
                "`{refused}` is not part of an invitation: the seller's id and token come from its consent; remove the field"
            )));
        }
    }
    let take = |obj: &mut serde_json::Map<String, serde_json::Value>, k: &str| obj.remove(k);
    let client_code = take(obj, "client_code")
        .map(serde_json::from_value::<ClientCode>)
        .transpose()
        .map_err(|e| AdminError::Settings(format!("client_code: {e}")))?;
    let region = take(obj, "region")
        .map(serde_json::from_value::<Region>)
        .transpose()
        .map_err(|e| AdminError::Settings(format!("region: {e}")))?;
    let marketplaces = take(obj, "marketplaces")
        .map(serde_json::from_value::<Vec<MarketplaceId>>)
        .transpose()
        .map_err(|e| AdminError::Settings(format!("marketplaces: {e}")))?
        .unwrap_or_default();
    let settings: SettingsTemplate =
        serde_json::from_value(value).map_err(|e| AdminError::Settings(e.to_string()))?;
    Ok(SettingsFile {
        client_code,
        region,
        marketplaces,
        settings,
    })
}

/// A new random invitation code (two v4 UUIDs from the OS generator).
pub fn new_code() -> Result<BearerToken, AdminError> {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    BearerToken::from_random(&bytes).map_err(|e| AdminError::Settings(e.to_string()))
}

/// The link a seller opens: `<onboarding URL>/connect?invitation=<code>`.
pub fn link(base_url: &str, code: &BearerToken) -> String {
    format!(
        "{}/connect?invitation={}",
        base_url.trim_end_matches('/'),
        code.expose()
    )
}

/// Checks the onboarding page's URL (the `OnboardingUrl` output).
pub fn check_base_url(url: &str) -> Result<(), AdminError> {
    let ok = url.starts_with("https://")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost");
    if ok && !url.contains(['?', '#', ' ']) {
        Ok(())
    } else {
        Err(AdminError::Settings(format!(
            "{url:?} is not the onboarding page's URL: give the stack's OnboardingUrl output (https://...)"
        )))
    }
}

/// Stores an invitation and returns its link.
pub async fn invite(
    store: &dyn InvitationStore,
    request: InviteRequest,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<Invited, AdminError> {
    check_base_url(base_url)?;
    let code = new_code()?;
    let key = InvitationKey::of(&code);
    let invitation = Invitation::new(
        key.public_id(),
        request.client_code,
        request.region,
        request.marketplaces,
        request.settings,
        request.seller,
        now,
        request.days,
    )
    .map_err(|e| AdminError::Settings(e.to_string()))?;
    store.put_invitation(&code, &invitation).await?;
    tracing::info!(audit = "invitation.create", outcome = "success", invitation = %invitation.id, client_code = %invitation.client_code, seller = ?invitation.seller_id.as_ref().map(|s| s.to_string()), "invitation created");
    let link = link(base_url, &code);
    Ok(Invited {
        invitation,
        code,
        link,
    })
}

/// The request renewing an onboarded seller's authorisation: its own client
/// code, region and marketplaces; only that seller can use it.
pub fn renewal_of(settings: &SellerSettings, days: i64) -> InviteRequest {
    InviteRequest {
        client_code: settings.client_code.clone(),
        region: settings.region,
        marketplaces: settings.marketplaces.clone(),
        settings: SettingsTemplate::default(),
        seller: Some(settings.seller_id.clone()),
        days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::MemoryInvitations;

    #[test]
    fn a_settings_file_gives_the_invitations_fields_and_refuses_the_sellers() {
        let f = parse_settings_file(
            r#"{"client_code":"ACME","region":"EU","marketplaces":["A1PA6795UKMFR9"],
                "order_prefix":"AC","ship_to_countries":["DE"],"order_start_date":"2026-12-01"}"#,
        )
        .unwrap();
        assert_eq!(f.client_code.unwrap().as_str(), "ACME");
        assert_eq!(f.region, Some(Region::Eu));
        assert_eq!(f.settings.order_prefix, "AC");
        assert!(f.settings.order_start_date.is_some());
        let e = parse_settings_file(r#"{"seller_id":"A1X","client_code":"ACME"}"#).unwrap_err();
        assert!(e.to_string().contains("seller_id"), "{e}");
        let e = parse_settings_file(r#"{"order_prefx":"AC"}"#).unwrap_err();
        assert!(e.to_string().contains("order_prefx"), "{e}");
    }

    #[tokio::test]
    async fn an_invitation_is_stored_under_its_hash_and_linked_once() {
        let store = MemoryInvitations::new();
        let now = "2026-12-01T10:00:00Z".parse().unwrap();
        let req = InviteRequest {
            client_code: ClientCode::new("ACME").unwrap(),
            region: Region::Eu,
            marketplaces: vec![],
            settings: SettingsTemplate::default(),
            seller: None,
            days: DEFAULT_DAYS,
        };
        let invited = invite(
            &store,
            req.clone(),
            "https://x.lambda-url.eu-west-1.on.aws/",
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            invited.link,
            format!(
                "https://x.lambda-url.eu-west-1.on.aws/connect?invitation={}",
                invited.code.expose()
            )
        );
        let stored = store
            .get_invitation(&InvitationKey::of(&invited.code))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.id, invited.invitation.id);
        assert_eq!(stored.expires_at, now + chrono::TimeDelta::days(3));
        assert!(invite(&store, req.clone(), "ftp://x", now).await.is_err());
        let mut long = req;
        long.days = 8;
        assert!(invite(&store, long, "https://x", now).await.is_err());
    }
}

// ---- the commands -----------------------------------------------------

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::error::CliError;
use crate::error::seller_id;
use crate::output::Console;

pub const EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod invite --url https://abc123.lambda-url.eu-west-1.on.aws --client-code ACME --region EU --marketplaces A1PA6795UKMFR9,A13V1IB3VIYZZH
  connector-admin --stage prod invite --url https://abc123.lambda-url.eu-west-1.on.aws --file acme-invite.json --days 7
  connector-admin --stage prod invite --url https://abc123.lambda-url.eu-west-1.on.aws --seller A1EXAMPLESELLER";

pub const LIST_EXAMPLES: &str = "\
Examples:
  connector-admin --stage prod invitations
  connector-admin --stage prod --json invitations";

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// The onboarding page: the stack's OnboardingUrl output (or
    /// OnboardingPublicUrl).
    #[arg(long, env = "CONNECTOR_ONBOARDING_URL", value_name = "URL")]
    pub url: String,
    /// The WMS client code the seller's orders go under.
    #[arg(long, value_name = "CODE")]
    pub client_code: Option<String>,
    /// NA, EU or FE.
    #[arg(long)]
    pub region: Option<String>,
    /// Marketplace ids, comma-separated; none: every marketplace of the
    /// region the seller sells in.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub marketplaces: Vec<String>,
    /// Settings for the new seller (the fields of `seller put` files without
    /// seller_id and refresh_token_secret; client_code, region and
    /// marketplaces may be here instead of on the command line).
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    /// Renew the authorisation of this onboarded seller (its own client,
    /// region and marketplaces; only it can use the link).
    #[arg(long, value_name = "SELLER", conflicts_with_all = ["client_code", "region", "marketplaces", "file"])]
    pub seller: Option<String>,
    /// How long the link works (1 to 7 days).
    #[arg(long, default_value_t = DEFAULT_DAYS, value_parser = clap::value_parser!(i64).range(1..=7))]
    pub days: i64,
}

#[derive(Debug, Serialize)]
struct InviteOutput<'a> {
    id: &'a str,
    client_code: &'a str,
    region: &'a str,
    marketplaces: Vec<&'a str>,
    seller_id: Option<&'a str>,
    expires_at: DateTime<Utc>,
    link: &'a str,
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::usage(e.to_string())
}

/// `invite`.
pub async fn run(args: InviteArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    check_base_url(&args.url).map_err(usage)?;
    let request = match &args.seller {
        Some(seller) => {
            let settings = ctx.admin.get_seller(&seller_id(seller)?).await?;
            renewal_of(&settings, args.days)
        }
        None => {
            let file = match &args.file {
                Some(path) => {
                    let json = std::fs::read_to_string(path).map_err(|e| {
                        CliError::usage(format!(
                            "cannot read the settings file {}: {e}",
                            path.display()
                        ))
                    })?;
                    parse_settings_file(&json).map_err(usage)?
                }
                None => SettingsFile::default(),
            };
            let client_code = match (&args.client_code, file.client_code) {
                (Some(c), _) => ClientCode::new(c.as_str()).map_err(usage)?,
                (None, Some(c)) => c,
                (None, None) => {
                    return Err(CliError::usage(
                        "say which client the seller belongs to: --client-code ACME (or client_code in --file)",
                    ));
                }
            };
            let region = match (&args.region, file.region) {
                (Some(r), _) => r.parse::<Region>().map_err(usage)?,
                (None, Some(r)) => r,
                (None, None) => {
                    return Err(CliError::usage(
                        "say which Amazon region the seller sells in: --region NA, EU or FE (or region in --file)",
                    ));
                }
            };
            let marketplaces = if args.marketplaces.is_empty() {
                file.marketplaces
            } else {
                args.marketplaces
                    .iter()
                    .map(|m| MarketplaceId::new(m.trim()).map_err(usage))
                    .collect::<Result<Vec<_>, _>>()?
            };
            InviteRequest {
                client_code,
                region,
                marketplaces,
                settings: file.settings,
                seller: None,
                days: args.days,
            }
        }
    };
    let invited = invite(ctx.store(), request, &args.url, ctx.clock.now())
        .await
        .map_err(|e| match e {
            AdminError::Settings(m) => CliError::usage(m),
            other => other.into(),
        })?;
    let inv = &invited.invitation;
    let markets: Vec<&str> = inv.marketplaces.iter().map(|m| m.as_str()).collect();
    let scope = if markets.is_empty() {
        format!("{}: every marketplace the seller sells in", inv.region)
    } else {
        format!("{}: {}", inv.region, markets.join(", "))
    };
    let who = match &inv.seller_id {
        Some(s) => format!("renewal for seller {s} (client {})", inv.client_code),
        None => format!("for client {}", inv.client_code),
    };
    console.line(format!(
        "Invitation {} {who} ({scope}), usable once until {}:",
        inv.id,
        inv.expires_at.format("%Y-%m-%d %H:%M UTC")
    ));
    console.line("");
    console.line(format!("  {}", invited.link));
    console.line("");
    console
        .line("Send this link to the seller. It is shown only now: the table keeps a hash of it.");
    console.json(&InviteOutput {
        id: &inv.id,
        client_code: inv.client_code.as_str(),
        region: inv.region.as_str(),
        marketplaces: markets.clone(),
        seller_id: inv.seller_id.as_ref().map(|s| s.as_str()),
        expires_at: inv.expires_at,
        link: &invited.link,
    })
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also the used and expired ones (kept a day after they expire).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Serialize)]
struct InvitationRow {
    id: String,
    client_code: String,
    region: String,
    seller_id: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// `open`, `used` or `expired`.
    state: &'static str,
    used_by: Option<String>,
}

/// `invitations`.
pub async fn list(args: ListArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let now = ctx.clock.now();
    let rows: Vec<InvitationRow> = ctx
        .store()
        .list_invitations()
        .await?
        .into_iter()
        .map(|i| {
            let state = if i.used.is_some() {
                "used"
            } else if now >= i.expires_at {
                "expired"
            } else {
                "open"
            };
            InvitationRow {
                id: i.id,
                client_code: i.client_code.to_string(),
                region: i.region.to_string(),
                seller_id: i.seller_id.map(|s| s.to_string()),
                created_at: i.created_at,
                expires_at: i.expires_at,
                state,
                used_by: i.used.map(|u| u.seller_id.to_string()),
            }
        })
        .filter(|r| args.all || r.state == "open")
        .collect();
    if rows.is_empty() {
        console.line(if args.all {
            "no invitations"
        } else {
            "no open invitations (--all shows used and expired ones)"
        });
    }
    console.table(
        &[
            "ID",
            "CLIENT",
            "REGION",
            "RENEWAL OF",
            "CREATED",
            "EXPIRES",
            "STATE",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.client_code.clone(),
                    r.region.clone(),
                    r.seller_id.clone().unwrap_or_else(|| "-".into()),
                    r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    r.expires_at.format("%Y-%m-%d %H:%M").to_string(),
                    match &r.used_by {
                        Some(s) => format!("used by {s}"),
                        None => r.state.to_string(),
                    },
                ]
            })
            .collect(),
    );
    console.json(&serde_json::json!({ "stage": ctx.deployment.stage, "invitations": rows }))
}
