//! What a seller's pull keeps between runs: the checkpoint of one mode
//! (`PullState`) and the window being worked through (`Window`). Below
//! `pull` (which moves them) and `backstop`/`fanout` (which read them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A window being worked through (kept in the checkpoint between runs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub after: DateTime<Utc>,
    pub before: DateTime<Utc>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub pages_done: u32,
    /// The earliest `lastUpdatedTime` of an order this window found claimed
    /// by another run that may still be sending it (a `SENDING` claim
    /// younger than `claim_stale_after`). The checkpoint does not move past
    /// it, so the next windows see the order again until it is sent, or its
    /// claim is stale (the run that held it crashed) and taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_back: Option<DateTime<Utc>>,
}

/// The checkpoint of one mode for one seller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullState {
    /// Every order updated before this was handed to the WMS (or filtered).
    #[serde(default)]
    pub done_until: Option<DateTime<Utc>>,
    /// The window in progress, if a run stopped inside one.
    #[serde(default)]
    pub window: Option<Window>,
    #[serde(default)]
    pub last_completed_at: Option<DateTime<Utc>>,
    /// When the seller's first window began (until `done_until` is set, the
    /// order-pull age counts from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_started_at: Option<DateTime<Utc>>,
}
