//! The job-queue adapters against SQS in moto: a job arrives, a queue SQS
//! refuses (4xx) is a permanent failure — the record goes to the dead-letter
//! queue at once with `QueueRefused` — and a queue that cannot be reached
//! is a retryable one (`QueueUnavailable`), the same in every function.

use std::time::Duration;

use inventory_push::ports::{JobQueue, SqsJobQueue};
use inventory_push::{PushError, PushJob};
use lambda_kit::error::ErrorType;
use lambda_kit::queue::SqsQueue;
use tests::moto::fresh_stack;

async fn receive_one(sqs: &aws_sdk_sqs::Client, url: &str) -> Option<String> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(1)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|m| m.body)
}

/// The URL moto would give a queue of this stage that was never created.
fn missing_queue(existing_url: &str) -> String {
    let (base, _) = existing_url
        .rsplit_once('/')
        .expect("a queue URL ends in its name");
    format!("{base}/no-such-queue-{:08x}", fastrand::u32(..))
}

/// An SQS client for a port nothing listens on.
async fn unreachable_sqs() -> aws_sdk_sqs::Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let sdk = devstack::local_sdk_config(&format!("http://127.0.0.1:{port}")).await;
    aws_sdk_sqs::Client::new(&sdk)
}

#[tokio::test]
async fn a_sent_job_arrives_a_refused_send_is_permanent_an_unreachable_one_retryable() {
    let stack = fresh_stack("job-queues-shared").await;
    let url = stack
        .resources
        .queue("OrderPullJobQueue")
        .expect("the template's order-pull job queue")
        .url
        .clone();
    let queue = SqsQueue::new(stack.sqs(), &url);
    queue
        .send("enqueue a test job", "{\"n\":1}".into(), Duration::ZERO)
        .await
        .expect("SQS takes the job");
    assert_eq!(
        receive_one(&stack.sqs(), &url).await.as_deref(),
        Some("{\"n\":1}")
    );

    let refused = SqsQueue::new(stack.sqs(), missing_queue(&url))
        .send("enqueue a test job", "{}".into(), Duration::ZERO)
        .await
        .expect_err("no such queue");
    assert!(!refused.retryable, "a 4xx stays refused: {refused}");
    assert!(
        refused
            .to_string()
            .starts_with("enqueue a test job failed: "),
        "{refused}"
    );

    let unreachable = SqsQueue::new(unreachable_sqs().await, &url)
        .send("enqueue a test job", "{}".into(), Duration::ZERO)
        .await
        .expect_err("nothing listens");
    assert!(unreachable.retryable, "may heal: {unreachable}");
}

#[tokio::test]
async fn inventory_push_tells_a_refused_job_queue_from_an_unreachable_one() {
    let stack = fresh_stack("job-queues-inventory").await;
    let url = stack
        .resources
        .queue("InventoryPushJobQueue")
        .expect("the template's inventory-push job queue")
        .url
        .clone();
    let job = PushJob::push("A3EXAMPLESELLER");
    SqsJobQueue::new(stack.sqs(), &url)
        .enqueue(&job, Duration::ZERO)
        .await
        .expect("SQS takes the job");
    let body = receive_one(&stack.sqs(), &url)
        .await
        .expect("the job arrived");
    assert_eq!(
        serde_json::from_str::<PushJob>(&body).expect("a push job"),
        job
    );

    let refused = SqsJobQueue::new(stack.sqs(), missing_queue(&url))
        .enqueue(&job, Duration::ZERO)
        .await
        .expect_err("no such queue");
    let refused = PushError::Queue(refused);
    assert!(!refused.is_retryable(), "{refused}");
    assert_eq!(refused.error_type(), "QueueRefused");

    let unreachable = SqsJobQueue::new(unreachable_sqs().await, &url)
        .enqueue(&job, Duration::ZERO)
        .await
        .expect_err("nothing listens");
    let unreachable = PushError::Queue(unreachable);
    assert!(unreachable.is_retryable(), "{unreachable}");
    assert_eq!(unreachable.error_type(), "QueueUnavailable");
}
