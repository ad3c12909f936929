//! Typed ids: a seller id is never confused with a marketplace id or a SKU.
//! Each constructor validates the shape Amazon uses, so a malformed id is
//! refused at the edge with a message that says what was expected.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $expected:literal, $valid:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, DomainError> {
                let value: String = value.into();
                let valid: fn(&str) -> bool = $valid;
                if valid(&value) {
                    Ok(Self(value))
                } else {
                    Err(DomainError::Invalid { kind: $kind, value, expected: $expected })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, DomainError> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;
            fn from_str(value: &str) -> Result<Self, DomainError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn upper_alnum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

id_type!(
    /// The seller's merchant token (`selling_partner_id` from the OAuth consent), e.g. `A2EXAMPLE1SELLER`.
    SellerId,
    "seller id",
    "Amazon's merchant token: 8 to 20 upper-case letters and digits, e.g. A3EXAMPLESELLER",
    |s| upper_alnum(s, 8, 20)
);

impl SellerId {
    /// The "seller" that logs and audit lines name for the application's own
    /// grantless calls (Notifications destinations): `APPLICATION`, a valid
    /// id that stands out in logs.
    pub fn application() -> Self {
        Self("APPLICATION".to_string())
    }
}

id_type!(
    /// An Amazon marketplace id, e.g. `A1PA6795UKMFR9` (DE).
    MarketplaceId,
    "marketplace id",
    "Amazon's marketplace id: 8 to 20 upper-case letters and digits, e.g. A1PA6795UKMFR9",
    |s| upper_alnum(s, 8, 20)
);

id_type!(
    /// An Amazon order id, `3-7-7` digits, e.g. `113-1234567-1234567`.
    AmazonOrderId,
    "Amazon order id",
    "three groups of 3, 7 and 7 digits separated by '-', e.g. 113-1234567-1234567",
    |s| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() == 3
            && [3usize, 7, 7]
                .iter()
                .zip(&parts)
                .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
    }
);

id_type!(
    /// An Amazon order item id (digits).
    OrderItemId,
    "order item id",
    "1 to 30 digits",
    |s| (1..=30).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
);

id_type!(
    /// A seller SKU: 1 to 40 characters, no control characters or surrounding spaces.
    Sku,
    "SKU",
    "1 to 40 characters without control characters or leading/trailing spaces",
    |s| {
        (1..=40).contains(&s.chars().count())
            && !s.chars().any(char::is_control)
            && s.trim() == s
    }
);

id_type!(
    /// The WMS's code for the seller (its client), e.g. `ACME`.
    ClientCode,
    "client code",
    "1 to 32 characters: letters, digits, '-' or '_'",
    |s| (1..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_validated() {
        for (input, ok) in [
            ("113-1234567-1234567", true),
            ("902-1106328-1059050", true),
            ("113-1234567-123456", false),
            ("MG113-1234567-1234567", false),
            ("113_1234567_1234567", false),
            ("", false),
        ] {
            assert_eq!(AmazonOrderId::new(input).is_ok(), ok, "{input}");
        }
    }

    #[test]
    fn invalid_ids_say_what_is_expected() {
        let err = MarketplaceId::new("de").unwrap_err();
        assert!(err.to_string().contains("A1PA6795UKMFR9"), "{err}");
    }

    #[test]
    fn ids_round_trip_through_serde_and_reject_bad_values() {
        let id: SellerId = serde_json::from_str("\"A3EXAMPLESELLER\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"A3EXAMPLESELLER\"");
        assert!(serde_json::from_str::<SellerId>("\"bad id\"").is_err());
        assert_eq!(
            SellerId::new("APPLICATION").unwrap(),
            SellerId::application()
        );
    }

    #[test]
    fn skus_keep_their_case_and_reject_control_characters() {
        assert!(Sku::new("abc-01 RED").is_ok());
        assert!(Sku::new(" padded").is_err());
        assert!(Sku::new("tab\there").is_err());
        assert!(Sku::new("x".repeat(41)).is_err());
    }
}
