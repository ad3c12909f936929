//! Amazon Shipping API v2 in the simulator, with state:
//!
//! - **getRates** offers three services (Amazon Shipping, DHL Paket, UPS
//!   Express Saver) priced from the packages' weight in the marketplace's
//!   currency, under a `requestToken` that expires after 10 minutes of
//!   simulated time (`TOKEN_EXPIRED` afterwards). Channel `AMAZON` needs an
//!   open merchant-fulfilled order of the seller (its `shipTo` is ignored,
//!   as Amazon ignores it); `EXTERNAL` needs a `shipTo`. DHL refuses packages
//!   over 31.5 kg (an `ineligibleRates` entry).
//! - **purchaseShipment** buys one of the token's rates. With an
//!   `x-amzn-IdempotencyKey` it behaves as Amazon documents: the same key and
//!   body answer the same shipment again (not bought again); the same key with
//!   another body is refused. Every real purchase is counted
//!   ([`SimControl::label_purchases`]). A purchase for an Amazon order marks
//!   the order's items in the package shipped (all open items when the
//!   package names none).
//! - **oneClickShipment** rates and buys the cheapest of the listed services.
//! - **getShipmentDocuments** returns the label again in the asked format;
//!   labels are small but well-formed PDF, PNG or ZPL files, base64-encoded
//!   (padded to a size with [`SimControl::set_label_padding`]).
//! - **getTracking** events follow simulated time since the purchase
//!   (pick-up after 2 h, delivered on the promised day); a cancelled
//!   shipment shows `PickupCancelled`.
//! - **cancelShipment** works until pick-up (2 simulated hours), once.
//! - Fault: [`SimControl::lose_purchase_answers`] makes the seller's next
//!   purchases succeed but answer 503, as when Amazon's answer is lost.
//! - A cross-border shipment (ship-to country other than the ship-from's)
//!   needs a customs declaration for UPS: its rate has
//!   `requiresAdditionalInputs`, getAdditionalInputs gives the schema and the
//!   purchase checks `additionalInputs` against it ([`crate::shipping_inputs`]).
//! - Items may carry `serialNumbers` (channel `AMAZON` only, at most the
//!   quantity, unique); what Amazon was told is kept per shipment.
//! - Every shipment remembers its ship-from address for the carrier's
//!   collection forms ([`crate::collection_forms`]); a shipment on a form can
//!   no longer be cancelled.
//!
//! The `x-amzn-shipping-business-id` header must be one of the model's values
//! when present; the last one seen per seller is kept for tests.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use domain::settings::OrderStatus;
use serde::Serialize;
use serde_json::{Value, json};

use crate::faults::OpCall;
use crate::http::{error_list, server_error};
use crate::marketplaces::marketplace;
use crate::orders::{FulfilledBy, Included, ShipItem, ShipSpec};
use crate::search::invalid_input;
use crate::spapi::pipeline;
use crate::state::{Inner, Shared, Stamp, iso};

/// How long a `requestToken` can be purchased (simulated time).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// Until when a shipment can be cancelled, and when it is picked up.
pub const PICKUP_AFTER: Duration = Duration::from_secs(2 * 3600);
/// DHL Paket's weight limit, in grams.
const DHL_MAX_GRAMS: u64 = 31_500;

const BUSINESS_IDS: [&str; 10] = [
    "AmazonShipping_US",
    "AmazonShipping_IN",
    "AmazonShipping_UK",
    "AmazonShipping_UAE",
    "AmazonShipping_SA",
    "AmazonShipping_EG",
    "AmazonShipping_IT",
    "AmazonShipping_ES",
    "AmazonShipping_FR",
    "AmazonShipping_JP",
];

/// One service the simulator offers.
struct Service {
    carrier_id: &'static str,
    carrier_name: &'static str,
    service_id: &'static str,
    service_name: &'static str,
    /// Price in cents: base + per started kilogram.
    base_cents: u64,
    per_kg_cents: u64,
    delivery_days: i64,
    formats: &'static [&'static str],
}

const SERVICES: [Service; 3] = [
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
    service: usize,
    cents: u64,
    pickup: (DateTime<Utc>, DateTime<Utc>),
    delivery: (DateTime<Utc>, DateTime<Utc>),
    /// A customs declaration is needed (getAdditionalInputs).
    pub(crate) requires_inputs: bool,
}

