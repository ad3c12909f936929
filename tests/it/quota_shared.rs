//! Guarantee 5, measured: eight workers — each with its own SP-API client, as
//! eight concurrent Lambda containers would have — hammer one seller's
//! `searchOrders` against the simulator, sharing only the DynamoDB bucket (in
//! moto). The simulator enforces Amazon's published rate and burst (time
//! compressed). They must see zero 429s and still get ≥ 90 % of the calls the
//! bucket allows over the run: burst + rate × elapsed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use domain::{Deadline, MarketplaceId, Operation};
use spapi::ops::orders::{SearchOrders, SearchWindow};
use store::{DynamoBuckets, Store};
use tests::client::{MemoryCredentials, context, sim_client};
use tests::moto::fresh_stack;
use tests::sim::{DE, add_seller, past_two_minutes, seed_orders, start_sim};

const WORKERS: usize = 8;
/// searchOrders: 0.0056 req/s published; × 3600 = 20 req/s, burst 20.
const SPEED: f64 = 3600.0;
const RUN: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_workers_share_one_bucket_without_a_single_429() {
    let stack = fresh_stack("quota-shared").await;
    let sim = start_sim(SPEED).await;
    let seller = add_seller(&sim, "A1QUOTASHARED", false);
    seed_orders(&sim, &seller, 5);
    past_two_minutes(&sim);
    let creds = MemoryCredentials::with(&[&seller]);
    let ok = Arc::new(AtomicU64::new(0));
    let first = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let last = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let stop_at = Instant::now() + RUN;
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        // Separate client, token cache and in-process gate per worker; the
        // only thing shared is the table.
        let buckets = Arc::new(DynamoBuckets::new(Store::new(stack.dynamo(), &stack.table)));
        let api = sim_client(&sim, creds.clone(), buckets);
        let ctx = context(&seller);
        let (ok, first, last) = (ok.clone(), first.clone(), last.clone());
        workers.push(tokio::spawn(async move {
            let search = SearchOrders::new(
                SearchWindow::LastUpdated {
                    after: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
                    before: None,
                },
                vec![MarketplaceId::new(DE).unwrap()],
            );
            let mut errors = Vec::new();
            while Instant::now() < stop_at {
                let d = Deadline::at(stop_at);
                match api.call(&ctx, &search, &d).await {
                    Ok(_) => {
                        let now = Instant::now();
                        ok.fetch_add(1, Ordering::SeqCst);
                        first.lock().unwrap().get_or_insert(now);
                        *last.lock().unwrap() = Some(now);
                    }
                    Err(spapi::SpApiError::ResumeLater { .. }) => break,
                    Err(e) => errors.push(e.to_string()),
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for w in workers {
        errors.extend(w.await.expect("worker"));
    }
    let m = sim
        .control()
        .operation_metrics(&seller.seller_id, Operation::SearchOrders);
    let obtained = ok.load(Ordering::SeqCst);
    let elapsed = match (*first.lock().unwrap(), *last.lock().unwrap()) {
        (Some(a), Some(b)) => b - a,
        _ => Duration::ZERO,
    };
    let (rate, burst) = (0.0056 * SPEED, 20.0);
    let allowed = burst + rate * elapsed.as_secs_f64();
    let share = obtained as f64 / allowed;
    eprintln!(
        "quota_shared: {WORKERS} workers, {:.2} s, obtained {obtained} of {allowed:.1} allowed ({:.1} %), \
         429s {}, sim calls {}",
        elapsed.as_secs_f64(),
        share * 100.0,
        m.throttled,
        m.calls
    );
    assert!(errors.is_empty(), "errors: {errors:?}");
    assert_eq!(m.throttled, 0, "no 429 at all: {m:?}");
    // A call cut off by the run's own deadline may reach the simulator
    // without its answer being counted here.
    assert!(
        m.calls >= obtained && m.calls <= obtained + WORKERS as u64,
        "sim saw {} calls, workers counted {obtained}",
        m.calls
    );
    assert!(
        share >= 0.90,
        "only {:.1} % of the allowed calls",
        share * 100.0
    );
}
