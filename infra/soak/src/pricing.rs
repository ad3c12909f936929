//! The soak's report priced: `Cost::from_report` reads the run's counts
//! (`check::Report`) and prices them with `cost`'s table. Apart from
//! `cost`, so the report can carry its cost without the two modules
//! importing each other.

use crate::check::Report;
use crate::cost::{Cost, GB, HOURS_PER_MONTH, Item, price};
use crate::rig::Kind;

impl Cost {
    pub fn from_report(r: &Report) -> Self {
        let mut items = Vec::new();
        let f = |k: Kind| r.function(k);
        // Lambda.
        let mut invocations = 0u64;
        let mut gb_s = 0.0;
        let mut describe = Vec::new();
        for k in Kind::ALL {
            if let Some(f) = f(k) {
                invocations += f.stats.invocations;
                let g = f.stats.billed_ms as f64 / 1000.0 * f64::from(f.memory_mb) / 1024.0;
                gb_s += g;
                describe.push(format!(
                    "{} {} × {} MB",
                    k.name(),
                    f.stats.invocations,
                    f.memory_mb
                ));
            }
        }
        items.push(Item {
            name: "Lambda requests".into(),
            counted: format!("{invocations} invocations ({})", describe.join(", ")),
            run: invocations as f64 * price::LAMBDA_REQUEST,
        });
        items.push(Item {
            name: "Lambda duration (arm64)".into(),
            counted: format!("{gb_s:.0} GB-s (local billed durations: an upper bound, see notes)"),
            run: gb_s * price::LAMBDA_GB_SECOND_ARM,
        });
        // DynamoDB.
        let (rru, wru): (f64, f64) = r
            .functions
            .iter()
            .fold((0.0, 0.0), |(a, b), f| (a + f.aws.rru, b + f.aws.wru));
        items.push(Item {
            name: "DynamoDB writes".into(),
            counted: format!("{wru:.0} WRU"),
            run: wru * price::DYNAMODB_WRU,
        });
        items.push(Item {
            name: "DynamoDB reads".into(),
            counted: format!("{rru:.0} RRU"),
            run: rru * price::DYNAMODB_RRU,
        });
        // SQS: the functions' requests (WMS sends to the FIFO queue priced as
        // FIFO), the event sources' receives and deletes (one receive and one
        // delete batch per invocation from a queue), and the WMS's own.
        let fn_sqs: u64 = r.functions.iter().map(|f| f.aws.sqs_requests).sum();
        let fifo_sends = r.received as u64 + r.cancellations_expected as u64;
        let sqs_invocations: u64 = [Kind::OrderPull, Kind::ShipmentConfirm]
            .iter()
            .filter_map(|k| f(*k))
            .map(|f| f.stats.invocations)
            .sum();
        let pollers = sqs_invocations * 2;
        let wms_side = r.shipment_messages + fifo_sends * 2 / 10 + 1;
        items.push(Item {
            name: "SQS requests".into(),
            counted: format!(
                "{fn_sqs} by the functions ({fifo_sends} to the FIFO WMS queue), ~{pollers} by Lambda's pollers, ~{wms_side} by the WMS"
            ),
            run: (fn_sqs.saturating_sub(fifo_sends) + pollers + wms_side) as f64
                * price::SQS_REQUEST
                + fifo_sends as f64 * price::SQS_FIFO_REQUEST,
        });
        // Secrets Manager and KMS.
        let secrets: u64 = r
            .functions
            .iter()
            .map(|f| f.aws.calls_of("SecretsManager."))
            .sum();
        items.push(Item {
            name: "Secrets Manager API calls".into(),
            counted: format!("{secrets} GetSecretValue"),
            run: secrets as f64 * price::SECRETS_CALL,
        });
        // KMS: one Decrypt per secret read; SQS and DynamoDB reuse data keys
        // (SQS: 5 minutes per queue and principal; DynamoDB: its table key
        // cached per caller), so per 5 active minutes about 2 requests per
        // queue and principal (8 pairs) and 1 per function role for the table.
        let periods = (r.simulated_hours * 12.0).ceil();
        let kms = secrets as f64 + periods * (8.0 * 2.0 + 3.0);
        items.push(Item {
            name: "KMS requests".into(),
            counted: format!(
                "~{kms:.0} ({secrets} secret decrypts + data keys for {periods:.0} five-minute periods)"
            ),
            run: kms * price::KMS_REQUEST,
        });
        // CloudWatch Logs: what the processes wrote plus Lambda's START,
        // END and REPORT records (~0.6 KB per invocation in JSON).
        let bytes: u64 = r.functions.iter().map(|f| f.log_bytes).sum::<u64>() + invocations * 600;
        let emf: u64 = r.functions.iter().map(|f| f.emf_lines).sum();
        items.push(Item {
            name: "CloudWatch Logs ingestion".into(),
            counted: format!("{:.1} MB ({emf} EMF documents)", bytes as f64 / 1e6),
            run: bytes as f64 / GB * price::LOG_INGEST_GB,
        });
        items.push(Item {
            name: "CloudWatch Logs storage (kept 365 days)".into(),
            counted: format!(
                "{:.1} MB × 12 months, uncompressed (an upper bound)",
                bytes as f64 / 1e6
            ),
            run: bytes as f64 / GB * price::LOG_STORE_GB_MONTH * 12.0,
        });
        // Metrics: billed per series and month whatever the volume, so not
        // a per-order item: the series seen in the run become the fixed
        // items per seller and per deployment below.
        let mut series = std::collections::BTreeSet::new();
        for f in &r.functions {
            series.extend(f.metric_series.iter().cloned());
        }
        let per_seller = series.iter().filter(|s| s.contains("Seller=")).count();
        let fixed = series.len() - per_seller;
        let per_seller_series = per_seller as f64 / f64::from(r.sellers.max(1));
        Cost {
            orders: r.orders,
            sellers: r.sellers,
            simulated_hours: r.simulated_hours,
            items,
            per_seller_fixed: vec![
                ("refresh-token secret".into(), price::SECRET_MONTH),
                (
                    format!("{per_seller_series:.1} per-seller metric series, written every hour"),
                    per_seller_series * price::METRIC_MONTH,
                ),
            ],
            per_deployment: vec![
                ("KMS key".into(), price::KMS_KEY_MONTH),
                (
                    "LWA app and WMS stock secrets".into(),
                    2.0 * price::SECRET_MONTH,
                ),
                (
                    "20 alarms (the throttle ratio's metric math counts 2)".into(),
                    21.0 * price::ALARM_MONTH,
                ),
                ("dashboard".into(), price::DASHBOARD_MONTH),
                (
                    format!("{fixed} fixed metric series"),
                    fixed as f64 * price::METRIC_MONTH,
                ),
                (
                    "idle SQS pollers: 4 event sources × 5 long polls (20 s) ≈ 2.6 M receives"
                        .into(),
                    4.0 * 5.0 * 3.0 * 60.0 * HOURS_PER_MONTH * price::SQS_REQUEST,
                ),
            ],
        }
    }
}
