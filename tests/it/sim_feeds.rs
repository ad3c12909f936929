//! The simulator's Feeds and Listings APIs through the real client: a feed's
//! life (IN_QUEUE → IN_PROGRESS → DONE on simulated time), JSON_LISTINGS_FEED
//! applied message by message with a processing report that validates
//! against Amazon's schema, the 5-per-5-minutes limit, a feed stuck
//! IN_PROGRESS, FATAL feeds, the pre-signed URL's rules, and
//! patchListingsItem / getListingsItem on per-SKU quantities.

use std::path::PathBuf;
use std::time::Duration;

use domain::{Deadline, MarketplaceId, Sku};
use serde_json::{Value, json};
use spapi::SpApiError;
use spapi::documents::FeedRequest;
use spapi::models::feeds::ProcessingStatus;
use spapi::models::listings::SubmissionStatus;
use spapi::models::listings::{PRODUCT, PatchOperation};
use spapi::models::listings_feed::{FeedMessage, ListingsFeed, OperationType, ProcessingReport};
use spapi::ops::feeds::{CONTENT_TYPE_JSON, CreateFeedDocument, GetFeed, GetFeeds};
use spapi::ops::listings::{GetListingsItem, ItemData, PatchListingsItem};
use spapi_sim::{FeedTiming, ListingSpec};
use tests::client::{context, sim_client_for};
use tests::sim::{DE, add_seller, start_sim};

const HOUR: Duration = Duration::from_secs(3600);

fn schema(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/amazon")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read schema")).expect("JSON")
}

/// Validates a processing report against Amazon's draft-07 schema.
pub fn assert_valid_report(report: &Value) {
    let v = jsonschema::draft7::new(&schema(
        "schemas/listings-feed-processing-report-schema-v2.json",
    ))
    .expect("report schema compiles");
    let errors: Vec<String> = v.iter_errors(report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(60))
}

fn de() -> Vec<MarketplaceId> {
    vec![MarketplaceId::new(DE).unwrap()]
}

fn message(id: u32, sku: &str, quantity: Value) -> FeedMessage {
    let mut patch = PatchOperation::set_quantity("DEFAULT", 0);
    patch.value = Some(vec![
        json!({"fulfillment_channel_code": "DEFAULT", "quantity": quantity}),
    ]);
    FeedMessage {
        message_id: id,
        sku: sku.to_string(),
        operation_type: OperationType::Patch,
        product_type: PRODUCT.to_string(),
        patches: vec![patch],
    }
}

fn feed_bytes(seller: &str, messages: Vec<FeedMessage>) -> Vec<u8> {
    let mut feed = ListingsFeed::new(seller);
    feed.messages = messages;
    serde_json::to_vec(&feed).unwrap()
}

fn request<'a>(markets: &'a [MarketplaceId], doc: &'a [u8]) -> FeedRequest<'a> {
    FeedRequest {
        feed_type: "JSON_LISTINGS_FEED",
        marketplace_ids: markets,
        content_type: CONTENT_TYPE_JSON,
        document: doc,
        feed_options: Default::default(),
    }
}

