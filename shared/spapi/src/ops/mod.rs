//! One module per API; one struct per operation, implementing [`crate::Call`].

pub mod application;
pub mod collection_forms;
pub mod feeds;
pub mod listings;
pub mod notifications;
pub mod orders;
pub mod orders_v0;
pub mod sellers;
pub mod shipping;

/// ISO 8601 as Amazon writes it: `2026-01-01T00:00:00Z`.
pub fn iso(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
