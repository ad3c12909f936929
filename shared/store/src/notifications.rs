//! What the connector keeps about Amazon's notifications (issue 15):
//!
//! - the destination per SP-API region (`NOTIFY#APP` / `DESTINATION#<region>`):
//!   Amazon's id for our SQS queue, created once by
//!   `connector-admin notifications setup`;
//! - a seller's `ORDER_CHANGE` subscription (`SELLER#<id>` / `NOTIFY#SUBSCRIPTION`);
//! - the seller's delivery health (`SELLER#<id>` / `NOTIFY#HEALTH`): when a
//!   notification last arrived, and when the scheduled pull (the backstop)
//!   last found orders the notifications had missed — what the backstop's
//!   cadence and the silence alarm are decided from;
//! - the seller's coalesced pull (`SELLER#<id>` / `NOTIFY#COALESCE`): how far
//!   the pull job already scheduled for a burst of notifications reaches, so
//!   a burst schedules one job, not one per notification;
//! - the notification ids already handled (`NOTIFICATION#<id>` / `SEEN`, TTL
//!   7 days): Amazon delivers at least once.
//!
//! Ids, times and counts only: no order data, no buyer data.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use domain::{Region, SellerId};

use crate::item::{Expr, Item, Written, format_time, n, s};
use crate::keys::{EXPIRES_AT, Key, VERSION, seller_pk};
use crate::memory::MemoryStore;
use crate::{CONFLICT_ATTEMPTS, Store, StoreError, conflict_pause};

const DESTINATION_ID: &str = "destination_id";
const QUEUE_ARN: &str = "queue_arn";
const NAME: &str = "name";
const REGION: &str = "region";
const CREATED_AT: &str = "created_at";
const SELLER_ID: &str = "seller_id";
const SUBSCRIPTION_ID: &str = "subscription_id";
const PAYLOAD_VERSION: &str = "payload_version";
const SUBSCRIBED_AT: &str = "subscribed_at";
const LAST_RECEIVED_AT: &str = "last_received_at";
const RECEIVED: &str = "received";
const LAST_MISSED_AT: &str = "last_missed_at";
const MISSED: &str = "missed";
const COVERED_UNTIL: &str = "covered_until";
const JOB_AT: &str = "job_at";
const JOBS: &str = "jobs";

/// The sort-key prefix of a seller's notification items.
pub const NOTIFY_PREFIX: &str = "NOTIFY#";

impl Key {
    pub fn notify_destination(region: Region) -> Self {
        Self {
            pk: "NOTIFY#APP".to_string(),
            sk: format!("DESTINATION#{}", region.as_str()),
        }
    }

    pub fn notify_subscription(seller: &SellerId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: "NOTIFY#SUBSCRIPTION".to_string(),
        }
    }

    pub fn notify_health(seller: &SellerId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: "NOTIFY#HEALTH".to_string(),
        }
    }

    pub fn notify_coalesce(seller: &SellerId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: "NOTIFY#COALESCE".to_string(),
        }
    }

    pub fn notification_seen(notification_id: &str) -> Self {
        Self {
            pk: format!("NOTIFICATION#{notification_id}"),
            sk: "SEEN".to_string(),
        }
    }
}

/// Amazon's destination for our queue in one SP-API region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationRecord {
    pub region: Region,
    pub destination_id: String,
    pub queue_arn: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A seller's `ORDER_CHANGE` subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub seller_id: SellerId,
    pub subscription_id: String,
    pub destination_id: String,
    pub payload_version: String,
    pub subscribed_at: DateTime<Utc>,
}

/// How notifications fare for a seller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryHealth {
    /// When the handler last received one of the seller's notifications.
    pub last_received_at: Option<DateTime<Utc>>,
    pub received: u64,
    /// When the backstop last sent an order no notification had brought.
    pub last_missed_at: Option<DateTime<Utc>>,
    pub missed: u64,
}

