//! A seller's partition (`SELLER#<id>`), read and written the one way the
//! stores that keep plain items there share (labels, stock, notifications,
//! pull notes): every item whose sort key starts with a prefix (all pages,
//! consistent read), an unconditional put, a put conditional on the item's
//! `version`, and the same in memory.
//!
//! [`Items`] (and [`VersionedItems`]) is that one way as a trait, for
//! `Store`, `MemoryStore` and `MemoryLabels`: the label and stock rules are
//! written once over it (`LabelStore`, `StockLedger`), not once per store.
//! Other conditional writes stay with their store: their conditions are
//! each store's own rule.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::SellerId;

use crate::error::Written;
use crate::item::{Expr, Item, n, s};
use crate::keys::{GSI1, GSI1PK, Key, PK, SK, seller_pk};
use crate::memory::MemoryStore;
use crate::{Store, StoreError};

/// The attribute a versioned item's version is kept in.
pub(crate) use crate::keys::VERSION;

/// A seller's plain items, in the table or in memory.
#[async_trait::async_trait]
pub(crate) trait Items: Send + Sync {
    /// Writes (or replaces) an item at its key.
    async fn put(&self, item: Item) -> Result<(), StoreError>;
    /// The item at `key` (consistent read).
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// The seller's items whose sort key starts with `prefix`, in key order.
    async fn with_prefix(&self, seller: &SellerId, prefix: &str) -> Result<Vec<Item>, StoreError>;
    /// Now (what expiry is checked against, what `updated_at` says).
    fn now(&self) -> DateTime<Utc>;

    /// The item at `key` read as `R`.
    async fn get_as<R>(&self, key: &Key) -> Result<Option<R>, StoreError>
    where
        R: for<'a> TryFrom<&'a Item, Error = StoreError>,
    {
        self.get(key).await?.map(|i| R::try_from(&i)).transpose()
    }
}

/// [`Items`] that are also written conditionally on their version, and deleted.
#[async_trait::async_trait]
pub(crate) trait VersionedItems: Items {
    /// Writes `item` at `key` if the stored item's version is `expected`
    /// (`None`: if there is none); else [`StoreError::Conflict`].
    async fn put_versioned(
        &self,
        key: &Key,
        item: Item,
        expected: Option<u64>,
    ) -> Result<(), StoreError>;
    async fn delete(&self, key: &Key) -> Result<(), StoreError>;
}

#[async_trait::async_trait]
impl Items for Store {
    async fn put(&self, item: Item) -> Result<(), StoreError> {
        let key = key_of(&item)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.into_map()))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("PutItem", key.to_string(), e))?;
        Ok(())
    }

    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.get_item(key, true).await
    }

    async fn with_prefix(&self, seller: &SellerId, prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.query_prefix(seller, prefix).await
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }
}

#[async_trait::async_trait]
impl VersionedItems for Store {
    async fn put_versioned(
        &self,
        key: &Key,
        item: Item,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut e = Expr::new();
        let condition = match expected {
            None => format!("attribute_not_exists({})", e.name(PK)),
            Some(v) => {
                let version = e.name(VERSION);
                format!("{version} = {}", e.value(n(v)))
            }
        };
        match self.put_if(key, item, &e, &condition).await? {
            Written::Done(_) => Ok(()),
            Written::ConditionFailed(_) => Err(StoreError::Conflict {
                pk: key.pk.clone(),
                sk: key.sk.clone(),
                expected,
            }),
        }
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(key)))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", key.to_string(), e))?;
        Ok(())
    }
}

impl Store {
    /// Every item of the seller whose sort key starts with `prefix`, all pages.
    pub(crate) async fn query_prefix(
        &self,
        seller: &SellerId,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut e = Expr::new();
            let pk = e.name(PK);
            let sk = e.name(SK);
            let pk_value = e.value(s(seller_pk(seller)));
            let prefix_value = e.value(s(prefix));
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!(
                    "{pk} = {pk_value} AND begins_with({sk}, {prefix_value})"
                ))
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| {
                    StoreError::dynamo("Query", format!("{} / {prefix}*", seller_pk(seller)), err)
                })?;
            out.extend(page.items.unwrap_or_default().into_iter().map(Item::from));
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Every item of the GSI1 partition `gsi1pk`, all pages, in GSI1 sort
    /// order or (`newest_first`) the reverse; only the `projection`
    /// attributes when any are named.
    pub(crate) async fn query_gsi1(
        &self,
        gsi1pk: &str,
        projection: &[&str],
        newest_first: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut e = Expr::new();
            let name = e.name(GSI1PK);
            let value = e.value(s(gsi1pk));
            let projection = (!projection.is_empty()).then(|| {
                projection
                    .iter()
                    .map(|a| e.name(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression(format!("{name} = {value}"))
                .set_scan_index_forward(newest_first.then_some(false))
                .set_projection_expression(projection)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| StoreError::dynamo("Query", format!("{GSI1} {gsi1pk}"), err))?;
            out.extend(page.items.unwrap_or_default().into_iter().map(Item::from));
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

/// The key an item holds (`pk`, `sk`).
pub(crate) fn key_of(item: &Item) -> Result<Key, StoreError> {
    Ok(Key {
        pk: item.s(PK)?.to_string(),
        sk: item.s(SK)?.to_string(),
    })
}

/// [`Store::query_prefix`] over items kept in memory (in key order).
pub(crate) fn seller_items<'a>(
    items: &'a BTreeMap<Key, Item>,
    seller: &SellerId,
    prefix: &'a str,
) -> impl Iterator<Item = &'a Item> + 'a {
    let pk = seller_pk(seller);
    items
        .iter()
        .filter(move |(k, _)| k.pk == pk && k.sk.starts_with(prefix))
        .map(|(_, i)| i)
}

/// [`Items`] over a map of items (the memory stores).
pub(crate) fn memory_put(items: &mut BTreeMap<Key, Item>, item: Item) -> Result<(), StoreError> {
    items.insert(key_of(&item)?, item);
    Ok(())
}

/// [`VersionedItems::put_versioned`] over a map of items.
fn memory_put_versioned(
    items: &mut BTreeMap<Key, Item>,
    key: &Key,
    item: Item,
    expected: Option<u64>,
) -> Result<(), StoreError> {
    let stored = match items.get(key) {
        Some(i) => Some(i.n::<u64>(VERSION)?),
        None => None,
    };
    if stored != expected {
        return Err(StoreError::Conflict {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            expected,
        });
    }
    items.insert(key.clone(), item);
    Ok(())
}

#[async_trait::async_trait]
impl Items for MemoryStore {
    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.with_items(|items| memory_put(items, item))
    }

    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Ok(self.with_items(|items| items.get(key).cloned()))
    }

    async fn with_prefix(&self, seller: &SellerId, prefix: &str) -> Result<Vec<Item>, StoreError> {
        Ok(self.with_items(|items| seller_items(items, seller, prefix).cloned().collect()))
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }
}

// Mirrors `impl VersionedItems for Store` above: the same version rules, in memory (unit tests).
#[async_trait::async_trait]
impl VersionedItems for MemoryStore {
    async fn put_versioned(
        &self,
        key: &Key,
        item: Item,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        self.with_items(|items| memory_put_versioned(items, key, item, expected))
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.with_items(|items| {
            items.remove(key);
        });
        Ok(())
    }
}
