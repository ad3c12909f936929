//! [`MemoryStore`]: every role of the store in memory, with the same
//! semantics as the DynamoDB adapter (conditional writes, versions, expiry
//! checked against the clock), for unit tests of the jobs. Values go through
//! the same item mapping as in DynamoDB, so what a test reads back is what
//! production would (times at millisecond precision, for instance).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::quota::{BucketKey, BucketState, BucketStore, Limits, TakeOutcome};
use domain::settings::{Authorization, SellerSettings};
use domain::{AmazonOrderId, PortError, SellerId};

use crate::StoreError;
use crate::buckets::sensible_rate;
use crate::clock::{Clock, system};
use crate::idempotency::{Acquire, IdempotencyRecord, IdempotencyStore, RecordStatus};
use crate::item::{Item, format_fraction, format_time};
use crate::keys::Key;
use crate::ledger::{
    Claim, Ledger, LedgerEntry, Recorded, SendState, StatusUpdate, as_claim, is_stale,
};
use crate::settings::{SellerSummary, SettingsStore};

#[derive(Default)]
struct State {
    settings: BTreeMap<SellerId, (SellerSettings, u64)>,
    orders: BTreeMap<Key, Item>,
    records: BTreeMap<Key, Item>,
    buckets: HashMap<BucketKey, (Option<BucketState>, Option<f64>)>,
    /// Plain items of modules with their own item mapping (shipments,
    /// checkpoints, the partition's items).
    items: BTreeMap<Key, Item>,
}

/// The whole store in memory. Clones share the same state.
#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            clock: system(),
        }
    }

    /// The same store reading "now" from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// "Now" for modules that implement their role on the memory store.
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The plain items (same mutex as everything else), for modules that
    /// implement their role on the memory store themselves.
    pub(crate) fn with_items<T>(&self, f: impl FnOnce(&mut BTreeMap<Key, Item>) -> T) -> T {
        f(&mut self.state().items)
    }

    fn not_found(what: &'static str, key: Key) -> StoreError {
        StoreError::NotFound {
            what,
            pk: key.pk,
            sk: key.sk,
        }
    }
}

fn summary(settings: &SellerSettings) -> SellerSummary {
    SellerSummary {
        seller_id: settings.seller_id.clone(),
        client_code: settings.client_code.clone(),
        enabled: settings.enabled,
        authorized: matches!(settings.authorization, Authorization::Active),
    }
}

#[async_trait::async_trait]
impl SettingsStore for MemoryStore {
    async fn put_settings(&self, settings: &SellerSettings) -> Result<(), StoreError> {
        settings.validate().map_err(StoreError::InvalidSettings)?;
        let mut state = self.state();
        let version = state
            .settings
            .get(&settings.seller_id)
            .map_or(1, |(_, v)| v + 1);
        state
            .settings
            .insert(settings.seller_id.clone(), (settings.clone(), version));
        Ok(())
    }

    async fn get_settings(&self, seller: &SellerId) -> Result<Option<SellerSettings>, StoreError> {
        Ok(self.state().settings.get(seller).map(|(s, _)| s.clone()))
    }

    async fn list_sellers(&self) -> Result<Vec<SellerSummary>, StoreError> {
        Ok(self
            .state()
            .settings
            .values()
            .map(|(s, _)| summary(s))
            .collect())
    }

    async fn refresh_token_secret(&self, seller: &SellerId) -> Result<String, StoreError> {
        self.state()
            .settings
            .get(seller)
            .map(|(s, _)| s.refresh_token_secret.clone())
            .ok_or_else(|| Self::not_found("seller settings", Key::settings(seller)))
    }

    async fn mark_authorization_broken(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut state = self.state();
        let (settings, version) = state
            .settings
            .get_mut(seller)
            .ok_or_else(|| Self::not_found("seller settings", Key::settings(seller)))?;
        if matches!(settings.authorization, Authorization::Active) {
            settings.authorization = Authorization::Broken {
                reason: reason.to_string(),
                since: now,
            };
            *version += 1;
        }
        Ok(())
    }
}

impl MemoryStore {
    fn entry(&self, key: &Key) -> Result<Option<LedgerEntry>, StoreError> {
        self.state()
            .orders
            .get(key)
            .map(LedgerEntry::try_from)
            .transpose()
    }

