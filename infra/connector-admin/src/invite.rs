//! `invite` (library part): an operator's invitation for a seller to connect
//! itself through the onboarding page (issue 14). The invitation is stored
//! (hashed, with a TTL) and its link printed once: the code in it is the
//! only copy.

use chrono::{DateTime, Utc};
use domain::onboarding::{BearerToken, Invitation, SettingsTemplate};
use domain::settings::SellerSettings;
use domain::{ClientCode, MarketplaceId, Region, SellerId};
use store::{InvitationKey, InvitationStore};

use crate::AdminError;

/// Days an invitation stays open unless told otherwise.
pub const DEFAULT_DAYS: i64 = 3;

/// What the operator asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRequest {
    pub client_code: ClientCode,
    pub region: Region,
    /// Empty: every marketplace of the region the seller sells in.
    pub marketplaces: Vec<MarketplaceId>,
    pub settings: SettingsTemplate,
    /// A renewal of this seller only.
    pub seller: Option<SellerId>,
    pub days: i64,
}

/// A stored invitation and its link.
#[derive(Debug)]
pub struct Invited {
    pub invitation: Invitation,
    pub code: BearerToken,
    pub link: String,
}

/// The fields of a settings file that `invite --file` takes: the seller
/// settings without `seller_id` and `refresh_token_secret` (Amazon and the
/// onboarding decide those); `client_code`, `region` and `marketplaces` may
/// be there or on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsFile {
    pub client_code: Option<ClientCode>,
    pub region: Option<Region>,
    pub marketplaces: Vec<MarketplaceId>,
    pub settings: SettingsTemplate,
}

/// Parses a settings file for an invitation; errors name the field.
pub fn parse_settings_file(json: &str) -> Result<SettingsFile, AdminError> {
    let mut value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| AdminError::Settings(e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| AdminError::Settings("the settings file must be a JSON object".into()))?;
    for refused in [
        "seller_id",
        "refresh_token_secret",
        "authorization",
        "authorized_at",
        "enabled",
    ] {
        if obj.contains_key(refused) {
            return Err(AdminError::Settings(format!(
                "`{refused}` is not part of an invitation: the seller's id and token come from its consent; remove the field"
            )));
        }
    }
    let take = |obj: &mut serde_json::Map<String, serde_json::Value>, k: &str| obj.remove(k);
    let client_code = take(obj, "client_code")
        .map(serde_json::from_value::<ClientCode>)
        .transpose()
        .map_err(|e| AdminError::Settings(format!("client_code: {e}")))?;
    let region = take(obj, "region")
        .map(serde_json::from_value::<Region>)
        .transpose()
        .map_err(|e| AdminError::Settings(format!("region: {e}")))?;
    let marketplaces = take(obj, "marketplaces")
        .map(serde_json::from_value::<Vec<MarketplaceId>>)
        .transpose()
        .map_err(|e| AdminError::Settings(format!("marketplaces: {e}")))?
        .unwrap_or_default();
    let settings: SettingsTemplate =
        serde_json::from_value(value).map_err(|e| AdminError::Settings(e.to_string()))?;
    Ok(SettingsFile {
        client_code,
        region,
        marketplaces,
        settings,
    })
}

/// A new random invitation code (two v4 UUIDs from the OS generator).
pub fn new_code() -> Result<BearerToken, AdminError> {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    BearerToken::from_random(&bytes).map_err(|e| AdminError::Settings(e.to_string()))
}

/// The link a seller opens: `<onboarding URL>/connect?invitation=<code>`.
pub fn link(base_url: &str, code: &BearerToken) -> String {
    format!(
        "{}/connect?invitation={}",
        base_url.trim_end_matches('/'),
        code.expose()
    )
}

/// Checks the onboarding page's URL (the `OnboardingUrl` output).
pub fn check_base_url(url: &str) -> Result<(), AdminError> {
    let ok = url.starts_with("https://")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost");
    if ok && !url.contains(['?', '#', ' ']) {
        Ok(())
    } else {
        Err(AdminError::Settings(format!(
            "{url:?} is not the onboarding page's URL: give the stack's OnboardingUrl output (https://...)"
        )))
    }
}

/// Stores an invitation and returns its link.
pub async fn invite(
    store: &dyn InvitationStore,
    request: InviteRequest,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<Invited, AdminError> {
    check_base_url(base_url)?;
    let code = new_code()?;
    let key = InvitationKey::of(&code);
    let invitation = Invitation::new(
        key.public_id(),
        request.client_code,
        request.region,
        request.marketplaces,
        request.settings,
        request.seller,
        now,
        request.days,
    )
    .map_err(|e| AdminError::Settings(e.to_string()))?;
    store.put_invitation(&code, &invitation).await?;
    tracing::info!(audit = "invitation.create", outcome = "success", invitation = %invitation.id, client_code = %invitation.client_code, seller = ?invitation.seller_id.as_ref().map(|s| s.to_string()), "invitation created");
    let link = link(base_url, &code);
    Ok(Invited {
        invitation,
        code,
        link,
    })
}

/// The request renewing an onboarded seller's authorisation: its own client
/// code, region and marketplaces; only that seller can use it.
pub fn renewal_of(settings: &SellerSettings, days: i64) -> InviteRequest {
    InviteRequest {
        client_code: settings.client_code.clone(),
        region: settings.region,
        marketplaces: settings.marketplaces.clone(),
        settings: SettingsTemplate::default(),
        seller: Some(settings.seller_id.clone()),
        days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::MemoryInvitations;

    #[test]
    fn a_settings_file_gives_the_invitations_fields_and_refuses_the_sellers() {
        let f = parse_settings_file(
            r#"{"client_code":"ACME","region":"EU","marketplaces":["A1PA6795UKMFR9"],
                "order_prefix":"AC","ship_to_countries":["DE"],"order_start_date":"2026-12-01"}"#,
        )
        .unwrap();
        assert_eq!(f.client_code.unwrap().as_str(), "ACME");
        assert_eq!(f.region, Some(Region::Eu));
        assert_eq!(f.settings.order_prefix, "AC");
        assert!(f.settings.order_start_date.is_some());
        let e = parse_settings_file(r#"{"seller_id":"A1X","client_code":"ACME"}"#).unwrap_err();
        assert!(e.to_string().contains("seller_id"), "{e}");
        let e = parse_settings_file(r#"{"order_prefx":"AC"}"#).unwrap_err();
        assert!(e.to_string().contains("order_prefx"), "{e}");
    }

    #[tokio::test]
    async fn an_invitation_is_stored_under_its_hash_and_linked_once() {
        let store = MemoryInvitations::new();
        let now = "2026-12-01T10:00:00Z".parse().unwrap();
        let req = InviteRequest {
            client_code: ClientCode::new("ACME").unwrap(),
            region: Region::Eu,
            marketplaces: vec![],
            settings: SettingsTemplate::default(),
            seller: None,
            days: DEFAULT_DAYS,
        };
        let invited = invite(
            &store,
            req.clone(),
            "https://x.lambda-url.eu-west-1.on.aws/",
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            invited.link,
            format!(
                "https://x.lambda-url.eu-west-1.on.aws/connect?invitation={}",
                invited.code.expose()
            )
        );
        let stored = store
            .get_invitation(&InvitationKey::of(&invited.code))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.id, invited.invitation.id);
        assert_eq!(stored.expires_at, now + chrono::TimeDelta::days(3));
        assert!(invite(&store, req.clone(), "ftp://x", now).await.is_err());
        let mut long = req;
        long.days = 8;
        assert!(invite(&store, long, "https://x", now).await.is_err());
    }
}
