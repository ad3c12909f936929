//! The shipment message (WMS → connector shipment queue): one package the
//! warehouse has shipped. `package_id` is the idempotency key.

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, ClientCode, OrderItemId, SellerId, Sku};
use serde::{Deserialize, Serialize};

use crate::{Contract, ContractError, MessageVersion};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentMessage {
    /// 1 or 2; the fields marked "version 2" are refused in a version 1
    /// message (never silently ignored).
    pub schema: MessageVersion,
    /// At least one of `seller_id` and `client_code` is present (the schema
    /// makes sure of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<SellerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_code: Option<ClientCode>,
    /// As sent in `order.created` (prefix + Amazon order id) or the bare
    /// Amazon order id: see [`ShipmentMessage::amazon_order_id`].
    pub order_number: String,
    /// Unique per package, stable across retries: the idempotency key.
    pub package_id: String,
    /// The WMS's carrier (mapped to Amazon's carrier code by the shipment job).
    pub carrier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub tracking_number: String,
    pub ship_date: DateTime<Utc>,
    /// Version 2: the supply source the package left from (else the
    /// seller's setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_supply_source_id: Option<String>,
    /// Version 2: Amazon's `codCollectionMethod` (`DirectPayment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_collection_method: Option<String>,
    /// Empty: everything that remains unshipped on the order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ShipmentLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    pub sku: Sku,
    pub quantity: u32,
    /// Only needed when one SKU is on two lines of the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_item_id: Option<OrderItemId>,
    /// Version 2: the units' Transparency codes, one per unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transparency_codes: Vec<String>,
}

impl ShipmentMessage {
    /// Validates `body` against `schemas/shipment-message.v1.json`, then
    /// decodes it. The error names the field and the rule and never quotes a
    /// value: its text is fit for the dead-letter reason.
    pub fn parse(body: &str) -> Result<ShipmentMessage, ContractError> {
        let message: ShipmentMessage = Contract::ShipmentMessage.parse(body)?;
        if message.schema == MessageVersion::V1
            && let Some(path) = message.newer_field()
        {
            return Err(ContractError::NewerField {
                contract: Contract::ShipmentMessage,
                path,
                needs: 2,
                found: 1,
            });
        }
        Ok(message)
    }

    /// The first field of version 2 the message carries, as a JSON pointer.
    fn newer_field(&self) -> Option<String> {
        if self.ship_from_supply_source_id.is_some() {
            return Some("/ship_from_supply_source_id".into());
        }
        if self.cod_collection_method.is_some() {
            return Some("/cod_collection_method".into());
        }
        self.lines
            .iter()
            .position(|l| !l.transparency_codes.is_empty())
            .map(|n| format!("/lines/{n}/transparency_codes"))
    }

    /// The message as JSON, checked against the schema (for the fake WMS and tests).
    pub fn to_json(&self) -> Result<String, ContractError> {
        Contract::ShipmentMessage.encode(self)
    }

    /// Whether the package holds everything that remains unshipped.
    pub fn ships_all_remaining(&self) -> bool {
        self.lines.is_empty()
    }

    /// The Amazon order id behind `order_number`, given the seller's order
    /// prefix: `MG113-1234567-1234567` with prefix `MG`, or the bare
    /// `113-1234567-1234567`. `None` if it is neither.
    pub fn amazon_order_id(&self, order_prefix: &str) -> Option<AmazonOrderId> {
        let number = self.order_number.as_str();
        if let Some(rest) = number.strip_prefix(order_prefix)
            && let Ok(id) = AmazonOrderId::new(rest)
        {
            return Some(id);
        }
        AmazonOrderId::new(number).ok()
    }
}