#[derive(Clone, Debug)]
struct SimPackage {
    reference_id: String,
    /// (order item id, quantity) for items that name one.
    items: Vec<(String, u32)>,
    /// The serial numbers the items carried.
    serials: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct RateRequest {
    pub(crate) seller: String,
    pub(crate) issued: Stamp,
    amazon_order: Option<String>,
    currency: String,
    packages: Vec<SimPackage>,
    pub(crate) rates: Vec<SimRate>,
    /// Where the delivery event is (the ship-to postal code), if known.
    postal_code: Option<String>,
    country_code: String,
    ship_from: Value,
}

#[derive(Clone, Debug)]
pub(crate) struct SimShipment {
    pub(crate) seller: String,
    rate: SimRate,
    currency: String,
    packages: Vec<(String, String)>,
    format: String,
    purchased_at: DateTime<Utc>,
    purchased: Stamp,
    cancelled: Option<DateTime<Utc>>,
    amazon_order: Option<String>,
    postal_code: Option<String>,
    country_code: String,
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
    idempotency: HashMap<(String, String), (Value, Value)>,
    purchases: BTreeMap<String, u64>,
    lost_answers: HashMap<String, u32>,
    business_ids: HashMap<String, String>,
    label_padding: usize,
    next: u64,
    /// Collection forms and their idempotency keys.
    pub(crate) forms: crate::collection_forms::FormsState,
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

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/shipping/v2/shipments/rates", post(rates_route))
        .route("/shipping/v2/shipments", post(purchase_route))
        .route("/shipping/v2/oneClickShipment", post(one_click_route))
        .route(
            "/shipping/v2/shipments/{shipment_id}/cancel",
            put(cancel_route),
        )
        .route(
            "/shipping/v2/shipments/{shipment_id}/documents",
            get(documents_route),
        )
        .route("/shipping/v2/tracking", get(tracking_route))
        .merge(crate::shipping_inputs::routes())
        .merge(crate::collection_forms::routes())
}

pub(crate) fn call(op: Operation) -> OpCall {
    OpCall {
        op,
        has_page_token: false,
    }
}

pub(crate) fn not_found(message: &str) -> (StatusCode, Value) {
    (StatusCode::NOT_FOUND, error_list("NotFound", message, ""))
}

pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Checks and remembers `x-amzn-shipping-business-id`.
pub(crate) fn business(
    inner: &mut Inner,
    seller: &str,
    value: Option<&str>,
) -> Result<(), (StatusCode, Value)> {
    if let Some(v) = value {
        if !BUSINESS_IDS.contains(&v) {
            return Err(invalid_input(format!(
                "Invalid x-amzn-shipping-business-id '{v}'."
            )));
        }
        inner
            .shipping
            .business_ids
            .insert(seller.to_string(), v.to_string());
    }
    Ok(())
}

pub(crate) fn body_of(
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Value, (StatusCode, Value)> {
    body.map(|Json(v)| v).map_err(|_| {
        invalid_input("Request is missing or has invalid parameters: the body is not valid JSON.")
    })
}

pub(crate) fn missing(field: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        error_list(
            "InvalidRequest",
            "Request is missing or has invalid parameters",
            &format!("{field} cannot be null"),
        ),
    )
}

/// A JSON number or decimal string as an integer count of thousandths.
fn milli(v: &Value) -> Option<u64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int: u64 = int.parse().ok()?;
    let frac3: String = format!("{frac:0<3}").chars().take(3).collect();
    Some(int * 1000 + frac3.parse::<u64>().ok()?)
}

/// A package's weight in grams (rounded up).
fn grams(weight: &Value) -> Result<u64, String> {
    let value = milli(&weight["value"]).ok_or("weight.value must be a non-negative number")?;
    let per_unit_milligrams: u64 = match weight["unit"].as_str() {
        Some("GRAM") => 1_000,
        Some("KILOGRAM") => 1_000_000,
        Some("OUNCE") => 28_350,
        Some("POUND") => 453_592,
        _ => return Err("weight.unit must be GRAM, KILOGRAM, OUNCE or POUND".into()),
    };
    // value is in thousandths of the unit.
    Ok((value * per_unit_milligrams).div_ceil(1_000_000))
}

fn cents_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

pub(crate) fn address_ok(a: &Value) -> bool {
    [
        "name",
        "addressLine1",
        "city",
        "stateOrRegion",
        "postalCode",
        "countryCode",
    ]
    .iter()
    .all(|f| a[*f].as_str().is_some_and(|s| !s.is_empty()))
}

/// The parts of a getRates / oneClickShipment body both share.
struct Shipment {
    amazon_order: Option<String>,
    packages: Vec<SimPackage>,
    total_grams: u64,
    currency: String,
    postal_code: Option<String>,
    country_code: String,
    ship_from: Value,
}

