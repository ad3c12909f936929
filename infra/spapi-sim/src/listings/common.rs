//! What the Listings operations check alike: the path's seller is the
//! caller, and `marketplaceIds` are the seller's.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use serde_json::Value;

use crate::http::error_list;
use crate::search::invalid_input;
use crate::state::Inner;

pub(crate) type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The checks both operations share: the path's seller is the caller, and
/// `marketplaceIds` names marketplaces the seller sells in.
pub(crate) fn check_call(
    inner: &Inner,
    caller: &str,
    path_seller: &str,
    pairs: &[(String, String)],
) -> Result<(), (StatusCode, Value)> {
    if caller != path_seller {
        return Err((
            StatusCode::FORBIDDEN,
            error_list(
                "Unauthorized",
                "Access to requested resource is denied.",
                "The sellerId in the path is not the selling partner of the access token.",
            ),
        ));
    }
    let markets = param(pairs, "marketplaceIds")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid_input("Missing required 'marketplaceIds'."))?;
    let seller = inner
        .seller(caller)
        .map_err(|_| invalid_input("Unknown seller."))?;
    for m in markets.split(',') {
        if !seller.marketplace_ids.iter().any(|x| x == m) {
            return Err(invalid_input(format!(
                "Marketplace '{m}' is not one the selling partner participates in."
            )));
        }
    }
    Ok(())
}
