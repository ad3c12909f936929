//! Creating the template's stateful resources (DynamoDB tables, SQS queues,
//! Secrets Manager secrets) in a local AWS (moto), with the names the template
//! gives them for a given `Stage`. A distinct stage per test keeps tests
//! isolated on one moto server. Functions, schedules and policies are not
//! created: the local runs call the function code directly.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::DevstackError;
use crate::template::{Resource, Scope, Template, resolve_string};

/// A queue as created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// A secret as created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretInfo {
    pub name: String,
    pub arn: String,
}

/// What was created, by logical id; also the [`Scope`] that resolves the
/// template's `!Ref`/`!GetAtt`/`!Sub` to the local names.
#[derive(Clone, Debug, Default)]
pub struct Provisioned {
    pub parameters: BTreeMap<String, String>,
    pub tables: BTreeMap<String, String>,
    pub queues: BTreeMap<String, QueueInfo>,
    pub secrets: BTreeMap<String, SecretInfo>,
    /// Log groups by logical id → their name (nothing is created: a local
    /// run logs to stdout; the name is what `!Ref` gives, e.g. for a
    /// function's `LoggingConfig.LogGroup`).
    pub log_groups: BTreeMap<String, String>,
}

impl Provisioned {
    pub fn table(&self, logical_id: &str) -> Result<&str, DevstackError> {
        self.tables
            .get(logical_id)
            .map(String::as_str)
            .ok_or_else(|| DevstackError::UnknownResource(logical_id.to_string()))
    }

    pub fn queue(&self, logical_id: &str) -> Result<&QueueInfo, DevstackError> {
        self.queues
            .get(logical_id)
            .ok_or_else(|| DevstackError::UnknownResource(logical_id.to_string()))
    }

    pub fn secret(&self, logical_id: &str) -> Result<&SecretInfo, DevstackError> {
        self.secrets
            .get(logical_id)
            .ok_or_else(|| DevstackError::UnknownResource(logical_id.to_string()))
    }

    /// The environment a function of the template gets, resolved to the local
    /// resources (so local runs configure the code exactly as a deploy does).
    pub fn function_environment(
        &self,
        template: &Template,
        function: &str,
    ) -> Result<BTreeMap<String, String>, DevstackError> {
        template
            .function_environment(function)?
            .iter()
            .map(|(k, v)| Ok((k.clone(), resolve_string(v, self)?)))
            .collect()
    }
}

impl Scope for Provisioned {
    fn parameter(&self, name: &str) -> Option<String> {
        self.parameters.get(name).cloned()
    }

    fn reference(&self, logical_id: &str) -> Option<String> {
        if let Some(t) = self.tables.get(logical_id) {
            return Some(t.clone());
        }
        if let Some(q) = self.queues.get(logical_id) {
            return Some(q.url.clone());
        }
        if let Some(g) = self.log_groups.get(logical_id) {
            return Some(g.clone());
        }
        self.secrets.get(logical_id).map(|s| s.arn.clone())
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        if let Some(q) = self.queues.get(logical_id) {
            return match attribute {
                "Arn" => Some(q.arn.clone()),
                "QueueName" => Some(q.name.clone()),
                "QueueUrl" => Some(q.url.clone()),
                _ => None,
            };
        }
        if let Some(t) = self.tables.get(logical_id) {
            return (attribute == "Arn")
                .then(|| format!("arn:aws:dynamodb:us-east-1:123456789012:table/{t}"));
        }
        None
    }
}

