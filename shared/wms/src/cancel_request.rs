//! `order.cancel_requested` (connector → WMS order queue, issue 15): the
//! buyer asked Amazon to cancel lines of an order the WMS already has and
//! has not shipped, so the warehouse can stop the pick. A request, not a
//! cancellation: Amazon's cancellation follows as `order.cancelled` once the
//! seller accepts it. Its own schema (`order-cancel-requested.v1.json`), so
//! the two kinds of `order-message.v1.json` are unchanged.

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, ClientCode, MarketplaceId, OrderItemId, SellerId, Sku};
use serde::{Deserialize, Serialize};

use crate::{CancelScope, SchemaVersion};

/// The message kind.
pub const CANCEL_REQUESTED: &str = "order.cancel_requested";

/// `order.cancel_requested`: the lines the buyer asked to cancel so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelRequested {
    pub schema: SchemaVersion,
    /// [`OrderCancelRequested::message_id_for`].
    pub message_id: String,
    pub seller_id: SellerId,
    pub client_code: ClientCode,
    pub order_number: String,
    pub amazon_order_id: AmazonOrderId,
    pub marketplace_id: MarketplaceId,
    /// `order`: every line still to ship; `lines`: the listed ones.
    pub scope: CancelScope,
    /// When Amazon last changed the order (its `lastUpdatedTime`).
    pub requested_at: DateTime<Utc>,
    /// The buyer's reason, when Amazon gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub lines: Vec<RequestedLine>,
}

impl OrderCancelRequested {
    /// `<seller id>:<amazon order id>:cancel_requested:<lines>`, where
    /// `lines` counts the lines requested so far: requests only grow, so
    /// each new one gets a new id and a retried send keeps its id.
    pub fn message_id_for(
        seller_id: &SellerId,
        amazon_order_id: &AmazonOrderId,
        lines_requested: usize,
    ) -> String {
        format!("{seller_id}:{amazon_order_id}:cancel_requested:{lines_requested}")
    }
}

/// A line the buyer asked to cancel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedLine {
    pub order_item_id: OrderItemId,
    pub sku: Sku,
    /// Units of the line still to ship that the request covers.
    pub quantity: u32,
}
