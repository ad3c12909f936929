//! The operator CLI run in-process as its binary runs it — a command line
//! parsed by its clap parser, then `connector_admin::run` — against a test
//! stack (moto, the simulator) on the simulator's clock, with standard
//! input, output and error captured.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use connector_admin::sellers::SellerCommand;
use connector_admin::{Cli, Command, Console, Context};
use lambda_kit::spapi_env::SpApiEnv;
use serde_json::Value;
use store::Clock;

use crate::pull::{PullRig, SimClock};

/// What one command line did.
#[derive(Debug)]
pub struct Outcome {
    pub line: String,
    /// The process's exit code.
    pub code: u8,
    pub out: String,
    pub err: String,
}

impl Outcome {
    /// The `--json` document on standard output.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}):\n{}", self.line, self.out))
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "`{}` failed:\nstdout: {}\nstderr: {}",
            self.line, self.out, self.err
        );
        self
    }
}

/// A command line split into words: a leading `cargo run ... --` is
/// dropped, `< FILE` becomes standard input.
pub struct Line {
    pub words: Vec<String>,
    pub stdin_file: Option<String>,
}

pub fn split(line: &str) -> Line {
    let line = line.trim().trim_start_matches("$ ");
    let line = match line.find("connector-admin") {
        Some(i) => &line[i..],
        None => line,
    };
    let (command, stdin_file) = match line.split_once(" < ") {
        Some((c, f)) => (c, Some(f.trim().to_string())),
        None => (line, None),
    };
    let mut words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    // `connector-admin -- ...` (after `cargo run -p connector-admin`).
    if words.get(1).map(String::as_str) == Some("--") {
        words.remove(1);
    }
    if let Some(first) = words.first_mut() {
        *first = "connector-admin".into();
    }
    Line { words, stdin_file }
}

/// The CLI against one test stack.
pub struct AdminRig {
    pub pull: PullRig,
    pub ctx: Context,
    /// Where relative `--file` paths and `< FILE` inputs are read from.
    pub files: PathBuf,
}

impl AdminRig {
    pub async fn new(name: &str) -> Self {
        let pull = PullRig::new(name, 1000.0).await;
        let files = std::env::temp_dir().join(format!("connector-admin-{}", pull.stack.stage));
        std::fs::create_dir_all(&files).expect("a fixture directory");
        let ctx = Self::context(
            &pull,
            Some(pull.sim.base_url()),
            Some(pull.sim.lwa_token_url()),
        );
        Self { pull, ctx, files }
    }

    /// A context with other SP-API endpoints (`None`: Amazon's).
    pub fn context(pull: &PullRig, spapi: Option<String>, lwa: Option<String>) -> Context {
        let clock: Arc<dyn Clock> = Arc::new(SimClock(pull.sim.control().clone()));
        let env = SpApiEnv {
            endpoint: spapi,
            lwa_token_url: lwa,
            time_scale: 1000.0,
        };
        Context::new(pull.stack.sdk.clone(), &pull.stack.stage, &env, clock)
            .expect("the CLI's context")
    }

    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.files.join(name);
        std::fs::write(&path, text).expect("write a fixture");
        path
    }

    /// Parses `line` exactly as the binary would; the parsed `--stage` must
    /// be given, but the command runs against this rig's stage.
    pub fn parse(&self, line: &str) -> (Cli, String) {
        let Line { words, stdin_file } = split(line);
        let mut cli =
            Cli::try_parse_from(&words).unwrap_or_else(|e| panic!("`{line}` does not parse: {e}"));
        if let Command::Seller(SellerCommand::Put(args)) = &mut cli.command
            && let Some(file) = &args.file
            && file.is_relative()
        {
            args.file = Some(self.files.join(file));
        }
        if let Command::Golive(args) = &mut cli.command {
            args.relative_to(&self.files);
        }
        let stdin = stdin_file
            .map(|f| {
                std::fs::read_to_string(self.files.join(Path::new(&f)))
                    .unwrap_or_else(|e| panic!("`{line}` reads {f}: {e}"))
            })
            .unwrap_or_default();
        (cli, stdin)
    }

    /// Runs `line` with standard input `stdin` (unless the line redirects it).
    pub async fn run(&self, line: &str) -> Outcome {
        self.run_in(&self.ctx, line, "").await
    }

    pub async fn run_with_input(&self, line: &str, input: &str) -> Outcome {
        self.run_in(&self.ctx, line, input).await
    }

    pub async fn run_in(&self, ctx: &Context, line: &str, input: &str) -> Outcome {
        let (cli, redirected) = self.parse(line);
        let stdin = if redirected.is_empty() {
            input.to_string()
        } else {
            redirected
        };
        run_parsed(cli, ctx, line, &stdin).await
    }
}

/// Runs a command line against `ctx` (any rig's stack), as the binary does.
pub async fn run_line(ctx: &Context, line: &str) -> Outcome {
    let cli = Cli::try_parse_from(split(line).words)
        .unwrap_or_else(|e| panic!("`{line}` does not parse: {e}"));
    run_parsed(cli, ctx, line, "").await
}

/// Runs a parsed command line against `ctx`, as the binary does.
pub async fn run_parsed(cli: Cli, ctx: &Context, line: &str, stdin: &str) -> Outcome {
    let (console, captured) = Console::capture(cli.json, stdin);
    let code = match connector_admin::run(cli.command, ctx, &console).await {
        Ok(()) => 0,
        Err(e) => {
            console.error(&e);
            e.exit_code()
        }
    };
    Outcome {
        line: line.to_string(),
        code,
        out: captured.out(),
        err: captured.err(),
    }
}

impl Drop for AdminRig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

/// The CLI's context for any test stack and simulator (on the simulator's clock).
pub fn context_for(stack: &crate::moto::TestStack, sim: &crate::sim::SimHandle) -> Context {
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.control().clone()));
    let env = SpApiEnv {
        endpoint: Some(sim.base_url()),
        lwa_token_url: Some(sim.lwa_token_url()),
        time_scale: 1000.0,
    };
    Context::new(stack.sdk.clone(), &stack.stage, &env, clock).expect("the CLI's context")
}
