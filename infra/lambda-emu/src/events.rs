//! Events as AWS shapes them for the template's triggers:
//! - a `Schedule` event delivers its `Input` verbatim when the template sets
//!   one (ours do: `{"kind": "schedule"}`), else an EventBridge "Scheduled
//!   Event";
//! - an `SQS` event source: the queue, batch size and partial-batch setting
//!   from the template ([`SqsSource`]), records shaped by
//!   `devstack::lambda_sqs::event_from_messages` and delivered through
//!   devstack's `Trigger`;
//! - a Function URL request (payload format 2.0, IAM auth) and its response.

use base64::Engine;
use devstack::template::resolve_string;
use devstack::{Provisioned, Template};
use serde_json::{Value, json};

use crate::EmuError;
use crate::env::{ACCOUNT_ID, REGION};

fn event_source<'a>(
    template: &'a Template,
    function: &str,
    event: &str,
    kind: &str,
) -> Result<&'a Value, EmuError> {
    let e = template
        .function_setting(function, "Events")
        .and_then(|events| events.get(event))
        .ok_or_else(|| EmuError::Template(format!("{function} has no event {event}")))?;
    if e.get("Type").and_then(Value::as_str) != Some(kind) {
        return Err(EmuError::Template(format!(
            "{function}'s event {event} is not of type {kind}"
        )));
    }
    Ok(e.get("Properties").unwrap_or(&Value::Null))
}

/// What the template's `Schedule` event `event` of `function` delivers: its
/// `Input` (a JSON text in the template), else a scheduled event.
pub fn schedule(template: &Template, function: &str, event: &str) -> Result<Value, EmuError> {
    let props = event_source(template, function, event, "Schedule")?;
    match props.get("Input").and_then(Value::as_str) {
        Some(input) => serde_json::from_str(input)
            .map_err(|e| EmuError::Template(format!("{function}.{event}: Input is not JSON: {e}"))),
        None => Ok(scheduled_event(&format!("{function}-{event}"))),
    }
}

/// An EventBridge "Scheduled Event" (what a rule without `Input` sends).
pub fn scheduled_event(rule_name: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule_name}")],
        "detail": {}
    })
}

/// A function's SQS event source as the template configures it.
#[derive(Clone, Debug)]
pub struct SqsSource {
    pub queue_url: String,
    pub queue_arn: String,
    /// The template's `BatchSize` (Lambda's default 10); one receive from
    /// moto returns at most 10, so larger batches are delivered as 10.
    pub batch_size: i32,
    pub report_batch_item_failures: bool,
}

impl SqsSource {
    pub fn from_template(
        template: &Template,
        resources: &Provisioned,
        function: &str,
        event: &str,
    ) -> Result<Self, EmuError> {
        let props = event_source(template, function, event, "SQS")?;
        let arn = resolve_string(&props["Queue"], resources)?;
        let queue = resources
            .queues
            .values()
            .find(|q| q.arn == arn)
            .ok_or_else(|| EmuError::Template(format!("no local queue has the ARN {arn}")))?;
        let batch_size = props
            .get("BatchSize")
            .and_then(Value::as_i64)
            .unwrap_or(10)
            .clamp(1, 10) as i32;
        let report = props
            .get("FunctionResponseTypes")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|v| v == "ReportBatchItemFailures"));
        Ok(Self {
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            batch_size,
            report_batch_item_failures: report,
        })
    }

    /// devstack's local event source for this queue.
    pub fn trigger<'a>(
        &'a self,
        sqs: &'a aws_sdk_sqs::Client,
        redeliver_failed: bool,
    ) -> devstack::lambda_sqs::Trigger<'a> {
        devstack::lambda_sqs::Trigger {
            sqs,
            queue_url: &self.queue_url,
            queue_arn: &self.queue_arn,
            batch_size: self.batch_size,
            redeliver_failed,
        }
    }
}

/// Whether a Function URL passes a body of this content type as text
/// (JSON, text, XML, form posts are *not*: Lambda base64-encodes them).
fn is_text(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.starts_with("application/json")
        || ct.starts_with("application/xml")
        || ct.starts_with("application/javascript")
        || ct.contains("+json")
        || ct.contains("+xml")
}

