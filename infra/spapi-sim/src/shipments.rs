//! Shipment confirmation in the simulator, both ways Amazon takes it:
//!
//! - **Orders v0 `confirmShipment`** (`POST /orders/v0/orders/{orderId}/shipmentConfirmation`):
//!   the body is checked as the model (`ordersV0.json`, `ConfirmShipmentRequest`)
//!   and Amazon's rules ask (positive numeric `packageReferenceId` unique per
//!   order, `carrierName` with `Other`, ISO 8601 `shipDate`, known order
//!   items, quantities within what is still open, no cancelled or pending
//!   order); a confirmed package changes the order's status (PartiallyShipped
//!   → Shipped), its items' shipped quantities and its `packages` (carrier,
//!   tracking number, shipping service) as `getOrder`/`searchOrders` show
//!   them. Success is 204 with no body; refusals are 400 `InvalidInput` with
//!   Amazon's error list; an unknown order is 404. The published rate (2/s,
//!   burst 10) applies through the common pipeline.
//! - **`POST_ORDER_FULFILLMENT_DATA`** (XML, `OrderFulfillment` messages in
//!   an `AmazonEnvelope`): a feed processor registered with the Feeds
//!   simulator applies each message on its own and answers an XML
//!   `ProcessingReport` with an `Error` result per refused message; a
//!   document that is not such an envelope ends the feed `FATAL`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, Utc};
use domain::Operation;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

use crate::faults::OpCall;
use crate::feeds::processor::{FeedInput, FeedProcessor, Processed};
use crate::http::error_list;
use crate::orders::PackageConfirmation;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::{Inner, Shared};

pub const ORDER_FULFILLMENT_FEED: &str = "POST_ORDER_FULFILLMENT_DATA";
const OTHER: &str = "Other";

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/orders/v0/orders/{order_id}/shipmentConfirmation",
        post(confirm_route),
    )
}

fn text<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v[field].as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn date_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `ConfirmShipmentRequest` → the package, or Amazon's 400 message.
fn parse_request(body: &Value, order_marketplace: &str) -> Result<PackageConfirmation, String> {
    let marketplace = text(body, "marketplaceId").ok_or("Missing required 'marketplaceId'.")?;
    if marketplace != order_marketplace {
        return Err(format!(
            "marketplaceId '{marketplace}' is not the marketplace of this order."
        ));
    }
    let p = &body["packageDetail"];
    if !p.is_object() {
        return Err("Missing required 'packageDetail'.".into());
    }
    let reference = match &p["packageReferenceId"] {
        Value::String(s) => s.clone(),
        Value::Null => return Err("Missing required 'packageReferenceId'.".into()),
        _ => return Err("'packageReferenceId' must be a string.".into()),
    };
    if reference.is_empty()
        || !reference.bytes().all(|b| b.is_ascii_digit())
        || reference.bytes().all(|b| b == b'0')
    {
        return Err("'packageReferenceId' must be a positive number.".into());
    }
    let code = text(p, "carrierCode").ok_or("Missing required 'carrierCode'.")?;
    let carrier = if code == OTHER {
        text(p, "carrierName")
            .ok_or("'carrierName' is required when 'carrierCode' is Other.")?
            .to_string()
    } else {
        code.to_string()
    };
    let tracking = text(p, "trackingNumber").ok_or("Missing required 'trackingNumber'.")?;
    let ship_date = text(p, "shipDate").ok_or("Missing required 'shipDate'.")?;
    let ship_time = date_time(ship_date).ok_or("'shipDate' must be an ISO 8601 date-time.")?;
    let items = p["orderItems"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or("'orderItems' must list at least one item.")?;
    let mut out = Vec::with_capacity(items.len());
    let mut codes = std::collections::BTreeMap::new();
    for item in items {
        let id = text(item, "orderItemId").ok_or("Missing required 'orderItemId'.")?;
        let quantity = item["quantity"]
            .as_u64()
            .and_then(|q| u32::try_from(q).ok())
            .filter(|q| *q >= 1)
            .ok_or_else(|| format!("'quantity' of order item {id} must be a positive integer."))?;
        out.push((id.to_string(), quantity));
        match &item["transparencyCodes"] {
            Value::Null => {}
            Value::Array(list) => {
                let list: Vec<String> = list
                    .iter()
                    .map(|c| c.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        format!("'transparencyCodes' of order item {id} must be strings.")
                    })?;
                codes
                    .entry(id.to_string())
                    .or_insert_with(Vec::new)
                    .extend(list);
            }
            _ => {
                return Err(format!(
                    "'transparencyCodes' of order item {id} must be a list."
                ));
            }
        }
    }
    Ok(PackageConfirmation {
        reference_id: reference,
        carrier,
        shipping_service: text(p, "shippingMethod").map(str::to_string),
        tracking_number: tracking.to_string(),
        ship_time,
        items: out,
        transparency_codes: codes,
        supply_source: text(p, "shipFromSupplySourceId").map(str::to_string),
        cod_collection_method: text(body, "codCollectionMethod").map(str::to_string),
    })
}