/// The pull job scheduled for a seller's burst of notifications.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoalesceState {
    /// Every order change up to this time is inside the scheduled job's window.
    pub covered_until: Option<DateTime<Utc>>,
    /// When that job runs.
    pub job_at: Option<DateTime<Utc>>,
    /// Jobs scheduled so far.
    pub jobs: u64,
    version: u64,
}

/// The answer of [`NotificationState::schedule_coalesced`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coalesced {
    /// A job already scheduled covers the change: nothing to do.
    Covered { job_at: DateTime<Utc> },
    /// This caller must enqueue the job for `job_at` (and undo with
    /// [`NotificationState::unschedule_coalesced`] if it cannot).
    Schedule {
        job_at: DateTime<Utc>,
        covered_until: DateTime<Utc>,
        previous: CoalesceState,
    },
}

/// How a coalesced job is placed: after the change has settled (Amazon's
/// two minutes), and at least `min_gap` after the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoalescePlan {
    /// A job window ends this long before the job runs (the pull's settle time).
    pub settle: TimeDelta,
    /// Extra wait after the settle time.
    pub slack: TimeDelta,
    /// Least time between two coalesced jobs of a seller.
    pub min_gap: TimeDelta,
    /// SQS delays a message at most this long.
    pub max_delay: TimeDelta,
}

impl CoalesceState {
    /// Where a change at `changed_at`, seen at `now`, goes under `plan`.
    pub fn place(
        &self,
        changed_at: DateTime<Utc>,
        now: DateTime<Utc>,
        plan: &CoalescePlan,
    ) -> Coalesced {
        if let (Some(covered), Some(job_at)) = (self.covered_until, self.job_at)
            && covered >= changed_at
        {
            return Coalesced::Covered { job_at };
        }
        let mut job_at = (changed_at + plan.settle + plan.slack).max(now);
        if let Some(previous) = self.job_at {
            job_at = job_at.max(previous + plan.min_gap);
        }
        job_at = job_at.min(now + plan.max_delay);
        Coalesced::Schedule {
            job_at,
            covered_until: job_at - plan.settle,
            previous: self.clone(),
        }
    }
}

/// The notification state (DynamoDB, or memory in unit tests).
#[async_trait::async_trait]
pub trait NotificationState: Send + Sync {
    async fn destination(&self, region: Region) -> Result<Option<DestinationRecord>, StoreError>;
    async fn put_destination(&self, record: &DestinationRecord) -> Result<(), StoreError>;
    async fn subscription(
        &self,
        seller: &SellerId,
    ) -> Result<Option<SubscriptionRecord>, StoreError>;
    async fn put_subscription(&self, record: &SubscriptionRecord) -> Result<(), StoreError>;
    /// The subscription and the health in one read.
    async fn notify_state(
        &self,
        seller: &SellerId,
    ) -> Result<(Option<SubscriptionRecord>, DeliveryHealth), StoreError>;
    /// `count` notifications of the seller arrived at `at`.
    async fn record_received(
        &self,
        seller: &SellerId,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError>;
    /// The backstop sent `count` orders at `at` that no notification had brought.
    async fn record_missed(
        &self,
        seller: &SellerId,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError>;
    /// Whether the notification was handled already.
    async fn seen(&self, notification_id: &str) -> Result<bool, StoreError>;
    /// Remembers a handled notification until `expires_at` (epoch seconds).
    async fn mark_seen(&self, notification_id: &str, expires_at: i64) -> Result<(), StoreError>;
    async fn coalesce_state(&self, seller: &SellerId) -> Result<CoalesceState, StoreError>;
    /// Places a change in the seller's coalesced pull: covered by the job
    /// already scheduled, or a new job this caller must enqueue (the state is
    /// written first, conditionally, so concurrent handlers schedule it once).
    async fn schedule_coalesced(
        &self,
        seller: &SellerId,
        changed_at: DateTime<Utc>,
        now: DateTime<Utc>,
        plan: &CoalescePlan,
    ) -> Result<Coalesced, StoreError>;
    /// Undoes a [`Coalesced::Schedule`] whose job could not be enqueued
    /// (only if nobody scheduled a later one meanwhile).
    async fn unschedule_coalesced(
        &self,
        seller: &SellerId,
        scheduled: &Coalesced,
    ) -> Result<(), StoreError>;
}

impl TryFrom<&Item> for DestinationRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            region: item.parsed(REGION, "a region (NA, EU, FE)")?,
            destination_id: item.s(DESTINATION_ID)?.to_string(),
            queue_arn: item.s(QUEUE_ARN)?.to_string(),
            name: item.s(NAME)?.to_string(),
            created_at: item.time(CREATED_AT)?,
        })
    }
}

