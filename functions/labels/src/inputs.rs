//! A rate's additional inputs (Shipping v2 `getAdditionalInputs`): Amazon
//! gives a JSON schema per rate (a customs declaration, a dangerous-goods
//! declaration, ...); the WMS's `additional_inputs` are checked against it
//! *before* anything is bought, so a missing or malformed input is a clear
//! error naming the field instead of Amazon's refusal at purchase time.
//! Messages name fields and rules, never values (an input may hold a
//! name or an address).

use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

/// The top-level inputs the schema requires (for "needs ..." messages).
pub fn required_inputs(schema: &Map<String, Value>) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// What in `inputs` breaks `schema`, as "`/path` rule" lines (at most 10).
/// `Err` when the schema itself cannot be used (then Amazon decides).
pub fn violations(
    schema: &Map<String, Value>,
    inputs: &Map<String, Value>,
) -> Result<Vec<String>, String> {
    let validator = jsonschema::options()
        .build(&Value::Object(schema.clone()))
        .map_err(|e| format!("Amazon's schema of the inputs does not compile: {e}"))?;
    let document = Value::Object(inputs.clone());
    let mut out: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| {
            let at = e.instance_path().as_str().to_string();
            match e.kind() {
                ValidationErrorKind::Required { property } => format!(
                    "`{at}/{}` is required",
                    property.as_str().unwrap_or_default()
                ),
                _ => format!(
                    "`{}` {}",
                    if at.is_empty() { "/" } else { at.as_str() },
                    e.masked_with("the value")
                ),
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out.truncate(10);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn inputs_are_checked_by_field_without_quoting_values() {
        let schema = object(json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["customsDeclaration"],
            "properties": {"customsDeclaration": {"type": "object", "required": ["contentsType"],
                "properties": {"contentsType": {"enum": ["GIFT", "SALE_OF_GOODS"]},
                    "hsCode": {"type": "string", "pattern": "^[0-9]{6,10}$"}}}}
        }));
        assert_eq!(required_inputs(&schema), ["customsDeclaration"]);
        let ok = object(json!({"customsDeclaration": {"contentsType": "GIFT"}}));
        assert!(violations(&schema, &ok).unwrap().is_empty());
        let missing = object(json!({}));
        assert_eq!(
            violations(&schema, &missing).unwrap(),
            ["`/customsDeclaration` is required"]
        );
        let bad =
            object(json!({"customsDeclaration": {"contentsType": "Jane Buyer", "hsCode": "Jane"}}));
        let found = violations(&schema, &bad).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|v| !v.contains("Jane")), "{found:?}");
        assert!(found[0].starts_with("`/customsDeclaration/contentsType`"));
        let broken = object(json!({"type": 12}));
        assert!(violations(&broken, &ok).is_err());
    }
}