fn parse_shipment(
    inner: &Inner,
    seller: &str,
    body: &Value,
) -> Result<Shipment, (StatusCode, Value)> {
    let ship_from = &body["shipFrom"];
    if ship_from.is_null() {
        return Err(missing("shipFrom"));
    }
    if !address_ok(ship_from) {
        return Err(invalid_input(
            "shipFrom is missing a required address field.",
        ));
    }
    let packages = body["packages"]
        .as_array()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| missing("packages"))?;
    let channel = &body["channelDetails"];
    let channel_type = channel["channelType"]
        .as_str()
        .ok_or_else(|| missing("channelDetails.channelType"))?;
    let seller_state = inner
        .seller(seller)
        .map_err(|_| invalid_input("Unknown seller."))?;
    let (amazon_order, currency, postal_code, country_code, open_items) = match channel_type {
        "AMAZON" => {
            let order_id = channel["amazonOrderDetails"]["orderId"]
                .as_str()
                .ok_or_else(|| missing("channelDetails.amazonOrderDetails.orderId"))?;
            let order = seller_state.orders.get(order_id).ok_or_else(|| {
                invalid_input(format!("Order {order_id} was not found for this seller."))
            })?;
            if order.fulfilled_by != FulfilledBy::Merchant
                || !matches!(
                    order.status,
                    OrderStatus::Unshipped | OrderStatus::PartiallyShipped
                )
            {
                return Err(invalid_input(format!(
                    "Order {order_id} is not eligible for shipping (it must be merchant fulfilled and unshipped)."
                )));
            }
            let market = marketplace(&order.marketplace_id);
            let json = order.to_json(Included::all(), true, market);
            let open: HashMap<String, u64> = json["orderItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    Some((
                        i["orderItemId"].as_str()?.to_string(),
                        i["fulfillment"]["quantityUnfulfilled"].as_u64()?,
                    ))
                })
                .collect();
            let address = &json["recipient"]["deliveryAddress"];
            (
                Some(order_id.to_string()),
                market.map_or("EUR", |m| m.currency).to_string(),
                address["postalCode"].as_str().map(str::to_string),
                address["countryCode"]
                    .as_str()
                    .or(market.map(|m| m.country_code))
                    .unwrap_or("DE")
                    .to_string(),
                Some(open),
            )
        }
        "EXTERNAL" => {
            let ship_to = &body["shipTo"];
            if ship_to.is_null() {
                return Err(missing("shipTo"));
            }
            if !address_ok(ship_to) {
                return Err(invalid_input("shipTo is missing a required address field."));
            }
            let currency = packages[0]["insuredValue"]["unit"]
                .as_str()
                .unwrap_or("EUR")
                .to_string();
            (
                None,
                currency,
                ship_to["postalCode"].as_str().map(str::to_string),
                ship_to["countryCode"].as_str().unwrap_or("DE").to_string(),
                None,
            )
        }
        other => {
            return Err(invalid_input(format!("Invalid channelType '{other}'.")));
        }
    };
    let mut parsed = Vec::new();
    let mut total_grams = 0;
    for (n, p) in packages.iter().enumerate() {
        let reference = p["packageClientReferenceId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing(&format!("packages[{n}].packageClientReferenceId")))?;
        if parsed
            .iter()
            .any(|q: &SimPackage| q.reference_id == reference)
        {
            return Err(invalid_input("packageClientReferenceId must be unique."));
        }
        for f in ["dimensions", "weight", "insuredValue", "items"] {
            if p[f].is_null() {
                return Err(missing(&format!("packages[{n}].{f}")));
            }
        }
        total_grams += grams(&p["weight"]).map_err(invalid_input)?;
        let items = p["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Err(invalid_input(format!(
                "packages[{n}].items must not be empty."
            )));
        }
        let mut named = Vec::new();
        let mut serials = Vec::new();
        for item in &items {
            let quantity = item["quantity"]
                .as_u64()
                .filter(|q| *q >= 1)
                .ok_or_else(|| invalid_input("Every item needs a quantity of at least 1."))?;
            if let Some(list) = item.get("serialNumbers") {
                let list: Vec<String> = list
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .ok_or_else(|| invalid_input("serialNumbers must be an array of strings."))?;
                if !list.is_empty() && channel_type != "AMAZON" {
                    return Err(invalid_input(
                        "serialNumbers are only applicable when the channel source is Amazon.",
                    ));
                }
                if list.len() as u64 > quantity {
                    return Err(invalid_input(format!(
                        "An item has {} serial numbers for {quantity} unit(s): at most one per unit.",
                        list.len()
                    )));
                }
                for n in list {
                    if n.trim().is_empty() || serials.contains(&n) {
                        return Err(invalid_input(
                            "Serial numbers must be non-empty and unique in the package.",
                        ));
                    }
                    serials.push(n);
                }
            }
            if let Some(id) = item["itemIdentifier"].as_str() {
                if let Some(open) = &open_items {
                    let left = open.get(id).copied().ok_or_else(|| {
                        invalid_input(format!("itemIdentifier {id} is not an item of the order."))
                    })?;
                    if quantity > left {
                        return Err(invalid_input(format!(
                            "itemIdentifier {id}: {quantity} units asked, {left} left to ship."
                        )));
                    }
                }
                named.push((id.to_string(), u32::try_from(quantity).unwrap_or(u32::MAX)));
            }
        }
        parsed.push(SimPackage {
            reference_id: reference.to_string(),
            items: named,
            serials,
        });
    }
    Ok(Shipment {
        amazon_order,
        packages: parsed,
        total_grams,
        currency,
        postal_code,
        country_code,
        ship_from: ship_from.clone(),
    })
}

fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(t)
}

/// The offers for a shipment, and the ineligible ones.
fn offers(inner: &mut Inner, shipment: &Shipment) -> (Vec<SimRate>, Vec<Value>) {
    let now = inner.now();
    let kg = shipment.total_grams.div_ceil(1000).max(1);
    let mut rates = Vec::new();
    let mut ineligible = Vec::new();
    for (n, s) in SERVICES.iter().enumerate() {
        if s.service_id == "DHL-PAKET" && shipment.total_grams > DHL_MAX_GRAMS {
            ineligible.push(json!({
                "serviceId": s.service_id, "serviceName": s.service_name,
                "carrierName": s.carrier_name, "carrierId": s.carrier_id,
                "ineligibilityReasons": [{"code": "WEIGHT_RESTRICTIONS",
                    "message": "The package is heavier than 31.5 kg."}]
            }));
            continue;
        }
        let id = inner.shipping.next_id();
        let delivery_day = day_start(now) + TimeDelta::days(s.delivery_days);
        let cross_border =
            shipment.ship_from["countryCode"].as_str() != Some(shipment.country_code.as_str());
        rates.push(SimRate {
            rate_id: format!("RATE{id:08}{}", s.carrier_id),
            service: n,
            cents: s.base_cents + s.per_kg_cents * kg,
            pickup: (now + TimeDelta::hours(1), now + TimeDelta::hours(4)),
            delivery: (
                delivery_day + TimeDelta::hours(8),
                delivery_day + TimeDelta::hours(20),
            ),
            requires_inputs: cross_border
                && crate::shipping_inputs::CUSTOMS_CARRIERS.contains(&s.carrier_id),
        });
    }
    (rates, ineligible)
}

fn window(w: (DateTime<Utc>, DateTime<Utc>)) -> Value {
    json!({ "start": iso(w.0), "end": iso(w.1) })
}

fn size_json() -> Value {
    json!({ "width": 4, "length": 6, "unit": "INCH" })
}

fn rate_json(r: &SimRate, currency: &str) -> Value {
    let s = &SERVICES[r.service];
    let specs: Vec<Value> = s
        .formats
        .iter()
        .map(|f| {
            json!({
                "format": f,
                "size": size_json(),
                "printOptions": [{
                    "supportedDPIs": [203, 300],
                    "supportedPageLayouts": ["DEFAULT"],
                    "supportedFileJoiningOptions": [false],
                    "supportedDocumentDetails": [{ "name": "LABEL", "isMandatory": true }]
                }]
            })
        })
        .collect();
    json!({
        "rateId": r.rate_id,
        "carrierId": s.carrier_id,
        "carrierName": s.carrier_name,
        "serviceId": s.service_id,
        "serviceName": s.service_name,
        "totalCharge": { "value": money_number(r.cents), "unit": currency },
        "promise": { "pickupWindow": window(r.pickup), "deliveryWindow": window(r.delivery) },
        "supportedDocumentSpecifications": specs,
        "requiresAdditionalInputs": r.requires_inputs,
        "paymentType": "PAY_THROUGH_AMAZON",
    })
}

/// Cents as the JSON number Amazon writes (`4.76`).
fn money_number(cents: u64) -> Value {
    serde_json::from_str(&cents_text(cents)).unwrap_or(json!(0))
}

async fn rates_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::GetRates),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            let shipment = parse_shipment(inner, seller, &body)?;
            let (rates, ineligible) = offers(inner, &shipment);
            let token = format!("RT{:012}", inner.shipping.next_id());
            let answer = json!({ "payload": {
                "requestToken": token,
                "rates": rates.iter().map(|r| rate_json(r, &shipment.currency)).collect::<Vec<_>>(),
                "ineligibleRates": ineligible,
            }});
            let issued = inner.stamp();
            inner.shipping.rate_requests.insert(
                token,
                RateRequest {
                    seller: seller.to_string(),
                    issued,
                    amazon_order: shipment.amazon_order,
                    currency: shipment.currency,
                    packages: shipment.packages,
                    rates,
                    postal_code: shipment.postal_code,
                    country_code: shipment.country_code,
                    ship_from: shipment.ship_from,
                },
            );
            Ok(answer)
        },
    )
    .await
}

