//! **getFeed** and **getFeeds** (filters and page tokens).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use serde_json::{Value, json};

use super::settle::settle;
use super::types::{FeedFilter, FeedRecord};
use crate::faults::OpCall;
use crate::http::error_list;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::{Shared, random_token};

pub(super) fn not_found(what: &str) -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        error_list("NotFound", &format!("{what} not found."), ""),
    )
}

pub(super) async fn get_feed_route(
    State(shared): State<Arc<Shared>>,
    Path(feed_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = OpCall {
        op: Operation::GetFeed,
        has_page_token: false,
    };
    let speed = shared.speed;
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        settle(inner, speed);
        match inner.feeds.feeds.get(&feed_id) {
            Some(f) if f.seller == seller => Ok(f.to_json()),
            _ => Err(not_found("Feed")),
        }
    })
    .await
}

pub(super) fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, (StatusCode, Value)> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid_input(format!("'{name}' is not an ISO 8601 date and time.")))
}

pub(super) fn list(params: &HashMap<String, String>, name: &str) -> Vec<String> {
    params
        .get(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `getFeeds`: the seller's feeds matching the filters, newest first,
/// `pageSize` (default 10) at a time; a `nextToken` must come alone.
pub(super) async fn get_feeds_route(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let call = OpCall {
        op: Operation::GetFeeds,
        has_page_token: params.contains_key("nextToken"),
    };
    let speed = shared.speed;
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        settle(inner, speed);
        let (filter, offset) = match params.get("nextToken") {
            Some(token) => {
                if params.len() > 1 {
                    return Err(invalid_input(
                        "nextToken must be the only parameter when it is given.",
                    ));
                }
                match inner.feeds.page_tokens.get(token) {
                    Some((owner, filter, offset)) if owner == seller => (filter.clone(), *offset),
                    _ => return Err(invalid_input("The nextToken is not valid.")),
                }
            }
            None => {
                let types = list(&params, "feedTypes");
                if types.is_empty() || types.len() > 10 {
                    return Err(invalid_input(
                        "feedTypes (1 to 10) or nextToken is required.",
                    ));
                }
                let markets = list(&params, "marketplaceIds");
                if markets.len() > 10 {
                    return Err(invalid_input("At most 10 marketplaceIds."));
                }
                let page_size = match params.get("pageSize") {
                    None => 10,
                    Some(n) => n
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| invalid_input("pageSize must be 1 to 100."))?,
                };
                let since = params
                    .get("createdSince")
                    .map(|v| parse_time("createdSince", v))
                    .transpose()?;
                let until = params
                    .get("createdUntil")
                    .map(|v| parse_time("createdUntil", v))
                    .transpose()?;
                (
                    FeedFilter {
                        types,
                        markets,
                        statuses: list(&params, "processingStatuses"),
                        since,
                        until,
                        page_size,
                    },
                    0,
                )
            }
        };
        let since = filter
            .since
            .unwrap_or_else(|| inner.now() - TimeDelta::days(90));
        let mut matching: Vec<&FeedRecord> = inner
            .feeds
            .feeds
            .values()
            .filter(|f| f.seller == seller)
            .filter(|f| filter.types.contains(&f.feed_type))
            .filter(|f| {
                filter.markets.is_empty()
                    || f.marketplace_ids.iter().any(|m| filter.markets.contains(m))
            })
            .filter(|f| {
                filter.statuses.is_empty() || filter.statuses.iter().any(|s| s == f.status.as_str())
            })
            .filter(|f| f.created_at >= since && filter.until.is_none_or(|u| f.created_at <= u))
            .collect();
        matching.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(filter.page_size)
            .map(|f| f.to_json())
            .collect();
        let more = matching.len() > offset + filter.page_size;
        let mut body = json!({ "feeds": page });
        if more {
            let token = random_token(24);
            inner.feeds.page_tokens.insert(
                token.clone(),
                (
                    seller.to_string(),
                    filter.clone(),
                    offset + filter.page_size,
                ),
            );
            body["nextToken"] = json!(token);
        }
        Ok(body)
    })
    .await
}
