//! The functions' binaries, built by cargo and found where cargo put them.
//!
//! A test cannot rely on `cargo test` having built them: `cargo test -p
//! tests` builds no other package's binaries, and `cargo test --workspace`
//! builds them with the features the whole workspace unifies (dev-
//! dependencies included), so which copy is in `target/debug` depends on the
//! last command run. So [`Binaries::build`] always runs the same `cargo
//! build -p <each function> --bins` (once per test process): a no-op when
//! they are fresh (`infra/test.sh` runs it before the tests, so the build's
//! output is visible there), and the paths come from cargo's own report
//! (`--message-format=json`), never guessed. Nested cargo is safe: `cargo
//! test` releases the build lock before it runs the test binaries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::EmuError;

/// The binaries of the template's functions, plus the hello-world reference.
pub const PACKAGES: [&str; 8] = [
    "order-pull",
    "shipment-confirm",
    "inventory-push",
    "labels",
    "onboarding",
    "credentials",
    "notifications",
    "hello-lambda",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildProfile {
    Debug,
    Release,
}

/// Built executables by binary name.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub paths: BTreeMap<String, PathBuf>,
}

impl Binaries {
    pub fn get(&self, name: &str) -> Result<&Path, EmuError> {
        self.paths.get(name).map(PathBuf::as_path).ok_or_else(|| {
            EmuError::Build(format!(
                "cargo reported no binary {name} (built: {:?})",
                self.paths.keys().collect::<Vec<_>>()
            ))
        })
    }

    /// `cargo build [--release] -p <packages> --bins` in the workspace,
    /// with `env` added (e.g. a build-time switch) and an optional target
    /// directory (so two variants do not overwrite each other).
    pub fn build(
        profile: BuildProfile,
        packages: &[&str],
        target_dir: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Result<Self, EmuError> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(devstack::workspace_root())
            .arg("build")
            .arg("--message-format=json-render-diagnostics");
        if profile == BuildProfile::Release {
            cmd.arg("--release");
        }
        for p in packages {
            cmd.args(["-p", p]);
        }
        cmd.arg("--bins");
        if let Some(dir) = target_dir {
            cmd.arg("--target-dir").arg(dir);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .map_err(|e| EmuError::Build(format!("cannot run cargo: {e}")))?;
        if !out.status.success() {
            return Err(EmuError::Build(format!(
                "cargo build exited with {}:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let mut paths = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if msg["reason"] != "compiler-artifact" {
                continue;
            }
            if let (Some(exe), Some(name)) =
                (msg["executable"].as_str(), msg["target"]["name"].as_str())
            {
                paths.insert(name.to_string(), PathBuf::from(exe));
            }
        }
        Ok(Self { paths })
    }

    /// The debug binaries of every function (and the hello-world), built
    /// once per process.
    pub fn debug() -> Result<&'static Binaries, EmuError> {
        static BUILT: std::sync::OnceLock<Result<Binaries, String>> = std::sync::OnceLock::new();
        BUILT
            .get_or_init(|| {
                Binaries::build(BuildProfile::Debug, &PACKAGES, None, &[])
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| EmuError::Build(e.clone()))
    }
}