#[tokio::test]
async fn a_listings_feed_is_queued_processed_and_applied_message_by_message() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1FEEDLIFE", false);
    let c = sim.control();
    c.set_feed_timing(FeedTiming {
        in_queue: HOUR,
        in_progress: HOUR,
    });
    c.seed_listings(
        &seller.seller_id,
        vec![ListingSpec::new("SKU-1", 5), ListingSpec::new("SKU-2", 5)],
    )
    .unwrap();
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let doc = feed_bytes(
        &seller.seller_id,
        vec![
            message(1, "SKU-1", json!(0)),
            message(2, "NOT-LISTED", json!(3)),
            message(3, "SKU-2", json!(-1)),
            message(4, "SKU-2", json!(9)),
        ],
    );
    let markets = de();
    let sub = api
        .submit_feed(&ctx, request(&markets, &doc), &deadline())
        .await
        .unwrap();

    let status = |f: spapi::models::feeds::Feed| f.processing_status;
    let get = GetFeed {
        feed_id: sub.feed_id.clone(),
    };
    assert_eq!(
        status(api.call(&ctx, &get, &deadline()).await.unwrap()),
        ProcessingStatus::InQueue
    );
    assert_eq!(
        c.listing_quantity(&seller.seller_id, "SKU-1"),
        Some(5),
        "nothing applied yet"
    );
    c.advance_clock(HOUR + Duration::from_secs(1));
    let outcome = api
        .feed_outcome(&ctx, &sub.feed_id, &deadline())
        .await
        .unwrap();
    assert_eq!(outcome.feed.processing_status, ProcessingStatus::InProgress);
    assert!(outcome.report.is_none());
    assert!(outcome.feed.processing_start_time.is_some());
    c.advance_clock(HOUR);
    let outcome = api
        .feed_outcome(&ctx, &sub.feed_id, &deadline())
        .await
        .unwrap();
    assert_eq!(outcome.feed.processing_status, ProcessingStatus::Done);
    assert!(outcome.feed.processing_end_time.is_some());

    let report: Value = serde_json::from_slice(&outcome.report.expect("report")).unwrap();
    assert_valid_report(&report);
    let typed: ProcessingReport = serde_json::from_value(report.clone()).unwrap();
    assert_eq!(typed.header.feed_id, sub.feed_id);
    assert_eq!(
        typed.rejected_message_ids().into_iter().collect::<Vec<_>>(),
        vec![2, 3],
        "unknown SKU and negative quantity: {report:#}"
    );
    assert_eq!(typed.summary.messages_processed, 4);
    assert_eq!(typed.summary.messages_accepted, 2);
    assert_eq!(typed.summary.messages_invalid, 2);
    let q = c.listing_quantities(&seller.seller_id);
    assert_eq!(q.get("SKU-1"), Some(&Some(0)));
    assert_eq!(
        q.get("SKU-2"),
        Some(&Some(9)),
        "message 4 applied after 3 was refused"
    );
    assert!(
        !q.contains_key("NOT-LISTED"),
        "a PATCH never creates a listing"
    );

    // getFeed's answer has the model's shape.
    let feeds = spapi_model("feeds_2021-06-30.json");
    let v = jsonschema::draft4::new(&json!({
        "$ref": "#/definitions/Feed", "definitions": feeds["definitions"]
    }))
    .unwrap();
    let raw = serde_json::to_value(&outcome.feed).unwrap();
    assert!(v.is_valid(&raw), "{raw:#}");
}

fn spapi_model(file: &str) -> Value {
    schema(&format!("models/{file}"))
}

#[tokio::test]
async fn a_large_report_comes_gzipped_and_the_client_unpacks_it() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1FEEDGZIP", false);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    // 300 unknown SKUs: one error each, a report well over the 4 KiB threshold.
    let doc = feed_bytes(
        &seller.seller_id,
        (1..=300)
            .map(|i| message(i, &format!("GHOST-{i}"), json!(1)))
            .collect(),
    );
    let markets = de();
    let sub = api
        .submit_feed(&ctx, request(&markets, &doc), &deadline())
        .await
        .unwrap();
    sim.control().advance_clock(HOUR);
    let outcome = api
        .feed_outcome(&ctx, &sub.feed_id, &deadline())
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&outcome.report.expect("report")).unwrap();
    assert_valid_report(&report);
    assert_eq!(report["summary"]["messagesInvalid"], 300);
    // The simulator did compress it: getFeedDocument says so.
    let doc_id = outcome.feed.result_feed_document_id.unwrap();
    let d = api
        .call(
            &ctx,
            &spapi::ops::feeds::GetFeedDocument {
                feed_document_id: doc_id,
            },
            &deadline(),
        )
        .await
        .unwrap();
    assert_eq!(
        d.compression_algorithm,
        Some(spapi::models::feeds::CompressionAlgorithm::Gzip)
    );
}

#[tokio::test]
async fn json_listings_feeds_are_limited_to_five_per_five_minutes() {
    // Speed 10: five submissions take far less than 5 simulated minutes,
    // and the client, throttled, cannot wait for its createFeed bucket to
    // refill within a 3 s deadline.
    let sim = start_sim(10.0).await;
    let seller = add_seller(&sim, "A1FEEDRATE", false);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let doc = feed_bytes(&seller.seller_id, vec![message(1, "X", json!(1))]);
    let markets = de();
    for _ in 0..5 {
        api.submit_feed(&ctx, request(&markets, &doc), &deadline())
            .await
            .unwrap();
    }
    let short = Deadline::after(Duration::from_secs(3));
    let err = api
        .submit_feed(&ctx, request(&markets, &doc), &short)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let m = sim
        .control()
        .operation_metrics(&seller.seller_id, domain::Operation::CreateFeed);
    assert_eq!((m.ok, m.throttled), (5, 1), "{m:?}");
    assert_eq!(sim.control().feeds(&seller.seller_id).len(), 5);
    // Five minutes later (and with a client whose own bucket is full) the
    // sixth goes through.
    sim.control().advance_clock(Duration::from_secs(301));
    let (fresh, _) = sim_client_for(&sim, &[&seller]);
    fresh
        .submit_feed(&ctx, request(&markets, &doc), &deadline())
        .await
        .expect("a new window");
    assert_eq!(sim.control().feeds(&seller.seller_id).len(), 6);
}

