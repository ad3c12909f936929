//! The Selling Partner API client, hand-written over reqwest (rustls).
//!
//! A request is a value implementing [`Call`] (path, query, body, which
//! [`domain::Operation`] it is); [`SpApi::call`] sends it for one seller with
//! everything Amazon expects of a good citizen: an LWA access token cached per
//! seller ([`lwa`]), a token from the seller's shared quota bucket *before*
//! the request ([`quota`]), bounded retries of 429/5xx with jitter that never
//! sleep past the invocation's [`domain::Deadline`], a circuit breaker per
//! operation, the rate correction from `x-amzn-RateLimit-Limit`, and decoding
//! that names the JSON field that broke. Pagination is a lazy stream
//! ([`paginate`]).
//!
//! Every call tells the client's [`CallObserver`] (metrics, wired in
//! `lambda-kit`) what happened, and ends with one audit line (`audit =
//! "spapi.call"`, the outcome, the seller, the operation).
//!
//! HTTPS goes through [`tls`] (Mozilla's roots compiled in: nothing read
//! from the OS store while a function starts).
//!
//! Adding an operation: a row in `domain::Operation`, its response types in
//! [`models`], a request struct implementing [`Call`] in [`ops`]. Nothing else.
//!
//! This crate must not depend on the AWS SDK or on the store: the quota state
//! and the credentials come in through the ports [`domain::quota::BucketStore`]
//! and [`Credentials`].

pub mod call;
pub mod client;
pub mod config;
mod decode;
pub mod documents;
pub mod error;
pub mod lwa;
pub mod models;
pub mod observe;
pub mod ops;
pub mod paginate;
pub mod quota;
pub mod tls;

pub use call::{Call, Method};
pub use client::{Credentials, SellerContext, SpApi};
pub use config::ClientConfig;
pub use error::{AmazonError, SpApiError};
pub use lwa::{AppCredentials, CodeGrant};
pub use observe::{CallEvent, CallObserver};
