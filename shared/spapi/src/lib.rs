//! Hand-written Selling Partner API client: LWA, typed operations, quotas shared through a BucketStore, retries, circuit breaker, pagination.
