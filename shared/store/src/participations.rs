//! A seller's marketplace participations (`SELLER#<id>` / `PARTICIPATIONS`):
//! what `getMarketplaceParticipations` answered last and when, for a seller
//! whose settings list no marketplace ("default all", issue 17). The list
//! is a JSON string attribute `participations` (no buyer data: marketplace
//! ids, names, flags) plus `fetched_at`; a refresh replaces it whole (two
//! jobs refreshing at once write the same answer).

use domain::SellerId;
use domain::participations::Participations;

use crate::item::{Item, format_time, s};
use crate::keys::{Key, seller_pk};
use crate::memory::MemoryStore;
use crate::settings::{from_json, to_json};
use crate::{Store, StoreError};

const SK: &str = "PARTICIPATIONS";
const LIST: &str = "participations";
const FETCHED_AT: &str = "fetched_at";
const SELLER_ID: &str = "seller_id";

impl Key {
    pub fn participations(seller: &SellerId) -> Self {
        Self {
            pk: seller_pk(seller),
            sk: SK.to_string(),
        }
    }
}

/// The stored participations of each seller.
#[async_trait::async_trait]
pub trait ParticipationStore: Send + Sync {
    async fn get_participations(
        &self,
        seller: &SellerId,
    ) -> Result<Option<Participations>, StoreError>;

    /// Replaces the seller's list.
    async fn put_participations(
        &self,
        seller: &SellerId,
        list: &Participations,
    ) -> Result<(), StoreError>;
}

fn item(seller: &SellerId, list: &Participations) -> Result<Item, StoreError> {
    Ok(Item::new(&Key::participations(seller))
        .with(SELLER_ID, s(seller.as_str()))
        .with(LIST, s(to_json("participations", list)?))
        .with(FETCHED_AT, s(format_time(list.fetched_at))))
}

fn read(item: &Item) -> Result<Participations, StoreError> {
    from_json("participations", item.s(LIST)?)
}

#[async_trait::async_trait]
impl ParticipationStore for Store {
    async fn get_participations(
        &self,
        seller: &SellerId,
    ) -> Result<Option<Participations>, StoreError> {
        self.get_item(&Key::participations(seller), false)
            .await?
            .as_ref()
            .map(read)
            .transpose()
    }

    async fn put_participations(
        &self,
        seller: &SellerId,
        list: &Participations,
    ) -> Result<(), StoreError> {
        let key = Key::participations(seller);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(seller, list)?.into_map()))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("PutItem", key.to_string(), e))?;
        Ok(())
    }
}

// Mirrors `impl ParticipationStore for Store` above: the same items, in memory (unit tests).
#[async_trait::async_trait]
impl ParticipationStore for MemoryStore {
    async fn get_participations(
        &self,
        seller: &SellerId,
    ) -> Result<Option<Participations>, StoreError> {
        self.with_items(|items| items.get(&Key::participations(seller)).map(read))
            .transpose()
    }

    async fn put_participations(
        &self,
        seller: &SellerId,
        list: &Participations,
    ) -> Result<(), StoreError> {
        let stored = item(seller, list)?;
        self.with_items(|items| {
            items.insert(Key::participations(seller), stored);
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use domain::participations::Participation;

    #[tokio::test]
    async fn a_list_is_replaced_whole_and_read_back() {
        let store = MemoryStore::new();
        let seller = SellerId::new("A3EXAMPLESELLER").unwrap();
        assert!(store.get_participations(&seller).await.unwrap().is_none());
        let mut list = Participations {
            fetched_at: Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap(),
            marketplaces: vec![Participation {
                marketplace_id: "A1PA6795UKMFR9".into(),
                country_code: "DE".into(),
                name: "Amazon.de".into(),
                domain_name: "www.amazon.de".into(),
                participating: true,
                suspended_listings: false,
            }],
            catch_up: vec![domain::participations::CatchUp {
                marketplace_id: domain::MarketplaceId::new("A1PA6795UKMFR9").unwrap(),
                since: Utc.with_ymd_and_hms(2026, 8, 31, 7, 0, 0).unwrap(),
            }],
        };
        store.put_participations(&seller, &list).await.unwrap();
        assert_eq!(
            store.get_participations(&seller).await.unwrap(),
            Some(list.clone())
        );
        list.marketplaces.clear();
        list.fetched_at += chrono::Duration::days(1);
        store.put_participations(&seller, &list).await.unwrap();
        assert_eq!(store.get_participations(&seller).await.unwrap(), Some(list));
    }
}
