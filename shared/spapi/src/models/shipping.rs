//! Amazon Shipping API v2 (`shippingV2.json`): the request and response types
//! of getRates, purchaseShipment, oneClickShipment, cancelShipment,
//! getTracking, getShipmentDocuments and getAdditionalInputs. Success bodies are wrapped in
//! `{"payload": ...}`.
//!
//! Numbers: the model writes charges, weights and dimensions as JSON
//! *numbers* (and some examples as strings, e.g. `rateItemCharge`). They are
//! kept as [`Decimal`] text — never computed with as floats — and written back
//! as the shortest JSON number that reads as the same decimal.
//!
//! Buyer data: addresses, label contents (a label prints the ship-to address)
//! and tracking locations are [`Pii`]; `Debug` never prints them.

use std::fmt;

use chrono::{DateTime, Utc};
use domain::Pii;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `x-amzn-shipping-business-id` values of the model.
pub const SHIPPING_BUSINESS_IDS: [&str; 10] = [
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

/// The Amazon Shipping business of a marketplace, for the
/// `x-amzn-shipping-business-id` header. `None` where the model has no value
/// (e.g. Amazon.de): the header is then left out and Amazon applies its
/// default.
pub fn shipping_business_id(marketplace_id: &str) -> Option<&'static str> {
    Some(match marketplace_id {
        "ATVPDKIKX0DER" => "AmazonShipping_US",
        "A21TJRUUN4KGV" => "AmazonShipping_IN",
        "A1F83G8C2ARO7P" => "AmazonShipping_UK",
        "A2VIGQ35RCS4UG" => "AmazonShipping_UAE",
        "A17E79C6D8DWNP" => "AmazonShipping_SA",
        "ARBP9OOSHTCHU" => "AmazonShipping_EG",
        "APJ6JRA9NG5V4" => "AmazonShipping_IT",
        "A1RKKUPIHCS9HS" => "AmazonShipping_ES",
        "A13V1IB3VIYZZH" => "AmazonShipping_FR",
        "A1VC38T7YXB528" => "AmazonShipping_JP",
        _ => return None,
    })
}

// Not wms::Decimal: Amazon's model writes JSON numbers (15 digits); the WMS contract, strings.
/// A decimal number as text (`"4.76"`, `"7"`, `"-0.5"`): read from a JSON
/// number or string, written as a JSON number. At most 15 significant
/// digits, so the number written reads back as exactly this decimal.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

const MAX_SIGNIFICANT: usize = 15;

