//! The command tree: `connector-admin [--stage S] [--json] <command>`. A
//! command group is one module with its clap arguments and its `run`, and
//! one variant here (later groups — `notifications`, `golive`, `skus` —
//! add theirs the same way).

use clap::{Parser, Subcommand};

use crate::context::Context;
pub use crate::error::seller_id;
use crate::error::{CliError, EXIT_CODES};
use crate::output::Console;
use crate::{
    app, backfill, check, dlq, feeds, golive, invite, notifications, order, sellers, skus,
};

const ABOUT: &str = "Operate a WMS-Amazon connector deployment: sellers, consent checks, backfills, dead letters, order histories, feeds, SKU reconciliation, go-live checks";

const LONG_ABOUT: &str = "\
Operate one deployment (a Stage) of the WMS-Amazon connector.

Uses the AWS credentials and region of this shell. Endpoints come from the
same variables as the functions: AWS_ENDPOINT_URL (a local stack),
SPAPI_ENDPOINT and LWA_TOKEN_URL (together: the simulator or a proxy),
SPAPI_TIME_SCALE. The stage is --stage or CONNECTOR_STAGE.";

const AFTER_HELP: &str = "\
Examples:
  connector-admin --stage prod sellers
  connector-admin --stage prod check A1EXAMPLESELLER
  connector-admin --stage prod --json dlq list
  connector-admin --stage prod invite --url https://abc123.lambda-url.eu-west-1.on.aws --client-code ACME --region EU";

#[derive(Debug, Parser)]
#[command(
    name = "connector-admin",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = format!("{AFTER_HELP}\n\n{EXIT_CODES}"),
    propagate_version = true
)]
pub struct Cli {
    /// The deployment's Stage (template parameter): names its table, queues and secrets.
    #[arg(
        long,
        global = true,
        default_value = "prod",
        env = "CONNECTOR_STAGE",
        value_name = "STAGE"
    )]
    pub stage: String,
    /// Print one JSON document on standard output instead of tables (errors too).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every seller with its state: jobs, authorisation age and health, last pull and push, dead letters.
    #[command(after_help = sellers::LIST_EXAMPLES)]
    Sellers(sellers::ListArgs),
    /// Show, onboard (put), enable or disable one seller.
    #[command(subcommand)]
    Seller(sellers::SellerCommand),
    /// Call Amazon with a seller's token and say exactly what failed and what to do.
    #[command(after_help = check::EXAMPLES)]
    Check(check::CheckArgs),
    /// Pull a closed date range of a seller's orders again: only orders the WMS never got are sent.
    #[command(after_help = backfill::EXAMPLES)]
    Backfill(backfill::BackfillArgs),
    /// The dead-letter queues: list them, show their messages with reasons, replay them.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// An order's whole history from the table: seen, held, sent, cancelled, shipped, labels.
    #[command(after_help = order::EXAMPLES)]
    Order(order::OrderArgs),
    /// A seller's recent feeds (stock and shipments), their status and report errors.
    #[command(after_help = feeds::EXAMPLES)]
    Feeds(feeds::FeedsArgs),
    /// Invite a seller to connect itself (or renew its authorisation): prints a one-time link to the onboarding page.
    #[command(after_help = invite::EXAMPLES)]
    Invite(invite::InviteArgs),
    /// The invitations: open ones, or all with --all (who used them).
    #[command(after_help = invite::LIST_EXAMPLES)]
    Invitations(invite::ListArgs),
    /// The application's own LWA client secret: its age, and rotating it.
    #[command(subcommand)]
    App(app::AppCommand),
    /// The seller's Amazon listings against the WMS's SKUs: reconcile now, or the last report.
    #[command(subcommand)]
    Skus(skus::SkusCommand),
    /// The go-live checklist: authorisation and roles, orders and stock dry runs, a test label.
    #[command(after_help = golive::EXAMPLES)]
    Golive(golive::GoliveArgs),
    /// Amazon's ORDER_CHANGE notifications: set the destination up, subscribe sellers, show their state.
    #[command(subcommand)]
    Notifications(notifications::NotificationsCommand),
}

