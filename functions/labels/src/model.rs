//! What the function keeps between calls (JSON in the store; no buyer data):
//! the offers of a rates call ([`Quote`], until the token expires) and a
//! bought label ([`Purchase`]: the idempotent result, also the label
//! record's payload, enough to reprint, cancel and track).

use chrono::{DateTime, Utc};
use domain::AmazonOrderId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spapi::models::shipping::{self as amazon, Decimal};
use wms::MessageVersion;
use wms::Money;
use wms::label::{Channel, LabelFormat, Offer, PurchasedLabel, Window};

/// A label size Amazon supports for a format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub width: String,
    pub length: String,
    pub unit: String,
}

/// What an offer can print in one format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatOption {
    pub format: LabelFormat,
    pub size: Size,
    #[serde(default)]
    pub dpis: Vec<u32>,
    #[serde(default)]
    pub page_layouts: Vec<String>,
}

// Starts like wms's label `Offer`: this is the stored quote; `Offer` is the WMS answer's schema.
/// One offer of a rates call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotedRate {
    pub rate_id: String,
    pub carrier_id: String,
    pub carrier_name: String,
    pub service_id: String,
    pub service_name: String,
    pub price: Money,
    #[serde(default)]
    pub pickup_window: Option<Window>,
    #[serde(default)]
    pub delivery_window: Option<Window>,
    pub formats: Vec<FormatOption>,
    #[serde(default)]
    pub requires_additional_inputs: bool,
    /// Amazon's JSON schema of those inputs (getAdditionalInputs), when
    /// fetched with the rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_inputs_schema: Option<Map<String, Value>>,
}

impl QuotedRate {
    /// From Amazon's `Rate`; `None` if its charge is not a usable amount.
    pub fn from_amazon(rate: &amazon::Rate) -> Option<Self> {
        let formats = rate
            .supported_document_specifications
            .iter()
            .filter_map(|spec| {
                let format = LabelFormat::parse(&spec.format)?;
                let dpis = spec
                    .print_options
                    .iter()
                    .flat_map(|o| o.supported_dpis.iter().copied())
                    .collect();
                let page_layouts = spec
                    .print_options
                    .iter()
                    .flat_map(|o| o.supported_page_layouts.iter().cloned())
                    .collect();
                Some(FormatOption {
                    format,
                    size: Size {
                        width: spec.size.width.as_str().to_string(),
                        length: spec.size.length.as_str().to_string(),
                        unit: spec.size.unit.clone(),
                    },
                    dpis,
                    page_layouts,
                })
            })
            .collect();
        Some(Self {
            rate_id: rate.rate_id.clone(),
            carrier_id: rate.carrier_id.clone(),
            carrier_name: rate.carrier_name.clone(),
            service_id: rate.service_id.clone(),
            service_name: rate.service_name.clone(),
            price: money(&rate.total_charge)?,
            pickup_window: rate.promise.pickup_window.as_ref().map(window),
            delivery_window: rate.promise.delivery_window.as_ref().map(window),
            formats,
            requires_additional_inputs: rate.requires_additional_inputs,
            additional_inputs_schema: None,
        })
    }

    pub fn prints(&self, format: LabelFormat) -> bool {
        self.formats.iter().any(|f| f.format == format)
    }

    /// The label formats, once each, in Amazon's order.
    pub fn label_formats(&self) -> Vec<LabelFormat> {
        let mut out: Vec<LabelFormat> = Vec::new();
        for f in &self.formats {
            if !out.contains(&f.format) {
                out.push(f.format);
            }
        }
        out
    }

    /// Whether the offer delivers by `deliver_by` (unknown: `None`).
    pub fn on_time(&self, deliver_by: Option<DateTime<Utc>>) -> Option<bool> {
        let by = deliver_by?;
        let end = self.delivery_window.as_ref()?.end?;
        Some(end <= by)
    }

