//! `dlq replay`: the selected dead letters back to the queue they came
//! from, journalled so that an interrupted run loses nothing and sends
//! nothing twice when run again (see the parent module's doc).

use std::collections::HashSet;

use chrono::TimeDelta;
use serde::Serialize;
use store::{ReplayJournal, ReplayState};

use super::{DlqMessage, DlqPort, HOLD_SECONDS, JOURNAL_DAYS, ReplayArgs, Resend};
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::output::Console;
use crate::queues::{DeadLetterQueue, StageQueue, dead_letter_queues, select};

/// One message's fate in a replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replayed {
    pub queue: String,
    pub message_id: String,
    pub target: Option<String>,
    /// `sent`, `would_send`, `resent_after_interruption`,
    /// `already_sent` (an earlier run sent it; only deleted now), `skipped`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplayReport {
    pub dry_run: bool,
    pub messages: Vec<Replayed>,
    pub not_found: Vec<String>,
    /// Set when the run stopped early: run the same command again.
    pub interrupted: Option<String>,
}

impl ReplayReport {
    pub fn count(&self, outcome: &str) -> usize {
        self.messages
            .iter()
            .filter(|m| m.outcome == outcome)
            .count()
    }
}

/// The replay itself (see the module's doc). Stops at the first failure,
/// with `interrupted` set; everything done before it stays done.
pub async fn replay(
    args: &ReplayArgs,
    ctx: &Context,
    console: &Console,
    port: &dyn DlqPort,
    journal: &dyn ReplayJournal,
) -> Result<ReplayReport, CliError> {
    if args.messages.is_empty() && !args.all {
        return Err(CliError::usage(
            "name the messages to replay (--message ID, repeatable) or --queue NAME --all; `connector-admin dlq show` lists them",
        ));
    }
    if args.all && args.queue.queue.is_none() {
        return Err(CliError::usage(
            "--all replays one queue: add --queue NAME (`connector-admin dlq list` names them)",
        ));
    }
    let dlqs = dead_letter_queues(ctx).await?;
    let chosen = select(&dlqs, args.queue.queue.as_deref())?;
    let wanted: HashSet<&str> = args.messages.iter().map(String::as_str).collect();
    let mut report = ReplayReport {
        dry_run: args.dry_run,
        ..ReplayReport::default()
    };
    let progress = console.progress("replaying dead letters");
    for dlq in chosen {
        if let Err(e) = replay_queue(
            dlq,
            &wanted,
            args,
            ctx,
            port,
            journal,
            &mut report,
            &progress,
        )
        .await
        {
            report.interrupted = Some(e.message.clone());
            break;
        }
        if !wanted.is_empty() && report.messages.len() == wanted.len() {
            break;
        }
    }
    progress.finish();
    report.not_found = wanted
        .iter()
        .filter(|id| !report.messages.iter().any(|m| m.message_id == **id))
        .map(|id| id.to_string())
        .collect();
    report.not_found.sort();
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn replay_queue(
    dlq: &DeadLetterQueue,
    wanted: &HashSet<&str>,
    args: &ReplayArgs,
    ctx: &Context,
    port: &dyn DlqPort,
    journal: &dyn ReplayJournal,
    report: &mut ReplayReport,
    progress: &crate::output::Progress<'_>,
) -> Result<(), CliError> {
    // Batch by batch: a message replayed is deleted before the next
    // receive, so a FIFO queue's next messages of the same group come up;
    // the others are held (invisible) until the end, so every receive
    // brings new ones, and are then made visible again.
    let url = &dlq.queue.url;
    let mut held: Vec<DlqMessage> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut done = 0usize;
    let result = async {
        loop {
            let batch = port.receive(url, HOLD_SECONDS).await?;
            let fresh: Vec<DlqMessage> = batch
                .into_iter()
                .filter(|m| seen.insert(m.message_id.clone()))
                .collect();
            if fresh.is_empty() {
                return Ok::<(), CliError>(());
            }
            let mut fresh = fresh.into_iter();
            while let Some(m) = fresh.next() {
                let selected = args.all || wanted.contains(m.message_id.as_str());
                if !selected || args.dry_run {
                    if selected {
                        report.messages.push(Replayed {
                            queue: dlq.short.clone(),
                            message_id: m.message_id.clone(),
                            target: target_of(dlq, &m).map(|t| t.name.clone()),
                            outcome: if target_of(dlq, &m).is_some() {
                                "would_send"
                            } else {
                                "skipped"
                            },
                            note: None,
                        });
                    }
                    held.push(m);
                    continue;
                }
                let entry = replay_one(dlq, &m, ctx, port, journal).await;
                match entry {
                    Ok(entry) => {
                        if entry.outcome == "skipped" {
                            held.push(m);
                        } else {
                            done += 1;
                            progress.update(&format!(
                                "{}: {done} replayed, last to {}",
                                dlq.short,
                                entry.target.as_deref().unwrap_or("?")
                            ));
                        }
                        report.messages.push(entry);
                    }
                    Err(e) => {
                        // This one and the rest of the batch go back now.
                        held.push(m);
                        held.extend(fresh);
                        return Err(e);
                    }
                }
            }
            if !args.all && wanted.iter().all(|id| seen.contains(*id)) {
                return Ok(());
            }
        }
    }
    .await;
    // Whatever happened, what this run still holds is visible again now.
    for m in &held {
        let _ = port.release(url, &m.receipt_handle).await;
    }
    result
}

/// The queue a message goes back to: where SQS says it came from, else
/// where the function that dead-lettered it says, else the dead-letter
/// queue's own source (only ever one of its sources).
fn target_of<'a>(dlq: &'a DeadLetterQueue, m: &DlqMessage) -> Option<&'a StageQueue> {
    m.source_arn
        .as_deref()
        .and_then(|a| dlq.source_named(a))
        .or_else(|| {
            m.attributes
                .get(lambda_kit::batch::SOURCE_QUEUE_ATTRIBUTE)
                .and_then(|q| dlq.source_named(q))
        })
        .or_else(|| dlq.default_source())
}

