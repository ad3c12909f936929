//! The application's client-secret rotation (`rotateApplicationClientSecret`)
//! and the notification it sends.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::TimeDelta;
use domain::Operation;
use serde_json::json;

use super::types::{ROTATION_SCOPE, SECRET_LIFETIME_DAYS, SECRET_OVERLAP};
use crate::clock::{iso, random_token};
use crate::http::{error_list, new_request_id, quota_exceeded, respond};
use crate::quota::{Bucket, Plan};
use crate::state::Shared;

pub(crate) async fn rotate_secret(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let request_id = new_request_id();
    let op = Operation::RotateApplicationClientSecret;
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let speed = shared.speed;
    let mut inner = shared.lock();
    let Some((client_id, scope)) = inner.consent.app_tokens.get(&token).cloned() else {
        return respond(
            StatusCode::FORBIDDEN,
            &request_id,
            None,
            error_list(
                "Unauthorized",
                "Access to requested resource is denied.",
                "",
            )
            .to_string(),
        );
    };
    if scope != ROTATION_SCOPE {
        return respond(
            StatusCode::FORBIDDEN,
            &request_id,
            None,
            error_list(
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token's scope does not allow this operation.",
            )
            .to_string(),
        );
    }
    let plan = Plan::for_operation(op, None);
    let now = Instant::now();
    let allowed = inner
        .consent
        .rotation_buckets
        .entry(client_id.clone())
        .or_insert_with(|| Bucket::full(plan.burst, now))
        .try_take(plan, speed, now);
    if !allowed {
        inner.record(&client_id, op, 429);
        return respond(
            StatusCode::TOO_MANY_REQUESTS,
            &request_id,
            None,
            quota_exceeded().to_string(),
        );
    }
    let rate = Some(plan.header_value());
    let solution = inner
        .consent
        .solutions
        .values()
        .find(|s| s.client_id == client_id)
        .cloned();
    let Some(solution) = solution.filter(|s| s.notifications) else {
        inner.record(&client_id, op, 400);
        return respond(
            StatusCode::BAD_REQUEST,
            &request_id,
            rate,
            error_list(
                "InvalidInput",
                "Application is not enrolled for rotation notification. Please update application notification preference in Developer console.",
                "",
            )
            .to_string(),
        );
    };
    let Some(old) = inner.apps.get(&client_id).cloned() else {
        return respond(
            StatusCode::NOT_FOUND,
            &request_id,
            rate,
            error_list("NotFound", "Unknown application.", "").to_string(),
        );
    };
    let new_secret = format!("amzn1.oa2-cs.v1.sim{}", random_token(40));
    let stamp = inner.stamp();
    let now_time = inner.now();
    inner
        .consent
        .previous_secrets
        .insert(client_id.clone(), (old, stamp, SECRET_OVERLAP));
    inner.apps.insert(client_id.clone(), new_secret.clone());
    inner
        .consent
        .secret_made
        .insert(client_id.clone(), now_time);
    let overlap = TimeDelta::from_std(SECRET_OVERLAP).unwrap_or_default();
    let notification = json!({
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "2023-11-30",
        "eventTime": iso(now_time),
        "payload": {"applicationOAuthClientNewSecret": {
            "clientId": client_id,
            "newClientSecret": new_secret,
            "newClientSecretExpiryTime": iso(now_time + TimeDelta::days(SECRET_LIFETIME_DAYS)),
            "oldClientSecretExpiryTime": iso(now_time + overlap),
        }},
        "notificationMetadata": {
            "applicationId": solution.application_id,
            "subscriptionId": uuid::Uuid::new_v4().to_string(),
            "publishTime": iso(now_time),
            "notificationId": uuid::Uuid::new_v4().to_string(),
        }
    });
    inner.consent.outbox.push(notification);
    inner.record(&client_id, op, 204);
    tracing::info!(operation = op.name(), status = 204, request_id, "answered");
    let mut resp = respond(StatusCode::NO_CONTENT, &request_id, rate, String::new());
    resp.headers_mut().remove(CONTENT_TYPE);
    resp
}
