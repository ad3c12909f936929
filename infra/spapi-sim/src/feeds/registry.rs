//! The feed types the simulator knows, and the processor of each. Another
//! feed type is one more arm here; `createFeed` refuses a type not listed
//! (400 InvalidInput), as Amazon does.

use super::listings_feed::{LISTINGS_FEED, ListingsFeedProcessor};
use super::processor::FeedProcessor;
use crate::shipments::{ORDER_FULFILLMENT_FEED, OrderFulfillmentProcessor};

/// The processor of `feed_type`, if the simulator knows the type.
pub(crate) fn processor_for(feed_type: &str) -> Option<&'static dyn FeedProcessor> {
    match feed_type {
        LISTINGS_FEED => Some(&ListingsFeedProcessor),
        ORDER_FULFILLMENT_FEED => Some(&OrderFulfillmentProcessor),
        _ => None,
    }
}
