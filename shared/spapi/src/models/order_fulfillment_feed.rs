//! `POST_ORDER_FULFILLMENT_DATA`: the XML feed that confirms shipments of
//! merchant-fulfilled orders in bulk, and the XML processing report Amazon
//! answers with. The structure follows `shared/amazon/xsd`
//! (`amzn-envelope.xsd`, `amzn-header.xsd`, `OrderFulfillment.xsd`,
//! `ProcessingReport.xsd`; see `PROVENANCE.txt` there): an `AmazonEnvelope`
//! with a `Header`, `MessageType` `OrderFulfillment` and one `Message` per
//! package (`MessageID`, `OperationType` `Update`, `OrderFulfillment` with
//! `AmazonOrderID`, `MerchantFulfillmentID`, `FulfillmentDate`,
//! `FulfillmentData` — `CarrierCode` *or* `CarrierName`, `ShippingMethod`,
//! `ShipperTrackingNumber` — and an `Item` per order item with its
//! `Quantity`). Written and read with quick-xml.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

pub const FEED_TYPE: &str = "POST_ORDER_FULFILLMENT_DATA";
/// `Header/DocumentVersion` (`\d{1,2}\.\d{1,2}`).
pub const DOCUMENT_VERSION: &str = "1.01";
/// `String` in `amzn-base.xsd`: a normalizedString of at most 50 characters
/// (CarrierName, ShippingMethod, ShipperTrackingNumber, MerchantIdentifier).
pub const MAX_STRING: usize = 50;

/// `FulfillmentData`'s choice: a code of Amazon's list, or a carrier name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedCarrier {
    Code(String),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillmentItem {
    /// `AmazonOrderItemCode` (14 digits in the XSD).
    pub order_item_id: String,
    pub quantity: u32,
    /// `TransparencyCode`, at most [`MAX_TRANSPARENCY_CODES`] per item.
    pub transparency_codes: Vec<String>,
}

/// `TransparencyCode` occurs at most 10 times per `Item` (XSD); a package
/// with more goes through `confirmShipment`, which has no such limit.
pub const MAX_TRANSPARENCY_CODES: usize = 10;

/// `CODCollectionMethod`'s only value (XSD enumeration).
pub const COD_DIRECT_PAYMENT: &str = "DirectPayment";

/// One `Message` with its `OrderFulfillment`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillmentMessage {
    /// `MessageID`: 1, 2, 3... within the feed; the report refers to it.
    pub message_id: u32,
    pub amazon_order_id: String,
    /// `MerchantFulfillmentID`: the seller's number for the package (the
    /// same as `packageReferenceId` in `confirmShipment`).
    pub merchant_fulfillment_id: Option<u32>,
    pub fulfillment_date: DateTime<Utc>,
    pub carrier: FeedCarrier,
    pub shipping_method: Option<String>,
    pub tracking_number: String,
    /// `CODCollectionMethod` (`DirectPayment`; Amazon takes it in JP).
    pub cod_collection_method: Option<String>,
    pub items: Vec<FulfillmentItem>,
    /// `ShipFromSupplySourceId`. Amazon added it to OrderFulfillment.xsd in
    /// May 2024 (after the 2020 copy in `shared/amazon/xsd`); it is written
    /// last in `OrderFulfillment`, after the items, where the XSD's
    /// additions go.
    pub ship_from_supply_source_id: Option<String>,
}

/// Why a message cannot go into the feed (the field names the XSD element).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedXmlError {
    #[error("{element} is longer than the {max} characters the feed schema allows")]
    TooLong { element: &'static str, max: usize },
    #[error("{element} is empty")]
    Empty { element: &'static str },
    #[error("{element} does not have the shape the feed schema asks for ({expected})")]
    Shape {
        element: &'static str,
        expected: &'static str,
    },
    #[error("the feed has no message")]
    NoMessages,
    #[error("writing the XML failed: {0}")]
    Write(String),
}

fn string(element: &'static str, value: &str) -> Result<(), FeedXmlError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FeedXmlError::Empty { element });
    }
    if trimmed.chars().count() > MAX_STRING {
        return Err(FeedXmlError::TooLong {
            element,
            max: MAX_STRING,
        });
    }
    Ok(())
}

