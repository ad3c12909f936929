//! Shipping labels (Amazon Shipping v2), all under the seller's partition
//! `SELLER#<seller id>`:
//!
//! | item | sk | TTL |
//! |---|---|---|
//! | rate quote (what getRates answered, to buy from it) | `RATES#<request token>` | a day after the token expires |
//! | bought label (shipment id, tracking ids, what to reprint, cancel and track) | `LABEL#<shipment id>` | the caller's retention |
//! | label document chunk (the file, base64, ≤ 300,000 characters per item) | `LABELDOC#<shipment id>#<document nnn>#<chunk nnnn>` | the caller's retention (a label prints the buyer's address) |
//!
//! A label bought through the **Amazon channel** makes Amazon mark the order
//! shipped itself; the label function tells the shipment-confirmation job
//! through that job's own records ([`crate::ShipmentRecords::record_label_bought`],
//! `SHIPMENTS#<order>`), which it consults before confirming a package.
//!
//! Why chunks: DynamoDB items are limited to 400 KB, and a label file (a PDF
//! of several pages, a 300 dpi PNG) can be larger. Documents are split into
//! items of at most [`DOCUMENT_CHUNK_CHARS`] characters and put back
//! together (count and SHA-256 checked) when a purchase is replayed. What
//! is larger than [`MAX_STORED_DOCUMENT_CHARS`] in all is not stored: the
//! replay then fetches it from Amazon again (getShipmentDocuments), since
//! a Lambda answer cannot carry more than 6 MB anyway.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::{AmazonOrderId, Pii, SellerId};

use crate::item::{Item, format_time, n, s};
use crate::keys::{EXPIRES_AT, Key, PK, SK, seller_pk};
use crate::partition::{Items, memory_put, seller_items};
use crate::{Store, StoreError};

/// The largest piece of a document stored in one item (base64 characters).
pub const DOCUMENT_CHUNK_CHARS: usize = 300_000;
/// The most document text one purchase stores (base64 characters).
pub const MAX_STORED_DOCUMENT_CHARS: usize = 4 * 1024 * 1024;

const PAYLOAD: &str = "payload";
const TOKEN_EXPIRES: &str = "token_expires_at";
const SHIPMENT_ID: &str = "shipment_id";
const AMAZON_ORDER_ID: &str = "amazon_order_id";
const TRACKING_IDS: &str = "tracking_ids";
const CARRIER: &str = "carrier";
const PURCHASED_AT: &str = "purchased_at";
const CANCELLED_AT: &str = "cancelled_at";
const PACKAGE_ID: &str = "package_id";
const DOC_TYPE: &str = "doc_type";
const FORMAT: &str = "format";
const CHUNK: &str = "chunk";
const CHUNKS: &str = "chunks";
const SHA256: &str = "sha256";
const DATA: &str = "data";

fn token_part(token: &str) -> String {
    // Keys hold at most 1024 bytes; Amazon's tokens are short, but be safe.
    if token.len() > 256 {
        format!(
            "sha256:{}",
            crate::idempotency::sha256_hex(token.as_bytes())
        )
    } else {
        token.to_string()
    }
}

impl Key {
    pub fn rate_quote(seller: &SellerId, request_token: &str) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("RATES#{}", token_part(request_token)),
        }
    }

    pub fn purchase_intent(seller: &SellerId, idempotency_key: &str) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("BUYING#{}", token_part(idempotency_key)),
        }
    }

    pub fn label(seller: &SellerId, shipment_id: &str) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("LABEL#{shipment_id}"),
        }
    }

    pub fn label_document(seller: &SellerId, shipment_id: &str, doc: usize, chunk: usize) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("{}{doc:03}#{chunk:04}", documents_prefix(shipment_id)),
        }
    }
}

fn documents_prefix(shipment_id: &str) -> String {
    format!("LABELDOC#{shipment_id}#")
}

