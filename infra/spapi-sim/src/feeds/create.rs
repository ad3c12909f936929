//! **createFeed**: the document, the feed type's processor and limits.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::Operation;
use serde_json::{Value, json};

use super::listings_feed::{LISTINGS_FEED, LISTINGS_FEED_WINDOW, LISTINGS_FEEDS_PER_WINDOW};
use super::registry::processor_for;
use super::types::{FeedRecord, Status};
use crate::faults::OpCall;
use crate::http::quota_exceeded;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::Shared;

pub(super) async fn create_feed_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let call = OpCall {
        op: Operation::CreateFeed,
        has_page_token: false,
    };
    let speed = shared.speed;
    let mut resp = pipeline(&shared, call, &headers, move |inner, seller, _| {
        let Json(body) = body.map_err(|_| invalid_input("The request body is not valid JSON."))?;
        let feed_type = body["feedType"]
            .as_str()
            .ok_or_else(|| invalid_input("Missing required 'feedType'."))?
            .to_string();
        if processor_for(&feed_type).is_none() {
            return Err(invalid_input(format!("Invalid feedType '{feed_type}'.")));
        }
        let markets: Vec<String> = body["marketplaceIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if !(1..=25).contains(&markets.len()) {
            return Err(invalid_input(
                "'marketplaceIds' must list 1 to 25 marketplaces.",
            ));
        }
        let participating = &inner
            .seller(seller)
            .map_err(|_| invalid_input("Unknown seller."))?
            .marketplace_ids;
        if let Some(m) = markets.iter().find(|m| !participating.contains(m)) {
            return Err(invalid_input(format!(
                "Marketplace '{m}' is not one the selling partner participates in."
            )));
        }
        let doc_id = body["inputFeedDocumentId"]
            .as_str()
            .ok_or_else(|| invalid_input("Missing required 'inputFeedDocumentId'."))?
            .to_string();
        match inner.feeds.documents.get(&doc_id) {
            Some(d) if d.seller == seller => {}
            _ => {
                return Err(invalid_input(format!(
                    "inputFeedDocumentId '{doc_id}' is not a feed document of this selling partner."
                )));
            }
        }
        if feed_type == LISTINGS_FEED {
            let now = inner.stamp();
            let window = LISTINGS_FEED_WINDOW;
            let mut times = inner
                .feeds
                .listings_feed_times
                .remove(seller)
                .unwrap_or_default();
            times.retain(|t| inner.sim_elapsed(*t, speed) < window);
            let full = times.len() >= LISTINGS_FEEDS_PER_WINDOW;
            if !full {
                times.push_back(now);
            }
            inner
                .feeds
                .listings_feed_times
                .insert(seller.to_string(), times);
            if full {
                return Err((StatusCode::TOO_MANY_REQUESTS, quota_exceeded()));
            }
        }
        let id = inner.feeds.next_id().to_string();
        let stalled = inner.feeds.take_stall(seller);
        let record = FeedRecord {
            id: id.clone(),
            seller: seller.to_string(),
            feed_type,
            marketplace_ids: markets,
            input_document: doc_id,
            created_at: inner.now(),
            created: inner.stamp(),
            timing: inner.feeds.timing,
            status: Status::InQueue,
            stalled,
            started_at: None,
            ended_at: None,
            result_document: None,
        };
        inner.feeds.feeds.insert(id.clone(), record);
        Ok(json!({ "feedId": id }))
    })
    .await;
    if resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::ACCEPTED;
    }
    resp
}
