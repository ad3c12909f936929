//! The credentials Lambda (issue 14): keeps the deployment's credentials
//! from lapsing.
//!
//! - **The application's LWA client secret** must be rotated every 180 days
//!   or every call fails. Amazon's notifications arrive on the
//!   application's SQS queue (registered in Developer Central):
//!   `APPLICATION_OAUTH_CLIENT_NEW_SECRET` is stored at once as a new version
//!   of the application's secret (every function picks it up at its next LWA
//!   refusal or cache expiry: no downtime); `..._SECRET_EXPIRY` rotates it
//!   when the expiry is near ([`notifications`]). The operator's path to
//!   the same result: `connector-admin app rotate-secret`.
//! - **Ages, daily** (`{"kind": "health"}` from the schedule, [`health`]):
//!   `AppSecretAgeDays` (rotated past `APP_SECRET_ROTATE_AFTER_DAYS`), each
//!   seller's `AuthorizationDaysLeft` until its yearly renewal and the
//!   smallest of them, `AuthorizationMinDaysLeft`, which the renewal alarm
//!   watches; one WARN per seller to renew or re-authorise.
//!
//! Must not depend on other functions; reads no environment (see `main.rs`).

pub mod config;
pub mod error;
pub mod health;
pub mod keeper;
pub mod notifications;

use aws_lambda_events::event::sqs::SqsEvent;
use domain::Deadline;
use lambda_kit::batch::{DeadLetterSink, RecordError, process};
use serde::Deserialize;
use serde_json::Value;

pub use error::CredentialsError;
pub use keeper::{Keeper, KeeperOptions};
pub use notifications::{Applied, Notification};

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Command {
    Health,
}

/// The function's handler: the notification queue's SQS batches, or the
/// daily `{"kind": "health"}`.
pub async fn handle(
    keeper: &Keeper,
    dead_letters: &dyn DeadLetterSink,
    event: Value,
    deadline: Deadline,
) -> Result<Value, CredentialsError> {
    // The invocation's metrics are written when it ends, however it ends.
    let _metrics = keeper.metrics.flush_on_drop();
    if event.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(event)
            .map_err(|e| CredentialsError::Event(format!("not an SQS event: {e}")))?;
        let report = process(event, false, dead_letters, |meta, n: Notification| async move {
            let kind = n.notification_type.clone();
            match keeper.apply(n, &deadline).await {
                Ok(applied) => {
                    tracing::info!(message_id = %meta.message_id, notification_type = %kind, applied = ?applied, "notification applied");
                    Ok(())
                }
                Err(e) => Err(RecordError::from_error(&e, e.is_retryable())),
            }
        })
        .await
        .map_err(CredentialsError::AllFailed)?;
        return serde_json::to_value(&report.response)
            .map_err(|e| CredentialsError::Event(e.to_string()));
    }
    let command: Command = serde_json::from_value(event).map_err(|e| {
        CredentialsError::Event(format!(
            "expected {{\"kind\": \"health\"}} or an SQS event of the application's notification queue: {e}"
        ))
    })?;
    match command {
        Command::Health => {
            let report = keeper.health(&deadline).await?;
            serde_json::to_value(&report).map_err(|e| CredentialsError::Event(e.to_string()))
        }
    }
}
