//! DynamoDB items as a small typed map: building attributes, reading them
//! back with errors that name the attribute (never its value), and the
//! placeholder bookkeeping of condition and update expressions.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::StoreError;
use crate::keys::{Key, PK, SK};

/// A raw item. Its `Debug` lists attribute names only: values may hold
/// buyer data.
#[derive(Clone, Default, PartialEq)]
pub struct Item(HashMap<String, AttributeValue>);

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        write!(f, "Item({} {:?})", self.key_text(), names)
    }
}

impl From<HashMap<String, AttributeValue>> for Item {
    fn from(map: HashMap<String, AttributeValue>) -> Self {
        Self(map)
    }
}

impl From<Item> for HashMap<String, AttributeValue> {
    fn from(item: Item) -> Self {
        item.0
    }
}

/// Times are stored as RFC 3339 in UTC with milliseconds, so that string
/// order is time order (conditions compare them).
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A DynamoDB number for a non-negative fraction, rounded down to 1e-9 so the
/// text stays short (and a stored token count never grows by rounding).
pub fn format_fraction(x: f64) -> String {
    let x = if x.is_finite() { x.max(0.0) } else { 0.0 };
    let floored = (x * 1e9).floor() / 1e9;
    format!("{floored}")
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl Item {
    pub fn new(key: &Key) -> Self {
        let mut map = HashMap::new();
        map.insert(PK.to_string(), s(key.pk.clone()));
        map.insert(SK.to_string(), s(key.sk.clone()));
        Self(map)
    }

    pub fn key_map(key: &Key) -> HashMap<String, AttributeValue> {
        Self::new(key).0
    }

    pub fn into_map(self) -> HashMap<String, AttributeValue> {
        self.0
    }

    pub fn set(&mut self, name: &str, value: AttributeValue) {
        self.0.insert(name.to_string(), value);
    }

    pub fn with(mut self, name: &str, value: AttributeValue) -> Self {
        self.set(name, value);
        self
    }

    pub fn with_opt(self, name: &str, value: Option<AttributeValue>) -> Self {
        match value {
            Some(v) => self.with(name, v),
            None => self,
        }
    }

    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.0.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn remove(&mut self, name: &str) -> Option<AttributeValue> {
        self.0.remove(name)
    }

    /// Attributes other than the primary key.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &AttributeValue)> {
        self.0
            .iter()
            .filter(|(k, _)| k.as_str() != PK && k.as_str() != SK)
            .map(|(k, v)| (k.as_str(), v))
    }

    fn key_text(&self) -> String {
        let part = |name| match self.0.get(name) {
            Some(AttributeValue::S(v)) => v.as_str(),
            _ => "?",
        };
        format!("{} / {}", part(PK), part(SK))
    }

    pub fn malformed(&self, attribute: &str, problem: impl Into<String>) -> StoreError {
        let part = |name| match self.0.get(name) {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => "?".to_string(),
        };
        StoreError::Malformed {
            pk: part(PK),
            sk: part(SK),
            attribute: attribute.to_string(),
            problem: problem.into(),
        }
    }

    pub fn opt_s(&self, name: &str) -> Result<Option<&str>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.malformed(name, "is not a string")),
        }
    }

    pub fn s(&self, name: &str) -> Result<&str, StoreError> {
        self.opt_s(name)?
            .ok_or_else(|| self.malformed(name, "is missing"))
    }

    pub fn opt_n<T: FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| {
                self.malformed(
                    name,
                    format!("is not a number of type {}", std::any::type_name::<T>()),
                )
            }),
            Some(_) => Err(self.malformed(name, "is not a number")),
        }
    }

    pub fn n<T: FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.opt_n(name)?
            .ok_or_else(|| self.malformed(name, "is missing"))
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::Bool(v)) => Ok(Some(*v)),
            Some(_) => Err(self.malformed(name, "is not a boolean")),
        }
    }

    pub fn opt_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_s(name)?
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| self.malformed(name, "is not an RFC 3339 time"))
            })
            .transpose()
    }

    pub fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time(name)?
            .ok_or_else(|| self.malformed(name, "is missing"))
    }

    /// A string attribute parsed into a typed id (or anything `FromStr`).
    pub fn parsed<T: FromStr>(&self, name: &str, expected: &str) -> Result<T, StoreError> {
        self.s(name)?
            .parse()
            .map_err(|_| self.malformed(name, format!("is not {expected}")))
    }
}