/// A Function URL request (payload format 2.0) as Lambda builds it for a
/// caller signed with SigV4 (IAM auth): `method` on `path?query` with
/// `headers` (lower-case names) and `body`, base64-encoded unless text.
pub fn function_url_request(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let url_id = format!("{:032x}", fastrand::u128(..));
    let domain = format!("{url_id}.lambda-url.{REGION}.on.aws");
    let mut h = serde_json::Map::new();
    h.insert("host".into(), json!(domain));
    h.insert(
        "x-amzn-trace-id".into(),
        json!(format!(
            "Root=1-{:08x}-{:024x}",
            chrono::Utc::now().timestamp(),
            fastrand::u128(..) >> 32
        )),
    );
    h.insert("x-forwarded-proto".into(), json!("https"));
    h.insert("x-forwarded-port".into(), json!("443"));
    h.insert("x-forwarded-for".into(), json!("127.0.0.1"));
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), json!(v));
    }
    let content_type = h
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut query_map = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query_map.insert(k.to_string(), json!(v));
    }
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": url_id,
            "authorizer": {
                "iam": {
                    "accessKey": "AKIALOCALWMSCALLER00",
                    "accountId": ACCOUNT_ID,
                    "callerId": "AROALOCALWMSCALLER00:wms",
                    "cognitoIdentity": null,
                    "principalOrgId": null,
                    "userArn": format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/wms/wms"),
                    "userId": "AROALOCALWMSCALLER00:wms"
                }
            },
            "domainName": domain,
            "domainPrefix": url_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("user-agent")).map(|(_, v)| *v).unwrap_or("wms")
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis()
        },
        "isBase64Encoded": false
    });
    if !query_map.is_empty() {
        event["queryStringParameters"] = Value::Object(query_map);
    }
    if let Some(b) = body {
        if is_text(&content_type) {
            event["body"] = json!(String::from_utf8_lossy(b));
        } else {
            event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(b));
            event["isBase64Encoded"] = json!(true);
        }
    }
    event
}

/// The HTTP answer a Function URL gives for a function's response: a
/// `statusCode` object as it says (body base64-decoded when flagged), any
/// other JSON as a 200 with that JSON as body (Lambda's inference rule).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

pub fn function_url_response(response: &Value) -> HttpAnswer {
    match response.get("statusCode").and_then(Value::as_u64) {
        Some(status) => {
            let raw = response.get("body").and_then(Value::as_str).unwrap_or("");
            let body = if response.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .unwrap_or_default()
            } else {
                raw.as_bytes().to_vec()
            };
            HttpAnswer {
                status: u16::try_from(status).unwrap_or(500),
                headers: response
                    .get("headers")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                body,
            }
        }
        None => {
            let mut headers = serde_json::Map::new();
            headers.insert("content-type".into(), json!("application/json"));
            HttpAnswer {
                status: 200,
                headers,
                body: response.to_string().into_bytes(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_schedules_deliver_their_input() {
        let t = Template::load(&devstack::template_path()).unwrap();
        assert_eq!(
            schedule(&t, "OrderPullFunction", "Every15Minutes").unwrap(),
            json!({"kind": "schedule"})
        );
        assert_eq!(
            schedule(&t, "InventoryPushFunction", "Hourly").unwrap(),
            json!({"kind": "schedule"})
        );
        assert!(
            schedule(&t, "OrderPullFunction", "Jobs").is_err(),
            "not a schedule"
        );
        let e = scheduled_event("r");
        assert_eq!(e["detail-type"], "Scheduled Event");
        assert_eq!(e["source"], "aws.events");
    }

    #[test]
    fn function_url_bodies_are_text_or_base64_as_lambda_passes_them() {
        let json_req = function_url_request(
            "POST",
            "/labels?x=1",
            &[("content-type", "application/json")],
            Some(br#"{"a":1}"#),
        );
        assert_eq!(json_req["body"], r#"{"a":1}"#);
        assert_eq!(json_req["isBase64Encoded"], false);
        assert_eq!(json_req["rawQueryString"], "x=1");
        assert_eq!(json_req["requestContext"]["http"]["method"], "POST");
        let form = function_url_request(
            "POST",
            "/",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(b"a=1"),
        );
        assert_eq!(form["isBase64Encoded"], true);
        assert_eq!(form["body"], "YT0x");
    }

    #[test]
    fn responses_become_http_answers() {
        let r = function_url_response(&json!({"statusCode": 422, "body": "{\"ok\":false}"}));
        assert_eq!(r.status, 422);
        assert_eq!(r.json().unwrap()["ok"], false);
        let plain = function_url_response(&json!({"ok": true}));
        assert_eq!(plain.status, 200);
        assert_eq!(plain.json().unwrap()["ok"], true);
    }
}
