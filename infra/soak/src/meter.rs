//! Counting what the functions asked of AWS, from the taps in front of moto:
//! calls per service and operation, DynamoDB read and write units (on-demand
//! rules: 4 KB per read unit, halved for eventually consistent reads; 1 KB
//! per write unit, the index's write too for items in the `ALL`-projected
//! gsi1), SQS requests (64 KB chunks), injected faults.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use lambda_emu::tap::{Meter, Metered};
use serde_json::Value;

/// The counts of one function (or of all, merged).
#[derive(Clone, Debug, Default)]
pub struct AwsCounts {
    /// `DynamoDB.GetItem`, `SQS.SendMessage`, `SecretsManager.GetSecretValue`...
    pub calls: BTreeMap<String, u64>,
    /// Read request units (on-demand).
    pub rru: f64,
    /// Write request units (on-demand), table and index.
    pub wru: f64,
    /// SQS requests as billed (each 64 KB chunk of a payload is one).
    pub sqs_requests: u64,
    /// Calls an injected fault answered.
    pub injected: u64,
    /// Answered by the service with an error status.
    pub errors: u64,
    /// When the last `SQS.SendMessage(Batch)` was answered.
    pub last_send: Option<Instant>,
    /// Time the service (moto) took, per operation, in milliseconds.
    pub service_ms: BTreeMap<String, f64>,
}

