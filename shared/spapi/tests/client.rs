//! The client against wiremock on 127.0.0.1: retries, what is never retried,
//! errors as Amazon sends them, LWA behaviour, deadlines and the breaker.
//! (The client against the stateful simulator is in tests/it.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::{Deadline, Operation, Region, SellerId};
use spapi::ops::orders::GetOrder;
use spapi::ops::sellers::GetMarketplaceParticipations;
use spapi::quota::MemoryBuckets;
use spapi::{Call, ClientConfig, Method, SellerContext, SpApi, SpApiError};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod common;
use common::{Creds, SELLER};

struct Fixture {
    server: MockServer,
    api: SpApi,
    creds: Arc<Creds>,
    seller: SellerContext,
}

impl Fixture {
    /// `call` for the fixture's seller, with no deadline.
    async fn call<C: Call>(&self, call: &C) -> Result<C::Output, SpApiError> {
        self.api.call(&self.seller, call, &Deadline::none()).await
    }

    /// A client (speed 1000, the given observer) on the same server and
    /// credentials: to watch calls the fixture's own client makes alike.
    fn client_observed_by(&self, observer: Arc<Recorder>) -> SpApi {
        client(
            &self.server,
            1000.0,
            |_| {},
            self.creds.clone(),
            Some(observer),
        )
    }
}

fn seller(region: Region) -> SellerContext {
    SellerContext {
        seller_id: SellerId::new(SELLER).unwrap(),
        region,
        sandbox: false,
    }
}

/// A client for `server` with time compressed by `speed` (at 1000 the
/// 1/2/4 s back-offs take 1/2/4 ms), its config adjusted by `adjust`.
fn client(
    server: &MockServer,
    speed: f64,
    adjust: impl FnOnce(&mut ClientConfig),
    creds: Arc<Creds>,
    observer: Option<Arc<Recorder>>,
) -> SpApi {
    let base = server.uri();
    let mut config = ClientConfig::local(&base, &format!("{base}/auth/o2/token"), speed);
    adjust(&mut config);
    let buckets = Arc::new(MemoryBuckets::default());
    match observer {
        Some(observer) => SpApi::with_observer(config, creds, buckets, observer),
        None => SpApi::new(config, creds, buckets),
    }
    .unwrap()
}

/// A fresh server and a client for it, LWA not answering yet (each test
/// mounts the token endpoint it needs).
async fn bare(speed: f64, adjust: impl FnOnce(&mut ClientConfig)) -> Fixture {
    let server = MockServer::start().await;
    let creds = Arc::new(Creds::default());
    let api = client(&server, speed, adjust, creds.clone(), None);
    Fixture {
        server,
        api,
        creds,
        seller: seller(Region::Eu),
    }
}

/// LWA's token endpoint answers with `response`.
async fn mount_lwa(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(response)
        .named("lwa")
        .mount(server)
        .await;
}

/// LWA's answer to a refresh token the seller revoked.
fn invalid_grant() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"}))
}

async fn fixture() -> Fixture {
    fixture_at(1000.0).await
}

/// A client at `speed` with LWA answering every refresh.
async fn fixture_at(speed: f64) -> Fixture {
    let f = bare(speed, |_| {}).await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "Atza|access-token-value", "token_type": "bearer",
            "expires_in": 3600, "refresh_token": "Atzr|refresh-token-value"
        })))
        .named("lwa")
        .mount(&f.server)
        .await;
    f
}

fn order_json() -> serde_json::Value {
    serde_json::json!({"order": {
        "orderId": "113-1234567-1234567",
        "createdTime": "2026-11-01T10:00:00Z",
        "lastUpdatedTime": "2026-11-01T10:05:00Z",
        "salesChannel": {"channelName": "Amazon.de", "marketplaceId": "A1PA6795UKMFR9"},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
        "orderItems": [{"orderItemId": "12345678901234", "quantityOrdered": 2,
            "product": {"sellerSku": "SKU-1", "price": {"unitPrice": {"amount": "19.99", "currencyCode": "EUR"}}}}],
        "someFieldAmazonAddedLater": {"x": 1}
    }})
}

fn get_order() -> GetOrder {
    GetOrder {
        order_id: domain::AmazonOrderId::new("113-1234567-1234567").unwrap(),
        included_data: vec![],
    }
}

