//! The order ledger (`SELLER#<id>` / `ORDER#<amazon order id>`, found by WMS
//! order number through gsi1 `WMSORDER#<id>`): one entry per order ever sent
//! to the WMS, so that every order reaches the WMS exactly once however often
//! the order pull runs, overlaps or crashes.
//!
//! The order pull does: [`Ledger::claim_order`] (a conditional put in state
//! `Sending`) → send to the WMS queue with a deduplication id derived from
//! the order → [`Ledger::mark_sent`]. A run that crashes between the two
//! leaves a `Sending` claim; once it is older than `stale_after` a later run
//! takes it over ([`Claim::TakenOver`]) and sends again with the same
//! deduplication id, so the WMS still sees the order once.
//!
//! An entry may hold the message sent (`payload`, with buyer data): it then
//! carries `expires_at` so DynamoDB's TTL deletes it.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, MarketplaceId, Pii, SellerId};

use crate::PutOrExisting;
use crate::error::Written;
use crate::item::{Expr, Item, format_time, n, s};
use crate::keys::{EXPIRES_AT, GSI1, GSI1PK, GSI1SK, Key, PK, wms_order_gsi1pk};
use crate::{Store, StoreError};

const SELLER_ID: &str = "seller_id";
const AMAZON_ORDER_ID: &str = "amazon_order_id";
const WMS_ORDER_NUMBER: &str = "wms_order_number";
const MARKETPLACE_ID: &str = "marketplace_id";
const STATUS: &str = "status";
const STATE: &str = "state";
const FIRST_SENT_AT: &str = "first_sent_at";
const CLAIMED_AT: &str = "claimed_at";
const SENT_AT: &str = "sent_at";
const LAST_SEEN_UPDATE: &str = "last_seen_update";
const CANCELLED_SENT: &str = "cancelled_sent";
const CANCELLED_AT: &str = "cancelled_at";
const PAYLOAD: &str = "payload";

/// Where an entry is in "claim → send → mark sent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendState {
    /// Claimed by a run that is sending it (or crashed while sending it).
    Sending,
    /// The WMS queue accepted the message.
    Sent,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Sending => "SENDING",
            SendState::Sent => "SENT",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "SENDING" => Some(SendState::Sending),
            "SENT" => Some(SendState::Sent),
            _ => None,
        }
    }
}

/// One order known to the WMS. `Debug` never shows the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub seller_id: SellerId,
    pub amazon_order_id: AmazonOrderId,
    /// The prefixed order number the WMS knows the order by.
    pub wms_order_number: String,
    pub marketplace_id: MarketplaceId,
    /// Amazon's order status when last seen (e.g. `UNSHIPPED`).
    pub status: String,
    pub state: SendState,
    /// When the order was first claimed for sending.
    pub first_sent_at: DateTime<Utc>,
    /// When the current claim was made (a takeover renews it).
    pub claimed_at: DateTime<Utc>,
    /// When the WMS queue accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Amazon's `lastUpdatedTime` of the version last seen.
    pub last_seen_update: DateTime<Utc>,
    pub cancelled_sent: bool,
    /// When the cancellation of the whole order was sent to the WMS.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The JSON message sent to the WMS (may hold buyer data).
    pub payload: Option<Pii<String>>,
    /// TTL, epoch seconds; set whenever `payload` holds buyer data.
    pub expires_at: Option<i64>,
}

impl LedgerEntry {
    /// A fresh claim at `now`: state `Sending`, nothing cancelled, no payload.
    pub fn new(
        seller_id: SellerId,
        amazon_order_id: AmazonOrderId,
        wms_order_number: impl Into<String>,
        marketplace_id: MarketplaceId,
        status: impl Into<String>,
        last_seen_update: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            seller_id,
            amazon_order_id,
            wms_order_number: wms_order_number.into(),
            marketplace_id,
            status: status.into(),
            state: SendState::Sending,
            first_sent_at: now,
            claimed_at: now,
            sent_at: None,
            last_seen_update,
            cancelled_sent: false,
            cancelled_at: None,
            payload: None,
            expires_at: None,
        }
    }

    /// Keep the message sent (buyer data): it is deleted by TTL at `expires_at`.
    pub fn with_payload(mut self, payload: impl Into<String>, expires_at: i64) -> Self {
        self.payload = Some(Pii::new(payload.into()));
        self.expires_at = Some(expires_at);
        self
    }

    pub fn key(&self) -> Key {
        Key::order(&self.seller_id, &self.amazon_order_id)
    }
}

