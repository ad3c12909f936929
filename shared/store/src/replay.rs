//! The dead-letter replay journal (`REPLAY#<dead-letter queue>` /
//! `MSG#<message id>`), so a replay that is interrupted and run again loses
//! nothing and sends nothing twice: a message is marked `PENDING` before it
//! is sent back to its source queue, `SENT` after, and deleted from the
//! dead-letter queue last. A run that finds `SENT` only deletes the message;
//! one that finds `PENDING` (the run before died around the send) sends it
//! again — with the same deduplication id on a FIFO queue — because it
//! cannot know whether the send happened. Entries expire with the
//! dead-letter queue's retention (14 days). No message bodies are stored.

use chrono::{DateTime, Utc};

use crate::item::{Expr, Item, Written, format_time, n, s};
use crate::keys::{EXPIRES_AT, Key, PK};
use crate::memory::MemoryStore;
use crate::{Store, StoreError};

const STATE: &str = "state";
const TARGET: &str = "target";
const STARTED_AT: &str = "started_at";
const SENT_AT: &str = "sent_at";

impl Key {
    pub fn replay(dead_letter_queue: &str, message_id: &str) -> Self {
        Self {
            pk: format!("REPLAY#{dead_letter_queue}"),
            sk: format!("MSG#{message_id}"),
        }
    }
}

/// Where a message's replay stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayState {
    /// Marked, perhaps sent: a run died between the mark and the record.
    Pending { target: String, at: DateTime<Utc> },
    /// Sent back to `target`; only the deletion may be missing.
    Sent { target: String, at: DateTime<Utc> },
}

fn read(item: &Item) -> Result<ReplayState, StoreError> {
    let target = item.s(TARGET)?.to_string();
    match item.s(STATE)? {
        "PENDING" => Ok(ReplayState::Pending {
            target,
            at: item.time(STARTED_AT)?,
        }),
        "SENT" => Ok(ReplayState::Sent {
            target,
            at: item.time(SENT_AT)?,
        }),
        _ => Err(item.malformed(STATE, "is not PENDING or SENT")),
    }
}

/// The journal (DynamoDB, or memory in unit tests).
#[async_trait::async_trait]
pub trait ReplayJournal: Send + Sync {
    /// Marks the message `PENDING` (to `target`) unless it has an entry,
    /// which is returned instead.
    async fn begin_replay(
        &self,
        dead_letter_queue: &str,
        message_id: &str,
        target: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<Option<ReplayState>, StoreError>;

    /// The message reached its source queue.
    async fn replay_sent(
        &self,
        dead_letter_queue: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

fn pending_item(key: &Key, target: &str, now: DateTime<Utc>, expires_at: i64) -> Item {
    Item::new(key)
        .with(STATE, s("PENDING"))
        .with(TARGET, s(target))
        .with(STARTED_AT, s(format_time(now)))
        .with(EXPIRES_AT, n(expires_at))
}

#[async_trait::async_trait]
impl ReplayJournal for Store {
    async fn begin_replay(
        &self,
        dead_letter_queue: &str,
        message_id: &str,
        target: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<Option<ReplayState>, StoreError> {
        let key = Key::replay(dead_letter_queue, message_id);
        let mut e = Expr::new();
        let condition = format!("attribute_not_exists({})", e.name(PK));
        let pending = pending_item(&key, target, now, expires_at);
        match self.put_if(&key, pending, &e, &condition).await? {
            Written::Done(_) => Ok(None),
            Written::ConditionFailed(_) => match self.get_item(&key, true).await? {
                Some(item) => Ok(Some(read(&item)?)),
                // Expired in between: nothing is known, so it is new.
                None => Ok(None),
            },
        }
    }

    async fn replay_sent(
        &self,
        dead_letter_queue: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = Key::replay(dead_letter_queue, message_id);
        let mut e = Expr::new();
        let set = e.assignments([(STATE, s("SENT")), (SENT_AT, s(format_time(now)))]);
        let pk = e.name(PK);
        match self
            .set_if(&key, &e, &set, &format!("attribute_exists({pk})"))
            .await?
        {
            Written::Done(_) => Ok(()),
            Written::ConditionFailed(_) => Err(StoreError::NotFound {
                what: "replay journal entry",
                pk: key.pk,
                sk: key.sk,
            }),
        }
    }
}

// Mirrors `impl ReplayJournal for Store` above: the same rules, in memory (unit tests).
#[async_trait::async_trait]
impl ReplayJournal for MemoryStore {
    async fn begin_replay(
        &self,
        dead_letter_queue: &str,
        message_id: &str,
        target: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<Option<ReplayState>, StoreError> {
        let key = Key::replay(dead_letter_queue, message_id);
        self.with_items(|items| match items.get(&key) {
            Some(item) => Ok(Some(read(item)?)),
            None => {
                items.insert(key.clone(), pending_item(&key, target, now, expires_at));
                Ok(None)
            }
        })
    }

    async fn replay_sent(
        &self,
        dead_letter_queue: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = Key::replay(dead_letter_queue, message_id);
        self.with_items(|items| match items.get_mut(&key) {
            Some(item) => {
                item.set(STATE, s("SENT"));
                item.set(SENT_AT, s(format_time(now)));
                Ok(())
            }
            None => Err(StoreError::NotFound {
                what: "replay journal entry",
                pk: key.pk.clone(),
                sk: key.sk.clone(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_is_pending_then_sent_and_never_begun_twice() {
        let m = MemoryStore::new();
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            m.begin_replay("dlq", "m1", "src", t, 1).await.unwrap(),
            None
        );
        assert_eq!(
            m.begin_replay("dlq", "m1", "src", t, 1).await.unwrap(),
            Some(ReplayState::Pending {
                target: "src".into(),
                at: t
            })
        );
        m.replay_sent("dlq", "m1", t).await.unwrap();
        assert!(matches!(
            m.begin_replay("dlq", "m1", "src", t, 1).await.unwrap(),
            Some(ReplayState::Sent { .. })
        ));
        assert!(m.replay_sent("dlq", "other", t).await.is_err());
        assert_eq!(Key::replay("q", "m").to_string(), "REPLAY#q / MSG#m");
    }
}
