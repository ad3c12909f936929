//! Reading a function's metric output as CloudWatch would: every document
//! checked against the EMF rules (`lambda_kit::metrics::parse_document`),
//! then values summed over the invocations' documents by dimension values.

use lambda_kit::metrics::{MemorySink, Parsed, parse_document};

/// Every document written so far, parsed; panics naming a document
/// CloudWatch would drop.
pub fn documents(sink: &MemorySink) -> Vec<Parsed> {
    sink.lines()
        .iter()
        .map(|line| {
            parse_document(line)
                .unwrap_or_else(|e| panic!("not a valid EMF document ({e}): {line}"))
        })
        .collect()
}

/// The sum of `metric` over the documents whose dimensions include all of
/// `dims` (name, value), as CloudWatch's Sum over those dimensions.
pub fn total(docs: &[Parsed], metric: &str, dims: &[(&str, &str)]) -> f64 {
    docs.iter()
        .filter(|d| dims.iter().all(|(k, v)| d.dimension(k) == Some(v)))
        .filter_map(|d| d.values.get(metric))
        .sum()
}

/// The documents that carry `metric`.
pub fn with<'a>(docs: &'a [Parsed], metric: &str) -> Vec<&'a Parsed> {
    docs.iter()
        .filter(|d| d.values.contains_key(metric))
        .collect()
}