/// What getRates answered, kept until the token expires so a purchase can
/// pick from it. The payload is the function's own JSON (no buyer data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateQuote {
    pub seller_id: SellerId,
    pub request_token: String,
    pub token_expires_at: DateTime<Utc>,
    pub payload: String,
}

/// A purchase about to be asked of Amazon under a WMS idempotency key: the
/// request (rate token, rate, quote) as the label function's JSON, no buyer
/// data. Written before Amazon is asked, so a run that dies after Amazon
/// sold the label and before it recorded it leaves it: the next run under
/// the same key sends the same request, which Amazon answers with that
/// label (`x-amzn-IdempotencyKey`) instead of selling another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseIntent {
    pub seller_id: SellerId,
    pub idempotency_key: String,
    pub payload: String,
    pub expires_at: i64,
}

/// One bought label. The payload is the function's own JSON (ids, carrier,
/// service, price, packages; no buyer data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoughtLabel {
    pub seller_id: SellerId,
    pub shipment_id: String,
    /// Set when bought through the Amazon channel (Amazon confirms the shipment).
    pub amazon_order_id: Option<AmazonOrderId>,
    pub tracking_ids: Vec<String>,
    pub carrier: String,
    pub purchased_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub payload: String,
    /// TTL, epoch seconds.
    pub expires_at: i64,
}

/// A label file. `contents` is base64 and prints the ship-to address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelDocument {
    pub package_id: String,
    /// `LABEL`, `RECEIPT`, ...
    pub doc_type: String,
    /// `PDF`, `PNG` or `ZPL`.
    pub format: String,
    pub contents: Pii<String>,
}

/// The answer of [`LabelStore::mark_label_cancelled`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// Recorded now.
    Now(BoughtLabel),
    /// It was cancelled before (at the recorded time).
    Already(BoughtLabel),
}

// The put/get pairs look alike: one per item kind (quote, intent, label, documents).
/// Labels in the store (DynamoDB, or memory in unit tests).
#[async_trait::async_trait]
pub trait LabelStore: Send + Sync {
    async fn put_rate_quote(&self, quote: &RateQuote) -> Result<(), StoreError>;

    async fn get_rate_quote(
        &self,
        seller: &SellerId,
        request_token: &str,
    ) -> Result<Option<RateQuote>, StoreError>;

    /// Writes (or replaces) the purchase about to be asked of Amazon.
    async fn put_purchase_intent(&self, intent: &PurchaseIntent) -> Result<(), StoreError>;

    async fn get_purchase_intent(
        &self,
        seller: &SellerId,
        idempotency_key: &str,
    ) -> Result<Option<PurchaseIntent>, StoreError>;

    /// Writes the label; writing the same label again (a replayed purchase)
    /// is harmless.
    async fn put_label(&self, label: &BoughtLabel) -> Result<(), StoreError>;

    async fn get_label(
        &self,
        seller: &SellerId,
        shipment_id: &str,
    ) -> Result<Option<BoughtLabel>, StoreError>;

