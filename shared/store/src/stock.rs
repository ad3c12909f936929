//! The inventory push's memory (issue 5): per seller, what quantity each SKU
//! was last pushed to Amazon with, what is in flight in a feed, what Amazon
//! rejected, when the last full resync was, and which feeds still await
//! their processing report.
//!
//! Keys (one table, ARCHITECTURE.md "DynamoDB key schema"):
//! - `SELLER#<id>` / `STOCK#<nn>` — one of [`SHARDS`] shards; a SKU lives in
//!   shard `fnv1a(sku) % SHARDS`; attribute `entries` is the JSON map
//!   SKU → [`StockEntry`] (short field names), `version` guards writes.
//!   64 shards × ~380 KB hold about 700,000 SKUs per seller, and 100,000
//!   SKUs load in 64 items (a few 1 MB query pages), not 100,000.
//! - `SELLER#<id>` / `STOCKMETA` — [`StockMeta`] (last full resync), versioned.
//! - `SELLER#<id>` / `STOCKFEED#<feed id>` — a [`TrackedFeed`] until its
//!   report has been read.
//!
//! No TTL: the state is small and must outlive any schedule. No buyer data.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use domain::SellerId;
use serde::{Deserialize, Serialize};

use crate::checkpoint::next_version;
use crate::item::{Item, format_time, n, s};
use crate::keys::{Key, SK, seller_pk};
use crate::memory::MemoryStore;
use crate::partition::{VERSION, VersionedItems};
use crate::settings::{from_json, to_json};
use crate::{Store, StoreError};

/// How many shard items hold a seller's SKUs.
pub const SHARDS: u16 = 64;
/// Largest `entries` JSON written to one shard (DynamoDB's item limit is 400 KB).
pub const MAX_SHARD_BYTES: usize = 380_000;

const ENTRIES: &str = "entries";
const UPDATED_AT: &str = "updated_at";
const LAST_FULL_RESYNC: &str = "last_full_resync";
const FEED: &str = "feed";
const SHARD_PREFIX: &str = "STOCK#";
const FEED_PREFIX: &str = "STOCKFEED#";
const META_SK: &str = "STOCKMETA";

impl Key {
    pub fn stock_shard(seller: &SellerId, shard: u16) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("{SHARD_PREFIX}{shard:02}"),
        }
    }

    pub fn stock_meta(seller: &SellerId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: META_SK.to_string(),
        }
    }

    pub fn stock_feed(seller: &SellerId, feed_id: &str) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("{FEED_PREFIX}{feed_id}"),
        }
    }
}

/// A quantity sent in a feed whose report has not been read yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPush {
    #[serde(rename = "n")]
    pub quantity: u32,
    #[serde(rename = "f")]
    pub feed_id: String,
    #[serde(rename = "m")]
    pub message_id: u32,
}

/// Amazon refused this quantity for this SKU (reported; not re-sent until
/// the quantity changes or a full resync).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    #[serde(rename = "n")]
    pub quantity: u32,
    /// Amazon's issue code (or `INVALID` when it gave none).
    #[serde(rename = "c")]
    pub code: String,
}

/// What the connector knows about one SKU on Amazon.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockEntry {
    /// The last quantity Amazon accepted.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub pushed: Option<u32>,
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingPush>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejection>,
}

impl StockEntry {
    fn is_empty(&self) -> bool {
        self.pushed.is_none() && self.pending.is_none() && self.rejected.is_none()
    }
}

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between releases).
pub fn shard_of(sku: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in sku.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % u32::from(SHARDS)) as u16
}

/// One shard as read (its version guards the write back).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockShard {
    pub version: Option<u64>,
    pub entries: BTreeMap<String, StockEntry>,
}

/// All of a seller's SKU states, with the shards that changed since loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockBook {
    shards: Vec<StockShard>,
    dirty: BTreeSet<u16>,
}

impl Default for StockBook {
    fn default() -> Self {
        Self {
            shards: vec![StockShard::default(); usize::from(SHARDS)],
            dirty: BTreeSet::new(),
        }
    }
}

impl StockBook {
    pub fn get(&self, sku: &str) -> Option<&StockEntry> {
        self.shards[usize::from(shard_of(sku))].entries.get(sku)
    }

    /// Changes one SKU's state (the shard is written by the next save).
    pub fn update(&mut self, sku: &str, f: impl FnOnce(&mut StockEntry)) {
        let i = shard_of(sku);
        let entries = &mut self.shards[usize::from(i)].entries;
        let entry = entries.entry(sku.to_string()).or_default();
        let before = entry.clone();
        f(entry);
        let changed = *entry != before;
        if entry.is_empty() {
            entries.remove(sku);
        }
        if changed {
            self.dirty.insert(i);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &StockEntry)> {
        self.shards.iter().flat_map(|s| s.entries.iter())
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dirty_shards(&self) -> usize {
        self.dirty.len()
    }
}

/// When the seller's last full resync was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockMeta {
    pub last_full_resync: Option<DateTime<Utc>>,
    /// The version read (`None`: never written).
    pub version: Option<u64>,
}

/// A submitted feed whose processing report has not been read yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedFeed {
    pub feed_id: String,
    pub submitted_at: DateTime<Utc>,
    pub messages: u32,
    /// Set once the feed was reported stuck (its SKUs released for re-push).
    #[serde(default)]
    pub stuck_since: Option<DateTime<Utc>>,
}

