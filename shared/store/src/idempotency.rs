//! The idempotency layer (`IDEMPOTENCY#<namespace>` / `KEY#<key>`), with the
//! guarantees of Powertools for AWS Lambda's idempotency utility:
//!
//! 1. lock first: a conditional put of an `INPROGRESS` record, which succeeds
//!    only if there is no record, the record has expired, or an in-progress
//!    lock has passed its expiry (the invocation deadline of its holder);
//! 2. a `COMPLETED` record replays the stored result instead of running the
//!    handler again; an `INPROGRESS` one answers
//!    [`IdempotencyError::AlreadyInProgress`] (retry later);
//! 3. on success the record becomes `COMPLETED` with the serialised result,
//!    kept for `result_ttl`; on failure the lock is deleted (only if still
//!    ours) so a retry runs the handler;
//! 4. an optional payload hash catches a key reused with different content;
//! 5. expiry is checked in code: DynamoDB's TTL deletes items up to 48 hours
//!    late.
//!
//! Time comes from a [`Clock`], so tests expire locks and records without
//! sleeping.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use domain::Pii;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::PutOrExisting;
use crate::clock::{Clock, secs_after, system};
use crate::item::{Expr, Item, Written, conditional, n, s};
use crate::keys::{EXPIRES_AT, Key, PK};
// Where callers have always found it (`crate::idempotency::sha256_hex`);
// it lives in `keys`, which uses it for long keys.
pub use crate::keys::sha256_hex;
use crate::settings::{from_json, to_json};
use crate::{Store, StoreError};

const KEY: &str = "key";
const STATUS: &str = "status";
const IN_PROGRESS_EXPIRY: &str = "in_progress_expiry";
const PAYLOAD_HASH: &str = "payload_hash";
const RESULT: &str = "result";
const LOCK_TOKEN: &str = "lock_token";

/// How many times a write is tried again when the record it collided with
/// vanished before it could be read, or a completion hit a retryable error.
const ATTEMPTS: u32 = 3;

/// The condition of a write only the lock's holder may make: the record is
/// still in progress under `lock_token` (completing and releasing alike).
fn held_by(e: &mut Expr, lock_token: &str) -> String {
    let token = e.name(LOCK_TOKEN);
    let ours = e.value(s(lock_token));
    let status = e.name(STATUS);
    let in_progress = e.value(s(RecordStatus::InProgress.as_str()));
    format!("{token} = {ours} AND {status} = {in_progress}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    InProgress,
    Completed,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::InProgress => "INPROGRESS",
            RecordStatus::Completed => "COMPLETED",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "INPROGRESS" => Some(RecordStatus::InProgress),
            "COMPLETED" => Some(RecordStatus::Completed),
            _ => None,
        }
    }
}

/// One idempotency record. `Debug` never shows the stored result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub namespace: String,
    pub key: String,
    pub status: RecordStatus,
    /// Epoch seconds after which the record is void (TTL removes it later).
    pub expires_at: i64,
    /// Epoch milliseconds after which an `INPROGRESS` lock may be taken over.
    pub in_progress_expiry_ms: Option<i64>,
    pub payload_hash: Option<String>,
    /// The handler's result as JSON (`COMPLETED` only); may hold buyer data.
    pub result: Option<Pii<String>>,
    /// Random token of the run holding the lock.
    pub lock_token: Option<String>,
}

impl IdempotencyRecord {
    /// Whether the record no longer counts at `now_ms` (in code: TTL lags).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_at < now_ms.div_euclid(1000)
    }

    /// Whether a new lock may replace this record at `now_ms`: the same
    /// rule as the conditional put's expression.
    pub fn is_replaceable(&self, now_ms: i64) -> bool {
        self.is_expired(now_ms)
            || (self.status == RecordStatus::InProgress
                && self.in_progress_expiry_ms.is_some_and(|t| t < now_ms))
    }

    pub fn item_key(&self) -> Key {
        Key::idempotency(&self.namespace, &self.key)
    }
}

impl From<&IdempotencyRecord> for Item {
    fn from(r: &IdempotencyRecord) -> Self {
        Item::new(&r.item_key())
            .with(KEY, s(r.key.clone()))
            .with(STATUS, s(r.status.as_str()))
            .with(EXPIRES_AT, n(r.expires_at))
            .with_opt(IN_PROGRESS_EXPIRY, r.in_progress_expiry_ms.map(n))
            .with_opt(PAYLOAD_HASH, r.payload_hash.clone().map(s))
            .with_opt(RESULT, r.result.as_ref().map(|v| s(v.expose().clone())))
            .with_opt(LOCK_TOKEN, r.lock_token.clone().map(s))
    }
}

