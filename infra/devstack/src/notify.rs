//! Amazon's notification delivery, locally: the simulator's
//! [`spapi_sim::NotificationSink`] that sends `ORDER_CHANGE` messages to the
//! SQS queue in moto named by the destination's ARN — only if the queue's
//! policy lets Amazon's notification principal send, as on AWS, where a
//! queue without that policy silently gets nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

/// Amazon's notification principal (fact sheet, "Notifications").
pub const AMAZON_NOTIFICATIONS_PRINCIPAL: &str = "arn:aws:iam::437568002678:root";

/// Sends notifications to SQS queues in moto.
pub struct SqsNotificationSink {
    sqs: aws_sdk_sqs::Client,
    /// queue ARN → its URL, once its policy was found to allow Amazon.
    allowed: Mutex<HashMap<String, String>>,
}

impl SqsNotificationSink {
    pub fn new(sqs: aws_sdk_sqs::Client) -> Self {
        Self {
            sqs,
            allowed: Mutex::new(HashMap::new()),
        }
    }

    async fn url_if_allowed(&self, arn: &str) -> Result<String, String> {
        if let Some(url) = self
            .allowed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(arn)
        {
            return Ok(url.clone());
        }
        let name = arn.rsplit(':').next().unwrap_or_default();
        let url = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "no queue {name}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?
            .queue_url
            .unwrap_or_default();
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::Policy)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot read the policy of {name}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        let policy = attributes
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::Policy).cloned())
            .unwrap_or_default();
        if !allows_amazon(&policy, arn) {
            return Err(format!(
                "the policy of {name} does not let Amazon's notification principal send: Amazon drops the notification silently"
            ));
        }
        self.allowed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(arn.to_string(), url.clone());
        Ok(url)
    }
}

#[async_trait::async_trait]
impl spapi_sim::NotificationSink for SqsNotificationSink {
    async fn deliver(&self, queue_arn: &str, body: String) -> Result<(), String> {
        let url = self.url_if_allowed(queue_arn).await?;
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }
}

/// Whether an SQS policy document has an `Allow` of `sqs:SendMessage` for
/// Amazon's notification principal on `arn`.
pub fn allows_amazon(policy: &str, arn: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && list(&s["Principal"]["AWS"])
                .iter()
                .any(|p| p == AMAZON_NOTIFICATIONS_PRINCIPAL)
            && list(&s["Action"])
                .iter()
                .any(|a| a == "sqs:SendMessage" || a == "sqs:*")
            && list(&s["Resource"]).iter().any(|r| r == arn || r == "*")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_allow_for_amazons_principal_on_the_queue_counts() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:connector-notifications-x";
        let good = serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": AMAZON_NOTIFICATIONS_PRINCIPAL},
            "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"], "Resource": arn}]});
        assert!(allows_amazon(&good.to_string(), arn));
        let other_account = good.to_string().replace("437568002678", "111111111111");
        assert!(!allows_amazon(&other_account, arn));
        let other_queue = good
            .to_string()
            .replace("notifications-x", "notifications-y");
        assert!(!allows_amazon(&other_queue, arn));
        assert!(!allows_amazon("", arn));
    }
}
