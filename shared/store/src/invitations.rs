//! The consent flow's state (issue 14): the operator's invitations and the
//! one-time OAuth `state` values bound to them.
//!
//! | item | pk | sk | gsi1pk / gsi1sk | TTL |
//! |---|---|---|---|---|
//! | invitation | `INVITE#<sha256 of the code>` | `INVITE` | `INVITES` / `<created at>#<id>` | a day after it expires |
//! | OAuth state | `OAUTHSTATE#<sha256 of the state>` | `STATE` | – | when it expires (30 minutes) |
//!
//! Neither the invitation code nor the state is stored: only their SHA-256,
//! so a table read gives no working link. A state is consumed by a
//! conditional delete: of two callbacks carrying it (a replay, a double
//! click) exactly one finds it. An invitation is claimed by the first seller
//! who completes the consent (a conditional write), so one link onboards
//! one Amazon account.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use domain::SellerId;
use domain::onboarding::{BearerToken, Invitation, InvitationUse};

use crate::item::{Expr, Item, Written, conditional, format_time, n, s};
use crate::keys::{EXPIRES_AT, GSI1PK, GSI1SK, Key, PK};
use crate::settings::{from_json, to_json};
use crate::{Store, StoreError, sha256_hex};

const INVITATION: &str = "invitation";
const USED_BY: &str = "used_by";
const USED_AT: &str = "used_at";
const INVITES: &str = "INVITES";
const INVITATION_KEY: &str = "invitation_key";
const CREATED_AT: &str = "created_at";
const STATE_EXPIRES: &str = "state_expires_at";

/// How long an invitation item outlives its expiry (so the page can still
/// say "expired" instead of "unknown link").
pub const INVITATION_GRACE: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The stored key of an invitation: the SHA-256 of its code (hex).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InvitationKey(String);

impl InvitationKey {
    pub fn of(code: &BearerToken) -> Self {
        Self(sha256_hex(code.expose().as_bytes()))
    }

    /// The public id of the invitation (logs, the CLI): the first 12 hex
    /// digits of the key.
    pub fn public_id(&self) -> String {
        self.0[..12].to_string()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Key {
    pub fn invitation(key: &InvitationKey) -> Self {
        Self {
            pk: format!("INVITE#{}", key.0),
            sk: "INVITE".to_string(),
        }
    }

    pub fn oauth_state(state: &BearerToken) -> Self {
        Self {
            pk: format!("OAUTHSTATE#{}", sha256_hex(state.expose().as_bytes())),
            sk: "STATE".to_string(),
        }
    }
}

/// What a callback's `state` turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateUse {
    /// Consumed now: the callback may go on with this invitation.
    Valid(InvitationKey),
    /// It existed but its time was up (consumed anyway).
    Expired,
    /// Never issued, or already consumed (a replay).
    Unknown,
}

/// The outcome of claiming an invitation for a seller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvitationClaim {
    /// Claimed now, or earlier by the same seller (a retried consent).
    Claimed,
    /// Another seller connected through it first.
    UsedBy(SellerId),
    /// No such invitation (expired and deleted).
    Missing,
}

/// The invitations and states, as the onboarding function and the CLI use them.
#[async_trait::async_trait]
pub trait InvitationStore: Send + Sync {
    /// Stores a new invitation under its code (refuses to replace one).
    async fn put_invitation(
        &self,
        code: &BearerToken,
        invitation: &Invitation,
    ) -> Result<(), StoreError>;

    async fn get_invitation(&self, key: &InvitationKey) -> Result<Option<Invitation>, StoreError>;

    /// Every invitation still stored, newest first.
    async fn list_invitations(&self) -> Result<Vec<Invitation>, StoreError>;

