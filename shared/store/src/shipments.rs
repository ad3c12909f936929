//! Shipment records: what the shipment-confirmation job has told Amazon, per
//! package and per order, so a package is confirmed once however often the
//! WMS sends it, and a partial shipment confirms only what is still open.
//!
//! Two kinds of item (ARCHITECTURE.md, key schema):
//! - **package binding** `SELLER#<seller>` / `PACKAGE#<package id>`: the
//!   package id bound to one message (its order and payload hash) by a
//!   conditional put. The same message again finds its own binding; a
//!   different message under the same package id finds someone else's and is
//!   refused. A refused package's binding is released so a corrected message
//!   can use the id.
//! - **order shipments** `SELLER#<seller>` / `SHIPMENTS#<amazon order id>`:
//!   every package of the order (state, items, carrier, tracking, the
//!   `packageReferenceId` it got), the last refusal per package, the labels
//!   bought through the label function, and a version: every change is a
//!   read-modify-write conditional on the version ([`update_shipments`]), so
//!   two packages of one order processed at once cannot both take the last
//!   unit.
//!
//! The labels function (issue 6) records a label it bought for an Amazon
//! order with [`ShipmentRecords::record_label_bought`]: Amazon already knows
//! that shipment, and the shipment job then records the package without
//! confirming it again ([`ShipmentRecords::label_bought`]).
//!
//! Nothing here holds buyer data (ids, SKUs, quantities, carriers, tracking
//! numbers); items expire with the ledger's retention (`expires_at`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, SellerId};
use serde::{Deserialize, Serialize};

use crate::PutOrExisting;
use crate::item::{Expr, Item, Written, conditional, format_time, n, s};
use crate::keys::{EXPIRES_AT, Key, PK, VERSION, seller_pk};
use crate::memory::MemoryStore;
use crate::settings::{from_json, to_json};
use crate::{Store, StoreError};

const SELLER_ID: &str = "seller_id";
const AMAZON_ORDER_ID: &str = "amazon_order_id";
const PACKAGE_ID: &str = "package_id";
const PAYLOAD_HASH: &str = "payload_hash";
const BOUND_AT: &str = "bound_at";
const RECORD: &str = "record";
const UPDATED_AT: &str = "updated_at";

/// How many times [`update_shipments`] re-reads after losing a race.
const UPDATE_ATTEMPTS: u32 = 8;

impl Key {
    pub fn package(seller: &SellerId, package_id: &str) -> Self {
        let id = if package_id.len() > 256 {
            format!("sha256:{}", crate::idempotency::sha256_hex(package_id))
        } else {
            package_id.to_string()
        };
        Self {
            pk: seller_pk(seller),
            sk: format!("PACKAGE#{id}"),
        }
    }

    pub fn shipments(seller: &SellerId, order: &AmazonOrderId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("SHIPMENTS#{order}"),
        }
    }
}

/// A package id bound to one shipment message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageBinding {
    pub seller_id: SellerId,
    pub package_id: String,
    pub amazon_order_id: AmazonOrderId,
    /// SHA-256 of the message's content (what makes it "the same message").
    pub payload_hash: String,
    pub bound_at: DateTime<Utc>,
    pub expires_at: i64,
}

impl PackageBinding {
    pub fn key(&self) -> Key {
        Key::package(&self.seller_id, &self.package_id)
    }
}

impl From<&PackageBinding> for Item {
    fn from(b: &PackageBinding) -> Self {
        Item::new(&b.key())
            .with(SELLER_ID, s(b.seller_id.as_str()))
            .with(PACKAGE_ID, s(b.package_id.clone()))
            .with(AMAZON_ORDER_ID, s(b.amazon_order_id.as_str()))
            .with(PAYLOAD_HASH, s(b.payload_hash.clone()))
            .with(BOUND_AT, s(format_time(b.bound_at)))
            .with(EXPIRES_AT, n(b.expires_at))
    }
}

impl TryFrom<&Item> for PackageBinding {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            seller_id: item.parsed(SELLER_ID, "a seller id")?,
            package_id: item.s(PACKAGE_ID)?.to_string(),
            amazon_order_id: item.parsed(AMAZON_ORDER_ID, "an Amazon order id")?,
            payload_hash: item.s(PAYLOAD_HASH)?.to_string(),
            bound_at: item.time(BOUND_AT)?,
            expires_at: item.n(EXPIRES_AT)?,
        })
    }
}

/// The answer of [`ShipmentRecords::bind_package`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// The package id is now bound to this message.
    Bound,
    /// It already was bound (as stored): to this message if the order and
    /// hash match, else to another one.
    Existing(PackageBinding),
}