impl Decimal {
    /// `None` unless `-?digits(.digits)?` with at most 15 significant digits.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(int) && frac.is_none_or(digits)) {
            return None;
        }
        let significant = format!("{int}{}", frac.unwrap_or(""))
            .trim_start_matches('0')
            .len();
        (significant <= MAX_SIGNIFICANT).then_some(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Exact comparison of two decimals (for "cheapest").
    pub fn cmp_value(&self, other: &Decimal) -> std::cmp::Ordering {
        let scale = self.scale().max(other.scale());
        self.scaled(scale).cmp(&other.scaled(scale))
    }

    fn scale(&self) -> usize {
        self.0.split_once('.').map_or(0, |(_, f)| f.len())
    }

    /// The value times 10^`scale` as an integer (`scale` ≥ own scale).
    fn scaled(&self, scale: usize) -> i128 {
        let (negative, unsigned) = match self.0.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, self.0.as_str()),
        };
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = format!("{int}{frac:0<scale$}");
        // At most 15 significant digits plus padding: fits an i128 for any
        // scale Amazon uses; saturate rather than panic otherwise.
        let value = digits.parse::<i128>().unwrap_or(i128::MAX);
        if negative { -value } else { value }
    }

    fn from_f64(v: f64) -> Option<Self> {
        // Rust prints the shortest text that reads back as `v`, without an
        // exponent: the decimal the JSON number was written as.
        v.is_finite().then(|| format!("{v}")).and_then(Decimal::new)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({})", self.0)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !self.0.contains('.')
            && let Ok(n) = self.0.parse::<i64>()
        {
            return serializer.serialize_i64(n);
        }
        let v: f64 = self
            .0
            .parse()
            .map_err(|_| serde::ser::Error::custom("not a decimal number"))?;
        serializer.serialize_f64(v)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number (JSON number or string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Decimal::new(v.to_string()).ok_or_else(|| E::custom("too many digits"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Decimal::new(v.to_string()).ok_or_else(|| E::custom("too many digits"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                Decimal::from_f64(v).ok_or_else(|| E::custom("not a finite decimal"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                Decimal::new(v.trim()).ok_or_else(|| E::custom("not a decimal number"))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A tracking id: a string in the model, a number in some examples.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        U(u64),
        I(i64),
    }
    Ok(Option::<Either>::deserialize(d)?.map(|e| match e {
        Either::S(s) => s,
        Either::U(n) => n.to_string(),
        Either::I(n) => n.to_string(),
    }))
}

/// `Address`. Required by the model: name, addressLine1, city,
/// stateOrRegion, postalCode, countryCode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub name: Pii<String>,
    pub address_line1: Pii<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<Pii<String>>,
    pub state_or_region: Pii<String>,
    pub city: Pii<String>,
    pub country_code: String,
    pub postal_code: Pii<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<Pii<String>>,
}

/// `Weight`: unit `GRAM`, `KILOGRAM`, `OUNCE` or `POUND` (kept as text:
/// Amazon's own examples use other spellings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    pub unit: String,
    pub value: Decimal,
}

/// `Dimensions`: unit `INCH` or `CENTIMETER`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    pub length: Decimal,
    pub width: Decimal,
    pub height: Decimal,
    pub unit: String,
}

/// `Currency`: a value and its ISO 4217 code (`unit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Currency {
    pub value: Decimal,
    pub unit: String,
}

/// `Item` (in a package).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_value: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For Amazon orders: the order item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Weight>,
    /// The units' serial numbers (at most `quantity`, unique); only for an
    /// Amazon order (channel `AMAZON`), per the model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serial_numbers: Vec<String>,
}

/// `Package`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub dimensions: Dimensions,
    pub weight: Weight,
    pub insured_value: Currency,
    pub package_client_reference_id: String,
    pub items: Vec<Item>,
}

/// `ChannelType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelType {
    /// The shipment fulfils an Amazon order: Amazon knows the ship-to
    /// address and marks the order shipped.
    Amazon,
    External,
}

impl ChannelType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Amazon => "AMAZON",
            ChannelType::External => "EXTERNAL",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmazonOrderDetails {
    pub order_id: String,
}

/// `ChannelDetails`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelDetails {
    pub channel_type: ChannelType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon_order_details: Option<AmazonOrderDetails>,
}

impl ChannelDetails {
    pub fn amazon(order_id: impl Into<String>) -> Self {
        Self {
            channel_type: ChannelType::Amazon,
            amazon_order_details: Some(AmazonOrderDetails {
                order_id: order_id.into(),
            }),
        }
    }

    pub fn external() -> Self {
        Self {
            channel_type: ChannelType::External,
            amazon_order_details: None,
        }
    }
}

/// `GetRatesRequest`. With channel `AMAZON`, `shipTo` is ignored by Amazon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetRatesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<Address>,
    pub ship_from: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<DateTime<Utc>>,
    pub packages: Vec<Package>,
    pub channel_details: ChannelDetails,
}

/// `DocumentFormat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DocumentFormat {
    Pdf,
    Png,
    Zpl,
}

impl DocumentFormat {
    pub const ALL: [DocumentFormat; 3] = [
        DocumentFormat::Pdf,
        DocumentFormat::Png,
        DocumentFormat::Zpl,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "PDF",
            DocumentFormat::Png => "PNG",
            DocumentFormat::Zpl => "ZPL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// `DocumentType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentType {
    Packslip,
    Label,
    Receipt,
    CustomForm,
}

/// `DocumentSize`: unit `INCH` or `CENTIMETER`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSize {
    pub width: Decimal,
    pub length: Decimal,
    pub unit: String,
}