/// The inventory push's state. Implemented by [`Store`] and [`MemoryStore`].
#[async_trait::async_trait]
pub trait StockLedger: Send + Sync {
    async fn load_stock(&self, seller: &SellerId) -> Result<StockBook, StoreError>;
    /// Writes the shards changed since loading, each conditional on the
    /// version read ([`StoreError::Conflict`] if another run wrote one);
    /// returns how many were written.
    async fn save_stock(
        &self,
        seller: &SellerId,
        book: &mut StockBook,
    ) -> Result<usize, StoreError>;
    async fn stock_meta(&self, seller: &SellerId) -> Result<StockMeta, StoreError>;
    /// Writes `meta` if the stored version is still `meta.version`; returns the new version.
    async fn put_stock_meta(&self, seller: &SellerId, meta: &StockMeta) -> Result<u64, StoreError>;
    async fn tracked_feeds(&self, seller: &SellerId) -> Result<Vec<TrackedFeed>, StoreError>;
    async fn track_feed(&self, seller: &SellerId, feed: &TrackedFeed) -> Result<(), StoreError>;
    async fn untrack_feed(&self, seller: &SellerId, feed_id: &str) -> Result<(), StoreError>;
}

fn shard_index(sk: &str) -> Option<u16> {
    sk.strip_prefix(SHARD_PREFIX)?
        .parse::<u16>()
        .ok()
        .filter(|&i| i < SHARDS)
}

fn shard_item(
    seller: &SellerId,
    i: u16,
    shard: &StockShard,
    now: DateTime<Utc>,
) -> Result<Item, StoreError> {
    let json = to_json("stock shard", &shard.entries)?;
    if json.len() > MAX_SHARD_BYTES {
        return Err(StoreError::Json {
            what: "stock shard",
            path: ".".into(),
            problem: format!(
                "{} bytes is more than one DynamoDB item holds ({MAX_SHARD_BYTES}): the seller has too many SKUs for {SHARDS} shards",
                json.len()
            ),
        });
    }
    Ok(Item::new(&Key::stock_shard(seller, i))
        .with(ENTRIES, s(json))
        .with(VERSION, n(next_version(shard.version)))
        .with(UPDATED_AT, s(format_time(now))))
}

fn read_shard(item: &Item) -> Result<(u16, StockShard), StoreError> {
    let sk = item.s(SK)?;
    let i = shard_index(sk).ok_or_else(|| item.malformed(SK, "is not a stock shard key"))?;
    Ok((
        i,
        StockShard {
            version: Some(item.n(VERSION)?),
            entries: from_json("stock shard", item.s(ENTRIES)?)?,
        },
    ))
}

fn feed_item(seller: &SellerId, feed: &TrackedFeed) -> Result<Item, StoreError> {
    Ok(Item::new(&Key::stock_feed(seller, &feed.feed_id))
        .with(FEED, s(to_json("tracked feed", feed)?)))
}

fn read_feed(item: &Item) -> Result<TrackedFeed, StoreError> {
    from_json("tracked feed", item.s(FEED)?)
}

/// Where stock items live: the table, or memory (`MemoryStore`).
pub(crate) trait StockItems: VersionedItems {}
impl StockItems for Store {}
impl StockItems for MemoryStore {}

#[async_trait::async_trait]
impl<T: StockItems> StockLedger for T {
    async fn load_stock(&self, seller: &SellerId) -> Result<StockBook, StoreError> {
        let mut book = StockBook::default();
        for item in self.with_prefix(seller, SHARD_PREFIX).await? {
            let (i, shard) = read_shard(&item)?;
            book.shards[usize::from(i)] = shard;
        }
        Ok(book)
    }

    async fn save_stock(
        &self,
        seller: &SellerId,
        book: &mut StockBook,
    ) -> Result<usize, StoreError> {
        let now = self.now();
        let dirty: Vec<u16> = book.dirty.iter().copied().collect();
        for i in &dirty {
            let shard = &book.shards[usize::from(*i)];
            let item = shard_item(seller, *i, shard, now)?;
            self.put_versioned(&Key::stock_shard(seller, *i), item, shard.version)
                .await?;
            let shard = &mut book.shards[usize::from(*i)];
            shard.version = Some(next_version(shard.version));
            book.dirty.remove(i);
        }
        tracing::debug!(seller = %seller, shards = dirty.len(), "stock shards written");
        Ok(dirty.len())
    }

