//! Listings Items v2021-08-01 `searchListingsItems` in the simulator: the
//! seller's listings in the requested marketplaces, filtered by creation
//! and update dates (both bounds included), sorted (`sku`, `createdDate`,
//! `lastUpdatedDate`; `ASC` or the default `DESC`), in pages of `pageSize`
//! (1-20, default 10), with `summaries` (status per marketplace:
//! `BUYABLE`/`DISCOVERABLE`, none when inactive) and
//! `fulfillmentAvailability` on request. As the model notes, only the first
//! 1000 items of one search can be paged through (`numberOfResults` still
//! counts them all); control can lower that cap for tests
//! ([`crate::SimControl::set_listings_search_cap`]). A page token belongs to
//! its query: used with another one it is refused.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::Operation;
use serde_json::{Value, json};

use super::common::{check_call, param};
use super::types::Listing;
use crate::faults::OpCall;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::iso;
use crate::state::{Inner, Shared};

/// Amazon's cap on what one search pages through.
pub const SEARCH_CAP: u64 = 1000;

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/listings/2021-08-01/items/{seller_id}", get(search_route))
}

/// A fingerprint of the query without its page token (FNV-1a).
fn fingerprint(pairs: &[(String, String)]) -> u64 {
    let mut sorted: Vec<&(String, String)> =
        pairs.iter().filter(|(k, _)| k != "pageToken").collect();
    sorted.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in sorted {
        for b in k.bytes().chain([b'=']).chain(v.bytes()).chain([b'&']) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn time(
    pairs: &[(String, String)],
    name: &str,
) -> Result<Option<DateTime<Utc>>, (StatusCode, Value)> {
    match param(pairs, name) {
        None => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| invalid_input(format!("'{name}' must be an ISO 8601 date-time."))),
    }
}

fn item_json(sku: &str, listing: &Listing, markets: &[String], included: &[&str]) -> Value {
    let mut item = json!({ "sku": sku });
    for part in included {
        match *part {
            "summaries" => {
                item["summaries"] = Value::Array(
                    markets
                        .iter()
                        .filter(|m| listing.listed_in(m))
                        .map(|m| {
                            json!({
                                "marketplaceId": m,
                                "asin": listing.asin,
                                "productType": listing.product_type,
                                "conditionType": "new_new",
                                "status": listing.status(),
                                "itemName": format!("Simulated item {sku}"),
                                "createdDate": iso(listing.created),
                                "lastUpdatedDate": iso(listing.updated),
                            })
                        })
                        .collect(),
                )
            }
            "fulfillmentAvailability" => {
                item["fulfillmentAvailability"] = Value::Array(listing.fulfillment_availability())
            }
            "attributes" => item["attributes"] = Value::Object(listing.attributes.clone()),
            "issues" => item["issues"] = json!([]),
            _ => {}
        }
    }
    item
}

fn search(
    inner: &Inner,
    seller: &str,
    pairs: &[(String, String)],
) -> Result<Value, (StatusCode, Value)> {
    for unsupported in [
        "identifiers",
        "identifiersType",
        "variationParentSku",
        "packageHierarchySku",
    ] {
        if param(pairs, unsupported).is_some() {
            return Err(invalid_input(format!(
                "'{unsupported}' is not supported by the simulator."
            )));
        }
    }
    let markets: Vec<String> = param(pairs, "marketplaceIds")
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    let included: Vec<&str> = param(pairs, "includedData")
        .map(|v| v.split(',').collect())
        .unwrap_or_else(|| vec!["summaries"]);
    for part in &included {
        if !matches!(
            *part,
            "summaries"
                | "attributes"
                | "issues"
                | "offers"
                | "fulfillmentAvailability"
                | "procurement"
                | "relationships"
                | "productTypes"
        ) {
            return Err(invalid_input(format!(
                "'{part}' is not a valid includedData value."
            )));
        }
    }
    let page_size: usize = match param(pairs, "pageSize") {
        None => 10,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| invalid_input("'pageSize' must be 1 to 20."))?,
    };
    let created_after = time(pairs, "createdAfter")?;
    let created_before = time(pairs, "createdBefore")?;
    let updated_after = time(pairs, "lastUpdatedAfter")?;
    let updated_before = time(pairs, "lastUpdatedBefore")?;
    let sort_by = param(pairs, "sortBy").unwrap_or("lastUpdatedDate");
    let ascending = match param(pairs, "sortOrder").unwrap_or("DESC") {
        "ASC" => true,
        "DESC" => false,
        _ => return Err(invalid_input("'sortOrder' must be ASC or DESC.")),
    };
    let listings = inner.feeds.listings.by_seller.get(seller);
    let mut found: Vec<(&String, &Listing)> = listings
        .into_iter()
        .flatten()
        .filter(|(_, l)| markets.iter().any(|m| l.listed_in(m)))
        .filter(|(_, l)| created_after.is_none_or(|t| l.created >= t))
        .filter(|(_, l)| created_before.is_none_or(|t| l.created <= t))
        .filter(|(_, l)| updated_after.is_none_or(|t| l.updated >= t))
        .filter(|(_, l)| updated_before.is_none_or(|t| l.updated <= t))
        .collect();
    match sort_by {
        "sku" => found.sort_by(|a, b| a.0.cmp(b.0)),
        "createdDate" => found.sort_by(|a, b| a.1.created.cmp(&b.1.created).then(a.0.cmp(b.0))),
        "lastUpdatedDate" => found.sort_by(|a, b| a.1.updated.cmp(&b.1.updated).then(a.0.cmp(b.0))),
        _ => {
            return Err(invalid_input(
                "'sortBy' must be sku, createdDate or lastUpdatedDate.",
            ));
        }
    }
    if !ascending {
        found.reverse();
    }
    let total = found.len() as u64;
    let cap = inner.feeds.listings.search_cap.unwrap_or(SEARCH_CAP);
    let print = fingerprint(pairs);
    let offset: u64 = match param(pairs, "pageToken") {
        None => 0,
        Some(token) => token
            .split_once('.')
            .and_then(|(o, f)| Some((o.parse::<u64>().ok()?, u64::from_str_radix(f, 16).ok()?)))
            .filter(|(o, f)| *f == print && *o < cap)
            .map(|(o, _)| o)
            .ok_or_else(|| invalid_input("Invalid 'pageToken' for this request."))?,
    };
    let reachable = total.min(cap);
    let end = (offset + page_size as u64).min(reachable);
    let items: Vec<Value> = found
        .iter()
        .skip(offset as usize)
        .take((end.saturating_sub(offset)) as usize)
        .map(|(sku, l)| item_json(sku, l, &markets, &included))
        .collect();
    let mut pagination = serde_json::Map::new();
    if end < reachable {
        pagination.insert("nextToken".into(), json!(format!("{end}.{print:x}")));
    }
    if offset > 0 {
        let previous = offset.saturating_sub(page_size as u64);
        pagination.insert(
            "previousToken".into(),
            json!(format!("{previous}.{print:x}")),
        );
    }
    let mut answer = json!({ "numberOfResults": total, "items": items });
    if !pagination.is_empty() {
        answer["pagination"] = Value::Object(pagination);
    }
    Ok(answer)
}

