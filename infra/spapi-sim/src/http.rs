//! Response helpers shared by the LWA, SP-API and control routes: request ids,
//! Amazon's headers and error bodies.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const REQUEST_ID: &str = "x-amzn-RequestId";
pub const RATE_LIMIT: &str = "x-amzn-RateLimit-Limit";

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A response with a raw body (JSON or, for the `Malformed` fault, not quite).
pub fn respond(
    status: StatusCode,
    request_id: &str,
    rate: Option<String>,
    body: String,
) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, v);
    }
    if let Some(v) = rate.and_then(|r| HeaderValue::from_str(&r).ok()) {
        headers.insert(RATE_LIMIT, v);
    }
    resp
}

/// Amazon's `ErrorList`.
pub fn error_list(code: &str, message: &str, details: &str) -> Value {
    json!({ "errors": [{ "code": code, "message": message, "details": details }] })
}

pub fn quota_exceeded() -> Value {
    error_list(
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
        "",
    )
}

pub fn server_error(code: u16) -> Value {
    if code == 503 {
        error_list(
            "ServiceUnavailable",
            "Service temporarily unavailable. Please try again.",
            "",
        )
    } else {
        error_list(
            "InternalFailure",
            "We encountered an internal error. Please try again.",
            "",
        )
    }
}

pub fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The body cut in half: not valid JSON any more.
pub fn truncated(body: &str) -> String {
    let mut cut = body.len() / 2;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    let half = &body[..cut];
    if serde_json::from_str::<Value>(half).is_ok() {
        // A tiny body could still parse; make sure it does not.
        format!("{half}{{")
    } else {
        half.to_string()
    }
}

/// The same document with one field of the wrong type: the first
/// `quantityOrdered` becomes a string, else the first array becomes a string.
pub fn wrong_type(mut v: Value) -> Value {
    if !replace_first_key(&mut v, "quantityOrdered", json!("one")) {
        replace_first_array(&mut v);
    }
    v
}

fn replace_first_key(v: &mut Value, key: &str, with: Value) -> bool {
    match v {
        Value::Object(m) => {
            if let Some(slot) = m.get_mut(key) {
                *slot = with;
                return true;
            }
            m.values_mut()
                .any(|child| replace_first_key(child, key, with.clone()))
        }
        Value::Array(a) => a
            .iter_mut()
            .any(|child| replace_first_key(child, key, with.clone())),
        _ => false,
    }
}

fn replace_first_array(v: &mut Value) -> bool {
    if let Value::Object(m) = v {
        for slot in m.values_mut() {
            if slot.is_array() {
                *slot = json!("not-a-list");
                return true;
            }
            if replace_first_array(slot) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruptions_break_what_they_promise() {
        let body = json!({"orders": [{"orderItems": [{"quantityOrdered": 1}]}]});
        assert!(serde_json::from_str::<Value>(&truncated(&body.to_string())).is_err());
        assert!(serde_json::from_str::<Value>(&truncated("{}")).is_err());
        let w = wrong_type(body);
        assert_eq!(w["orders"][0]["orderItems"][0]["quantityOrdered"], "one");
        let w = wrong_type(json!({"payload": [1]}));
        assert_eq!(w["payload"], "not-a-list");
    }
}
