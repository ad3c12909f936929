//! What the simulator remembers of Amazon Shipping, and its services and
//! limits: the shared state every shipping operation reads.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::clock::Stamp;

/// How long a `requestToken` can be purchased (simulated time).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// Until when a shipment can be cancelled, and when it is picked up.
pub const PICKUP_AFTER: Duration = Duration::from_secs(2 * 3600);
/// DHL Paket's weight limit, in grams.
pub(super) const DHL_MAX_GRAMS: u64 = 31_500;

/// One service the simulator offers.
pub(super) struct Service {
    pub(crate) carrier_id: &'static str,
    pub(crate) carrier_name: &'static str,
    pub(crate) service_id: &'static str,
    pub(crate) service_name: &'static str,
    /// Price in cents: base + per started kilogram.
    pub(crate) base_cents: u64,
    pub(crate) per_kg_cents: u64,
    pub(crate) delivery_days: i64,
    pub(crate) formats: &'static [&'static str],
}

pub(super) const SERVICES: [Service; 3] = [
    Service {
        carrier_id: "AMZN",
        carrier_name: "Amazon Shipping",
        service_id: "AMZN-STD",
        service_name: "Amazon Shipping Standard",
        base_cents: 390,
        per_kg_cents: 50,
        delivery_days: 3,
        formats: &["PDF", "PNG", "ZPL"],
    },
    Service {
        carrier_id: "DHL",
        carrier_name: "DHL",
        service_id: "DHL-PAKET",
        service_name: "DHL Paket",
        base_cents: 499,
        per_kg_cents: 30,
        delivery_days: 2,
        formats: &["PDF", "ZPL"],
    },
    Service {
        carrier_id: "UPS",
        carrier_name: "UPS",
        service_id: "UPS-EXPRESS",
        service_name: "UPS Express Saver",
        base_cents: 1250,
        per_kg_cents: 100,
        delivery_days: 1,
        formats: &["PDF", "PNG", "ZPL"],
    },
];

#[derive(Clone, Debug)]
pub(crate) struct SimRate {
    pub(crate) rate_id: String,
    pub(crate) service: usize,
    pub(crate) cents: u64,
    pub(crate) pickup: (DateTime<Utc>, DateTime<Utc>),
    pub(crate) delivery: (DateTime<Utc>, DateTime<Utc>),
    /// A customs declaration is needed (getAdditionalInputs).
    pub(crate) requires_inputs: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct SimPackage {
    pub(crate) reference_id: String,
    /// (order item id, quantity) for items that name one.
    pub(crate) items: Vec<(String, u32)>,
    /// The serial numbers the items carried.
    pub(crate) serials: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct RateRequest {
    pub(crate) seller: String,
    pub(crate) issued: Stamp,
    pub(crate) amazon_order: Option<String>,
    pub(crate) currency: String,
    pub(crate) packages: Vec<SimPackage>,
    pub(crate) rates: Vec<SimRate>,
    /// Where the delivery event is (the ship-to postal code), if known.
    pub(crate) postal_code: Option<String>,
    pub(crate) country_code: String,
    pub(crate) ship_from: Value,
}

#[derive(Clone, Debug)]
pub(crate) struct SimShipment {
    pub(crate) seller: String,
    pub(crate) rate: SimRate,
    pub(crate) currency: String,
    pub(crate) packages: Vec<(String, String)>,
    pub(crate) format: String,
    pub(crate) purchased_at: DateTime<Utc>,
    pub(crate) purchased: Stamp,
    pub(crate) cancelled: Option<DateTime<Utc>>,
    pub(crate) amazon_order: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) country_code: String,
    /// The ship-from address as the rates request gave it.
    pub(crate) ship_from: Value,
    pub(crate) serials: Vec<String>,
    /// The collection form the shipment is on.
    pub(crate) manifest: Option<String>,
}

impl SimShipment {
    pub(crate) fn carrier(&self) -> (&'static str, &'static str) {
        let s = &SERVICES[self.rate.service];
        (s.carrier_id, s.carrier_name)
    }

    pub(crate) fn tracking_ids(&self) -> Vec<String> {
        self.packages.iter().map(|(_, t)| t.clone()).collect()
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.cancelled.is_some()
    }
}

/// What the simulator remembers of Amazon Shipping.
#[derive(Default)]
pub struct ShippingState {
    pub(crate) rate_requests: HashMap<String, RateRequest>,
    pub(crate) shipments: BTreeMap<String, SimShipment>,
    /// (seller, idempotency key) → (body, answer) of the purchase.
    pub(crate) idempotency: HashMap<(String, String), (Value, Value)>,
    pub(crate) purchases: BTreeMap<String, u64>,
    pub(crate) lost_answers: HashMap<String, u32>,
    pub(crate) business_ids: HashMap<String, String>,
    pub(crate) label_padding: usize,
    pub(crate) next: u64,
    /// Collection forms and their idempotency keys.
    pub(crate) forms: FormsState,
}

impl ShippingState {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// A shipment as control shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShipmentView {
    pub shipment_id: String,
    pub service_id: String,
    pub carrier_id: String,
    pub tracking_ids: Vec<String>,
    pub amazon_order_id: Option<String>,
    pub cancelled: bool,
    pub price: String,
    pub currency: String,
    /// The serial numbers the purchase carried.
    pub serial_numbers: Vec<String>,
    /// The collection form the shipment is on, if any.
    pub collection_form_id: Option<String>,
}

/// A collection form (the carrier's manifest) the simulator made.
#[derive(Clone, Debug)]
pub(crate) struct Form {
    pub(crate) seller: String,
    pub(crate) carrier_id: String,
    pub(crate) carrier_name: String,
    pub(crate) ship_from: Value,
    pub(crate) created: DateTime<Utc>,
    pub(crate) shipments: Vec<String>,
    pub(crate) tracking_ids: Vec<String>,
}

/// What the simulator remembers of collection forms.
#[derive(Default)]
pub struct FormsState {
    pub(crate) forms: BTreeMap<String, Form>,
    /// (seller, idempotency key) → (body, answer).
    pub(crate) idempotency: HashMap<(String, String), (Value, Value)>,
    /// Forms really generated per seller (replays do not count).
    pub(crate) generated: BTreeMap<String, u64>,
}