async fn confirm_route(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let call = OpCall {
        op: Operation::ConfirmShipment,
        has_page_token: false,
    };
    let resp = pipeline(&shared, call, &headers, move |inner, seller, _| {
        let Json(body) = body.map_err(|_| invalid_input("The request body is not valid JSON."))?;
        let now = inner.now();
        let seller = inner
            .seller_mut(seller)
            .map_err(|_| invalid_input("Unknown seller."))?;
        let sources = seller.supply_source_ids.clone();
        let order = seller.orders.get_mut(&order_id).ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                error_list(
                    "NotFound",
                    "The specified resource does not exist.",
                    "No order with this orderId exists for the selling partner.",
                ),
            )
        })?;
        let package = parse_request(&body, &order.marketplace_id).map_err(invalid_input)?;
        order
            .confirm_package(&package, &sources, now)
            .map_err(invalid_input)?;
        tracing::info!(package = package.reference_id, "shipment confirmed");
        Ok(Value::Null)
    })
    .await;
    no_content(resp)
}

/// A success of the pipeline (200 with `null`) as Amazon answers it: 204
/// with no body, the same headers.
fn no_content(resp: Response) -> Response {
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let (mut parts, _) = resp.into_parts();
    parts.status = StatusCode::NO_CONTENT;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::empty())
}

/// A tiny XML tree: enough to read a feed envelope.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }
}

fn parse_xml(bytes: &[u8]) -> Result<Node, String> {
    let mut reader = Reader::from_reader(bytes);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => stack.push(Node {
                name: e.local_name().as_ref().to_string(),
                ..Node::default()
            }),
            Ok(Event::Empty(e)) => {
                let node = Node {
                    name: e.local_name().as_ref().to_string(),
                    ..Node::default()
                };
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(node);
                }
            }
            Ok(Event::End(_)) => {
                let node = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Err("unbalanced end tag".into()),
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                let decoded = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::unescape(&format!("&{};", r.xml10_content()))
                        .map_err(|e| e.to_string())?
                        .into_owned(),
                };
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&decoded);
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "not well-formed XML at byte {}: {e}",
                    reader.buffer_position()
                ));
            }
        }
        buf.clear();
    }
    if stack.len() != 1 {
        return Err("the document ends inside an element".into());
    }
    let mut root = stack.pop().unwrap_or_default();
    match root.children.len() {
        1 => Ok(root.children.remove(0)),
        _ => Err("the document must have exactly one root element".into()),
    }
}

fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// One `Result` of a processing report.
struct ReportResult {
    message_id: u64,
    code: &'static str,
    description: String,
    order_id: Option<String>,
}

fn report_xml(seller: &str, feed_id: &str, processed: usize, results: &[ReportResult]) -> Vec<u8> {
    let errors = results
        .iter()
        .map(|r| r.message_id)
        .collect::<HashSet<_>>()
        .len();
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<AmazonEnvelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"amzn-envelope.xsd\">\n");
    x.push_str(&format!(
        "<Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>{}</MerchantIdentifier></Header>\n",
        xml_escape(seller)
    ));
    x.push_str("<MessageType>ProcessingReport</MessageType>\n<Message><MessageID>1</MessageID><ProcessingReport>\n");
    x.push_str(&format!(
        "<DocumentTransactionID>{}</DocumentTransactionID><StatusCode>Complete</StatusCode>\n",
        xml_escape(feed_id)
    ));
    x.push_str(&format!(
        "<ProcessingSummary><MessagesProcessed>{processed}</MessagesProcessed><MessagesSuccessful>{}</MessagesSuccessful><MessagesWithError>{errors}</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>\n",
        processed.saturating_sub(errors)
    ));
    for r in results {
        x.push_str(&format!(
            "<Result><MessageID>{}</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>{}</ResultMessageCode><ResultDescription>{}</ResultDescription>",
            r.message_id,
            r.code,
            xml_escape(&r.description)
        ));
        if let Some(order) = &r.order_id {
            x.push_str(&format!(
                "<AdditionalInfo><AmazonOrderID>{}</AmazonOrderID></AdditionalInfo>",
                xml_escape(order)
            ));
        }
        x.push_str("</Result>\n");
    }
    x.push_str("</ProcessingReport></Message>\n</AmazonEnvelope>\n");
    x.into_bytes()
}

/// `POST_ORDER_FULFILLMENT_DATA`: each `OrderFulfillment` message applied on
/// its own; a bad one is an `Error` result, the others go through.
pub(crate) struct OrderFulfillmentProcessor;

