//! The client side of the shared quota buckets.
//!
//! Every call first takes a token from its (seller, operation) bucket in the
//! shared [`BucketStore`] (DynamoDB), so all concurrent Lambdas together stay
//! inside Amazon's limits. The in-process fast path only ever spends tokens
//! that were taken from the shared bucket: one task per process talks to the
//! store per bucket, fast operations lease a few tokens for at most
//! [`LEASE_WINDOW`], and a known-empty bucket is waited on locally instead
//! of polling DynamoDB.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use domain::quota::{BucketKey, BucketStore, LEASE_WINDOW, Limits, TakeOutcome};
use domain::{Deadline, TimeScale};

use crate::SpApiError;

#[derive(Default)]
struct Local {
    leased: u32,
    lease_expires: Option<Instant>,
    empty_until: Option<Instant>,
    /// `None` until loaded from the store; then the observed rate, if any.
    observed: Option<Option<f64>>,
}

pub struct QuotaGate {
    store: Arc<dyn BucketStore>,
    scale: TimeScale,
    local: std::sync::Mutex<HashMap<BucketKey, Arc<tokio::sync::Mutex<Local>>>>,
}

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl QuotaGate {
    pub fn new(store: Arc<dyn BucketStore>, scale: TimeScale) -> Self {
        Self {
            store,
            scale,
            local: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, key: &BucketKey) -> Arc<tokio::sync::Mutex<Local>> {
        let mut map = self.local.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.clone()).or_default().clone()
    }

    /// Take one token for `key`, waiting for the refill if the deadline
    /// allows; otherwise "resume later" with the time to wait.
    pub async fn acquire(&self, key: &BucketKey, deadline: &Deadline) -> Result<(), SpApiError> {
        let slot = self.slot(key);
        loop {
            let mut local = slot.lock().await;
            let now = Instant::now();
            if local.leased > 0 && local.lease_expires.is_some_and(|t| t > now) {
                local.leased -= 1;
                return Ok(());
            }
            local.leased = 0;
            let wait = match local.empty_until.filter(|t| *t > now) {
                Some(until) => until - now,
                None => {
                    let observed = match local.observed {
                        Some(known) => known,
                        None => {
                            let loaded = self
                                .store
                                .observed_rate(key)
                                .await
                                .map_err(SpApiError::Quota)?;
                            local.observed = Some(loaded);
                            loaded
                        }
                    };
                    let limits = Limits::for_operation(key.operation, observed, self.scale);
                    let now_ms = epoch_ms();
                    match self
                        .store
                        .take(key, &limits, limits.lease, now_ms)
                        .await
                        .map_err(SpApiError::Quota)?
                    {
                        TakeOutcome::Granted { granted, .. } => {
                            local.leased = granted.saturating_sub(1);
                            local.lease_expires = Some(Instant::now() + LEASE_WINDOW);
                            return Ok(());
                        }
                        TakeOutcome::Empty { retry_at_ms } => {
                            let wait = Duration::from_millis((retry_at_ms - now_ms).max(1) as u64);
                            local.empty_until = Some(now + wait);
                            wait
                        }
                    }
                }
            };
            drop(local);
            if !deadline.allows(wait) {
                return Err(SpApiError::ResumeLater {
                    operation: key.operation,
                    after: wait,
                    reason: format!("the quota bucket {key} is empty"),
                });
            }
            tracing::debug!(bucket = %key, wait_ms = wait.as_millis() as u64, "waiting for quota");
            tokio::time::sleep(wait).await;
        }
    }

    /// Amazon reported `rate` (requests per real second) in
    /// `x-amzn-RateLimit-Limit`: use it, and tell every other process.
    pub async fn observe(&self, key: &BucketKey, rate: f64) -> Result<(), SpApiError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Ok(());
        }
        let slot = self.slot(key);
        let mut local = slot.lock().await;
        let known = local
            .observed
            .flatten()
            .unwrap_or(key.operation.spec().rate_per_sec);
        let already_stored = local.observed.flatten().is_some();
        if already_stored && ((known - rate).abs() / known) < 0.01 {
            return Ok(());
        }
        if !already_stored && ((known - rate).abs() / known) < 0.01 {
            // Same as published: remember locally, nothing to share.
            local.observed = Some(None);
            return Ok(());
        }
        tracing::info!(bucket = %key, published = key.operation.spec().rate_per_sec, observed = rate, "Amazon reports a different rate; correcting the bucket");
        self.store
            .observe_rate(key, rate)
            .await
            .map_err(SpApiError::Quota)?;
        local.observed = Some(Some(rate));
        Ok(())
    }

    /// Amazon answered 429: our copy of the bucket was optimistic. Wait one
    /// refill interval locally before asking the shared bucket again.
    pub async fn throttled(&self, key: &BucketKey) {
        let slot = self.slot(key);
        let mut local = slot.lock().await;
        local.leased = 0;
        let limits = Limits::for_operation(key.operation, local.observed.flatten(), self.scale);
        let interval = Duration::from_secs_f64(1.0 / limits.rate_per_sec.max(1e-6));
        local.empty_until = Some(Instant::now() + interval.min(Duration::from_secs(300)));
    }
}