#[tokio::test]
async fn a_stalled_feed_stays_in_progress_while_later_ones_finish() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1FEEDSTALL", false);
    let c = sim.control();
    c.seed_listings(&seller.seller_id, vec![ListingSpec::new("SKU-1", 1)])
        .unwrap();
    c.stall_feeds(&seller.seller_id, 1);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let markets = de();
    let stuck = api
        .submit_feed(
            &ctx,
            request(
                &markets,
                &feed_bytes(&seller.seller_id, vec![message(1, "SKU-1", json!(7))]),
            ),
            &deadline(),
        )
        .await
        .unwrap();
    let fine = api
        .submit_feed(
            &ctx,
            request(
                &markets,
                &feed_bytes(&seller.seller_id, vec![message(1, "SKU-1", json!(8))]),
            ),
            &deadline(),
        )
        .await
        .unwrap();
    c.advance_clock(Duration::from_secs(86_400));
    let a = api
        .feed_outcome(&ctx, &stuck.feed_id, &deadline())
        .await
        .unwrap();
    assert_eq!(a.feed.processing_status, ProcessingStatus::InProgress);
    assert!(a.report.is_none());
    let b = api
        .feed_outcome(&ctx, &fine.feed_id, &deadline())
        .await
        .unwrap();
    assert_eq!(b.feed.processing_status, ProcessingStatus::Done);
    assert_eq!(c.listing_quantity(&seller.seller_id, "SKU-1"), Some(8));
}