/// Creates every table, queue and secret of `template` for `stage`.
/// Parameters not given in `parameters` take their template defaults.
pub async fn provision(
    sdk: &SdkConfig,
    template: &Template,
    stage: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<Provisioned, DevstackError> {
    let mut out = Provisioned {
        parameters: template.parameter_defaults(),
        ..Provisioned::default()
    };
    out.parameters.extend(parameters.clone());
    out.parameters
        .insert("Stage".to_string(), stage.to_string());
    if let Some(region) = sdk.region() {
        out.parameters
            .insert("AWS::Region".to_string(), region.to_string());
    }

    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);

    let resources = template.resources();
    for r in resources
        .iter()
        .filter(|r| r.kind == "AWS::DynamoDB::Table")
    {
        let name = create_table(&dynamo, r, &out).await?;
        out.tables.insert(r.logical_id.to_string(), name);
    }
    // Queues: dead-letter queues first (a redrive policy names its DLQ's ARN).
    let mut pending: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.kind == "AWS::SQS::Queue")
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for r in pending {
            let ready = match r.properties.get("RedrivePolicy") {
                Some(policy) => resolve_redrive(policy, &out).is_ok(),
                None => true,
            };
            if ready {
                let info = create_queue(&sqs, r, &out).await?;
                out.queues.insert(r.logical_id.to_string(), info);
            } else {
                rest.push(r);
            }
        }
        if rest.len() == before {
            return Err(DevstackError::Template(format!(
                "queues with unresolvable redrive policies: {}",
                rest.iter()
                    .map(|r| r.logical_id)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        pending = rest;
    }
    // Queue policies without a condition (the notification queue's, which
    // lets Amazon's principal send; the schedule DLQs'): the simulator's
    // notification delivery checks them as Amazon's delivery depends on them.
    for r in resources
        .iter()
        .filter(|r| r.kind == "AWS::SQS::QueuePolicy" && r.condition.is_none())
    {
        apply_queue_policy(&sqs, r, &out).await?;
    }
    for r in resources
        .iter()
        .filter(|r| r.kind == "AWS::SecretsManager::Secret")
    {
        let info = create_secret(&secrets, r, &out).await?;
        out.secrets.insert(r.logical_id.to_string(), info);
    }
    for r in resources.iter().filter(|r| r.kind == "AWS::Logs::LogGroup") {
        let name = match r.properties.get("LogGroupName") {
            Some(v) => resolve_string(v, &out)?,
            None => format!("/aws/lambda/{}-{stage}", r.logical_id),
        };
        out.log_groups.insert(r.logical_id.to_string(), name);
    }
    tracing::info!(
        stage,
        tables = out.tables.len(),
        queues = out.queues.len(),
        secrets = out.secrets.len(),
        "local resources created from template.yaml"
    );
    Ok(out)
}

async fn apply_queue_policy(
    sqs: &aws_sdk_sqs::Client,
    r: &Resource<'_>,
    scope: &Provisioned,
) -> Result<(), DevstackError> {
    let document = crate::template::resolve_value(&r.properties["PolicyDocument"], scope)?;
    let queues = r.properties["Queues"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for q in queues {
        let url = resolve_string(&q, scope)?;
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(QueueAttributeName::Policy, document.to_string())
            .send()
            .await
            .map_err(|e| DevstackError::Aws {
                action: format!("set the policy of {url}"),
                message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
            })?;
    }
    Ok(())
}

fn prop_str(r: &Resource, key: &str, scope: &Provisioned) -> Result<Option<String>, DevstackError> {
    r.properties
        .get(key)
        .map(|v| resolve_string(v, scope))
        .transpose()
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, DevstackError> {
    v.as_array()
        .ok_or_else(|| DevstackError::Template("KeySchema must be a list".into()))?
        .iter()
        .map(|k| {
            let name = k["AttributeName"].as_str().unwrap_or_default();
            let kind = match k["KeyType"].as_str() {
                Some("HASH") => KeyType::Hash,
                Some("RANGE") => KeyType::Range,
                other => {
                    return Err(DevstackError::Template(format!(
                        "unknown KeyType {other:?} for {name}"
                    )));
                }
            };
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| DevstackError::Template(e.to_string()))
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    r: &Resource<'_>,
    scope: &Provisioned,
) -> Result<String, DevstackError> {
    let name = prop_str(r, "TableName", scope)?
        .unwrap_or_else(|| format!("{}-{}", r.logical_id, scope.parameters["Stage"]));
    let p = r.properties;
    let mut req = client
        .create_table()
        .table_name(&name)
        .set_key_schema(Some(key_schema(&p["KeySchema"])?));
    for a in p["AttributeDefinitions"].as_array().into_iter().flatten() {
        let t = match a["AttributeType"].as_str() {
            Some("S") => ScalarAttributeType::S,
            Some("N") => ScalarAttributeType::N,
            Some("B") => ScalarAttributeType::B,
            other => {
                return Err(DevstackError::Template(format!(
                    "unknown AttributeType {other:?}"
                )));
            }
        };
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a["AttributeName"].as_str().unwrap_or_default())
                .attribute_type(t)
                .build()
                .map_err(|e| DevstackError::Template(e.to_string()))?,
        );
    }
    for g in p["GlobalSecondaryIndexes"].as_array().into_iter().flatten() {
        let projection = match g
            .pointer("/Projection/ProjectionType")
            .and_then(Value::as_str)
        {
            Some("KEYS_ONLY") => ProjectionType::KeysOnly,
            Some("INCLUDE") => ProjectionType::Include,
            _ => ProjectionType::All,
        };
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(g["IndexName"].as_str().unwrap_or_default())
                .set_key_schema(Some(key_schema(&g["KeySchema"])?))
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(|e| DevstackError::Template(e.to_string()))?,
        );
    }
    req = req.billing_mode(BillingMode::PayPerRequest);
    req.send().await.map_err(|e| DevstackError::Aws {
        action: format!("create table {name}"),
        message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
    })?;
    if let Some(ttl) = p.get("TimeToLiveSpecification")
        && ttl["Enabled"].as_bool() == Some(true)
    {
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl["AttributeName"].as_str().unwrap_or_default())
                    .enabled(true)
                    .build()
                    .map_err(|e| DevstackError::Template(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| DevstackError::Aws {
                action: format!("enable TTL on {name}"),
                message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            })?;
    }
    Ok(name)
}

fn resolve_redrive(policy: &Value, scope: &Provisioned) -> Result<String, DevstackError> {
    let target = resolve_string(&policy["deadLetterTargetArn"], scope)?;
    let max = policy
        .get("maxReceiveCount")
        .map(|v| resolve_string(v, scope))
        .transpose()?
        .unwrap_or_else(|| "3".to_string());
    Ok(serde_json::json!({"deadLetterTargetArn": target, "maxReceiveCount": max}).to_string())
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    r: &Resource<'_>,
    scope: &Provisioned,
) -> Result<QueueInfo, DevstackError> {
    let p = r.properties;
    let fifo = p.get("FifoQueue").and_then(Value::as_bool) == Some(true)
        || p.get("FifoQueue").and_then(Value::as_str) == Some("true");
    let name = match prop_str(r, "QueueName", scope)? {
        Some(n) => n,
        None => {
            let base = format!("{}-{}", scope.parameters["Stage"], r.logical_id);
            if fifo { format!("{base}.fifo") } else { base }
        }
    };
    let mut req = client.create_queue().queue_name(&name);
    let simple = [
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        (
            "MessageRetentionPeriod",
            QueueAttributeName::MessageRetentionPeriod,
        ),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
        (
            "ContentBasedDeduplication",
            QueueAttributeName::ContentBasedDeduplication,
        ),
        ("DeduplicationScope", QueueAttributeName::DeduplicationScope),
        (
            "FifoThroughputLimit",
            QueueAttributeName::FifoThroughputLimit,
        ),
    ];
    if fifo {
        req = req.attributes(QueueAttributeName::FifoQueue, "true");
    }
    for (key, attr) in simple {
        if let Some(v) = p.get(key) {
            req = req.attributes(attr, resolve_string(v, scope)?);
        }
    }
    if let Some(policy) = p.get("RedrivePolicy") {
        req = req.attributes(
            QueueAttributeName::RedrivePolicy,
            resolve_redrive(policy, scope)?,
        );
    }
    let aws_err = |action: String| move |e: String| DevstackError::Aws { action, message: e };
    let created = req.send().await.map_err(|e| {
        aws_err(format!("create queue {name}"))(
            aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        )
    })?;
    let url = created
        .queue_url()
        .ok_or_else(|| DevstackError::Aws {
            action: format!("create queue {name}"),
            message: "no queue URL in the answer".into(),
        })?
        .to_string();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            aws_err(format!("read queue {name}"))(
                aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
            )
        })?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| DevstackError::Aws {
            action: format!("read queue {name}"),
            message: "no QueueArn attribute".into(),
        })?;
    Ok(QueueInfo { name, url, arn })
}

async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    r: &Resource<'_>,
    scope: &Provisioned,
) -> Result<SecretInfo, DevstackError> {
    let name = prop_str(r, "Name", scope)?
        .unwrap_or_else(|| format!("{}-{}", r.logical_id, scope.parameters["Stage"]));
    let value = match prop_str(r, "SecretString", scope)? {
        Some(v) => v,
        // GenerateSecretString: a random value is what a deploy would make too.
        None => format!("{:032x}", fastrand::u128(..)),
    };
    let out = client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| DevstackError::Aws {
            action: format!("create secret {name}"),
            message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
        })?;
    let arn = out.arn().unwrap_or(&name).to_string();
    Ok(SecretInfo { name, arn })
}
