//! All DynamoDB access of the connector, over one table whose name the caller
//! passes in (ARCHITECTURE.md, "DynamoDB key schema"): seller settings, the
//! order ledger, checkpoints, the shared rate buckets (the
//! [`domain::quota::BucketStore`] port) and the idempotency layer. Each role
//! is a narrow async trait ([`SettingsStore`], [`Ledger`], [`Checkpoints`],
//! [`IdempotencyStore`]) implemented by [`Store`] and by the in-memory
//! [`memory::MemoryStore`] with the same semantics, so a handler asks only for
//! what it uses and is unit-tested without DynamoDB. Conditional writes whose
//! failure means something (an order already recorded, a key already locked)
//! return typed outcomes, not errors.
//!
//! This crate depends on `domain` and the DynamoDB SDK only: never on `spapi`
//! (the two meet at ports declared in `domain`), `lambda-kit` or any job. It
//! reads no environment variables, and it logs keys and ids, never item
//! contents (a ledger entry may hold buyer data).

pub mod buckets;
pub mod checkpoint;
pub mod clock;
mod error;
pub mod idempotency;
pub mod invitations;
mod item;
pub mod keys;
pub mod labels;
pub mod ledger;
pub mod memory;
pub mod notes;
pub mod notifications;
pub mod participations;
mod partition;
pub mod replay;
pub mod settings;
pub mod shipments;
pub mod stock;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;

pub use buckets::DynamoBuckets;
pub use checkpoint::{Checkpoint, Checkpoints};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::StoreError;
pub use idempotency::{Idempotency, IdempotencyError, IdempotencyStore, RunOptions, sha256_hex};
pub use invitations::{
    InvitationClaim, InvitationKey, InvitationStore, MemoryInvitations, StateUse,
};
pub use keys::Key;
pub use labels::{BoughtLabel, LabelDocument, LabelStore, MemoryLabels, PurchaseIntent, RateQuote};
pub use ledger::{Claim, Ledger, LedgerEntry, Recorded, SendState, StatusUpdate};
pub use memory::MemoryStore;
pub use notes::{Decision, PullNote, PullNotes, Sighting};
pub use notifications::{
    CoalescePlan, CoalesceState, Coalesced, DeliveryHealth, DestinationRecord, NotificationState,
    SubscriptionRecord,
};
pub use participations::ParticipationStore;
pub use replay::{ReplayJournal, ReplayState};
pub use settings::{SellerSummary, SettingsStore};
pub use shipments::{
    Binding, LabelRecord, OrderShipments, PackageBinding, PackageRecord, PackageState, PackedItem,
    Refusal, ShipmentRecords, Via, update_shipments,
};
pub use stock::{
    PendingPush, Rejection, StockBook, StockEntry, StockLedger, StockMeta, TrackedFeed,
};

use crate::error::{Written, conditional};
use crate::item::Item;

/// How often an optimistic read-modify-write is retried after losing a race
/// (settings); rate buckets have their own, larger bound.
pub(crate) const CONFLICT_ATTEMPTS: u32 = 5;

/// The DynamoDB adapter: a client and a table name. Cheap to clone (the SDK
/// client is shared); build one per container in `main`.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            clock: clock::system(),
        }
    }

    /// The same store reading "now" from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// "Now" as this store sees it (its clock).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub(crate) async fn get_item(
        &self,
        key: &Key,
        consistent: bool,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(key)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", key.to_string(), e))?;
        Ok(out.item.map(Item::from))
    }

    /// `UpdateItem` of `key` with `expression`, unconditionally; the names
    /// and values come from `e`.
    pub(crate) async fn update(
        &self,
        key: &Key,
        expression: String,
        e: &item::Expr,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(key)))
            .update_expression(expression)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(|err| StoreError::dynamo("UpdateItem", key.to_string(), err))?;
        Ok(())
    }

    /// `UpdateItem` of `key` with `SET {set}` when `condition` holds; the
    /// names and values come from `e`. A failed condition is an outcome.
    pub(crate) async fn set_if(
        &self,
        key: &Key,
        e: &item::Expr,
        set: &str,
        condition: &str,
    ) -> Result<Written<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput>, StoreError>
    {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(key)))
            .update_expression(format!("SET {set}"))
            .condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        conditional("UpdateItem", key, result)
    }

    /// `PutItem` of `item` (stored under `key`) when `condition` holds; the
    /// names and values come from `e`. A failed condition is an outcome.
    pub(crate) async fn put_if(
        &self,
        key: &Key,
        item: Item,
        e: &item::Expr,
        condition: &str,
    ) -> Result<Written<aws_sdk_dynamodb::operation::put_item::PutItemOutput>, StoreError> {
        self.put_when(key, item, e, condition, false).await
    }

    /// `PutItem` of `item` (stored under `key`) when `condition` holds:
    /// `Written`, or the item that stopped it — sent back by DynamoDB with
    /// the failure, or read again (consistently) when it was not —, or
    /// `Vanished` if that item has gone since (the caller tries again).
    pub(crate) async fn put_or_existing(
        &self,
        key: &Key,
        item: Item,
        e: &item::Expr,
        condition: &str,
    ) -> Result<PutOrExisting, StoreError> {
        Ok(match self.put_when(key, item, e, condition, true).await? {
            Written::Done(_) => PutOrExisting::Written,
            Written::ConditionFailed(Some(old)) => PutOrExisting::Existing(old),
            Written::ConditionFailed(None) => match self.get_item(key, true).await? {
                Some(old) => PutOrExisting::Existing(old),
                None => PutOrExisting::Vanished,
            },
        })
    }

    /// The conditional `PutItem` of both, the stored item asked back on a
    /// failed condition when `return_old`.
    async fn put_when(
        &self,
        key: &Key,
        item: Item,
        e: &item::Expr,
        condition: &str,
        return_old: bool,
    ) -> Result<Written<aws_sdk_dynamodb::operation::put_item::PutItemOutput>, StoreError> {
        let result =
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.into_map()))
                .condition_expression(condition)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .set_return_values_on_condition_check_failure(return_old.then_some(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                ))
                .send()
                .await;
        conditional("PutItem", key, result)
    }
}

/// What [`Store::put_or_existing`] found.
pub(crate) enum PutOrExisting {
    Written,
    /// The item the condition failed on.
    Existing(Item),
    /// The condition failed, but the item has gone since: try again.
    Vanished,
}

/// A short random pause before retrying a lost optimistic write, so racing
/// writers spread out.
pub(crate) async fn conflict_pause(attempt: u32) {
    let cap_ms = (5 * u64::from(attempt)).clamp(5, 50);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=cap_ms))).await;
}
