//! The shared rate buckets (`BUCKET#<scope>` / `OP#<operation>`): the
//! [`BucketStore`] port of `domain::quota` over DynamoDB, so every concurrent
//! Lambda spends from the same bucket.
//!
//! A take reads the bucket (consistent read), computes with the pure bucket
//! math, and writes back only if the item's `version` is still the one read
//! (`attribute_not_exists(version)` for a new bucket). A writer that loses
//! the race reads again after a short random pause, so two concurrent takes
//! never spend the same token. `observe_rate` sets only `observed_rate`, so
//! it never clobbers a concurrent take.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::PortError;
use domain::quota::{BucketKey, BucketState, BucketStore, Limits, TakeOutcome};

use crate::clock::secs_after;
use crate::item::{Expr, Item, Written, format_fraction, n};
use crate::keys::{EXPIRES_AT, Key, VERSION};
use crate::{Store, StoreError, conflict_pause};

const TOKENS: &str = "tokens";
const UPDATED_MS: &str = "updated_ms";
const OBSERVED_RATE: &str = "observed_rate";

/// A bucket unused for this long is deleted by TTL.
const IDLE_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// Default bound on optimistic retries of one take.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 20;

/// [`BucketStore`] over the store's table.
#[derive(Clone, Debug)]
pub struct DynamoBuckets {
    store: Store,
    max_attempts: u32,
}

impl DynamoBuckets {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// How many times one take may lose the race before giving up with a
    /// retryable error (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// A bucket item as read: the state and version of the last take (none for
/// a bucket never taken from) and the rate Amazon last reported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct StoredBucket {
    pub state: Option<(BucketState, u64)>,
    pub observed_rate: Option<f64>,
}

impl TryFrom<&Item> for StoredBucket {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let version: Option<u64> = item.opt_n(VERSION)?;
        let state = match version {
            Some(version) => Some((
                BucketState {
                    tokens: item.n(TOKENS)?,
                    updated_ms: item.n(UPDATED_MS)?,
                },
                version,
            )),
            None => None,
        };
        Ok(Self {
            state,
            observed_rate: item.opt_n(OBSERVED_RATE)?,
        })
    }
}

/// The attributes a take writes.
pub(crate) fn take_attributes(
    state: &BucketState,
    version: u64,
    expires_at: i64,
) -> Vec<(&'static str, AttributeValue)> {
    vec![
        (TOKENS, AttributeValue::N(format_fraction(state.tokens))),
        (UPDATED_MS, n(state.updated_ms)),
        (VERSION, n(version)),
        (EXPIRES_AT, n(expires_at)),
    ]
}

/// Whether an observed rate is worth storing.
pub(crate) fn sensible_rate(rate: f64) -> bool {
    rate.is_finite() && rate > 0.0
}

impl DynamoBuckets {
    async fn read(&self, key: &Key) -> Result<Option<StoredBucket>, StoreError> {
        match self.store.get_item(key, true).await? {
            Some(item) => Ok(Some(StoredBucket::try_from(&item)?)),
            None => Ok(None),
        }
    }

    async fn write(
        &self,
        key: &Key,
        state: &BucketState,
        read_version: Option<u64>,
    ) -> Result<bool, StoreError> {
        let expires_at = secs_after(self.store.clock().now(), IDLE_TTL);
        let new_version = read_version.map_or(1, |v| v.saturating_add(1));
        let mut e = Expr::new();
        let set = e.assignments(take_attributes(state, new_version, expires_at));
        let version = e.name(VERSION);
        let condition = match read_version {
            None => format!("attribute_not_exists({version})"),
            Some(v) => format!("{version} = {}", e.value(n(v))),
        };
        Ok(matches!(
            self.store.set_if(key, &e, &set, &condition).await?,
            Written::Done(_)
        ))
    }
}

#[async_trait::async_trait]
impl BucketStore for DynamoBuckets {
    async fn take(
        &self,
        bucket: &BucketKey,
        limits: &Limits,
        want: u32,
        now_ms: i64,
    ) -> Result<TakeOutcome, PortError> {
        let key = Key::bucket(bucket);
        for attempt in 1..=self.max_attempts {
            let stored = self.read(&key).await?.and_then(|b| b.state);
            let (state, version) = match stored {
                Some((state, version)) => (state, Some(version)),
                None => (BucketState::full(limits, now_ms), None),
            };
            let outcome = state.take(limits, want, now_ms);
            let TakeOutcome::Granted { state: after, .. } = outcome else {
                // Nothing spent, nothing to write.
                return Ok(outcome);
            };
            if self.write(&key, &after, version).await? {
                return Ok(outcome);
            }
            tracing::debug!(bucket = %bucket, attempt, "bucket changed while taking; reading again");
            conflict_pause(attempt).await;
        }
        tracing::warn!(bucket = %bucket, attempts = self.max_attempts, "bucket too contended; giving up this take");
        Err(StoreError::Contended {
            pk: key.pk,
            sk: key.sk,
            attempts: self.max_attempts,
        }
        .into())
    }

    async fn observe_rate(&self, bucket: &BucketKey, rate_per_sec: f64) -> Result<(), PortError> {
        if !sensible_rate(rate_per_sec) {
            tracing::debug!(bucket = %bucket, "ignoring a non-positive or non-finite observed rate");
            return Ok(());
        }
        let key = Key::bucket(bucket);
        let expires_at = secs_after(self.store.clock().now(), IDLE_TTL);
        let mut e = Expr::new();
        let set = e.assignments([
            (
                OBSERVED_RATE,
                AttributeValue::N(format_fraction(rate_per_sec)),
            ),
            (EXPIRES_AT, n(expires_at)),
        ]);
        Ok(self.store.update(&key, format!("SET {set}"), &e).await?)
    }

    async fn observed_rate(&self, bucket: &BucketKey) -> Result<Option<f64>, PortError> {
        let key = Key::bucket(bucket);
        let rate = self
            .read(&key)
            .await?
            .and_then(|b| b.observed_rate)
            .filter(|r| sensible_rate(*r));
        Ok(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::s;
    use domain::Operation;

    #[test]
    fn bucket_items_round_trip() {
        let key = Key::bucket(&BucketKey::new("A3EXAMPLESELLER", Operation::GetOrder));
        let state = BucketState {
            tokens: 2.25,
            updated_ms: 1_800_000_000_123,
        };
        let mut item = Item::new(&key).with(OBSERVED_RATE, AttributeValue::N("0.5".into()));
        for (name, value) in take_attributes(&state, 7, 1_800_086_400) {
            item.set(name, value);
        }
        let stored = StoredBucket::try_from(&item).unwrap();
        assert_eq!(stored.state, Some((state, 7)));
        assert_eq!(stored.observed_rate, Some(0.5));
        assert_eq!(item.n::<i64>(EXPIRES_AT).unwrap(), 1_800_086_400);
    }

    #[test]
    fn a_rate_only_item_is_a_bucket_never_taken_from() {
        let key = Key::bucket(&BucketKey::new("app", Operation::GetOrder));
        let item = Item::new(&key).with(OBSERVED_RATE, AttributeValue::N("2".into()));
        let stored = StoredBucket::try_from(&item).unwrap();
        assert_eq!(stored.state, None);
        assert_eq!(stored.observed_rate, Some(2.0));
        let bad = Item::new(&key).with(VERSION, n(1)).with(TOKENS, s("lots"));
        assert!(StoredBucket::try_from(&bad).is_err());
        assert!(!sensible_rate(f64::NAN) && !sensible_rate(0.0) && sensible_rate(0.1));
    }
}