/// Placeholders for one request's expressions: every attribute name goes
/// through `#name` (several of ours are reserved words, e.g. `status`), every
/// value through `:vN`.
#[derive(Default)]
pub struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn new() -> Self {
        Self::default()
    }

    /// `#name` for an attribute (our attribute names are `[a-z0-9_]`).
    pub fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names
            .insert(placeholder.clone(), attribute.to_string());
        placeholder
    }

    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `#a = :v0, #b = :v1` for a `SET` clause.
    pub fn assignments<'a>(
        &mut self,
        attributes: impl IntoIterator<Item = (&'a str, AttributeValue)>,
    ) -> String {
        let mut parts: Vec<String> = attributes
            .into_iter()
            .map(|(name, value)| {
                let n = self.name(name);
                let v = self.value(value);
                format!("{n} = {v}")
            })
            .collect();
        parts.sort();
        parts.join(", ")
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

// ---- conditional writes ------------------------------------------------------

/// The conditional-check failure of a write, with the item DynamoDB returned
/// (when asked for with `ReturnValuesOnConditionCheckFailure::AllOld`).
pub(crate) trait ConditionFailure {
    fn condition_failed(
        &self,
    ) -> Option<&aws_sdk_dynamodb::types::error::ConditionalCheckFailedException>;
}

macro_rules! condition_failure {
    ($($ty:path),*) => {$(
        impl ConditionFailure for $ty {
            fn condition_failed(&self) -> Option<&aws_sdk_dynamodb::types::error::ConditionalCheckFailedException> {
                use $ty as E;
                match self {
                    E::ConditionalCheckFailedException(c) => Some(c),
                    _ => None,
                }
            }
        }
    )*};
}

condition_failure!(
    aws_sdk_dynamodb::operation::put_item::PutItemError,
    aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    aws_sdk_dynamodb::operation::delete_item::DeleteItemError
);

/// A conditional write's answer: done, or the condition did not hold (with
/// the current item if DynamoDB sent it back).
pub(crate) enum Written<T> {
    Done(T),
    ConditionFailed(Option<Item>),
}

pub(crate) fn conditional<T, E>(
    operation: &'static str,
    key: &Key,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<Written<T>, StoreError>
where
    E: ConditionFailure + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Written::Done(out)),
        Err(err) => {
            if let Some(failed) = err.as_service_error().and_then(|e| e.condition_failed()) {
                let old = failed.item().map(|m| Item::from(m.clone()));
                return Ok(Written::ConditionFailed(old));
            }
            Err(StoreError::dynamo(operation, key.to_string(), err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_values() {
        let key = Key {
            pk: "SELLER#A".into(),
            sk: "ORDER#1".into(),
        };
        let item = Item::new(&key).with("payload", s("Jane Buyer, 1 Main St"));
        let text = format!("{item:?}");
        assert!(text.contains("payload") && text.contains("SELLER#A / ORDER#1"));
        assert!(!text.contains("Jane"), "{text}");
    }

    #[test]
    fn getters_name_the_attribute_on_error() {
        let key = Key {
            pk: "P".into(),
            sk: "S".into(),
        };
        let item = Item::new(&key)
            .with("a", s("x"))
            .with("b", n(3))
            .with("t", s("2026-03-01T10:00:00.000Z"));
        assert_eq!(item.s("a").unwrap(), "x");
        assert_eq!(item.n::<u64>("b").unwrap(), 3);
        assert_eq!(item.opt_n::<u64>("missing").unwrap(), None);
        assert_eq!(
            format_time(item.time("t").unwrap()),
            "2026-03-01T10:00:00.000Z"
        );
        let err = item.n::<u64>("a").unwrap_err().to_string();
        assert!(err.contains("P / S") && err.contains("`a`"), "{err}");
        let err = item.s("missing").unwrap_err().to_string();
        assert!(err.contains("is missing"), "{err}");
        assert!(item.time("a").is_err());
    }

    #[test]
    fn fractions_are_short_and_never_round_up() {
        assert_eq!(format_fraction(2.5), "2.5");
        assert_eq!(format_fraction(1e-300), "0");
        assert_eq!(format_fraction(-1.0), "0");
        assert_eq!(format_fraction(f64::NAN), "0");
        let x = 0.999_999_999_9;
        assert!(format_fraction(x).parse::<f64>().unwrap() <= x);
        assert!(format_fraction(x).len() <= 20);
    }

    #[test]
    fn expressions_use_placeholders() {
        let mut e = Expr::new();
        let set = e.assignments([("status", s("X")), ("version", n(2))]);
        assert_eq!(set, "#status = :v0, #version = :v1");
        assert_eq!(e.names().unwrap()["#status"], "status");
        assert!(Expr::new().names().is_none() && Expr::new().values().is_none());
    }

    #[test]
    fn a_failed_condition_is_an_outcome_not_an_error() {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
        let key = Key {
            pk: "P".into(),
            sk: "S".into(),
        };
        let failed = ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("P".into()))
            .build();
        let err: SdkError<PutItemError, HttpResponse> = SdkError::service_error(
            PutItemError::ConditionalCheckFailedException(failed),
            HttpResponse::new(400u16.try_into().unwrap(), "".into()),
        );
        match conditional::<(), _>("PutItem", &key, Err(err)).unwrap() {
            Written::ConditionFailed(Some(old)) => assert!(old.contains("pk")),
            _ => panic!("expected a failed condition with the old item"),
        }
        let other: Result<(), _> = Err(crate::error::service_error("ValidationException", 400));
        assert!(conditional("PutItem", &key, other).is_err());
    }
}
