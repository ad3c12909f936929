//! The label Lambda: the WMS at the packing bench asks for Amazon Shipping
//! rates, buys a label (never paying twice for one idempotency key, also
//! under concurrent calls), reprints it, cancels it and tracks it — the
//! contract is `wms::label` (`shared/wms/CONTRACTS.md`, "Label request and
//! response"). Version 2 of the contract adds an offer's additional inputs
//! ([`inputs`]: Amazon's schema shown at rates time, the WMS's inputs checked
//! against it before buying), serial numbers on Amazon orders, and the
//! close-out operations ([`close_out`]: the carrier's collection forms per
//! ship-from address); every response is written in its request's version.
//!
//! Triggers (template.yaml): the function's URL (`AuthType: AWS_IAM`; the
//! event is a `LambdaFunctionUrlRequest` whose JSON body is the request; the
//! answer is an HTTP response whose body is the response JSON) and direct
//! invoke (the event *is* the request; the answer is the response JSON).
//! [`handle`] accepts both. The operations are in [`service`]; choosing an
//! offer by rule in [`select`].
//!
//! Labels for Amazon orders are bought through the Amazon channel: Amazon
//! knows the ship-to address (nothing of the buyer is fetched or stored by
//! this function) and marks the order shipped; the shipment job is told
//! through `store::ShipmentRecords::record_label_bought` not to confirm it
//! again.
//!
//! Must not depend on other functions; reads no environment (see `main.rs`).

pub mod close_out;
pub mod config;
pub mod error;
pub mod inputs;
pub mod model;
pub mod select;
pub mod service;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use domain::Deadline;
use serde_json::{Value, json};
use wms::label::{ErrorCode, LabelError as WireError, LabelResponse, OperationName};
use wms::{LabelRequest, MessageVersion};

pub use error::LabelError;
pub use service::{LabelOptions, LabelService};

/// The function's handler, for a Function URL request or a direct invoke.
pub async fn handle(service: &LabelService, event: Value, deadline: Deadline) -> Value {
    // The invocation's metrics are written when it ends, however it ends.
    let _metrics = service.metrics.flush_on_drop();
    if is_function_url(&event) {
        let (status, body) = match function_url_body(event) {
            Ok(text) => respond(service, &text, &deadline).await,
            Err(e) => failure_text(MessageVersion::V1, None, None, &e),
        };
        json!({
            "statusCode": status,
            "headers": { "content-type": "application/json" },
            "body": body,
            "isBase64Encoded": false,
        })
    } else {
        let (_, body) = respond(service, &event.to_string(), &deadline).await;
        serde_json::from_str(&body).unwrap_or_else(|_| json!({"schema": 1, "ok": false}))
    }
}

/// The version a request names, to answer in (version 1 when it names no
/// version this connector reads).
fn version_of(value: Option<&Value>) -> MessageVersion {
    value
        .and_then(|v| v.get("schema"))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .and_then(MessageVersion::from_number)
        .unwrap_or(MessageVersion::V1)
}

/// A Function URL event (payload format 2.0) rather than a direct invoke.
pub fn is_function_url(event: &Value) -> bool {
    event
        .get("requestContext")
        .is_some_and(|c| c.get("http").is_some())
        && event.get("operation").is_none()
}

fn function_url_body(event: Value) -> Result<String, LabelError> {
    let request: LambdaFunctionUrlRequest = serde_json::from_value(event)
        .map_err(|e| LabelError::Internal(format!("not a Function URL event: {e}")))?;
    let method = request
        .request_context
        .http
        .method
        .as_deref()
        .unwrap_or("POST");
    if !method.eq_ignore_ascii_case("POST") {
        return Err(LabelError::Invalid(format!(
            "send the request with POST (got {method})"
        )));
    }
    let body = request.body.ok_or_else(|| {
        LabelError::Invalid("the request has no body: send the label request JSON".into())
    })?;
    if request.is_base64_encoded {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|_| LabelError::Invalid("the body is marked base64 but is not".into()))?;
        String::from_utf8(bytes)
            .map_err(|_| LabelError::Invalid("the body is not UTF-8 JSON".into()))
    } else {
        Ok(body)
    }
}

/// A `request_id` fit to echo (the response schema's rule), from a request
/// that may not parse.
fn echo_id(value: &Value) -> Option<String> {
    value
        .get("request_id")?
        .as_str()
        .filter(|s| (1..=128).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7E).contains(&b)))
        .map(str::to_string)
}

/// Runs one request given as text: (HTTP status, response JSON).
pub async fn respond(service: &LabelService, text: &str, deadline: &Deadline) -> (u16, String) {
    let raw: Option<Value> = serde_json::from_str(text).ok();
    let operation = raw.as_ref().and_then(OperationName::from_value);
    let request_id = raw.as_ref().and_then(echo_id);
    let version = version_of(raw.as_ref());
    let request = match LabelRequest::parse(text) {
        Ok(r) => r,
        Err(e) => {
            let e = LabelError::Contract(e);
            if let Some(op) = operation {
                service.failed(op, None, &e);
            }
            return failure_text(version, operation, request_id, &e);
        }
    };
    let operation = request.operation.name();
    let version = request.schema;
    match service.execute(&request, deadline).await {
        Ok(result) => {
            let response = LabelResponse::success(version, operation, request_id.clone(), result);
            match response.to_json() {
                Ok(text) => (200, text),
                Err(e) => failure_text(
                    version,
                    Some(operation),
                    request_id,
                    &LabelError::Internal(format!("our own response breaks the contract: {e}")),
                ),
            }
        }
        Err(e) => {
            tracing::warn!(operation = operation.as_str(), code = ?e.code(), retryable = e.is_retryable(), error = %e, "label request failed");
            failure_text(version, Some(operation), request_id, &e)
        }
    }
}

fn failure_text(
    version: MessageVersion,
    operation: Option<OperationName>,
    request_id: Option<String>,
    e: &LabelError,
) -> (u16, String) {
    let response = LabelResponse::failure(version, operation, request_id, e.to_wire());
    match response.to_json() {
        Ok(text) => (e.http_status(), text),
        Err(_) => {
            // Our error did not fit the contract (a bug): a minimal one that does.
            let minimal = LabelResponse::failure(
                version,
                operation,
                None,
                WireError {
                    code: ErrorCode::Internal,
                    message: "the connector could not describe the error; see its logs".into(),
                    retryable: true,
                    hint: None,
                    amazon_request_id: None,
                },
            );
            (500, serde_json::to_string(&minimal).unwrap_or_default())
        }
    }
}