impl From<&DestinationRecord> for Item {
    fn from(r: &DestinationRecord) -> Self {
        Item::new(&Key::notify_destination(r.region))
            .with(REGION, s(r.region.as_str()))
            .with(DESTINATION_ID, s(r.destination_id.clone()))
            .with(QUEUE_ARN, s(r.queue_arn.clone()))
            .with(NAME, s(r.name.clone()))
            .with(CREATED_AT, s(format_time(r.created_at)))
    }
}

// Reads like DestinationRecord's mapping above; each record has its own attributes and parse rules.
impl TryFrom<&Item> for SubscriptionRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            seller_id: item.parsed(SELLER_ID, "a seller id")?,
            subscription_id: item.s(SUBSCRIPTION_ID)?.to_string(),
            destination_id: item.s(DESTINATION_ID)?.to_string(),
            payload_version: item.s(PAYLOAD_VERSION)?.to_string(),
            subscribed_at: item.time(SUBSCRIBED_AT)?,
        })
    }
}

impl From<&SubscriptionRecord> for Item {
    fn from(r: &SubscriptionRecord) -> Self {
        Item::new(&Key::notify_subscription(&r.seller_id))
            .with(SELLER_ID, s(r.seller_id.as_str()))
            .with(SUBSCRIPTION_ID, s(r.subscription_id.clone()))
            .with(DESTINATION_ID, s(r.destination_id.clone()))
            .with(PAYLOAD_VERSION, s(r.payload_version.clone()))
            .with(SUBSCRIBED_AT, s(format_time(r.subscribed_at)))
    }
}

impl TryFrom<&Item> for DeliveryHealth {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            last_received_at: item.opt_time(LAST_RECEIVED_AT)?,
            received: item.opt_n(RECEIVED)?.unwrap_or(0),
            last_missed_at: item.opt_time(LAST_MISSED_AT)?,
            missed: item.opt_n(MISSED)?.unwrap_or(0),
        })
    }
}

impl TryFrom<&Item> for CoalesceState {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            covered_until: item.opt_time(COVERED_UNTIL)?,
            job_at: item.opt_time(JOB_AT)?,
            jobs: item.opt_n(JOBS)?.unwrap_or(0),
            version: item.opt_n(VERSION)?.unwrap_or(0),
        })
    }
}

fn coalesce_item(
    seller: &SellerId,
    covered_until: DateTime<Utc>,
    job_at: DateTime<Utc>,
    jobs: u64,
    version: u64,
) -> Item {
    Item::new(&Key::notify_coalesce(seller))
        .with(COVERED_UNTIL, s(format_time(covered_until)))
        .with(JOB_AT, s(format_time(job_at)))
        .with(JOBS, n(jobs))
        .with(VERSION, n(version))
}

/// The item a [`Coalesced::Schedule`] writes, and the version it replaces.
fn scheduled_item(seller: &SellerId, scheduled: &Coalesced) -> Option<(Item, u64)> {
    match scheduled {
        Coalesced::Covered { .. } => None,
        Coalesced::Schedule {
            job_at,
            covered_until,
            previous,
        } => Some((
            coalesce_item(
                seller,
                *covered_until,
                *job_at,
                previous.jobs + 1,
                previous.version + 1,
            ),
            previous.version,
        )),
    }
}

