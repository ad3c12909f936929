//! The scheduled pull as the backstop of Amazon's ORDER_CHANGE notifications
//! (issue 15): how often a seller's incremental pull runs, and when a
//! seller's notifications count as silent. Pure rules over what the store
//! keeps (`store::notifications`); the fan-out applies them.
//!
//! Why a backstop at all: Amazon delivers at least once but not always —
//! order notifications once stopped for days, and threads disagree on
//! whether every new order raises one. So the pull keeps running, and its
//! cadence is what bounds the worst case of a lost notification.
//!
//! The cadence, per seller, decided at every 15-minute fan-out:
//! - **every run** (15 minutes, as without notifications) unless the seller
//!   is *healthy*;
//! - **healthy** = subscribed, a notification arrived within
//!   `healthy_if_received_within` (24 h), and no backstop run sent an order
//!   the notifications had missed within `unhealthy_after_miss` (6 h): then
//!   the pull runs when its last window finished `healthy_interval` ago
//!   (default 30 minutes, less a 2-minute margin for the schedule's jitter),
//!   i.e. every second run: half the backstop's `searchOrders` calls. A lost
//!   notification then reaches the WMS within that interval plus Amazon's
//!   two minutes (32 instead of 17 minutes: BENCHMARKS.md, scenario (d));
//!   15 keeps polling's worst case, 45 (every third run) saves most; the
//!   order-pull age stays under the stale alarm's hour either way.
//!
//! Why a loss cannot be noticed sooner: nothing says a notification is
//! missing but the order it was about, which only a search shows. Once a
//! backstop run finds such an order, the seller is pulled every run for six
//! hours.
//!
//! A seller is *silent* when it is subscribed, a backstop run sent an order
//! no notification had brought within `silent_if_missed_within` (1 h), and
//! no notification arrived for `silent_after` (1 h): its notifications have
//! stopped while its orders keep coming — the `notifications-silent` alarm.
//! A quiet seller (no orders) is never silent: nothing was missed.

use chrono::{DateTime, TimeDelta, Utc};
use store::{DeliveryHealth, SubscriptionRecord};

use crate::checkpoint::PullState;

/// The backstop's knobs; the defaults are the production values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackstopPolicy {
    /// How often a healthy seller's backstop runs (`BACKSTOP_HEALTHY_MINUTES`).
    pub healthy_interval: TimeDelta,
    /// Taken off the interval, so a fan-out a little early still counts.
    pub margin: TimeDelta,
    /// A notification within this long is needed to count as healthy.
    pub healthy_if_received_within: TimeDelta,
    /// After the backstop found a missed order, this long at every run.
    pub unhealthy_after_miss: TimeDelta,
    /// Silent: no notification for this long ...
    pub silent_after: TimeDelta,
    /// ... while the backstop missed orders within this long.
    pub silent_if_missed_within: TimeDelta,
}

impl Default for BackstopPolicy {
    fn default() -> Self {
        Self {
            healthy_interval: TimeDelta::minutes(30),
            margin: TimeDelta::minutes(2),
            healthy_if_received_within: TimeDelta::hours(24),
            unhealthy_after_miss: TimeDelta::hours(6),
            silent_after: TimeDelta::hours(1),
            silent_if_missed_within: TimeDelta::hours(1),
        }
    }
}

/// How often a seller's backstop runs, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    /// Every scheduled run.
    EveryRun(&'static str),
    /// Every `healthy_interval`: notifications bring the orders.
    Healthy,
}

impl BackstopPolicy {
    pub fn cadence(
        &self,
        subscription: Option<&SubscriptionRecord>,
        health: &DeliveryHealth,
        now: DateTime<Utc>,
    ) -> Cadence {
        if subscription.is_none() {
            return Cadence::EveryRun("not subscribed to notifications");
        }
        if health
            .last_missed_at
            .is_some_and(|t| now - t < self.unhealthy_after_miss)
        {
            return Cadence::EveryRun("the backstop recently sent orders notifications had missed");
        }
        if health
            .last_received_at
            .is_none_or(|t| now - t >= self.healthy_if_received_within)
        {
            return Cadence::EveryRun("no notification received recently");
        }
        Cadence::Healthy
    }

