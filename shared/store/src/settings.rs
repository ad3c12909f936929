//! Seller settings (`SELLER#<id>` / `SETTINGS`, listed through gsi1
//! `SELLERS`): the whole [`SellerSettings`] as a JSON string attribute
//! `settings`, plus a few top-level attributes (`client_code`, `enabled`,
//! `authorization`) so the seller list is read without parsing every blob,
//! and a `version` that every write increments.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::settings::{Authorization, SellerSettings};
use domain::{ClientCode, SellerId};

use crate::item::{Expr, Item, Written, conditional, format_time, n, s};
use crate::keys::{GSI1PK, GSI1SK, Key, SELLERS, VERSION};
use crate::{CONFLICT_ATTEMPTS, Store, StoreError, conflict_pause};

const SETTINGS: &str = "settings";
const CLIENT_CODE: &str = "client_code";
const ENABLED: &str = "enabled";
const AUTHORIZATION: &str = "authorization";
const UPDATED_AT: &str = "updated_at";

/// What the seller list gives for each seller: enough to fan out work
/// (skip disabled or unauthorised sellers) and to find a seller by the WMS
/// client code, without reading every settings blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SellerSummary {
    pub seller_id: SellerId,
    pub client_code: ClientCode,
    pub enabled: bool,
    /// `false` once LWA refused the refresh token (`Authorization::Broken`).
    pub authorized: bool,
}

/// Seller settings, as the jobs and the operator CLI need them.
#[async_trait::async_trait]
pub trait SettingsStore: Send + Sync {
    /// Validates, then writes the settings (creating or replacing them).
    async fn put_settings(&self, settings: &SellerSettings) -> Result<(), StoreError>;

    async fn get_settings(&self, seller: &SellerId) -> Result<Option<SellerSettings>, StoreError>;

    /// Every seller, ordered by seller id.
    async fn list_sellers(&self) -> Result<Vec<SellerSummary>, StoreError>;

    /// Name or ARN of the secret with the seller's refresh token
    /// (`NotFound` for an unknown seller).
    async fn refresh_token_secret(&self, seller: &SellerId) -> Result<String, StoreError>;

    /// LWA answered `invalid_grant`: flag the seller so every job skips it
    /// until the operator re-authorises. Keeps the first reason and time if
    /// already flagged.
    async fn mark_authorization_broken(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), StoreError>;
}

/// Settings as stored, with the version the next write must match.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredSettings {
    pub settings: SellerSettings,
    pub version: Option<u64>,
}

impl TryFrom<&Item> for StoredSettings {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let json = item.s(SETTINGS)?;
        let settings = from_json("seller settings", json)?;
        Ok(Self {
            settings,
            version: item.opt_n(VERSION)?,
        })
    }
}

impl TryFrom<&Item> for SellerSummary {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            seller_id: item.parsed(GSI1SK, "a seller id")?,
            client_code: item.parsed(CLIENT_CODE, "a client code")?,
            enabled: item.opt_bool(ENABLED)?.unwrap_or(true),
            authorized: item.opt_s(AUTHORIZATION)? != Some(BROKEN),
        })
    }
}

const ACTIVE: &str = "active";
const BROKEN: &str = "broken";

/// The attributes a settings write sets (all but the key and `version`).
pub(crate) fn settings_attributes(
    settings: &SellerSettings,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, AttributeValue)>, StoreError> {
    let authorization = match settings.authorization {
        Authorization::Active => ACTIVE,
        Authorization::Broken { .. } => BROKEN,
    };
    Ok(vec![
        (SETTINGS, s(to_json("seller settings", settings)?)),
        (CLIENT_CODE, s(settings.client_code.as_str())),
        (ENABLED, AttributeValue::Bool(settings.enabled)),
        (AUTHORIZATION, s(authorization)),
        (GSI1PK, s(SELLERS)),
        (GSI1SK, s(settings.seller_id.as_str())),
        (UPDATED_AT, s(format_time(now))),
    ])
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<String, StoreError> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    serde_path_to_error::serialize(value, &mut ser).map_err(|e| StoreError::json(what, e))?;
    String::from_utf8(out).map_err(|_| StoreError::Json {
        what,
        path: ".".into(),
        problem: "not UTF-8".into(),
    })
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    json: &str,
) -> Result<T, StoreError> {
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| StoreError::json(what, e))
}