    fn update_entry(
        &self,
        key: &Key,
        change: impl FnOnce(&mut LedgerEntry) -> bool,
    ) -> Result<Option<bool>, StoreError> {
        let mut state = self.state();
        let Some(item) = state.orders.get(key) else {
            return Ok(None);
        };
        let mut entry = LedgerEntry::try_from(item)?;
        let changed = change(&mut entry);
        if changed {
            state.orders.insert(key.clone(), Item::from(&entry));
        }
        Ok(Some(changed))
    }
}

#[async_trait::async_trait]
impl Ledger for MemoryStore {
    async fn record_order_if_absent(&self, entry: &LedgerEntry) -> Result<Recorded, StoreError> {
        let key = entry.key();
        let mut state = self.state();
        if let Some(existing) = state.orders.get(&key) {
            return Ok(Recorded::AlreadyPresent(Box::new(LedgerEntry::try_from(
                existing,
            )?)));
        }
        state.orders.insert(key, Item::from(entry));
        Ok(Recorded::Recorded)
    }

    async fn claim_order(
        &self,
        entry: &LedgerEntry,
        stale_after: Duration,
    ) -> Result<Claim, StoreError> {
        let now = self.clock.now();
        let existing = match self.record_order_if_absent(&as_claim(entry, now)).await? {
            Recorded::Recorded => return Ok(Claim::Claimed),
            Recorded::AlreadyPresent(existing) => existing,
        };
        if existing.state == SendState::Sent {
            return Ok(Claim::Sent(existing));
        }
        if !is_stale(existing.claimed_at, now, stale_after) {
            return Ok(Claim::InFlight(existing));
        }
        let renewed = Item::from(&LedgerEntry {
            claimed_at: now,
            ..(*existing).clone()
        });
        let renewed = LedgerEntry::try_from(&renewed)?;
        let taken = self.update_entry(&existing.key(), |current| {
            let ours = current.state == SendState::Sending
                && format_time(current.claimed_at) == format_time(existing.claimed_at);
            if ours {
                current.claimed_at = renewed.claimed_at;
            }
            ours
        })?;
        if taken == Some(true) {
            return Ok(Claim::TakenOver(Box::new(renewed)));
        }
        match self.entry(&existing.key())? {
            Some(current) if current.state == SendState::Sent => Ok(Claim::Sent(Box::new(current))),
            Some(current) => Ok(Claim::InFlight(Box::new(current))),
            None => Ok(Claim::InFlight(existing)),
        }
    }

    async fn mark_sent(&self, seller: &SellerId, order: &AmazonOrderId) -> Result<(), StoreError> {
        let key = Key::order(seller, order);
        let now = self.clock.now();
        match self.update_entry(&key, |e| {
            if e.state == SendState::Sending {
                e.state = SendState::Sent;
                e.sent_at = Some(now);
                true
            } else {
                false
            }
        })? {
            Some(_) => Ok(()),
            None => Err(Self::not_found("ledger entry", key)),
        }
    }

