//! A dry run of the order pull (the go-live check's "orders" step): the
//! seller's orders updated since a time, through the same search, the same
//! marketplaces, the same eligibility rules and the same mapping as the
//! scheduled pull — but nothing is claimed, sent, noted or checkpointed.
//! Each order says what the pull would do with it (send, already sent, hold,
//! filter, and why) and, for one it would send, the `order.created` message
//! the WMS would get, checked against its schema, with the buyer's data
//! masked: which fields are there shows; their values never leave Amazon's
//! answer.

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, Deadline, SellerId};
use orders::{Eligibility, SkipReason};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spapi::SellerContext;
use spapi::ops::orders::SearchWindow;

use crate::error::PullError;
use crate::pull::{Puller, not_pullable};

/// What the masked fields read instead of their values.
pub const MASK: &str = "<buyer data>";

/// Pages read at most (100 orders each).
pub const MAX_PAGES: u32 = 5;

/// What the pull would do with one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WouldDo {
    /// Send it to the WMS now.
    Send,
    /// Nothing: the WMS has it (the ledger says so).
    AlreadySent,
    /// Not yet: Pending, or data missing (e.g. the buyer-data role).
    Hold,
    /// Never: the settings filter it, or Amazon cancelled it.
    Filter,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewOrder {
    pub amazon_order_id: String,
    pub status: String,
    pub marketplace_id: Option<String>,
    pub would: WouldDo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The message the WMS would get, buyer data masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
    /// The message has the ship-to name and first address line: the
    /// seller's authorisation carries the buyer-data role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_address: Option<bool>,
    /// Held because Amazon gave no recipient or buyer field it needs: the
    /// seller's authorisation lacks the buyer-data role.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing_buyer_data: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub seller_id: String,
    pub marketplaces: Vec<String>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub orders: Vec<PreviewOrder>,
    /// More orders than [`MAX_PAGES`] pages: the rest were not read.
    pub truncated: bool,
}

impl Preview {
    pub fn count(&self, would: WouldDo) -> usize {
        self.orders.iter().filter(|o| o.would == would).count()
    }
}

/// The message as JSON with every buyer field's value replaced by [`MASK`]
/// (the ship-to address but its country code and type, the buyer block).
pub fn mask(message: &Value) -> Value {
    let mut out = message.clone();
    let masked = |v: &mut Value, keep: &[&str]| {
        if let Some(obj) = v.as_object_mut() {
            for (k, x) in obj.iter_mut() {
                if !keep.contains(&k.as_str()) && x.is_string() {
                    *x = Value::String(MASK.to_string());
                }
            }
        }
    };
    if let Some(to) = out.get_mut("ship_to") {
        masked(to, &["country_code", "address_type"]);
    }
    if let Some(buyer) = out.get_mut("buyer") {
        masked(buyer, &[]);
    }
    out
}

impl Puller {
    /// What a pull of the orders updated since `since` would do (see the
    /// module); reads Amazon and the ledger, writes nothing.
    pub async fn preview(
        &self,
        seller: &SellerId,
        since: DateTime<Utc>,
        deadline: &Deadline,
    ) -> Result<Preview, PullError> {
        let settings = self
            .settings
            .get_settings(seller)
            .await?
            .ok_or_else(|| PullError::UnknownSeller(seller.to_string()))?;
        if let Some(why) = not_pullable(&settings) {
            tracing::info!(seller = %seller, why, "dry run of a seller the schedule skips");
        }
        let (settings, _) = self.marketplaces(&settings, deadline).await?;
        let now = self.clock.now();
        let until = now - self.options.settle;
        let since = since.max(settings.order_start().unwrap_or(since));
        let ctx = SellerContext::from(&settings);
        let mut preview = Preview {
            seller_id: seller.to_string(),
            marketplaces: settings
                .marketplaces
                .iter()
                .map(|m| m.to_string())
                .collect(),
            since,
            until,
            orders: Vec::new(),
            truncated: false,
        };
        if since >= until {
            return Ok(preview);
        }
        let mut token: Option<String> = None;
        for page in 1..=MAX_PAGES {
            let call = self.search(
                &settings,
                SearchWindow::LastUpdated {
                    after: since,
                    before: Some(until),
                },
                token.take(),
                now,
            );
            let answer = self.api.call(&ctx, &call, deadline).await?;
            for order in &answer.orders {
                preview.orders.push(self.would(order, &settings).await?);
            }
            match answer.pagination.and_then(|p| p.next_token) {
                Some(next) if page < MAX_PAGES => token = Some(next),
                Some(_) => preview.truncated = true,
                None => break,
            }
        }
        Ok(preview)
    }

