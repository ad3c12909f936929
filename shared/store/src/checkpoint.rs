//! Checkpoints (`SELLER#<id>` / `CHECKPOINT#<job>`): where a job resumes
//! (a time window, a page token) after "resume later". Writes are
//! optimistic: each names the version it read, so two overlapping runs
//! cannot silently move the same checkpoint.

use chrono::{DateTime, Utc};
use domain::SellerId;

use crate::item::{Item, format_time, n, s};
use crate::keys::Key;
use crate::memory::MemoryStore;
use crate::partition::{VERSION, VersionedItems};
use crate::settings::{from_json, to_json};
use crate::{Store, StoreError};

const JOB: &str = "job";
const VALUE: &str = "value";
const UPDATED_AT: &str = "updated_at";

#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub job: String,
    /// Whatever the job needs to resume (its own JSON shape).
    pub value: serde_json::Value,
    /// 1 for the first write, +1 for each later one.
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait Checkpoints: Send + Sync {
    async fn get_checkpoint(
        &self,
        seller: &SellerId,
        job: &str,
    ) -> Result<Option<Checkpoint>, StoreError>;

    /// Writes `value` if the stored version is still `expected_version`
    /// (`None`: there must be no checkpoint yet) and returns the new version;
    /// [`StoreError::Conflict`] if another run wrote in between.
    async fn put_checkpoint(
        &self,
        seller: &SellerId,
        job: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<u64, StoreError>;
}

/// The version a write after `expected` gets.
pub(crate) fn next_version(expected: Option<u64>) -> u64 {
    expected.map_or(1, |v| v.saturating_add(1))
}

pub(crate) fn checkpoint_item(seller: &SellerId, c: &Checkpoint) -> Result<Item, StoreError> {
    Ok(Item::new(&Key::checkpoint(seller, &c.job))
        .with(JOB, s(c.job.clone()))
        .with(VALUE, s(to_json("checkpoint", &c.value)?))
        .with(VERSION, n(c.version))
        .with(UPDATED_AT, s(format_time(c.updated_at))))
}

impl TryFrom<&Item> for Checkpoint {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            job: item.s(JOB)?.to_string(),
            value: from_json("checkpoint", item.s(VALUE)?)?,
            version: item.n(VERSION)?,
            updated_at: item.time(UPDATED_AT)?,
        })
    }
}

/// A seller's checkpoint of `job`, read the one way both stores keep it.
async fn get<S: VersionedItems>(
    store: &S,
    seller: &SellerId,
    job: &str,
) -> Result<Option<Checkpoint>, StoreError> {
    store.get_as(&Key::checkpoint(seller, job)).await
}

/// Writes a checkpoint conditional on its version, the one way both stores
/// do it ([`VersionedItems::put_versioned`]: the table's condition or its
/// memory twin).
async fn put<S: VersionedItems>(
    store: &S,
    seller: &SellerId,
    job: &str,
    value: &serde_json::Value,
    expected_version: Option<u64>,
) -> Result<u64, StoreError> {
    let key = Key::checkpoint(seller, job);
    let checkpoint = Checkpoint {
        job: job.to_string(),
        value: value.clone(),
        version: next_version(expected_version),
        updated_at: store.now(),
    };
    match store
        .put_versioned(
            &key,
            checkpoint_item(seller, &checkpoint)?,
            expected_version,
        )
        .await
    {
        Ok(()) => {
            tracing::debug!(seller = %seller, job, version = checkpoint.version, "checkpoint written");
            Ok(checkpoint.version)
        }
        Err(conflict @ StoreError::Conflict { .. }) => {
            tracing::warn!(seller = %seller, job, expected = ?expected_version, "checkpoint moved by another run");
            Err(conflict)
        }
        Err(e) => Err(e),
    }
}

#[async_trait::async_trait]
impl Checkpoints for Store {
    async fn get_checkpoint(
        &self,
        seller: &SellerId,
        job: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        get(self, seller, job).await
    }

    async fn put_checkpoint(
        &self,
        seller: &SellerId,
        job: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<u64, StoreError> {
        put(self, seller, job, value, expected_version).await
    }
}

#[async_trait::async_trait]
impl Checkpoints for MemoryStore {
    async fn get_checkpoint(
        &self,
        seller: &SellerId,
        job: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        get(self, seller, job).await
    }

    async fn put_checkpoint(
        &self,
        seller: &SellerId,
        job: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<u64, StoreError> {
        put(self, seller, job, value, expected_version).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PK;

    #[test]
    fn checkpoints_round_trip() {
        let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
        let c = Checkpoint {
            job: "orders".into(),
            value: serde_json::json!({"after": "2026-03-01T00:00:00Z", "page": null}),
            version: 4,
            updated_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        let item = checkpoint_item(&seller, &c).unwrap();
        assert_eq!(item.s(PK).unwrap(), "SELLER#A3EXAMPLESELLER");
        assert_eq!(Checkpoint::try_from(&item).unwrap(), c);
        assert_eq!(next_version(None), 1);
        assert_eq!(next_version(Some(4)), 5);
    }
}