fn amazon_order_id(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 3
        && [3, 7, 7].iter().zip(&parts).all(|(n, p)| {
            p.chars().count() == *n && p.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

impl FulfillmentMessage {
    /// Checks what the XSD constrains, so a message that would fail the
    /// whole feed never goes into it.
    pub fn check(&self) -> Result<(), FeedXmlError> {
        if self.message_id == 0 {
            return Err(FeedXmlError::Shape {
                element: "MessageID",
                expected: "a positive integer",
            });
        }
        if !amazon_order_id(&self.amazon_order_id) {
            return Err(FeedXmlError::Shape {
                element: "AmazonOrderID",
                expected: "3-7-7 characters",
            });
        }
        if self.merchant_fulfillment_id == Some(0) {
            return Err(FeedXmlError::Shape {
                element: "MerchantFulfillmentID",
                expected: "a positive integer",
            });
        }
        match &self.carrier {
            FeedCarrier::Code(c) => string("CarrierCode", c)?,
            FeedCarrier::Name(n) => string("CarrierName", n)?,
        }
        if let Some(m) = &self.shipping_method {
            string("ShippingMethod", m)?;
        }
        string("ShipperTrackingNumber", &self.tracking_number)?;
        if let Some(cod) = &self.cod_collection_method
            && cod != COD_DIRECT_PAYMENT
        {
            return Err(FeedXmlError::Shape {
                element: "CODCollectionMethod",
                expected: "DirectPayment",
            });
        }
        if let Some(id) = &self.ship_from_supply_source_id
            && id.trim().is_empty()
        {
            return Err(FeedXmlError::Empty {
                element: "ShipFromSupplySourceId",
            });
        }
        for item in &self.items {
            if item.transparency_codes.len() > MAX_TRANSPARENCY_CODES {
                return Err(FeedXmlError::Shape {
                    element: "TransparencyCode",
                    expected: "at most 10 per item",
                });
            }
            if item.transparency_codes.iter().any(|c| c.trim().is_empty()) {
                return Err(FeedXmlError::Empty {
                    element: "TransparencyCode",
                });
            }
            if item.order_item_id.len() != 14
                || !item.order_item_id.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(FeedXmlError::Shape {
                    element: "AmazonOrderItemCode",
                    expected: "14 digits",
                });
            }
            if item.quantity == 0 {
                return Err(FeedXmlError::Shape {
                    element: "Quantity",
                    expected: "a positive integer",
                });
            }
        }
        Ok(())
    }
}

fn write_err(e: impl std::fmt::Display) -> FeedXmlError {
    FeedXmlError::Write(e.to_string())
}

struct Xml(Writer<Cursor<Vec<u8>>>);

impl Xml {
    fn start(&mut self, name: &str) -> Result<(), FeedXmlError> {
        self.0
            .write_event(Event::Start(BytesStart::new(name)))
            .map_err(write_err)
    }

    fn end(&mut self, name: &str) -> Result<(), FeedXmlError> {
        self.0
            .write_event(Event::End(BytesEnd::new(name)))
            .map_err(write_err)
    }

    fn leaf(&mut self, name: &str, text: &str) -> Result<(), FeedXmlError> {
        self.start(name)?;
        self.0
            .write_event(Event::Text(BytesText::new(text)))
            .map_err(write_err)?;
        self.end(name)
    }
}

/// The feed document: one envelope, messages in the order given.
pub fn envelope(
    merchant_id: &str,
    messages: &[FulfillmentMessage],
) -> Result<Vec<u8>, FeedXmlError> {
    if messages.is_empty() {
        return Err(FeedXmlError::NoMessages);
    }
    string("MerchantIdentifier", merchant_id)?;
    for m in messages {
        m.check()?;
    }
    let mut x = Xml(Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2));
    x.0.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(write_err)?;
    let mut root = BytesStart::new("AmazonEnvelope");
    root.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
    root.push_attribute(("xsi:noNamespaceSchemaLocation", "amzn-envelope.xsd"));
    x.0.write_event(Event::Start(root)).map_err(write_err)?;
    x.start("Header")?;
    x.leaf("DocumentVersion", DOCUMENT_VERSION)?;
    x.leaf("MerchantIdentifier", merchant_id.trim())?;
    x.end("Header")?;
    x.leaf("MessageType", "OrderFulfillment")?;
    for m in messages {
        x.start("Message")?;
        x.leaf("MessageID", &m.message_id.to_string())?;
        x.leaf("OperationType", "Update")?;
        x.start("OrderFulfillment")?;
        x.leaf("AmazonOrderID", &m.amazon_order_id)?;
        if let Some(id) = m.merchant_fulfillment_id {
            x.leaf("MerchantFulfillmentID", &id.to_string())?;
        }
        x.leaf(
            "FulfillmentDate",
            &m.fulfillment_date
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )?;
        x.start("FulfillmentData")?;
        match &m.carrier {
            FeedCarrier::Code(c) => x.leaf("CarrierCode", c.trim())?,
            FeedCarrier::Name(n) => x.leaf("CarrierName", n.trim())?,
        }
        if let Some(method) = &m.shipping_method {
            x.leaf("ShippingMethod", method.trim())?;
        }
        x.leaf("ShipperTrackingNumber", m.tracking_number.trim())?;
        x.end("FulfillmentData")?;
        if let Some(cod) = &m.cod_collection_method {
            x.leaf("CODCollectionMethod", cod)?;
        }
        for item in &m.items {
            x.start("Item")?;
            x.leaf("AmazonOrderItemCode", &item.order_item_id)?;
            x.leaf("Quantity", &item.quantity.to_string())?;
            for code in &item.transparency_codes {
                x.leaf("TransparencyCode", code.trim())?;
            }
            x.end("Item")?;
        }
        if let Some(id) = &m.ship_from_supply_source_id {
            x.leaf("ShipFromSupplySourceId", id.trim())?;
        }
        x.end("OrderFulfillment")?;
        x.end("Message")?;
    }
    x.end("AmazonEnvelope")?;
    Ok(x.0.into_inner().into_inner())
}

/// `ProcessingReport/Result/ResultCode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultCode {
    Error,
    Warning,
    Other(String),
}

