//! What a pagination token stands for, as the simulator keeps it
//! (`state::Inner::page_cursors`): the search's filters and where its last
//! page ended. Below `state` and the search itself.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::settings::OrderStatus;

use crate::clock::Stamp;
use crate::orders::{FulfilledBy, Included, StoredOrder};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeField {
    Created,
    LastUpdated,
}

impl TimeField {
    pub(crate) fn before_name(self) -> &'static str {
        match self {
            TimeField::Created => "createdBefore",
            TimeField::LastUpdated => "lastUpdatedBefore",
        }
    }

    pub(crate) fn of(self, o: &StoredOrder) -> DateTime<Utc> {
        match self {
            TimeField::Created => o.created,
            TimeField::LastUpdated => o.last_updated,
        }
    }
}

/// The filters of a search, normalised (lists sorted, duplicates removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filters {
    pub(crate) field: TimeField,
    pub(crate) after: DateTime<Utc>,
    /// As given; the effective bound defaults to two minutes before the request.
    pub(crate) before: Option<DateTime<Utc>>,
    pub(crate) statuses: Vec<OrderStatus>,
    pub(crate) fulfilled_by: Vec<FulfilledBy>,
    pub(crate) marketplace_ids: Vec<String>,
}

/// What a pagination token stands for.
#[derive(Clone, Debug)]
pub struct PageCursor {
    pub(crate) seller: String,
    pub(crate) filters: Filters,
    pub(crate) before: DateTime<Utc>,
    pub(crate) last: (DateTime<Utc>, String),
    pub(crate) page_size: u32,
    pub(crate) included: Included,
    pub(crate) issued: Stamp,
}

impl PageCursor {
    pub(crate) fn same_position(&self, other: &PageCursor) -> bool {
        self.seller == other.seller
            && self.filters == other.filters
            && self.before == other.before
            && self.last == other.last
            && self.page_size == other.page_size
            && self.included == other.included
    }

    /// Cheap pruning test: issued less than `lifetime` of wall time (scaled) before `now`.
    pub(crate) fn issued_within(&self, lifetime: Duration, now: Stamp, speed: f64) -> bool {
        // The same measure as the expiry check on use: a token the clock
        // advanced past is gone, and the same page gets a new one.
        now.sim_since(self.issued, speed) < lifetime
    }
}
