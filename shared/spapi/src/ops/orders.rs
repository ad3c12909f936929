//! Orders API v2026-01-01: `searchOrders` and `getOrder`. (v0 keeps only
//! `confirmShipment`, added with the shipment issue.)

use chrono::{DateTime, Duration, Utc};
use domain::settings::OrderStatus;
use domain::{AmazonOrderId, MarketplaceId, Operation};

use super::iso;
use crate::call::{Call, csv, encode_path_segment};
use crate::models::orders::{GetOrderResponse, IncludedData, SearchOrdersResponse};
use crate::paginate::PagedCall;

/// Amazon rejects a "before" bound later than two minutes ago.
pub const BEFORE_LAG: Duration = Duration::minutes(2);

/// Exactly one time family, as Amazon requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchWindow {
    Created {
        after: DateTime<Utc>,
        before: Option<DateTime<Utc>>,
    },
    LastUpdated {
        after: DateTime<Utc>,
        before: Option<DateTime<Utc>>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FulfilledBy {
    Merchant,
    Amazon,
}

impl FulfilledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilledBy::Merchant => "MERCHANT",
            FulfilledBy::Amazon => "AMAZON",
        }
    }
}

/// `GET /orders/2026-01-01/orders`.
#[derive(Clone, Debug)]
pub struct SearchOrders {
    pub window: SearchWindow,
    pub fulfillment_statuses: Vec<OrderStatus>,
    pub fulfilled_by: Vec<FulfilledBy>,
    pub marketplace_ids: Vec<MarketplaceId>,
    /// 1 to 100; `None` = Amazon's default (100).
    pub max_results_per_page: Option<u32>,
    pub included_data: Vec<IncludedData>,
    pub pagination_token: Option<String>,
    /// The clock the caller computed the window with (default: the system
    /// clock). The two-minute rule is checked against it, so a job running
    /// on a shifted clock — the simulator's in tests — is checked the way
    /// Amazon will check it.
    pub now: Option<DateTime<Utc>>,
}

impl SearchOrders {
    pub fn new(window: SearchWindow, marketplace_ids: Vec<MarketplaceId>) -> Self {
        Self {
            window,
            fulfillment_statuses: Vec::new(),
            fulfilled_by: Vec::new(),
            marketplace_ids,
            max_results_per_page: None,
            included_data: Vec::new(),
            pagination_token: None,
            now: None,
        }
    }

    /// Checks Amazon's rules at `now`, so a bad request costs no quota.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), String> {
        let (after, before, family) = match &self.window {
            SearchWindow::Created { after, before } => (after, before, "createdBefore"),
            SearchWindow::LastUpdated { after, before } => (after, before, "lastUpdatedBefore"),
        };
        if let Some(before) = before {
            if before < after {
                return Err(format!(
                    "{family} {} is before the \"after\" bound {}",
                    iso(before),
                    iso(after)
                ));
            }
            if *before > now - BEFORE_LAG {
                return Err(format!(
                    "{family} {} is less than two minutes before now ({}): Amazon rejects it; use at most now - 2 minutes",
                    iso(before),
                    iso(&now)
                ));
            }
        }
        if *after > now {
            return Err(format!(
                "the \"after\" bound {} is in the future",
                iso(after)
            ));
        }
        if let Some(n) = self.max_results_per_page
            && !(1..=100).contains(&n)
        {
            return Err(format!("maxResultsPerPage {n} is outside 1..=100"));
        }
        if self.marketplace_ids.len() > 50 {
            return Err(format!(
                "{} marketplace ids: Amazon accepts at most 50",
                self.marketplace_ids.len()
            ));
        }
        Ok(())
    }
}

impl Call for SearchOrders {
    type Output = SearchOrdersResponse;
    const OPERATION: Operation = Operation::SearchOrders;

    fn path(&self) -> String {
        "/orders/2026-01-01/orders".to_string()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        match &self.window {
            SearchWindow::Created { after, before } => {
                q.push(("createdAfter", iso(after)));
                if let Some(b) = before {
                    q.push(("createdBefore", iso(b)));
                }
            }
            SearchWindow::LastUpdated { after, before } => {
                q.push(("lastUpdatedAfter", iso(after)));
                if let Some(b) = before {
                    q.push(("lastUpdatedBefore", iso(b)));
                }
            }
        }
        if !self.fulfillment_statuses.is_empty() {
            q.push((
                "fulfillmentStatuses",
                csv(self.fulfillment_statuses.iter().map(|s| s.as_str())),
            ));
        }
        if !self.fulfilled_by.is_empty() {
            q.push((
                "fulfilledBy",
                csv(self.fulfilled_by.iter().map(|f| f.as_str())),
            ));
        }
        if !self.marketplace_ids.is_empty() {
            q.push(("marketplaceIds", csv(&self.marketplace_ids)));
        }
        if let Some(n) = self.max_results_per_page {
            q.push(("maxResultsPerPage", n.to_string()));
        }
        if !self.included_data.is_empty() {
            q.push((
                "includedData",
                csv(self.included_data.iter().map(|d| d.as_str())),
            ));
        }
        if let Some(token) = &self.pagination_token {
            q.push(("paginationToken", token.clone()));
        }
        q
    }

