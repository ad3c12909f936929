//! Pure domain of the connector: typed ids, Amazon regions and marketplaces,
//! the catalogue of SP-API operations with their published quotas, token-bucket
//! math, the retry policy, the circuit breaker, deadlines, seller settings and
//! the `Pii` wrapper that keeps buyer data out of logs.
//!
//! This crate does no I/O and must not depend on any AWS, HTTP or runtime
//! crate. The ports other crates implement (for example [`quota::BucketStore`])
//! are declared here so that the SP-API client and the DynamoDB store never
//! depend on each other.

pub mod breaker;
pub mod error;
pub mod ids;
pub mod onboarding;
pub mod operation;
pub mod participations;
pub mod pii;
pub mod quota;
pub mod region;
pub mod retry;
pub mod settings;
pub mod shipping;
pub mod time;
pub mod zone;

pub use error::{DomainError, PortError};
pub use ids::{AmazonOrderId, ClientCode, MarketplaceId, OrderItemId, SellerId, Sku};
pub use operation::Operation;
pub use pii::Pii;
pub use region::Region;
pub use time::{Deadline, TimeScale};
