//! What tests and the demo see and set of Amazon Shipping (through
//! [`crate::SimControl`]).

use super::common::cents_text;
use super::types::{SERVICES, ShipmentView};

impl crate::SimControl {
    /// Labels really bought for the seller (replays of an idempotency key do
    /// not count).
    pub fn label_purchases(&self, seller_id: &str) -> u64 {
        self.with(|s| s.shipping.purchases.get(seller_id).copied().unwrap_or(0))
    }

    /// The seller's shipments, oldest first.
    pub fn shipments(&self, seller_id: &str) -> Vec<ShipmentView> {
        self.with(|s| {
            s.shipping
                .shipments
                .iter()
                .filter(|(_, sh)| sh.seller == seller_id)
                .map(|(id, sh)| ShipmentView {
                    shipment_id: id.clone(),
                    service_id: SERVICES[sh.rate.service].service_id.to_string(),
                    carrier_id: SERVICES[sh.rate.service].carrier_id.to_string(),
                    tracking_ids: sh.packages.iter().map(|(_, t)| t.clone()).collect(),
                    amazon_order_id: sh.amazon_order.clone(),
                    cancelled: sh.cancelled.is_some(),
                    price: cents_text(sh.rate.cents),
                    currency: sh.currency.clone(),
                    serial_numbers: sh.serials.clone(),
                    collection_form_id: sh.manifest.clone(),
                })
                .collect()
        })
    }

    /// Every label file from now on is at least `bytes` long (0: small).
    pub fn set_label_padding(&self, bytes: usize) {
        self.with(|s| s.shipping.label_padding = bytes);
    }

    /// The seller's next `n` purchases are made but answered with 503, as
    /// when Amazon's answer is lost on the way.
    pub fn lose_purchase_answers(&self, seller_id: &str, n: u32) {
        self.with(|s| {
            s.shipping.lost_answers.insert(seller_id.to_string(), n);
        });
    }

    /// The last `x-amzn-shipping-business-id` the seller's calls carried.
    pub fn last_shipping_business_id(&self, seller_id: &str) -> Option<String> {
        self.with(|s| s.shipping.business_ids.get(seller_id).cloned())
    }
}
