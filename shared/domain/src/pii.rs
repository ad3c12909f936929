//! `Pii<T>`: buyer data (names, addresses, emails, phones) wrapped so that
//! `Debug` and `Display` never print it. Serialisation is transparent: the
//! value still reaches the WMS and DynamoDB, but a stray `?order` in a log
//! line prints `<redacted>`.

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
}
