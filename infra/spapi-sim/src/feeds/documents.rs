//! Feed documents: **createFeedDocument**, **getFeedDocument**, and the
//! pre-signed URLs on the simulator that behave like S3's.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Operation;
use serde_json::{Value, json};

use super::query::not_found;
use super::types::{Document, Signature, URL_LIFETIME};
use crate::faults::OpCall;
use crate::pipeline::pipeline;
use crate::search::invalid_input;
use crate::state::{Inner, Shared, random_token};

/// A pre-signed URL on this simulator for `document_id`.
pub(super) fn sign(inner: &mut Inner, host: &str, document_id: &str, upload: bool) -> String {
    let token = random_token(32);
    let issued = inner.stamp();
    inner.feeds.signatures.insert(
        token.clone(),
        Signature {
            document_id: document_id.to_string(),
            upload,
            issued,
        },
    );
    format!("http://{host}/feed-documents/{document_id}?X-Amz-Signature={token}")
}

pub(super) fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

pub(super) async fn create_document_route(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let call = OpCall {
        op: Operation::CreateFeedDocument,
        has_page_token: false,
    };
    let host = host(&headers);
    let mut resp = pipeline(&shared, call, &headers, move |inner, seller, _| {
        let Json(body) = body.map_err(|_| invalid_input("The request body is not valid JSON."))?;
        let content_type = body["contentType"]
            .as_str()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| invalid_input("Missing required 'contentType'."))?
            .to_string();
        let id = format!("amzn1.tortuga.4.eu.{}", inner.feeds.next_id());
        inner.feeds.documents.insert(
            id.clone(),
            Document {
                seller: seller.to_string(),
                content_type,
                content: None,
                gzip: false,
            },
        );
        let url = sign(inner, &host, &id, true);
        Ok(json!({ "feedDocumentId": id, "url": url }))
    })
    .await;
    if resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::CREATED;
    }
    resp
}

pub(super) async fn get_document_route(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = OpCall {
        op: Operation::GetFeedDocument,
        has_page_token: false,
    };
    let host = host(&headers);
    pipeline(&shared, call, &headers, move |inner, seller, _| {
        let gzip = match inner.feeds.documents.get(&document_id) {
            Some(d) if d.seller == seller => d.gzip,
            _ => return Err(not_found("Feed document")),
        };
        let url = sign(inner, &host, &document_id, false);
        let mut v = json!({ "feedDocumentId": document_id, "url": url });
        if gzip {
            v["compressionAlgorithm"] = json!("GZIP");
        }
        Ok(v)
    })
    .await
}

/// S3's error body.
pub(super) fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

/// Checks a pre-signed URL: known signature for this document and direction,
/// not expired, and no unsigned `x-amz-*` header (an SP-API token).
pub(super) fn check_signature(
    inner: &Inner,
    speed: f64,
    document_id: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    upload: bool,
) -> Result<(), Box<Response>> {
    let sig = params
        .get("X-Amz-Signature")
        .and_then(|s| inner.feeds.signatures.get(s))
        .filter(|s| s.document_id == document_id && s.upload == upload)
        .ok_or_else(|| {
            Box::new(s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ))
        })?;
    if inner.sim_elapsed(sig.issued, speed) > URL_LIFETIME {
        return Err(Box::new(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        )));
    }
    if headers.keys().any(|k| k.as_str().starts_with("x-amz-")) {
        return Err(Box::new(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "There were headers present in the request which were not signed",
        )));
    }
    Ok(())
}

pub(super) async fn upload_route(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = shared.lock();
    if let Err(resp) = check_signature(&inner, shared.speed, &document_id, &params, &headers, true)
    {
        return *resp;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(doc) = inner.feeds.documents.get_mut(&document_id) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if doc.content_type != content_type {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The Content-Type is not the one the URL was signed for.",
        );
    }
    doc.content = Some(body.to_vec());
    StatusCode::OK.into_response()
}

pub(super) async fn download_route(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let inner = shared.lock();
    if let Err(resp) = check_signature(&inner, shared.speed, &document_id, &params, &headers, false)
    {
        return *resp;
    }
    match inner
        .feeds
        .documents
        .get(&document_id)
        .and_then(|d| d.content.clone().map(|c| (d.content_type.clone(), c)))
    {
        Some((ct, bytes)) => {
            let mut resp = (StatusCode::OK, bytes).into_response();
            if let Ok(v) = HeaderValue::from_str(&ct) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        None => s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}