/// Checks the requested document specification against the rate's.
fn document_format(spec: &Value, rate: &SimRate) -> Result<String, (StatusCode, Value)> {
    if spec.is_null() {
        return Err(missing("requestedDocumentSpecification"));
    }
    let format = spec["format"]
        .as_str()
        .ok_or_else(|| missing("requestedDocumentSpecification.format"))?;
    for f in ["size", "needFileJoining", "requestedDocumentTypes"] {
        if spec[f].is_null() {
            return Err(missing(&format!("requestedDocumentSpecification.{f}")));
        }
    }
    if !SERVICES[rate.service].formats.contains(&format) {
        return Err(invalid_input(format!(
            "The requested document format {format} is not supported by the rate {}.",
            rate.rate_id
        )));
    }
    if let Some(dpi) = spec["dpi"].as_u64()
        && ![203, 300].contains(&dpi)
    {
        return Err(invalid_input(format!("Unsupported dpi {dpi}.")));
    }
    Ok(format.to_string())
}

/// Buys `rate` of `request`: the shipment, its labels, the order marked shipped.
fn buy(
    inner: &mut Inner,
    request: &RateRequest,
    rate: SimRate,
    format: String,
) -> Result<(String, Value), (StatusCode, Value)> {
    let now = inner.now();
    let id = inner.shipping.next_id();
    let shipment_id = format!("{}{:010}", 4_000 + id % 1000, id);
    let carrier = SERVICES[rate.service].carrier_id;
    let packages: Vec<(String, String)> = request
        .packages
        .iter()
        .enumerate()
        .map(|(n, p)| {
            (
                p.reference_id.clone(),
                format!("{carrier}{id:09}{:02}", n + 1),
            )
        })
        .collect();
    if let Some(order_id) = &request.amazon_order {
        ship_amazon_order(
            inner,
            &request.seller,
            order_id,
            request,
            &packages,
            &rate,
            now,
        )?;
    }
    let purchased = inner.stamp();
    let shipment = SimShipment {
        seller: request.seller.clone(),
        rate,
        currency: request.currency.clone(),
        packages,
        format,
        purchased_at: now,
        purchased,
        cancelled: None,
        amazon_order: request.amazon_order.clone(),
        postal_code: request.postal_code.clone(),
        country_code: request.country_code.clone(),
        ship_from: request.ship_from.clone(),
        serials: request
            .packages
            .iter()
            .flat_map(|p| p.serials.iter().cloned())
            .collect(),
        manifest: None,
    };
    *inner
        .shipping
        .purchases
        .entry(request.seller.clone())
        .or_default() += 1;
    let padding = inner.shipping.label_padding;
    let details: Vec<Value> = shipment
        .packages
        .iter()
        .map(|(reference, tracking)| {
            package_detail(reference, tracking, &shipment.format, None, padding)
        })
        .collect();
    let promise = json!({
        "pickupWindow": window(shipment.rate.pickup),
        "deliveryWindow": window(shipment.rate.delivery),
    });
    let answer = json!({
        "shipmentId": shipment_id,
        "packageDocumentDetails": details,
        "promise": promise,
        "benefits": { "includedBenefits": ["CLAIMS_PROTECTED"], "excludedBenefits": [] },
    });
    inner
        .shipping
        .shipments
        .insert(shipment_id.clone(), shipment);
    Ok((shipment_id, answer))
}

/// An Amazon-channel purchase ships the package's items (all open items
/// when the package names none) with the label's carrier and tracking id.
fn ship_amazon_order(
    inner: &mut Inner,
    seller: &str,
    order_id: &str,
    request: &RateRequest,
    packages: &[(String, String)],
    rate: &SimRate,
    now: DateTime<Utc>,
) -> Result<(), (StatusCode, Value)> {
    let order = inner
        .seller_mut(seller)
        .map_err(|_| invalid_input("Unknown seller."))?
        .orders
        .get_mut(order_id)
        .ok_or_else(|| invalid_input(format!("Order {order_id} was not found for this seller.")))?;
    let json = order.to_json(Included::all(), true, marketplace(&order.marketplace_id));
    let sku_of = |item_id: &str| -> Option<String> {
        json["orderItems"]
            .as_array()?
            .iter()
            .find(|i| i["orderItemId"] == item_id)?["product"]["sellerSku"]
            .as_str()
            .map(str::to_string)
    };
    let service = &SERVICES[rate.service];
    // Check every package first, so a refused purchase changes nothing.
    let mut specs = Vec::new();
    for (p, (_, tracking)) in request.packages.iter().zip(packages) {
        let mut items = Vec::new();
        for (item_id, quantity) in &p.items {
            let sku = sku_of(item_id).ok_or_else(|| {
                invalid_input(format!(
                    "itemIdentifier {item_id} is not an item of the order."
                ))
            })?;
            items.push(ShipItem {
                sku,
                quantity: *quantity,
            });
        }
        specs.push(ShipSpec {
            items,
            carrier: Some(service.carrier_name.to_string()),
            tracking_number: Some(tracking.clone()),
            shipping_service: Some(service.service_name.to_string()),
        });
    }
    let mut trial = order.clone();
    for spec in &specs {
        trial.ship(spec, now).map_err(|e| {
            invalid_input(format!("Order {order_id} cannot ship this package: {e}"))
        })?;
    }
    *order = trial;
    Ok(())
}

