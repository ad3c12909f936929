//! `searchOrders` (Orders v2026-01-01): Amazon's parameter rules, filters,
//! stable ordering and keyset pagination with opaque tokens.
//!
//! Orders are sorted by the searched time field (created or last updated),
//! then by order id; a page token remembers the filters, the effective
//! "before" bound and the last key served, so pages never skip or repeat while
//! the data stays put, and asking again with the same token gives the same page.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};

use serde_json::{Value, json};

use crate::clock::{iso, random_token};
use crate::http::error_list;
use crate::marketplaces::marketplace;
use crate::orders::{FulfilledBy, Included, StoredOrder, parse_status};
use crate::state::Inner;

pub(crate) mod cursor;
pub use cursor::{Filters, PageCursor, TimeField};

/// Amazon: page tokens expire after 24 hours (simulated time).
pub const PAGE_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
const MAX_MARKETPLACES: usize = 50;
const DEFAULT_PAGE: u32 = 100;

/// A 400 InvalidInput with Amazon's error body.
pub fn invalid_input(message: impl AsRef<str>) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        error_list("InvalidInput", message.as_ref(), ""),
    )
}

/// The query string as pairs; array parameters are comma-separated in one
/// value (Swagger's `csv`), and repeated keys are accepted too.
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub fn single(&self, key: &str) -> Result<Option<&str>, String> {
        let mut it = self.0.iter().filter(|(k, _)| k == key);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(format!("{key} must be given once."));
        }
        Ok(first)
    }

    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        if !self.has(key) {
            return None;
        }
        Some(
            self.0
                .iter()
                .filter(|(k, _)| k == key)
                .flat_map(|(_, v)| v.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn included(&self) -> Result<Option<Included>, String> {
        match self.list("includedData") {
            None => Ok(None),
            Some(values) => Included::parse(values.iter().map(String::as_str))
                .map(Some)
                .map_err(|v| format!("Invalid value {v} for includedData.")),
        }
    }
}

const FILTER_KEYS: [&str; 7] = [
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "fulfillmentStatuses",
    "fulfilledBy",
    "marketplaceIds",
];

fn parse_time(key: &str, raw: &str) -> Result<DateTime<Utc>, String> {
    // A `+` that was not percent-encoded arrives as a space.
    let fixed = raw.replace(' ', "+");
    DateTime::parse_from_rfc3339(&fixed)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{key} must be an ISO 8601 date-time."))
}

fn time_param(q: &Query, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    q.single(key)?.map(|v| parse_time(key, v)).transpose()
}

fn parse_filters(q: &Query) -> Result<Filters, String> {
    let created_after = time_param(q, "createdAfter")?;
    let created_before = time_param(q, "createdBefore")?;
    let updated_after = time_param(q, "lastUpdatedAfter")?;
    let updated_before = time_param(q, "lastUpdatedBefore")?;
    let (field, after, before) = match (created_after, updated_after) {
        (Some(a), None) => {
            if updated_before.is_some() {
                return Err(
                    "lastUpdatedBefore cannot be used with createdAfter; use createdBefore.".into(),
                );
            }
            (TimeField::Created, a, created_before)
        }
        (None, Some(a)) => {
            if created_before.is_some() {
                return Err(
                    "createdBefore cannot be used with lastUpdatedAfter; use lastUpdatedBefore."
                        .into(),
                );
            }
            (TimeField::LastUpdated, a, updated_before)
        }
        _ => {
            return Err(
                "Exactly one of createdAfter and lastUpdatedAfter must be provided.".into(),
            );
        }
    };
    if let Some(b) = before
        && b < after
    {
        let after_name = match field {
            TimeField::Created => "createdAfter",
            TimeField::LastUpdated => "lastUpdatedAfter",
        };
        return Err(format!(
            "{} must be equal to or after {after_name}.",
            field.before_name()
        ));
    }
    let mut statuses = Vec::new();
    for s in q.list("fulfillmentStatuses").unwrap_or_default() {
        statuses.push(
            parse_status(&s)
                .ok_or_else(|| format!("Invalid value {s} for fulfillmentStatuses."))?,
        );
    }
    statuses.sort();
    statuses.dedup();
    let mut fulfilled_by = Vec::new();
    for s in q.list("fulfilledBy").unwrap_or_default() {
        fulfilled_by.push(
            FulfilledBy::parse(&s).ok_or_else(|| format!("Invalid value {s} for fulfilledBy."))?,
        );
    }
    fulfilled_by.sort();
    fulfilled_by.dedup();
    let mut marketplace_ids = q.list("marketplaceIds").unwrap_or_default();
    if marketplace_ids.len() > MAX_MARKETPLACES {
        return Err(format!(
            "marketplaceIds accepts at most {MAX_MARKETPLACES} values."
        ));
    }
    marketplace_ids.sort();
    marketplace_ids.dedup();
    Ok(Filters {
        field,
        after,
        before,
        statuses,
        fulfilled_by,
        marketplace_ids,
    })
}

fn parse_page_size(q: &Query) -> Result<Option<u32>, String> {
    const MSG: &str = "maxResultsPerPage must be an integer between 1 and 100.";
    match q.single("maxResultsPerPage")? {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(Some(n)),
            _ => Err(MSG.into()),
        },
    }
}

