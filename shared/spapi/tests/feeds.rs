//! The Feeds and Listings operations against wiremock on 127.0.0.1: the
//! whole submission (document, upload to the pre-signed URL without SP-API
//! headers, createFeed), retries of the upload, a refused URL, the processing
//! report downloaded and gunzipped, and the typed answers parsing every
//! 200 example of Amazon's feeds and listings models.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use domain::{Deadline, MarketplaceId, Sku};
use serde_json::{Value, json};
use spapi::SpApiError;
use spapi::documents::FeedRequest;
use spapi::models::feeds::{
    CreateFeedDocumentResponse, CreateFeedResponse, Feed, FeedDocument, ProcessingStatus,
};
use spapi::models::listings::{Item, ListingsItemSubmissionResponse, SubmissionStatus};
use spapi::models::listings_feed::ProcessingReport;
use spapi::ops::feeds::CONTENT_TYPE_XML;
use spapi::ops::listings::{GetListingsItem, ItemData, PatchListingsItem};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

mod common;
use common::{SELLER, fixture};

const DE: &str = "A1PA6795UKMFR9";

/// Content type and body of an upload.
type Sent = (String, Vec<u8>);

/// Answers `statuses` in turn, then 200; records whether any attempt carried
/// an SP-API header and the body and content type of the last one.
#[derive(Clone, Default)]
struct Upload {
    statuses: Vec<u16>,
    calls: Arc<AtomicUsize>,
    leaked_token: Arc<AtomicUsize>,
    last: Arc<std::sync::Mutex<Option<Sent>>>,
}

impl Respond for Upload {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if req.headers.get("x-amz-access-token").is_some() {
            self.leaked_token.fetch_add(1, Ordering::SeqCst);
        }
        let ct = req
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        *self.last.lock().unwrap() = Some((ct, req.body.clone()));
        ResponseTemplate::new(self.statuses.get(n).copied().unwrap_or(200))
    }
}

#[tokio::test]
async fn a_feed_is_submitted_document_upload_then_create_feed() {
    let (server, api, seller) = fixture().await;
    let upload_url = format!("{}/s3/doc-1?X-Amz-Signature=abc", server.uri());
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/documents"))
        .and(body_json(json!({"contentType": CONTENT_TYPE_XML})))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"feedDocumentId": "doc-1", "url": upload_url})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // The store is briefly unavailable: the upload is retried.
    let upload = Upload {
        statuses: vec![503],
        ..Upload::default()
    };
    Mock::given(method("PUT"))
        .and(path("/s3/doc-1"))
        .respond_with(upload.clone())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .and(body_json(json!({
            "feedType": "POST_ORDER_FULFILLMENT_DATA",
            "marketplaceIds": [DE],
            "inputFeedDocumentId": "doc-1",
            "feedOptions": {"some": "option"}
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"feedId": "F-1"})))
        .expect(1)
        .mount(&server)
        .await;

    let doc = b"<?xml version=\"1.0\"?><AmazonEnvelope/>";
    let submission = api
        .submit_feed(
            &seller,
            FeedRequest {
                feed_type: "POST_ORDER_FULFILLMENT_DATA",
                marketplace_ids: &[MarketplaceId::new(DE).unwrap()],
                content_type: CONTENT_TYPE_XML,
                document: doc,
                feed_options: [("some".to_string(), "option".to_string())].into(),
            },
            &Deadline::after(std::time::Duration::from_secs(30)),
        )
        .await
        .expect("submitted");
    assert_eq!(submission.feed_id, "F-1");
    assert_eq!(submission.input_feed_document_id, "doc-1");
    assert_eq!(upload.calls.load(Ordering::SeqCst), 2, "503 then 200");
    assert_eq!(
        upload.leaked_token.load(Ordering::SeqCst),
        0,
        "no LWA token goes to the pre-signed URL"
    );
    let (ct, body) = upload.last.lock().unwrap().clone().unwrap();
    assert_eq!(ct, CONTENT_TYPE_XML, "same Content-Type as the document");
    assert_eq!(body, doc.to_vec());
}

#[tokio::test]
async fn a_refused_upload_url_is_not_retried_and_says_what_to_do() {
    let (server, api, _) = fixture().await;
    let upload = Upload {
        statuses: vec![403, 403],
        ..Upload::default()
    };
    Mock::given(method("PUT"))
        .respond_with(upload.clone())
        .mount(&server)
        .await;
    let err = api
        .upload_feed_document(
            &format!("{}/s3/doc-2", server.uri()),
            "application/json; charset=UTF-8",
            b"{}",
            &Deadline::after(std::time::Duration::from_secs(30)),
        )
        .await
        .unwrap_err();
    assert_eq!(upload.calls.load(Ordering::SeqCst), 1);
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("new document"), "{err}");
    assert!(
        !err.to_string().contains("/s3/doc-2"),
        "the URL is a credential: {err}"
    );
}