async fn purchase_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let key = header(&headers, "x-amzn-IdempotencyKey");
    let speed = shared.speed;
    pipeline(
        &shared,
        call(Operation::PurchaseShipment),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            if let Some(key) = &key
                && let Some((seen, answer)) = inner
                    .shipping
                    .idempotency
                    .get(&(seller.to_string(), key.clone()))
            {
                if *seen != body {
                    return Err(invalid_input(
                        "The x-amzn-IdempotencyKey was already used for a different request.",
                    ));
                }
                return Ok(answer.clone());
            }
            let token = body["requestToken"]
                .as_str()
                .ok_or_else(|| missing("RequestToken"))?
                .to_string();
            let rate_id = body["rateId"]
                .as_str()
                .ok_or_else(|| missing("RateId"))?
                .to_string();
            let request = inner
                .shipping
                .rate_requests
                .get(&token)
                .filter(|r| r.seller == seller)
                .cloned()
                .ok_or_else(|| invalid_input("The requestToken is invalid."))?;
            if inner.sim_elapsed(request.issued, speed) > TOKEN_LIFETIME {
                return Err((
                    StatusCode::BAD_REQUEST,
                    error_list(
                        "TOKEN_EXPIRED",
                        "The requestToken has expired.",
                        "Rates expire 10 minutes after getRates: call getRates again.",
                    ),
                ));
            }
            let rate = request
                .rates
                .iter()
                .find(|r| r.rate_id == rate_id)
                .cloned()
                .ok_or_else(|| {
                    invalid_input(format!(
                        "The rateId {rate_id} is not one of the rates of this requestToken."
                    ))
                })?;
            let format = document_format(&body["requestedDocumentSpecification"], &rate)?;
            if rate.requires_inputs {
                crate::shipping_inputs::check(&body["additionalInputs"])?;
            }
            let (_, result) = buy(inner, &request, rate, format)?;
            let answer = json!({ "payload": result });
            if let Some(key) = key {
                inner
                    .shipping
                    .idempotency
                    .insert((seller.to_string(), key), (body, answer.clone()));
            }
            lost_answer(inner, seller)?;
            Ok(answer)
        },
    )
    .await
}

/// The purchase happened; answer 503 if control asked to lose the answer.
fn lost_answer(inner: &mut Inner, seller: &str) -> Result<(), (StatusCode, Value)> {
    if let Some(n) = inner.shipping.lost_answers.get_mut(seller)
        && *n > 0
    {
        *n -= 1;
        return Err((StatusCode::SERVICE_UNAVAILABLE, server_error(503)));
    }
    Ok(())
}

async fn one_click_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::OneClickShipment),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let body = body_of(body)?;
            let shipment = parse_shipment(inner, seller, &body)?;
            let wanted: Vec<&str> = body["serviceSelection"]["serviceId"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if wanted.is_empty() {
                return Err(missing("serviceSelection.serviceId"));
            }
            let (rates, _) = offers(inner, &shipment);
            // One click has no additional inputs: offers that need them are out.
            let rate = rates
                .into_iter()
                .filter(|r| wanted.contains(&SERVICES[r.service].service_id))
                .filter(|r| !r.requires_inputs)
                .min_by_key(|r| r.cents)
                .ok_or_else(|| {
                    invalid_input("None of the selected services can ship this shipment.")
                })?;
            let format = document_format(&body["labelSpecifications"], &rate)?;
            let request = RateRequest {
                seller: seller.to_string(),
                issued: inner.stamp(),
                amazon_order: shipment.amazon_order,
                currency: shipment.currency,
                packages: shipment.packages,
                rates: vec![rate.clone()],
                postal_code: shipment.postal_code,
                country_code: shipment.country_code,
                ship_from: shipment.ship_from,
            };
            let cents = rate.cents;
            let service = &SERVICES[rate.service];
            let (_, mut result) = buy(inner, &request, rate, format)?;
            result["carrier"] = json!({ "id": service.carrier_id, "name": service.carrier_name });
            result["service"] = json!({ "id": service.service_id, "name": service.service_name });
            result["totalCharge"] =
                json!({ "value": money_number(cents), "unit": request.currency });
            if let Some(obj) = result.as_object_mut() {
                obj.remove("benefits");
            }
            Ok(json!({ "payload": result }))
        },
    )
    .await
}