impl AwsCounts {
    pub fn merge(&mut self, other: &AwsCounts) {
        for (k, v) in &other.calls {
            *self.calls.entry(k.clone()).or_default() += v;
        }
        self.rru += other.rru;
        self.wru += other.wru;
        self.sqs_requests += other.sqs_requests;
        self.injected += other.injected;
        self.errors += other.errors;
        for (k, v) in &other.service_ms {
            *self.service_ms.entry(k.clone()).or_default() += v;
        }
        self.last_send = match (self.last_send, other.last_send) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn calls_of(&self, prefix: &str) -> u64 {
        self.calls
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

/// A [`Meter`] for the taps in front of moto.
#[derive(Default)]
pub struct AwsMeter {
    counts: Mutex<AwsCounts>,
}

impl AwsMeter {
    pub fn counts(&self) -> AwsCounts {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// `DynamoDB_20120810.GetItem` → `DynamoDB.GetItem`, `AmazonSQS.SendMessage`
/// → `SQS.SendMessage`, `secretsmanager.GetSecretValue` →
/// `SecretsManager.GetSecretValue`.
pub fn operation_name(target: &str) -> String {
    let (service, op) = target.split_once('.').unwrap_or(("other", target));
    let service = match service {
        s if s.starts_with("DynamoDB") => "DynamoDB",
        "AmazonSQS" => "SQS",
        s if s.eq_ignore_ascii_case("secretsmanager") => "SecretsManager",
        s => s,
    };
    format!("{service}.{op}")
}

impl Meter for AwsMeter {
    fn observe(&self, call: &Metered<'_>) {
        let op = call
            .target
            .map(operation_name)
            .unwrap_or_else(|| format!("HTTP.{}", call.method));
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.calls.entry(op.clone()).or_default() += 1;
        *c.service_ms.entry(op.clone()).or_default() += call.service_time.as_secs_f64() * 1000.0;
        if call.injected {
            c.injected += 1;
            return;
        }
        if call.status >= 400 {
            c.errors += 1;
        }
        let request: Value = serde_json::from_slice(call.request).unwrap_or(Value::Null);
        let response: Value = serde_json::from_slice(call.response).unwrap_or(Value::Null);
        if let Some(sqs_op) = op.strip_prefix("SQS.") {
            // Billed per 64 KB chunk of the request's payload.
            c.sqs_requests += (call.request.len() as u64).div_ceil(65_536).max(1);
            if sqs_op.starts_with("SendMessage") && call.status < 300 {
                c.last_send = Some(Instant::now());
            }
            return;
        }
        if let Some(db_op) = op.strip_prefix("DynamoDB.") {
            let (r, w) = dynamodb_units(db_op, &request, &response, call.status, call.item);
            c.rru += r;
            c.wru += w;
        }
    }
}

/// (read units, write units) of one DynamoDB call.
pub fn dynamodb_units(
    op: &str,
    request: &Value,
    response: &Value,
    status: u16,
    item: Option<&Value>,
) -> (f64, f64) {
    let consistent =
        request["ConsistentRead"].as_bool() == Some(true) && request.get("IndexName").is_none();
    let per_read = if consistent { 1.0 } else { 0.5 };
    let reads = |bytes: usize| (bytes.div_ceil(4096).max(1)) as f64 * per_read;
    let writes = |bytes: usize, in_index: bool| {
        let units = bytes.div_ceil(1024).max(1) as f64;
        if in_index { units * 2.0 } else { units }
    };
    let in_index = |item: &Value| item.get("gsi1pk").is_some();
    match op {
        "GetItem" => (reads(response.get("Item").map(item_size).unwrap_or(0)), 0.0),
        "Query" | "Scan" => {
            let total: usize = response["Items"]
                .as_array()
                .map(|items| items.iter().map(item_size).sum())
                .unwrap_or(0);
            (reads(total), 0.0)
        }
        "PutItem" => {
            let it = &request["Item"];
            (0.0, writes(item_size(it), in_index(it)))
        }
        "UpdateItem" | "DeleteItem" => match item {
            Some(it) => (0.0, writes(item_size(it), in_index(it))),
            // A refused condition (the item as stored is unknown) or an
            // update whose image was not available: the minimum.
            None if status >= 400 => (0.0, 1.0),
            None => (0.0, writes(item_size(&request["Key"]), false)),
        },
        _ => (0.0, 0.0),
    }
}

/// DynamoDB's item size: attribute names plus values (strings in UTF-8
/// bytes, numbers about one byte per two digits plus one, binary as bytes,
/// 3 bytes per map or list plus 1 per element).
pub fn item_size(item: &Value) -> usize {
    item.as_object()
        .map(|m| m.iter().map(|(k, v)| k.len() + value_size(v)).sum())
        .unwrap_or(0)
}

fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map(str::len).unwrap_or(0),
        "N" => inner.as_str().map(|n| n.len().div_ceil(2) + 1).unwrap_or(1),
        "B" => inner.as_str().map(|b| b.len() * 3 / 4).unwrap_or(0),
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => inner
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::len).sum())
            .unwrap_or(0),
        "M" => {
            3 + inner
                .as_object()
                .map(|m| m.iter().map(|(k, v)| k.len() + value_size(v) + 1).sum())
                .unwrap_or(0)
        }
        "L" => {
            3 + inner
                .as_array()
                .map(|a| a.iter().map(|v| value_size(v) + 1).sum())
                .unwrap_or(0)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn units_follow_the_on_demand_rules() {
        let small = json!({"pk": {"S": "SELLER#A"}, "sk": {"S": "SETTINGS"}});
        assert_eq!(item_size(&small), 2 + 8 + 2 + 8);
        let get = dynamodb_units(
            "GetItem",
            &json!({"ConsistentRead": true}),
            &json!({"Item": small}),
            200,
            None,
        );
        assert_eq!(get, (1.0, 0.0));
        let eventual = dynamodb_units("GetItem", &json!({}), &json!({}), 200, None);
        assert_eq!(eventual, (0.5, 0.0), "a miss costs the minimum");
        let big = json!({"pk": {"S": "x"}, "v": {"S": "y".repeat(5000)}});
        let put = dynamodb_units("PutItem", &json!({"Item": big}), &json!({}), 200, None);
        assert_eq!(put, (0.0, 5.0));
        let indexed = json!({"pk": {"S": "x"}, "gsi1pk": {"S": "SELLERS"}});
        let put = dynamodb_units("PutItem", &json!({"Item": indexed}), &json!({}), 200, None);
        assert_eq!(put, (0.0, 2.0), "the gsi1 copy is written too");
        let q = dynamodb_units(
            "Query",
            &json!({"IndexName": "gsi1", "ConsistentRead": true}),
            &json!({"Items": [big, small]}),
            200,
            None,
        );
        assert_eq!(
            q,
            (1.0, 0.0),
            "5 KB over an index: 2 units, eventually consistent"
        );
        let refused = dynamodb_units("UpdateItem", &json!({}), &json!({}), 400, None);
        assert_eq!(refused, (0.0, 1.0));
        assert_eq!(operation_name("DynamoDB_20120810.Query"), "DynamoDB.Query");
        assert_eq!(operation_name("AmazonSQS.SendMessage"), "SQS.SendMessage");
        assert_eq!(
            operation_name("secretsmanager.GetSecretValue"),
            "SecretsManager.GetSecretValue"
        );
    }
}