impl From<&LedgerEntry> for Item {
    fn from(e: &LedgerEntry) -> Self {
        Item::new(&e.key())
            .with(GSI1PK, s(wms_order_gsi1pk(&e.seller_id)))
            .with(GSI1SK, s(e.wms_order_number.clone()))
            .with(SELLER_ID, s(e.seller_id.as_str()))
            .with(AMAZON_ORDER_ID, s(e.amazon_order_id.as_str()))
            .with(WMS_ORDER_NUMBER, s(e.wms_order_number.clone()))
            .with(MARKETPLACE_ID, s(e.marketplace_id.as_str()))
            .with(STATUS, s(e.status.clone()))
            .with(STATE, s(e.state.as_str()))
            .with(FIRST_SENT_AT, s(format_time(e.first_sent_at)))
            .with(CLAIMED_AT, s(format_time(e.claimed_at)))
            .with_opt(SENT_AT, e.sent_at.map(|t| s(format_time(t))))
            .with(LAST_SEEN_UPDATE, s(format_time(e.last_seen_update)))
            .with(CANCELLED_SENT, AttributeValue::Bool(e.cancelled_sent))
            .with_opt(CANCELLED_AT, e.cancelled_at.map(|t| s(format_time(t))))
            .with_opt(PAYLOAD, e.payload.as_ref().map(|p| s(p.expose().clone())))
            .with_opt(EXPIRES_AT, e.expires_at.map(n))
    }
}

impl TryFrom<&Item> for LedgerEntry {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let state = item.s(STATE)?;
        Ok(Self {
            seller_id: item.parsed(SELLER_ID, "a seller id")?,
            amazon_order_id: item.parsed(AMAZON_ORDER_ID, "an Amazon order id")?,
            wms_order_number: item.s(WMS_ORDER_NUMBER)?.to_string(),
            marketplace_id: item.parsed(MARKETPLACE_ID, "a marketplace id")?,
            status: item.s(STATUS)?.to_string(),
            state: SendState::parse(state)
                .ok_or_else(|| item.malformed(STATE, "is not SENDING or SENT"))?,
            first_sent_at: item.time(FIRST_SENT_AT)?,
            claimed_at: item.time(CLAIMED_AT)?,
            sent_at: item.opt_time(SENT_AT)?,
            last_seen_update: item.time(LAST_SEEN_UPDATE)?,
            cancelled_sent: item.opt_bool(CANCELLED_SENT)?.unwrap_or(false),
            cancelled_at: item.opt_time(CANCELLED_AT)?,
            payload: item.opt_s(PAYLOAD)?.map(|p| Pii::new(p.to_string())),
            expires_at: item.opt_n(EXPIRES_AT)?,
        })
    }
}

/// The answer of [`Ledger::record_order_if_absent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The entry was written: this caller owns it.
    Recorded,
    /// An entry already existed (it is returned as stored); nothing written.
    AlreadyPresent(Box<LedgerEntry>),
}

/// The answer of [`Ledger::claim_order`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// New entry in state `Sending`: send the order, then `mark_sent`.
    Claimed,
    /// A crashed run's stale claim is now ours (the entry as it was stored,
    /// with `claimed_at` renewed): send again with the same deduplication id
    /// (the stored payload, if any, is the exact message it sent), then
    /// `mark_sent`.
    TakenOver(Box<LedgerEntry>),
    /// Another run claimed it recently and may be sending it right now: skip;
    /// a later run will see it sent, or take over the claim once stale.
    InFlight(Box<LedgerEntry>),
    /// Already sent: skip (perhaps send a cancellation).
    Sent(Box<LedgerEntry>),
}

impl Claim {
    /// Whether this caller must send the order now.
    pub fn must_send(&self) -> bool {
        matches!(self, Claim::Claimed | Claim::TakenOver(_))
    }
}

/// The answer of [`Ledger::update_status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusUpdate {
    Applied,
    /// The entry already reflects an Amazon update at least as recent.
    Stale,
    /// No entry for this order.
    Missing,
}