/// One `Result`: a message that had an error or a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportResult {
    /// The feed's `MessageID` (0: about the whole document).
    pub message_id: u64,
    pub result_code: ResultCode,
    pub message_code: String,
    pub description: String,
    pub amazon_order_id: Option<String>,
    pub amazon_order_item_code: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessingSummary {
    pub processed: u64,
    pub successful: u64,
    pub with_error: u64,
    pub with_warning: u64,
}

/// The processing report of an XML feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingReport {
    pub document_transaction_id: String,
    /// `Complete`, `Processing` or `Rejected`.
    pub status_code: String,
    pub summary: Option<ProcessingSummary>,
    pub results: Vec<ReportResult>,
}

impl ProcessingReport {
    /// The errors reported for one message (empty: it went through).
    pub fn errors_for(&self, message_id: u64) -> Vec<&ReportResult> {
        self.results
            .iter()
            .filter(|r| r.message_id == message_id && r.result_code == ResultCode::Error)
            .collect()
    }

    /// Errors about the document as a whole (`MessageID` 0).
    pub fn document_errors(&self) -> Vec<&ReportResult> {
        self.errors_for(0)
    }
}

/// Reads a processing report (the `AmazonEnvelope` Amazon answers with, or
/// a bare `ProcessingReport`). Names what is missing, never quotes the
/// document.
pub fn parse_processing_report(xml: &[u8]) -> Result<ProcessingReport, String> {
    let mut reader = Reader::from_reader(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut report = ProcessingReport {
        document_transaction_id: String::new(),
        status_code: String::new(),
        summary: None,
        results: Vec::new(),
    };
    let mut seen_report = false;
    let mut result: Option<ReportResult> = None;
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("the processing report is not well-formed XML: {e}"))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if name == "ProcessingReport" {
                    seen_report = true;
                }
                if name == "Result" {
                    result = Some(ReportResult {
                        message_id: 0,
                        result_code: ResultCode::Other(String::new()),
                        message_code: String::new(),
                        description: String::new(),
                        amazon_order_id: None,
                        amazon_order_item_code: None,
                    });
                }
                if name == "ProcessingSummary" {
                    report.summary = Some(ProcessingSummary::default());
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let decoded = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::unescape(&format!("&{};", r.xml10_content()))
                        .map_err(|e| format!("the processing report has a bad entity: {e}"))?
                        .into_owned(),
                };
                text.push_str(&decoded);
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = text.trim().to_string();
                let number = || {
                    value
                        .parse::<u64>()
                        .map_err(|_| format!("{parent}/{name} is not a number"))
                };
                match (parent, name.as_str()) {
                    ("ProcessingReport", "DocumentTransactionID") => {
                        report.document_transaction_id = value
                    }
                    ("ProcessingReport", "StatusCode") => report.status_code = value,
                    ("ProcessingSummary", field) => {
                        let n = number()?;
                        if let Some(s) = report.summary.as_mut() {
                            match field {
                                "MessagesProcessed" => s.processed = n,
                                "MessagesSuccessful" => s.successful = n,
                                "MessagesWithError" => s.with_error = n,
                                "MessagesWithWarning" => s.with_warning = n,
                                _ => {}
                            }
                        }
                    }
                    ("Result", field) => {
                        if let Some(r) = result.as_mut() {
                            match field {
                                "MessageID" => r.message_id = number()?,
                                "ResultCode" => {
                                    r.result_code = match value.as_str() {
                                        "Error" => ResultCode::Error,
                                        "Warning" => ResultCode::Warning,
                                        _ => ResultCode::Other(value),
                                    }
                                }
                                "ResultMessageCode" => r.message_code = value,
                                "ResultDescription" => r.description = value,
                                _ => {}
                            }
                        }
                    }
                    ("AdditionalInfo", field) => {
                        if let Some(r) = result.as_mut() {
                            match field {
                                "AmazonOrderID" => r.amazon_order_id = Some(value),
                                "AmazonOrderItemCode" => r.amazon_order_item_code = Some(value),
                                _ => {}
                            }
                        }
                    }
                    (_, "Result") => {
                        if let Some(r) = result.take() {
                            report.results.push(r);
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_report {
        return Err("the document has no ProcessingReport element".into());
    }
    if report.status_code.is_empty() {
        return Err("ProcessingReport/StatusCode is missing".into());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u32) -> FulfillmentMessage {
        FulfillmentMessage {
            message_id: n,
            amazon_order_id: "302-1234567-1234567".into(),
            merchant_fulfillment_id: Some(n),
            fulfillment_date: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            carrier: FeedCarrier::Code("DHL".into()),
            shipping_method: Some("Paket & more".into()),
            tracking_number: "00340434161234567890".into(),
            cod_collection_method: None,
            items: vec![FulfillmentItem {
                order_item_id: "12345678901234".into(),
                quantity: 2,
                transparency_codes: Vec::new(),
            }],
            ship_from_supply_source_id: None,
        }
    }

    #[test]
    fn confirmation_extras_go_where_the_schema_puts_them() {
        let mut m = message(1);
        m.cod_collection_method = Some(COD_DIRECT_PAYMENT.into());
        m.items[0].transparency_codes = vec!["AZ:TPC1".into(), "AZ:TPC2".into()];
        m.ship_from_supply_source_id = Some("057d3fcc-b750-419f-bbcd-4d340c60c430".into());
        let xml = String::from_utf8(envelope("A3EXAMPLESELLER", &[m]).unwrap()).unwrap();
        let at = |needle: &str| {
            xml.find(needle)
                .unwrap_or_else(|| panic!("{needle} in\n{xml}"))
        };
        // FulfillmentData, CODCollectionMethod, Item (Quantity, codes), supply source.
        assert!(at("</FulfillmentData>") < at("<CODCollectionMethod>DirectPayment"));
        assert!(at("<CODCollectionMethod>") < at("<Item>"));
        assert!(at("<Quantity>2</Quantity>") < at("<TransparencyCode>AZ:TPC1</TransparencyCode>"));
        assert!(at("<TransparencyCode>AZ:TPC2</TransparencyCode>") < at("</Item>"));
        assert!(
            at("</Item>")
                < at(
                    "<ShipFromSupplySourceId>057d3fcc-b750-419f-bbcd-4d340c60c430</ShipFromSupplySourceId>"
                )
        );
        assert!(at("</ShipFromSupplySourceId>") < at("</OrderFulfillment>"));
        let plain = String::from_utf8(envelope("A3", &[message(2)]).unwrap()).unwrap();
        assert!(!plain.contains("CODCollectionMethod") && !plain.contains("SupplySource"));
    }

    #[test]
    fn the_envelope_has_the_schemas_shape() {
        let mut other = message(2);
        other.carrier = FeedCarrier::Name("Kurier <Müller>".into());
        other.shipping_method = None;
        let xml =
            String::from_utf8(envelope("A3EXAMPLESELLER", &[message(1), other]).unwrap()).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        for expected in [
            "<DocumentVersion>1.01</DocumentVersion>",
            "<MerchantIdentifier>A3EXAMPLESELLER</MerchantIdentifier>",
            "<MessageType>OrderFulfillment</MessageType>",
            "<MessageID>2</MessageID>",
            "<OperationType>Update</OperationType>",
            "<AmazonOrderID>302-1234567-1234567</AmazonOrderID>",
            "<MerchantFulfillmentID>1</MerchantFulfillmentID>",
            "<FulfillmentDate>2027-01-15T08:00:00Z</FulfillmentDate>",
            "<CarrierCode>DHL</CarrierCode>",
            "<CarrierName>Kurier &lt;Müller&gt;</CarrierName>",
            "<ShippingMethod>Paket &amp; more</ShippingMethod>",
            "<AmazonOrderItemCode>12345678901234</AmazonOrderItemCode>",
            "<Quantity>2</Quantity>",
        ] {
            assert!(xml.contains(expected), "{expected} in\n{xml}");
        }
        assert_eq!(xml.matches("<Message>").count(), 2);
    }

    #[test]
    fn values_the_schema_refuses_never_reach_the_feed() {
        type Change = fn(&mut FulfillmentMessage);
        let cases: [(Change, &str); 8] = [
            (
                |m| m.tracking_number = "x".repeat(51),
                "ShipperTrackingNumber",
            ),
            (|m| m.carrier = FeedCarrier::Name(" ".into()), "CarrierName"),
            (
                |m| m.items[0].order_item_id = "123".into(),
                "AmazonOrderItemCode",
            ),
            (|m| m.amazon_order_id = "302-1".into(), "AmazonOrderID"),
            (|m| m.items[0].quantity = 0, "Quantity"),
            (
                |m| m.items[0].transparency_codes = vec!["C".into(); 11],
                "TransparencyCode",
            ),
            (
                |m| m.cod_collection_method = Some("Cash".into()),
                "CODCollectionMethod",
            ),
            (
                |m| m.ship_from_supply_source_id = Some(" ".into()),
                "ShipFromSupplySourceId",
            ),
        ];
        for (change, element) in cases {
            let mut m = message(1);
            change(&mut m);
            let err = envelope("A3EXAMPLESELLER", &[m]).unwrap_err();
            assert!(err.to_string().contains(element), "{err}");
        }
        assert_eq!(envelope("A3", &[]).unwrap_err(), FeedXmlError::NoMessages);
    }

    #[test]
    fn reports_are_read_with_their_errors() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A3EXAMPLESELLER</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message><MessageID>1</MessageID>
    <ProcessingReport>
      <DocumentTransactionID>50001</DocumentTransactionID>
      <StatusCode>Complete</StatusCode>
      <ProcessingSummary><MessagesProcessed>3</MessagesProcessed><MessagesSuccessful>2</MessagesSuccessful><MessagesWithError>1</MessagesWithError><MessagesWithWarning>1</MessagesWithWarning></ProcessingSummary>
      <Result><MessageID>2</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode>
        <ResultDescription>The quantity &amp; the item &lt;x&gt; do not match.</ResultDescription>
        <AdditionalInfo><AmazonOrderID>302-1234567-1234567</AmazonOrderID></AdditionalInfo></Result>
      <Result><MessageID>3</MessageID><ResultCode>Warning</ResultCode><ResultMessageCode>5000</ResultMessageCode><ResultDescription>w</ResultDescription></Result>
    </ProcessingReport>
  </Message>
</AmazonEnvelope>"#;
        let r = parse_processing_report(xml).unwrap();
        assert_eq!(r.document_transaction_id, "50001");
        assert_eq!(r.status_code, "Complete");
        assert_eq!(r.summary.unwrap().with_error, 1);
        assert_eq!(r.results.len(), 2);
        let e = r.errors_for(2);
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].description,
            "The quantity & the item <x> do not match."
        );
        assert_eq!(e[0].amazon_order_id.as_deref(), Some("302-1234567-1234567"));
        assert!(r.errors_for(3).is_empty(), "a warning is not an error");
        assert!(r.document_errors().is_empty());
        assert!(parse_processing_report(b"<Other/>").is_err());
        assert!(parse_processing_report(b"<ProcessingReport>").is_err());
    }
}
