//! Feeds API v2021-06-30 in the simulator, for any feed type.
//!
//! - **Feed documents**: `createFeedDocument` answers a pre-signed URL on the
//!   simulator itself (`/feed-documents/{id}?signature=...`, valid 5 simulated
//!   minutes). The URL behaves like S3's: `PUT` with the document's
//!   `Content-Type` (else 403 `SignatureDoesNotMatch`), no `x-amz-*` header
//!   that was not signed (so an LWA token on it gets 403 `HeadersNotSigned`).
//! - **Feeds**: `IN_QUEUE` → `IN_PROGRESS` → `DONE`/`FATAL` driven by simulated
//!   time (queue and processing delays, [`FeedTiming`]), `CANCELLED` through
//!   control while still queued. When a feed's processing ends, the
//!   [`FeedProcessor`] registered for its feed type runs on the whole state
//!   and its report becomes the `resultFeedDocumentId` (gzipped, with
//!   `compressionAlgorithm: GZIP`, when larger than [`GZIP_OVER`] bytes).
//!   Feeds are settled lazily whenever anything observes them (`getFeed`,
//!   `getListingsItem`, control).
//! - **Processors**: one per feed type in [`FeedsState::processors`]; the
//!   default set is [`default_processors`] (`JSON_LISTINGS_FEED`:
//!   [`ListingsFeedProcessor`]). Another feed type (e.g.
//!   `POST_ORDER_FULFILLMENT_DATA`) registers its own with one line there or
//!   through `SimControl::register_feed_processor`. An unknown feed type is
//!   refused by `createFeed` (400 InvalidInput), as Amazon does.
//! - **Limits**: `JSON_LISTINGS_FEED` accepts 5 submissions per 5 simulated
//!   minutes per seller (the 6th gets 429 QuotaExceeded), and at most 25,000
//!   messages (more: the feed ends `FATAL`).
//! - **Faults**: `SimControl::stall_feeds(seller, n)` makes the seller's next
//!   `n` feeds stay `IN_PROGRESS` for ever (a known Amazon failure mode).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use serde_json::{Value, json};

use crate::faults::OpCall;
use crate::http::{error_list, quota_exceeded};
use crate::listings::{Listings, apply_patches};
use crate::search::invalid_input;
use crate::spapi::pipeline;
use crate::state::{Inner, Shared, Stamp, iso, random_token};

/// Reports larger than this are stored gzipped (`compressionAlgorithm: GZIP`).
pub const GZIP_OVER: usize = 4096;
/// How long a pre-signed URL works (simulated time).
pub const URL_LIFETIME: Duration = Duration::from_secs(300);
pub const LISTINGS_FEED: &str = "JSON_LISTINGS_FEED";
/// JSON_LISTINGS_FEED: submissions per window, the window, messages per feed.
pub const LISTINGS_FEEDS_PER_WINDOW: usize = 5;
pub const LISTINGS_FEED_WINDOW: Duration = Duration::from_secs(300);
pub const LISTINGS_FEED_MAX_MESSAGES: usize = 25_000;

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

/// The input of a processor: one feed and its uploaded document.
pub(crate) struct FeedInput<'a> {
    pub feed_id: &'a str,
    pub seller_id: &'a str,
    // Not every processor needs it (the listings feed does not).
    #[allow(dead_code)]
    pub feed_type: &'a str,
    pub marketplace_ids: &'a [String],
    pub content_type: &'a str,
    pub document: &'a [u8],
    /// The simulated moment processing ends.
    pub now: DateTime<Utc>,
}

/// What processing a feed produced.
pub(crate) struct Processed {
    /// `DONE` (`true`) or `FATAL`.
    pub done: bool,
    /// The processing report: content type and bytes.
    pub report: Option<(String, Vec<u8>)>,
}