    /// Records a fresh `state` for the invitation, valid until `expires_at`.
    async fn create_state(
        &self,
        state: &BearerToken,
        invitation: &InvitationKey,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Consumes `state` (at most once, whoever asks).
    async fn consume_state(
        &self,
        state: &BearerToken,
        now: DateTime<Utc>,
    ) -> Result<StateUse, StoreError>;

    /// Marks the invitation used by `seller`, unless another seller did first.
    async fn claim_invitation(
        &self,
        key: &InvitationKey,
        seller: &SellerId,
        now: DateTime<Utc>,
    ) -> Result<InvitationClaim, StoreError>;
}

fn invitation_from(item: &Item) -> Result<Invitation, StoreError> {
    let mut invitation: Invitation = from_json("invitation", item.s(INVITATION)?)?;
    if let Some(seller) = item.opt_s(USED_BY)? {
        invitation.used = Some(InvitationUse {
            seller_id: SellerId::new(seller)
                .map_err(|_| item.malformed(USED_BY, "is not a seller id"))?,
            at: item.time(USED_AT)?,
        });
    }
    Ok(invitation)
}

impl Store {
    /// Writes `item` only if nothing is stored under `key` (an invitation,
    /// a state: both are created once); otherwise `Conflict`.
    async fn put_new(&self, key: Key, item: Item) -> Result<(), StoreError> {
        let mut e = Expr::new();
        let condition = format!("attribute_not_exists({})", e.name(PK));
        match self.put_if(&key, item, &e, &condition).await? {
            Written::Done(_) => Ok(()),
            Written::ConditionFailed(_) => Err(StoreError::Conflict {
                pk: key.pk,
                sk: key.sk,
                expected: None,
            }),
        }
    }
}

#[async_trait::async_trait]
impl InvitationStore for Store {
    async fn put_invitation(
        &self,
        code: &BearerToken,
        invitation: &Invitation,
    ) -> Result<(), StoreError> {
        let key = Key::invitation(&InvitationKey::of(code));
        let item = Item::new(&key)
            .with(INVITATION, s(to_json("invitation", invitation)?))
            .with(GSI1PK, s(INVITES))
            .with(
                GSI1SK,
                s(format!(
                    "{}#{}",
                    format_time(invitation.created_at),
                    invitation.id
                )),
            )
            .with(
                EXPIRES_AT,
                n((invitation.expires_at + INVITATION_GRACE).timestamp()),
            );
        self.put_new(key, item).await
    }

    async fn get_invitation(&self, key: &InvitationKey) -> Result<Option<Invitation>, StoreError> {
        match self.get_item(&Key::invitation(key), true).await? {
            Some(item) => Ok(Some(invitation_from(&item)?)),
            None => Ok(None),
        }
    }

    async fn list_invitations(&self) -> Result<Vec<Invitation>, StoreError> {
        self.query_gsi1(INVITES, &[], true)
            .await?
            .iter()
            .map(invitation_from)
            .collect()
    }

    async fn create_state(
        &self,
        state: &BearerToken,
        invitation: &InvitationKey,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = Key::oauth_state(state);
        let item = Item::new(&key)
            .with(INVITATION_KEY, s(invitation.as_str()))
            .with(CREATED_AT, s(format_time(self.clock().now())))
            .with(STATE_EXPIRES, s(format_time(expires_at)))
            .with(EXPIRES_AT, n(expires_at.timestamp()));
        // 256 random bits do not collide; `put_new` refuses rather than
        // share a state.
        self.put_new(key, item).await
    }

