//! Pull notes (`SELLER#<id>` / `PULLNOTE#<amazon order id>#<held|filtered>`):
//! what the order pull decided about an order it did **not** send, and why —
//! held (Pending, data Amazon did not give) or filtered (start date, country,
//! marketplace, status...). The ledger only knows orders that were sent; with
//! these notes an order's history (`connector-admin order ORDER-ID`) can say when it
//! was first seen, held and why, and when it was finally sent.
//!
//! One note per order and decision, written with one `UpdateItem` per
//! sighting (no read): the first and last time, how often, the latest reason
//! and Amazon status. Ids, statuses and field names only — never buyer data —
//! and a TTL like the ledger's.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, SellerId};

use crate::item::{Expr, Item, format_time, n, s};
use crate::keys::{EXPIRES_AT, Key, seller_pk};
use crate::memory::MemoryStore;
use crate::{Store, StoreError};

const SELLER_ID: &str = "seller_id";
const AMAZON_ORDER_ID: &str = "amazon_order_id";
const DECISION: &str = "decision";
const REASON: &str = "reason";
const AMAZON_STATUS: &str = "amazon_status";
const FIRST_AT: &str = "first_at";
const LAST_AT: &str = "last_at";
const TIMES: &str = "times";

/// What the pull did with an order it did not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decision {
    /// Not yet: looked at again on a later run.
    Held,
    /// Never as a new order under the seller's settings.
    Filtered,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Held => "held",
            Decision::Filtered => "filtered",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "held" => Some(Decision::Held),
            "filtered" => Some(Decision::Filtered),
            _ => None,
        }
    }
}

impl Key {
    pub fn pull_note(seller: &SellerId, order: &AmazonOrderId, decision: Decision) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("{}{}", pull_note_prefix(order), decision.as_str()),
        }
    }
}

/// The sort-key prefix of an order's notes.
pub fn pull_note_prefix(order: &AmazonOrderId) -> String {
    format!("PULLNOTE#{order}#")
}

/// One decision about one order, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullNote {
    pub seller_id: SellerId,
    pub amazon_order_id: AmazonOrderId,
    pub decision: Decision,
    /// The latest reason (field names and statuses, never values).
    pub reason: String,
    /// Amazon's fulfilment status at the latest sighting.
    pub amazon_status: String,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    /// How many times a pull decided so.
    pub times: u64,
    pub expires_at: i64,
}

impl TryFrom<&Item> for PullNote {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            seller_id: item.parsed(SELLER_ID, "a seller id")?,
            amazon_order_id: item.parsed(AMAZON_ORDER_ID, "an Amazon order id")?,
            decision: Decision::parse(item.s(DECISION)?)
                .ok_or_else(|| item.malformed(DECISION, "is not held or filtered"))?,
            reason: item.s(REASON)?.to_string(),
            amazon_status: item.s(AMAZON_STATUS)?.to_string(),
            first_at: item.time(FIRST_AT)?,
            last_at: item.time(LAST_AT)?,
            times: item.n(TIMES)?,
            expires_at: item.n(EXPIRES_AT)?,
        })
    }
}

/// One sighting, as the pull records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting<'a> {
    pub seller: &'a SellerId,
    pub order: &'a AmazonOrderId,
    pub decision: Decision,
    pub reason: &'a str,
    pub amazon_status: &'a str,
    pub at: DateTime<Utc>,
    pub expires_at: i64,
}

/// The pull's notes (DynamoDB, or memory in unit tests).
#[async_trait::async_trait]
pub trait PullNotes: Send + Sync {
    /// Records a sighting: creates the note or moves its last time, reason
    /// and status on (and counts it).
    async fn note(&self, sighting: &Sighting<'_>) -> Result<(), StoreError>;

    /// Every note of the order (at most one per decision).
    async fn notes(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Vec<PullNote>, StoreError>;
}

#[async_trait::async_trait]
impl PullNotes for Store {
    async fn note(&self, x: &Sighting<'_>) -> Result<(), StoreError> {
        let key = Key::pull_note(x.seller, x.order, x.decision);
        let mut e = Expr::new();
        let mut sets = vec![
            (SELLER_ID, s(x.seller.as_str())),
            (AMAZON_ORDER_ID, s(x.order.as_str())),
            (DECISION, s(x.decision.as_str())),
            (REASON, s(x.reason)),
            (AMAZON_STATUS, s(x.amazon_status)),
            (LAST_AT, s(format_time(x.at))),
            (EXPIRES_AT, n(x.expires_at)),
        ]
        .into_iter()
        .map(|(name, value)| format!("{} = {}", e.name(name), e.value(value)))
        .collect::<Vec<_>>();
        let first = e.name(FIRST_AT);
        let at = e.value(s(format_time(x.at)));
        sets.push(format!("{first} = if_not_exists({first}, {at})"));
        let times = e.name(TIMES);
        let one = e.value(n(1));
        let expression = format!("SET {} ADD {times} {one}", sets.join(", "));
        self.update(&key, expression, &e).await
    }

    async fn notes(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Vec<PullNote>, StoreError> {
        self.query_prefix(seller, &pull_note_prefix(order))
            .await?
            .iter()
            .map(PullNote::try_from)
            .collect()
    }
}

#[async_trait::async_trait]
impl PullNotes for MemoryStore {
    async fn note(&self, x: &Sighting<'_>) -> Result<(), StoreError> {
        let key = Key::pull_note(x.seller, x.order, x.decision);
        self.with_items(|items| {
            let (first, times) = match items.get(&key) {
                Some(old) => (old.time(FIRST_AT)?, old.n::<u64>(TIMES)?),
                None => (x.at, 0),
            };
            let item = Item::new(&key)
                .with(SELLER_ID, s(x.seller.as_str()))
                .with(AMAZON_ORDER_ID, s(x.order.as_str()))
                .with(DECISION, s(x.decision.as_str()))
                .with(REASON, s(x.reason))
                .with(AMAZON_STATUS, s(x.amazon_status))
                .with(FIRST_AT, s(format_time(first)))
                .with(LAST_AT, s(format_time(x.at)))
                .with(TIMES, n(times + 1))
                .with(EXPIRES_AT, AttributeValue::N(x.expires_at.to_string()));
            items.insert(key, item);
            Ok(())
        })
    }

    async fn notes(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Vec<PullNote>, StoreError> {
        let pk = seller_pk(seller);
        let prefix = pull_note_prefix(order);
        self.with_items(|items| {
            items
                .iter()
                .filter(|(k, _)| k.pk == pk && k.sk.starts_with(&prefix))
                .map(|(_, item)| PullNote::try_from(item))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_note_keeps_its_first_time_and_counts_sightings() {
        let m = MemoryStore::new();
        let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
        let order = AmazonOrderId::new("302-1234567-1234567").unwrap();
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let sighting = |at, reason| Sighting {
            seller: &seller,
            order: &order,
            decision: Decision::Held,
            reason,
            amazon_status: "PENDING",
            at,
            expires_at: 1_900_000_000,
        };
        m.note(&sighting(t(0), "status PENDING")).await.unwrap();
        m.note(&sighting(t(60), "status PENDING (again)"))
            .await
            .unwrap();
        let notes = m.notes(&seller, &order).await.unwrap();
        assert_eq!(notes.len(), 1);
        let n = &notes[0];
        assert_eq!((n.first_at, n.last_at, n.times), (t(0), t(60), 2));
        assert_eq!(n.reason, "status PENDING (again)");
        assert_eq!(
            Key::pull_note(&seller, &order, Decision::Filtered).sk,
            "PULLNOTE#302-1234567-1234567#filtered"
        );
    }
}