    fn validate(&self) -> Result<(), String> {
        // A continuation page was checked when the first page was sent; its
        // window may since have fallen inside Amazon's two minutes legitimately.
        if self.pagination_token.is_some() {
            return Ok(());
        }
        self.check(self.now.unwrap_or_else(Utc::now))
    }
}

impl PagedCall for SearchOrders {
    fn next_token(output: &SearchOrdersResponse) -> Option<String> {
        output.pagination.as_ref()?.next_token.clone()
    }

    fn with_token(&self, token: String) -> Self {
        Self {
            pagination_token: Some(token),
            ..self.clone()
        }
    }

    fn token(&self) -> Option<&str> {
        self.pagination_token.as_deref()
    }
}

/// `GET /orders/2026-01-01/orders/{orderId}` (items are always included).
#[derive(Clone, Debug)]
pub struct GetOrder {
    pub order_id: AmazonOrderId,
    pub included_data: Vec<IncludedData>,
}

impl Call for GetOrder {
    type Output = GetOrderResponse;
    const OPERATION: Operation = Operation::GetOrder;

    fn path(&self) -> String {
        format!(
            "/orders/2026-01-01/orders/{}",
            encode_path_segment(self.order_id.as_str())
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        if self.included_data.is_empty() {
            Vec::new()
        } else {
            vec![(
                "includedData",
                csv(self.included_data.iter().map(|d| d.as_str())),
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, h, m, 0).unwrap()
    }

    fn de() -> Vec<MarketplaceId> {
        vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()]
    }

    #[test]
    fn query_follows_the_model_with_csv_arrays() {
        let mut s = SearchOrders::new(
            SearchWindow::LastUpdated {
                after: t(10, 0),
                before: Some(t(10, 58)),
            },
            vec![
                MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
                MarketplaceId::new("A13V1IB3VIYZZH").unwrap(),
            ],
        );
        s.fulfillment_statuses = vec![OrderStatus::Unshipped, OrderStatus::PartiallyShipped];
        s.fulfilled_by = vec![FulfilledBy::Merchant];
        s.max_results_per_page = Some(100);
        s.included_data = vec![IncludedData::Recipient, IncludedData::Buyer];
        assert_eq!(
            s.query(),
            vec![
                ("lastUpdatedAfter", "2026-11-01T10:00:00Z".to_string()),
                ("lastUpdatedBefore", "2026-11-01T10:58:00Z".to_string()),
                (
                    "fulfillmentStatuses",
                    "UNSHIPPED,PARTIALLY_SHIPPED".to_string()
                ),
                ("fulfilledBy", "MERCHANT".to_string()),
                (
                    "marketplaceIds",
                    "A1PA6795UKMFR9,A13V1IB3VIYZZH".to_string()
                ),
                ("maxResultsPerPage", "100".to_string()),
                ("includedData", "RECIPIENT,BUYER".to_string()),
            ]
        );
        assert!(s.check(t(11, 0)).is_ok());
    }

    #[test]
    fn the_two_minute_rule_and_other_checks_are_enforced_before_sending() {
        let now = t(11, 0);
        let cases = [
            (
                SearchWindow::LastUpdated {
                    after: t(10, 0),
                    before: Some(t(10, 59)),
                },
                "two minutes",
            ),
            (
                SearchWindow::Created {
                    after: t(10, 0),
                    before: Some(t(9, 0)),
                },
                "before the \"after\"",
            ),
            (
                SearchWindow::Created {
                    after: t(12, 0),
                    before: None,
                },
                "future",
            ),
        ];
        for (window, expected) in cases {
            let err = SearchOrders::new(window, de()).check(now).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        let mut s = SearchOrders::new(
            SearchWindow::Created {
                after: t(10, 0),
                before: None,
            },
            de(),
        );
        s.max_results_per_page = Some(101);
        assert!(s.check(now).unwrap_err().contains("1..=100"));
        // exactly two minutes is allowed
        let ok = SearchOrders::new(
            SearchWindow::LastUpdated {
                after: t(10, 0),
                before: Some(t(10, 58)),
            },
            de(),
        );
        assert!(ok.check(now).is_ok());
    }

    #[test]
    fn continuation_keeps_the_filters_and_adds_the_token() {
        let s = SearchOrders::new(
            SearchWindow::Created {
                after: t(10, 0),
                before: None,
            },
            de(),
        );
        let next = s.with_token("abc".into());
        assert_eq!(next.token(), Some("abc"));
        assert_eq!(
            next.query().last().unwrap(),
            &("paginationToken", "abc".to_string())
        );
        assert_eq!(next.query()[0], s.query()[0]);
    }

    #[test]
    fn get_order_path_and_included_data() {
        let g = GetOrder {
            order_id: AmazonOrderId::new("113-1234567-1234567").unwrap(),
            included_data: vec![IncludedData::Recipient, IncludedData::Fulfillment],
        };
        assert_eq!(g.path(), "/orders/2026-01-01/orders/113-1234567-1234567");
        assert_eq!(
            g.query(),
            vec![("includedData", "RECIPIENT,FULFILLMENT".to_string())]
        );
    }
}
