//! Reading an EMF document back as CloudWatch would, with the rules it
//! enforces: what every emitter's tests (and the tools) check output with.

use std::collections::BTreeMap;

use serde_json::Value;

use super::MAX_VALUES;

/// An EMF document as CloudWatch reads it, checked against the rules of the
/// EMF specification that CloudWatch enforces (a document breaking one is
/// dropped): the `_aws` block with a numeric `Timestamp`, each directive's
/// `Namespace`, at most 30 dimensions per set and 100 metrics per
/// directive, every dimension a root member with a non-empty ASCII string
/// value, every metric a root member with a number (or an array of 1 to 100
/// numbers), units from the list.
/// The tests of every emitter read their output through this.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub timestamp: u64,
    pub directives: Vec<Directive>,
    /// Every dimension's value (the members the sets name).
    pub dimensions: BTreeMap<String, String>,
    /// Every metric's value (for a value array: the sum of its values, as
    /// CloudWatch's Sum statistic would count them).
    pub values: BTreeMap<String, f64>,
    /// The metrics written as value arrays (distributions), with each value.
    pub samples: BTreeMap<String, Vec<f64>>,
}

/// One `CloudWatchMetrics` entry of a [`Parsed`] document.
#[derive(Clone, Debug, PartialEq)]
pub struct Directive {
    pub namespace: String,
    /// The dimension sets, each a list of dimension names.
    pub sets: Vec<Vec<String>>,
    /// The metrics: name and unit.
    pub metrics: Vec<(String, String)>,
}

impl Parsed {
    /// The dimension sets under which `metric` is published.
    pub fn sets_of(&self, metric: &str) -> Vec<Vec<String>> {
        self.directives
            .iter()
            .filter(|d| d.metrics.iter().any(|(n, _)| n == metric))
            .flat_map(|d| d.sets.clone())
            .collect()
    }

    pub fn unit_of(&self, metric: &str) -> Option<&str> {
        self.directives
            .iter()
            .flat_map(|d| d.metrics.iter())
            .find(|(n, _)| n == metric)
            .map(|(_, u)| u.as_str())
    }

    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions.get(name).map(String::as_str)
    }
}

/// CloudWatch's unit names.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Parses and checks one EMF document (see [`Parsed`]).
pub fn parse_document(line: &str) -> Result<Parsed, String> {
    let root: Value = serde_json::from_str(line).map_err(|e| format!("not one JSON value: {e}"))?;
    let root = root
        .as_object()
        .ok_or("the document is not a JSON object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no `_aws` object")?;
    let timestamp = aws
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("`_aws.Timestamp` is not a whole number of milliseconds")?;
    let list = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("`_aws.CloudWatchMetrics` is not an array")?;
    let mut parsed = Parsed {
        timestamp,
        directives: Vec::new(),
        dimensions: BTreeMap::new(),
        values: BTreeMap::new(),
        samples: BTreeMap::new(),
    };
    for d in list {
        let namespace = d
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|n| (1..=255).contains(&n.len()))
            .ok_or("a directive without a Namespace of 1 to 255 characters")?;
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("a directive without a Dimensions array")?;
        let mut dimension_sets = Vec::new();
        for set in sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("a dimension set with more than 30 dimensions".into());
            }
            let mut names = Vec::new();
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                let value = root
                    .get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("dimension {name} is not a string member"))?;
                let ok = !value.trim().is_empty()
                    && value.len() <= 1024
                    && value.bytes().all(|b| b.is_ascii() && !b.is_ascii_control());
                if !ok {
                    return Err(format!("dimension {name} has an invalid value"));
                }
                parsed.dimensions.insert(name.into(), value.into());
                names.push(name.to_string());
            }
            dimension_sets.push(names);
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("a directive without a Metrics array")?;
        if metrics.len() > 100 {
            return Err("a directive with more than 100 metrics".into());
        }
        let mut defined = Vec::new();
        for m in metrics {
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| (1..=255).contains(&n.len()))
                .ok_or("a metric without a Name")?;
            let unit = match m.get("Unit") {
                None => "None",
                Some(u) => u
                    .as_str()
                    .filter(|u| UNITS.contains(u))
                    .ok_or_else(|| format!("metric {name} has an unknown unit"))?,
            };
            let value = match root.get(name) {
                Some(Value::Array(list)) => {
                    if list.is_empty() || list.len() > MAX_VALUES {
                        return Err(format!(
                            "metric {name} has {} values (1 to {MAX_VALUES} allowed)",
                            list.len()
                        ));
                    }
                    let values = list
                        .iter()
                        .map(Value::as_f64)
                        .collect::<Option<Vec<f64>>>()
                        .ok_or_else(|| format!("metric {name} has a value that is not a number"))?;
                    let sum = values.iter().sum();
                    parsed.samples.insert(name.into(), values);
                    sum
                }
                other => other
                    .and_then(Value::as_f64)
                    .ok_or_else(|| format!("metric {name} is not a number member"))?,
            };
            parsed.values.insert(name.into(), value);
            defined.push((name.to_string(), unit.to_string()));
        }
        parsed.directives.push(Directive {
            namespace: namespace.to_string(),
            sets: dimension_sets,
            metrics: defined,
        });
    }
    Ok(parsed)
}
