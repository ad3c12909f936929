//! The stage's SQS queues, found as deployed (not from a list kept here):
//! every `connector-<name>-<stage>[.fifo]` queue, its attributes, and which
//! queue is whose dead-letter queue (the sources' redrive policies). A
//! dead-letter queue that nothing redrives into (say, one that catches failed
//! scheduled invocations) is found by its `-dlq` name.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;

use crate::context::Context;
use crate::error::CliError;

/// One queue of the stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageQueue {
    pub name: String,
    /// The name without `connector-` and the stage (e.g. `shipments-dlq`).
    pub logical: String,
    pub url: String,
    pub arn: String,
    pub fifo: bool,
    /// The ARN of its dead-letter queue (from its redrive policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_target: Option<String>,
    /// Messages available now (approximate, as SQS counts).
    pub visible: u64,
    /// Messages received and not yet deleted (approximate).
    pub in_flight: u64,
}

/// A dead-letter queue and the queues that redrive into it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetterQueue {
    /// What `--queue` accepts: the logical name without `-dlq`
    /// (e.g. `shipments`, `order-pull-jobs`, `wms-orders`).
    pub short: String,
    pub queue: StageQueue,
    pub sources: Vec<StageQueue>,
}

impl DeadLetterQueue {
    /// The queue a message goes back to when nothing else says: the source
    /// named like the dead-letter queue (`x-dlq` ← `x`), else the only one.
    pub fn default_source(&self) -> Option<&StageQueue> {
        self.sources
            .iter()
            .find(|s| s.logical == self.short)
            .or(match self.sources.as_slice() {
                [only] => Some(only),
                _ => None,
            })
    }

    /// The source queue called `name` (a queue name or an ARN), if it is one
    /// of this dead-letter queue's sources.
    pub fn source_named(&self, name: &str) -> Option<&StageQueue> {
        let name = name.rsplit(':').next().unwrap_or(name);
        self.sources.iter().find(|s| s.name == name)
    }
}

/// The logical name of a queue of `stage`, if it is one.
pub fn logical_name(name: &str, stage: &str) -> Option<String> {
    let rest = name.strip_prefix("connector-")?;
    let rest = rest.strip_suffix(".fifo").unwrap_or(rest);
    let logical = rest.strip_suffix(&format!("-{stage}"))?;
    (!logical.is_empty()).then(|| logical.to_string())
}

/// The short (`--queue`) name of a dead-letter queue's logical name.
pub fn short_name(logical: &str) -> String {
    logical
        .strip_suffix("-dlq")
        .or_else(|| logical.split_once("-dlq-").map(|(a, _)| a))
        .unwrap_or(logical)
        .to_string()
}

/// Every queue of the stage, by name.
pub async fn stage_queues(ctx: &Context) -> Result<Vec<StageQueue>, CliError> {
    let stage = &ctx.deployment.stage;
    let mut urls = Vec::new();
    let mut pages = ctx
        .sqs
        .list_queues()
        .queue_name_prefix("connector-")
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CliError::aws("list the SQS queues", e))?;
        urls.extend(page.queue_urls().iter().cloned());
    }
    let mut queues = Vec::new();
    for url in urls {
        let name = url.rsplit('/').next().unwrap_or_default().to_string();
        let Some(logical) = logical_name(&name, stage) else {
            continue;
        };
        let attrs = ctx
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| CliError::aws(&format!("read the attributes of {name}"), e))?;
        let a: HashMap<String, String> = attrs
            .attributes()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let number = |k: &str| a.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        let dead_letter_target = a
            .get("RedrivePolicy")
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string));
        queues.push(StageQueue {
            fifo: name.ends_with(".fifo"),
            arn: a.get("QueueArn").cloned().unwrap_or_default(),
            logical,
            name,
            url,
            dead_letter_target,
            visible: number("ApproximateNumberOfMessages"),
            in_flight: number("ApproximateNumberOfMessagesNotVisible"),
        });
    }
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(queues)
}

/// The stage's dead-letter queues with their sources.
pub async fn dead_letter_queues(ctx: &Context) -> Result<Vec<DeadLetterQueue>, CliError> {
    let queues = stage_queues(ctx).await?;
    let mut dlqs = Vec::new();
    for q in &queues {
        let sources: Vec<StageQueue> = queues
            .iter()
            .filter(|s| s.dead_letter_target.as_deref() == Some(q.arn.as_str()))
            .cloned()
            .collect();
        let named = q.logical.ends_with("-dlq") || q.logical.contains("-dlq-");
        if sources.is_empty() && !named {
            continue;
        }
        dlqs.push(DeadLetterQueue {
            short: short_name(&q.logical),
            queue: q.clone(),
            sources,
        });
    }
    if dlqs.is_empty() {
        return Err(CliError::not_found(format!(
            "no dead-letter queues of stage {stage} (no queue named connector-*-{stage}): is --stage (or CONNECTOR_STAGE) the deployment's Stage, and the AWS region the one it is deployed in?",
            stage = ctx.deployment.stage
        )));
    }
    Ok(dlqs)
}

/// The dead-letter queues `name` selects (all of them without a name).
pub fn select<'a>(
    dlqs: &'a [DeadLetterQueue],
    name: Option<&str>,
) -> Result<Vec<&'a DeadLetterQueue>, CliError> {
    let Some(name) = name else {
        return Ok(dlqs.iter().collect());
    };
    let found: Vec<&DeadLetterQueue> = dlqs
        .iter()
        .filter(|d| {
            d.short == name
                || d.queue.logical == name
                || d.queue.name == name
                || d.queue.url == name
                || d.queue.arn == name
        })
        .collect();
    if found.is_empty() {
        return Err(CliError::not_found(format!(
            "no dead-letter queue {name:?}; the stage has: {}",
            dlqs.iter()
                .map(|d| d.short.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(found)
}

/// A queue's URL by name.
pub async fn queue_url(ctx: &Context, name: &str) -> Result<String, CliError> {
    let out = ctx
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| CliError::aws(&format!("find the queue {name}"), e))?;
    out.queue_url().map(str::to_string).ok_or_else(|| {
        CliError::not_found(format!(
            "the queue {name} does not exist: is --stage the deployment's Stage?"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_the_stage_only() {
        assert_eq!(
            logical_name("connector-shipments-dlq-prod", "prod").as_deref(),
            Some("shipments-dlq")
        );
        assert_eq!(
            logical_name("connector-wms-orders-dlq-prod.fifo", "prod").as_deref(),
            Some("wms-orders-dlq")
        );
        assert_eq!(logical_name("connector-shipments-preprod", "prod"), None);
        assert_eq!(logical_name("other-shipments-prod", "prod"), None);
        assert_eq!(short_name("shipments-dlq"), "shipments");
        assert_eq!(short_name("order-pull-jobs-dlq"), "order-pull-jobs");
        assert_eq!(short_name("schedules"), "schedules");
    }
}