    async fn release_claim(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<(), StoreError> {
        self.update_entry(&Key::order(seller, order), |e| {
            if e.state == SendState::Sending {
                e.claimed_at = chrono::DateTime::UNIX_EPOCH;
                true
            } else {
                false
            }
        })?;
        Ok(())
    }

    async fn get_order(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        self.entry(&Key::order(seller, order))
    }

    async fn find_by_wms_order_number(
        &self,
        seller: &SellerId,
        wms_order_number: &str,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        let state = self.state();
        for item in state.orders.values() {
            let entry = LedgerEntry::try_from(item)?;
            if &entry.seller_id == seller && entry.wms_order_number == wms_order_number {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    async fn mark_cancel_sent(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let changed = self.update_entry(&Key::order(seller, order), |e| {
            let first = !e.cancelled_sent;
            if first {
                e.cancelled_at = Some(now);
            }
            e.cancelled_sent = true;
            first
        })?;
        Ok(changed == Some(true))
    }

    async fn set_payload(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        payload: &str,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let key = Key::order(seller, order);
        let changed = self.update_entry(&key, |e| {
            e.payload = Some(domain::Pii::new(payload.to_string()));
            if expires_at.is_some() {
                e.expires_at = expires_at;
            }
            true
        })?;
        match changed {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound {
                what: "ledger entry",
                pk: key.pk,
                sk: key.sk,
            }),
        }
    }

    async fn update_status(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        status: &str,
        last_seen_update: DateTime<Utc>,
        expires_at: Option<i64>,
    ) -> Result<StatusUpdate, StoreError> {
        let changed = self.update_entry(&Key::order(seller, order), |e| {
            let newer = format_time(e.last_seen_update) < format_time(last_seen_update);
            if newer {
                e.status = status.to_string();
                e.last_seen_update = last_seen_update;
                if expires_at.is_some() {
                    e.expires_at = expires_at;
                }
            }
            newer
        })?;
        Ok(match changed {
            None => StatusUpdate::Missing,
            Some(true) => StatusUpdate::Applied,
            Some(false) => StatusUpdate::Stale,
        })
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for MemoryStore {
    async fn acquire(&self, lock: &IdempotencyRecord, now_ms: i64) -> Result<Acquire, StoreError> {
        let key = lock.item_key();
        let mut state = self.state();
        if let Some(item) = state.records.get(&key) {
            let existing = IdempotencyRecord::try_from(item)?;
            if !existing.is_replaceable(now_ms) {
                return Ok(Acquire::Existing(Box::new(existing)));
            }
        }
        state.records.insert(key, Item::from(lock));
        Ok(Acquire::Acquired)
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
        let mut state = self.state();
        let Some(item) = state.records.get(&item_key) else {
            return Ok(false);
        };
        let mut record = IdempotencyRecord::try_from(item)?;
        if record.lock_token.as_deref() != Some(lock_token)
            || record.status != RecordStatus::InProgress
        {
            return Ok(false);
        }
        record.status = RecordStatus::Completed;
        record.result = Some(domain::Pii::new(result.to_string()));
        record.expires_at = expires_at;
        record.in_progress_expiry_ms = None;
        state.records.insert(item_key, Item::from(&record));
        Ok(true)
    }

    async fn release(
        &self,
        namespace: &str,
        key: &str,
        lock_token: &str,
    ) -> Result<bool, StoreError> {
        let item_key = Key::idempotency(namespace, key);
        let mut state = self.state();
        let Some(item) = state.records.get(&item_key) else {
            return Ok(false);
        };
        let record = IdempotencyRecord::try_from(item)?;
        if record.lock_token.as_deref() != Some(lock_token)
            || record.status != RecordStatus::InProgress
        {
            return Ok(false);
        }
        state.records.remove(&item_key);
        Ok(true)
    }

    async fn get_record(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.state()
            .records
            .get(&Key::idempotency(namespace, key))
            .map(IdempotencyRecord::try_from)
            .transpose()
    }
}

#[async_trait::async_trait]
impl BucketStore for MemoryStore {
    async fn take(
        &self,
        bucket: &BucketKey,
        limits: &Limits,
        want: u32,
        now_ms: i64,
    ) -> Result<TakeOutcome, PortError> {
        let mut state = self.state();
        let slot = state.buckets.entry(bucket.clone()).or_default();
        let current = slot.0.unwrap_or_else(|| BucketState::full(limits, now_ms));
        let outcome = current.take(limits, want, now_ms);
        if let TakeOutcome::Granted { state: after, .. } = outcome {
            // Stored as DynamoDB would store it.
            let tokens = format_fraction(after.tokens).parse().unwrap_or(0.0);
            slot.0 = Some(BucketState { tokens, ..after });
        }
        Ok(outcome)
    }

    async fn observe_rate(&self, bucket: &BucketKey, rate_per_sec: f64) -> Result<(), PortError> {
        if sensible_rate(rate_per_sec) {
            let mut state = self.state();
            state.buckets.entry(bucket.clone()).or_default().1 = Some(rate_per_sec);
        }
        Ok(())
    }

    async fn observed_rate(&self, bucket: &BucketKey) -> Result<Option<f64>, PortError> {
        Ok(self.state().buckets.get(bucket).and_then(|b| b.1))
    }
}

#[cfg(test)]
mod tests;