impl TryFrom<&Item> for IdempotencyRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let pk = item.s(PK)?;
        let namespace = pk
            .strip_prefix("IDEMPOTENCY#")
            .ok_or_else(|| item.malformed(PK, "does not start with IDEMPOTENCY#"))?;
        Ok(Self {
            namespace: namespace.to_string(),
            key: item.s(KEY)?.to_string(),
            status: RecordStatus::parse(item.s(STATUS)?)
                .ok_or_else(|| item.malformed(STATUS, "is not INPROGRESS or COMPLETED"))?,
            expires_at: item.n(EXPIRES_AT)?,
            in_progress_expiry_ms: item.opt_n(IN_PROGRESS_EXPIRY)?,
            payload_hash: item.opt_s(PAYLOAD_HASH)?.map(str::to_string),
            result: item.opt_s(RESULT)?.map(|v| Pii::new(v.to_string())),
            lock_token: item.opt_s(LOCK_TOKEN)?.map(str::to_string),
        })
    }
}

/// The answer of [`IdempotencyStore::acquire`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquire {
    Acquired,
    /// A live record holds the key (as stored).
    Existing(Box<IdempotencyRecord>),
}

/// The records behind [`Idempotency`] (DynamoDB, or memory in unit tests).
/// Every time is passed in, so the semantics do not depend on whose clock.
#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Writes `lock` (an `INPROGRESS` record) unless a record that is not
    /// [`IdempotencyRecord::is_replaceable`] at `now_ms` holds the key.
    async fn acquire(&self, lock: &IdempotencyRecord, now_ms: i64) -> Result<Acquire, StoreError>;

    /// Turns our lock into `COMPLETED` with `result`; `false` if the lock is
    /// no longer ours (it expired and another run took it).
    async fn complete(
        &self,
        namespace: &str,
        key: &str,
        lock_token: &str,
        result: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// Deletes our lock; `false` if it is no longer ours.
    async fn release(
        &self,
        namespace: &str,
        key: &str,
        lock_token: &str,
    ) -> Result<bool, StoreError>;

    async fn get_record(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

#[async_trait::async_trait]
impl IdempotencyStore for Store {
    async fn acquire(&self, lock: &IdempotencyRecord, now_ms: i64) -> Result<Acquire, StoreError> {
        let key = lock.item_key();
        for _ in 0..ATTEMPTS {
            let mut e = Expr::new();
            let pk = e.name(PK);
            let expires_at = e.name(EXPIRES_AT);
            let now_s = e.value(n(now_ms.div_euclid(1000)));
            let status = e.name(STATUS);
            let in_progress = e.value(s(RecordStatus::InProgress.as_str()));
            let expiry = e.name(IN_PROGRESS_EXPIRY);
            let now_ms_v = e.value(n(now_ms));
            let condition = format!(
                "attribute_not_exists({pk}) OR {expires_at} < {now_s} OR ({status} = {in_progress} AND {expiry} < {now_ms_v})"
            );
            match self
                .put_or_existing(&key, Item::from(lock), &e, &condition)
                .await?
            {
                PutOrExisting::Written => return Ok(Acquire::Acquired),
                PutOrExisting::Existing(existing) => {
                    return Ok(Acquire::Existing(Box::new(IdempotencyRecord::try_from(
                        &existing,
                    )?)));
                }
                PutOrExisting::Vanished => {}
            }
        }
        Err(StoreError::Contended {
            pk: key.pk,
            sk: key.sk,
            attempts: ATTEMPTS,
        })
    }

    async fn complete(
        &self,
        namespace: &str,
        key: &str,
        lock_token: &str,
        result: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let item_key = Key::idempotency(namespace, key);
        let mut e = Expr::new();
        let set = e.assignments([
            (STATUS, s(RecordStatus::Completed.as_str())),
            (RESULT, s(result)),
            (EXPIRES_AT, n(expires_at)),
        ]);
        let expiry = e.name(IN_PROGRESS_EXPIRY);
        let held = held_by(&mut e, lock_token);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(&item_key)))
            .update_expression(format!("SET {set} REMOVE {expiry}"))
            .condition_expression(held)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        Ok(matches!(
            conditional("UpdateItem", &item_key, result)?,
            Written::Done(_)
        ))
    }

    // The held-lock condition of `complete`, but it deletes the record instead of storing a result.
    async fn release(
        &self,
        namespace: &str,
        key: &str,
        lock_token: &str,
    ) -> Result<bool, StoreError> {
        let item_key = Key::idempotency(namespace, key);
        let mut e = Expr::new();
        let held = held_by(&mut e, lock_token);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(&item_key)))
            .condition_expression(held)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        Ok(matches!(
            conditional("DeleteItem", &item_key, result)?,
            Written::Done(_)
        ))
    }

    async fn get_record(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        match self
            .get_item(&Key::idempotency(namespace, key), true)
            .await?
        {
            Some(item) => Ok(Some(IdempotencyRecord::try_from(&item)?)),
            None => Ok(None),
        }
    }
}