    /// Records the cancellation; `NotFound` if no such label.
    async fn mark_label_cancelled(
        &self,
        seller: &SellerId,
        shipment_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Cancelled, StoreError>;

    /// Stores the documents in chunks; `false` (nothing stored) when they are
    /// larger than [`MAX_STORED_DOCUMENT_CHARS`] in all.
    async fn put_documents(
        &self,
        seller: &SellerId,
        shipment_id: &str,
        documents: &[LabelDocument],
        expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// The stored documents, in the order stored (empty if none or expired).
    async fn get_documents(
        &self,
        seller: &SellerId,
        shipment_id: &str,
    ) -> Result<Vec<LabelDocument>, StoreError>;
}

/// Splits documents into chunk items (document index, chunk index, item).
fn chunk_items(
    seller: &SellerId,
    shipment_id: &str,
    documents: &[LabelDocument],
    expires_at: i64,
) -> Vec<Item> {
    let mut items = Vec::new();
    for (d, doc) in documents.iter().enumerate() {
        let text = doc.contents.expose();
        let pieces: Vec<&str> = if text.is_empty() {
            vec![""]
        } else {
            // base64 is ASCII, so byte offsets are character boundaries.
            text.as_bytes()
                .chunks(DOCUMENT_CHUNK_CHARS)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect()
        };
        let hash = crate::idempotency::sha256_hex(text.as_bytes());
        for (c, piece) in pieces.iter().enumerate() {
            items.push(
                Item::new(&Key::label_document(seller, shipment_id, d, c))
                    .with(SHIPMENT_ID, s(shipment_id))
                    .with(PACKAGE_ID, s(doc.package_id.clone()))
                    .with(DOC_TYPE, s(doc.doc_type.clone()))
                    .with(FORMAT, s(doc.format.clone()))
                    .with(CHUNK, n(c))
                    .with(CHUNKS, n(pieces.len()))
                    .with(SHA256, s(hash.clone()))
                    .with(DATA, s(*piece))
                    .with(EXPIRES_AT, n(expires_at)),
            );
        }
    }
    items
}

/// Puts chunk items (in key order) back together, checking count and hash.
fn assemble(items: &[Item], now_secs: i64) -> Result<Vec<LabelDocument>, StoreError> {
    let mut docs: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
    for item in items {
        if item.n::<i64>(EXPIRES_AT)? < now_secs {
            // Expired (TTL lags): as if gone. The caller fetches from Amazon.
            return Ok(Vec::new());
        }
        let sk = item.s(SK)?;
        let doc = sk.rsplit_once('#').map(|(d, _)| d).unwrap_or(sk);
        docs.entry(doc.to_string()).or_default().push(item);
    }
    let mut out = Vec::new();
    for (_, mut chunks) in docs {
        chunks.sort_by_key(|i| i.n::<usize>(CHUNK).unwrap_or(usize::MAX));
        let first = chunks[0];
        let expected: usize = first.n(CHUNKS)?;
        if chunks.len() != expected {
            return Err(first.malformed(
                CHUNKS,
                format!("says {expected} chunks, {} found", chunks.len()),
            ));
        }
        let mut text = String::new();
        for (c, item) in chunks.iter().enumerate() {
            if item.n::<usize>(CHUNK)? != c {
                return Err(item.malformed(CHUNK, "chunks are not numbered 0..n"));
            }
            text.push_str(item.s(DATA)?);
        }
        if crate::idempotency::sha256_hex(text.as_bytes()) != first.s(SHA256)? {
            return Err(first.malformed(SHA256, "does not match the document put together"));
        }
        out.push(LabelDocument {
            package_id: first.s(PACKAGE_ID)?.to_string(),
            doc_type: first.s(DOC_TYPE)?.to_string(),
            format: first.s(FORMAT)?.to_string(),
            contents: Pii::new(text),
        });
    }
    Ok(out)
}

fn total_chars(documents: &[LabelDocument]) -> usize {
    documents.iter().map(|d| d.contents.expose().len()).sum()
}

impl From<&RateQuote> for Item {
    fn from(q: &RateQuote) -> Self {
        Item::new(&Key::rate_quote(&q.seller_id, &q.request_token))
            .with("request_token", s(q.request_token.clone()))
            .with(TOKEN_EXPIRES, s(format_time(q.token_expires_at)))
            .with(PAYLOAD, s(q.payload.clone()))
            .with(EXPIRES_AT, n(q.token_expires_at.timestamp() + 24 * 3600))
    }
}

impl From<&PurchaseIntent> for Item {
    fn from(i: &PurchaseIntent) -> Self {
        Item::new(&Key::purchase_intent(&i.seller_id, &i.idempotency_key))
            .with("idempotency_key", s(i.idempotency_key.clone()))
            .with(PAYLOAD, s(i.payload.clone()))
            .with(EXPIRES_AT, n(i.expires_at))
    }
}

impl TryFrom<&Item> for PurchaseIntent {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            seller_id: seller_of(item)?,
            idempotency_key: item.s("idempotency_key")?.to_string(),
            payload: item.s(PAYLOAD)?.to_string(),
            expires_at: item.n(EXPIRES_AT)?,
        })
    }
}