async fn cancel_route(
    State(shared): State<Arc<Shared>>,
    Path(shipment_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let speed = shared.speed;
    pipeline(
        &shared,
        call(Operation::CancelShipment),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let now = inner.now();
            let purchased = match inner.shipping.shipments.get(&shipment_id) {
                Some(s) if s.seller == seller => {
                    if s.cancelled.is_some() {
                        return Err(invalid_input(format!(
                            "Shipment {shipment_id} is already cancelled."
                        )));
                    }
                    if let Some(form) = &s.manifest {
                        return Err(invalid_input(format!(
                            "Shipment {shipment_id} is on collection form {form} and can no longer be cancelled."
                        )));
                    }
                    s.purchased
                }
                _ => return Err(not_found("The shipment was not found.")),
            };
            if inner.sim_elapsed(purchased, speed) > PICKUP_AFTER {
                return Err(invalid_input(format!(
                    "Shipment {shipment_id} was picked up and can no longer be cancelled."
                )));
            }
            if let Some(s) = inner.shipping.shipments.get_mut(&shipment_id) {
                s.cancelled = Some(now);
            }
            Ok(json!({ "payload": {} }))
        },
    )
    .await
}

async fn documents_route(
    State(shared): State<Arc<Shared>>,
    Path(shipment_id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    pipeline(
        &shared,
        call(Operation::GetShipmentDocuments),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let reference = query
                .get("packageClientReferenceId")
                .ok_or_else(|| missing("packageClientReferenceId"))?;
            let padding = inner.shipping.label_padding;
            let shipment = inner
                .shipping
                .shipments
                .get(&shipment_id)
                .filter(|s| s.seller == seller)
                .ok_or_else(|| not_found("The shipment was not found."))?;
            let format = match query.get("format") {
                None => shipment.format.clone(),
                Some(f)
                    if SERVICES[shipment.rate.service]
                        .formats
                        .contains(&f.as_str()) =>
                {
                    f.clone()
                }
                Some(f) => {
                    return Err(invalid_input(format!(
                        "The format {f} is not supported for this shipment."
                    )));
                }
            };
            let dpi = query.get("dpi").and_then(|d| d.parse::<u32>().ok());
            let (_, tracking) = shipment
                .packages
                .iter()
                .find(|(r, _)| r == reference)
                .ok_or_else(|| not_found("The package was not found in the shipment."))?;
            Ok(json!({ "payload": {
                "shipmentId": shipment_id,
                "packageDocumentDetail": package_detail(reference, tracking, &format, dpi, padding),
                "benefits": { "includedBenefits": ["CLAIMS_PROTECTED"], "excludedBenefits": [] },
            }}))
        },
    )
    .await
}

async fn tracking_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let business_id = header(&headers, "x-amzn-shipping-business-id");
    let speed = shared.speed;
    pipeline(
        &shared,
        call(Operation::GetTracking),
        &headers,
        move |inner, seller, _| {
            business(inner, seller, business_id.as_deref())?;
            let tracking_id = query
                .get("trackingId")
                .ok_or_else(|| missing("trackingId"))?;
            let carrier_id = query.get("carrierId").ok_or_else(|| missing("carrierId"))?;
            let shipment = inner
                .shipping
                .shipments
                .values()
                .find(|s| s.seller == seller && s.packages.iter().any(|(_, t)| t == tracking_id))
                .ok_or_else(|| not_found("No shipment with this trackingId."))?;
            if SERVICES[shipment.rate.service].carrier_id != carrier_id {
                return Err(invalid_input(format!(
                    "trackingId {tracking_id} does not belong to carrier {carrier_id}."
                )));
            }
            let elapsed = inner.sim_elapsed(shipment.purchased, speed);
            let (events, status) = tracking_events(shipment, elapsed);
            Ok(json!({ "payload": {
                "trackingId": tracking_id,
                "alternateLegTrackingId": "",
                "eventHistory": events,
                "promisedDeliveryDate": iso(shipment.rate.delivery.1),
                "summary": { "status": status },
            }}))
        },
    )
    .await
}

/// The events that have happened `elapsed` (simulated) after the purchase.
fn tracking_events(s: &SimShipment, elapsed: Duration) -> (Vec<Value>, &'static str) {
    let hub = json!({ "city": "Leipzig", "countryCode": s.country_code });
    let mut destination = json!({ "countryCode": s.country_code });
    if let Some(p) = &s.postal_code {
        destination["postalCode"] = json!(p);
    }
    let h = |hours: i64| TimeDelta::hours(hours);
    let delivered_at = s.rate.delivery.0 + h(4);
    let since = |t: DateTime<Utc>| (t - s.purchased_at).to_std().unwrap_or_default();
    let mut timeline: Vec<(&str, DateTime<Utc>, Value, &'static str)> = vec![(
        "ReadyForReceive",
        s.purchased_at,
        json!({ "countryCode": s.country_code }),
        "PreTransit",
    )];
    if let Some(cancelled) = s.cancelled {
        timeline.push((
            "PickupCancelled",
            cancelled,
            json!({ "countryCode": s.country_code }),
            "PickupCancelled",
        ));
    } else {
        timeline.extend([
            (
                "PickupDone",
                s.purchased_at + h(2),
                hub.clone(),
                "InTransit",
            ),
            (
                "ArrivedAtCarrierFacility",
                s.purchased_at + h(6),
                hub.clone(),
                "InTransit",
            ),
            ("Departed", s.purchased_at + h(8), hub, "InTransit"),
            (
                "OutForDelivery",
                delivered_at - h(3),
                destination.clone(),
                "OutForDelivery",
            ),
            ("Delivered", delivered_at, destination, "Delivered"),
        ]);
    }
    let mut events = Vec::new();
    let mut status = "PreTransit";
    for (code, at, location, summary) in timeline {
        if code == "ReadyForReceive" || code == "PickupCancelled" || since(at) <= elapsed {
            events.push(json!({
                "eventCode": code, "eventTime": iso(at), "location": location,
                "shipmentType": "FORWARD",
            }));
            status = summary;
        }
    }
    (events, status)
}