/// The order ledger, as the order pull and the shipment job use it.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// Writes `entry` as is unless an entry for the order exists.
    async fn record_order_if_absent(&self, entry: &LedgerEntry) -> Result<Recorded, StoreError>;

    /// Claims the order for sending: writes `entry` in state `Sending` with
    /// `first_sent_at` = `claimed_at` = now (the store's clock), or takes
    /// over a `Sending` claim older than `stale_after`. See [`Claim`].
    async fn claim_order(
        &self,
        entry: &LedgerEntry,
        stale_after: Duration,
    ) -> Result<Claim, StoreError>;

    /// The WMS queue accepted the message. Idempotent; `NotFound` if there
    /// is no entry.
    async fn mark_sent(&self, seller: &SellerId, order: &AmazonOrderId) -> Result<(), StoreError>;

    /// The send after a claim failed: the `Sending` claim is made stale at
    /// once (its `claimed_at` set to the epoch), so the next run takes it
    /// over and sends with the same deduplication id instead of waiting
    /// `stale_after`. Nothing happens to an entry that is not `Sending`.
    async fn release_claim(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<(), StoreError>;

    async fn get_order(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Option<LedgerEntry>, StoreError>;

    async fn find_by_wms_order_number(
        &self,
        seller: &SellerId,
        wms_order_number: &str,
    ) -> Result<Option<LedgerEntry>, StoreError>;

    /// `true` exactly once per order: for the caller that must send the
    /// cancellation. `false` if it was already marked or there is no entry.
    async fn mark_cancel_sent(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<bool, StoreError>;

    /// Records Amazon's status as of `last_seen_update`, unless the entry
    /// already reflects a later update; `expires_at` (when given) replaces
    /// the TTL, e.g. 30 days after the order shipped.
    async fn update_status(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        status: &str,
        last_seen_update: DateTime<Utc>,
        expires_at: Option<i64>,
    ) -> Result<StatusUpdate, StoreError>;

    /// Replaces the stored payload (and the TTL when given), e.g. the record
    /// of what was sent after a cancellation was reported. `NotFound` if
    /// there is no entry.
    async fn set_payload(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        payload: &str,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError>;
}

/// Whether a `Sending` claim made at `claimed_at` may be taken over at `now`.
pub(crate) fn is_stale(
    claimed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    stale_after: Duration,
) -> bool {
    let stale_after = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
    claimed_at
        .checked_add_signed(stale_after)
        .is_some_and(|limit| limit <= now)
}

/// The claim an entry would be written as at `now`.
pub(crate) fn as_claim(entry: &LedgerEntry, now: DateTime<Utc>) -> LedgerEntry {
    LedgerEntry {
        state: SendState::Sending,
        first_sent_at: now,
        claimed_at: now,
        sent_at: None,
        ..entry.clone()
    }
}

/// How many times a conditional put that found an item which then vanished
/// (TTL) is tried again.
const VANISHED_ATTEMPTS: u32 = 3;

impl Store {
    async fn takeover(
        &self,
        existing: &LedgerEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = existing.key();
        let mut e = Expr::new();
        let set = e.assignments([(CLAIMED_AT, s(format_time(now)))]);
        let state = e.name(STATE);
        let sending = e.value(s(SendState::Sending.as_str()));
        let claimed_at = e.name(CLAIMED_AT);
        let old = e.value(s(format_time(existing.claimed_at)));
        Ok(matches!(
            self.set_if(
                &key,
                &e,
                &set,
                &format!("{state} = {sending} AND {claimed_at} = {old}")
            )
            .await?,
            Written::Done(_)
        ))
    }
}

#[async_trait::async_trait]
impl Ledger for Store {
    async fn record_order_if_absent(&self, entry: &LedgerEntry) -> Result<Recorded, StoreError> {
        let key = entry.key();
        for _ in 0..VANISHED_ATTEMPTS {
            let mut e = Expr::new();
            let pk = e.name(PK);
            let condition = format!("attribute_not_exists({pk})");
            match self
                .put_or_existing(&key, Item::from(entry), &e, &condition)
                .await?
            {
                PutOrExisting::Written => {
                    tracing::debug!(seller = %entry.seller_id, order = %entry.amazon_order_id, "order recorded in the ledger");
                    return Ok(Recorded::Recorded);
                }
                PutOrExisting::Existing(old) => {
                    return Ok(Recorded::AlreadyPresent(Box::new(LedgerEntry::try_from(
                        &old,
                    )?)));
                }
                PutOrExisting::Vanished => {}
            }
        }
        Err(StoreError::Contended {
            pk: key.pk,
            sk: key.sk,
            attempts: VANISHED_ATTEMPTS,
        })
    }

    async fn claim_order(
        &self,
        entry: &LedgerEntry,
        stale_after: Duration,
    ) -> Result<Claim, StoreError> {
        let now = self.clock().now();
        let existing = match self.record_order_if_absent(&as_claim(entry, now)).await? {
            Recorded::Recorded => return Ok(Claim::Claimed),
            Recorded::AlreadyPresent(existing) => existing,
        };
        match existing.state {
            SendState::Sent => return Ok(Claim::Sent(existing)),
            SendState::Sending if !is_stale(existing.claimed_at, now, stale_after) => {
                return Ok(Claim::InFlight(existing));
            }
            SendState::Sending => {}
        }
        if self.takeover(&existing, now).await? {
            tracing::warn!(seller = %entry.seller_id, order = %entry.amazon_order_id,
                claimed_at = %existing.claimed_at, "took over a stale send claim; sending again with the same deduplication id");
            let mut taken = existing;
            taken.claimed_at = now;
            return Ok(Claim::TakenOver(taken));
        }
        // Someone else took it over or marked it sent in between.
        match self
            .get_order(&entry.seller_id, &entry.amazon_order_id)
            .await?
        {
            Some(current) if current.state == SendState::Sent => Ok(Claim::Sent(Box::new(current))),
            Some(current) => Ok(Claim::InFlight(Box::new(current))),
            None => Ok(Claim::InFlight(existing)),
        }
    }

    async fn mark_sent(&self, seller: &SellerId, order: &AmazonOrderId) -> Result<(), StoreError> {
        let key = Key::order(seller, order);
        let mut e = Expr::new();
        let set = e.assignments([
            (STATE, s(SendState::Sent.as_str())),
            (SENT_AT, s(format_time(self.clock().now()))),
        ]);
        let state = e.name(STATE);
        let sending = e.value(s(SendState::Sending.as_str()));
        match self
            .set_if(&key, &e, &set, &format!("{state} = {sending}"))
            .await?
        {
            Written::Done(_) => {
                tracing::debug!(seller = %seller, order = %order, "order marked sent");
                Ok(())
            }
            Written::ConditionFailed(_) => match self.get_order(seller, order).await? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound {
                    what: "ledger entry",
                    pk: key.pk,
                    sk: key.sk,
                }),
            },
        }
    }

    async fn release_claim(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<(), StoreError> {
        let key = Key::order(seller, order);
        let mut e = Expr::new();
        let set = e.assignments([(CLAIMED_AT, s(format_time(DateTime::UNIX_EPOCH)))]);
        let state = e.name(STATE);
        let sending = e.value(s(SendState::Sending.as_str()));
        // Not `Sending` (or gone): nothing to release.
        self.set_if(&key, &e, &set, &format!("{state} = {sending}"))
            .await?;
        Ok(())
    }

    async fn get_order(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        match self.get_item(&Key::order(seller, order), true).await? {
            Some(item) => Ok(Some(LedgerEntry::try_from(&item)?)),
            None => Ok(None),
        }
    }

    async fn find_by_wms_order_number(
        &self,
        seller: &SellerId,
        wms_order_number: &str,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        let mut e = Expr::new();
        let gsi1pk = e.name(GSI1PK);
        let gsi1sk = e.name(GSI1SK);
        let pk_value = e.value(s(wms_order_gsi1pk(seller)));
        let sk_value = e.value(s(wms_order_number));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression(format!("{gsi1pk} = {pk_value} AND {gsi1sk} = {sk_value}"))
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(|err| {
                StoreError::dynamo(
                    "Query",
                    format!("{GSI1} {} / {wms_order_number}", wms_order_gsi1pk(seller)),
                    err,
                )
            })?;
        match out.items.unwrap_or_default().into_iter().next() {
            Some(item) => Ok(Some(LedgerEntry::try_from(&Item::from(item))?)),
            None => Ok(None),
        }
    }

    async fn mark_cancel_sent(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<bool, StoreError> {
        let key = Key::order(seller, order);
        let mut e = Expr::new();
        let set = e.assignments([
            (CANCELLED_SENT, AttributeValue::Bool(true)),
            (CANCELLED_AT, s(format_time(self.clock().now()))),
        ]);
        let cancelled = e.name(CANCELLED_SENT);
        let no = e.value(AttributeValue::Bool(false));
        let done = matches!(
            self.set_if(&key, &e, &set, &format!("{cancelled} = {no}"))
                .await?,
            Written::Done(_)
        );
        if done {
            tracing::debug!(seller = %seller, order = %order, "cancellation marked sent");
        }
        Ok(done)
    }

    async fn update_status(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        status: &str,
        last_seen_update: DateTime<Utc>,
        expires_at: Option<i64>,
    ) -> Result<StatusUpdate, StoreError> {
        let key = Key::order(seller, order);
        let mut e = Expr::new();
        let seen = s(format_time(last_seen_update));
        let mut attributes = vec![(STATUS, s(status)), (LAST_SEEN_UPDATE, seen.clone())];
        if let Some(at) = expires_at {
            attributes.push((EXPIRES_AT, n(at)));
        }
        let set = e.assignments(attributes);
        let last = e.name(LAST_SEEN_UPDATE);
        let seen = e.value(seen);
        match self
            .set_if(&key, &e, &set, &format!("{last} < {seen}"))
            .await?
        {
            Written::Done(_) => Ok(StatusUpdate::Applied),
            Written::ConditionFailed(_) => match self.get_order(seller, order).await? {
                Some(_) => Ok(StatusUpdate::Stale),
                None => Ok(StatusUpdate::Missing),
            },
        }
    }

    async fn set_payload(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        payload: &str,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let key = Key::order(seller, order);
        let mut e = Expr::new();
        let mut attributes = vec![(PAYLOAD, s(payload))];
        if let Some(at) = expires_at {
            attributes.push((EXPIRES_AT, n(at)));
        }
        let set = e.assignments(attributes);
        let pk = e.name("pk");
        match self
            .set_if(&key, &e, &set, &format!("attribute_exists({pk})"))
            .await?
        {
            Written::Done(_) => Ok(()),
            Written::ConditionFailed(_) => Err(StoreError::NotFound {
                what: "ledger entry",
                pk: key.pk,
                sk: key.sk,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry() -> LedgerEntry {
        let t = DateTime::parse_from_rfc3339("2026-03-01T10:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        LedgerEntry::new(
            SellerId::new("A3EXAMPLESELLER").unwrap(),
            AmazonOrderId::new("113-1234567-1234567").unwrap(),
            "MG113-1234567-1234567",
            MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
            "UNSHIPPED",
            t,
            t,
        )
    }

    #[test]
    fn entries_round_trip_through_items() {
        let mut e = entry().with_payload(r#"{"buyer":"Jane"}"#, 1_800_000_000);
        e.sent_at = Some(e.claimed_at);
        e.state = SendState::Sent;
        let item = Item::from(&e);
        assert_eq!(item.s(GSI1PK).unwrap(), "WMSORDER#A3EXAMPLESELLER");
        assert_eq!(item.s(GSI1SK).unwrap(), "MG113-1234567-1234567");
        assert_eq!(item.n::<i64>(EXPIRES_AT).unwrap(), 1_800_000_000);
        assert_eq!(LedgerEntry::try_from(&item).unwrap(), e);
        let plain = entry();
        let item = Item::from(&plain);
        assert!(!item.contains(PAYLOAD) && !item.contains(EXPIRES_AT) && !item.contains(SENT_AT));
        assert_eq!(LedgerEntry::try_from(&item).unwrap(), plain);
    }

    #[test]
    fn debug_hides_the_payload() {
        let e = entry().with_payload(r#"{"buyer":"Jane"}"#, 1);
        let text = format!("{e:?}");
        assert!(!text.contains("Jane"), "{text}");
    }

    #[test]
    fn bad_state_is_reported_by_attribute() {
        let mut item = Item::from(&entry());
        item.set(STATE, s("LOST"));
        let err = LedgerEntry::try_from(&item).unwrap_err().to_string();
        assert!(err.contains("`state`"), "{err}");
    }

    #[test]
    fn staleness() {
        let t = entry().claimed_at;
        let later = t + chrono::Duration::seconds(60);
        assert!(is_stale(t, later, Duration::from_secs(60)));
        assert!(!is_stale(t, later, Duration::from_secs(61)));
        assert!(!is_stale(t, later, Duration::MAX));
    }
}