fn seller_of(item: &Item) -> Result<SellerId, StoreError> {
    let pk = item.s(PK)?;
    pk.strip_prefix("SELLER#")
        .and_then(|id| SellerId::new(id).ok())
        .ok_or_else(|| item.malformed(PK, "is not SELLER#<seller id>"))
}

impl TryFrom<&Item> for RateQuote {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            seller_id: seller_of(item)?,
            request_token: item.s("request_token")?.to_string(),
            token_expires_at: item.time(TOKEN_EXPIRES)?,
            payload: item.s(PAYLOAD)?.to_string(),
        })
    }
}

fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.clone())).collect())
}

fn read_list(item: &Item, name: &str) -> Result<Vec<String>, StoreError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.clone()),
                _ => Err(item.malformed(name, "holds something other than strings")),
            })
            .collect(),
        Some(_) => Err(item.malformed(name, "is not a list")),
    }
}

impl From<&BoughtLabel> for Item {
    fn from(l: &BoughtLabel) -> Self {
        Item::new(&Key::label(&l.seller_id, &l.shipment_id))
            .with(SHIPMENT_ID, s(l.shipment_id.clone()))
            .with_opt(
                AMAZON_ORDER_ID,
                l.amazon_order_id.as_ref().map(|o| s(o.to_string())),
            )
            .with(TRACKING_IDS, string_list(&l.tracking_ids))
            .with(CARRIER, s(l.carrier.clone()))
            .with(PURCHASED_AT, s(format_time(l.purchased_at)))
            .with_opt(CANCELLED_AT, l.cancelled_at.map(|t| s(format_time(t))))
            .with(PAYLOAD, s(l.payload.clone()))
            .with(EXPIRES_AT, n(l.expires_at))
    }
}

impl TryFrom<&Item> for BoughtLabel {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            seller_id: seller_of(item)?,
            shipment_id: item.s(SHIPMENT_ID)?.to_string(),
            amazon_order_id: item
                .opt_s(AMAZON_ORDER_ID)?
                .map(|o| {
                    AmazonOrderId::new(o)
                        .map_err(|_| item.malformed(AMAZON_ORDER_ID, "is not an Amazon order id"))
                })
                .transpose()?,
            tracking_ids: read_list(item, TRACKING_IDS)?,
            carrier: item.s(CARRIER)?.to_string(),
            purchased_at: item.time(PURCHASED_AT)?,
            cancelled_at: item.opt_time(CANCELLED_AT)?,
            payload: item.s(PAYLOAD)?.to_string(),
            expires_at: item.n(EXPIRES_AT)?,
        })
    }
}

/// Where label items live: the table, or memory (`MemoryLabels`, unit
/// tests). The label rules are written once, over it.
pub(crate) trait LabelItems: Items {}
impl LabelItems for Store {}
impl LabelItems for MemoryLabels {}

#[async_trait::async_trait]
impl<T: LabelItems> LabelStore for T {
    async fn put_rate_quote(&self, quote: &RateQuote) -> Result<(), StoreError> {
        self.put(Item::from(quote)).await
    }

    async fn get_rate_quote(
        &self,
        seller: &SellerId,
        request_token: &str,
    ) -> Result<Option<RateQuote>, StoreError> {
        self.get_as(&Key::rate_quote(seller, request_token)).await
    }

    async fn put_purchase_intent(&self, intent: &PurchaseIntent) -> Result<(), StoreError> {
        self.put(Item::from(intent)).await
    }

    async fn get_purchase_intent(
        &self,
        seller: &SellerId,
        idempotency_key: &str,
    ) -> Result<Option<PurchaseIntent>, StoreError> {
        self.get_as(&Key::purchase_intent(seller, idempotency_key))
            .await
    }

    async fn put_label(&self, label: &BoughtLabel) -> Result<(), StoreError> {
        self.put(Item::from(label)).await
    }

