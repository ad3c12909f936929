//! A request as a value. Each SP-API operation is a struct implementing
//! [`Call`]; the client does the rest (auth, quota, retries, decoding).

use domain::Operation;
use serde::de::DeserializeOwned;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

pub trait Call: Send + Sync {
    /// The decoded success body. `()` for answers without a body (204).
    type Output: DeserializeOwned + Send;

    /// Which operation this is: its quota, retry safety and name.
    const OPERATION: Operation;

    const METHOD: Method = Method::Get;

    /// The path, with path parameters already percent-encoded
    /// (use [`encode_path_segment`]).
    fn path(&self) -> String;

    /// Query parameters. Arrays go comma-separated in one value (Swagger's
    /// default `csv`; see [`csv`]), never as repeated keys.
    fn query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// A JSON body, for POST/PUT/PATCH.
    fn body(&self) -> Option<serde_json::Value> {
        None
    }

    /// Sent as `x-amzn-IdempotencyKey`; makes a POST safe to retry.
    fn idempotency_key(&self) -> Option<&str> {
        None
    }

    /// Extra headers (e.g. `x-amzn-shipping-business-id`).
    fn headers(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// `Some(scope)` for grantless operations (client_credentials token,
    /// application-wide quota bucket).
    fn grantless_scope(&self) -> Option<&'static str> {
        None
    }

    /// Checks the request before anything is spent on it (quota, tokens).
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Swagger `csv` array value: `A,B,C`.
pub fn csv<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Percent-encodes one path segment (SKUs may hold `/`, spaces, `#`...).
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_comma_separated_and_segments_encoded() {
        assert_eq!(
            csv(["A1PA6795UKMFR9", "A13V1IB3VIYZZH"]),
            "A1PA6795UKMFR9,A13V1IB3VIYZZH"
        );
        assert_eq!(encode_path_segment("abc/1 2#x"), "abc%2F1%202%23x");
        assert_eq!(
            encode_path_segment("113-1234567-1234567"),
            "113-1234567-1234567"
        );
    }
}