    /// The offer as the response of `version` shows it (version 2 says
    /// whether it needs additional inputs, and their schema).
    pub fn offer(&self, deliver_by: Option<DateTime<Utc>>, version: MessageVersion) -> Offer {
        let v2 = version >= MessageVersion::V2;
        Offer {
            rate_id: self.rate_id.clone(),
            carrier_id: self.carrier_id.clone(),
            carrier_name: self.carrier_name.clone(),
            service_id: self.service_id.clone(),
            service_name: self.service_name.clone(),
            price: self.price.clone(),
            pickup_window: self.pickup_window.clone(),
            delivery_window: self.delivery_window.clone(),
            label_formats: self.label_formats(),
            on_time: self.on_time(deliver_by),
            requires_additional_inputs: v2.then_some(self.requires_additional_inputs),
            additional_inputs_schema: if v2 {
                self.additional_inputs_schema.clone()
            } else {
                None
            },
        }
    }
}

/// Amazon's charge as money for the WMS. Amazon writes a JSON number
/// (`4.9` for 4.90): the amount gets the currency's two decimals back
/// (none for JPY), never losing digits Amazon sent.
pub fn money(c: &amazon::Currency) -> Option<Money> {
    let text = c.value.as_str();
    let decimals = if c.unit == "JPY" { 0 } else { 2 };
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let amount = if frac.len() >= decimals {
        text.to_string()
    } else {
        format!("{int}.{frac:0<decimals$}")
    };
    Some(Money {
        amount: wms::Decimal::new(amount)?,
        currency: c.unit.clone(),
    })
}

pub fn window(w: &amazon::TimeWindow) -> Window {
    Window {
        start: w.start,
        end: w.end,
    }
}

/// A decimal of the WMS contract as Amazon's number.
pub fn decimal(d: &wms::Decimal) -> Option<Decimal> {
    Decimal::new(d.as_str())
}

/// The offers of one rates call, kept until its token expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub channel: Channel,
    #[serde(default)]
    pub amazon_order_id: Option<AmazonOrderId>,
    pub marketplace_id: String,
    #[serde(default)]
    pub deliver_by: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub package_ids: Vec<String>,
    pub rates: Vec<QuotedRate>,
}

/// One package of a bought label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoughtPackage {
    pub package_id: String,
    #[serde(default)]
    pub tracking_id: Option<String>,
}

/// A bought label: the idempotent result of a purchase (replayed for the
/// same key) and the label record's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    pub shipment_id: String,
    pub channel: Channel,
    #[serde(default)]
    pub amazon_order_id: Option<AmazonOrderId>,
    pub marketplace_id: String,
    pub rate: QuotedRate,
    pub format: LabelFormat,
    #[serde(default)]
    pub dpi: Option<u32>,
    pub purchased_at: DateTime<Utc>,
    pub packages: Vec<BoughtPackage>,
    /// Whether the label files were stored (else a replay fetches them).
    pub documents_stored: bool,
}

impl Purchase {
    /// The response's label, with these documents per package.
    pub fn to_label(
        &self,
        replayed: bool,
        documents: &[(String, Vec<wms::label::Document>)],
    ) -> PurchasedLabel {
        PurchasedLabel {
            shipment_id: self.shipment_id.clone(),
            channel: self.channel,
            amazon_order_id: self.amazon_order_id.clone(),
            shipment_confirmed_by_amazon: self.channel == Channel::Amazon,
            rate_id: self.rate.rate_id.clone(),
            carrier_id: self.rate.carrier_id.clone(),
            carrier_name: self.rate.carrier_name.clone(),
            service_id: self.rate.service_id.clone(),
            service_name: self.rate.service_name.clone(),
            price: self.rate.price.clone(),
            pickup_window: self.rate.pickup_window.clone(),
            delivery_window: self.rate.delivery_window.clone(),
            purchased_at: self.purchased_at,
            replayed,
            packages: self
                .packages
                .iter()
                .map(|p| wms::label::LabelPackage {
                    package_id: p.package_id.clone(),
                    tracking_id: p.tracking_id.clone(),
                    documents: documents
                        .iter()
                        .filter(|(id, _)| *id == p.package_id)
                        .flat_map(|(_, d)| d.iter().cloned())
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_get_their_currencys_decimals_back() {
        let c = |v: &str, unit: &str| amazon::Currency {
            value: Decimal::new(v).unwrap(),
            unit: unit.into(),
        };
        for (v, unit, expected) in [
            ("4.9", "GBP", "4.90"),
            ("7", "USD", "7.00"),
            ("4.765", "EUR", "4.765"),
            ("450", "JPY", "450"),
        ] {
            assert_eq!(money(&c(v, unit)).unwrap().amount.as_str(), expected);
        }
    }
}
