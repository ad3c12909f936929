//! The fault soak in CI: the same soak library as the bench
//! (`bash infra/soak.sh`), with 1,000 orders over 5 sellers, the functions'
//! debug bootstraps, and every kind of fault once (no kill before a WMS
//! send: its claim is only taken over ten minutes later). Every check of
//! the bench must hold: nothing lost or duplicated, cancellations once,
//! packages confirmed once, labels bought once, every dead letter with a
//! reason, no 429 the simulator did not inject.

use soak::SoakConfig;
use soak::rig::Kind;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_orders_under_faults_lose_and_duplicate_nothing() {
    let mut config = SoakConfig::ci();
    // Every function's log lines, to see what happened to an order.
    config.log_dir = std::env::var_os("SOAK_LOG_DIR").map(Into::into);
    let report = soak::run(&config).await.expect("the soak ran");
    let text = report.markdown();
    println!("{text}");
    assert!(
        report.failures().is_empty(),
        "the soak found: {:?}\n{text}",
        report.failures()
    );
    assert_eq!(report.eligible, report.received, "{text}");
    assert!(report.packages_planned > 1000, "{text}");
    assert_eq!(report.throttled_not_injected(), 0, "{text}");
    // The faults did happen: kills and timeouts in every function, Amazon's
    // misbehaviour, AWS errors.
    for kind in [Kind::OrderPull, Kind::ShipmentConfirm] {
        let f = report.function(kind).expect("the function ran");
        let happened: u64 = f.stats.chaos.values().map(|(_, hit)| hit).sum();
        assert!(happened >= 3, "{kind:?}: {:?}\n{text}", f.stats.chaos);
        assert!(f.stats.outcomes.contains_key("killed"), "{text}");
        assert!(f.stats.outcomes.contains_key("timed out"), "{text}");
        assert!(f.aws.injected > 0, "{text}");
    }
    assert!(report.amazon_faults.len() >= 10, "{text}");
    assert!(
        report.labels.replayed > 0,
        "concurrent purchases replayed: {text}"
    );
}
