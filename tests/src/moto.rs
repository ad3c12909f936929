//! One moto server per test process, started on first use from a thread that
//! lives as long as the process (the server's `PR_SET_PDEATHSIG` follows the
//! thread that spawned it), and a fresh set of the template's resources per
//! test: every test gets its own `Stage`, hence its own table, queues and
//! secrets, so tests run in parallel on one server without seeing each other.

use std::sync::OnceLock;

use aws_config::SdkConfig;
use devstack::{MotoServer, Provisioned, Template};

static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();

/// `http://127.0.0.1:PORT` of this process's moto server.
pub fn endpoint() -> String {
    let result = ENDPOINT.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("moto-server".into())
            .spawn(move || {
                let command = devstack::default_moto_command(&devstack::workspace_root());
                match MotoServer::start(&command) {
                    Ok(server) => {
                        let _ = tx.send(Ok(server.endpoint()));
                        // Keep the server (and this thread) alive until the process ends.
                        loop {
                            std::thread::park();
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            })
            .map_err(|e| e.to_string())
            .and_then(|_| rx.recv().map_err(|e| e.to_string())?)
    });
    match result {
        Ok(endpoint) => endpoint.clone(),
        Err(e) => panic!("cannot start moto: {e}"),
    }
}

/// The template's resources for one test, in moto.
pub struct TestStack {
    pub sdk: SdkConfig,
    pub stage: String,
    pub endpoint: String,
    pub resources: Provisioned,
    pub template: Template,
    /// The state table (`StateTable`).
    pub table: String,
}

impl TestStack {
    pub fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }
}

/// A stage name from the test's name: lower case, `[a-z0-9-]`, plus a random
/// suffix so reruns and parallel tests never collide.
pub fn stage_for(test_name: &str) -> String {
    let mut s: String = test_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(24);
    format!("{}-{:08x}", s.trim_matches('-'), fastrand::u32(..))
}

/// Creates every table, queue and secret of `template.yaml` for a new stage.
pub async fn fresh_stack(test_name: &str) -> TestStack {
    let endpoint = tokio::task::spawn_blocking(endpoint)
        .await
        .expect("moto start thread");
    let sdk = devstack::local_sdk_config(&endpoint).await;
    let template = Template::load(&devstack::template_path()).expect("template.yaml parses");
    let stage = stage_for(test_name);
    let resources = devstack::provision(&sdk, &template, &stage, &Default::default())
        .await
        .expect("create the template's resources in moto");
    let table = resources
        .table("StateTable")
        .expect("the template defines StateTable")
        .to_string();
    TestStack {
        sdk,
        stage,
        endpoint,
        resources,
        template,
        table,
    }
}

/// Reads (and deletes) every message of a dead-letter queue: (body, its
/// reason as [`devstack::drain::dead_letters`] reads it, or "").
pub async fn drain_dead_letters(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<(String, String)> {
    devstack::drain::dead_letters(sqs, url)
        .await
        .expect("drain the dead-letter queue")
        .into_iter()
        .map(|d| (d.body, d.reason.unwrap_or_default()))
        .collect()
}