/// Answers with the given statuses in turn, then 200 with `ok`.
struct Sequence {
    statuses: Vec<u16>,
    calls: Arc<AtomicUsize>,
    ok: serde_json::Value,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.statuses.get(n) {
            Some(&status) => ResponseTemplate::new(status)
                .insert_header("x-amzn-RequestId", format!("req-{n}"))
                .set_body_json(serde_json::json!({"errors": [{"code": "QuotaExceeded", "message": "slow down"}]})),
            None => ResponseTemplate::new(200)
                .insert_header("x-amzn-RequestId", format!("req-{n}"))
                .insert_header("x-amzn-RateLimit-Limit", "0.5")
                .set_body_json(self.ok.clone()),
        }
    }
}

async fn mount_sequence(
    f: &Fixture,
    p: &str,
    statuses: Vec<u16>,
    ok: serde_json::Value,
) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(path(p))
        .respond_with(Sequence {
            statuses,
            calls: calls.clone(),
            ok,
        })
        .mount(&f.server)
        .await;
    calls
}

#[tokio::test]
async fn sends_amazons_headers_and_decodes_tolerating_new_fields() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/113-1234567-1234567"))
        .and(header("x-amz-access-token", "Atza|access-token-value"))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json()))
        .expect(1)
        .mount(&f.server)
        .await;
    let got = f.call(&get_order()).await.unwrap();
    assert_eq!(got.order.order_items[0].quantity_ordered, 2);
    let requests = f.server.received_requests().await.unwrap();
    let ua = requests
        .last()
        .unwrap()
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(ua.starts_with("wms-amazon-connector/"), "{ua}");
    assert!(
        requests
            .last()
            .unwrap()
            .headers
            .get("authorization")
            .is_none(),
        "no SigV4"
    );
}