/// How a package reached Amazon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// `confirmShipment`.
    Api,
    /// A `POST_ORDER_FULFILLMENT_DATA` feed.
    Feed,
    /// A label bought through the label function: Amazon knew already.
    Label,
    /// Amazon's order already showed the package (a run that died after
    /// confirming, checked before confirming again).
    Verified,
}

/// Where a package stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PackageState {
    /// Claimed by a run that is confirming it; after `lease_until` the run
    /// is presumed dead and the next one checks Amazon's order before
    /// confirming again.
    Confirming {
        lease_until: DateTime<Utc>,
        attempts: u32,
    },
    /// Sent in a feed whose processing report is not read yet.
    Submitted {
        feed_id: String,
        message_id: u32,
        submitted_at: DateTime<Utc>,
    },
    /// Amazon has it; `answer` is what Amazon said (e.g. `confirmShipment`
    /// accepted with HTTP 204, or the feed's processing report).
    Confirmed {
        at: DateTime<Utc>,
        via: Via,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
    },
}

/// One order item and how many of its units are in a package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedItem {
    pub order_item_id: String,
    pub sku: String,
    pub quantity: u32,
    /// Transparency codes of the units, as the WMS scanned them (product
    /// codes, not buyer data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transparency_codes: Vec<String>,
}

// Fields like the WMS shipment message and Amazon's package: what was confirmed, own item schema.
/// One package of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    pub package_id: String,
    /// `packageReferenceId` (confirmShipment) and `MerchantFulfillmentID`
    /// (feed): 1, 2, 3... within the order.
    pub reference_id: u32,
    pub payload_hash: String,
    pub items: Vec<PackedItem>,
    pub carrier_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    pub tracking_number: String,
    pub ship_date: DateTime<Utc>,
    /// `shipFromSupplySourceId`: the message's, else the seller's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_supply_source_id: Option<String>,
    /// `codCollectionMethod` as the WMS sent it (Amazon takes it in JP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_collection_method: Option<String>,
    #[serde(flatten)]
    pub state: PackageState,
    /// The WMS message (no buyer data), kept until the package is confirmed
    /// so a refusal in a feed report can dead-letter it as it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl PackageRecord {
    pub fn is_confirmed(&self) -> bool {
        matches!(self.state, PackageState::Confirmed { .. })
    }

    pub fn units(&self) -> u32 {
        self.items.iter().map(|i| i.quantity).sum()
    }
}

/// The last refusal of a package id (what the operator can look up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
    pub at: DateTime<Utc>,
    pub payload_hash: String,
}

/// A label the label function bought for this Amazon order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub tracking_number: String,
    /// Amazon Shipping's shipment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    pub bought_at: DateTime<Utc>,
}

/// Everything the shipment job knows about one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderShipments {
    pub seller_id: SellerId,
    pub amazon_order_id: AmazonOrderId,
    #[serde(default)]
    pub packages: BTreeMap<String, PackageRecord>,
    #[serde(default)]
    pub refused: BTreeMap<String, Refusal>,
    #[serde(default)]
    pub labels: Vec<LabelRecord>,
    /// The last `packageReferenceId` handed out.
    #[serde(default)]
    pub last_reference: u32,
    /// The stored version (0: not stored yet). Not part of the JSON.
    #[serde(skip)]
    pub version: u64,
}

impl OrderShipments {
    pub fn new(seller_id: SellerId, amazon_order_id: AmazonOrderId) -> Self {
        Self {
            seller_id,
            amazon_order_id,
            packages: BTreeMap::new(),
            refused: BTreeMap::new(),
            labels: Vec::new(),
            last_reference: 0,
            version: 0,
        }
    }

    pub fn key(&self) -> Key {
        Key::shipments(&self.seller_id, &self.amazon_order_id)
    }

    /// Units of an order item in packages confirmed or on their way
    /// (refused packages are not in `packages`).
    pub fn units(&self, order_item_id: &str) -> u32 {
        self.packages
            .values()
            .flat_map(|p| &p.items)
            .filter(|i| i.order_item_id == order_item_id)
            .map(|i| i.quantity)
            .sum()
    }

    /// The next `packageReferenceId`.
    pub fn next_reference(&mut self) -> u32 {
        self.last_reference += 1;
        self.last_reference
    }

    /// The label bought with this tracking number, if any.
    pub fn label(&self, tracking_number: &str) -> Option<&LabelRecord> {
        self.labels
            .iter()
            .find(|l| l.tracking_number == tracking_number)
    }
}