    async fn consume_state(
        &self,
        state: &BearerToken,
        now: DateTime<Utc>,
    ) -> Result<StateUse, StoreError> {
        let key = Key::oauth_state(state);
        let mut e = Expr::new();
        let pk = e.name(PK);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(&key)))
            .condition_expression(format!("attribute_exists({pk})"))
            .set_expression_attribute_names(e.names())
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match conditional("DeleteItem", &key, result)? {
            Written::ConditionFailed(_) => return Ok(StateUse::Unknown),
            Written::Done(out) => match out.attributes {
                Some(attributes) => Item::from(attributes),
                None => return Ok(StateUse::Unknown),
            },
        };
        // TTL deletes late (up to two days): expiry is checked here.
        if now >= old.time(STATE_EXPIRES)? {
            return Ok(StateUse::Expired);
        }
        Ok(StateUse::Valid(InvitationKey(
            old.s(INVITATION_KEY)?.to_string(),
        )))
    }

    async fn claim_invitation(
        &self,
        key: &InvitationKey,
        seller: &SellerId,
        now: DateTime<Utc>,
    ) -> Result<InvitationClaim, StoreError> {
        let item_key = Key::invitation(key);
        let mut e = Expr::new();
        let pk = e.name(PK);
        let used_by = e.name(USED_BY);
        let used_at = e.name(USED_AT);
        let who = e.value(s(seller.as_str()));
        let when = e.value(s(format_time(now)));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(&item_key)))
            .update_expression(format!(
                "SET {used_by} = {who}, {used_at} = if_not_exists({used_at}, {when})"
            ))
            .condition_expression(format!(
                "attribute_exists({pk}) AND (attribute_not_exists({used_by}) OR {used_by} = {who})"
            ))
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match conditional("UpdateItem", &item_key, result)? {
            Written::Done(_) => Ok(InvitationClaim::Claimed),
            Written::ConditionFailed(Some(old)) => match old.opt_s(USED_BY)? {
                Some(other) => Ok(InvitationClaim::UsedBy(
                    SellerId::new(other)
                        .map_err(|_| old.malformed(USED_BY, "is not a seller id"))?,
                )),
                None => Ok(InvitationClaim::Missing),
            },
            Written::ConditionFailed(None) => Ok(InvitationClaim::Missing),
        }
    }
}

/// The in-memory [`InvitationStore`], with the same semantics (tests).
#[derive(Default)]
pub struct MemoryInvitations {
    invitations: Mutex<HashMap<InvitationKey, Invitation>>,
    states: Mutex<HashMap<String, (InvitationKey, DateTime<Utc>)>>,
}

impl MemoryInvitations {
    pub fn new() -> Self {
        Self::default()
    }
}

// Mirrors `impl InvitationStore for Store` above: the same rules, in memory (unit tests).
#[async_trait::async_trait]
impl InvitationStore for MemoryInvitations {
    async fn put_invitation(
        &self,
        code: &BearerToken,
        invitation: &Invitation,
    ) -> Result<(), StoreError> {
        let key = InvitationKey::of(code);
        let mut all = self.invitations.lock().unwrap_or_else(|p| p.into_inner());
        if all.contains_key(&key) {
            let k = Key::invitation(&key);
            return Err(StoreError::Conflict {
                pk: k.pk,
                sk: k.sk,
                expected: None,
            });
        }
        all.insert(key, invitation.clone());
        Ok(())
    }

    async fn get_invitation(&self, key: &InvitationKey) -> Result<Option<Invitation>, StoreError> {
        Ok(self
            .invitations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned())
    }

    async fn list_invitations(&self) -> Result<Vec<Invitation>, StoreError> {
        let mut all: Vec<Invitation> = self
            .invitations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(all)
    }

    async fn create_state(
        &self,
        state: &BearerToken,
        invitation: &InvitationKey,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = Key::oauth_state(state);
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        if states.contains_key(&key.pk) {
            return Err(StoreError::Conflict {
                pk: key.pk,
                sk: key.sk,
                expected: None,
            });
        }
        states.insert(key.pk, (invitation.clone(), expires_at));
        Ok(())
    }

