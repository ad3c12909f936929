//! A hello-world `lambda_runtime` function: the reference the functions'
//! release size and init time are compared with (BENCHMARKS.md). Nothing but
//! the runtime: it answers every event with `{"hello": "world"}`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async {
        Ok::<Value, Error>(json!({"hello": "world"}))
    }))
    .await
}