/// Runs one command against `ctx`, writing to `console`.
pub async fn run(command: Command, ctx: &Context, console: &Console) -> Result<(), CliError> {
    match command {
        Command::Sellers(args) => sellers::list(args, ctx, console).await,
        Command::Seller(command) => sellers::run(command, ctx, console).await,
        Command::Check(args) => check::run(args, ctx, console).await,
        Command::Backfill(args) => backfill::run(args, ctx, console).await,
        Command::Dlq(command) => dlq::run(command, ctx, console).await,
        Command::Order(args) => order::run(args, ctx, console).await,
        Command::Feeds(args) => feeds::run(args, ctx, console).await,
        Command::Invite(args) => invite::run(args, ctx, console).await,
        Command::Invitations(args) => invite::list(args, ctx, console).await,
        Command::App(command) => app::run(command, ctx, console).await,
        Command::Skus(command) => skus::run(command, ctx, console).await,
        Command::Golive(args) => golive::run(args, ctx, console).await,
        Command::Notifications(command) => notifications::run(command, ctx, console).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every `connector-admin ...` example line in any command's help.
    fn help_examples() -> Vec<String> {
        fn walk(cmd: &mut clap::Command, out: &mut Vec<String>) {
            let help = cmd.render_long_help().to_string();
            out.extend(
                help.lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("connector-admin "))
                    .map(str::to_string),
            );
            for sub in cmd.get_subcommands_mut() {
                walk(sub, out);
            }
        }
        let mut out = Vec::new();
        walk(&mut Cli::command(), &mut out);
        out
    }

    /// Every `connector-admin ...` command in `text`: lines of code blocks
    /// (a leading `$ ` dropped) and inline code spans, shell redirections cut.
    pub(crate) fn commands_in(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut fenced = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if fenced {
                let l = line.trim().trim_start_matches("$ ");
                if l.starts_with("connector-admin") {
                    out.push(l.to_string());
                }
                continue;
            }
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 1 && span.starts_with("connector-admin ") {
                    out.push(span.to_string());
                }
            }
        }
        out.into_iter()
            .map(|c| c.split(" < ").next().unwrap_or_default().trim().to_string())
            .collect()
    }

    #[track_caller]
    fn assert_parses(command: &str, origin: &str) {
        let words: Vec<&str> = command.split_whitespace().collect();
        match Cli::try_parse_from(&words) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) => {}
            Err(e) => panic!("{origin}: `{command}` does not parse:\n{e}"),
        }
    }

    /// A README line that no longer parses fails here (and the tests run the
    /// README's onboarding, operate and troubleshooting lines against the
    /// local stack: tests/it/readme.rs).
    #[test]
    fn every_connector_admin_line_of_the_readme_parses() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
        )
        .unwrap();
        let commands = commands_in(&readme);
        assert!(commands.len() >= 15, "{commands:#?}");
        for c in &commands {
            assert_parses(c, "README.md");
        }
    }

    /// Hints printed by the functions and libraries name commands that exist.
    #[test]
    fn every_hint_in_the_code_names_a_command_that_parses() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    if !p.ends_with("target") {
                        walk(&p, out);
                    }
                } else if p.extension().is_some_and(|e| e == "rs") {
                    out.push(p);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in ["functions", "shared", "infra"] {
            walk(&root.join(dir), &mut files);
        }
        let mut hints = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for line in text.lines() {
                for (i, span) in line.split('`').enumerate() {
                    // A synopsis (`[--stage S] <command>`) is not a command.
                    let synopsis = span.contains('<') || span.contains('[') || span.contains("...");
                    if i % 2 == 1 && span.starts_with("connector-admin ") && !synopsis {
                        // `format!` placeholders stand for a seller id.
                        let mut command = String::new();
                        let mut depth = 0;
                        for ch in span.chars() {
                            match ch {
                                '{' => {
                                    depth += 1;
                                    if depth == 1 {
                                        command.push_str("A1EXAMPLESELLER");
                                    }
                                }
                                '}' => depth -= 1,
                                c if depth == 0 => command.push(c),
                                _ => {}
                            }
                        }
                        let command = command.split(" < ").next().unwrap_or_default();
                        assert_parses(command, &f.display().to_string());
                        hints += 1;
                    }
                }
            }
        }
        assert!(hints >= 10, "only {hints} hints found");
    }

    #[test]
    fn the_tree_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_help_with_an_example_that_parses() {
        fn leaves(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
            if cmd.get_subcommands().count() == 0 {
                out.push((path.clone(), cmd.clone()));
            }
            for sub in cmd.get_subcommands() {
                leaves(sub, format!("{path} {}", sub.get_name()), out);
            }
        }
        let mut all = Vec::new();
        for sub in Cli::command().get_subcommands() {
            leaves(sub, sub.get_name().to_string(), &mut all);
        }
        let examples = help_examples();
        for (path, mut cmd) in all {
            assert!(cmd.get_about().is_some(), "{path} has no help text");
            let help = cmd.render_long_help().to_string();
            assert!(
                help.contains(&format!("connector-admin {path}"))
                    || examples
                        .iter()
                        .any(|e| e.contains(&format!(" {path} "))
                            || e.ends_with(&format!(" {path}"))),
                "{path} has no example:\n{help}"
            );
        }
        assert!(examples.len() >= 12, "{examples:#?}");
        for line in examples {
            // Shell redirections are not arguments.
            let line = line.split(" < ").next().unwrap_or_default();
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Err(e) = Cli::try_parse_from(&words) {
                panic!("the help example `{line}` does not parse: {e}");
            }
        }
    }
}