impl OrderFulfillmentProcessor {
    fn fatal(feed: &FeedInput<'_>, description: &str) -> Processed {
        let results = [ReportResult {
            message_id: 0,
            code: "5001",
            description: description.to_string(),
            order_id: None,
        }];
        Processed {
            done: false,
            report: Some((
                "text/xml".into(),
                report_xml(feed.seller_id, feed.feed_id, 0, &results),
            )),
        }
    }

    /// One message: the package it confirms, or why not.
    fn message(
        inner: &mut Inner,
        seller: &str,
        m: &Node,
        now: DateTime<Utc>,
    ) -> Result<(), (&'static str, String, Option<String>)> {
        let f = m.child("OrderFulfillment").ok_or((
            "5000",
            "The message has no OrderFulfillment element.".to_string(),
            None,
        ))?;
        let order_id = f.text_of("AmazonOrderID").map(str::to_string).ok_or((
            "18028",
            "AmazonOrderID is required (MerchantOrderID is not supported for merchant-fulfilled orders).".to_string(),
            None,
        ))?;
        let with_order = |code: &'static str, d: String| (code, d, Some(order_id.clone()));
        let ship_time = f
            .text_of("FulfillmentDate")
            .and_then(date_time)
            .ok_or_else(|| {
                with_order("18028", "FulfillmentDate must be an xsd:dateTime.".into())
            })?;
        let data = f.child("FulfillmentData");
        let carrier = data
            .and_then(|d| {
                d.text_of("CarrierCode")
                    .or_else(|| d.text_of("CarrierName"))
            })
            .ok_or_else(|| {
                with_order(
                    "18028",
                    "FulfillmentData needs a CarrierCode or a CarrierName.".into(),
                )
            })?
            .to_string();
        if data.and_then(|d| d.text_of("CarrierCode")) == Some(OTHER) {
            return Err(with_order(
                "18028",
                "CarrierCode Other is not accepted in a feed: send CarrierName instead.".into(),
            ));
        }
        let tracking = data
            .and_then(|d| d.text_of("ShipperTrackingNumber"))
            .ok_or_else(|| with_order("18028", "ShipperTrackingNumber is required.".into()))?
            .to_string();
        let shipping_service = data
            .and_then(|d| d.text_of("ShippingMethod"))
            .map(str::to_string);
        let mut items = Vec::new();
        let mut codes = std::collections::BTreeMap::new();
        for item in f.all("Item") {
            let id = item
                .text_of("AmazonOrderItemCode")
                .ok_or_else(|| with_order("18028", "Item needs an AmazonOrderItemCode.".into()))?;
            let item_codes: Vec<String> = item
                .all("TransparencyCode")
                .map(|c| c.text.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            if !item_codes.is_empty() {
                codes
                    .entry(id.to_string())
                    .or_insert_with(Vec::new)
                    .extend(item_codes);
            }
            let quantity = match item.text_of("Quantity") {
                Some(q) => q.parse::<u32>().ok().filter(|q| *q >= 1).ok_or_else(|| {
                    with_order(
                        "18028",
                        format!("Quantity of item {id} must be a positive integer."),
                    )
                })?,
                None => 0,
            };
            items.push((id.to_string(), quantity));
        }
        let sources = inner
            .seller(seller)
            .map(|s| s.supply_source_ids.clone())
            .unwrap_or_default();
        let order = inner
            .seller_mut(seller)
            .ok()
            .and_then(|s| s.orders.get_mut(&order_id))
            .ok_or_else(|| with_order("18025", format!("Order {order_id} was not found.")))?;
        // An item without a quantity ships all its open units.
        let items = items
            .into_iter()
            .map(|(id, q)| {
                let open = order.open_units(&id).unwrap_or(0);
                (id, if q == 0 { open.max(1) } else { q })
            })
            .collect();
        let reference_id = match f.text_of("MerchantFulfillmentID") {
            Some(r) => r.to_string(),
            None => order.free_reference(),
        };
        let package = PackageConfirmation {
            reference_id,
            carrier,
            shipping_service,
            tracking_number: tracking,
            ship_time,
            items,
            transparency_codes: codes,
            supply_source: f.text_of("ShipFromSupplySourceId").map(str::to_string),
            cod_collection_method: f.text_of("CODCollectionMethod").map(str::to_string),
        };
        order
            .confirm_package(&package, &sources, now)
            .map_err(|reason| with_order("18028", reason))
    }
}

impl FeedProcessor for OrderFulfillmentProcessor {
    fn process(&self, inner: &mut Inner, feed: &FeedInput<'_>) -> Processed {
        if !feed.content_type.starts_with("text/xml") {
            return Self::fatal(
                feed,
                "The feed document must have the content type text/xml.",
            );
        }
        let root = match parse_xml(feed.document) {
            Ok(r) => r,
            Err(e) => return Self::fatal(feed, &format!("The XML is not valid: {e}.")),
        };
        if root.name != "AmazonEnvelope" {
            return Self::fatal(feed, "The root element must be AmazonEnvelope.");
        }
        let header = root.child("Header");
        if header.and_then(|h| h.text_of("DocumentVersion")).is_none() {
            return Self::fatal(feed, "Header/DocumentVersion is required.");
        }
        if header.and_then(|h| h.text_of("MerchantIdentifier")) != Some(feed.seller_id) {
            return Self::fatal(
                feed,
                "Header/MerchantIdentifier is not the selling partner that submitted the feed.",
            );
        }
        if root.text_of("MessageType") != Some("OrderFulfillment") {
            return Self::fatal(
                feed,
                "MessageType must be OrderFulfillment for this feed type.",
            );
        }
        let messages: Vec<&Node> = root.all("Message").collect();
        if messages.is_empty() {
            return Self::fatal(feed, "The envelope has no Message.");
        }
        let mut seen = HashSet::new();
        let mut results = Vec::new();
        for m in &messages {
            let id = m.text_of("MessageID").and_then(|i| i.parse::<u64>().ok());
            let outcome = match id {
                None => Err(("5000", "MessageID must be a number.".to_string(), None)),
                Some(i) if !seen.insert(i) => Err((
                    "5000",
                    format!("MessageID {i} is used by an earlier message."),
                    None,
                )),
                Some(_) => Self::message(inner, feed.seller_id, m, feed.now),
            };
            if let Err((code, description, order_id)) = outcome {
                results.push(ReportResult {
                    message_id: id.unwrap_or(0),
                    code,
                    description,
                    order_id,
                });
            }
        }
        Processed {
            done: true,
            report: Some((
                "text/xml".into(),
                report_xml(feed.seller_id, feed.feed_id, messages.len(), &results),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_checked_like_amazon() {
        let good = json!({
            "marketplaceId": "A1PA6795UKMFR9",
            "packageDetail": {
                "packageReferenceId": "1", "carrierCode": "Other", "carrierName": "Kurier",
                "trackingNumber": "T1", "shipDate": "2026-09-01T12:00:00Z",
                "orderItems": [{"orderItemId": "11", "quantity": 2}]
            }
        });
        let p = parse_request(&good, "A1PA6795UKMFR9").expect("good");
        assert_eq!(
            (p.carrier.as_str(), p.items.clone()),
            ("Kurier", vec![("11".to_string(), 2)])
        );
        let cases = [
            (
                "/marketplaceId",
                json!("A13V1IB3VIYZZH"),
                "not the marketplace",
            ),
            (
                "/packageDetail/packageReferenceId",
                json!(1),
                "must be a string",
            ),
            (
                "/packageDetail/packageReferenceId",
                json!("PKG-1"),
                "positive number",
            ),
            ("/packageDetail/carrierName", Value::Null, "carrierName"),
            ("/packageDetail/shipDate", json!("01.09.2026"), "ISO 8601"),
            ("/packageDetail/orderItems", json!([]), "at least one"),
            (
                "/packageDetail/orderItems/0/quantity",
                json!(0),
                "positive integer",
            ),
        ];
        for (pointer, value, expected) in cases {
            let mut body = good.clone();
            *body.pointer_mut(pointer).expect(pointer) = value;
            let err = parse_request(&body, "A1PA6795UKMFR9").unwrap_err();
            assert!(err.contains(expected), "{pointer}: {err}");
        }
    }

    #[test]
    fn xml_trees_and_reports() {
        let doc = br#"<?xml version="1.0"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion></Header>
            <Message><MessageID>1</MessageID><X>a &amp; b</X><Empty/></Message></AmazonEnvelope>"#;
        let root = parse_xml(doc).expect("parses");
        assert_eq!(root.name, "AmazonEnvelope");
        let m = root.child("Message").unwrap();
        assert_eq!(m.text_of("X"), Some("a & b"));
        assert!(m.child("Empty").is_some());
        assert!(parse_xml(b"<a><b></a>").is_err());
        let report = report_xml(
            "A1",
            "5",
            3,
            &[ReportResult {
                message_id: 2,
                code: "18028",
                description: "bad <thing>".into(),
                order_id: Some("302-1".into()),
            }],
        );
        let r = parse_xml(&report).expect("report parses");
        let pr = r
            .child("Message")
            .unwrap()
            .child("ProcessingReport")
            .unwrap();
        assert_eq!(
            pr.child("ProcessingSummary")
                .unwrap()
                .text_of("MessagesWithError"),
            Some("1")
        );
        assert_eq!(
            pr.child("Result").unwrap().text_of("ResultDescription"),
            Some("bad <thing>")
        );
    }
}
