//! The Function URL's HTTP, both ways: the request event (payload format
//! 2.0: method, path, query, headers, a body that Lambda base64-encodes for
//! form posts) and the response object, with the security headers every
//! answer carries.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::OnboardingError;

/// The request as the function needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Query parameters; a repeated key keeps its first value.
    pub query: BTreeMap<String, String>,
    /// Form fields of a POST (`application/x-www-form-urlencoded`).
    pub form: BTreeMap<String, String>,
    /// `requestContext.domainName`: the URL's own host.
    pub domain: Option<String>,
}

impl Request {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UrlEvent {
    #[serde(default)]
    raw_path: Option<String>,
    #[serde(default)]
    raw_query_string: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
    request_context: Context,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Context {
    #[serde(default)]
    domain_name: Option<String>,
    http: Http,
}

#[derive(Deserialize)]
struct Http {
    method: String,
    #[serde(default)]
    path: Option<String>,
}

/// The largest body read (a form of three short fields is far smaller).
pub const MAX_BODY: usize = 16 * 1024;

fn pairs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Parses a Function URL event.
pub fn parse(event: Value) -> Result<Request, OnboardingError> {
    let e: UrlEvent = serde_json::from_value(event)
        .map_err(|e| OnboardingError::BadRequest(format!("not a Function URL event: {e}")))?;
    let method = e.request_context.http.method.to_ascii_uppercase();
    let path = e
        .raw_path
        .or(e.request_context.http.path)
        .unwrap_or_else(|| "/".to_string());
    let query = pairs(e.raw_query_string.as_deref().unwrap_or_default());
    let mut form = BTreeMap::new();
    if let Some(body) = e.body.filter(|b| !b.is_empty()) {
        if body.len() > MAX_BODY * 2 {
            return Err(OnboardingError::BadRequest(
                "the request body is too large".into(),
            ));
        }
        let bytes = if e.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .map_err(|_| OnboardingError::BadRequest("the body is not valid base64".into()))?
        } else {
            body.into_bytes()
        };
        if bytes.len() > MAX_BODY {
            return Err(OnboardingError::BadRequest(
                "the request body is too large".into(),
            ));
        }
        let content_type = e
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let text = String::from_utf8(bytes)
                .map_err(|_| OnboardingError::BadRequest("the form is not UTF-8".into()))?;
            form = pairs(&text);
        }
    }
    Ok(Request {
        method,
        path,
        query,
        form,
        domain: e.request_context.domain_name,
    })
}

/// A response before it becomes the Function URL's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// Headers every answer carries: nothing cached, nothing framed or sniffed,
/// no `Referer` to Amazon (the invitation link is a credential).
fn common_headers() -> Vec<(&'static str, String)> {
    vec![
        ("cache-control", "no-store".into()),
        ("referrer-policy", "no-referrer".into()),
        ("x-content-type-options", "nosniff".into()),
        ("x-frame-options", "DENY".into()),
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains".into(),
        ),
    ]
}

impl Response {
    /// An HTML page under `csp`.
    pub fn html(status: u16, csp: String, body: String) -> Self {
        let mut headers = common_headers();
        headers.push(("content-type", "text/html; charset=utf-8".into()));
        headers.push(("content-security-policy", csp));
        Self {
            status,
            headers,
            body,
        }
    }

    /// `303 See Other` to `location` (a URL this function built).
    pub fn see_other(location: String) -> Self {
        let mut headers = common_headers();
        headers.push(("location", location));
        Self {
            status: 303,
            headers,
            body: String::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Function URL answer.
    pub fn into_event(self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        json!({
            "statusCode": self.status,
            "headers": headers,
            "body": self.body,
            "isBase64Encoded": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(method: &str, path: &str, query: &str, body: Option<(&str, bool)>) -> Value {
        let mut e = json!({
            "version": "2.0",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {"content-type": "application/x-www-form-urlencoded", "host": "abc.lambda-url.eu-west-1.on.aws"},
            "requestContext": {"domainName": "abc.lambda-url.eu-west-1.on.aws", "timeEpoch": 0,
                "http": {"method": method, "path": path}},
            "isBase64Encoded": false,
        });
        if let Some((b, base64)) = body {
            e["body"] = if base64 {
                base64::engine::general_purpose::STANDARD.encode(b).into()
            } else {
                b.into()
            };
            e["isBase64Encoded"] = base64.into();
        }
        e
    }

    #[test]
    fn query_and_base64_form_bodies_are_read() {
        let r = parse(event(
            "GET",
            "/connect",
            "invitation=abc%2Bdef&invitation=second&x=",
            None,
        ))
        .unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/connect"));
        assert_eq!(
            r.query("invitation"),
            Some("abc+def"),
            "first value, decoded"
        );
        assert_eq!(r.query("x"), None, "empty is absent");
        assert_eq!(r.domain.as_deref(), Some("abc.lambda-url.eu-west-1.on.aws"));
        let r = parse(event(
            "post",
            "/connect",
            "",
            Some(("invitation=a%20b&y=2", true)),
        ))
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.field("invitation"), Some("a b"));
        let r = parse(event(
            "POST",
            "/connect",
            "",
            Some(("invitation=plain", false)),
        ))
        .unwrap();
        assert_eq!(r.field("invitation"), Some("plain"));
        let big = "x=".to_string() + &"a".repeat(MAX_BODY + 1);
        assert!(parse(event("POST", "/connect", "", Some((&big, true)))).is_err());
        assert!(parse(json!({"operation": "x"})).is_err());
    }

    #[test]
    fn every_answer_carries_the_security_headers() {
        let r = Response::html(200, "default-src 'none'".into(), "<p>x</p>".into());
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = Response::see_other("https://sellercentral.amazon.com/x".into()).into_event();
        assert_eq!(v["statusCode"], 303);
        assert_eq!(
            v["headers"]["location"],
            "https://sellercentral.amazon.com/x"
        );
        assert_eq!(v["headers"]["x-frame-options"], "DENY");
    }
}
