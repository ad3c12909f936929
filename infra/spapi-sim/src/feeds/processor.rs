//! What a feed type's processor is: it applies a feed to the simulator's
//! state and writes the report (the processors: `registry`).

use chrono::{DateTime, Utc};

use crate::state::Inner;

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
