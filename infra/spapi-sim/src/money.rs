//! Decimal amounts as Amazon writes them (`"34.99"`): parsed into integer
//! units and a scale, never `f64`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

const MAX_SCALE: u32 = 6;

impl Decimal {
    pub fn zero() -> Self {
        Self { units: 0, scale: 0 }
    }

    /// `"12"`, `"12.5"`, `"0.99"`; no sign, no exponent, at most 6 decimals.
    pub fn parse(s: &str) -> Option<Self> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > MAX_SCALE as usize {
            return None;
        }
        if s.contains('.') && frac.is_empty() {
            return None;
        }
        let scale = frac.len() as u32;
        let units: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Self { units, scale })
    }

    pub fn times(self, n: u32) -> Self {
        Self {
            units: self.units * i128::from(n),
            scale: self.scale,
        }
    }

    pub fn plus(self, other: Self) -> Self {
        let scale = self.scale.max(other.scale);
        let widen = |d: Self| d.units * 10i128.pow(scale - d.scale);
        Self {
            units: widen(self) + widen(other),
            scale,
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.units);
        }
        let div = 10i128.pow(self.scale);
        write!(
            f,
            "{}.{:0width$}",
            self.units / div,
            self.units % div,
            width = self.scale as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sums_and_prints_like_amazon() {
        let p = |s| Decimal::parse(s).expect(s);
        assert_eq!(p("34.99").times(3).to_string(), "104.97");
        assert_eq!(p("0.05").plus(p("19940")).to_string(), "19940.05");
        assert_eq!(p("7").times(2).to_string(), "14");
        assert_eq!(Decimal::zero().plus(p("1.50")).to_string(), "1.50");
        for bad in ["", "-1", "1.", ".5", "1e3", "1.2345678", "abc"] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }
}