fn shipments_item(
    record: &OrderShipments,
    version: u64,
    now: DateTime<Utc>,
    expires_at: i64,
) -> Result<Item, StoreError> {
    Ok(Item::new(&record.key())
        .with(SELLER_ID, s(record.seller_id.as_str()))
        .with(AMAZON_ORDER_ID, s(record.amazon_order_id.as_str()))
        .with(RECORD, s(to_json("order shipments", record)?))
        .with(VERSION, n(version))
        .with(UPDATED_AT, s(format_time(now)))
        .with(EXPIRES_AT, n(expires_at)))
}

fn shipments_from(item: &Item) -> Result<OrderShipments, StoreError> {
    let mut record: OrderShipments = from_json("order shipments", item.s(RECORD)?)?;
    record.version = item.n(VERSION)?;
    Ok(record)
}

/// The shipment job's records (DynamoDB, or memory in unit tests).
#[async_trait::async_trait]
pub trait ShipmentRecords: Send + Sync {
    /// Binds `binding.package_id` to its message unless it is bound already.
    async fn bind_package(&self, binding: &PackageBinding) -> Result<Binding, StoreError>;

    /// Releases a binding, only if it still carries `payload_hash`.
    async fn release_package(
        &self,
        seller: &SellerId,
        package_id: &str,
        payload_hash: &str,
    ) -> Result<bool, StoreError>;

    async fn get_package(
        &self,
        seller: &SellerId,
        package_id: &str,
    ) -> Result<Option<PackageBinding>, StoreError>;

    async fn get_shipments(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Option<OrderShipments>, StoreError>;

    /// Writes `record` if the stored version is still `record.version`
    /// (0: nothing stored); returns the new version, or
    /// [`StoreError::Conflict`] when someone else wrote first.
    async fn put_shipments(
        &self,
        record: &OrderShipments,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<u64, StoreError>;

    /// For the label function: a label bought through Amazon Shipping for
    /// this Amazon order, so the shipment job does not confirm it again.
    /// Recording the same tracking number twice changes nothing.
    async fn record_label_bought(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        label: &LabelRecord,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        update_shipments(self, seller, order, label.bought_at, expires_at, |r| {
            if r.label(&label.tracking_number).is_none() {
                r.labels.push(label.clone());
            }
            Ok::<_, StoreError>(())
        })
        .await
        .and_then(|(out, _)| out)
    }

    /// The label bought for this order with this tracking number, if any.
    async fn label_bought(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
        tracking_number: &str,
    ) -> Result<Option<LabelRecord>, StoreError> {
        Ok(self
            .get_shipments(seller, order)
            .await?
            .and_then(|r| r.label(tracking_number).cloned()))
    }
}

/// Read-modify-write of an order's record: `change` runs on the current
/// record (a new one if none) and the result is written conditional on its
/// version; a lost race re-reads and runs `change` again (bounded). A
/// change that changes nothing on a stored record writes nothing. Returns
/// `change`'s output and the record as written.
pub async fn update_shipments<R, T, F>(
    records: &R,
    seller: &SellerId,
    order: &AmazonOrderId,
    now: DateTime<Utc>,
    expires_at: i64,
    mut change: F,
) -> Result<(T, OrderShipments), StoreError>
where
    R: ShipmentRecords + ?Sized,
    F: FnMut(&mut OrderShipments) -> T + Send,
    T: Send,
{
    for attempt in 1..=UPDATE_ATTEMPTS {
        let mut record = records
            .get_shipments(seller, order)
            .await?
            .unwrap_or_else(|| OrderShipments::new(seller.clone(), order.clone()));
        let before = record.clone();
        let out = change(&mut record);
        if record == before && record.version > 0 {
            // Nothing changed: no write, no new version.
            return Ok((out, record));
        }
        match records.put_shipments(&record, now, expires_at).await {
            Ok(version) => {
                record.version = version;
                return Ok((out, record));
            }
            Err(StoreError::Conflict { .. }) => crate::conflict_pause(attempt).await,
            Err(e) => return Err(e),
        }
    }
    let key = Key::shipments(seller, order);
    Err(StoreError::Contended {
        pk: key.pk,
        sk: key.sk,
        attempts: UPDATE_ATTEMPTS,
    })
}

#[async_trait::async_trait]
impl ShipmentRecords for Store {
    async fn bind_package(&self, binding: &PackageBinding) -> Result<Binding, StoreError> {
        let key = binding.key();
        for _ in 0..3 {
            let mut e = Expr::new();
            let condition = format!("attribute_not_exists({})", e.name(PK));
            match self
                .put_or_existing(&key, Item::from(binding), &e, &condition)
                .await?
            {
                PutOrExisting::Written => return Ok(Binding::Bound),
                PutOrExisting::Existing(old) => {
                    return Ok(Binding::Existing(PackageBinding::try_from(&old)?));
                }
                // Released between our put and our read: try again.
                PutOrExisting::Vanished => {}
            }
        }
        Err(StoreError::Contended {
            pk: key.pk,
            sk: key.sk,
            attempts: 3,
        })
    }

    async fn release_package(
        &self,
        seller: &SellerId,
        package_id: &str,
        payload_hash: &str,
    ) -> Result<bool, StoreError> {
        let key = Key::package(seller, package_id);
        let mut e = Expr::new();
        let hash = e.name(PAYLOAD_HASH);
        let ours = e.value(s(payload_hash));
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(&key)))
            .condition_expression(format!("{hash} = {ours}"))
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        Ok(matches!(
            conditional("DeleteItem", &key, result)?,
            Written::Done(_)
        ))
    }

