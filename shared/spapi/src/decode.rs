//! Reading an answer's body: [`decode`] (a 2xx body into the operation's
//! model, the path of the field that broke on failure) and [`mismatch`]
//! (what serde found wrong, without the value it found), shared by the
//! client and LWA.

use domain::Operation;

use crate::SpApiError;

/// Decodes a 2xx answer's body into the operation's model, as
/// [`SpApi::call`](crate::SpApi::call) does: an empty body reads as `null` (a 204 into `()`);
/// a body that does not fit is [`SpApiError::Decode`] with the path of the
/// field that broke. Public for the property tests of every model.
pub fn decode<T: serde::de::DeserializeOwned>(
    op: Operation,
    status: u16,
    request_id: Option<&str>,
    body: &[u8],
) -> Result<T, SpApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        // A key named "" prints as nothing: say "the document" rather than ``.
        let path = match e.path().to_string() {
            p if p.is_empty() => ".".to_string(),
            p => p,
        };
        SpApiError::Decode {
            operation: op,
            status,
            path,
            message: mismatch(e.inner()),
            request_id: request_id.map(str::to_string),
        }
    })?;
    // One answer, one JSON value: trailing data means a broken body.
    de.end().map_err(|e| SpApiError::Decode {
        operation: op,
        status,
        path: ".".to_string(),
        message: format!(
            "something follows the JSON document (line {}, column {})",
            e.line(),
            e.column()
        ),
        request_id: request_id.map(str::to_string),
    })?;
    Ok(value)
}

/// What serde_json found wrong, without the value it found: Amazon's
/// answers carry buyer data and this text is logged (and may become a
/// dead-letter reason). Field names and the expected type stay.
pub(crate) fn mismatch(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
        Category::Data => {
            let text = e.to_string();
            let text = match text.rfind(" at line ") {
                Some(i) => &text[..i],
                None => text.as_str(),
            };
            if ["missing field", "unknown field", "duplicate field"]
                .iter()
                .any(|p| text.starts_with(p))
            {
                // Names a field of the model (or, for `unknown`, of the answer).
                text.split(", expected")
                    .next()
                    .unwrap_or_default()
                    .to_string()
            } else if text.starts_with("invalid length") {
                text.to_string()
            } else if let Some((found, expected)) = text.rsplit_once(", expected ") {
                // `invalid type: string "…", expected u32`: the kind, not the value.
                let kind = found
                    .strip_prefix("invalid type: ")
                    .map(|k| k.split([' ', '"', '`']).next().unwrap_or_default());
                match kind {
                    Some(k) if !k.is_empty() => format!("found {k}, expected {expected}"),
                    _ => format!("wrong value, expected {expected}"),
                }
            } else {
                // A model's own rule (`not a decimal number`); any quoted part
                // may be a value: dropped.
                let mut out = String::new();
                let mut quoted = false;
                for c in text.chars() {
                    if c == '"' {
                        quoted = !quoted;
                        if quoted {
                            out.push_str("(value)");
                        }
                    } else if !quoted {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::orders::SearchOrdersResponse;

    /// Found by the property tests (tests/fuzz.rs): serde_json's message
    /// quotes the value it found (`invalid type: string "Jane Buyer", ...`),
    /// and a Decode error is logged — buyer data in the logs. The message
    /// keeps the field and the expected type, never the value.
    #[test]
    fn a_decode_error_names_the_field_not_the_value() {
        let body = br#"{"orders": [{"orderId": "302-1234567-1234567", "createdTime": "Jane Buyer, 1 Main St"}]}"#;
        let e = decode::<SearchOrdersResponse>(Operation::SearchOrders, 200, Some("r-1"), body)
            .unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("Jane"), "{text}");
        let SpApiError::Decode { path, message, .. } = &e else {
            panic!("{e}")
        };
        assert!(path.starts_with("orders[0]"), "{path}");
        assert!(!message.is_empty(), "{message}");
        for (body, expected) in [
            (
                &br#"{"orders": "Jane Buyer"}"#[..],
                "found string, expected",
            ),
            (
                br#"{"orders": [{"fulfillment": {"fulfillmentStatus": {"Jane": 1}}}]}"#,
                "",
            ),
            (b"{\"orders\": [", "not valid JSON"),
            (b"", "found null"),
        ] {
            let e = decode::<SearchOrdersResponse>(Operation::SearchOrders, 200, None, body)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("Jane"), "{e}");
            assert!(e.contains(expected), "{e}");
        }
    }

    /// Found with the job bodies' property tests (the same reader): data
    /// after the JSON document was ignored.
    #[test]
    fn trailing_data_is_refused() {
        let e = decode::<SearchOrdersResponse>(
            Operation::SearchOrders,
            200,
            None,
            br#"{"orders": []} {"orders": []}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("something follows"), "{e}");
        decode::<SearchOrdersResponse>(Operation::SearchOrders, 200, None, b"{\"orders\": []}\n")
            .expect("trailing whitespace is fine");
    }

    #[test]
    fn a_key_named_nothing_is_reported_as_the_document() {
        let e = decode::<SearchOrdersResponse>(Operation::SearchOrders, 200, None, br#"{"": [}"#)
            .unwrap_err();
        let SpApiError::Decode { path, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(path, ".");
    }
}