/// `SET` of the health's time and `ADD` of its counter, with one update.
fn health_update(
    e: &mut Expr,
    time_attr: &str,
    count_attr: &str,
    at: DateTime<Utc>,
    count: u64,
) -> String {
    let t = e.name(time_attr);
    let at = e.value(s(format_time(at)));
    let c = e.name(count_attr);
    let k = e.value(n(count));
    format!("SET {t} = {at} ADD {c} {k}")
}

impl Store {
    async fn update_health(
        &self,
        seller: &SellerId,
        expression: String,
        e: Expr,
    ) -> Result<(), StoreError> {
        self.update(&Key::notify_health(seller), expression, &e)
            .await
    }

    /// Puts the coalesce item if its version is still `expected`.
    async fn put_coalesce(&self, item: Item, expected: u64) -> Result<bool, StoreError> {
        let key = Key {
            pk: item.s(crate::keys::PK)?.to_string(),
            sk: item.s(crate::keys::SK)?.to_string(),
        };
        let mut e = Expr::new();
        let version = e.name(VERSION);
        let expected_v = e.value(n(expected));
        // DynamoDB refuses names an expression does not use: `pk` only here.
        let condition = if expected == 0 {
            let pk = e.name(crate::keys::PK);
            format!("attribute_not_exists({pk}) OR {version} = {expected_v}")
        } else {
            format!("{version} = {expected_v}")
        };
        Ok(matches!(
            self.put_if(&key, item, &e, &condition).await?,
            Written::Done(_)
        ))
    }
}

#[async_trait::async_trait]
impl NotificationState for Store {
    async fn destination(&self, region: Region) -> Result<Option<DestinationRecord>, StoreError> {
        self.get_item(&Key::notify_destination(region), true)
            .await?
            .as_ref()
            .map(DestinationRecord::try_from)
            .transpose()
    }

    async fn put_destination(&self, record: &DestinationRecord) -> Result<(), StoreError> {
        crate::partition::Items::put(self, Item::from(record)).await
    }

    async fn subscription(
        &self,
        seller: &SellerId,
    ) -> Result<Option<SubscriptionRecord>, StoreError> {
        self.get_item(&Key::notify_subscription(seller), true)
            .await?
            .as_ref()
            .map(SubscriptionRecord::try_from)
            .transpose()
    }

    async fn put_subscription(&self, record: &SubscriptionRecord) -> Result<(), StoreError> {
        crate::partition::Items::put(self, Item::from(record)).await
    }

    async fn notify_state(
        &self,
        seller: &SellerId,
    ) -> Result<(Option<SubscriptionRecord>, DeliveryHealth), StoreError> {
        let items = self.query_prefix(seller, NOTIFY_PREFIX).await?;
        split_state(seller, &items)
    }

