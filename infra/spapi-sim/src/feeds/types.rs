//! What the simulator remembers of Feeds (and the listings they change):
//! feeds, documents, their signatures and limits.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::clock::{Stamp, iso};
use crate::listings::types::Listings;

/// Reports larger than this are stored gzipped (`compressionAlgorithm: GZIP`).
pub const GZIP_OVER: usize = 4096;
/// How long a pre-signed URL works (simulated time).
pub const URL_LIFETIME: Duration = Duration::from_secs(300);

/// How long a feed waits and is processed (simulated time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedTiming {
    pub in_queue: Duration,
    pub in_progress: Duration,
}

impl Default for FeedTiming {
    fn default() -> Self {
        Self {
            in_queue: Duration::from_secs(30),
            in_progress: Duration::from_secs(60),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    InQueue,
    InProgress,
    Done,
    Fatal,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InQueue => "IN_QUEUE",
            Status::InProgress => "IN_PROGRESS",
            Status::Done => "DONE",
            Status::Fatal => "FATAL",
            Status::Cancelled => "CANCELLED",
        }
    }
    pub(super) fn terminal(self) -> bool {
        matches!(self, Status::Done | Status::Fatal | Status::Cancelled)
    }
}

pub(crate) struct Document {
    pub seller: String,
    pub content_type: String,
    pub content: Option<Vec<u8>>,
    pub gzip: bool,
}

/// A pre-signed URL's secret part and what it allows.
pub(crate) struct Signature {
    pub(crate) document_id: String,
    pub(crate) upload: bool,
    pub(crate) issued: Stamp,
}

pub(crate) struct FeedRecord {
    pub id: String,
    pub seller: String,
    pub feed_type: String,
    pub marketplace_ids: Vec<String>,
    pub input_document: String,
    pub created_at: DateTime<Utc>,
    pub(crate) created: Stamp,
    /// The timing in force when the feed was created.
    pub(crate) timing: FeedTiming,
    pub status: Status,
    pub(crate) stalled: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub result_document: Option<String>,
}

impl FeedRecord {
    pub(super) fn to_json(&self) -> Value {
        let mut v = json!({
            "feedId": self.id,
            "feedType": self.feed_type,
            "marketplaceIds": self.marketplace_ids,
            "createdTime": iso(self.created_at),
            "processingStatus": self.status.as_str(),
        });
        if let Some(t) = self.started_at {
            v["processingStartTime"] = json!(iso(t));
        }
        if let Some(t) = self.ended_at {
            v["processingEndTime"] = json!(iso(t));
        }
        if let Some(d) = &self.result_document {
            v["resultFeedDocumentId"] = json!(d);
        }
        v
    }
}

/// Everything the Feeds and Listings APIs keep: one field of `Inner`.
#[derive(Default)]
pub struct FeedsState {
    pub(crate) documents: HashMap<String, Document>,
    pub(crate) signatures: HashMap<String, Signature>,
    pub(crate) feeds: BTreeMap<String, FeedRecord>,
    pub(crate) next_id: u64,
    /// seller → when its recent JSON_LISTINGS_FEEDs were created
    pub(crate) listings_feed_times: HashMap<String, VecDeque<Stamp>>,
    /// seller → how many of its next feeds stay IN_PROGRESS
    pub(crate) stall: HashMap<String, u32>,
    pub timing: FeedTiming,
    pub listings: Listings,
    /// getFeeds page tokens: token → (seller, the filter, offset).
    pub(crate) page_tokens: HashMap<String, (String, FeedFilter, usize)>,
}

/// What a getFeeds call asked for (a continuation keeps it).
#[derive(Clone, Debug, Default)]
pub(crate) struct FeedFilter {
    pub(crate) types: Vec<String>,
    pub(crate) markets: Vec<String>,
    pub(crate) statuses: Vec<String>,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) page_size: usize,
}

impl std::fmt::Debug for FeedsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedsState")
            .field("documents", &self.documents.len())
            .field("feeds", &self.feeds.len())
            .finish()
    }
}

impl FeedsState {
    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        // Amazon's ids are long decimal numbers.
        50_000_000_000 + self.next_id
    }

    pub(crate) fn stall_next(&mut self, seller: &str, n: u32) {
        if n == 0 {
            self.stall.remove(seller);
        } else {
            self.stall.insert(seller.to_string(), n);
        }
    }

    pub(super) fn take_stall(&mut self, seller: &str) -> bool {
        match self.stall.get_mut(seller) {
            Some(n) if *n > 0 => {
                *n -= 1;
                if *n == 0 {
                    self.stall.remove(seller);
                }
                true
            }
            _ => false,
        }
    }

    /// Stores a document the simulator wrote (a report), gzipped if large.
    pub(super) fn store_report(
        &mut self,
        seller: &str,
        content_type: String,
        bytes: Vec<u8>,
    ) -> String {
        let id = format!("amzn1.tortuga.4.eu.{}", self.next_id());
        let (content, gzip) = if bytes.len() > GZIP_OVER {
            (gzip(&bytes), true)
        } else {
            (bytes, false)
        };
        self.documents.insert(
            id.clone(),
            Document {
                seller: seller.to_string(),
                content_type,
                content: Some(content),
                gzip,
            },
        );
        id
    }
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}
