//! Feed documents: the bytes of a feed go up to, and processing reports come
//! down from, pre-signed URLs that Amazon hands out (`createFeedDocument`,
//! `getFeedDocument`). Those are plain HTTP exchanges — no LWA token, no
//! SP-API quota — so they are not [`crate::Call`]s but methods of the client,
//! with their own timeout and bounded retries (5xx, 429, connection failures;
//! never a 4xx: an expired or refused URL needs a new document).
//!
//! [`SpApi::submit_feed`] and [`SpApi::feed_outcome`] are the whole Feeds
//! flow for any feed type and content type (`JSON_LISTINGS_FEED`,
//! `POST_ORDER_FULFILLMENT_DATA`, ...). Pre-signed URLs are credentials: they
//! are never logged.

use std::collections::BTreeMap;
use std::io::Read;

use domain::operation::RetrySafety;
use domain::retry::{Decision, Failure};
use domain::{Deadline, MarketplaceId, Operation};

use crate::models::feeds::{CompressionAlgorithm, Feed, FeedDocument};
use crate::ops::feeds::{CreateFeed, CreateFeedDocument, GetFeed, GetFeedDocument};
use crate::{SellerContext, SpApi, SpApiError};

/// Largest processing report the client accepts after decompression
/// (a 25,000-message report with an error per message is about 6 MB).
pub const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;

/// What to send as one feed.
#[derive(Clone, Debug)]
pub struct FeedRequest<'a> {
    pub feed_type: &'a str,
    pub marketplace_ids: &'a [MarketplaceId],
    /// e.g. [`crate::ops::feeds::CONTENT_TYPE_JSON`]; sent on the upload too.
    pub content_type: &'a str,
    pub document: &'a [u8],
    pub feed_options: BTreeMap<String, String>,
}

/// A feed Amazon accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSubmission {
    pub feed_id: String,
    pub input_feed_document_id: String,
}

/// Where a feed stands, with its processing report once there is one.
#[derive(Clone, Debug)]
pub struct FeedOutcome {
    pub feed: Feed,
    /// The result document, decompressed, when the feed is terminal and has one.
    pub report: Option<Vec<u8>>,
}

#[derive(Clone, Copy, Debug)]
enum Transfer {
    Upload,
    Download,
}

impl Transfer {
    fn operation(self) -> Operation {
        match self {
            Transfer::Upload => Operation::CreateFeedDocument,
            Transfer::Download => Operation::GetFeedDocument,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Transfer::Upload => "upload",
            Transfer::Download => "download",
        }
    }
}

impl SpApi {
    /// `PUT`s `bytes` to a `createFeedDocument` URL with the same
    /// `Content-Type`, retrying 5xx/429/connection failures (a repeated PUT
    /// of the same bytes is harmless).
    pub async fn upload_feed_document(
        &self,
        url: &str,
        content_type: &str,
        bytes: &[u8],
        deadline: &Deadline,
    ) -> Result<(), SpApiError> {
        self.transfer(Transfer::Upload, url, Some((content_type, bytes)), deadline)
            .await
            .map(|_| ())
    }

    /// Downloads a document from a `getFeedDocument` answer, gunzipping it
    /// when Amazon says it is compressed.
    pub async fn download_feed_document(
        &self,
        document: &FeedDocument,
        deadline: &Deadline,
    ) -> Result<Vec<u8>, SpApiError> {
        let raw = self
            .transfer(Transfer::Download, &document.url, None, deadline)
            .await?;
        match document.compression_algorithm {
            None => Ok(raw),
            Some(CompressionAlgorithm::Gzip) => gunzip(&raw),
        }
    }

    /// The whole submission: `createFeedDocument`, upload, `createFeed`.
    pub async fn submit_feed(
        &self,
        seller: &SellerContext,
        request: FeedRequest<'_>,
        deadline: &Deadline,
    ) -> Result<FeedSubmission, SpApiError> {
        let doc = self
            .call(
                seller,
                &CreateFeedDocument {
                    content_type: request.content_type.to_string(),
                },
                deadline,
            )
            .await?;
        self.upload_feed_document(&doc.url, request.content_type, request.document, deadline)
            .await?;
        let created = self
            .call(
                seller,
                &CreateFeed {
                    feed_type: request.feed_type.to_string(),
                    marketplace_ids: request.marketplace_ids.to_vec(),
                    input_feed_document_id: doc.feed_document_id.clone(),
                    feed_options: request.feed_options,
                },
                deadline,
            )
            .await?;
        tracing::info!(
            seller_id = %seller.seller_id,
            feed_type = request.feed_type,
            feed_id = created.feed_id,
            bytes = request.document.len(),
            "feed submitted"
        );
        Ok(FeedSubmission {
            feed_id: created.feed_id,
            input_feed_document_id: doc.feed_document_id,
        })
    }

