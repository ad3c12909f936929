//! The key schema (ARCHITECTURE.md, "DynamoDB key schema"), in one place:
//! every `pk`, `sk`, `gsi1pk` and `gsi1sk` the crate writes is formatted here.

use std::fmt;

use domain::quota::BucketKey;
use domain::{AmazonOrderId, SellerId};
use sha2::{Digest, Sha256};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
/// The table's TTL attribute (epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";
/// The optimistic-lock counter of an item written only over the version it
/// was read at (settings, checkpoints, stock, shipments, buckets, coalescing).
pub const VERSION: &str = "version";

/// `gsi1pk` of every seller-settings item: lists all sellers.
pub const SELLERS: &str = "SELLERS";
pub const SETTINGS_SK: &str = "SETTINGS";

/// Lower-case hex SHA-256 of `bytes`: a payload hash for
/// [`RunOptions`](crate::RunOptions), and what a key too long to store as is
/// becomes.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// Longest idempotency key stored as is; longer keys are stored as their
/// SHA-256 (a sort key holds at most 1024 bytes).
const MAX_PLAIN_KEY: usize = 256;

/// An item's primary key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.pk, self.sk)
    }
}

pub fn seller_pk(seller: &SellerId) -> String {
    format!("SELLER#{seller}")
}

impl Key {
    pub fn settings(seller: &SellerId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: SETTINGS_SK.to_string(),
        }
    }

    pub fn order(seller: &SellerId, order: &AmazonOrderId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("ORDER#{order}"),
        }
    }

    pub fn checkpoint(seller: &SellerId, job: &str) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: format!("CHECKPOINT#{job}"),
        }
    }

    pub fn bucket(bucket: &BucketKey) -> Self {
        Self {
            pk: format!("BUCKET#{}", bucket.scope),
            sk: format!("OP#{}", bucket.operation.name()),
        }
    }

    pub fn idempotency(namespace: &str, key: &str) -> Self {
        let key = if key.len() > MAX_PLAIN_KEY {
            format!("sha256:{}", sha256_hex(key.as_bytes()))
        } else {
            key.to_string()
        };
        Self {
            pk: format!("IDEMPOTENCY#{namespace}"),
            sk: format!("KEY#{key}"),
        }
    }
}

/// `gsi1pk` of a seller's ledger entries, queried by WMS order number.
pub fn wms_order_gsi1pk(seller: &SellerId) -> String {
    format!("WMSORDER#{seller}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Operation;

    #[test]
    fn keys_follow_the_architecture_table() {
        let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
        let order = AmazonOrderId::new("113-1234567-1234567").unwrap();
        let check = |key: Key, pk: &str, sk: &str| {
            assert_eq!((key.pk.as_str(), key.sk.as_str()), (pk, sk));
        };
        check(Key::settings(&seller), "SELLER#A3EXAMPLESELLER", "SETTINGS");
        check(
            Key::order(&seller, &order),
            "SELLER#A3EXAMPLESELLER",
            "ORDER#113-1234567-1234567",
        );
        check(
            Key::checkpoint(&seller, "orders"),
            "SELLER#A3EXAMPLESELLER",
            "CHECKPOINT#orders",
        );
        check(
            Key::bucket(&BucketKey::new("app", Operation::SearchOrders)),
            "BUCKET#app",
            &format!("OP#{}", Operation::SearchOrders.name()),
        );
        check(
            Key::idempotency("labels", "pkg-1"),
            "IDEMPOTENCY#labels",
            "KEY#pkg-1",
        );
        assert_eq!(wms_order_gsi1pk(&seller), "WMSORDER#A3EXAMPLESELLER");
        assert_eq!(
            Key::settings(&seller).to_string(),
            "SELLER#A3EXAMPLESELLER / SETTINGS"
        );
    }

    #[test]
    fn long_idempotency_keys_are_hashed() {
        let long = "x".repeat(1000);
        let key = Key::idempotency("ns", &long);
        assert_eq!(key.sk.len(), "KEY#sha256:".len() + 64);
        assert_eq!(key, Key::idempotency("ns", &long));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