    async fn record_received(
        &self,
        seller: &SellerId,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError> {
        let mut e = Expr::new();
        let expression = health_update(&mut e, LAST_RECEIVED_AT, RECEIVED, at, count);
        self.update_health(seller, expression, e).await
    }

    async fn record_missed(
        &self,
        seller: &SellerId,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError> {
        let mut e = Expr::new();
        let expression = health_update(&mut e, LAST_MISSED_AT, MISSED, at, count);
        self.update_health(seller, expression, e).await
    }

    async fn seen(&self, notification_id: &str) -> Result<bool, StoreError> {
        let item = self
            .get_item(&Key::notification_seen(notification_id), true)
            .await?;
        let now = self.clock().now().timestamp();
        // DynamoDB's TTL deletes late: an expired mark does not count.
        Ok(match item {
            Some(i) => i.opt_n::<i64>(EXPIRES_AT)?.is_none_or(|t| t >= now),
            None => false,
        })
    }

    async fn mark_seen(&self, notification_id: &str, expires_at: i64) -> Result<(), StoreError> {
        let item = Item::new(&Key::notification_seen(notification_id))
            .with(EXPIRES_AT, AttributeValue::N(expires_at.to_string()));
        crate::partition::Items::put(self, item).await
    }

    async fn coalesce_state(&self, seller: &SellerId) -> Result<CoalesceState, StoreError> {
        Ok(self
            .get_item(&Key::notify_coalesce(seller), true)
            .await?
            .as_ref()
            .map(CoalesceState::try_from)
            .transpose()?
            .unwrap_or_default())
    }

    async fn schedule_coalesced(
        &self,
        seller: &SellerId,
        changed_at: DateTime<Utc>,
        now: DateTime<Utc>,
        plan: &CoalescePlan,
    ) -> Result<Coalesced, StoreError> {
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let state = self.coalesce_state(seller).await?;
            let placed = state.place(changed_at, now, plan);
            let Some((item, expected)) = scheduled_item(seller, &placed) else {
                return Ok(placed);
            };
            if self.put_coalesce(item, expected).await? {
                return Ok(placed);
            }
            conflict_pause(attempt).await;
        }
        let key = Key::notify_coalesce(seller);
        Err(StoreError::Contended {
            pk: key.pk,
            sk: key.sk,
            attempts: CONFLICT_ATTEMPTS,
        })
    }

    async fn unschedule_coalesced(
        &self,
        seller: &SellerId,
        scheduled: &Coalesced,
    ) -> Result<(), StoreError> {
        let Coalesced::Schedule { previous, .. } = scheduled else {
            return Ok(());
        };
        let mut restore = previous.clone();
        restore.version = previous.version + 2;
        let item = match (restore.covered_until, restore.job_at) {
            (Some(c), Some(j)) => coalesce_item(seller, c, j, restore.jobs, restore.version),
            _ => Item::new(&Key::notify_coalesce(seller)).with(VERSION, n(restore.version)),
        };
        // Only if ours is still the latest: a later schedule stays.
        self.put_coalesce(item, previous.version + 1).await?;
        Ok(())
    }
}

/// The subscription and health among a seller's `NOTIFY#` items.
fn split_state(
    seller: &SellerId,
    items: &[Item],
) -> Result<(Option<SubscriptionRecord>, DeliveryHealth), StoreError> {
    let mut subscription = None;
    let mut health = DeliveryHealth::default();
    let sub_key = Key::notify_subscription(seller);
    let health_key = Key::notify_health(seller);
    for item in items {
        let sk = item.s(crate::keys::SK)?;
        if sk == sub_key.sk {
            subscription = Some(SubscriptionRecord::try_from(item)?);
        } else if sk == health_key.sk {
            health = DeliveryHealth::try_from(item)?;
        }
    }
    Ok((subscription, health))
}

impl MemoryStore {
    fn get_plain(&self, key: &Key) -> Option<Item> {
        self.with_items(|items| items.get(key).cloned())
    }

    fn add_health(
        &self,
        seller: &SellerId,
        time_attr: &str,
        count_attr: &str,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError> {
        let key = Key::notify_health(seller);
        self.with_items(|items| {
            let mut item = items.remove(&key).unwrap_or_else(|| Item::new(&key));
            let old: u64 = item.opt_n(count_attr)?.unwrap_or(0);
            item.set(time_attr, s(format_time(at)));
            item.set(count_attr, n(old + count));
            items.insert(key, item);
            Ok(())
        })
    }

    fn put_coalesce_memory(
        &self,
        seller: &SellerId,
        item: Item,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let key = Key::notify_coalesce(seller);
        self.with_items(|items| {
            let current: u64 = match items.get(&key) {
                Some(i) => i.opt_n(VERSION)?.unwrap_or(0),
                None => 0,
            };
            if current != expected {
                return Ok(false);
            }
            items.insert(key, item);
            Ok(true)
        })
    }
}

#[async_trait::async_trait]
impl NotificationState for MemoryStore {
    async fn destination(&self, region: Region) -> Result<Option<DestinationRecord>, StoreError> {
        self.get_plain(&Key::notify_destination(region))
            .as_ref()
            .map(DestinationRecord::try_from)
            .transpose()
    }