async fn search_route(
    State(shared): State<Arc<Shared>>,
    Path(seller_id): Path<String>,
    headers: HeaderMap,
    pairs: Pairs,
) -> Response {
    let call = OpCall {
        op: Operation::SearchListingsItems,
        has_page_token: false,
    };
    let speed = shared.speed;
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        let Query(pairs) = pairs.map_err(|_| invalid_input("The query string is malformed."))?;
        check_call(inner, seller, &seller_id, &pairs)?;
        // Feeds that finished by now have been applied.
        crate::feeds::settle::settle(inner, speed);
        search(inner, seller, &pairs)
    })
    .await
}

impl crate::SimControl {
    /// How many items one searchListingsItems search pages through
    /// (Amazon: 1000). Lower it to exercise narrowing with few listings.
    pub fn set_listings_search_cap(&self, cap: u64) {
        self.with(|s| s.feeds.listings.search_cap = Some(cap.max(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_belong_to_their_query() {
        let q = |m: &str| vec![("marketplaceIds".to_string(), m.to_string())];
        assert_eq!(fingerprint(&q("A")), fingerprint(&q("A")));
        assert_ne!(fingerprint(&q("A")), fingerprint(&q("B")));
        let mut with_token = q("A");
        with_token.push(("pageToken".into(), "20.abc".into()));
        assert_eq!(fingerprint(&with_token), fingerprint(&q("A")));
    }
}