/// Whether the call continues a search (so `DuplicatePage` may apply).
pub fn has_page_token(q: &Query) -> bool {
    q.has("paginationToken")
}

/// Runs searchOrders for `seller_id`; the body or the error answer.
pub fn search_orders(
    inner: &mut Inner,
    speed: f64,
    seller_id: &str,
    q: &Query,
) -> Result<Value, (StatusCode, Value)> {
    let page_size = parse_page_size(q).map_err(invalid_input)?;
    let included = q.included().map_err(invalid_input)?;
    let token = q.single("paginationToken").map_err(invalid_input)?;
    let (filters, before, after_key, page_size, included) = match token {
        Some(token) => {
            let cursor = inner
                .page_cursors
                .get(token)
                .filter(|c| c.seller == seller_id)
                .cloned()
                .ok_or_else(|| invalid_input("The paginationToken is invalid."))?;
            if inner.sim_elapsed(cursor.issued, speed) >= PAGE_TOKEN_LIFETIME {
                return Err(invalid_input("The paginationToken has expired."));
            }
            if FILTER_KEYS.iter().any(|k| q.has(k)) {
                let again = parse_filters(q).map_err(invalid_input)?;
                if again != cursor.filters {
                    return Err(invalid_input(
                        "All parameters except maxResultsPerPage and includedData must have the values of the request that generated the paginationToken.",
                    ));
                }
            }
            (
                cursor.filters,
                cursor.before,
                Some(cursor.last),
                page_size.unwrap_or(cursor.page_size),
                included.unwrap_or(cursor.included),
            )
        }
        None => {
            let filters = parse_filters(q).map_err(invalid_input)?;
            let latest = inner.now() - TimeDelta::minutes(2);
            if let Some(b) = filters.before
                && b > latest
            {
                return Err(invalid_input(format!(
                    "{} must be at least 2 minutes before the time of the request.",
                    filters.field.before_name()
                )));
            }
            let before = filters.before.unwrap_or(latest);
            (
                filters,
                before,
                None,
                page_size.unwrap_or(DEFAULT_PAGE),
                included.unwrap_or_default(),
            )
        }
    };
    let seller = inner
        .seller(seller_id)
        .map_err(|_| invalid_input("Unknown seller."))?;
    if let Some(bad) = filters
        .marketplace_ids
        .iter()
        .find(|m| !seller.marketplace_ids.contains(m))
    {
        return Err(invalid_input(format!("Invalid marketplaceId {bad}.")));
    }
    let field = filters.field;
    let mut matching: Vec<&StoredOrder> = seller
        .orders
        .values()
        .filter(|o| {
            let t = field.of(o);
            t >= filters.after
                && t <= before
                && (filters.statuses.is_empty() || filters.statuses.contains(&o.status))
                && (filters.fulfilled_by.is_empty()
                    || filters.fulfilled_by.contains(&o.fulfilled_by))
                && (filters.marketplace_ids.is_empty()
                    || filters.marketplace_ids.contains(&o.marketplace_id))
        })
        .filter(|o| match &after_key {
            Some((t, id)) => (field.of(o), &o.id) > (*t, id),
            None => true,
        })
        .collect();
    matching.sort_by(|a, b| (field.of(a), &a.id).cmp(&(field.of(b), &b.id)));
    let more = matching.len() > page_size as usize;
    matching.truncate(page_size as usize);
    let orders: Vec<Value> = matching
        .iter()
        .map(|o| o.to_json(included, seller.pii, marketplace(&o.marketplace_id)))
        .collect();
    let last = matching.last().map(|o| (field.of(o), o.id.clone()));
    let mut body = json!({ "orders": orders });
    body[field.before_name()] = json!(iso(before));
    if let (true, Some(last)) = (more, last) {
        let issued = inner.stamp();
        inner
            .page_cursors
            .retain(|_, c| c.issued_within(PAGE_TOKEN_LIFETIME, issued, speed));
        let cursor = PageCursor {
            seller: seller_id.to_string(),
            filters,
            before,
            last,
            page_size,
            included,
            issued,
        };
        // The same page asked again gets the same next token (safe retries).
        let known = inner
            .page_cursors
            .iter()
            .find(|(_, c)| c.same_position(&cursor))
            .map(|(t, _)| t.clone());
        let next = match known {
            Some(t) => t,
            None => {
                let t = random_token(40);
                inner.page_cursors.insert(t.clone(), cursor);
                t
            }
        };
        body["pagination"] = json!({ "nextToken": next });
        inner.last_page.insert(seller_id.to_string(), body.clone());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Query {
        Query(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn amazons_parameter_rules() {
        let ok = [
            vec![("createdAfter", "2026-01-01T00:00:00Z")],
            vec![
                ("lastUpdatedAfter", "2026-01-01T00:00:00Z"),
                ("lastUpdatedBefore", "2026-01-01T00:00:00Z"),
            ],
            vec![
                ("createdAfter", "2026-01-01T00:00:00 00:00"),
                ("marketplaceIds", "A,B"),
                ("marketplaceIds", "C"),
            ],
        ];
        for pairs in ok {
            assert!(parse_filters(&q(&pairs)).is_ok(), "{pairs:?}");
        }
        let bad = [
            vec![],
            vec![
                ("createdAfter", "2026-01-01T00:00:00Z"),
                ("lastUpdatedAfter", "2026-01-01T00:00:00Z"),
            ],
            vec![
                ("createdAfter", "2026-01-01T00:00:00Z"),
                ("lastUpdatedBefore", "2026-01-02T00:00:00Z"),
            ],
            vec![
                ("lastUpdatedAfter", "2026-01-01T00:00:00Z"),
                ("createdBefore", "2026-01-02T00:00:00Z"),
            ],
            vec![
                ("createdAfter", "2026-01-02T00:00:00Z"),
                ("createdBefore", "2026-01-01T00:00:00Z"),
            ],
            vec![("createdAfter", "yesterday")],
            vec![
                ("createdAfter", "2026-01-01T00:00:00Z"),
                ("fulfillmentStatuses", "SHIPPED,LOST"),
            ],
            vec![
                ("createdAfter", "2026-01-01T00:00:00Z"),
                ("fulfilledBy", "SELLER"),
            ],
        ];
        for pairs in bad {
            assert!(parse_filters(&q(&pairs)).is_err(), "{pairs:?}");
        }
        let many: Vec<String> = (0..51).map(|i| format!("M{i}")).collect();
        let joined = many.join(",");
        let too_many = q(&[
            ("createdAfter", "2026-01-01T00:00:00Z"),
            ("marketplaceIds", &joined),
        ]);
        assert!(parse_filters(&too_many).is_err());
        for (v, ok) in [
            ("1", true),
            ("100", true),
            ("0", false),
            ("101", false),
            ("x", false),
        ] {
            assert_eq!(
                parse_page_size(&q(&[("maxResultsPerPage", v)])).is_ok(),
                ok,
                "{v}"
            );
        }
    }
}
