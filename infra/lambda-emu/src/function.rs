//! One function as Lambda runs it: at most one container (process) at a
//! time, one invocation at a time, the container kept warm (and frozen)
//! between invocations, replaced after a timeout, a crash or a kill.

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::api::{ApiEvent, Delivery, RuntimeApi};
use crate::env::FunctionSpec;
use crate::{EmuError, FunctionError};

/// When to `SIGKILL` the process during an invocation (then the next
/// invocation starts a fresh one, as Lambda does after a crash).
pub enum Kill {
    /// This long after the event was handed to the process.
    After(Duration),
    /// When this future resolves (e.g. a [`crate::Tap`] rule fired: an
    /// outbound call was just made or just answered).
    When(Pin<Box<dyn Future<Output = ()> + Send>>),
}

impl Kill {
    pub fn when(f: impl Future<Output = ()> + Send + 'static) -> Self {
        Kill::When(Box::pin(f))
    }
}

/// Options of one invocation.
#[derive(Default)]
pub struct InvokeOptions {
    pub kill: Option<Kill>,
    /// This invocation's timeout instead of the template's (a fault soak
    /// times a function out without waiting its 15 minutes): the deadline
    /// the function is given and the moment it is cut off.
    pub timeout: Option<Duration>,
}

impl InvokeOptions {
    /// Killed when `kill` says.
    pub fn kill(kill: Kill) -> Self {
        Self {
            kill: Some(kill),
            timeout: None,
        }
    }
}

/// How an invocation ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The function's response (`/response`).
    Response(Vec<u8>),
    /// The function reported an error (`/error`).
    Error(FunctionError),
    /// The timeout passed: the process was killed ("Task timed out").
    TimedOut(Duration),
    /// Killed on cue ([`Kill`]).
    Killed,
    /// The process exited during the invocation.
    Crashed(String),
    /// The container never got ready (`/init/error`, exit before `/next`,
    /// or init longer than Lambda's 10 s).
    InitFailed(InitFailure),
}

/// Why a container did not start.
#[derive(Clone, Debug)]
pub struct InitFailure {
    /// The error object Lambda reports (`Runtime.ExitError`, the type posted
    /// to `/init/error`, or `Runtime.InitTimeout`...).
    pub error: FunctionError,
    /// The process's exit, when it exited.
    pub exit: Option<String>,
    /// Its last log lines (stdout and stderr), which say why.
    pub log_tail: Vec<String>,
}

impl std::fmt::Display for InitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (last log lines: {})",
            self.error.error_type,
            self.error.error_message,
            self.log_tail.join(" | ")
        )
    }
}

/// One finished invocation.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// A new process was started for it.
    pub cold_start: bool,
    /// Process start to its first `GET /next`, on a cold start.
    pub init_duration: Option<Duration>,
    /// Event handed over to outcome.
    pub duration: Duration,
    /// The process that handled it.
    pub pid: Option<u32>,
}

impl Invocation {
    /// The response as JSON, when the function answered.
    pub fn response(&self) -> Option<Value> {
        match &self.outcome {
            Outcome::Response(body) => serde_json::from_slice(body).ok(),
            _ => None,
        }
    }

    /// The error object Lambda's Invoke API returns for anything but a
    /// response: the function's own, or Lambda's for a timeout, a crash, a
    /// kill or a failed init.
    pub fn error(&self) -> Option<FunctionError> {
        let exit = |why: &str| {
            FunctionError::new(
                "Runtime.ExitError",
                format!(
                    "RequestId: {} Error: Runtime exited with error: {why}",
                    self.request_id
                ),
            )
        };
        match &self.outcome {
            Outcome::Response(_) => None,
            Outcome::Error(e) => Some(e.clone()),
            Outcome::TimedOut(after) => Some(FunctionError::new(
                "Sandbox.Timedout",
                format!(
                    "{} {} Task timed out after {:.2} seconds",
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    self.request_id,
                    after.as_secs_f64()
                ),
            )),
            Outcome::Killed => Some(exit("signal: killed")),
            Outcome::Crashed(status) => Some(exit(status)),
            Outcome::InitFailed(f) => Some(f.error.clone()),
        }
    }

    /// What Lambda's Invoke API returns: the response, or the error object.
    pub fn payload(&self) -> Value {
        match (&self.outcome, self.error()) {
            (Outcome::Response(body), _) => serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
            (_, Some(e)) => e.to_json(),
            (_, None) => Value::Null,
        }
    }

    /// The response, or the error object's text: the shape devstack's SQS
    /// event source expects of a handler.
    pub fn into_result(self) -> Result<Value, String> {
        match self.response() {
            Some(v) => Ok(v),
            None => Err(self.payload().to_string()),
        }
    }
}

