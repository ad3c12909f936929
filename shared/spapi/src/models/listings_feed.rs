//! `JSON_LISTINGS_FEED` v2: the feed document
//! (`shared/amazon/schemas/listings-feed-schema-v2.json`) and its processing
//! report (`listings-feed-processing-report-schema-v2.json`).

use serde::{Deserialize, Serialize};

use super::listings::{PatchOperation, Severity};

pub const FEED_TYPE: &str = "JSON_LISTINGS_FEED";
pub const VERSION: &str = "2.0";
/// Most messages Amazon accepts in one feed (changelog 2025-05-06).
pub const MAX_MESSAGES: usize = 25_000;

/// `header` of the feed.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FeedHeader {
    pub seller_id: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_locale: Option<String>,
}

/// `operationType` of a message (only the ones the connector sends).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationType {
    Patch,
}

/// One `PATCH` message.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FeedMessage {
    /// 1-based, unique within the feed; the report refers to it.
    pub message_id: u32,
    pub sku: String,
    pub operation_type: OperationType,
    pub product_type: String,
    pub patches: Vec<PatchOperation>,
}

/// The whole feed document.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ListingsFeed {
    pub header: FeedHeader,
    pub messages: Vec<FeedMessage>,
}

impl ListingsFeed {
    pub fn new(seller_id: &str) -> Self {
        Self {
            header: FeedHeader {
                seller_id: seller_id.to_string(),
                version: VERSION.to_string(),
                issue_locale: None,
            },
            messages: Vec::new(),
        }
    }
}

/// `header` of the processing report.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportHeader {
    pub seller_id: String,
    pub version: String,
    pub feed_id: String,
}

/// One issue of the report; without `messageId` it concerns the whole feed.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportIssue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub severity: Severity,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_name: Option<String>,
}

/// `summary` of the report.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportSummary {
    pub errors: u64,
    pub warnings: u64,
    pub messages_processed: u64,
    pub messages_accepted: u64,
    pub messages_invalid: u64,
}

/// The processing report of a `JSON_LISTINGS_FEED`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ProcessingReport {
    pub header: ReportHeader,
    pub issues: Vec<ReportIssue>,
    pub summary: ReportSummary,
}

impl ProcessingReport {
    /// Reads a downloaded report. A report that does not fit the schema is
    /// [`crate::SpApiError::Decode`] (operation `getFeedDocument`) with the
    /// path of the field that broke and no value from the document.
    pub fn parse(bytes: &[u8]) -> Result<Self, crate::SpApiError> {
        crate::decode::decode(domain::Operation::GetFeedDocument, 200, None, bytes)
    }

    /// The message ids that have at least one `ERROR` issue: not applied.
    pub fn rejected_message_ids(&self) -> std::collections::BTreeSet<u32> {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .filter_map(|i| i.message_id)
            .collect()
    }

    /// `ERROR` issues that name no message: the feed as a whole failed.
    pub fn feed_level_errors(&self) -> impl Iterator<Item = &ReportIssue> {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Error && i.message_id.is_none())
    }
}