fn package_detail(
    reference: &str,
    tracking: &str,
    format: &str,
    dpi: Option<u32>,
    padding: usize,
) -> Value {
    let bytes = label_file(format, tracking, dpi.unwrap_or(203), padding);
    json!({
        "packageClientReferenceId": reference,
        "trackingId": tracking,
        "packageDocuments": [{
            "type": "LABEL",
            "format": format,
            "contents": base64::engine::general_purpose::STANDARD.encode(bytes),
        }],
    })
}

/// A small, well-formed label file with the tracking id in it, padded
/// (with comments or an ancillary chunk) to at least `padding` bytes.
pub fn label_file(format: &str, tracking: &str, dpi: u32, padding: usize) -> Vec<u8> {
    match format {
        "PNG" => png(tracking, padding),
        "ZPL" => {
            let mut z = format!(
                "^XA\n^FX Amazon Shipping label (simulator) {dpi} dpi\n^FO50,50^A0N,40,40^FD{tracking}^FS\n^FO50,120^BCN,100,Y,N,N^FD{tracking}^FS\n"
            );
            while z.len() + 4 < padding {
                z.push_str("^FX ");
                z.push_str(&"0".repeat(75));
                z.push('\n');
            }
            z.push_str("^XZ\n");
            z.into_bytes()
        }
        _ => pdf(tracking, padding),
    }
}

fn pdf(tracking: &str, padding: usize) -> Vec<u8> {
    pdf_with(&[format!("Label {tracking}")], padding)
}

/// A one-page PDF with `lines` of text (ASCII, no parentheses), padded with
/// comments to at least `padding` bytes.
pub(crate) fn pdf_with(lines: &[String], padding: usize) -> Vec<u8> {
    let mut content = String::from("BT /F1 12 Tf 36 400 Td 14 TL");
    for line in lines {
        let safe: String = line
            .chars()
            .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
            .collect();
        content.push_str(&format!(" ({safe}) Tj T*"));
    }
    content.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    while out.len() < padding {
        out.extend_from_slice(b"%");
        out.extend_from_slice(&[b'0'; 78]);
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    for (n, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A 1×1 white greyscale PNG with the tracking id as a text chunk.
fn png(tracking: &str, padding: usize) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    // width 1, height 1, bit depth 8, colour type 0, compression, filter, interlace
    png_chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    png_chunk(
        &mut out,
        b"tEXt",
        format!("Title\0Label {tracking}").as_bytes(),
    );
    if padding > out.len() {
        let fill = "0".repeat(padding - out.len());
        png_chunk(&mut out, b"tEXt", format!("Comment\0{fill}").as_bytes());
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // one scanline: filter byte 0, one white pixel
    let _ = z.write_all(&[0, 0xFF]);
    let idat = z.finish().unwrap_or_default();
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_convert_to_grams_rounding_up() {
        for (w, g) in [
            (json!({"unit": "KILOGRAM", "value": 1.25}), 1250),
            (json!({"unit": "GRAM", "value": 500}), 500),
            (json!({"unit": "POUND", "value": 1}), 454),
            (json!({"unit": "OUNCE", "value": "2.5"}), 71),
        ] {
            assert_eq!(grams(&w).unwrap(), g, "{w}");
        }
        assert!(grams(&json!({"unit": "STONE", "value": 1})).is_err());
    }

    #[test]
    fn label_files_look_like_their_format() {
        let pdf = label_file("PDF", "AMZN1", 203, 0);
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
        let png = label_file("PNG", "AMZN1", 203, 0);
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G']));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND CRC");
        let zpl = label_file("ZPL", "AMZN1", 300, 0);
        assert!(zpl.starts_with(b"^XA") && zpl.ends_with(b"^XZ\n"));
        for f in ["PDF", "PNG", "ZPL"] {
            assert!(label_file(f, "T", 203, 500_000).len() >= 500_000, "{f}");
        }
    }
}
