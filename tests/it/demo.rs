//! The README's first command, in-process: the demo onboards its seller and
//! runs the client through the shared DynamoDB bucket against the simulator,
//! then the order-pull function's handler end to end.

use devstack::demo::{self, DemoOptions};
use tests::moto::fresh_stack;

#[tokio::test]
async fn the_demo_runs_end_to_end() {
    let stack = fresh_stack("demo").await;
    let sim = demo::start_simulator(&DemoOptions {
        speed: 1000.0,
        orders: 12,
    })
    .await
    .expect("simulator");
    let report = demo::run(&stack.sdk, &stack.resources, &sim)
        .await
        .expect("the demo runs");
    assert_eq!(report.orders_seen, 12);
    assert_eq!(report.pages, 2, "10 per page");
    assert_eq!(report.throttled, 0);
    assert_eq!(report.lwa_exchanges, 1);
    assert!(
        report
            .marketplaces
            .iter()
            .any(|m| m.starts_with("A1PA6795UKMFR9"))
    );
    let tokens = report
        .bucket_tokens_left
        .expect("the bucket is in the table");
    assert!(
        tokens < 20.0,
        "the calls were taken from the shared bucket: {tokens}"
    );
}