#[tokio::test]
async fn a_done_feed_brings_its_gzipped_report() {
    let (server, api, seller) = fixture().await;
    let report = json!({
        "header": {"sellerId": SELLER, "version": "2.0", "feedId": "F-9"},
        "issues": [{"messageId": 2, "sku": "SKU-2", "code": "4000001", "severity": "ERROR",
                    "message": "The SKU is not listed."}],
        "summary": {"errors": 1, "warnings": 0, "messagesProcessed": 2,
                    "messagesAccepted": 1, "messagesInvalid": 1}
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(report.to_string().as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/feeds/F-9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "feedId": "F-9", "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [DE],
            "createdTime": "2026-11-01T10:00:00Z", "processingStatus": "DONE",
            "processingStartTime": "2026-11-01T10:01:00Z", "processingEndTime": "2026-11-01T10:02:00Z",
            "resultFeedDocumentId": "R-9"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/documents/R-9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "feedDocumentId": "R-9", "url": format!("{}/s3/R-9", server.uri()),
            "compressionAlgorithm": "GZIP"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/s3/R-9"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(gz))
        .mount(&server)
        .await;
    let outcome = api
        .feed_outcome(
            &seller,
            "F-9",
            &Deadline::after(std::time::Duration::from_secs(30)),
        )
        .await
        .expect("outcome");
    assert_eq!(outcome.feed.processing_status, ProcessingStatus::Done);
    let parsed: ProcessingReport =
        serde_json::from_slice(&outcome.report.expect("a report")).expect("report JSON");
    assert_eq!(
        parsed
            .rejected_message_ids()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(parsed.summary.messages_accepted, 1);
}

#[tokio::test]
async fn a_feed_in_progress_has_no_report_yet() {
    let (server, api, seller) = fixture().await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/feeds/F-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "feedId": "F-1", "feedType": "JSON_LISTINGS_FEED",
            "createdTime": "2026-11-01T10:00:00Z", "processingStatus": "IN_PROGRESS"
        })))
        .mount(&server)
        .await;
    let outcome = api
        .feed_outcome(
            &seller,
            "F-1",
            &Deadline::after(std::time::Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(outcome.feed.processing_status, ProcessingStatus::InProgress);
    assert!(outcome.report.is_none());
}

#[tokio::test]
async fn a_corrupt_gzip_report_is_a_clear_permanent_error() {
    let (server, api, _) = fixture().await;
    Mock::given(method("GET"))
        .and(path("/s3/R-1"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"not gzip".to_vec()))
        .mount(&server)
        .await;
    let doc: FeedDocument = serde_json::from_value(json!({
        "feedDocumentId": "R-1", "url": format!("{}/s3/R-1", server.uri()),
        "compressionAlgorithm": "GZIP"
    }))
    .unwrap();
    let err = api
        .download_feed_document(&doc, &Deadline::after(std::time::Duration::from_secs(30)))
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("GZIP"), "{err}");
    assert!(matches!(err, SpApiError::Document { .. }));
    assert!(!format!("{doc:?}").contains("/s3/"), "Debug hides the URL");
}

#[tokio::test]
async fn patch_and_get_listings_item_speak_the_model() {
    let (server, api, seller) = fixture().await;
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A3EXAMPLESELLER/RED%2F1"))
        .and(query_param("marketplaceIds", DE))
        .and(query_param("includedData", "issues"))
        .and(body_json(json!({
            "productType": "PRODUCT",
            "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
                         "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sku": "RED/1", "status": "ACCEPTED", "submissionId": "sub-1", "issues": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/listings/2021-08-01/items/A3EXAMPLESELLER/RED%2F1"))
        .and(query_param(
            "includedData",
            "summaries,fulfillmentAvailability",
        ))
        .and(header("x-amz-access-token", "Atza|access-token-value"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sku": "RED/1",
            "summaries": [{"marketplaceId": DE, "asin": "B000000001"}],
            "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 7}]
        })))
        .mount(&server)
        .await;
    let deadline = Deadline::after(std::time::Duration::from_secs(30));
    let sku = Sku::new("RED/1").unwrap();
    let de = vec![MarketplaceId::new(DE).unwrap()];
    let answer = api
        .call(
            &seller,
            &PatchListingsItem::set_quantity(
                seller.seller_id.clone(),
                sku.clone(),
                de.clone(),
                "DEFAULT",
                7,
            ),
            &deadline,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, SubmissionStatus::Accepted);
    let item = api
        .call(
            &seller,
            &GetListingsItem {
                seller_id: seller.seller_id.clone(),
                sku,
                marketplace_ids: de,
                included_data: vec![ItemData::Summaries, ItemData::FulfillmentAvailability],
            },
            &deadline,
        )
        .await
        .unwrap();
    assert_eq!(item.quantity("DEFAULT"), Some(7));
}

fn model(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/amazon/models")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every 2xx sandbox example of `operation_id` in `model`.
fn examples(model: &Value, operation_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for ops in model["paths"].as_object().unwrap().values() {
        for op in ops.as_object().unwrap().values() {
            if op["operationId"] != operation_id {
                continue;
            }
            for (code, resp) in op["responses"].as_object().unwrap() {
                if !code.starts_with('2') {
                    continue;
                }
                for s in resp["x-amzn-api-sandbox"]["static"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    out.push(s["response"].clone());
                }
            }
        }
    }
    assert!(!out.is_empty(), "{operation_id} has no example");
    out
}

#[test]
fn the_models_examples_parse_into_the_client_types() {
    let feeds = model("feeds_2021-06-30.json");
    for e in examples(&feeds, "createFeedDocument") {
        serde_json::from_value::<CreateFeedDocumentResponse>(e).unwrap();
    }
    for e in examples(&feeds, "createFeed") {
        serde_json::from_value::<CreateFeedResponse>(e).unwrap();
    }
    for e in examples(&feeds, "getFeed") {
        serde_json::from_value::<Feed>(e).unwrap();
    }
    for e in examples(&feeds, "getFeedDocument") {
        serde_json::from_value::<FeedDocument>(e).unwrap();
    }
    let listings = model("listingsItems_2021-08-01.json");
    for e in examples(&listings, "patchListingsItem") {
        serde_json::from_value::<ListingsItemSubmissionResponse>(e).unwrap();
    }
    for e in examples(&listings, "getListingsItem") {
        serde_json::from_value::<Item>(e).unwrap();
    }
}