    /// `getFeed`, then — when the feed is terminal and has a result
    /// document — `getFeedDocument` and the download.
    pub async fn feed_outcome(
        &self,
        seller: &SellerContext,
        feed_id: &str,
        deadline: &Deadline,
    ) -> Result<FeedOutcome, SpApiError> {
        let feed = self
            .call(
                seller,
                &GetFeed {
                    feed_id: feed_id.to_string(),
                },
                deadline,
            )
            .await?;
        let report = match (&feed.result_feed_document_id, feed.processing_status) {
            (Some(doc_id), status) if status.is_terminal() => {
                let doc = self
                    .call(
                        seller,
                        &GetFeedDocument {
                            feed_document_id: doc_id.clone(),
                        },
                        deadline,
                    )
                    .await?;
                Some(self.download_feed_document(&doc, deadline).await?)
            }
            _ => None,
        };
        Ok(FeedOutcome { feed, report })
    }

    async fn transfer(
        &self,
        kind: Transfer,
        url: &str,
        upload: Option<(&str, &[u8])>,
        deadline: &Deadline,
    ) -> Result<Vec<u8>, SpApiError> {
        let config = self.config();
        let mut retries = 0u32;
        loop {
            let mut req = match upload {
                Some((content_type, bytes)) => self
                    .http()
                    .put(url)
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(bytes.to_vec()),
                None => self.http().get(url),
            };
            req = req.timeout(deadline.remaining().min(config.request_timeout));
            let (failure, error) = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        match resp.bytes().await {
                            Ok(body) => {
                                tracing::debug!(
                                    transfer = kind.name(),
                                    bytes = body.len(),
                                    retries,
                                    "feed document transferred"
                                );
                                return Ok(body.to_vec());
                            }
                            Err(e) => (Failure::NoAnswer, document_error(kind, None, e)),
                        }
                    } else {
                        (
                            Failure::Status(status),
                            SpApiError::Document {
                                transfer: kind.name(),
                                status: Some(status),
                                message: match status {
                                    403 => "the pre-signed URL was refused (expired after 5 minutes, or the Content-Type differs from the document's): ask for a new document".to_string(),
                                    s if domain::retry::is_retryable_status(s) => "the document store is unavailable".to_string(),
                                    _ => "the document store refused the request".to_string(),
                                },
                                retryable: domain::retry::is_retryable_status(status),
                                source: None,
                            },
                        )
                    }
                }
                Err(e) => {
                    let failure = if e.is_connect() {
                        Failure::NotSent
                    } else {
                        Failure::NoAnswer
                    };
                    (failure, document_error(kind, None, e))
                }
            };
            // The same retry decision as `SpApi::call`'s loop, which is bound
            // to a `Call` (LWA token, quota, request id): a document transfer
            // goes to S3 with none of those, so it keeps its own loop.
            match config.retry.decide(
                failure,
                retries,
                RetrySafety::Idempotent,
                false,
                fastrand::f64(),
            ) {
                Decision::Retry { after } => {
                    if !deadline.allows(after) {
                        return Err(SpApiError::ResumeLater {
                            operation: kind.operation(),
                            after,
                            reason: error.to_string(),
                        });
                    }
                    tracing::warn!(
                        transfer = kind.name(),
                        wait_ms = after.as_millis() as u64,
                        retry = retries + 1,
                        status = error.status().unwrap_or(0),
                        "feed document transfer failed, retrying"
                    );
                    tokio::time::sleep(after).await;
                    retries += 1;
                }
                Decision::GiveUp => return Err(error),
            }
        }
    }
}

fn document_error(kind: Transfer, status: Option<u16>, e: reqwest::Error) -> SpApiError {
    SpApiError::Document {
        transfer: kind.name(),
        status,
        message: if e.is_timeout() {
            "no answer before the timeout".to_string()
        } else if e.is_connect() {
            "could not connect to the document store".to_string()
        } else {
            "the transfer broke off".to_string()
        },
        retryable: true,
        // Without the URL: it is a credential.
        source: Some(e.without_url()),
    }
}

fn gunzip(raw: &[u8]) -> Result<Vec<u8>, SpApiError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw)
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| SpApiError::Document {
            transfer: "gunzip",
            status: None,
            message: format!("the document says GZIP but does not decompress: {e}"),
            retryable: false,
            source: None,
        })?;
    if out.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(SpApiError::Document {
            transfer: "gunzip",
            status: None,
            message: format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
            retryable: false,
            source: None,
        });
    }
    Ok(out)
}