/// Journal, send, journal, delete (see the module's doc).
async fn replay_one(
    dlq: &DeadLetterQueue,
    m: &DlqMessage,
    ctx: &Context,
    port: &dyn DlqPort,
    journal: &dyn ReplayJournal,
) -> Result<Replayed, CliError> {
    let url = &dlq.queue.url;
    let target = target_of(dlq, m);
    let mut entry = Replayed {
        queue: dlq.short.clone(),
        message_id: m.message_id.clone(),
        target: target.map(|t| t.name.clone()),
        outcome: "skipped",
        note: None,
    };
    let Some(target) = target else {
        entry.note = Some(format!(
            "cannot tell which queue it came from ({} has {} sources, and the message does not say): send its body yourself",
            dlq.queue.name,
            dlq.sources.len()
        ));
        return Ok(entry);
    };
    let now = ctx.clock.now();
    let expires = (now + TimeDelta::days(JOURNAL_DAYS)).timestamp();
    let before = journal
        .begin_replay(&dlq.queue.name, &m.message_id, &target.name, now, expires)
        .await?;
    entry.outcome = match before {
        Some(ReplayState::Sent { .. }) => "already_sent",
        Some(ReplayState::Pending { .. }) => "resent_after_interruption",
        None => "sent",
    };
    if !matches!(before, Some(ReplayState::Sent { .. })) {
        port.send(target, &Resend::of(m, target)).await?;
        journal
            .replay_sent(&dlq.queue.name, &m.message_id, ctx.clock.now())
            .await?;
    }
    port.delete(url, &m.receipt_handle).await?;
    tracing::info!(dlq = %dlq.queue.name, message_id = %m.message_id, target = %target.name, outcome = entry.outcome, "dead letter replayed");
    Ok(entry)
}

pub(super) fn finish(report: &ReplayReport, console: &Console) -> Result<(), CliError> {
    console.table(
        &["QUEUE", "MESSAGE ID", "TO", "OUTCOME", "NOTE"],
        report
            .messages
            .iter()
            .map(|m| {
                vec![
                    m.queue.clone(),
                    m.message_id.clone(),
                    m.target.clone().unwrap_or_default(),
                    m.outcome.to_string(),
                    m.note.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    let summary = if report.dry_run {
        format!(
            "dry run: {} message(s) would be sent back, {} skipped; nothing changed",
            report.count("would_send"),
            report.count("skipped")
        )
    } else {
        format!(
            "{} sent back, {} re-sent after an interrupted replay, {} had been sent already (removed from the dead-letter queue), {} skipped",
            report.count("sent"),
            report.count("resent_after_interruption"),
            report.count("already_sent"),
            report.count("skipped")
        )
    };
    console.line(&summary);
    console.json(report)?;
    if let Some(why) = &report.interrupted {
        return Err(CliError::new(
            Kind::Temporary,
            format!(
                "the replay stopped: {why}. Run the same command again: what was sent is not sent again, and nothing was deleted before it was sent"
            ),
        ));
    }
    if !report.not_found.is_empty() {
        return Err(CliError::not_found(format!(
            "no dead letter {} in the queue(s) read (replayed already, expired after 14 days, or held by another reader for a few minutes)",
            report.not_found.join(", ")
        )));
    }
    Ok(())
}
