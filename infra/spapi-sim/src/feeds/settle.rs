//! How simulated time moves feeds along: `IN_QUEUE` → `IN_PROGRESS` →
//! `DONE`/`FATAL`, settled lazily whenever anything observes a feed; the
//! feed type's processor runs when processing ends.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::processor::{FeedInput, Processed};
use super::registry::processor_for;
use super::types::Status;
use crate::state::Inner;

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

pub(super) fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

pub(super) fn finish(inner: &mut Inner, id: &str, end: DateTime<Utc>) {
    let Some(f) = inner.feeds.feeds.get(id) else {
        return;
    };
    let (seller, feed_type, markets, doc_id) = (
        f.seller.clone(),
        f.feed_type.clone(),
        f.marketplace_ids.clone(),
        f.input_document.clone(),
    );
    let processor = processor_for(&feed_type);
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
