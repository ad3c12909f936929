//! What a function's process gets: the template's settings for the function
//! (name, timeout, memory, handler, logging) and its environment resolved for
//! the local stack ([`devstack::Provisioned::function_environment`]), the
//! variables Lambda itself sets, and the local overrides (the moto endpoint,
//! the simulator's URLs) — and nothing else: the caller's environment is not
//! inherited.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use devstack::template::resolve_string;
use devstack::{Provisioned, Template};
use serde_json::Value;

use crate::EmuError;

/// The account and region local runs pretend to be in (devstack's moto
/// config uses the same region).
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// Lambda's limit on a function's init phase.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// One function as Lambda would run it.
#[derive(Clone, Debug)]
pub struct FunctionSpec {
    /// The template's logical id (`OrderPullFunction`), for messages.
    pub logical_id: String,
    /// `AWS_LAMBDA_FUNCTION_NAME` (the template's `FunctionName`, resolved).
    pub name: String,
    /// The `bootstrap` executable.
    pub binary: PathBuf,
    /// The whole environment but `AWS_LAMBDA_RUNTIME_API` and
    /// `AWS_LAMBDA_LOG_STREAM_NAME`, which are per container.
    pub env: BTreeMap<String, String>,
    /// The template's `Timeout` (Lambda's default 3 s when unset).
    pub timeout: Duration,
    /// The template's `MemorySize` (Lambda's default 128 when unset).
    pub memory_mb: u32,
    /// Lambda's 10 s limit on init.
    pub init_timeout: Duration,
    /// Freeze the process (`SIGSTOP`) between invocations, as Lambda does.
    pub freeze: bool,
    /// Also print the process's log lines on this process's stderr.
    pub echo_logs: bool,
}

impl FunctionSpec {
    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{}",
            self.name
        )
    }

    /// The same function with another timeout (a test that must not wait
    /// the template's 15 minutes to see one).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same function with `name` removed from its environment.
    pub fn without_env(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    /// The same function with `name` set to `value`.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    /// A function outside the template (the bench's hello-world): Lambda's
    /// own variables only.
    pub fn bare(name: &str, binary: PathBuf, memory_mb: u32, timeout: Duration) -> Self {
        let mut spec = Self {
            logical_id: name.to_string(),
            name: name.to_string(),
            binary,
            env: BTreeMap::new(),
            timeout,
            memory_mb,
            init_timeout: INIT_TIMEOUT,
            freeze: true,
            echo_logs: false,
        };
        spec.env = lambda_variables(&spec, "bootstrap", None, None);
        spec
    }
}

/// What the local stack adds to (or changes in) the template's environment:
/// where AWS is (`AWS_ENDPOINT_URL`: moto, or a [`crate::Tap`] in front of
/// it) and, for the SP-API functions, the simulator (`SPAPI_ENDPOINT`,
/// `LWA_TOKEN_URL`, `SPAPI_TIME_SCALE`).
#[derive(Clone, Debug, Default)]
pub struct LocalOverrides {
    pub vars: BTreeMap<String, String>,
}

impl LocalOverrides {
    pub fn aws_endpoint(mut self, url: &str) -> Self {
        self.vars.insert("AWS_ENDPOINT_URL".into(), url.to_string());
        self
    }

    /// The simulator: SP-API base URL, LWA token URL, time compression.
    pub fn spapi(mut self, base_url: &str, lwa_token_url: &str, time_scale: f64) -> Self {
        self.vars
            .insert("SPAPI_ENDPOINT".into(), base_url.to_string());
        self.vars
            .insert("LWA_TOKEN_URL".into(), lwa_token_url.to_string());
        self.vars
            .insert("SPAPI_TIME_SCALE".into(), time_scale.to_string());
        self
    }

    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_string(), value.to_string());
        self
    }
}