#[tokio::test]
async fn broken_feeds_end_fatal_and_queued_ones_can_be_cancelled() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1FEEDFATAL", false);
    let c = sim.control();
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let markets = de();
    // Not JSON: FATAL, with a report naming no message.
    let bad = api
        .submit_feed(&ctx, request(&markets, b"{\"header\": "), &deadline())
        .await
        .unwrap();
    // Another seller's id in the header: FATAL too.
    let wrong = api
        .submit_feed(
            &ctx,
            request(
                &markets,
                &feed_bytes("A1SOMEONEELSE", vec![message(1, "X", json!(1))]),
            ),
            &deadline(),
        )
        .await
        .unwrap();
    // A document never uploaded: FATAL without a report.
    let doc = api
        .call(
            &ctx,
            &CreateFeedDocument {
                content_type: CONTENT_TYPE_JSON.into(),
            },
            &deadline(),
        )
        .await
        .unwrap();
    let empty = api
        .call(
            &ctx,
            &spapi::ops::feeds::CreateFeed {
                feed_type: "JSON_LISTINGS_FEED".into(),
                marketplace_ids: markets.clone(),
                input_feed_document_id: doc.feed_document_id,
                feed_options: Default::default(),
            },
            &deadline(),
        )
        .await
        .unwrap();
    c.set_feed_timing(FeedTiming {
        in_queue: HOUR,
        in_progress: HOUR,
    });
    let queued = api
        .submit_feed(
            &ctx,
            request(
                &markets,
                &feed_bytes(&seller.seller_id, vec![message(1, "X", json!(1))]),
            ),
            &deadline(),
        )
        .await
        .unwrap();
    c.cancel_feed(&seller.seller_id, &queued.feed_id).unwrap();
    c.advance_clock(Duration::from_secs(180));
    for (feed, has_report) in [
        (&bad.feed_id, true),
        (&wrong.feed_id, true),
        (&empty.feed_id, false),
    ] {
        let o = api.feed_outcome(&ctx, feed, &deadline()).await.unwrap();
        assert_eq!(o.feed.processing_status, ProcessingStatus::Fatal, "{feed}");
        assert_eq!(o.report.is_some(), has_report, "{feed}");
        if let Some(r) = o.report {
            let r: Value = serde_json::from_slice(&r).unwrap();
            assert_valid_report(&r);
            let typed: ProcessingReport = serde_json::from_value(r).unwrap();
            assert_eq!(typed.feed_level_errors().count(), 1);
        }
    }
    let o = api
        .feed_outcome(&ctx, &queued.feed_id, &deadline())
        .await
        .unwrap();
    assert_eq!(o.feed.processing_status, ProcessingStatus::Cancelled);
    assert!(
        c.cancel_feed(&seller.seller_id, &bad.feed_id).is_err(),
        "only IN_QUEUE feeds cancel"
    );
    // An unknown feed type is refused up front.
    let err = api
        .submit_feed(
            &ctx,
            FeedRequest {
                feed_type: "POST_NOTHING_DATA",
                ..request(&markets, b"{}")
            },
            &deadline(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

#[tokio::test]
async fn the_pre_signed_url_behaves_like_s3() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1FEEDURL", false);
    let (api, _) = sim_client_for(&sim, &[&seller]);
    let ctx = context(&seller);
    let doc = api
        .call(
            &ctx,
            &CreateFeedDocument {
                content_type: CONTENT_TYPE_JSON.into(),
            },
            &deadline(),
        )
        .await
        .unwrap();
    assert!(
        doc.url.starts_with(&sim.base_url()),
        "the URL is on the simulator"
    );
    let http = reqwest::Client::new();
    let put = |ct: &'static str, token: bool| {
        let mut r = http.put(&doc.url).header("content-type", ct).body("{}");
        if token {
            r = r.header("x-amz-access-token", "Atza|x");
        }
        r.send()
    };
    assert_eq!(
        put(CONTENT_TYPE_JSON, true).await.unwrap().status(),
        403,
        "unsigned x-amz header"
    );
    assert_eq!(
        put("text/xml; charset=UTF-8", false)
            .await
            .unwrap()
            .status(),
        403,
        "other content type"
    );
    let bad_sig = doc.url.replace("X-Amz-Signature=", "X-Amz-Signature=x");
    let r = http
        .put(&bad_sig)
        .header("content-type", CONTENT_TYPE_JSON)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(put(CONTENT_TYPE_JSON, false).await.unwrap().status(), 200);
    // After 5 minutes the URL is dead, and the client says what to do.
    sim.control().advance_clock(Duration::from_secs(301));
    let err = api
        .upload_feed_document(&doc.url, CONTENT_TYPE_JSON, b"{}", &deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SpApiError::Document {
                status: Some(403),
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn patch_listings_item_applies_json_patch_and_get_reads_it_back() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1LISTINGS", false);
    let other = add_seller(&sim, "A1OTHERSELLER", false);
    let c = sim.control();
    c.seed_listings(&seller.seller_id, vec![ListingSpec::new("RED/1", 5)])
        .unwrap();
    let (api, _) = sim_client_for(&sim, &[&seller, &other]);
    let ctx = context(&seller);
    let sid = ctx.seller_id.clone();
    let patch = |sku: &str, q: u32| {
        PatchListingsItem::set_quantity(sid.clone(), Sku::new(sku).unwrap(), de(), "DEFAULT", q)
    };
    let r = api
        .call(&ctx, &patch("RED/1", 12), &deadline())
        .await
        .unwrap();
    assert_eq!(r.status, SubmissionStatus::Accepted);
    assert_eq!(c.listing_quantity(&seller.seller_id, "RED/1"), Some(12));

    let mut preview = patch("RED/1", 99);
    preview.validation_preview = true;
    let r = api.call(&ctx, &preview, &deadline()).await.unwrap();
    assert_eq!(r.status, SubmissionStatus::Valid);
    assert_eq!(
        c.listing_quantity(&seller.seller_id, "RED/1"),
        Some(12),
        "a preview applies nothing"
    );

    let r = api
        .call(&ctx, &patch("NOT-LISTED", 1), &deadline())
        .await
        .unwrap();
    assert_eq!(r.status, SubmissionStatus::Invalid);
    assert_eq!(r.errors().next().map(|i| i.code.as_str()), Some("4000001"));

    let mut bad = patch("RED/1", 0);
    bad.body.patches[0].value = Some(vec![
        json!({"fulfillment_channel_code": "DEFAULT", "quantity": "lots"}),
    ]);
    let r = api.call(&ctx, &bad, &deadline()).await.unwrap();
    assert_eq!(r.status, SubmissionStatus::Invalid);
    assert_eq!(
        r.issues[0].attribute_names,
        vec!["fulfillment_availability".to_string()]
    );

    let item = api
        .call(
            &ctx,
            &GetListingsItem {
                seller_id: sid.clone(),
                sku: Sku::new("RED/1").unwrap(),
                marketplace_ids: de(),
                included_data: vec![
                    ItemData::Summaries,
                    ItemData::FulfillmentAvailability,
                    ItemData::Attributes,
                ],
            },
            &deadline(),
        )
        .await
        .unwrap();
    assert_eq!(item.quantity("DEFAULT"), Some(12));
    let listings = spapi_model("listingsItems_2021-08-01.json");
    let v = jsonschema::draft4::new(&json!({
        "$ref": "#/definitions/Item", "definitions": listings["definitions"]
    }))
    .unwrap();
    let raw = serde_json::to_value(&item).unwrap();
    assert!(v.is_valid(&raw), "{raw:#}");

    let missing = api
        .call(
            &ctx,
            &GetListingsItem {
                seller_id: sid.clone(),
                sku: Sku::new("NOPE").unwrap(),
                marketplace_ids: de(),
                included_data: vec![],
            },
            &deadline(),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404));
    // Another seller's listing: the path's seller must be the token's.
    let err = api
        .call(&context(&other), &patch("RED/1", 1), &deadline())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn listings_and_feeds_are_controllable_over_http_too() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1FEEDHTTP", false);
    let http = reqwest::Client::new();
    let base = format!("{}/_sim/sellers/{}", sim.base_url(), seller.seller_id);
    let r = http
        .post(format!("{base}/listings"))
        .json(&json!([{"sku": "A", "quantity": 3}, {"sku": "B"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let q: Value = http
        .get(format!("{base}/listings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(q["quantities"], json!({"A": 3, "B": null}));
    let r = http
        .post(format!("{base}/feeds/stall"))
        .json(&json!({"count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let f: Value = http
        .get(format!("{base}/feeds"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["feeds"], json!([]));
    let r = http
        .post(format!("{}/_sim/sellers/NOBODY/listings", sim.base_url()))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn get_feeds_lists_the_sellers_feeds_newest_first_page_by_page() {
    let sim = start_sim(1000.0).await;
    let seller = add_seller(&sim, "A1GETFEEDS", false);
    let other = add_seller(&sim, "A1GETFEEDSOTHER", false);
    let (api, _) = sim_client_for(&sim, &[&seller, &other]);
    let markets = de();
    let mut ids = Vec::new();
    for i in 0..3 {
        let doc = feed_bytes(
            &seller.seller_id,
            vec![message(1, &format!("S{i}"), json!(1))],
        );
        let sub = api
            .submit_feed(&context(&seller), request(&markets, &doc), &deadline())
            .await
            .unwrap();
        ids.push(sub.feed_id);
        sim.control().advance_clock(Duration::from_secs(1));
    }
    let doc = feed_bytes(&other.seller_id, vec![message(1, "X", json!(1))]);
    api.submit_feed(&context(&other), request(&markets, &doc), &deadline())
        .await
        .unwrap();
    let first = GetFeeds {
        feed_types: vec!["JSON_LISTINGS_FEED".into()],
        marketplace_ids: markets.clone(),
        page_size: Some(2),
        created_since: None,
        next_token: None,
    };
    let page = api
        .call(&context(&seller), &first, &deadline())
        .await
        .unwrap();
    let got: Vec<&str> = page.feeds.iter().map(|f| f.feed_id.as_str()).collect();
    assert_eq!(got, vec![ids[2].as_str(), ids[1].as_str()], "newest first");
    let next = GetFeeds {
        next_token: page.next_token.clone(),
        ..first.clone()
    };
    assert!(next.next_token.is_some());
    let page2 = api
        .call(&context(&seller), &next, &deadline())
        .await
        .unwrap();
    assert_eq!(page2.feeds.len(), 1, "only this seller's feeds");
    assert_eq!(page2.feeds[0].feed_id, ids[0]);
    assert!(page2.next_token.is_none());

    // The raw answer is the model's GetFeedsResponse.
    let token = tests::sim::access_token(&sim, &seller).await;
    let resp = tests::sim::sp_get(
        &sim,
        Some(&token),
        "/feeds/2021-06-30/feeds",
        &[("feedTypes", "JSON_LISTINGS_FEED"), ("pageSize", "5")],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let model = crate::sim_schema::model("feeds_2021-06-30.json");
    let v = crate::sim_schema::validator(&model, "GetFeedsResponse", true);
    crate::sim_schema::assert_valid(&v, &resp.json(), "getFeeds");
    // A token with other parameters is refused, as the model says.
    let mixed = tests::sim::sp_get(
        &sim,
        Some(&token),
        "/feeds/2021-06-30/feeds",
        &[
            ("feedTypes", "JSON_LISTINGS_FEED"),
            ("nextToken", page.next_token.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(mixed.status, 400, "{}", mixed.body);
}