/// `RequestedDocumentSpecification`: must be among the rate's
/// `supportedDocumentSpecifications`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestedDocumentSpecification {
    pub format: DocumentFormat,
    pub size: DocumentSize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpi: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_layout: Option<String>,
    pub need_file_joining: bool,
    pub requested_document_types: Vec<DocumentType>,
}

/// `PurchaseShipmentRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseShipmentRequest {
    pub request_token: String,
    pub rate_id: String,
    pub requested_document_specification: RequestedDocumentSpecification,
    /// What a rate with `requiresAdditionalInputs` needs, shaped by the JSON
    /// schema getAdditionalInputs returned for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_inputs: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `ServiceSelection`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSelection {
    pub service_id: Vec<String>,
}

// Starts like GetRatesRequest, as in Amazon's model: its own type there (adds label, service).
/// `OneClickShipmentRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneClickShipmentRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<Address>,
    pub ship_from: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<DateTime<Utc>>,
    pub packages: Vec<Package>,
    pub channel_details: ChannelDetails,
    pub label_specifications: RequestedDocumentSpecification,
    pub service_selection: ServiceSelection,
}

// ---- answers -------------------------------------------------------------

/// `TimeWindow`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
}

/// `Promise`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promise {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_window: Option<TimeWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_window: Option<TimeWindow>,
}

/// `SupportedDocumentDetail`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedDocumentDetail {
    pub name: String,
    pub is_mandatory: bool,
}

/// `PrintOption`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintOption {
    #[serde(default, rename = "supportedDPIs")]
    pub supported_dpis: Vec<u32>,
    #[serde(default)]
    pub supported_page_layouts: Vec<String>,
    #[serde(default)]
    pub supported_file_joining_options: Vec<bool>,
    #[serde(default)]
    pub supported_document_details: Vec<SupportedDocumentDetail>,
}

/// `SupportedDocumentSpecification`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedDocumentSpecification {
    pub format: String,
    pub size: DocumentSize,
    #[serde(default)]
    pub print_options: Vec<PrintOption>,
}

/// `Rate`: one offer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rate {
    pub rate_id: String,
    pub carrier_id: String,
    pub carrier_name: String,
    pub service_id: String,
    pub service_name: String,
    #[serde(default)]
    pub billed_weight: Option<Weight>,
    pub total_charge: Currency,
    pub promise: Promise,
    #[serde(default)]
    pub supported_document_specifications: Vec<SupportedDocumentSpecification>,
    pub requires_additional_inputs: bool,
    #[serde(default)]
    pub payment_type: Option<String>,
}

/// `IneligibilityReason`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IneligibilityReason {
    pub code: String,
    pub message: String,
}

/// `IneligibleRate`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IneligibleRate {
    pub service_id: String,
    pub service_name: String,
    pub carrier_name: String,
    pub carrier_id: String,
    #[serde(default)]
    pub ineligibility_reasons: Vec<IneligibilityReason>,
}

/// `GetRatesResult`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetRatesResult {
    pub request_token: String,
    pub rates: Vec<Rate>,
    #[serde(default)]
    pub ineligible_rates: Vec<IneligibleRate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GetRatesResponse {
    pub payload: GetRatesResult,
}

/// `PackageDocument`: `contents` is the base64 file, which prints the
/// ship-to address.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PackageDocument {
    #[serde(rename = "type")]
    pub kind: String,
    pub format: String,
    pub contents: Pii<String>,
}

/// `PackageDocumentDetail`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageDocumentDetail {
    pub package_client_reference_id: String,
    pub package_documents: Vec<PackageDocument>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub tracking_id: Option<String>,
}

/// `PurchaseShipmentResult`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseShipmentResult {
    pub shipment_id: String,
    pub package_document_details: Vec<PackageDocumentDetail>,
    pub promise: Promise,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PurchaseShipmentResponse {
    pub payload: PurchaseShipmentResult,
}

/// `Carrier` / `Service` of a one-click result.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IdName {
    pub id: String,
    pub name: String,
}