    async fn get_label(
        &self,
        seller: &SellerId,
        shipment_id: &str,
    ) -> Result<Option<BoughtLabel>, StoreError> {
        self.get_as(&Key::label(seller, shipment_id)).await
    }

    async fn mark_label_cancelled(
        &self,
        seller: &SellerId,
        shipment_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Cancelled, StoreError> {
        let key = Key::label(seller, shipment_id);
        let Some(mut label) = self.get_label(seller, shipment_id).await? else {
            return Err(StoreError::NotFound {
                what: "label",
                pk: key.pk,
                sk: key.sk,
            });
        };
        if label.cancelled_at.is_some() {
            return Ok(Cancelled::Already(label));
        }
        label.cancelled_at = Some(at);
        self.put_label(&label).await?;
        Ok(Cancelled::Now(label))
    }

    async fn put_documents(
        &self,
        seller: &SellerId,
        shipment_id: &str,
        documents: &[LabelDocument],
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        if total_chars(documents) > MAX_STORED_DOCUMENT_CHARS {
            return Ok(false);
        }
        for item in chunk_items(seller, shipment_id, documents, expires_at) {
            self.put(item).await?;
        }
        Ok(true)
    }

    async fn get_documents(
        &self,
        seller: &SellerId,
        shipment_id: &str,
    ) -> Result<Vec<LabelDocument>, StoreError> {
        let items = self
            .with_prefix(seller, &documents_prefix(shipment_id))
            .await?;
        assemble(&items, self.now().timestamp())
    }
}

/// [`LabelStore`] in memory, with the same item mapping (unit tests).
/// Clones share the same state.
#[derive(Clone, Default)]
pub struct MemoryLabels {
    items: Arc<Mutex<BTreeMap<Key, Item>>>,
    now_secs: Option<i64>,
}

impl std::fmt::Debug for MemoryLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLabels").finish_non_exhaustive()
    }
}

impl MemoryLabels {
    pub fn new() -> Self {
        Self::default()
    }

    /// Documents expire against this time (epoch seconds) instead of now.
    pub fn at(mut self, now_secs: i64) -> Self {
        self.now_secs = Some(now_secs);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Item>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many items the store holds (tests: chunking).
    pub fn item_count(&self) -> usize {
        self.lock().len()
    }
}

#[async_trait::async_trait]
impl Items for MemoryLabels {
    async fn put(&self, item: Item) -> Result<(), StoreError> {
        memory_put(&mut self.lock(), item)
    }

    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn with_prefix(&self, seller: &SellerId, prefix: &str) -> Result<Vec<Item>, StoreError> {
        Ok(seller_items(&self.lock(), seller, prefix)
            .cloned()
            .collect())
    }