    async fn would(
        &self,
        order: &spapi::models::orders::Order,
        settings: &domain::settings::SellerSettings,
    ) -> Result<PreviewOrder, PullError> {
        let mut out = PreviewOrder {
            amazon_order_id: order.order_id.clone(),
            status: order
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "UNKNOWN".into()),
            marketplace_id: order.sales_channel.marketplace_id.clone(),
            would: WouldDo::Filter,
            reason: None,
            message: None,
            has_address: None,
            missing_buyer_data: false,
        };
        let Ok(id) = AmazonOrderId::new(&order.order_id) else {
            out.reason = Some("not a valid Amazon order id".into());
            return Ok(out);
        };
        match orders::eligibility(order, settings) {
            Eligibility::Send => {
                if self
                    .ledger
                    .get_order(&settings.seller_id, &id)
                    .await?
                    .is_some()
                {
                    out.would = WouldDo::AlreadySent;
                    return Ok(out);
                }
                match orders::to_order_message(order, settings) {
                    Ok(message) => {
                        // The same check as before it is sent.
                        let text = message.to_json()?;
                        let value: Value = serde_json::from_str(&text)
                            .map_err(|e| PullError::Contract(e.to_string()))?;
                        out.has_address = Some(
                            value.pointer("/ship_to/name").is_some()
                                && value.pointer("/ship_to/address_line1").is_some(),
                        );
                        out.message = Some(mask(&value));
                        out.would = WouldDo::Send;
                    }
                    Err(e) => {
                        out.missing_buyer_data = matches!(
                            &e,
                            orders::OrdersError::Missing { field, .. }
                                if field.starts_with("recipient") || field.starts_with("buyer")
                        );
                        out.would = WouldDo::Hold;
                        out.reason = Some(format!("cannot build the WMS message: {e}"));
                    }
                }
            }
            Eligibility::Hold(reason) => {
                out.would = WouldDo::Hold;
                out.reason = Some(reason.to_string());
            }
            Eligibility::Skip(SkipReason::Cancelled) => {
                out.reason = Some("cancelled by Amazon".into());
            }
            Eligibility::Skip(reason) => out.reason = Some(reason.to_string()),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn buyer_data_is_masked_and_the_rest_kept() {
        let m = json!({
            "kind": "order.created", "order_number": "MG302-1234567-1234567",
            "ship_to": {"name": "Jane Buyer", "address_line1": "1 Street", "city": "Berlin",
                "country_code": "DE", "address_type": "RESIDENTIAL"},
            "buyer": {"name": "Jane Buyer", "email": "x@marketplace.amazon.de"},
            "lines": [{"sku": "MUG", "quantity": 1}]
        });
        let masked = mask(&m);
        let text = masked.to_string();
        assert!(!text.contains("Jane") && !text.contains("1 Street") && !text.contains("x@"));
        assert_eq!(masked["ship_to"]["country_code"], "DE");
        assert_eq!(masked["ship_to"]["address_type"], "RESIDENTIAL");
        assert_eq!(masked["ship_to"]["name"], MASK);
        assert_eq!(masked["lines"], m["lines"]);
        assert_eq!(masked["order_number"], m["order_number"]);
    }
}
