//! Money as the WMS receives it: a decimal *string* and an ISO 4217 code,
//! never a float, so no cent is ever lost on the way.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A decimal number kept as text (`"49.99"`, `"-0.50"`, `"12"`), checked to
/// be plain digits with an optional sign and fraction.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Decimal(String);

/// The longest number of digits [`Decimal::times`] multiplies exactly.
const MAX_DIGITS: usize = 28;

impl Decimal {
    /// `None` unless the text is `-?digits(.digits)?`.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits(int) && frac.is_none_or(digits)).then_some(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self × n`, exact, keeping the number of decimal places
    /// (`"49.99" × 3 = "149.97"`). `None` if the number has more than 28 digits.
    pub fn times(&self, n: u32) -> Option<Decimal> {
        let (negative, unsigned) = match self.0.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, self.0.as_str()),
        };
        let scale = unsigned.split_once('.').map_or(0, |(_, f)| f.len());
        let digits: String = unsigned.chars().filter(|c| *c != '.').collect();
        if digits.len() > MAX_DIGITS {
            return None;
        }
        let mantissa: u128 = digits.parse().ok()?;
        let product = mantissa.checked_mul(u128::from(n))?;
        let mut text = format!("{product:0>width$}", width = scale + 1);
        if scale > 0 {
            text.insert(text.len() - scale, '.');
        }
        if negative && product != 0 {
            text.insert(0, '-');
        }
        Some(Decimal(text))
    }
}

impl TryFrom<String> for Decimal {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Decimal::new(value).ok_or_else(|| "not a plain decimal number".to_string())
    }
}

impl From<Decimal> for String {
    fn from(value: Decimal) -> String {
        value.0
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({})", self.0)
    }
}

/// An amount and its currency (`{"amount": "49.99", "currency": "EUR"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217, upper case.
    pub currency: String,
}

impl Money {
    /// The price of `n` units.
    pub fn times(&self, n: u32) -> Option<Money> {
        Some(Money {
            amount: self.amount.times(n)?,
            currency: self.currency.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_checked_and_multiplied_exactly() {
        for (text, n, expected) in [
            ("49.99", 3, "149.97"),
            ("0.10", 3, "0.30"),
            ("0.01", 0, "0.00"),
            ("12", 2, "24"),
            ("-0.50", 2, "-1.00"),
            ("-0.50", 0, "0.00"),
            ("0.333", 3, "0.999"),
            ("19999999.99", 1000, "19999999990.00"),
        ] {
            let d = Decimal::new(text).unwrap();
            assert_eq!(d.times(n).unwrap().as_str(), expected, "{text} x {n}");
        }
        for bad in ["", "1.", ".5", "1e3", "1,50", "+1", "--1", "1.2.3", " 1"] {
            assert!(Decimal::new(bad).is_none(), "{bad:?} should be refused");
        }
        assert!(Decimal::new("1".repeat(29)).unwrap().times(2).is_none());
    }
}
