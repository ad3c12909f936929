//! The simulator's whole state, in memory behind one mutex, and its clocks.
//!
//! Two notions of time:
//! - the **clock** (`now`): wall clock plus an offset control can advance; order
//!   times and the two-minute rule use it;
//! - **simulated elapsed time** for lifetimes (access tokens, pagination
//!   tokens): wall time since issue times `speed`, plus clock advances since issue.
//!
//! Quota buckets refill with wall time times `speed` only (see `quota`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use serde_json::Value;

// Where the simulator's modules have always found them.
pub use crate::clock::{Stamp, iso, random_token};
use crate::faults::Faults;
use crate::orders::StoredOrder;
use crate::quota::{Bucket, OperationMetrics, RateOverride};
use crate::search::cursor::PageCursor;

pub struct Shared {
    pub speed: f64,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(speed: f64) -> Self {
        Self {
            speed,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The state; a panic in another request never makes it unusable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone, Debug)]
pub enum Subject {
    Seller(String),
    /// A grantless token of an application, for a scope.
    App,
}

#[derive(Clone, Debug)]
pub struct AccessToken {
    pub subject: Subject,
    pub issued: Stamp,
    pub lifetime: Duration,
    pub force_expired: bool,
}

#[derive(Debug)]
pub struct Seller {
    pub revoked: bool,
    pub marketplace_ids: Vec<String>,
    /// Listed by getMarketplaceParticipations with `isParticipating: false`.
    pub dormant_marketplace_ids: Vec<String>,
    /// Whether getMarketplaceParticipations also lists a non-Amazon sales
    /// channel (as Amazon does for multi-channel fulfilment).
    pub non_amazon_channel: bool,
    /// The seller's supply source ids (what `shipFromSupplySourceId` may name).
    pub supply_source_ids: Vec<String>,
    pub pii: bool,
    pub store_name: String,
    pub orders: BTreeMap<String, StoredOrder>,
}

#[derive(Default)]
pub struct Inner {
    pub clock_offset: TimeDelta,
    /// client id → client secret
    pub apps: HashMap<String, String>,
    pub sellers: BTreeMap<String, Seller>,
    /// refresh token → seller id
    pub refresh_tokens: HashMap<String, String>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub token_requests: BTreeMap<String, u64>,
    pub buckets: HashMap<(String, Operation), Bucket>,
    pub rate_overrides: HashMap<(String, Operation), RateOverride>,
    pub faults: Faults,
    pub metrics: BTreeMap<(String, Operation), OperationMetrics>,
    pub page_cursors: HashMap<String, PageCursor>,
    /// seller id → the last searchOrders page that had a `nextToken`
    pub last_page: HashMap<String, Value>,
    /// Feeds, feed documents and listings (`feeds`, `listings`).
    pub feeds: crate::feeds::types::FeedsState,
    /// Amazon Shipping v2: rate tokens, shipments, purchases (`shipping`).
    pub shipping: crate::shipping::types::ShippingState,
    /// Seller Central's consent pages, authorization codes, the
    /// applications' secret rotation (`consent`).
    pub consent: crate::consent::types::ConsentState,
    /// Notifications: destinations, subscriptions, delivery (`notifications`).
    pub notifications: crate::notifications::types::NotificationsState,
}

impl Inner {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    pub fn stamp(&self) -> Stamp {
        Stamp::now(self.clock_offset)
    }

    /// Simulated time since `s` (see the module comment).
    pub fn sim_elapsed(&self, s: Stamp, speed: f64) -> Duration {
        let wall = Instant::now()
            .saturating_duration_since(s.at)
            .mul_f64(speed);
        let advanced = (self.clock_offset - s.offset).to_std().unwrap_or_default();
        wall + advanced
    }

    pub fn seller(&self, id: &str) -> Result<&Seller, crate::SimError> {
        self.sellers
            .get(id)
            .ok_or_else(|| crate::SimError::UnknownSeller(id.to_string()))
    }

    pub fn seller_mut(&mut self, id: &str) -> Result<&mut Seller, crate::SimError> {
        self.sellers
            .get_mut(id)
            .ok_or_else(|| crate::SimError::UnknownSeller(id.to_string()))
    }

    pub fn record(&mut self, seller: &str, op: Operation, status: u16) {
        self.metrics
            .entry((seller.to_string(), op))
            .or_default()
            .record(status);
    }
}