/// One line a process wrote.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// Which container (1 = the first process of this function).
    pub container: u32,
    pub stderr: bool,
    pub text: String,
}

struct Container {
    child: Child,
    pid: Option<u32>,
    api: RuntimeApi,
    number: u32,
    frozen: bool,
    readers: Vec<JoinHandle<()>>,
}

struct State {
    container: Option<Container>,
    containers_started: u32,
}

/// A function in the local Lambda.
pub struct Function {
    spec: FunctionSpec,
    state: Mutex<State>,
    logs: Arc<StdMutex<Vec<LogLine>>>,
    /// The largest `VmHWM` of any of its processes, read after each
    /// invocation (before a process is replaced too).
    max_rss_kib: std::sync::atomic::AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

fn signal(pid: Option<u32>, sig: libc::c_int) {
    if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

impl Function {
    pub fn new(spec: FunctionSpec) -> Self {
        Self {
            spec,
            state: Mutex::new(State {
                container: None,
                containers_started: 0,
            }),
            logs: Arc::new(StdMutex::new(Vec::new())),
            max_rss_kib: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Every line the function's processes wrote so far.
    pub fn logs(&self) -> Vec<LogLine> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The log lines as one text (for assertions and failure messages).
    pub fn log_text(&self) -> String {
        self.logs()
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// How many processes were started (cold starts).
    pub async fn containers_started(&self) -> u32 {
        self.state.lock().await.containers_started
    }

    /// The running container's pid.
    pub async fn pid(&self) -> Option<u32> {
        self.state
            .lock()
            .await
            .container
            .as_ref()
            .and_then(|c| c.pid)
    }

    /// The running container's peak resident memory (`VmHWM`), in KiB.
    pub async fn peak_rss_kib(&self) -> Option<u64> {
        vm_hwm_kib(self.pid().await?)
    }

    /// The largest peak resident memory (`VmHWM`, KiB) of every process this
    /// function ran so far, read at the end of each invocation (a process
    /// that was killed or timed out is read just before it goes).
    pub fn max_peak_rss_kib(&self) -> u64 {
        self.max_rss_kib.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn sample_rss(&self, pid: Option<u32>) {
        if let Some(kib) = pid.and_then(vm_hwm_kib) {
            self.max_rss_kib
                .fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Starts a container now if none runs (a cold start outside an
    /// invocation: the bench measures init this way). Returns its init time.
    pub async fn start(&self) -> Result<Result<Duration, InitFailure>, EmuError> {
        let mut state = self.state.lock().await;
        if state.container.is_some() {
            return Ok(Ok(Duration::ZERO));
        }
        self.start_container(&mut state).await
    }

    /// Kills the running container (as Lambda recycles one); the next
    /// invocation starts a fresh process.
    pub async fn stop(&self) {
        let mut state = self.state.lock().await;
        if let Some(c) = state.container.take() {
            Self::teardown(c).await;
        }
    }

    /// Invokes the function with `event` and waits for the outcome.
    pub async fn invoke(&self, event: &Value) -> Result<Invocation, EmuError> {
        self.invoke_with(event, InvokeOptions::default()).await
    }

    pub async fn invoke_with(
        &self,
        event: &Value,
        options: InvokeOptions,
    ) -> Result<Invocation, EmuError> {
        let mut state = self.state.lock().await;
        let request_id = uuid::Uuid::new_v4().to_string();
        let cold_start = state.container.is_none();
        let mut init_duration = None;
        if cold_start {
            match self.start_container(&mut state).await? {
                Ok(d) => init_duration = Some(d),
                Err(failure) => {
                    return Ok(Invocation {
                        request_id,
                        outcome: Outcome::InitFailed(failure),
                        cold_start,
                        init_duration: None,
                        duration: Duration::ZERO,
                        pid: None,
                    });
                }
            }
        }
        let Some(mut container) = state.container.take() else {
            return Err(EmuError::Io("no container after start".into()));
        };
        if container.frozen {
            signal(container.pid, libc::SIGCONT);
            container.frozen = false;
        }
        let body = serde_json::to_vec(event).map_err(|e| EmuError::Io(e.to_string()))?;
        let started = Instant::now();
        let timeout = options.timeout.unwrap_or(self.spec.timeout);
        let deadline = tokio::time::Instant::now() + timeout;
        let delivery = Delivery {
            request_id: request_id.clone(),
            deadline_ms: now_ms() + u64::try_from(timeout.as_millis()).unwrap_or(0),
            function_arn: self.spec.arn(),
            trace_id: format!(
                "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
                now_ms() / 1000,
                fastrand::u128(..) >> 32,
                fastrand::u64(..)
            ),
            body,
        };
        let pid = container.pid;
        if container.api.deliver.send(delivery).await.is_err() {
            Self::teardown(container).await;
            return Err(EmuError::Io("the Runtime API stopped".into()));
        }
        let mut kill = options.kill;
        let kill_fut = async {
            match kill.take() {
                None => std::future::pending::<()>().await,
                Some(Kill::After(d)) => tokio::time::sleep(d).await,
                Some(Kill::When(f)) => f.await,
            }
        };
        tokio::pin!(kill_fut);
        enum End {
            Keep(Outcome),
            Replace(Outcome),
        }
        let end = loop {
            tokio::select! {
                ev = container.api.events.recv() => match ev {
                    Some(ApiEvent::Response { request_id: id, body }) if id == request_id => {
                        break End::Keep(Outcome::Response(body));
                    }
                    Some(ApiEvent::Error { request_id: id, error }) if id == request_id => {
                        break End::Keep(Outcome::Error(error));
                    }
                    Some(ApiEvent::InitError(e)) => break End::Replace(Outcome::Error(e)),
                    Some(_) => {}
                    None => break End::Replace(Outcome::Crashed("the Runtime API stopped".into())),
                },
                status = container.child.wait() => {
                    let why = match status {
                        Ok(s) => describe_exit(s),
                        Err(e) => e.to_string(),
                    };
                    break End::Replace(Outcome::Crashed(why));
                }
                _ = tokio::time::sleep_until(deadline) => {
                    break End::Replace(Outcome::TimedOut(timeout));
                }
                _ = &mut kill_fut => break End::Replace(Outcome::Killed),
            }
        };
        let duration = started.elapsed();
        self.sample_rss(container.pid);
        let outcome = match end {
            End::Keep(outcome) => {
                if self.spec.freeze {
                    signal(container.pid, libc::SIGSTOP);
                    container.frozen = true;
                }
                state.container = Some(container);
                outcome
            }
            End::Replace(outcome) => {
                if let Outcome::TimedOut(after) = &outcome {
                    self.note(
                        container.number,
                        format!(
                            "[lambda-emu] RequestId: {request_id} Task timed out after {:.2} seconds",
                            after.as_secs_f64()
                        ),
                    );
                }
                Self::teardown(container).await;
                outcome
            }
        };
        Ok(Invocation {
            request_id,
            outcome,
            cold_start,
            init_duration,
            duration,
            pid,
        })
    }

    fn note(&self, container: u32, text: String) {
        if self.spec.echo_logs {
            eprintln!("[{}#{container}] {text}", self.spec.name);
        }
        self.logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(LogLine {
                container,
                stderr: true,
                text,
            });
    }

    /// Spawns a process with the function's environment and waits for its
    /// first `GET /next` (Ok: the init time) or its failure.
    async fn start_container(
        &self,
        state: &mut State,
    ) -> Result<Result<Duration, InitFailure>, EmuError> {
        let api = RuntimeApi::start().await?;
        state.containers_started += 1;
        let number = state.containers_started;
        let stream = format!(
            "{}/[$LATEST]{:032x}",
            chrono::Utc::now().format("%Y/%m/%d"),
            fastrand::u128(..)
        );
        let mut cmd = Command::new(&self.spec.binary);
        cmd.env_clear()
            .envs(&self.spec.env)
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_LOG_STREAM_NAME", stream)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = self.spec.binary.parent() {
            cmd.current_dir(dir);
        }
        // Dies with the thread that started it, so an aborted test leaves no
        // function behind.
        devstack::moto::die_with_parent(cmd.as_std_mut());
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| EmuError::Spawn {
            binary: self.spec.binary.display().to_string(),
            message: e.to_string(),
        })?;
        let pid = child.id();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(self.read_lines(out, number, false));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(self.read_lines(err, number, true));
        }
        let mut container = Container {
            child,
            pid,
            api,
            number,
            frozen: false,
            readers,
        };
        let limit = tokio::time::sleep(self.spec.init_timeout);
        tokio::pin!(limit);
        let failure = loop {
            tokio::select! {
                ev = container.api.events.recv() => match ev {
                    Some(ApiEvent::Next) => {
                        let init = started.elapsed();
                        state.container = Some(container);
                        return Ok(Ok(init));
                    }
                    Some(ApiEvent::InitError(error)) => break (error, None),
                    Some(_) => {}
                    None => break (FunctionError::new("Runtime.Unknown", "the Runtime API stopped"), None),
                },
                status = container.child.wait() => {
                    let why = match status {
                        Ok(s) => describe_exit(s),
                        Err(e) => e.to_string(),
                    };
                    break (
                        FunctionError::new(
                            "Runtime.ExitError",
                            format!("Error: Runtime exited with error: {why}"),
                        ),
                        Some(why),
                    );
                }
                _ = &mut limit => {
                    break (
                        FunctionError::new(
                            "Runtime.InitTimeout",
                            format!(
                                "Init did not finish in {:.2} seconds (no GET /next)",
                                self.spec.init_timeout.as_secs_f64()
                            ),
                        ),
                        None,
                    );
                }
            }
        };
        Self::teardown(container).await;
        let log_tail: Vec<String> = {
            let logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
            let mine: Vec<&LogLine> = logs.iter().filter(|l| l.container == number).collect();
            mine.iter()
                .skip(mine.len().saturating_sub(20))
                .map(|l| l.text.clone())
                .collect()
        };
        Ok(Err(InitFailure {
            error: failure.0,
            exit: failure.1,
            log_tail,
        }))
    }

    fn read_lines(
        &self,
        pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
        container: u32,
        stderr: bool,
    ) -> JoinHandle<()> {
        let logs = self.logs.clone();
        let echo = self.spec.echo_logs.then(|| self.spec.name.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                if let Some(name) = &echo {
                    eprintln!("[{name}#{container}] {text}");
                }
                logs.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(LogLine {
                        container,
                        stderr,
                        text,
                    });
            }
        })
    }

    /// SIGKILL (works on a frozen process too), reap, stop its Runtime API,
    /// and let the log readers drain what the process wrote.
    async fn teardown(mut c: Container) {
        let _ = c.child.start_kill();
        let _ = c.child.wait().await;
        drop(c.api);
        for r in c.readers {
            let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
        }
    }
}

/// `VmHWM` of a live process (a frozen one too), in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(libc::SIGKILL)) => "signal: killed".into(),
        (None, Some(sig)) => format!("signal: {sig}"),
        _ => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn hello() -> Function {
        let bins = tokio::task::spawn_blocking(crate::Binaries::debug)
            .await
            .unwrap()
            .unwrap();
        let binary = bins.get("hello-lambda").unwrap().to_path_buf();
        Function::new(FunctionSpec::bare(
            "hello-lambda",
            binary,
            128,
            Duration::from_secs(3),
        ))
    }

    fn process_state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(") ").next()?.chars().next()
    }

    #[tokio::test]
    async fn warm_between_invocations_frozen_while_idle() {
        let f = hello().await;
        let a = f.invoke(&json!({})).await.unwrap();
        assert_eq!(a.response(), Some(json!({"hello": "world"})));
        assert!(a.cold_start && a.init_duration.is_some());
        let pid = a.pid.unwrap();
        // SIGSTOP takes effect asynchronously: wait for the kernel to show it.
        let mut state = None;
        for _ in 0..200 {
            state = process_state(pid);
            if state == Some('T') {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(state, Some('T'), "frozen (SIGSTOP) while idle");
        let b = f.invoke(&json!({})).await.unwrap();
        assert!(!b.cold_start);
        assert_eq!(b.pid, Some(pid));
        assert_eq!(f.containers_started().await, 1);
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let env = String::from_utf8_lossy(&env);
        assert!(env.contains("AWS_LAMBDA_RUNTIME_API=127.0.0.1:"));
        assert!(env.contains("AWS_LAMBDA_LOG_STREAM_NAME="));
        assert!(
            !env.contains("CARGO"),
            "nothing of the caller's environment"
        );
        f.stop().await;
        assert!(f.pid().await.is_none());
    }

    #[tokio::test]
    async fn a_kill_replaces_the_process() {
        let f = hello().await;
        let warm = f.invoke(&json!({})).await.unwrap();
        // Killed as soon as the event is handed over: before it can answer.
        let killed = f
            .invoke_with(
                &json!({}),
                InvokeOptions::kill(Kill::when(std::future::ready(()))),
            )
            .await
            .unwrap();
        assert!(matches!(killed.outcome, Outcome::Killed));
        assert_eq!(killed.error().unwrap().error_type, "Runtime.ExitError");
        assert_eq!(killed.pid, warm.pid);
        let fresh = f.invoke(&json!({})).await.unwrap();
        assert!(fresh.cold_start && fresh.pid != warm.pid);
        assert_eq!(f.containers_started().await, 2);
        // (Timeouts: tests/it/e2e.rs, a function held in a call past its timeout.)
    }

    #[tokio::test]
    async fn a_missing_binary_is_the_emulators_error_not_the_functions() {
        let f = Function::new(FunctionSpec::bare(
            "nothing",
            std::path::PathBuf::from("/nonexistent/bootstrap"),
            128,
            Duration::from_secs(1),
        ));
        let err = f.invoke(&json!({})).await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/bootstrap"), "{err}");
    }
}