    async fn consume_state(
        &self,
        state: &BearerToken,
        now: DateTime<Utc>,
    ) -> Result<StateUse, StoreError> {
        let key = Key::oauth_state(state);
        let removed = self
            .states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key.pk);
        Ok(match removed {
            None => StateUse::Unknown,
            Some((_, expires)) if now >= expires => StateUse::Expired,
            Some((invitation, _)) => StateUse::Valid(invitation),
        })
    }

    async fn claim_invitation(
        &self,
        key: &InvitationKey,
        seller: &SellerId,
        now: DateTime<Utc>,
    ) -> Result<InvitationClaim, StoreError> {
        let mut all = self.invitations.lock().unwrap_or_else(|p| p.into_inner());
        let Some(invitation) = all.get_mut(key) else {
            return Ok(InvitationClaim::Missing);
        };
        match &invitation.used {
            Some(used) if &used.seller_id != seller => {
                Ok(InvitationClaim::UsedBy(used.seller_id.clone()))
            }
            Some(_) => Ok(InvitationClaim::Claimed),
            None => {
                invitation.used = Some(InvitationUse {
                    seller_id: seller.clone(),
                    at: now,
                });
                Ok(InvitationClaim::Claimed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::onboarding::SettingsTemplate;
    use domain::{ClientCode, Region};

    fn token(b: u8) -> BearerToken {
        BearerToken::from_random(&[b; 32]).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn keys_hold_hashes_never_the_codes() {
        let code = token(1);
        let key = InvitationKey::of(&code);
        let k = Key::invitation(&key);
        assert_eq!(k.pk.len(), "INVITE#".len() + 64);
        assert!(!k.pk.contains(code.expose()));
        assert_eq!(key.public_id().len(), 12);
        let state = token(2);
        let s = Key::oauth_state(&state);
        assert!(s.pk.starts_with("OAUTHSTATE#") && !s.pk.contains(state.expose()));
    }

    #[tokio::test]
    async fn the_memory_store_consumes_states_once_and_claims_invitations_once() {
        let store = MemoryInvitations::new();
        let code = token(3);
        let key = InvitationKey::of(&code);
        // Reads like domain's onboarding tests: both call the one
        // constructor (domain's test helpers are not visible from here).
        let inv = Invitation::new(
            key.public_id(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            vec![],
            SettingsTemplate::default(),
            None,
            t("2026-12-01T00:00:00Z"),
            3,
        )
        .unwrap();
        store.put_invitation(&code, &inv).await.unwrap();
        assert!(store.put_invitation(&code, &inv).await.is_err());
        let state = token(4);
        store
            .create_state(&state, &key, t("2026-12-01T00:30:00Z"))
            .await
            .unwrap();
        let now = t("2026-12-01T00:10:00Z");
        assert_eq!(
            store.consume_state(&state, now).await.unwrap(),
            StateUse::Valid(key.clone())
        );
        assert_eq!(
            store.consume_state(&state, now).await.unwrap(),
            StateUse::Unknown
        );
        let late = token(5);
        store
            .create_state(&late, &key, t("2026-12-01T00:30:00Z"))
            .await
            .unwrap();
        assert_eq!(
            store
                .consume_state(&late, t("2026-12-01T00:30:00Z"))
                .await
                .unwrap(),
            StateUse::Expired
        );
        let a = SellerId::new("A1SELLERONE").unwrap();
        let b = SellerId::new("A1SELLERTWO").unwrap();
        assert_eq!(
            store.claim_invitation(&key, &a, now).await.unwrap(),
            InvitationClaim::Claimed
        );
        assert_eq!(
            store.claim_invitation(&key, &a, now).await.unwrap(),
            InvitationClaim::Claimed
        );
        assert_eq!(
            store.claim_invitation(&key, &b, now).await.unwrap(),
            InvitationClaim::UsedBy(a.clone())
        );
        let stored = store.get_invitation(&key).await.unwrap().unwrap();
        assert_eq!(stored.used.unwrap().seller_id, a);
        assert_eq!(
            store
                .claim_invitation(&InvitationKey::of(&token(9)), &a, now)
                .await
                .unwrap(),
            InvitationClaim::Missing
        );
    }
}