    fn now(&self) -> DateTime<Utc> {
        self.now_secs
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .unwrap_or_else(Utc::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller() -> SellerId {
        SellerId::new("A3EXAMPLESELLER").unwrap()
    }

    fn doc(package: &str, chars: usize) -> LabelDocument {
        let text: String = (0..chars)
            .map(|i| (b'A' + (i % 26) as u8) as char)
            .collect();
        LabelDocument {
            package_id: package.into(),
            doc_type: "LABEL".into(),
            format: "PDF".into(),
            contents: Pii::new(text),
        }
    }

    #[tokio::test]
    async fn a_purchase_intent_is_kept_per_idempotency_key() {
        let m = MemoryLabels::default();
        assert_eq!(
            m.get_purchase_intent(&seller(), "PKG-1").await.unwrap(),
            None
        );
        let intent = PurchaseIntent {
            seller_id: seller(),
            idempotency_key: "PKG-1".into(),
            payload: r#"{"token":"t"}"#.into(),
            expires_at: 1_900_000_000,
        };
        m.put_purchase_intent(&intent).await.unwrap();
        assert_eq!(
            m.get_purchase_intent(&seller(), "PKG-1").await.unwrap(),
            Some(intent.clone())
        );
        assert_eq!(
            m.get_purchase_intent(&seller(), "PKG-2").await.unwrap(),
            None
        );
        // The item round-trips as the Dynamo store writes it.
        assert_eq!(
            PurchaseIntent::try_from(&Item::from(&intent)).unwrap(),
            intent
        );
    }

    #[tokio::test]
    async fn documents_larger_than_an_item_are_chunked_and_put_back_together() {
        let store = MemoryLabels::new();
        let docs = vec![
            doc("P1", DOCUMENT_CHUNK_CHARS * 2 + 17),
            doc("P2", 10),
            doc("P3", DOCUMENT_CHUNK_CHARS),
        ];
        let far = Utc::now().timestamp() + 3600;
        assert!(
            store
                .put_documents(&seller(), "SH1", &docs, far)
                .await
                .unwrap()
        );
        // 3 + 1 + 1 items, each far below DynamoDB's 400 KB.
        assert_eq!(store.item_count(), 5);
        assert_eq!(store.get_documents(&seller(), "SH1").await.unwrap(), docs);
        assert!(
            store
                .get_documents(&seller(), "SH2")
                .await
                .unwrap()
                .is_empty()
        );
        // Expired documents read as gone.
        let later = store.clone().at(far + 1);
        assert!(
            later
                .get_documents(&seller(), "SH1")
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn too_large_documents_are_not_stored() {
        let store = MemoryLabels::new();
        let docs = vec![doc("P1", MAX_STORED_DOCUMENT_CHARS + 1)];
        assert!(
            !store
                .put_documents(&seller(), "SH1", &docs, i64::MAX)
                .await
                .unwrap()
        );
        assert_eq!(store.item_count(), 0);
    }

    #[test]
    fn a_corrupt_chunk_is_detected() {
        let docs = vec![doc("P1", DOCUMENT_CHUNK_CHARS + 5)];
        let mut items = chunk_items(&seller(), "SH1", &docs, i64::MAX);
        items[1].set(DATA, s("XXXXX"));
        let err = assemble(&items, 0).unwrap_err().to_string();
        assert!(err.contains("sha256"), "{err}");
        items.pop();
        let err = assemble(&items, 0).unwrap_err().to_string();
        assert!(err.contains("chunks"), "{err}");
    }

    #[tokio::test]
    async fn labels_round_trip_and_are_cancelled_once() {
        let store = MemoryLabels::new();
        let order = AmazonOrderId::new("302-1234567-1234567").unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let label = BoughtLabel {
            seller_id: seller(),
            shipment_id: "SH1".into(),
            amazon_order_id: Some(order),
            tracking_ids: vec!["AMZN0001".into(), "AMZN0002".into()],
            carrier: "Amazon Shipping".into(),
            purchased_at: now,
            cancelled_at: None,
            payload: "{}".into(),
            expires_at: now.timestamp() + 100,
        };
        store.put_label(&label).await.unwrap();
        assert_eq!(
            store.get_label(&seller(), "SH1").await.unwrap(),
            Some(label.clone())
        );
        let Cancelled::Now(c) = store
            .mark_label_cancelled(&seller(), "SH1", now)
            .await
            .unwrap()
        else {
            panic!("first cancellation")
        };
        assert_eq!(c.cancelled_at, Some(now));
        assert!(matches!(
            store
                .mark_label_cancelled(&seller(), "SH1", now)
                .await
                .unwrap(),
            Cancelled::Already(_)
        ));
        let err = store
            .mark_label_cancelled(&seller(), "SH9", now)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }));
        let quote = RateQuote {
            seller_id: seller(),
            request_token: "RT1".into(),
            token_expires_at: now,
            payload: "{\"rates\":[]}".into(),
        };
        store.put_rate_quote(&quote).await.unwrap();
        assert_eq!(
            store.get_rate_quote(&seller(), "RT1").await.unwrap(),
            Some(quote)
        );
        assert_eq!(store.get_rate_quote(&seller(), "RT2").await.unwrap(), None);
    }
}