/// Applies one feed type to the simulator's state and writes its report.
pub(crate) trait FeedProcessor: Send + Sync {
    fn process(&self, inner: &mut Inner, feed: &FeedInput<'_>) -> Processed;
}

/// The processors a new simulator knows, by feed type.
pub(crate) fn default_processors() -> HashMap<String, Arc<dyn FeedProcessor>> {
    let mut m: HashMap<String, Arc<dyn FeedProcessor>> = HashMap::new();
    m.insert(LISTINGS_FEED.to_string(), Arc::new(ListingsFeedProcessor));
    m.insert(
        crate::shipments::ORDER_FULFILLMENT_FEED.to_string(),
        Arc::new(crate::shipments::OrderFulfillmentProcessor),
    );
    m
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
    fn terminal(self) -> bool {
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
struct Signature {
    document_id: String,
    upload: bool,
    issued: Stamp,
}

pub(crate) struct FeedRecord {
    pub id: String,
    pub seller: String,
    pub feed_type: String,
    pub marketplace_ids: Vec<String>,
    pub input_document: String,
    pub created_at: DateTime<Utc>,
    created: Stamp,
    /// The timing in force when the feed was created.
    timing: FeedTiming,
    pub status: Status,
    stalled: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub result_document: Option<String>,
}

impl FeedRecord {
    fn to_json(&self) -> Value {
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
pub struct FeedsState {
    pub(crate) documents: HashMap<String, Document>,
    signatures: HashMap<String, Signature>,
    pub(crate) feeds: BTreeMap<String, FeedRecord>,
    next_id: u64,
    /// seller → when its recent JSON_LISTINGS_FEEDs were created
    listings_feed_times: HashMap<String, VecDeque<Stamp>>,
    /// seller → how many of its next feeds stay IN_PROGRESS
    stall: HashMap<String, u32>,
    pub timing: FeedTiming,
    pub(crate) processors: HashMap<String, Arc<dyn FeedProcessor>>,
    pub listings: Listings,
    /// getFeeds page tokens: token → (seller, the filter, offset).
    page_tokens: HashMap<String, (String, FeedFilter, usize)>,
}

/// What a getFeeds call asked for (a continuation keeps it).
#[derive(Clone, Debug, Default)]
struct FeedFilter {
    types: Vec<String>,
    markets: Vec<String>,
    statuses: Vec<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    page_size: usize,
}

impl Default for FeedsState {
    fn default() -> Self {
        Self {
            documents: HashMap::new(),
            signatures: HashMap::new(),
            feeds: BTreeMap::new(),
            next_id: 0,
            listings_feed_times: HashMap::new(),
            stall: HashMap::new(),
            timing: FeedTiming::default(),
            processors: default_processors(),
            listings: Listings::default(),
            page_tokens: HashMap::new(),
        }
    }
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
    fn next_id(&mut self) -> u64 {
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

    fn take_stall(&mut self, seller: &str) -> bool {
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
    fn store_report(&mut self, seller: &str, content_type: String, bytes: Vec<u8>) -> String {
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

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Moves every feed along to where simulated time has brought it; feeds
/// whose processing ended are processed now, oldest first.
pub(crate) fn settle(inner: &mut Inner, speed: f64) {
    let due: Vec<String> = inner
        .feeds
        .feeds
        .values()
        .filter(|f| !f.status.terminal())
        .map(|f| f.id.clone())
        .collect();
    for id in due {
        let (elapsed, created_at, stalled, timing) = match inner.feeds.feeds.get(&id) {
            Some(f) => (
                inner.sim_elapsed(f.created, speed),
                f.created_at,
                f.stalled,
                f.timing,
            ),
            None => continue,
        };
        let start = created_at + delta(timing.in_queue);
        if elapsed < timing.in_queue {
            continue;
        }
        if let Some(f) = inner.feeds.feeds.get_mut(&id) {
            f.status = Status::InProgress;
            f.started_at = Some(start);
        }
        if stalled || elapsed < timing.in_queue + timing.in_progress {
            continue;
        }
        let end = start + delta(timing.in_progress);
        finish(inner, &id, end);
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn finish(inner: &mut Inner, id: &str, end: DateTime<Utc>) {
    let Some(f) = inner.feeds.feeds.get(id) else {
        return;
    };
    let (seller, feed_type, markets, doc_id) = (
        f.seller.clone(),
        f.feed_type.clone(),
        f.marketplace_ids.clone(),
        f.input_document.clone(),
    );
    let processor = inner.feeds.processors.get(&feed_type).cloned();
    let document = inner.feeds.documents.get(&doc_id).and_then(|d| {
        d.content
            .as_ref()
            .map(|c| (d.content_type.clone(), c.clone()))
    });
    let processed = match (processor, document) {
        (Some(p), Some((content_type, bytes))) => p.process(
            inner,
            &FeedInput {
                feed_id: id,
                seller_id: &seller,
                feed_type: &feed_type,
                marketplace_ids: &markets,
                content_type: &content_type,
                document: &bytes,
                now: end,
            },
        ),
        // Nothing was uploaded, or the type lost its processor: FATAL.
        _ => Processed {
            done: false,
            report: None,
        },
    };
    let result = processed
        .report
        .map(|(ct, bytes)| inner.feeds.store_report(&seller, ct, bytes));
    if let Some(f) = inner.feeds.feeds.get_mut(id) {
        f.status = if processed.done {
            Status::Done
        } else {
            Status::Fatal
        };
        f.ended_at = Some(end);
        f.result_document = result;
    }
}

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

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/feeds/2021-06-30/documents", post(create_document_route))
        .route(
            "/feeds/2021-06-30/documents/{document_id}",
            get(get_document_route),
        )
        .route(
            "/feeds/2021-06-30/feeds",
            post(create_feed_route).get(get_feeds_route),
        )
        .route("/feeds/2021-06-30/feeds/{feed_id}", get(get_feed_route))
        .route(
            "/feed-documents/{document_id}",
            get(download_route)
                .put(upload_route)
                // A 25,000-message feed is ~5 MB; axum's default is 2 MB.
                .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024)),
        )
}

fn not_found(what: &str) -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        error_list("NotFound", &format!("{what} not found."), ""),
    )
}

/// A pre-signed URL on this simulator for `document_id`.
fn sign(inner: &mut Inner, host: &str, document_id: &str, upload: bool) -> String {
    let token = random_token(32);
    let issued = inner.stamp();
    inner.feeds.signatures.insert(
        token.clone(),
        Signature {
            document_id: document_id.to_string(),
            upload,
            issued,
        },
    );
    format!("http://{host}/feed-documents/{document_id}?X-Amz-Signature={token}")
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

async fn create_document_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let call = OpCall {
        op: Operation::CreateFeedDocument,
        has_page_token: false,
    };
    let host = host(&headers);
    let mut resp = pipeline(&shared, call, &headers, move |inner, seller, _| {
        let Json(body) = body.map_err(|_| invalid_input("The request body is not valid JSON."))?;
        let content_type = body["contentType"]
            .as_str()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| invalid_input("Missing required 'contentType'."))?
            .to_string();
        let id = format!("amzn1.tortuga.4.eu.{}", inner.feeds.next_id());
        inner.feeds.documents.insert(
            id.clone(),
            Document {
                seller: seller.to_string(),
                content_type,
                content: None,
                gzip: false,
            },
        );
        let url = sign(inner, &host, &id, true);
        Ok(json!({ "feedDocumentId": id, "url": url }))
    })
    .await;
    if resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::CREATED;
    }
    resp
}

async fn get_document_route(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = OpCall {
        op: Operation::GetFeedDocument,
        has_page_token: false,
    };
    let host = host(&headers);
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        let gzip = match inner.feeds.documents.get(&document_id) {
            Some(d) if d.seller == seller => d.gzip,
            _ => return Err(not_found("Feed document")),
        };
        let url = sign(inner, &host, &document_id, false);
        let mut v = json!({ "feedDocumentId": document_id, "url": url });
        if gzip {
            v["compressionAlgorithm"] = json!("GZIP");
        }
        Ok(v)
    })
    .await
}

async fn create_feed_route(
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
        if !inner.feeds.processors.contains_key(&feed_type) {
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

async fn get_feed_route(
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

fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, (StatusCode, Value)> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid_input(format!("'{name}' is not an ISO 8601 date and time.")))
}

fn list(params: &HashMap<String, String>, name: &str) -> Vec<String> {
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
async fn get_feeds_route(
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

/// S3's error body.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

/// Checks a pre-signed URL: known signature for this document and direction,
/// not expired, and no unsigned `x-amz-*` header (an SP-API token).
fn check_signature(
    inner: &Inner,
    speed: f64,
    document_id: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    upload: bool,
) -> Result<(), Box<Response>> {
    let sig = params
        .get("X-Amz-Signature")
        .and_then(|s| inner.feeds.signatures.get(s))
        .filter(|s| s.document_id == document_id && s.upload == upload)
        .ok_or_else(|| {
            Box::new(s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ))
        })?;
    if inner.sim_elapsed(sig.issued, speed) > URL_LIFETIME {
        return Err(Box::new(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        )));
    }
    if headers.keys().any(|k| k.as_str().starts_with("x-amz-")) {
        return Err(Box::new(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "There were headers present in the request which were not signed",
        )));
    }
    Ok(())
}

async fn upload_route(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = shared.lock();
    if let Err(resp) = check_signature(&inner, shared.speed, &document_id, &params, &headers, true)
    {
        return *resp;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(doc) = inner.feeds.documents.get_mut(&document_id) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if doc.content_type != content_type {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The Content-Type is not the one the URL was signed for.",
        );
    }
    doc.content = Some(body.to_vec());
    StatusCode::OK.into_response()
}

async fn download_route(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let inner = shared.lock();
    if let Err(resp) = check_signature(&inner, shared.speed, &document_id, &params, &headers, false)
    {
        return *resp;
    }
    match inner
        .feeds
        .documents
        .get(&document_id)
        .and_then(|d| d.content.clone().map(|c| (d.content_type.clone(), c)))
    {
        Some((ct, bytes)) => {
            let mut resp = (StatusCode::OK, bytes).into_response();
            if let Ok(v) = HeaderValue::from_str(&ct) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        None => s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}

/// Control: cancels a feed that is still `IN_QUEUE` (as `cancelFeed` would).
pub(crate) fn cancel(
    inner: &mut Inner,
    speed: f64,
    seller: &str,
    feed_id: &str,
) -> Result<(), String> {
    settle(inner, speed);
    match inner.feeds.feeds.get_mut(feed_id) {
        Some(f) if f.seller == seller && f.status == Status::InQueue => {
            f.status = Status::Cancelled;
            Ok(())
        }
        Some(f) if f.seller == seller => Err(format!(
            "feed {feed_id} is {} and can no longer be cancelled",
            f.status.as_str()
        )),
        _ => Err(format!("no feed {feed_id} for seller {seller}")),
    }
}

/// A feed as control shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedView {
    pub feed_id: String,
    pub feed_type: String,
    /// `IN_QUEUE`, `IN_PROGRESS`, `DONE`, `FATAL` or `CANCELLED`.
    pub status: String,
    pub created: DateTime<Utc>,
    pub result_document_id: Option<String>,
}

impl crate::SimControl {
    /// Lists SKUs for the seller (replacing listings with the same SKU).
    pub fn seed_listings(
        &self,
        seller_id: &str,
        specs: Vec<crate::listings::ListingSpec>,
    ) -> Result<(), crate::SimError> {
        self.with(|s| {
            s.seller(seller_id)?;
            let now = s.now();
            let listings = s
                .feeds
                .listings
                .by_seller
                .entry(seller_id.to_string())
                .or_default();
            for spec in specs {
                if spec.sku.is_empty() {
                    return Err(crate::SimError::InvalidSpec("a listing needs a SKU".into()));
                }
                listings.insert(
                    spec.sku.clone(),
                    crate::listings::Listing::from_spec(&spec, now),
                );
            }
            Ok(())
        })
    }

    /// The seller's `DEFAULT` (MFN) quantity per SKU, after every feed that
    /// has finished by now was applied. `None` = listed without a quantity.
    pub fn listing_quantities(&self, seller_id: &str) -> BTreeMap<String, Option<u32>> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            s.feeds
                .listings
                .by_seller
                .get(seller_id)
                .map(|l| {
                    l.iter()
                        .map(|(sku, listing)| (sku.clone(), listing.quantity("DEFAULT")))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// One SKU's `DEFAULT` quantity (`None`: not listed, or no quantity).
    pub fn listing_quantity(&self, seller_id: &str, sku: &str) -> Option<u32> {
        self.listing_quantities(seller_id)
            .get(sku)
            .copied()
            .flatten()
    }

    /// The `DEFAULT` quantity the SKU's listing offers in `marketplace`
    /// (the last patch or feed naming it, else the seeded value).
    pub fn listing_quantity_in(
        &self,
        seller_id: &str,
        sku: &str,
        marketplace: &str,
    ) -> Option<u32> {
        self.with(|s| {
            s.feeds
                .listings
                .by_seller
                .get(seller_id)?
                .get(sku)?
                .quantity_in(marketplace, "DEFAULT")
        })
    }

    /// The quantity the SKU's listing offers on `channel` (`None` if not listed
    /// or nothing on that channel).
    pub fn listing_channel_quantity(
        &self,
        seller_id: &str,
        sku: &str,
        channel: &str,
    ) -> Option<u32> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            s.feeds
                .listings
                .by_seller
                .get(seller_id)
                .and_then(|l| l.get(sku))
                .and_then(|l| l.quantity(channel))
        })
    }

    /// How many patches were applied to the SKU's listing (0 if not listed).
    pub fn listing_patches(&self, seller_id: &str, sku: &str) -> u64 {
        self.with(|s| {
            s.feeds
                .listings
                .by_seller
                .get(seller_id)
                .and_then(|l| l.get(sku))
                .map_or(0, |l| l.patches_applied)
        })
    }

    /// Every later patch of the listed SKU (by `patchListingsItem` or in a
    /// feed) is refused with this issue code and message.
    pub fn refuse_listing(
        &self,
        seller_id: &str,
        sku: &str,
        code: &str,
        message: &str,
    ) -> Result<(), crate::SimError> {
        self.with(|s| {
            let listing = s
                .feeds
                .listings
                .by_seller
                .get_mut(seller_id)
                .and_then(|l| l.get_mut(sku))
                .ok_or_else(|| {
                    crate::SimError::InvalidSpec(format!("{sku} is not listed for {seller_id}"))
                })?;
            listing.refusal = Some((code.to_string(), message.to_string()));
            Ok(())
        })
    }

    /// The seller's next `n` feeds stay `IN_PROGRESS` for ever (0 clears).
    pub fn stall_feeds(&self, seller_id: &str, n: u32) {
        self.with(|s| s.feeds.stall_next(seller_id, n));
    }

    /// How long feeds created from now on wait and are processed, in
    /// simulated time.
    pub fn set_feed_timing(&self, timing: FeedTiming) {
        self.with(|s| s.feeds.timing = timing);
    }

    /// The seller's feeds, oldest first, moved along to now.
    pub fn feeds(&self, seller_id: &str) -> Vec<FeedView> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            s.feeds
                .feeds
                .values()
                .filter(|f| f.seller == seller_id)
                .map(|f| FeedView {
                    feed_id: f.id.clone(),
                    feed_type: f.feed_type.clone(),
                    status: f.status.as_str().to_string(),
                    created: f.created_at,
                    result_document_id: f.result_document.clone(),
                })
                .collect()
        })
    }

    /// The document a feed was submitted with, as uploaded (`None` if the
    /// feed is unknown or nothing was uploaded).
    pub fn feed_input(&self, seller_id: &str, feed_id: &str) -> Option<(String, Vec<u8>)> {
        self.with(|s| {
            let f = s
                .feeds
                .feeds
                .get(feed_id)
                .filter(|f| f.seller == seller_id)?;
            let d = s.feeds.documents.get(&f.input_document)?;
            Some((d.content_type.clone(), d.content.clone()?))
        })
    }

    /// A feed's processing report, decompressed (`None` until there is one).
    pub fn feed_report(&self, seller_id: &str, feed_id: &str) -> Option<Vec<u8>> {
        let speed = self.speed();
        self.with(|s| {
            settle(s, speed);
            let f = s
                .feeds
                .feeds
                .get(feed_id)
                .filter(|f| f.seller == seller_id)?;
            let d = s.feeds.documents.get(f.result_document.as_ref()?)?;
            let content = d.content.clone()?;
            if d.gzip {
                let mut out = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(content.as_slice()),
                    &mut out,
                )
                .ok()?;
                Some(out)
            } else {
                Some(content)
            }
        })
    }

    /// Cancels a feed still `IN_QUEUE` (as Amazon's `cancelFeed`).
    pub fn cancel_feed(&self, seller_id: &str, feed_id: &str) -> Result<(), crate::SimError> {
        let speed = self.speed();
        self.with(|s| cancel(s, speed, seller_id, feed_id))
            .map_err(crate::SimError::InvalidSpec)
    }
}

