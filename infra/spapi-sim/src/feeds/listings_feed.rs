//! `JSON_LISTINGS_FEED`: the processor that applies listings messages.

use std::time::Duration;

use serde_json::{Value, json};

use super::processor::{FeedInput, FeedProcessor, Processed};
use crate::listings::patch::apply_patches;
use crate::state::Inner;

pub(crate) const LISTINGS_FEED: &str = "JSON_LISTINGS_FEED";
/// JSON_LISTINGS_FEED: submissions per window, the window, messages per feed.
pub(crate) const LISTINGS_FEEDS_PER_WINDOW: usize = 5;
pub(crate) const LISTINGS_FEED_WINDOW: Duration = Duration::from_secs(300);
pub(crate) const LISTINGS_FEED_MAX_MESSAGES: usize = 25_000;

/// `JSON_LISTINGS_FEED` v2: each message applied on its own (a bad message
/// does not stop the others), with a processing report in Amazon's schema.
pub(crate) struct ListingsFeedProcessor;

impl ListingsFeedProcessor {
    fn fatal(feed: &FeedInput<'_>, message: &str) -> Processed {
        let report = json!({
            "header": {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": [{"code": "4000000", "severity": "ERROR", "message": message}],
            "summary": {"errors": 1, "warnings": 0, "messagesProcessed": 0,
                        "messagesAccepted": 0, "messagesInvalid": 0}
        });
        Processed {
            done: false,
            report: Some(("application/json".into(), report.to_string().into_bytes())),
        }
    }
}

impl FeedProcessor for ListingsFeedProcessor {
    fn process(&self, inner: &mut Inner, feed: &FeedInput<'_>) -> Processed {
        if !feed.content_type.starts_with("application/json") {
            return Self::fatal(
                feed,
                "JSON_LISTINGS_FEED documents must have the content type application/json.",
            );
        }
        let Ok(doc) = serde_json::from_slice::<Value>(feed.document) else {
            return Self::fatal(feed, "The feed document is not valid JSON.");
        };
        if doc["header"]["version"] != "2.0" {
            return Self::fatal(feed, "The feed header must have version '2.0'.");
        }
        if doc["header"]["sellerId"] != feed.seller_id {
            return Self::fatal(
                feed,
                "The sellerId in the feed header is not the selling partner that submitted the feed.",
            );
        }
        let Some(messages) = doc["messages"].as_array() else {
            return Self::fatal(feed, "The feed has no 'messages' array.");
        };
        if messages.len() > LISTINGS_FEED_MAX_MESSAGES {
            return Self::fatal(
                feed,
                &format!(
                    "The feed has {} messages; at most {LISTINGS_FEED_MAX_MESSAGES} are accepted.",
                    messages.len()
                ),
            );
        }
        let mut issues = Vec::new();
        let (mut accepted, mut invalid) = (0u64, 0u64);
        let mut seen = std::collections::HashSet::new();
        for m in messages {
            let id = m["messageId"].as_u64().filter(|&i| i >= 1);
            let sku = m["sku"].as_str().filter(|s| !s.is_empty());
            let mut errors: Vec<(String, String, Option<String>)> = Vec::new();
            match (id, sku) {
                (None, _) => errors.push((
                    "4000002".into(),
                    "'messageId' must be an integer of 1 or more.".into(),
                    None,
                )),
                (Some(i), _) if !seen.insert(i) => errors.push((
                    "4000002".into(),
                    format!("'messageId' {i} is used by an earlier message."),
                    None,
                )),
                (_, None) => errors.push(("4000002".into(), "'sku' is required.".into(), None)),
                (Some(_), Some(sku)) => match m["operationType"].as_str() {
                    Some("PATCH") => {
                        if !m["productType"].is_string() {
                            errors.push((
                                "4000002".into(),
                                "'productType' is required for PATCH.".into(),
                                None,
                            ));
                        } else {
                            for i in apply_patches(
                                &mut inner.feeds.listings,
                                feed.seller_id,
                                sku,
                                &m["patches"],
                                feed.marketplace_ids,
                                feed.now,
                                true,
                            ) {
                                errors.push((i.code.to_string(), i.message, i.attribute));
                            }
                        }
                    }
                    other => errors.push((
                        "4000003".into(),
                        format!(
                            "operationType {} is not supported by the simulator (PATCH is).",
                            other.unwrap_or("(missing)")
                        ),
                        None,
                    )),
                },
            }
            if errors.is_empty() {
                accepted += 1;
            } else {
                invalid += 1;
            }
            for (code, message, attribute) in errors {
                let mut issue = json!({"code": code, "severity": "ERROR", "message": message});
                if let Some(i) = id {
                    issue["messageId"] = json!(i);
                }
                if let Some(s) = sku {
                    issue["sku"] = json!(s);
                }
                if let Some(a) = attribute {
                    issue["attributeName"] = json!(a);
                }
                issues.push(issue);
            }
        }
        let report = json!({
            "header": {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": issues,
            "summary": {
                "errors": issues.len(),
                "warnings": 0,
                "messagesProcessed": accepted + invalid,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            }
        });
        Processed {
            done: true,
            report: Some(("application/json".into(), report.to_string().into_bytes())),
        }
    }
}