    async fn put_destination(&self, record: &DestinationRecord) -> Result<(), StoreError> {
        let key = Key::notify_destination(record.region);
        self.with_items(|items| items.insert(key, Item::from(record)));
        Ok(())
    }

    async fn subscription(
        &self,
        seller: &SellerId,
    ) -> Result<Option<SubscriptionRecord>, StoreError> {
        self.get_plain(&Key::notify_subscription(seller))
            .as_ref()
            .map(SubscriptionRecord::try_from)
            .transpose()
    }

    async fn put_subscription(&self, record: &SubscriptionRecord) -> Result<(), StoreError> {
        let key = Key::notify_subscription(&record.seller_id);
        self.with_items(|items| items.insert(key, Item::from(record)));
        Ok(())
    }

    async fn notify_state(
        &self,
        seller: &SellerId,
    ) -> Result<(Option<SubscriptionRecord>, DeliveryHealth), StoreError> {
        let pk = seller_pk(seller);
        let items: Vec<Item> = self.with_items(|items| {
            items
                .iter()
                .filter(|(k, _)| k.pk == pk && k.sk.starts_with(NOTIFY_PREFIX))
                .map(|(_, i)| i.clone())
                .collect()
        });
        split_state(seller, &items)
    }

    async fn record_received(
        &self,
        seller: &SellerId,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError> {
        self.add_health(seller, LAST_RECEIVED_AT, RECEIVED, at, count)
    }

    async fn record_missed(
        &self,
        seller: &SellerId,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError> {
        self.add_health(seller, LAST_MISSED_AT, MISSED, at, count)
    }

    async fn seen(&self, notification_id: &str) -> Result<bool, StoreError> {
        let now = self.clock().now().timestamp();
        match self.get_plain(&Key::notification_seen(notification_id)) {
            Some(i) => Ok(i.opt_n::<i64>(EXPIRES_AT)?.is_none_or(|t| t >= now)),
            None => Ok(false),
        }
    }

    async fn mark_seen(&self, notification_id: &str, expires_at: i64) -> Result<(), StoreError> {
        let key = Key::notification_seen(notification_id);
        let item = Item::new(&key).with(EXPIRES_AT, AttributeValue::N(expires_at.to_string()));
        self.with_items(|items| items.insert(key, item));
        Ok(())
    }

    async fn coalesce_state(&self, seller: &SellerId) -> Result<CoalesceState, StoreError> {
        Ok(self
            .get_plain(&Key::notify_coalesce(seller))
            .as_ref()
            .map(CoalesceState::try_from)
            .transpose()?
            .unwrap_or_default())
    }

    async fn schedule_coalesced(
        &self,
        seller: &SellerId,
        changed_at: DateTime<Utc>,
        now: DateTime<Utc>,
        plan: &CoalescePlan,
    ) -> Result<Coalesced, StoreError> {
        loop {
            let state = self.coalesce_state(seller).await?;
            let placed = state.place(changed_at, now, plan);
            let Some((item, expected)) = scheduled_item(seller, &placed) else {
                return Ok(placed);
            };
            if self.put_coalesce_memory(seller, item, expected)? {
                return Ok(placed);
            }
        }
    }

    async fn unschedule_coalesced(
        &self,
        seller: &SellerId,
        scheduled: &Coalesced,
    ) -> Result<(), StoreError> {
        let Coalesced::Schedule { previous, .. } = scheduled else {
            return Ok(());
        };
        let version = previous.version + 2;
        let item = match (previous.covered_until, previous.job_at) {
            (Some(c), Some(j)) => coalesce_item(seller, c, j, previous.jobs, version),
            _ => Item::new(&Key::notify_coalesce(seller)).with(VERSION, n(version)),
        };
        self.put_coalesce_memory(seller, item, previous.version + 1)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
