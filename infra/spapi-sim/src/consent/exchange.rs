//! The LWA `authorization_code` grant's side here: a code exchanged once,
//! and a client's previous secret still working in its overlap.

use super::types::CODE_LIFETIME;
use crate::clock::random_token;
use crate::state::Inner;

/// Whether `secret` is the client's previous secret, still in its overlap.
pub fn previous_secret_works(inner: &Inner, speed: f64, client_id: &str, secret: &str) -> bool {
    inner
        .consent
        .previous_secrets
        .get(client_id)
        .is_some_and(|(old, since, overlap)| {
            old == secret && inner.sim_elapsed(*since, speed) < *overlap
        })
}

/// Why a code was refused (LWA answers `invalid_grant` for all of them).
pub enum CodeRefusal {
    Unknown,
    Used,
    Expired,
    OtherClient,
    OtherRedirect,
}

/// Exchanges a code: on success the seller gets a new refresh token (a
/// previously revoked one stays revoked).
pub fn exchange(
    inner: &mut Inner,
    speed: f64,
    code: &str,
    client_id: &str,
    redirect_uri: Option<&str>,
) -> Result<(String, String), CodeRefusal> {
    let now = inner.stamp();
    let Some(issued) = inner.consent.codes.get_mut(code) else {
        return Err(CodeRefusal::Unknown);
    };
    if issued.used {
        return Err(CodeRefusal::Used);
    }
    if now.sim_since(issued.issued, speed) >= CODE_LIFETIME {
        return Err(CodeRefusal::Expired);
    }
    if issued.client_id != client_id {
        return Err(CodeRefusal::OtherClient);
    }
    if redirect_uri != Some(issued.redirect_uri.as_str()) {
        return Err(CodeRefusal::OtherRedirect);
    }
    issued.used = true;
    let seller_id = issued.seller_id.clone();
    let refresh = format!("Atzr|sim-{}", random_token(40));
    let was_revoked = inner.sellers.get(&seller_id).is_some_and(|s| s.revoked);
    if was_revoked {
        let old: Vec<String> = inner
            .refresh_tokens
            .iter()
            .filter(|(_, s)| **s == seller_id)
            .map(|(t, _)| t.clone())
            .collect();
        inner.consent.revoked_tokens.extend(old);
    }
    if let Some(s) = inner.sellers.get_mut(&seller_id) {
        s.revoked = false;
    }
    inner
        .refresh_tokens
        .insert(refresh.clone(), seller_id.clone());
    Ok((seller_id, refresh))
}