    /// Whether the seller's incremental pull is due now.
    pub fn due(&self, cadence: Cadence, state: Option<&PullState>, now: DateTime<Utc>) -> bool {
        let Cadence::Healthy = cadence else {
            return true;
        };
        let Some(state) = state else {
            return true;
        };
        if state.window.is_some() {
            // A window in progress: let it go on.
            return true;
        }
        state
            .last_completed_at
            .is_none_or(|t| now - t >= self.healthy_interval - self.margin)
    }

    /// Whether the seller's notifications have stopped while its orders keep
    /// reaching the WMS through the backstop.
    pub fn silent(
        &self,
        subscription: Option<&SubscriptionRecord>,
        health: &DeliveryHealth,
        now: DateTime<Utc>,
    ) -> bool {
        subscription.is_some()
            && health
                .last_missed_at
                .is_some_and(|t| now - t < self.silent_if_missed_within)
            && health
                .last_received_at
                .is_none_or(|t| now - t >= self.silent_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::SellerId;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    fn sub() -> SubscriptionRecord {
        SubscriptionRecord {
            seller_id: SellerId::new("A3EXAMPLESELLER").unwrap(),
            subscription_id: "s".into(),
            destination_id: "d".into(),
            payload_version: "1.0".into(),
            subscribed_at: t(-10_000),
        }
    }

    fn health(received: Option<i64>, missed: Option<i64>) -> DeliveryHealth {
        DeliveryHealth {
            last_received_at: received.map(t),
            received: 1,
            last_missed_at: missed.map(t),
            missed: 0,
        }
    }

    fn completed(at: i64) -> PullState {
        PullState {
            last_completed_at: Some(t(at)),
            ..PullState::default()
        }
    }

    #[test]
    fn healthy_sellers_are_pulled_every_third_run_the_others_every_run() {
        let p = BackstopPolicy::default();
        let now = t(0);
        let s = sub();
        assert!(matches!(
            p.cadence(None, &health(Some(-1), None), now),
            Cadence::EveryRun(_)
        ));
        assert!(matches!(
            p.cadence(Some(&s), &health(None, None), now),
            Cadence::EveryRun(_)
        ));
        assert!(matches!(
            p.cadence(Some(&s), &health(Some(-25 * 60), None), now),
            Cadence::EveryRun(_)
        ));
        assert!(matches!(
            p.cadence(Some(&s), &health(Some(-1), Some(-300)), now),
            Cadence::EveryRun(_)
        ));
        let healthy = p.cadence(Some(&s), &health(Some(-1), Some(-400)), now);
        assert_eq!(healthy, Cadence::Healthy);
        // Fan-outs every 15 minutes after a window finished at 0 (a little
        // jitter): skipped at 15, due at 30 (every second run).
        assert!(!p.due(healthy, Some(&completed(0)), t(15)));
        assert!(p.due(healthy, Some(&completed(0)), t(29)));
        // At 45 minutes: skipped at 15 and 30, due at 45.
        let every_third = BackstopPolicy {
            healthy_interval: TimeDelta::minutes(45),
            ..p
        };
        assert!(!every_third.due(healthy, Some(&completed(0)), t(30)));
        assert!(every_third.due(healthy, Some(&completed(0)), t(44)));
        assert!(p.due(healthy, None, t(1)));
        let busy = PullState {
            window: Some(crate::checkpoint::Window {
                after: t(-10),
                before: t(-2),
                next_token: Some("x".into()),
                pages_done: 1,
                held_back: None,
            }),
            ..completed(0)
        };
        assert!(p.due(healthy, Some(&busy), t(15)));
        assert!(p.due(Cadence::EveryRun("x"), Some(&completed(0)), t(15)));
    }

    #[test]
    fn silent_means_orders_keep_coming_through_the_backstop_without_notifications() {
        let p = BackstopPolicy::default();
        let s = sub();
        let now = t(0);
        // Missed orders recently and nothing received for over an hour.
        assert!(p.silent(Some(&s), &health(Some(-61), Some(-5)), now));
        assert!(p.silent(Some(&s), &health(None, Some(-5)), now));
        // A notification arrived recently: just a loss, not silence.
        assert!(!p.silent(Some(&s), &health(Some(-10), Some(-5)), now));
        // No order missed recently: a quiet seller.
        assert!(!p.silent(Some(&s), &health(None, None), now));
        assert!(!p.silent(Some(&s), &health(Some(-600), Some(-90)), now));
        // Not subscribed: nothing to be silent.
        assert!(!p.silent(None, &health(None, Some(-5)), now));
    }
}
