//! One batch from the shipment queue, with the partial-batch guarantees of
//! `lambda_kit::batch` (every record on its own; refusals dead-lettered with
//! their reason; retryable failures reported by message id so SQS
//! redelivers only them; an all-failed batch is a function error) — in two
//! passes rather than one, because whether a seller's packages go by feed
//! depends on how many of them the batch holds.

use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsMessage};
use domain::{Deadline, SellerId};
use lambda_kit::batch::{AllFailed, DEAD_LETTER_ACTION, DeadLetter, DeadLetterSink, queue_name};
use lambda_kit::error::ErrorType;
use serde::Serialize;

use crate::confirm::{Claim, Confirmer, Done, Prepared, Sellers};
use crate::error::ShipmentError;

/// What a batch did (counts only; the invocation answers `response`).
#[derive(Debug, Default, Serialize)]
pub struct BatchReport {
    #[serde(skip)]
    pub response: SqsBatchResponse,
    /// Confirmed with `confirmShipment` (or found on Amazon's order).
    pub confirmed: u32,
    /// Sent in an order-fulfilment feed.
    pub submitted: u32,
    /// Repeats of packages already confirmed: nobody called.
    pub duplicates: u32,
    /// Bought through the label function: Amazon knew already.
    pub labels: u32,
    /// Dead-lettered with their reason.
    pub refused: u32,
    /// Left for SQS to deliver again.
    pub retried: u32,
    /// Feeds submitted.
    pub feeds: u32,
}

impl Confirmer {
    /// The whole batch: prepare every record, then per seller either one
    /// feed (at least `feed_threshold` new packages) or `confirmShipment`
    /// per package, then the partial-batch answer.
    pub async fn run_batch(
        &self,
        records: &[SqsMessage],
        deadline: &Deadline,
    ) -> Result<BatchReport, AllFailed> {
        let mut outcomes: Vec<Option<Result<Done, ShipmentError>>> =
            records.iter().map(|_| None).collect();
        let mut sellers = Sellers::default();
        let mut claimed: BTreeMap<SellerId, Vec<(usize, Claim)>> = BTreeMap::new();
        let mut in_batch: HashMap<(SellerId, String), usize> = HashMap::new();
        for (i, record) in records.iter().enumerate() {
            let body = record.body.as_deref().unwrap_or_default();
            match self.prepare(body, &mut sellers, deadline).await {
                Ok(Prepared::Done(done)) => outcomes[i] = Some(Ok(done)),
                Ok(Prepared::Claimed(claim)) => {
                    in_batch.insert(
                        (claim.seller().clone(), claim.package.package_id.clone()),
                        i,
                    );
                    claimed
                        .entry(claim.seller().clone())
                        .or_default()
                        .push((i, *claim));
                }
                Err(e) => outcomes[i] = Some(Err(e)),
            }
        }
        let mut feeds = 0;
        for (seller, claims) in claimed {
            // Taken-over packages are checked against Amazon's order first,
            // which only the per-package path does.
            let (fresh, taken): (Vec<_>, Vec<_>) =
                claims.into_iter().partition(|(_, c)| !c.takeover);
            let direct = if fresh.len() >= self.options.feed_threshold.max(1) {
                tracing::info!(seller = %seller, packages = fresh.len(), threshold = self.options.feed_threshold, "many packages for one seller: one order-fulfilment feed");
                feeds += 1;
                for (i, r) in self.submit_feed(fresh, deadline).await {
                    outcomes[i] = Some(r);
                }
                taken
            } else {
                fresh.into_iter().chain(taken).collect()
            };
            for (i, claim) in direct {
                outcomes[i] = Some(self.confirm(&claim, deadline).await);
            }
        }
        // The same package twice in one batch: the second waited on the
        // first's claim; it shares the first's fate.
        for i in 0..outcomes.len() {
            let Some(Err(ShipmentError::InFlight { seller, package_id })) = &outcomes[i] else {
                continue;
            };
            let Some(j) = in_batch.get(&(seller.clone(), package_id.clone())).copied() else {
                continue;
            };
            outcomes[i] = Some(match &outcomes[j] {
                Some(Ok(_)) => Ok(Done::Duplicate),
                Some(Err(e)) => Err(ShipmentError::Later(format!(
                    "the same package earlier in this batch was not confirmed ({e})"
                ))),
                None => continue,
            });
        }
        let mut report = settle(records, outcomes, self.dead_letters.as_ref()).await?;
        report.feeds = feeds;
        tracing::info!(
            records = records.len(),
            confirmed = report.confirmed,
            submitted = report.submitted,
            duplicates = report.duplicates,
            labels = report.labels,
            refused = report.refused,
            retried = report.retried,
            feeds,
            "shipment batch done"
        );
        Ok(report)
    }
}

/// The partial-batch answer: dead-letters refusals (a refusal whose
/// dead-lettering fails is left to SQS instead, so nothing is lost).
pub async fn settle(
    records: &[SqsMessage],
    outcomes: Vec<Option<Result<Done, ShipmentError>>>,
    sink: &dyn DeadLetterSink,
) -> Result<BatchReport, AllFailed> {
    let mut report = BatchReport::default();
    let mut first_reason: Option<(String, &'static str)> = None;
    let mut failed = 0usize;
    for (record, outcome) in records.iter().zip(outcomes) {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = outcome.unwrap_or_else(|| {
            Err(ShipmentError::Later(
                "the record was not processed".to_string(),
            ))
        });
        let failure = match outcome {
            Ok(Done::Confirmed(_)) => {
                report.confirmed += 1;
                None
            }
            Ok(Done::Submitted) => {
                report.submitted += 1;
                None
            }
            Ok(Done::Duplicate) => {
                report.duplicates += 1;
                None
            }
            Ok(Done::Label) => {
                report.labels += 1;
                None
            }
            Err(e) if !e.is_retryable() => {
                let reason = e.to_string();
                let error_type = e.error_type();
                let letter = DeadLetter {
                    source_message_id: id.clone(),
                    body: record.body.clone().unwrap_or_default(),
                    reason: reason.clone(),
                    message_group_id: None,
                    source_queue: queue_name(record.event_source_arn.as_deref()),
                };
                match sink.dead_letter(letter).await {
                    Ok(()) => {
                        tracing::warn!(audit = DEAD_LETTER_ACTION, outcome = "success", message_id = %id, error_type, reason = %reason, "shipment message refused and dead-lettered");
                        report.refused += 1;
                        None
                    }
                    Err(dlq) => {
                        tracing::error!(audit = DEAD_LETTER_ACTION, outcome = "failure", message_id = %id, error_type, reason = %reason, error = %dlq, "shipment message refused but the dead-letter queue failed; SQS will deliver it again");
                        Some((
                            format!("{reason} (and dead-lettering failed: {dlq})"),
                            error_type,
                        ))
                    }
                }
            }
            Err(e) => {
                let error_type = e.error_type();
                tracing::warn!(message_id = %id, error_type, reason = %e, "shipment message failed; SQS will deliver it again");
                report.retried += 1;
                Some((e.to_string(), error_type))
            }
        };
        if let Some(reason) = failure {
            report.response.add_failure(id);
            failed += 1;
            first_reason.get_or_insert(reason);
        }
    }
    if !records.is_empty() && failed == records.len() {
        let (first_reason, first_error_type) =
            first_reason.unwrap_or_else(|| (String::new(), "RecordFailed"));
        return Err(AllFailed {
            count: failed,
            first_reason,
            first_error_type,
        });
    }
    Ok(report)
}