    async fn stock_meta(&self, seller: &SellerId) -> Result<StockMeta, StoreError> {
        match self.get(&Key::stock_meta(seller)).await? {
            Some(item) => Ok(StockMeta {
                last_full_resync: item.opt_time(LAST_FULL_RESYNC)?,
                version: Some(item.n(VERSION)?),
            }),
            None => Ok(StockMeta::default()),
        }
    }

    async fn put_stock_meta(&self, seller: &SellerId, meta: &StockMeta) -> Result<u64, StoreError> {
        let key = Key::stock_meta(seller);
        let version = next_version(meta.version);
        let item = Item::new(&key).with(VERSION, n(version)).with_opt(
            LAST_FULL_RESYNC,
            meta.last_full_resync.map(|t| s(format_time(t))),
        );
        self.put_versioned(&key, item, meta.version).await?;
        Ok(version)
    }

    async fn tracked_feeds(&self, seller: &SellerId) -> Result<Vec<TrackedFeed>, StoreError> {
        self.with_prefix(seller, FEED_PREFIX)
            .await?
            .iter()
            .map(read_feed)
            .collect()
    }

    async fn track_feed(&self, seller: &SellerId, feed: &TrackedFeed) -> Result<(), StoreError> {
        self.put(feed_item(seller, feed)?).await
    }

    async fn untrack_feed(&self, seller: &SellerId, feed_id: &str) -> Result<(), StoreError> {
        self.delete(&Key::stock_feed(seller, feed_id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller() -> SellerId {
        SellerId::new("A3EXAMPLESELLER").unwrap()
    }

    #[test]
    fn keys_and_shards_are_stable() {
        assert_eq!(Key::stock_shard(&seller(), 7).sk, "STOCK#07");
        assert_eq!(Key::stock_meta(&seller()).sk, "STOCKMETA");
        assert_eq!(Key::stock_feed(&seller(), "123").sk, "STOCKFEED#123");
        // FNV-1a of known strings: a change here would re-shard every seller.
        assert_eq!(shard_of(""), (0x811c_9dc5u32 % 64) as u16);
        assert_eq!(shard_of("SKU-1"), shard_of("SKU-1"));
        let spread: BTreeSet<u16> = (0..1000).map(|i| shard_of(&format!("SKU-{i}"))).collect();
        assert_eq!(
            spread.len(),
            usize::from(SHARDS),
            "1000 SKUs use every shard"
        );
    }

    #[tokio::test]
    async fn the_memory_store_keeps_versions_and_refuses_a_stale_write() {
        let store = MemoryStore::new();
        let mut book = store.load_stock(&seller()).await.unwrap();
        assert!(book.is_empty());
        book.update("A", |e| e.pushed = Some(3));
        book.update("B", |e| {
            e.pending = Some(PendingPush {
                quantity: 1,
                feed_id: "F1".into(),
                message_id: 1,
            })
        });
        book.update("C", |_| {});
        assert_eq!(book.len(), 2, "an untouched SKU is not stored");
        let mut stale = store.load_stock(&seller()).await.unwrap();
        assert_eq!(
            store.save_stock(&seller(), &mut book).await.unwrap(),
            book_shards(&["A", "B"])
        );
        assert_eq!(
            store.save_stock(&seller(), &mut book).await.unwrap(),
            0,
            "nothing dirty"
        );
        let again = store.load_stock(&seller()).await.unwrap();
        assert_eq!(again.get("A").unwrap().pushed, Some(3));
        assert_eq!(
            again.get("B").unwrap().pending.as_ref().unwrap().feed_id,
            "F1"
        );
        stale.update("A", |e| e.pushed = Some(9));
        assert!(matches!(
            store.save_stock(&seller(), &mut stale).await,
            Err(StoreError::Conflict { .. })
        ));
        let mut meta = store.stock_meta(&seller()).await.unwrap();
        assert_eq!(meta, StockMeta::default());
        meta.last_full_resync = Some(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        assert_eq!(store.put_stock_meta(&seller(), &meta).await.unwrap(), 1);
        assert!(
            store.put_stock_meta(&seller(), &meta).await.is_err(),
            "stale version"
        );
        let read = store.stock_meta(&seller()).await.unwrap();
        assert_eq!(read.last_full_resync, meta.last_full_resync);
        assert_eq!(read.version, Some(1));
        let feed = TrackedFeed {
            feed_id: "F1".into(),
            submitted_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            messages: 2,
            stuck_since: None,
        };
        store.track_feed(&seller(), &feed).await.unwrap();
        assert_eq!(store.tracked_feeds(&seller()).await.unwrap(), vec![feed]);
        store.untrack_feed(&seller(), "F1").await.unwrap();
        assert!(store.tracked_feeds(&seller()).await.unwrap().is_empty());
    }

    fn book_shards(skus: &[&str]) -> usize {
        skus.iter()
            .map(|s| shard_of(s))
            .collect::<BTreeSet<_>>()
            .len()
    }
}
