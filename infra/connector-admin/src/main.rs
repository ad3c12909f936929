//! `connector-admin`: onboard and manage sellers of one deployment (stage).
//! Uses the standard AWS credential chain (and `AWS_ENDPOINT_URL` for a local
//! stack). The refresh token is read from standard input, never from an
//! argument (arguments end up in shell history and process lists).

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use connector_admin::{Admin, Deployment};
use domain::SellerId;

#[derive(Parser)]
#[command(about = "Onboard and manage the sellers of a connector deployment")]
struct Cli {
    /// The deployment's Stage (template parameter): names the table and secrets.
    #[arg(long, default_value = "prod", env = "CONNECTOR_STAGE")]
    stage: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or update a seller from a settings JSON file; with
    /// --refresh-token-stdin, also store its refresh token.
    Put {
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long)]
        refresh_token_stdin: bool,
    },
    /// Print a seller's settings (JSON; no secret values).
    Show {
        seller_id: String,
    },
    /// List every seller.
    List,
    Enable {
        seller_id: String,
    },
    Disable {
        seller_id: String,
    },
    /// Call Amazon with the seller's token (getMarketplaceParticipations).
    Check {
        seller_id: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn seller(id: &str) -> Result<SellerId, Box<dyn std::error::Error>> {
    Ok(SellerId::new(id)?)
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let sdk = lambda_kit::aws_config().await;
    let admin = Admin::new(&sdk, Deployment::for_stage(&cli.stage));
    match cli.command {
        Command::Put {
            file,
            refresh_token_stdin,
        } => {
            let json = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let settings = admin.parse_settings(&json)?;
            let token = if refresh_token_stdin {
                let mut token = String::new();
                std::io::stdin().read_to_string(&mut token)?;
                Some(token)
            } else {
                None
            };
            let stored = admin.put_seller(settings, token.as_deref()).await?;
            println!(
                "seller {} stored (refresh token secret {})",
                stored.seller_id, stored.refresh_token_secret
            );
        }
        Command::Show { seller_id } => {
            let s = admin.get_seller(&seller(&seller_id)?).await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        Command::List => {
            for s in admin.list().await? {
                println!(
                    "{:<16} {:<12} {:<8} {}",
                    s.seller_id,
                    s.client_code,
                    if s.enabled { "enabled" } else { "disabled" },
                    if s.authorized {
                        "authorized"
                    } else {
                        "AUTHORIZATION BROKEN"
                    }
                );
            }
        }
        Command::Enable { seller_id } => admin.set_enabled(&seller(&seller_id)?, true).await?,
        Command::Disable { seller_id } => admin.set_enabled(&seller(&seller_id)?, false).await?,
        Command::Check { seller_id } => {
            let ids = admin
                .check(&seller(&seller_id)?, spapi::ClientConfig::default())
                .await?;
            println!("consent works; marketplaces: {}", ids.join(", "));
        }
    }
    Ok(())
}
