//! The messages on the order-pull job queue: one per seller and run, and
//! follow-ups that continue a backlog.

use serde::{Deserialize, Serialize};

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// From the checkpoint (minus a small overlap) to now − 2 minutes.
    Incremental,
    /// Re-scans a longer window to catch orders Amazon returned late.
    Reconcile,
}

impl Mode {
    /// The checkpoint this mode keeps (each has its own window).
    pub fn checkpoint(self) -> &'static str {
        match self {
            Mode::Incremental => "order-pull",
            Mode::Reconcile => "order-pull-reconcile",
        }
    }
}

/// Who asked for a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The schedule, an operator or a follow-up of either: the backstop.
    #[default]
    Schedule,
    /// A burst of ORDER_CHANGE notifications coalesced into one pull
    /// (`functions/notifications`): what it sends was announced, not missed.
    Notifications,
}

impl Origin {
    fn is_schedule(&self) -> bool {
        *self == Origin::Schedule
    }
}

/// One job: pull one seller's orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullJob {
    pub seller_id: String,
    pub mode: Mode,
    /// Follow-ups after a retryable failure count up; past the limit the job
    /// fails and SQS's redrive takes it to the dead-letter queue.
    #[serde(default)]
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Origin::is_schedule")]
    pub origin: Origin,
}

impl PullJob {
    pub fn new(seller_id: impl Into<String>, mode: Mode) -> Self {
        Self {
            seller_id: seller_id.into(),
            mode,
            attempt: 0,
            origin: Origin::Schedule,
        }
    }

    /// An incremental pull for a burst of notifications.
    pub fn coalesced(seller_id: impl Into<String>) -> Self {
        Self {
            origin: Origin::Notifications,
            ..Self::new(seller_id, Mode::Incremental)
        }
    }
}

/// The event the schedule sends (`{"kind": "schedule"}` in template.yaml).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Fan out: one job per enabled seller (and a reconcile when due).
    Schedule,
    /// Run one seller now, in this invocation (operator or demo).
    Pull(PullJob),
}