#[tokio::test]
async fn throttles_and_server_errors_are_retried_up_to_three_times() {
    let f = fixture().await;
    let calls = mount_sequence(
        &f,
        "/orders/2026-01-01/orders/113-1234567-1234567",
        vec![429, 503, 500],
        order_json(),
    )
    .await;
    f.call(&get_order()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);

    let f = fixture().await;
    let calls = mount_sequence(
        &f,
        "/orders/2026-01-01/orders/113-1234567-1234567",
        vec![429, 429, 429, 429],
        order_json(),
    )
    .await;
    let err = f.call(&get_order()).await.unwrap_err();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "one try and three retries, no more"
    );
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.request_id(), Some("req-3"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn client_errors_are_not_retried_and_keep_amazons_code() {
    let f = fixture().await;
    Mock::given(path("/orders/2026-01-01/orders/113-1234567-1234567"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-amzn-RequestId", "req-404")
                .set_body_json(serde_json::json!({"errors": [{"code": "NotFound", "message": "Order not found", "details": "113-1234567-1234567"}]})),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let err = f.call(&get_order()).await.unwrap_err();
    match &err {
        SpApiError::Amazon {
            status,
            code,
            request_id,
            ..
        } => {
            assert_eq!(
                (*status, code.as_str(), request_id.as_deref()),
                (404, "NotFound", Some("req-404"))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
}

/// A POST that must never be sent twice blindly (createFeed is `Unsafe`).
struct UnsafePost;

impl Call for UnsafePost {
    type Output = serde_json::Value;
    const OPERATION: Operation = Operation::CreateFeed;
    const METHOD: Method = Method::Post;
    fn path(&self) -> String {
        "/feeds/2021-06-30/feeds".into()
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"feedType": "JSON_LISTINGS_FEED"}))
    }
}

/// The same POST with an idempotency key (purchaseShipment is `WithIdempotencyKey`).
struct KeyedPost;

impl Call for KeyedPost {
    type Output = serde_json::Value;
    const OPERATION: Operation = Operation::PurchaseShipment;
    const METHOD: Method = Method::Post;
    fn path(&self) -> String {
        "/shipping/v2/shipments".into()
    }
    fn idempotency_key(&self) -> Option<&str> {
        Some("label-42")
    }
}

#[tokio::test]
async fn an_unsafe_post_is_not_retried_after_a_5xx_but_is_after_a_429() {
    let f = fixture().await;
    let calls = mount_sequence(
        &f,
        "/feeds/2021-06-30/feeds",
        vec![503],
        serde_json::json!({"feedId": "1"}),
    )
    .await;
    let err = f.call(&UnsafePost).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "Amazon may have created the feed: never resend"
    );

    let f = fixture().await;
    let calls = mount_sequence(
        &f,
        "/feeds/2021-06-30/feeds",
        vec![429],
        serde_json::json!({"feedId": "1"}),
    )
    .await;
    f.call(&UnsafePost).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a throttled request was not processed"
    );
}

#[tokio::test]
async fn a_post_with_an_idempotency_key_is_retried_with_the_same_key() {
    let f = fixture().await;
    let calls = mount_sequence(
        &f,
        "/shipping/v2/shipments",
        vec![503, 500],
        serde_json::json!({"payload": {}}),
    )
    .await;
    f.call(&KeyedPost).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let requests = f.server.received_requests().await.unwrap();
    let keys: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/shipping/v2/shipments")
        .map(|r| {
            r.headers
                .get("x-amzn-idempotencykey")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(keys, vec!["label-42"; 3]);
}

#[tokio::test]
async fn no_retry_sleeps_past_the_deadline() {
    // real time: the first back-off is 1 s, the deadline 300 ms away
    let f = bare(1.0, |c| c.retry = domain::retry::RetryPolicy::default()).await;
    mount_lwa(
        &f.server,
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"access_token": "Atza|a", "expires_in": 3600})),
    )
    .await;
    let calls = mount_sequence(
        &f,
        "/orders/2026-01-01/orders/113-1234567-1234567",
        vec![503, 503],
        order_json(),
    )
    .await;
    let started = std::time::Instant::now();
    let err = f
        .api
        .call(
            &f.seller,
            &get_order(),
            &Deadline::after(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SpApiError::ResumeLater { .. }), "{err:?}");
    assert!(err.resume_after().unwrap() >= Duration::from_secs(1));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "it did not sleep the 1 s back-off"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_schema_drift_names_the_field() {
    let f = fixture().await;
    let mut bad = order_json();
    bad["order"]["orderItems"][0]["quantityOrdered"] = serde_json::json!("two");
    Mock::given(path("/orders/2026-01-01/orders/113-1234567-1234567"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-amzn-RequestId", "req-d")
                .set_body_json(bad),
        )
        .mount(&f.server)
        .await;
    let err = f.call(&get_order()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("order.orderItems[0].quantityOrdered"),
        "{text}"
    );
    assert!(text.contains("req-d"), "{text}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn access_tokens_are_cached_and_an_expired_one_is_refreshed_once() {
    let f = fixture().await;
    let calls = Arc::new(AtomicUsize::new(0));
    struct ExpiredOnce(Arc<AtomicUsize>);
    impl Respond for ExpiredOnce {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            if self.0.fetch_add(1, Ordering::SeqCst) == 1 {
                ResponseTemplate::new(403).set_body_json(serde_json::json!({"errors": [{"code": "Unauthorized",
                    "message": "Access to requested resource is denied.", "details": "The access token you provided has expired."}]}))
            } else {
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"payload": []}))
            }
        }
    }
    Mock::given(path("/sellers/v1/marketplaceParticipations"))
        .respond_with(ExpiredOnce(calls.clone()))
        .mount(&f.server)
        .await;
    for _ in 0..3 {
        f.call(&GetMarketplaceParticipations).await.unwrap();
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "three calls plus one after the refresh"
    );
    let token_calls = f
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/auth/o2/token")
        .count();
    assert_eq!(
        token_calls, 2,
        "one token, then one refresh after Amazon said it expired"
    );
}