fn number(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The function `logical_id` of `template`, its environment resolved against
/// the local `resources`, run from `binary`.
pub fn function_spec(
    template: &Template,
    resources: &Provisioned,
    logical_id: &str,
    binary: PathBuf,
    local: &LocalOverrides,
) -> Result<FunctionSpec, EmuError> {
    let setting = |key: &str| template.function_setting(logical_id, key);
    let name = match setting("FunctionName") {
        Some(v) => resolve_string(v, resources)?,
        None => format!("{logical_id}-{}", resources.parameters["Stage"]),
    };
    let timeout = Duration::from_secs(setting("Timeout").and_then(number).unwrap_or(3));
    let memory_mb = setting("MemorySize")
        .and_then(number)
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(128);
    let handler = setting("Handler")
        .and_then(Value::as_str)
        .unwrap_or("bootstrap")
        .to_string();
    // Globals merged with the function's own, as SAM deploys it.
    let logging = Value::Object(template.logging_config(logical_id)?);
    let logging = Some(&logging);
    let mut spec = FunctionSpec {
        logical_id: logical_id.to_string(),
        name,
        binary,
        env: BTreeMap::new(),
        timeout,
        memory_mb,
        init_timeout: INIT_TIMEOUT,
        freeze: true,
        echo_logs: false,
    };
    let mut env: BTreeMap<String, String> = resources.function_environment(template, logical_id)?;
    let log_group = match logging.and_then(|l| l.get("LogGroup")) {
        Some(v) => Some(resolve_string(v, resources)?),
        None => None,
    };
    env.extend(lambda_variables(
        &spec,
        &handler,
        logging,
        log_group.as_deref(),
    ));
    env.extend(local.vars.clone());
    spec.env = env;
    Ok(spec)
}

/// The variables Lambda sets for every process of a function (the
/// container's runtime API address and log stream are added at start).
fn lambda_variables(
    spec: &FunctionSpec,
    handler: &str,
    logging: Option<&Value>,
    log_group: Option<&str>,
) -> BTreeMap<String, String> {
    let task_root = spec
        .binary
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ".".into());
    let mut vars: BTreeMap<String, String> = [
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            log_group
                .map(str::to_string)
                .unwrap_or_else(|| format!("/aws/lambda/{}", spec.name)),
        ),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        // The execution role's temporary credentials (moto accepts any).
        ("AWS_ACCESS_KEY_ID", "ASIALOCALLAMBDAEMU000".into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "local-lambda-emulator-secret".into(),
        ),
        ("AWS_SESSION_TOKEN", "local-lambda-emulator-session".into()),
        ("_HANDLER", handler.to_string()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", task_root),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(l) = logging {
        if let Some(f) = l.get("LogFormat").and_then(Value::as_str) {
            vars.insert("AWS_LAMBDA_LOG_FORMAT".into(), f.to_string());
        }
        if let Some(level) = l.get("ApplicationLogLevel").and_then(Value::as_str) {
            vars.insert("AWS_LAMBDA_LOG_LEVEL".into(), level.to_string());
        }
    }
    vars
}

/// The binary `cargo lambda` builds for a function: its
/// `Metadata.BuildProperties.Binary` in the template.
pub fn binary_name(template: &Template, logical_id: &str) -> Result<String, EmuError> {
    template
        .metadata(logical_id)
        .and_then(|m| m.pointer("/BuildProperties/Binary"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            EmuError::Template(format!(
                "{logical_id} has no Metadata.BuildProperties.Binary (the binary cargo lambda builds)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_functions_name_their_binaries() {
        let template = Template::load(&devstack::template_path()).unwrap();
        for f in template.functions() {
            let bin = binary_name(&template, &f).unwrap();
            assert!(
                devstack::workspace_root()
                    .join("functions")
                    .join(&bin)
                    .is_dir(),
                "{f}: functions/{bin} exists"
            );
        }
    }

    #[test]
    fn the_spec_follows_the_template() {
        let template = Template::load(&devstack::template_path()).unwrap();
        let mut resources = Provisioned {
            parameters: template.parameter_defaults(),
            ..Provisioned::default()
        };
        resources.parameters.insert("Stage".into(), "t1".into());
        resources.tables.insert("StateTable".into(), "tbl".into());
        for (id, q) in [
            ("WmsOrderQueue", "wms"),
            ("OrderPullJobQueue", "jobs"),
            ("OrderPullJobDeadLetterQueue", "dlq"),
        ] {
            resources.queues.insert(
                id.into(),
                devstack::QueueInfo {
                    name: q.into(),
                    url: format!("http://127.0.0.1:1/{ACCOUNT_ID}/{q}"),
                    arn: format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{q}"),
                },
            );
        }
        // The function's LoggingConfig names its log group (!Ref).
        resources.log_groups.insert(
            "OrderPullLogGroup".into(),
            "/aws/lambda/connector-order-pull-t1".into(),
        );
        resources.secrets.insert(
            "LwaAppSecret".into(),
            devstack::SecretInfo {
                name: "lwa".into(),
                arn: "arn:lwa".into(),
            },
        );
        let spec = function_spec(
            &template,
            &resources,
            "OrderPullFunction",
            PathBuf::from("/x/order-pull"),
            &LocalOverrides::default().aws_endpoint("http://127.0.0.1:9"),
        )
        .unwrap();
        assert_eq!(spec.name, "connector-order-pull-t1");
        assert_eq!(spec.timeout, Duration::from_secs(900));
        assert_eq!(spec.memory_mb, 256, "the Globals' memory size");
        assert_eq!(spec.env["TABLE_NAME"], "tbl");
        assert_eq!(
            spec.env["WMS_ORDER_QUEUE_URL"],
            resources.queues["WmsOrderQueue"].url
        );
        assert_eq!(
            spec.env["AWS_LAMBDA_FUNCTION_NAME"],
            "connector-order-pull-t1"
        );
        assert_eq!(spec.env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(
            spec.env["AWS_LAMBDA_LOG_GROUP_NAME"],
            "/aws/lambda/connector-order-pull-t1"
        );
        assert_eq!(spec.env["_HANDLER"], "bootstrap");
        assert_eq!(spec.env["LAMBDA_TASK_ROOT"], "/x");
        assert_eq!(spec.env["AWS_ENDPOINT_URL"], "http://127.0.0.1:9");
        assert!(!spec.env.contains_key("HOME"), "nothing inherited");
        assert_eq!(
            spec.arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:connector-order-pull-t1"
        );
    }
}
