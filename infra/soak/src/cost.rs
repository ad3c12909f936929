//! The soak's own counts priced: per 1,000 orders and per seller-month, at
//! public us-east-1 on-demand prices (the date and the assumptions are in
//! the table it prints and in BENCHMARKS.md).

use std::fmt::Write as _;

/// When the prices below were taken.
pub const PRICES_TAKEN: &str = "2026-12-07";

/// us-east-1, on demand, no free tier.
pub mod price {
    /// Lambda requests, per request.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// Lambda duration per GB-second, arm64 (the template's default
    /// `Architecture`); x86_64 is $0.0000166667.
    pub const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    /// DynamoDB on-demand, per write / read request unit (after the
    /// November 2024 price cut).
    pub const DYNAMODB_WRU: f64 = 0.625 / 1e6;
    pub const DYNAMODB_RRU: f64 = 0.125 / 1e6;
    /// SQS per request (64 KB chunk): standard queues; FIFO is $0.50 per million.
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    pub const SQS_FIFO_REQUEST: f64 = 0.50 / 1e6;
    /// Secrets Manager: per secret-month, per API call.
    pub const SECRET_MONTH: f64 = 0.40;
    pub const SECRETS_CALL: f64 = 0.05 / 1e4;
    /// KMS: per customer-managed key-month, per request.
    pub const KMS_KEY_MONTH: f64 = 1.0;
    pub const KMS_REQUEST: f64 = 0.03 / 1e4;
    /// CloudWatch Logs (Lambda's vended logs, first tier): ingestion per GB,
    /// storage per GB-month.
    pub const LOG_INGEST_GB: f64 = 0.50;
    pub const LOG_STORE_GB_MONTH: f64 = 0.03;
    /// CloudWatch: per custom metric-month (first 10,000), per alarm metric-month,
    /// per dashboard-month.
    pub const METRIC_MONTH: f64 = 0.30;
    pub const ALARM_MONTH: f64 = 0.10;
    pub const DASHBOARD_MONTH: f64 = 3.0;
}

pub(crate) const GB: f64 = 1024.0 * 1024.0 * 1024.0;
pub(crate) const HOURS_PER_MONTH: f64 = 730.0;

/// One line of the bill.
#[derive(Clone, Debug)]
pub struct Item {
    pub name: String,
    /// What was counted in the run (the quantity priced).
    pub counted: String,
    /// Dollars for the whole run.
    pub run: f64,
}

#[derive(Clone, Debug)]
pub struct Cost {
    pub orders: usize,
    pub sellers: u32,
    pub simulated_hours: f64,
    pub items: Vec<Item>,
    /// Fixed per seller and month, whatever its volume.
    pub per_seller_fixed: Vec<(String, f64)>,
    /// Fixed per deployment and month.
    pub per_deployment: Vec<(String, f64)>,
}

impl Cost {
    pub fn run_total(&self) -> f64 {
        self.items.iter().map(|i| i.run).sum()
    }

    /// Dollars per 1,000 orders, all variable items.
    pub fn per_thousand(&self) -> f64 {
        self.run_total() * 1000.0 / self.orders.max(1) as f64
    }

    pub fn largest(&self) -> Option<&Item> {
        self.items.iter().max_by(|a, b| a.run.total_cmp(&b.run))
    }

    /// A seller-month with `orders` orders: its share of the variable
    /// cost at the soak's rate, plus its fixed items.
    pub fn seller_month(&self, orders: f64) -> f64 {
        self.per_thousand() * orders / 1000.0
            + self.per_seller_fixed.iter().map(|(_, v)| v).sum::<f64>()
    }

    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Cost of the run at us-east-1 on-demand prices of {PRICES_TAKEN} (no free tier):\n\n| item | counted in the run | run | per 1,000 orders |\n|---|---|---:|---:|"
        );
        let scale = 1000.0 / self.orders.max(1) as f64;
        for i in &self.items {
            let _ = writeln!(
                o,
                "| {} | {} | ${:.4} | ${:.4} |",
                i.name,
                i.counted,
                i.run,
                i.run * scale
            );
        }
        let _ = writeln!(
            o,
            "| **total** | | **${:.4}** | **${:.4}** |",
            self.run_total(),
            self.per_thousand()
        );
        if let Some(l) = self.largest() {
            let _ = writeln!(
                o,
                "\nLargest variable item: {} (${:.4} per 1,000 orders).",
                l.name,
                l.run * scale
            );
        }
        let soak_rate =
            self.orders as f64 / f64::from(self.sellers.max(1)) / self.simulated_hours.max(0.01)
                * HOURS_PER_MONTH;
        let _ = writeln!(
            o,
            "\nPer seller and month: fixed {} = ${:.2}; with 1,000 orders ${:.2}, with 10,000 orders ${:.2}, at the soak's rate ({soak_rate:.0} orders) ${:.2}.",
            self.per_seller_fixed
                .iter()
                .map(|(k, v)| format!("{k} ${v:.2}"))
                .collect::<Vec<_>>()
                .join(" + "),
            self.per_seller_fixed.iter().map(|(_, v)| v).sum::<f64>(),
            self.seller_month(1000.0),
            self.seller_month(10_000.0),
            self.seller_month(soak_rate),
        );
        let _ = writeln!(
            o,
            "\nPer deployment and month (whatever the sellers): {} = ${:.2}.",
            self.per_deployment
                .iter()
                .map(|(k, v)| format!("{k} ${v:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.per_deployment.iter().map(|(_, v)| v).sum::<f64>()
        );
        o
    }
}
