//! Feeds API v2021-06-30: `createFeedDocument`, `createFeed`, `getFeed`,
//! `getFeeds`, `getFeedDocument`. Generic over the feed type and content type; the
//! document upload/download (plain HTTP to Amazon's pre-signed URLs) is on
//! the client: [`crate::SpApi::upload_feed_document`],
//! [`crate::SpApi::download_feed_document`], and the whole flow
//! [`crate::SpApi::submit_feed`].

use std::collections::BTreeMap;

use domain::{MarketplaceId, Operation};
use serde_json::json;

use crate::call::{Call, Method, csv, encode_path_segment};
use crate::models::feeds::{CreateFeedDocumentResponse, CreateFeedResponse, Feed, FeedDocument};

/// `application/json; charset=UTF-8` (JSON_LISTINGS_FEED).
pub const CONTENT_TYPE_JSON: &str = "application/json; charset=UTF-8";
/// `text/xml; charset=UTF-8` (XML feeds such as POST_ORDER_FULFILLMENT_DATA).
pub const CONTENT_TYPE_XML: &str = "text/xml; charset=UTF-8";

/// `POST /feeds/2021-06-30/documents`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateFeedDocument {
    pub content_type: String,
}

impl Call for CreateFeedDocument {
    type Output = CreateFeedDocumentResponse;
    const OPERATION: Operation = Operation::CreateFeedDocument;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        "/feeds/2021-06-30/documents".to_string()
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(json!({ "contentType": self.content_type }))
    }

    fn validate(&self) -> Result<(), String> {
        if self.content_type.trim().is_empty() {
            return Err("contentType is empty".to_string());
        }
        Ok(())
    }
}

/// `POST /feeds/2021-06-30/feeds` (202). Not retried after a 5xx: Amazon
/// might have created the feed (the operation is `Unsafe` in the catalogue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateFeed {
    pub feed_type: String,
    pub marketplace_ids: Vec<MarketplaceId>,
    pub input_feed_document_id: String,
    pub feed_options: BTreeMap<String, String>,
}

impl Call for CreateFeed {
    type Output = CreateFeedResponse;
    const OPERATION: Operation = Operation::CreateFeed;
    const METHOD: Method = Method::Post;

    fn path(&self) -> String {
        "/feeds/2021-06-30/feeds".to_string()
    }

    fn body(&self) -> Option<serde_json::Value> {
        let mut body = json!({
            "feedType": self.feed_type,
            "marketplaceIds": self.marketplace_ids.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "inputFeedDocumentId": self.input_feed_document_id,
        });
        if !self.feed_options.is_empty() {
            body["feedOptions"] = json!(self.feed_options);
        }
        Some(body)
    }

    fn validate(&self) -> Result<(), String> {
        if self.feed_type.trim().is_empty() {
            return Err("feedType is empty".to_string());
        }
        if !(1..=25).contains(&self.marketplace_ids.len()) {
            return Err(format!(
                "{} marketplace ids: a feed takes 1 to 25",
                self.marketplace_ids.len()
            ));
        }
        if self.input_feed_document_id.trim().is_empty() {
            return Err("inputFeedDocumentId is empty".to_string());
        }
        Ok(())
    }
}

/// `GET /feeds/2021-06-30/feeds/{feedId}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetFeed {
    pub feed_id: String,
}

impl Call for GetFeed {
    type Output = Feed;
    const OPERATION: Operation = Operation::GetFeed;

    fn path(&self) -> String {
        format!(
            "/feeds/2021-06-30/feeds/{}",
            encode_path_segment(&self.feed_id)
        )
    }
}

/// `GET /feeds/2021-06-30/feeds`: the seller's recent feeds (Amazon keeps
/// them 90 days). A continuation sends `nextToken` alone, as the model says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetFeeds {
    /// 1 to 10 types (required unless `next_token`).
    pub feed_types: Vec<String>,
    pub marketplace_ids: Vec<MarketplaceId>,
    /// 1 to 100.
    pub page_size: Option<u32>,
    pub created_since: Option<chrono::DateTime<chrono::Utc>>,
    pub next_token: Option<String>,
}

