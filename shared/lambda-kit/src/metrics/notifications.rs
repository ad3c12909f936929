//! The metrics of Amazon's notifications and of the order path they share
//! with the scheduled pull (issue 15; ARCHITECTURE.md, "Metrics").
//!
//! - counters of the notification handler (`[Stage, Job]`, and with the
//!   seller once it is known to be onboarded): received, duplicates,
//!   ignored kinds, orders fetched one by one, hints coalesced into a pull,
//!   the pulls scheduled for them; of the order pull: orders only the
//!   backstop sent (`OrdersSentByBackstop`); of both: cancellation requests
//!   sent to the WMS;
//! - distributions (value arrays, `[Stage]` or `[Stage, Job]`): Amazon's
//!   delivery delay (publish time − the change's time), the delay until our
//!   handler read it, and an order's delay to the WMS (send − the moment
//!   it became eligible), per job;
//! - the gauge `NotificationsSilentSellers` (`[Stage]`): subscribed sellers
//!   whose orders the backstop keeps sending while no notification arrives.

use domain::SellerId;

use super::{Aggregate, Dimensions, Job, Metrics, Sets, Unit};

/// Amazon's delivery delay: `PublishTime` − `TimeOfOrderChange` (ms, `[Stage]`).
pub const NOTIFICATION_PUBLISH_DELAY: &str = "NotificationPublishDelay";
/// From the change to our handler reading it (ms, `[Stage]`).
pub const NOTIFICATION_RECEIVE_DELAY: &str = "NotificationReceiveDelay";
/// From the moment an order became eligible (its `lastUpdatedTime` when
/// sent) to its `order.created` on the WMS queue (ms, `[Stage, Job]`).
pub const ORDER_TO_WMS_DELAY: &str = "OrderToWmsDelay";
/// Subscribed sellers whose notifications stopped while the backstop keeps
/// finding their orders (`[Stage]`, every scheduled fan-out).
pub const NOTIFICATIONS_SILENT_SELLERS: &str = "NotificationsSilentSellers";

/// The counters of the notification path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotifyCounter {
    /// notifications: messages read from the notification queue.
    NotificationsReceived,
    /// notifications: notification ids handled before (Amazon's at-least-once).
    NotificationsDuplicate,
    /// notifications: kinds or orders nothing is done for (`DeliveryTipChange`,
    /// other types, FBA orders, sellers not onboarded or disabled).
    NotificationsIgnored,
    /// notifications: orders fetched with `getOrder` for a hint.
    OrdersFetched,
    /// notifications: hints folded into the seller's next incremental pull.
    OrdersCoalesced,
    /// notifications: pull jobs scheduled for coalesced hints.
    CoalescedPulls,
    /// order-pull: `order.created` the backstop sent for a subscribed seller
    /// (no notification had brought the order).
    OrdersSentByBackstop,
    /// order-pull, notifications: `order.cancel_requested` sent to the WMS.
    CancelRequestsSent,
}

impl NotifyCounter {
    pub const ALL: [NotifyCounter; 8] = [
        NotifyCounter::NotificationsReceived,
        NotifyCounter::NotificationsDuplicate,
        NotifyCounter::NotificationsIgnored,
        NotifyCounter::OrdersFetched,
        NotifyCounter::OrdersCoalesced,
        NotifyCounter::CoalescedPulls,
        NotifyCounter::OrdersSentByBackstop,
        NotifyCounter::CancelRequestsSent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NotifyCounter::NotificationsReceived => "NotificationsReceived",
            NotifyCounter::NotificationsDuplicate => "NotificationsDuplicate",
            NotifyCounter::NotificationsIgnored => "NotificationsIgnored",
            NotifyCounter::OrdersFetched => "OrdersFetched",
            NotifyCounter::OrdersCoalesced => "OrdersCoalesced",
            NotifyCounter::CoalescedPulls => "CoalescedPulls",
            NotifyCounter::OrdersSentByBackstop => "OrdersSentByBackstop",
            NotifyCounter::CancelRequestsSent => "CancelRequestsSent",
        }
    }
}

impl Metrics {
    /// Adds `n` to a notification-path counter of `job`, for `seller` when it
    /// is an onboarded seller (0 is not written).
    pub fn notify(&self, job: Job, seller: Option<&SellerId>, counter: NotifyCounter, n: u64) {
        if n == 0 {
            return;
        }
        self.job_count(job, seller, counter.name(), n);
    }

    fn stage_distribution(&self, name: &'static str, millis: u64) {
        self.record(
            Dimensions::default(),
            Sets::Stage,
            name,
            Unit::Milliseconds,
            millis,
            Aggregate::Each,
        );
    }

