//! Feeds API v2021-06-30 (`feeds_2021-06-30.json`): feed documents, feeds
//! and their processing status. Generic over the feed type: the
//! `JSON_LISTINGS_FEED` document and report are in [`super::listings_feed`],
//! XML feeds bring their own types.

use serde::{Deserialize, Serialize};

/// `CreateFeedDocumentResponse`: where to `PUT` the feed's bytes (5 minutes).
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedDocumentResponse {
    pub feed_document_id: String,
    /// A pre-signed URL: a credential in itself, never logged (see `Debug`).
    pub url: String,
}

impl std::fmt::Debug for CreateFeedDocumentResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateFeedDocumentResponse")
            .field("feed_document_id", &self.feed_document_id)
            .field("url", &"<pre-signed>")
            .finish()
    }
}

/// `CreateFeedResponse`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedResponse {
    pub feed_id: String,
}

/// `Feed.processingStatus`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessingStatus {
    Cancelled,
    Done,
    Fatal,
    InProgress,
    InQueue,
}

impl ProcessingStatus {
    /// `DONE`, `FATAL` or `CANCELLED`: the status will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ProcessingStatus::Done | ProcessingStatus::Fatal | ProcessingStatus::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingStatus::Cancelled => "CANCELLED",
            ProcessingStatus::Done => "DONE",
            ProcessingStatus::Fatal => "FATAL",
            ProcessingStatus::InProgress => "IN_PROGRESS",
            ProcessingStatus::InQueue => "IN_QUEUE",
        }
    }
}

impl std::fmt::Display for ProcessingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Feed` (getFeed's answer). Times stay strings as Amazon sent them
/// (ISO 8601); [`Feed::created`] parses the one the connector uses.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Feed {
    pub feed_id: String,
    pub feed_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marketplace_ids: Vec<String>,
    pub created_time: String,
    pub processing_status: ProcessingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_end_time: Option<String>,
    /// The processing report (present once the feed is `DONE`, often when `FATAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_feed_document_id: Option<String>,
}

/// `GetFeedsResponse`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GetFeedsResponse {
    pub feeds: Vec<Feed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl Feed {
    pub fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.created_time)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// `FeedDocument.compressionAlgorithm`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompressionAlgorithm {
    Gzip,
}

/// `FeedDocument` (getFeedDocument's answer): where to download a document.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FeedDocument {
    pub feed_document_id: String,
    /// A pre-signed URL (5 minutes), never logged.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_algorithm: Option<CompressionAlgorithm>,
}

impl std::fmt::Debug for FeedDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedDocument")
            .field("feed_document_id", &self.feed_document_id)
            .field("url", &"<pre-signed>")
            .field("compression_algorithm", &self.compression_algorithm)
            .finish()
    }
}
