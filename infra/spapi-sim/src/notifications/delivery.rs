//! Amazon's side of delivery: what is due is handed to the
//! [`NotificationSink`](super::NotificationSink) on the simulator's clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::SimControl;

/// Delivers what is due on the simulator's clock, forever (started with the
/// simulator): wakes every 20 ms of wall time.
pub(crate) async fn deliver_forever(control: SimControl) {
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let automatic = control.with(|s| s.notifications.delivery.automatic);
        if automatic {
            control.deliver_due(false).await;
        }
    }
}

/// The publish time of a queued notification is its change plus its delay;
/// kept for tests that read it back.
pub fn publish_time(body: &str) -> Option<DateTime<Utc>> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["NotificationMetadata"]["PublishTime"]
        .as_str()?
        .parse()
        .ok()
}
