//! A `moto_server` child process on 127.0.0.1 (DynamoDB, SQS, Secrets
//! Manager), and the SDK configuration that reaches it. On Linux the child is
//! killed when the process that started it dies (`PR_SET_PDEATHSIG`), so an
//! aborted test run leaves no server behind.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::DevstackError;

/// A running moto server; dropping it kills the process.
pub struct MotoServer {
    child: Child,
    port: u16,
}

/// How to start moto: a program and the arguments before `-H`/`-p`.
#[derive(Clone, Debug)]
pub struct MotoCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// moto as `infra/setup.sh` installs it, behind `infra/moto_serial.py` (one
/// request at a time, so conditional writes are atomic as in DynamoDB);
/// `MOTO_SERVER` may name another `moto_server`-compatible executable.
pub fn default_moto_command(workspace_root: &Path) -> MotoCommand {
    match std::env::var_os("MOTO_SERVER") {
        Some(program) => MotoCommand {
            program: PathBuf::from(program),
            args: Vec::new(),
        },
        None => MotoCommand {
            program: workspace_root.join(".venv/bin/python"),
            args: vec![
                workspace_root
                    .join("infra/moto_serial.py")
                    .display()
                    .to_string(),
            ],
        },
    }
}

impl MotoServer {
    /// Starts moto on a free port and waits until it answers (at most 30 s).
    pub fn start(command: &MotoCommand) -> Result<Self, DevstackError> {
        if !command.program.exists() {
            return Err(DevstackError::MotoMissing(
                command.program.display().to_string(),
            ));
        }
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let mut cmd = Command::new(&command.program);
            cmd.args(&command.args)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            die_with_parent(&mut cmd);
            let child = cmd
                .spawn()
                .map_err(|e| DevstackError::Moto(e.to_string()))?;
            let mut server = MotoServer { child, port };
            match server.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return Ok(server),
                Err(e) => last = e.to_string(),
            }
        }
        Err(DevstackError::Moto(format!("moto did not start: {last}")))
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), DevstackError> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(DevstackError::Moto(format!("moto exited with {status}")));
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(DevstackError::Moto(format!(
            "moto did not listen on port {} within {limit:?}",
            self.port
        )))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, DevstackError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| DevstackError::Moto(e.to_string()))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DevstackError::Moto(e.to_string()))
}

/// The child is killed when the thread that spawned it ends
/// (`PR_SET_PDEATHSIG`), so an aborted run leaves no process behind.
#[cfg(target_os = "linux")]
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child's own state.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub fn die_with_parent(_cmd: &mut Command) {}

/// The SDK configuration for a local endpoint: fixed dummy credentials and
/// region, the endpoint as `AWS_ENDPOINT_URL` would set it.
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .test_credentials()
        .load()
        .await
}