/// How one idempotent call runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Hash of the request ([`sha256_hex`]); a key reused with a different
    /// hash is refused.
    pub payload_hash: Option<String>,
    /// Epoch milliseconds when our lock expires: the invocation deadline,
    /// after which a retry may assume this run died.
    pub lock_until_ms: i64,
    /// How long a completed result is replayed.
    pub result_ttl: Duration,
}

impl RunOptions {
    pub fn new(lock_until_ms: i64, result_ttl: Duration) -> Self {
        Self {
            payload_hash: None,
            lock_until_ms,
            result_ttl,
        }
    }

    pub fn with_payload_hash(mut self, hash: impl Into<String>) -> Self {
        self.payload_hash = Some(hash.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E> {
    /// Another run holds the key: retry after `until_ms` (epoch ms).
    #[error("request {key:?} is already in progress elsewhere; retry later")]
    AlreadyInProgress { key: String, until_ms: Option<i64> },
    /// The key was used before for a different request.
    #[error(
        "idempotency key {key:?} was already used for a different request (payload hash differs)"
    )]
    PayloadMismatch { key: String },
    #[error("idempotency record unavailable: {0}")]
    Store(#[source] StoreError),
    /// The handler ran and failed; its lock was released.
    #[error("handler failed: {0}")]
    Handler(#[source] E),
}

impl<E> IdempotencyError<E> {
    /// Whether the same call may succeed later. A handler error is the
    /// handler's to classify (see [`IdempotencyError::handler_error`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            IdempotencyError::AlreadyInProgress { .. } => true,
            IdempotencyError::PayloadMismatch { .. } => false,
            IdempotencyError::Store(e) => e.is_retryable(),
            IdempotencyError::Handler(_) => false,
        }
    }

    pub fn handler_error(&self) -> Option<&E> {
        match self {
            IdempotencyError::Handler(e) => Some(e),
            _ => None,
        }
    }
}

/// Idempotent execution for one namespace (one kind of side effect, e.g.
/// `labels` or `shipments`).
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    namespace: String,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotency")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// What to do when a live record already holds the key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Existing {
    Replay(String),
    InProgress(Option<i64>),
    Mismatch,
}

pub(crate) fn decide(record: &IdempotencyRecord, payload_hash: Option<&str>) -> Existing {
    if let (Some(ours), Some(theirs)) = (payload_hash, record.payload_hash.as_deref())
        && ours != theirs
    {
        return Existing::Mismatch;
    }
    match (record.status, &record.result) {
        (RecordStatus::Completed, Some(result)) => Existing::Replay(result.expose().clone()),
        // A completed record without a result cannot be replayed: treat it
        // as busy until it expires rather than run the side effect again.
        (RecordStatus::Completed, None) => Existing::InProgress(None),
        (RecordStatus::InProgress, _) => Existing::InProgress(record.in_progress_expiry_ms),
    }
}

impl Idempotency {
    pub fn new(store: Arc<dyn IdempotencyStore>, namespace: impl Into<String>) -> Self {
        Self {
            store,
            namespace: namespace.into(),
            clock: system(),
        }
    }