/// An in-memory [`BucketStore`] for unit tests and single-process tools.
#[derive(Default)]
pub struct MemoryBuckets {
    state: std::sync::Mutex<HashMap<BucketKey, (domain::quota::BucketState, Option<f64>)>>,
}

#[async_trait::async_trait]
impl BucketStore for MemoryBuckets {
    async fn take(
        &self,
        key: &BucketKey,
        limits: &Limits,
        want: u32,
        now_ms: i64,
    ) -> Result<TakeOutcome, domain::PortError> {
        let mut map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map
            .entry(key.clone())
            .or_insert_with(|| (domain::quota::BucketState::full(limits, now_ms), None));
        let outcome = entry.0.take(limits, want, now_ms);
        if let TakeOutcome::Granted { state, .. } = outcome {
            entry.0 = state;
        }
        Ok(outcome)
    }

    async fn observe_rate(&self, key: &BucketKey, rate: f64) -> Result<(), domain::PortError> {
        let mut map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(key) {
            entry.1 = Some(rate);
        } else {
            let limits = Limits::for_operation(key.operation, Some(rate), TimeScale::REAL);
            map.insert(
                key.clone(),
                (
                    domain::quota::BucketState::full(&limits, epoch_ms()),
                    Some(rate),
                ),
            );
        }
        Ok(())
    }

    async fn observed_rate(&self, key: &BucketKey) -> Result<Option<f64>, domain::PortError> {
        let map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(key).and_then(|e| e.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Operation;

    #[tokio::test]
    async fn spends_the_burst_then_resumes_later_when_the_deadline_is_near() {
        let gate = QuotaGate::new(Arc::new(MemoryBuckets::default()), TimeScale::REAL);
        let key = BucketKey::new("A3EXAMPLESELLER", Operation::SearchOrders);
        let deadline = Deadline::after(Duration::from_secs(5));
        // burst 20 minus the one-token reserve
        for _ in 0..19 {
            gate.acquire(&key, &deadline).await.unwrap();
        }
        let err = gate.acquire(&key, &deadline).await.unwrap_err();
        let after = err.resume_after().unwrap();
        // one token at 0.0056*0.95/s is about 188 s away
        assert!(
            after > Duration::from_secs(150) && after < Duration::from_secs(200),
            "{after:?}"
        );
    }

    #[tokio::test]
    async fn fast_operations_lease_tokens_but_never_beyond_the_bucket() {
        let store = Arc::new(MemoryBuckets::default());
        let gate = QuotaGate::new(store.clone(), TimeScale::REAL);
        let key = BucketKey::new("A3EXAMPLESELLER", Operation::GetRates);
        let deadline = Deadline::after(Duration::from_millis(1));
        let mut got = 0;
        while gate.acquire(&key, &deadline).await.is_ok() {
            got += 1;
            assert!(got <= 200, "runaway");
        }
        // burst 100 minus the 19-token lease reserve, plus at most a few refilled
        assert!((81..=84).contains(&got), "{got}");
    }

    #[tokio::test]
    async fn observed_rates_are_shared_through_the_store() {
        let store = Arc::new(MemoryBuckets::default());
        let gate = QuotaGate::new(store.clone(), TimeScale::REAL);
        let key = BucketKey::new("A3EXAMPLESELLER", Operation::GetOrder);
        gate.observe(&key, 0.5).await.unwrap();
        assert_eq!(
            store.observed_rate(&key).await.unwrap(),
            None,
            "published rate is not stored"
        );
        gate.observe(&key, 2.0).await.unwrap();
        assert_eq!(store.observed_rate(&key).await.unwrap(), Some(2.0));
        let other = QuotaGate::new(store.clone(), TimeScale::REAL);
        other.acquire(&key, &Deadline::none()).await.unwrap();
        let slot = other.slot(&key);
        assert_eq!(slot.lock().await.observed, Some(Some(2.0)));
    }
}