    async fn get_package(
        &self,
        seller: &SellerId,
        package_id: &str,
    ) -> Result<Option<PackageBinding>, StoreError> {
        self.get_item(&Key::package(seller, package_id), true)
            .await?
            .map(|i| PackageBinding::try_from(&i))
            .transpose()
    }

    async fn get_shipments(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Option<OrderShipments>, StoreError> {
        self.get_item(&Key::shipments(seller, order), true)
            .await?
            .map(|i| shipments_from(&i))
            .transpose()
    }

    async fn put_shipments(
        &self,
        record: &OrderShipments,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<u64, StoreError> {
        let key = record.key();
        let version = record.version + 1;
        let item = shipments_item(record, version, now, expires_at)?;
        let expected = (record.version != 0).then_some(record.version);
        match crate::partition::VersionedItems::put_versioned(self, &key, item, expected).await {
            Ok(()) => Ok(version),
            Err(StoreError::Conflict { pk, sk, .. }) => Err(StoreError::Conflict {
                pk,
                sk,
                expected: Some(record.version),
            }),
            Err(e) => Err(e),
        }
    }
}

// Mirrors `impl ShipmentRecords for Store` above: the same rules, in memory (unit tests).
#[async_trait::async_trait]
impl ShipmentRecords for MemoryStore {
    async fn bind_package(&self, binding: &PackageBinding) -> Result<Binding, StoreError> {
        let key = binding.key();
        self.with_items(|items| match items.get(&key) {
            Some(old) => Ok(Binding::Existing(PackageBinding::try_from(old)?)),
            None => {
                items.insert(key.clone(), Item::from(binding));
                Ok(Binding::Bound)
            }
        })
    }

    async fn release_package(
        &self,
        seller: &SellerId,
        package_id: &str,
        payload_hash: &str,
    ) -> Result<bool, StoreError> {
        let key = Key::package(seller, package_id);
        self.with_items(|items| {
            let ours = match items.get(&key) {
                Some(item) => PackageBinding::try_from(item)?.payload_hash == payload_hash,
                None => false,
            };
            if ours {
                items.remove(&key);
            }
            Ok(ours)
        })
    }

    async fn get_package(
        &self,
        seller: &SellerId,
        package_id: &str,
    ) -> Result<Option<PackageBinding>, StoreError> {
        let key = Key::package(seller, package_id);
        self.with_items(|items| items.get(&key).map(PackageBinding::try_from).transpose())
    }

    async fn get_shipments(
        &self,
        seller: &SellerId,
        order: &AmazonOrderId,
    ) -> Result<Option<OrderShipments>, StoreError> {
        let key = Key::shipments(seller, order);
        self.with_items(|items| items.get(&key).map(shipments_from).transpose())
    }

    async fn put_shipments(
        &self,
        record: &OrderShipments,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<u64, StoreError> {
        let key = record.key();
        let version = record.version + 1;
        let item = shipments_item(record, version, now, expires_at)?;
        self.with_items(|items| {
            let stored = match items.get(&key) {
                Some(old) => old.n::<u64>(VERSION)?,
                None => 0,
            };
            if stored != record.version {
                return Err(StoreError::Conflict {
                    pk: key.pk.clone(),
                    sk: key.sk.clone(),
                    expected: Some(record.version),
                });
            }
            items.insert(key.clone(), item);
            Ok(version)
        })
    }
}

#[cfg(test)]
mod tests;