    /// The same layer reading "now" from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Runs `handler` at most once per `key` while its record lives: the
    /// first caller runs it, later callers get the stored result (or
    /// `AlreadyInProgress` while it runs). `handler` is not polled unless
    /// this call owns the lock.
    pub async fn run<T, E, F>(
        &self,
        key: &str,
        options: RunOptions,
        handler: F,
    ) -> Result<T, IdempotencyError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T, E>>,
    {
        let now = self.clock.now();
        let lock_token = format!("{:032x}", fastrand::u128(..));
        let lock = IdempotencyRecord {
            namespace: self.namespace.clone(),
            key: key.to_string(),
            status: RecordStatus::InProgress,
            expires_at: secs_after(now, options.result_ttl),
            in_progress_expiry_ms: Some(options.lock_until_ms),
            payload_hash: options.payload_hash.clone(),
            result: None,
            lock_token: Some(lock_token.clone()),
        };
        let acquired = self
            .store
            .acquire(&lock, now.timestamp_millis())
            .await
            .map_err(IdempotencyError::Store)?;
        if let Acquire::Existing(record) = acquired {
            return match decide(&record, options.payload_hash.as_deref()) {
                Existing::Replay(json) => {
                    tracing::info!(namespace = %self.namespace, key, "replaying the stored result of an earlier run");
                    from_json("idempotent result", &json).map_err(IdempotencyError::Store)
                }
                Existing::InProgress(until_ms) => {
                    tracing::info!(namespace = %self.namespace, key, "already in progress elsewhere");
                    Err(IdempotencyError::AlreadyInProgress {
                        key: key.to_string(),
                        until_ms,
                    })
                }
                Existing::Mismatch => {
                    tracing::warn!(namespace = %self.namespace, key, "idempotency key reused with a different payload");
                    Err(IdempotencyError::PayloadMismatch {
                        key: key.to_string(),
                    })
                }
            };
        }
        match handler.await {
            Ok(value) => {
                self.save(key, &lock_token, &value, options.result_ttl)
                    .await;
                Ok(value)
            }
            Err(e) => {
                match self.store.release(&self.namespace, key, &lock_token).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(namespace = %self.namespace, key, "lock already lost when releasing it")
                    }
                    Err(err) => {
                        tracing::warn!(namespace = %self.namespace, key, error = %err, "could not release the lock; it expires with the invocation")
                    }
                }
                Err(IdempotencyError::Handler(e))
            }
        }
    }

    /// Stores the result for replay. The side effect has happened: a
    /// failure here is logged, not returned, so the caller is not told to
    /// retry something that succeeded.
    async fn save<T: Serialize>(&self, key: &str, lock_token: &str, value: &T, ttl: Duration) {
        let json = match to_json("idempotent result", value) {
            Ok(json) => json,
            Err(err) => {
                tracing::error!(namespace = %self.namespace, key, error = %err, "result cannot be stored for replay");
                let _ = self.store.release(&self.namespace, key, lock_token).await;
                return;
            }
        };
        for attempt in 1..=ATTEMPTS {
            let expires_at = secs_after(self.clock.now(), ttl);
            match self
                .store
                .complete(&self.namespace, key, lock_token, &json, expires_at)
                .await
            {
                Ok(true) => return,
                Ok(false) => {
                    tracing::warn!(namespace = %self.namespace, key, "the handler outlived its lock; another run may have taken it over");
                    return;
                }
                Err(err) if err.is_retryable() && attempt < ATTEMPTS => {
                    tracing::warn!(namespace = %self.namespace, key, attempt, error = %err, "storing the result failed; retrying");
                    crate::conflict_pause(attempt).await;
                }
                Err(err) => {
                    tracing::error!(namespace = %self.namespace, key, error = %err, "result not stored: a retry after the lock expires would run the handler again");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: RecordStatus) -> IdempotencyRecord {
        IdempotencyRecord {
            namespace: "labels".into(),
            key: "pkg-1".into(),
            status,
            expires_at: 1_000,
            in_progress_expiry_ms: Some(900_500),
            payload_hash: Some("h1".into()),
            result: (status == RecordStatus::Completed).then(|| Pii::new("42".to_string())),
            lock_token: Some("t".into()),
        }
    }

    #[test]
    fn records_round_trip_and_hide_results() {
        for status in [RecordStatus::InProgress, RecordStatus::Completed] {
            let r = record(status);
            let item = Item::from(&r);
            assert_eq!(item.s(PK).unwrap(), "IDEMPOTENCY#labels");
            assert_eq!(IdempotencyRecord::try_from(&item).unwrap(), r);
        }
        let mut r = record(RecordStatus::Completed);
        r.result = Some(Pii::new("Jane Buyer".into()));
        assert!(!format!("{r:?}").contains("Jane"));
    }

    #[test]
    fn expiry_rules_match_the_condition_expression() {
        let r = record(RecordStatus::InProgress);
        // lock expires at 900.5 s, the record at 1000 s
        assert!(!r.is_replaceable(900_500));
        assert!(r.is_replaceable(900_501));
        let c = record(RecordStatus::Completed);
        assert!(!c.is_replaceable(900_501));
        assert!(!c.is_replaceable(1_000_999));
        assert!(c.is_expired(1_001_000) && c.is_replaceable(1_001_000));
    }

    #[test]
    fn decisions() {
        let c = record(RecordStatus::Completed);
        assert_eq!(decide(&c, Some("h1")), Existing::Replay("42".into()));
        assert_eq!(decide(&c, None), Existing::Replay("42".into()));
        assert_eq!(decide(&c, Some("h2")), Existing::Mismatch);
        let p = record(RecordStatus::InProgress);
        assert_eq!(decide(&p, Some("h1")), Existing::InProgress(Some(900_500)));
        assert_eq!(decide(&p, Some("h2")), Existing::Mismatch);
    }
}