impl Store {
    /// Writes `attributes` and increments `version`, if the stored version
    /// is still `expected` (`None`: any version, including none).
    async fn write_settings(
        &self,
        key: &Key,
        attributes: Vec<(&'static str, AttributeValue)>,
        expected: Option<Option<u64>>,
    ) -> Result<Written<()>, StoreError> {
        let mut e = Expr::new();
        let set = e.assignments(attributes);
        let version = e.name(VERSION);
        let one = e.value(n(1));
        let condition = match expected {
            None => None,
            Some(None) => {
                let pk = e.name(crate::keys::PK);
                Some(format!(
                    "attribute_exists({pk}) AND attribute_not_exists({version})"
                ))
            }
            Some(Some(v)) => {
                let v = e.value(n(v));
                Some(format!("{version} = {v}"))
            }
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Item::key_map(key)))
            .update_expression(format!("SET {set} ADD {version} {one}"))
            .set_condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        Ok(match conditional("UpdateItem", key, result)? {
            Written::Done(_) => Written::Done(()),
            Written::ConditionFailed(old) => Written::ConditionFailed(old),
        })
    }

    pub(crate) async fn stored_settings(
        &self,
        seller: &SellerId,
        consistent: bool,
    ) -> Result<Option<StoredSettings>, StoreError> {
        let key = Key::settings(seller);
        match self.get_item(&key, consistent).await? {
            Some(item) => Ok(Some(StoredSettings::try_from(&item)?)),
            None => Ok(None),
        }
    }
}

#[async_trait::async_trait]
impl SettingsStore for Store {
    async fn put_settings(&self, settings: &SellerSettings) -> Result<(), StoreError> {
        settings.validate().map_err(StoreError::InvalidSettings)?;
        let key = Key::settings(&settings.seller_id);
        let attributes = settings_attributes(settings, self.clock().now())?;
        let written = self
            .write_settings(&key, attributes, None)
            .await
            .inspect_err(|e| {
                tracing::warn!(audit = "settings.write", outcome = "failure", seller = %settings.seller_id, error = %e, "seller settings not written");
            })?;
        match written {
            Written::Done(()) => {
                tracing::info!(audit = "settings.write", outcome = "success", seller = %settings.seller_id, "seller settings written");
                Ok(())
            }
            // No condition was set, so this cannot happen; report it plainly.
            Written::ConditionFailed(_) => Err(StoreError::Conflict {
                pk: key.pk,
                sk: key.sk,
                expected: None,
            }),
        }
    }

    async fn get_settings(&self, seller: &SellerId) -> Result<Option<SellerSettings>, StoreError> {
        Ok(self
            .stored_settings(seller, false)
            .await?
            .map(|s| s.settings))
    }