impl Call for GetFeeds {
    type Output = crate::models::feeds::GetFeedsResponse;
    const OPERATION: Operation = Operation::GetFeeds;

    fn path(&self) -> String {
        "/feeds/2021-06-30/feeds".to_string()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        if let Some(token) = &self.next_token {
            return vec![("nextToken", token.clone())];
        }
        let mut q = vec![("feedTypes", csv(&self.feed_types))];
        if !self.marketplace_ids.is_empty() {
            q.push(("marketplaceIds", csv(&self.marketplace_ids)));
        }
        if let Some(n) = self.page_size {
            q.push(("pageSize", n.to_string()));
        }
        if let Some(t) = &self.created_since {
            q.push(("createdSince", super::iso(t)));
        }
        q
    }

    fn validate(&self) -> Result<(), String> {
        if self.next_token.is_some() {
            return Ok(());
        }
        if self.feed_types.is_empty() || self.feed_types.len() > 10 {
            return Err(format!(
                "{} feed types: Amazon needs 1 to 10 (or a nextToken)",
                self.feed_types.len()
            ));
        }
        if self.marketplace_ids.len() > 10 {
            return Err(format!(
                "{} marketplace ids: Amazon accepts at most 10",
                self.marketplace_ids.len()
            ));
        }
        if let Some(n) = self.page_size
            && !(1..=100).contains(&n)
        {
            return Err(format!("pageSize {n} is outside 1..=100"));
        }
        Ok(())
    }
}

/// `GET /feeds/2021-06-30/documents/{feedDocumentId}`: where to download a
/// document (the processing report). The connector decompresses itself, so
/// `enableContentEncodingUrlHeader` is not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetFeedDocument {
    pub feed_document_id: String,
}

impl Call for GetFeedDocument {
    type Output = FeedDocument;
    const OPERATION: Operation = Operation::GetFeedDocument;

    fn path(&self) -> String {
        format!(
            "/feeds/2021-06-30/documents/{}",
            encode_path_segment(&self.feed_document_id)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_feed_body_follows_the_model_and_checks_limits() {
        let mut c = CreateFeed {
            feed_type: "JSON_LISTINGS_FEED".into(),
            marketplace_ids: vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()],
            input_feed_document_id: "doc-1".into(),
            feed_options: BTreeMap::new(),
        };
        assert_eq!(
            c.body().unwrap(),
            json!({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": ["A1PA6795UKMFR9"],
                   "inputFeedDocumentId": "doc-1"})
        );
        assert!(c.validate().is_ok());
        c.marketplace_ids.clear();
        assert!(c.validate().unwrap_err().contains("1 to 25"));
        assert_eq!(
            GetFeed {
                feed_id: "12/3".into()
            }
            .path(),
            "/feeds/2021-06-30/feeds/12%2F3"
        );
    }

    #[test]
    fn get_feeds_sends_the_token_alone_and_checks_limits() {
        let mut g = GetFeeds {
            feed_types: vec![
                "JSON_LISTINGS_FEED".into(),
                "POST_ORDER_FULFILLMENT_DATA".into(),
            ],
            marketplace_ids: vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()],
            page_size: Some(20),
            created_since: None,
            next_token: None,
        };
        assert!(g.validate().is_ok());
        assert_eq!(
            g.query(),
            vec![
                (
                    "feedTypes",
                    "JSON_LISTINGS_FEED,POST_ORDER_FULFILLMENT_DATA".to_string()
                ),
                ("marketplaceIds", "A1PA6795UKMFR9".to_string()),
                ("pageSize", "20".to_string())
            ]
        );
        g.next_token = Some("t".into());
        assert_eq!(g.query(), vec![("nextToken", "t".to_string())]);
        g.next_token = None;
        g.feed_types.clear();
        assert!(g.validate().unwrap_err().contains("1 to 10"));
    }
}
