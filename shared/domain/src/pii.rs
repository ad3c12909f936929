//! `Pii<T>`: buyer data (names, addresses, emails, phones) wrapped so that
//! `Debug` and `Display` never print it. Serialisation is transparent: the
//! value still reaches the WMS and DynamoDB, but a stray `?order` in a log
//! line prints `<redacted>`. [`json_data_problem`]: what a JSON value that
//! did not fit its type may say of it in an error, without the value.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The wrapped value. Call it only to hand the value to the WMS or the store.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A serde_json data error (missing or unknown field, wrong type or value)
/// told without the value: serde_json quotes offending values in its
/// messages, and the JSON may hold buyer data or a secret. Gives "missing
/// field `x`", "unknown field `x`" or "wrong type or value, expected …".
/// The one wording of `secrets`, `store` and `lambda-kit`'s batch parser.
pub fn json_data_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    if text.starts_with("missing field") || text.starts_with("unknown field") {
        text.split(", expected")
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        match text.rsplit_once(", expected ") {
            Some((_, expected)) => format!("wrong type or value, expected {expected}"),
            None => "wrong type or value".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_never_prints_but_serialises() {
        let name = Pii::new("Jane Buyer".to_string());
        assert_eq!(format!("{name:?} {name}"), "<redacted> <redacted>");
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Jane Buyer\"");
        let back: Pii<String> = serde_json::from_str("\"Jane Buyer\"").unwrap();
        assert_eq!(back.expose(), "Jane Buyer");
    }

    #[test]
    fn a_json_data_problem_names_what_was_expected_never_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Shape {
            name: String,
        }
        let problem =
            |json: &str| json_data_problem(&serde_json::from_str::<Shape>(json).unwrap_err());
        assert_eq!(problem("{}"), "missing field `name`");
        assert_eq!(problem(r#"{"name":"a","x":1}"#), "unknown field `x`");
        let wrong = problem(r#"{"name":12345}"#);
        assert_eq!(wrong, "wrong type or value, expected a string");
        assert!(!wrong.contains("12345"));
    }
}
