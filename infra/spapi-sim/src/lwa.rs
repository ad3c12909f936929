//! Login with Amazon: `POST /auth/o2/token` (form body) for the
//! `refresh_token`, `client_credentials` and `authorization_code` grants
//! (the codes are the consent page's, see `consent`), LWA's error answers,
//! and the check of `x-amz-access-token` on every SP-API call.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::consent::exchange::{exchange, previous_secret_works};
use crate::consent::types::ROTATION_SCOPE;
use crate::faults::{Call, Fault};
use crate::http::{new_request_id, respond, status_of, truncated};
use crate::state::{AccessToken, Inner, Shared, Subject, random_token};

/// Seconds an access token lives (before time compression).
pub const TOKEN_LIFETIME_SECS: u64 = 3600;

/// Scopes of the grantless operations (fact sheet, "Grantless calls").
const SCOPES: &[&str] = &["sellingpartnerapi::notifications", ROTATION_SCOPE];

struct LwaError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

fn lwa_error(status: StatusCode, error: &'static str, description: impl Into<String>) -> LwaError {
    LwaError {
        status,
        error,
        description: description.into(),
    }
}

fn missing(field: &str) -> LwaError {
    lwa_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        format!("The request is missing a required parameter : {field}"),
    )
}

/// The token endpoint.
pub async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let request_id = new_request_id();
    let fault = shared.lock().faults.take(Call::Lwa);
    if let Some(Fault::Slow { millis }) = fault {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    if let Some(Fault::Status { code }) = fault {
        let error = if code == 503 {
            "temporarily_unavailable"
        } else {
            "server_error"
        };
        let body = json!({ "error": error, "error_description": "Injected failure" });
        tracing::info!(
            operation = "lwaToken",
            status = code,
            request_id,
            "answered"
        );
        return respond(status_of(code), &request_id, None, body.to_string());
    }
    let result = match form {
        Ok(Form(fields)) => grant(&shared, &fields),
        Err(_) => Err(lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded",
        )),
    };
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => (
            e.status,
            json!({ "error": e.error, "error_description": e.description }),
        ),
    };
    tracing::info!(
        operation = "lwaToken",
        status = status.as_u16(),
        request_id,
        "answered"
    );
    let text = body.to_string();
    let text = if fault == Some(Fault::Malformed) {
        truncated(&text)
    } else {
        text
    };
    respond(status, &request_id, None, text)
}

fn grant(shared: &Shared, fields: &[(String, String)]) -> Result<serde_json::Value, LwaError> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let grant_type = get("grant_type").ok_or_else(|| missing("grant_type"))?;
    if !matches!(
        grant_type,
        "refresh_token" | "client_credentials" | "authorization_code"
    ) {
        return Err(lwa_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        ));
    }
    let client_id = get("client_id").ok_or_else(|| missing("client_id"))?;
    let client_secret = get("client_secret").ok_or_else(|| missing("client_secret"))?;
    let mut inner = shared.lock();
    let current = inner.apps.get(client_id).map(String::as_str) == Some(client_secret);
    if !current && !previous_secret_works(&inner, shared.speed, client_id, client_secret) {
        return Err(lwa_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        ));
    }
    let lifetime = Duration::from_secs(TOKEN_LIFETIME_SECS);
    if grant_type == "authorization_code" {
        let code = get("code").ok_or_else(|| missing("code"))?;
        let redirect_uri = get("redirect_uri");
        return match exchange(&mut inner, shared.speed, code, client_id, redirect_uri) {
            Ok((seller_id, refresh)) => {
                let access = issue(&mut inner, Subject::Seller(seller_id), lifetime);
                Ok(json!({
                    "access_token": access,
                    "token_type": "bearer",
                    "expires_in": TOKEN_LIFETIME_SECS,
                    "refresh_token": refresh,
                }))
            }
            Err(_) => Err(lwa_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The authorization code is invalid, expired, already used, or was issued for another client or redirect_uri",
            )),
        };
    }
    if grant_type == "client_credentials" {
        let scope = get("scope").ok_or_else(|| missing("scope"))?;
        if !SCOPES.contains(&scope) {
            return Err(lwa_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "The request has an invalid parameter : scope",
            ));
        }
        let access = issue(&mut inner, Subject::App, lifetime);
        inner
            .consent
            .app_tokens
            .insert(access.clone(), (client_id.to_string(), scope.to_string()));
        return Ok(json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME_SECS,
        }));
    }
    let refresh = get("refresh_token").ok_or_else(|| missing("refresh_token"))?;
    let invalid_grant = || {
        lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        )
    };
    let seller_id = inner
        .refresh_tokens
        .get(refresh)
        .cloned()
        .ok_or_else(invalid_grant)?;
    *inner.token_requests.entry(seller_id.clone()).or_default() += 1;
    let revoked = inner.sellers.get(&seller_id).is_none_or(|s| s.revoked)
        || inner.consent.revoked_tokens.contains(refresh);
    if revoked {
        return Err(invalid_grant());
    }
    let access = issue(&mut inner, Subject::Seller(seller_id), lifetime);
    Ok(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "refresh_token": refresh,
    }))
}

fn issue(inner: &mut Inner, subject: Subject, lifetime: Duration) -> String {
    let token = format!("Atza|sim-{}", random_token(48));
    let issued = inner.stamp();
    inner.access_tokens.insert(
        token.clone(),
        AccessToken {
            subject,
            issued,
            lifetime,
            force_expired: false,
        },
    );
    token
}

/// Why an SP-API call was refused with 403.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    Unknown,
    Expired,
}

impl Denied {
    pub fn details(self) -> &'static str {
        match self {
            Denied::Unknown => "",
            Denied::Expired => "The access token you provided has expired.",
        }
    }
}

/// The seller a live access token belongs to.
pub fn authenticate(inner: &Inner, speed: f64, header: Option<&str>) -> Result<String, Denied> {
    match live_subject(inner, speed, header)? {
        Subject::Seller(id) => Ok(id),
        Subject::App => Err(Denied::Unknown),
    }
}

/// A live grantless token (grantless operations refuse a seller's token,
/// as Amazon does).
pub fn authenticate_app(inner: &Inner, speed: f64, header: Option<&str>) -> Result<(), Denied> {
    match live_subject(inner, speed, header)? {
        Subject::App => Ok(()),
        Subject::Seller(_) => Err(Denied::Unknown),
    }
}

fn live_subject(inner: &Inner, speed: f64, header: Option<&str>) -> Result<Subject, Denied> {
    let token = header
        .and_then(|t| inner.access_tokens.get(t))
        .ok_or(Denied::Unknown)?;
    if token.force_expired || inner.sim_elapsed(token.issued, speed) >= token.lifetime {
        return Err(Denied::Expired);
    }
    Ok(token.subject.clone())
}

pub fn expire_all(inner: &mut Inner) {
    for t in inner.access_tokens.values_mut() {
        t.force_expired = true;
    }
}