    async fn list_sellers(&self) -> Result<Vec<SellerSummary>, StoreError> {
        let projection = [
            crate::keys::PK,
            crate::keys::SK,
            GSI1SK,
            CLIENT_CODE,
            ENABLED,
            AUTHORIZATION,
        ];
        let mut sellers = self
            .query_gsi1(SELLERS, &projection, false)
            .await?
            .iter()
            .map(SellerSummary::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        sellers.sort_by(|a, b| a.seller_id.cmp(&b.seller_id));
        Ok(sellers)
    }

    async fn refresh_token_secret(&self, seller: &SellerId) -> Result<String, StoreError> {
        match self.get_settings(seller).await? {
            Some(settings) => Ok(settings.refresh_token_secret),
            None => {
                let key = Key::settings(seller);
                Err(StoreError::NotFound {
                    what: "seller settings",
                    pk: key.pk,
                    sk: key.sk,
                })
            }
        }
    }

    async fn mark_authorization_broken(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), StoreError> {
        let key = Key::settings(seller);
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let Some(mut stored) = self.stored_settings(seller, true).await? else {
                return Err(StoreError::NotFound {
                    what: "seller settings",
                    pk: key.pk,
                    sk: key.sk,
                });
            };
            if matches!(stored.settings.authorization, Authorization::Broken { .. }) {
                tracing::debug!(seller = %seller, "authorization already marked broken");
                return Ok(());
            }
            let now = self.clock().now();
            stored.settings.authorization = Authorization::Broken {
                reason: reason.to_string(),
                since: now,
            };
            let attributes = settings_attributes(&stored.settings, now)?;
            match self
                .write_settings(&key, attributes, Some(stored.version))
                .await?
            {
                Written::Done(()) => {
                    // WARN although the write succeeded: the seller needs a person.
                    tracing::warn!(audit = "authorization.revoked", outcome = "success", seller = %seller, "seller authorization marked broken: the seller must authorise the app again");
                    return Ok(());
                }
                Written::ConditionFailed(_) => {
                    tracing::debug!(seller = %seller, attempt, "settings changed while marking authorization broken; retrying");
                    conflict_pause(attempt).await;
                }
            }
        }
        Err(StoreError::Contended {
            pk: key.pk,
            sk: key.sk,
            attempts: CONFLICT_ATTEMPTS,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::NaiveDate;
    use domain::{MarketplaceId, Region};

    /// A seller in one EU marketplace (the store's other tests use it too).
    pub(crate) fn seller_settings(id: &str) -> SellerSettings {
        SellerSettings::new(
            SellerId::new(id).unwrap(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()],
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            format!("connector/sellers/{id}"),
        )
    }

    #[test]
    fn settings_round_trip_through_an_item() {
        let settings = seller_settings("A3EXAMPLESELLER");
        let key = Key::settings(&settings.seller_id);
        let mut item = Item::new(&key).with(VERSION, n(3));
        for (name, value) in settings_attributes(&settings, Utc::now()).unwrap() {
            item.set(name, value);
        }
        let stored = StoredSettings::try_from(&item).unwrap();
        assert_eq!(stored.settings, settings);
        assert_eq!(stored.version, Some(3));
        let summary = SellerSummary::try_from(&item).unwrap();
        assert_eq!(summary.seller_id, settings.seller_id);
        assert_eq!(summary.client_code.as_str(), "ACME");
        assert!(summary.enabled && summary.authorized);
    }

    #[test]
    fn broken_authorization_shows_in_the_summary() {
        let mut settings = seller_settings("A3EXAMPLESELLER");
        settings.enabled = false;
        settings.authorization = Authorization::Broken {
            reason: "invalid_grant".into(),
            since: Utc::now(),
        };
        let mut item = Item::new(&Key::settings(&settings.seller_id));
        for (name, value) in settings_attributes(&settings, Utc::now()).unwrap() {
            item.set(name, value);
        }
        let summary = SellerSummary::try_from(&item).unwrap();
        assert!(!summary.enabled && !summary.authorized);
    }

    #[test]
    fn a_bad_settings_blob_names_the_field() {
        let item = Item::new(&Key {
            pk: "SELLER#A3EXAMPLESELLER".into(),
            sk: "SETTINGS".into(),
        })
        .with(
            SETTINGS,
            s(r#"{"seller_id":"A3EXAMPLESELLER","region":"MARS"}"#),
        );
        let err = StoredSettings::try_from(&item).unwrap_err().to_string();
        assert!(err.contains("region"), "{err}");
        assert!(!err.contains("MARS"), "{err}");
    }
}