    /// Amazon's delivery delay of one notification.
    pub fn notification_publish_delay(&self, millis: u64) {
        self.stage_distribution(NOTIFICATION_PUBLISH_DELAY, millis);
    }

    /// The delay from a change to our handler reading its notification.
    pub fn notification_receive_delay(&self, millis: u64) {
        self.stage_distribution(NOTIFICATION_RECEIVE_DELAY, millis);
    }

    /// One order's delay to the WMS, by the job that sent it.
    pub fn order_to_wms_delay(&self, job: Job, millis: u64) {
        self.record(
            Dimensions {
                job: Some(job),
                operation: None,
                seller: None,
            },
            Sets::Job,
            ORDER_TO_WMS_DELAY,
            Unit::Milliseconds,
            millis,
            Aggregate::Each,
        );
    }

    /// How many subscribed sellers are silent (written every fan-out, 0 too).
    pub fn notifications_silent_sellers(&self, sellers: u64) {
        self.record(
            Dimensions::default(),
            Sets::Stage,
            NOTIFICATIONS_SILENT_SELLERS,
            Unit::Count,
            sellers,
            Aggregate::Last,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MemorySink, parse_document};
    use super::*;
    use std::sync::Arc;

    #[test]
    fn distributions_are_value_arrays_cut_at_one_hundred() {
        let sink = MemorySink::new();
        let m = Metrics::new("test", Arc::new(sink.clone()));
        let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
        for ms in 0..250u64 {
            m.order_to_wms_delay(Job::Notifications, ms);
        }
        m.notify(
            Job::Notifications,
            Some(&seller),
            NotifyCounter::OrdersFetched,
            3,
        );
        m.notify(
            Job::Notifications,
            None,
            NotifyCounter::NotificationsIgnored,
            0,
        );
        m.notification_publish_delay(1500);
        m.notifications_silent_sellers(0);
        m.flush();
        let docs: Vec<_> = sink
            .lines()
            .iter()
            .map(|l| parse_document(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let delays: Vec<f64> = docs
            .iter()
            .filter_map(|d| d.samples.get(ORDER_TO_WMS_DELAY))
            .flatten()
            .copied()
            .collect();
        assert_eq!(delays.len(), 250);
        assert!(docs.iter().all(|d| {
            d.samples
                .values()
                .all(|v| v.len() <= super::super::MAX_VALUES)
        }));
        let with_delay: Vec<_> = docs
            .iter()
            .filter(|d| d.samples.contains_key(ORDER_TO_WMS_DELAY))
            .collect();
        assert_eq!(with_delay.len(), 3);
        for d in &with_delay {
            assert_eq!(d.dimension("Job"), Some("notifications"));
            assert_eq!(d.unit_of(ORDER_TO_WMS_DELAY), Some("Milliseconds"));
            assert_eq!(d.sets_of(ORDER_TO_WMS_DELAY), vec![vec!["Stage", "Job"]]);
        }
        let fetched: Vec<_> = docs
            .iter()
            .filter(|d| d.values.contains_key("OrdersFetched"))
            .collect();
        assert_eq!(fetched.len(), 1);
        assert_eq!(fetched[0].values["OrdersFetched"], 3.0);
        assert_eq!(fetched[0].dimension("Seller"), Some("A3EXAMPLESELLER"));
        assert!(
            !docs
                .iter()
                .any(|d| d.values.contains_key("NotificationsIgnored"))
        );
        let silent: Vec<_> = docs
            .iter()
            .filter(|d| d.values.contains_key(NOTIFICATIONS_SILENT_SELLERS))
            .collect();
        assert_eq!(silent[0].values[NOTIFICATIONS_SILENT_SELLERS], 0.0);
        assert_eq!(
            docs.iter()
                .find_map(|d| d.samples.get(NOTIFICATION_PUBLISH_DELAY))
                .unwrap(),
            &vec![1500.0]
        );
    }

    #[test]
    fn value_arrays_are_checked_like_cloudwatch() {
        let doc = |v: &str| {
            format!(
                r#"{{"_aws":{{"Timestamp":1,"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[["Stage"]],"Metrics":[{{"Name":"D","Unit":"Milliseconds"}}]}}]}},"Stage":"s","D":{v}}}"#
            )
        };
        assert!(parse_document(&doc("[1,2,3]")).is_ok());
        assert!(parse_document(&doc("[]")).unwrap_err().contains("1 to 100"));
        let many = format!("[{}]", vec!["1"; 101].join(","));
        assert!(parse_document(&doc(&many)).is_err());
        assert!(parse_document(&doc("[1,\"x\"]")).is_err());
    }
}