/// The `/_sim` control routes for listings and feeds (merged into
/// `control_http::routes`).
pub(crate) fn control_routes() -> Router<crate::SimControl> {
    Router::new()
        .route(
            "/_sim/sellers/{seller}/listings",
            post(seed_listings_http).get(listings_http),
        )
        .route("/_sim/sellers/{seller}/feeds", get(feeds_http))
        .route("/_sim/sellers/{seller}/feeds/stall", post(stall_http))
}

type ControlAnswer = Result<Json<Value>, crate::control_http::ControlError>;

async fn seed_listings_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
    body: Result<Json<Vec<crate::listings::ListingSpec>>, JsonRejection>,
) -> ControlAnswer {
    let Json(specs) = body?;
    c.seed_listings(&seller, specs)?;
    Ok(Json(json!({ "ok": true })))
}

async fn listings_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
) -> ControlAnswer {
    Ok(Json(json!({ "quantities": c.listing_quantities(&seller) })))
}

async fn feeds_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
) -> ControlAnswer {
    Ok(Json(json!({ "feeds": c.feeds(&seller) })))
}

#[derive(serde::Deserialize)]
struct StallBody {
    count: u32,
}

async fn stall_http(
    State(c): State<crate::SimControl>,
    Path(seller): Path<String>,
    body: Result<Json<StallBody>, JsonRejection>,
) -> ControlAnswer {
    let Json(b) = body?;
    c.stall_feeds(&seller, b.count);
    Ok(Json(json!({ "ok": true })))
}
