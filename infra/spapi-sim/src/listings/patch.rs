//! JSON Patch on a listing's attributes the way Amazon describes it, for
//! `patchListingsItem` and `JSON_LISTINGS_FEED` messages alike.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::types::{INVALID_VALUE, Listings, SKU_NOT_FOUND, UNSUPPORTED_PATCH};

/// One problem with a patch, as Amazon reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchIssue {
    pub code: String,
    pub message: String,
    pub attribute: Option<String>,
}

/// Validates all patches first, then applies them all (or none), in each of
/// `markets` (the request's `marketplaceIds`).
pub fn apply_patches(
    listings: &mut Listings,
    seller: &str,
    sku: &str,
    patches: &Value,
    markets: &[String],
    now: DateTime<Utc>,
    apply: bool,
) -> Vec<PatchIssue> {
    let Some(listing) = listings
        .by_seller
        .get_mut(seller)
        .and_then(|l| l.get_mut(sku))
    else {
        return vec![PatchIssue {
            code: SKU_NOT_FOUND.to_string(),
            message: format!(
                "The SKU '{sku}' is not listed for this selling partner; a PATCH needs an existing listing."
            ),
            attribute: None,
        }];
    };
    if let Some((code, message)) = &listing.refusal {
        return vec![PatchIssue {
            code: code.clone(),
            message: message.clone(),
            attribute: Some("fulfillment_availability".into()),
        }];
    }
    let Some(patches) = patches.as_array().filter(|p| !p.is_empty()) else {
        return vec![PatchIssue {
            code: INVALID_VALUE.to_string(),
            message: "'patches' must be a non-empty array.".into(),
            attribute: None,
        }];
    };
    let mut issues = Vec::new();
    let mut steps = Vec::new();
    for p in patches {
        match check_patch(p) {
            Ok(step) => steps.push(step),
            Err(issue) => issues.push(issue),
        }
    }
    if issues.is_empty() && apply {
        for (op, name, value) in steps {
            apply_one(&mut listing.attributes, op, &name, value);
            listing.patches_applied += 1;
        }
        if let Some(availability) = listing.attributes.get("fulfillment_availability") {
            for m in markets {
                listing
                    .by_marketplace
                    .insert(m.clone(), availability.clone());
            }
        }
        listing.updated = now;
    }
    issues
}

pub(crate) type Step = (String, String, Option<Vec<Value>>);

pub(crate) fn check_patch(p: &Value) -> Result<Step, PatchIssue> {
    let op = p["op"].as_str().unwrap_or_default();
    if !matches!(op, "add" | "replace" | "merge" | "delete") {
        return Err(PatchIssue {
            code: UNSUPPORTED_PATCH.to_string(),
            message: format!(
                "Patch operation '{op}' is not supported; use add, replace, merge or delete."
            ),
            attribute: None,
        });
    }
    let path = p["path"].as_str().unwrap_or_default();
    let name = path
        .strip_prefix("/attributes/")
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| PatchIssue {
            code: UNSUPPORTED_PATCH.to_string(),
            message: format!("Path '{path}' is not a top-level attribute (/attributes/<name>)."),
            attribute: None,
        })?
        .to_string();
    let value = match p.get("value") {
        None | Some(Value::Null) if op == "delete" => None,
        Some(Value::Array(v)) => Some(v.clone()),
        _ => {
            return Err(PatchIssue {
                code: INVALID_VALUE.to_string(),
                message: format!("The value of '{name}' must be an array."),
                attribute: Some(name),
            });
        }
    };
    if name == "fulfillment_availability"
        && let Some(values) = &value
    {
        for v in values {
            if !v["fulfillment_channel_code"].is_string() {
                return Err(PatchIssue {
                    code: INVALID_VALUE.to_string(),
                    message: "'fulfillment_channel_code' is required but not supplied.".into(),
                    attribute: Some(name),
                });
            }
            if let Some(q) = v.get("quantity")
                && q.as_u64().is_none_or(|q| q > i32::MAX as u64)
            {
                return Err(PatchIssue {
                    code: INVALID_VALUE.to_string(),
                    message: format!(
                        "The value '{q}' for 'quantity' is not a whole number of 0 or more."
                    ),
                    attribute: Some(name),
                });
            }
        }
    }
    Ok((op.to_string(), name, value))
}

pub(crate) fn apply_one(
    attrs: &mut Map<String, Value>,
    op: String,
    name: &str,
    value: Option<Vec<Value>>,
) {
    match (op.as_str(), value) {
        ("delete", _) => {
            attrs.remove(name);
        }
        ("merge", Some(values)) if name == "fulfillment_availability" => {
            let mut current = attrs
                .get(name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for v in values {
                let channel = v["fulfillment_channel_code"].clone();
                match current
                    .iter_mut()
                    .find(|e| e["fulfillment_channel_code"] == channel)
                {
                    Some(existing) => {
                        if let (Some(e), Some(n)) = (existing.as_object_mut(), v.as_object()) {
                            for (k, x) in n {
                                e.insert(k.clone(), x.clone());
                            }
                        }
                    }
                    None => current.push(v),
                }
            }
            attrs.insert(name.to_string(), Value::Array(current));
        }
        (_, Some(values)) => {
            attrs.insert(name.to_string(), Value::Array(values));
        }
        (_, None) => {}
    }
}