/// `OneClickShipmentResult`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneClickShipmentResult {
    pub shipment_id: String,
    pub package_document_details: Vec<PackageDocumentDetail>,
    pub promise: Promise,
    pub carrier: IdName,
    pub service: IdName,
    pub total_charge: Currency,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OneClickShipmentResponse {
    pub payload: OneClickShipmentResult,
}

/// `CancelShipmentResponse`: an empty payload.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CancelShipmentResponse {
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
}

/// `Location` of a tracking event: where the package was (a delivery event
/// is at the buyer's postal code, hence buyer data).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(default)]
    pub state_or_region: Option<Pii<String>>,
    #[serde(default)]
    pub city: Option<Pii<String>>,
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub postal_code: Option<Pii<String>>,
}

/// `Event`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_code: String,
    #[serde(default)]
    pub location: Option<Location>,
    pub event_time: DateTime<Utc>,
}

/// `TrackingSummary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct TrackingSummary {
    #[serde(default)]
    pub status: Option<String>,
}

/// `GetTrackingResult`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetTrackingResult {
    pub tracking_id: String,
    #[serde(default)]
    pub alternate_leg_tracking_id: Option<String>,
    #[serde(default)]
    pub event_history: Vec<Event>,
    #[serde(default)]
    pub promised_delivery_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub summary: TrackingSummary,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GetTrackingResponse {
    pub payload: GetTrackingResult,
}

/// `GetShipmentDocumentsResult`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetShipmentDocumentsResult {
    pub shipment_id: String,
    pub package_document_detail: PackageDocumentDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GetShipmentDocumentsResponse {
    pub payload: GetShipmentDocumentsResult,
}

/// `GetAdditionalInputsResponse`: the payload is a JSON schema (an object
/// with any members) that `additionalInputs` of the purchase must follow.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GetAdditionalInputsResponse {
    #[serde(default)]
    pub payload: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_numbers_and_strings_and_write_numbers() {
        for (json, text) in [
            ("4.76", "4.76"),
            ("7", "7"),
            ("\"2.00000\"", "2.00000"),
            ("0.1", "0.1"),
            ("-0.5", "-0.5"),
            ("12.0", "12"),
        ] {
            let d: Decimal = serde_json::from_str(json).unwrap();
            assert_eq!(d.as_str(), text, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Decimal::new("4.76").unwrap()).unwrap(),
            "4.76"
        );
        assert_eq!(
            serde_json::to_string(&Decimal::new("12").unwrap()).unwrap(),
            "12"
        );
        for bad in ["\"1e3\"", "\"abc\"", "\"1234567890123456\""] {
            assert!(serde_json::from_str::<Decimal>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_compare_exactly() {
        let d = |s: &str| Decimal::new(s).unwrap();
        use std::cmp::Ordering::*;
        assert_eq!(d("4.5").cmp_value(&d("4.50")), Equal);
        assert_eq!(d("4.49").cmp_value(&d("4.5")), Less);
        assert_eq!(d("10").cmp_value(&d("9.99")), Greater);
        assert_eq!(d("-1").cmp_value(&d("0.01")), Less);
    }

    #[test]
    fn business_ids_are_the_models_values() {
        for m in [
            "ATVPDKIKX0DER",
            "A1F83G8C2ARO7P",
            "APJ6JRA9NG5V4",
            "A1RKKUPIHCS9HS",
            "A13V1IB3VIYZZH",
            "A1VC38T7YXB528",
        ] {
            let id = shipping_business_id(m).unwrap();
            assert!(SHIPPING_BUSINESS_IDS.contains(&id), "{id}");
        }
        assert_eq!(shipping_business_id("A1PA6795UKMFR9"), None);
    }

    #[test]
    fn label_contents_never_print() {
        let doc: PackageDocument = serde_json::from_str(
            r#"{"type":"LABEL","format":"PDF","contents":"SmFuZSBCdXllcg=="}"#,
        )
        .unwrap();
        assert!(!format!("{doc:?}").contains("SmFu"));
    }
}
