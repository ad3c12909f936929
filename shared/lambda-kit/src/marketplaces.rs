//! The marketplaces a job serves for a seller: the ones its settings list,
//! or — none listed, "default all" — every marketplace it participates in,
//! from `getMarketplaceParticipations`, fetched at most once a day per
//! seller and kept in the state table (`SELLER#<id>` / `PARTICIPATIONS`).
//! The rule that picks marketplaces out of the participations is
//! [`domain::participations`]; this module is the fetch-and-keep around it,
//! shared by the order pull and the inventory push.
//!
//! A refresh that fails while a list is kept uses the kept list (WARN,
//! tried again on the next run); with no list at all, the job cannot know
//! where to work and fails retryably.

use chrono::{DateTime, Utc};
use domain::participations::{CatchUp, Participation, Participations};
use domain::settings::SellerSettings;
use domain::{Deadline, MarketplaceId};
use spapi::ops::sellers::GetMarketplaceParticipations;
use spapi::{SellerContext, SpApi, SpApiError};
use store::{ParticipationStore, StoreError};

/// Why a seller's marketplaces could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum MarketplaceError {
    #[error(
        "seller {seller}'s settings list no marketplace, and Amazon's marketplace participations could not be read: {source}"
    )]
    Amazon {
        seller: String,
        #[source]
        source: SpApiError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "seller {seller} participates in no marketplace of region {region} that is an Amazon store (excluded: {excluded}); list its marketplaces in the settings or check the account in Seller Central"
    )]
    NoMarketplace {
        seller: String,
        region: String,
        excluded: String,
    },
}

impl MarketplaceError {
    pub fn is_retryable(&self) -> bool {
        match self {
            MarketplaceError::Amazon { source, .. } => source.is_retryable(),
            MarketplaceError::Store(e) => e.is_retryable(),
            MarketplaceError::NoMarketplace { .. } => false,
        }
    }
}

/// The marketplaces of one run, and whether Amazon was asked this time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub marketplaces: Vec<MarketplaceId>,
    /// `getMarketplaceParticipations` was called (the list was missing or a day old).
    pub refreshed: bool,
    /// The participations are older than a day and could not be refreshed.
    pub stale: bool,
    /// Marketplaces found new by a refresh whose earlier orders are still
    /// to be pulled once ([`finish_catch_up`] when done).
    pub catch_up: Vec<CatchUp>,
}

/// The participations as Amazon answered them.
pub fn from_answer(
    answer: spapi::models::sellers::GetMarketplaceParticipationsResponse,
    now: DateTime<Utc>,
) -> Participations {
    Participations {
        fetched_at: now,
        marketplaces: answer
            .payload
            .into_iter()
            .map(|p| Participation {
                marketplace_id: p.marketplace.id,
                country_code: p.marketplace.country_code,
                name: p.marketplace.name,
                domain_name: p.marketplace.domain_name,
                participating: p.participation.is_participating,
                suspended_listings: p.participation.has_suspended_listings,
            })
            .collect(),
        catch_up: Vec::new(),
    }
}

/// Fetches the seller's participations from Amazon and keeps them; a
/// marketplace new since `kept` gets a catch-up.
pub async fn refresh(
    api: &SpApi,
    store: &dyn ParticipationStore,
    settings: &SellerSettings,
    kept: Option<&Participations>,
    now: DateTime<Utc>,
    deadline: &Deadline,
) -> Result<Participations, MarketplaceError> {
    let answer = api
        .call(
            &SellerContext::from(settings),
            &GetMarketplaceParticipations,
            deadline,
        )
        .await
        .map_err(|source| MarketplaceError::Amazon {
            seller: settings.seller_id.to_string(),
            source,
        })?;
    let fresh = from_answer(answer, now);
    let list = match kept {
        Some(kept) => kept.refreshed(fresh, settings.region),
        None => fresh,
    };
    store.put_participations(&settings.seller_id, &list).await?;
    Ok(list)
}

/// The catch-up of `marketplace` is done: orders since its start were
/// looked at.
pub async fn finish_catch_up(
    store: &dyn ParticipationStore,
    seller: &domain::SellerId,
    marketplace: &MarketplaceId,
) -> Result<(), MarketplaceError> {
    if let Some(mut list) = store.get_participations(seller).await? {
        let before = list.catch_up.len();
        list.catch_up.retain(|c| &c.marketplace_id != marketplace);
        if list.catch_up.len() != before {
            store.put_participations(seller, &list).await?;
        }
    }
    Ok(())
}

/// The marketplaces to serve `settings`' seller in now (see the module).
pub async fn resolve(
    api: &SpApi,
    store: &dyn ParticipationStore,
    settings: &SellerSettings,
    now: DateTime<Utc>,
    deadline: &Deadline,
) -> Result<Resolved, MarketplaceError> {
    if !settings.all_marketplaces() {
        return Ok(Resolved {
            marketplaces: settings.marketplaces.clone(),
            refreshed: false,
            stale: false,
            catch_up: Vec::new(),
        });
    }
    let seller = &settings.seller_id;
    let kept = store.get_participations(seller).await?;
    let (list, refreshed, stale) = match kept {
        Some(list) if !list.is_stale(now) => (list, false, false),
        kept => match refresh(api, store, settings, kept.as_ref(), now, deadline).await {
            Ok(list) => (list, true, false),
            Err(e) => match kept {
                Some(list) => {
                    tracing::warn!(seller = %seller, error = %e, fetched_at = %list.fetched_at, "marketplace participations could not be refreshed; using the list kept from before");
                    (list, false, true)
                }
                None => return Err(e),
            },
        },
    };
    let (marketplaces, excluded) = list.effective(settings.region);
    if refreshed {
        tracing::info!(
            seller = %seller,
            marketplaces = %join(marketplaces.iter().map(|m| m.to_string())),
            excluded = %join(excluded.iter().map(|(id, why)| format!("{id} ({why})"))),
            "marketplace participations refreshed"
        );
    }
    if marketplaces.is_empty() {
        return Err(MarketplaceError::NoMarketplace {
            seller: seller.to_string(),
            region: settings.region.to_string(),
            excluded: if excluded.is_empty() {
                "none".to_string()
            } else {
                join(excluded.iter().map(|(id, why)| format!("{id}: {why}")))
            },
        });
    }
    Ok(Resolved {
        marketplaces,
        refreshed,
        stale,
        catch_up: list.catch_up.clone(),
    })
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