#[tokio::test]
async fn invalid_grant_flags_the_seller_and_is_never_retried() {
    let f = bare(1000.0, |_| {}).await;
    mount_lwa(&f.server, invalid_grant()).await;
    let (api, creds, server, seller) = (&f.api, &f.creds, &f.server, seller(Region::Na));
    let err = api
        .call(&seller, &get_order(), &Deadline::none())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SpApiError::AuthorizationRevoked { .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        creds.revoked.lock().unwrap().as_slice(),
        [SELLER.to_string()]
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        1,
        "one token request, no retry, no SP-API call"
    );
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_lets_one_probe_through() {
    // speed 10: the breaker opens for 400 ms, far longer than the gap between two calls
    let f = fixture_at(10.0).await;
    // 4 failures open the breaker (first call exhausts its retries)
    let calls = mount_sequence(
        &f,
        "/orders/2026-01-01/orders/113-1234567-1234567",
        vec![503; 4],
        order_json(),
    )
    .await;
    let err = f.call(&get_order()).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    // Open for 4 s / 10 = 400 ms: a deadline shorter than that gets "resume later".
    let err = f
        .api
        .call(
            &f.seller,
            &get_order(),
            &Deadline::after(Duration::from_millis(50)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SpApiError::ResumeLater { .. }), "{err:?}");
    assert!(err.to_string().contains("circuit breaker"), "{err}");
    // With time to wait, the probe goes through and succeeds.
    f.call(&get_order()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(f.creds.refresh_reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_lwa_failure_with_no_time_left_is_resume_later() {
    let f = bare(1000.0, |_| {}).await;
    mount_lwa(
        &f.server,
        ResponseTemplate::new(503).set_body_json(
            serde_json::json!({"error": "temporarily_unavailable", "error_description": "busy"}),
        ),
    )
    .await;
    let (api, seller) = (&f.api, &f.seller);
    // Plenty of time: LWA is retried, then the error is LWA's own.
    let err = api
        .call(
            seller,
            &get_order(),
            &Deadline::after(Duration::from_secs(30)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SpApiError::Lwa { status: 503, .. }),
        "{err:?}"
    );
    // No time for a back-off: resume later, not a failure.
    let err = api
        .call(
            seller,
            &get_order(),
            &Deadline::after(Duration::from_millis(5)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SpApiError::ResumeLater { .. }), "{err:?}");
}

/// Records what the client tells its observer, as short strings.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl spapi::CallObserver for Recorder {
    fn observe(&self, event: &spapi::CallEvent<'_>) {
        use spapi::CallEvent::*;
        let line = match event {
            Sent { operation } => format!("sent {operation}"),
            Throttled { operation } => format!("429 {operation}"),
            Retrying { operation } => format!("retry {operation}"),
            Failed { operation, error } => format!("failed {operation} {:?}", error.status()),
            AuthorizationRevoked { seller } => format!("revoked {seller}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test]
async fn the_observer_hears_every_request_429_retry_and_final_failure() {
    let f = fixture().await;
    let recorder = Arc::new(Recorder::default());
    let api = f.client_observed_by(recorder.clone());
    mount_sequence(
        &f,
        "/orders/2026-01-01/orders/113-1234567-1234567",
        vec![429, 503],
        order_json(),
    )
    .await;
    api.call(&f.seller, &get_order(), &Deadline::none())
        .await
        .unwrap();
    assert_eq!(
        recorder.0.lock().unwrap().drain(..).collect::<Vec<_>>(),
        [
            "sent getOrder",
            "429 getOrder",
            "retry getOrder",
            "sent getOrder",
            "retry getOrder",
            "sent getOrder",
        ]
    );
    // A refusal is not retried: one request, one final failure.
    Mock::given(path("/sellers/v1/marketplaceParticipations"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            serde_json::json!({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]}),
        ))
        .mount(&f.server)
        .await;
    api.call(&f.seller, &GetMarketplaceParticipations, &Deadline::none())
        .await
        .unwrap_err();
    assert_eq!(
        recorder.0.lock().unwrap().drain(..).collect::<Vec<_>>(),
        [
            "sent getMarketplaceParticipations",
            "failed getMarketplaceParticipations Some(403)",
        ]
    );
}

#[tokio::test]
async fn the_observer_hears_a_revoked_authorisation_once_per_refusal() {
    let f = bare(1000.0, |_| {}).await;
    mount_lwa(&f.server, invalid_grant()).await;
    let recorder = Arc::new(Recorder::default());
    let (api, seller) = (f.client_observed_by(recorder.clone()), &f.seller);
    api.call(seller, &get_order(), &Deadline::none())
        .await
        .unwrap_err();
    assert_eq!(
        recorder.0.lock().unwrap().as_slice(),
        [
            format!("revoked {SELLER}"),
            "failed getOrder None".to_string()
        ],
        "no request reached the SP-API"
    );
}
