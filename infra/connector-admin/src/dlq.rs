//! `dlq list|show|replay`: every dead-letter queue of the stage, each
//! message with its reason (the `error_reason` attribute the functions set,
//! or "moved by SQS after N receives"), and a replay of the selected
//! messages back to the queue they came from.
//!
//! A replay loses nothing and sends nothing twice when it is interrupted
//! and run again: each message is journalled `PENDING` in the state table,
//! sent back, journalled `SENT`, and only then deleted from the dead-letter
//! queue (`store::replay`). Messages this run does not replay are made
//! visible again at once; those it holds come back by themselves when their
//! visibility ends if the run dies. The one window left is a run that dies
//! after SQS accepted the send but before the `SENT` record: the next run
//! sends that message again (with the same deduplication id on a FIFO
//! queue); every consumer is idempotent for it (package ids, the ledger,
//! checkpoints, absolute stock quantities).

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use domain::settings::SellerSettings;
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::error::CliError;
use crate::output::{Console, age, clip};
use crate::queues::{DeadLetterQueue, StageQueue, dead_letter_queues, select};

mod replay;

use replay::finish;
pub use replay::{ReplayReport, Replayed, replay};

/// Messages are held this long while a replay works on them.
pub const HOLD_SECONDS: i32 = 300;
/// Messages read per queue at most (show, sellers).
pub const READ_LIMIT: usize = 2000;
/// The journal keeps entries as long as a dead-letter queue keeps messages.
pub const JOURNAL_DAYS: i64 = 14;
/// Attributes the functions add when they dead-letter: not sent back.
const DEAD_LETTER_ATTRIBUTES: [&str; 4] = [
    lambda_kit::batch::REASON_ATTRIBUTE,
    lambda_kit::batch::SOURCE_QUEUE_ATTRIBUTE,
    "source_message_id",
    "failed_at",
];

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Every dead-letter queue of the stage: messages waiting, and where they come from.
    #[command(
        after_help = "Examples:\n  connector-admin --stage prod dlq list\n  connector-admin --stage prod --json dlq list --queue shipments"
    )]
    List(QueueArgs),
    /// The messages of the dead-letter queues, each with its reason (bodies with --body or --message).
    ///
    /// A FIFO queue (wms-orders) shows at most the first 10 messages of each
    /// message group: SQS hands out no more of a group while those are held.
    /// `dlq list` counts them all; `dlq replay --all` works through them.
    #[command(
        after_help = "Examples:\n  connector-admin --stage prod dlq show\n  connector-admin --stage prod dlq show --queue shipments\n  connector-admin --stage prod dlq show --queue shipments --message 0a1b2c3d-0000-4000-8000-000000000000"
    )]
    Show(ShowArgs),
    /// Send selected dead letters back to the queue they came from (resumable; --dry-run first).
    #[command(
        long_about = "Send selected dead letters back to the queue they came from.\n\nName the messages (--message, repeatable) or all of one queue (--queue Q --all). Each message goes back with its body and attributes (not the dead-letter reason), is recorded in the state table, and is deleted from the dead-letter queue only after that: an interrupted replay is finished by running the same command again, and sends nothing twice. Fix the cause first (the reason says what), or the message comes back.",
        after_help = "Examples:\n  connector-admin --stage prod dlq replay --queue shipments --all --dry-run\n  connector-admin --stage prod dlq replay --queue shipments --all\n  connector-admin --stage prod dlq replay --message 0a1b2c3d-0000-4000-8000-000000000000"
    )]
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// One dead-letter queue: `shipments`, `order-pull-jobs`, `inventory-push-jobs`, `wms-orders` (or its full name).
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Only this message id (repeatable); its body is shown.
    #[arg(long = "message", value_name = "ID")]
    pub messages: Vec<String>,
    /// Show every message's body (may hold buyer data: order messages).
    #[arg(long)]
    pub body: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub queue: QueueArgs,
    /// A message id to replay (repeatable).
    #[arg(long = "message", value_name = "ID")]
    pub messages: Vec<String>,
    /// Every message of the --queue.
    #[arg(long, conflicts_with = "messages")]
    pub all: bool,
    /// Say what would be replayed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// One message of a dead-letter queue.
#[derive(Clone, Debug, Serialize)]
pub struct DlqMessage {
    pub message_id: String,
    #[serde(skip)]
    pub receipt_handle: String,
    #[serde(skip)]
    pub body: String,
    /// String message attributes (the reason among them).
    pub attributes: BTreeMap<String, String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub receive_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Set by SQS when it moved the message here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}

impl DlqMessage {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// Why it is here.
    pub fn reason(&self) -> String {
        match self.attributes.get(lambda_kit::batch::REASON_ATTRIBUTE) {
            Some(r) => r.clone(),
            None => format!(
                "moved here by SQS after {} receive(s): its consumer kept failing or timing out (see the function's ERROR logs for this message id)",
                self.receive_count.saturating_sub(1).max(1)
            ),
        }
    }

    /// The seller it concerns, by id or by the WMS client code.
    pub fn seller(&self, by_client_code: &HashMap<String, String>) -> Option<String> {
        let v = self.json()?;
        if let Some(id) = v["seller_id"].as_str() {
            return Some(id.to_string());
        }
        v["client_code"]
            .as_str()
            .and_then(|c| by_client_code.get(c).cloned())
    }

    /// What it is, in a few words.
    pub fn what(&self) -> String {
        let Some(v) = self.json() else {
            return "not JSON".into();
        };
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        if let Some(kind) = v["kind"].as_str() {
            format!("{kind} {}", s("order_number"))
        } else if v.get("package_id").is_some() {
            format!("package {} of {}", s("package_id"), s("order_number"))
        } else if v.get("feed_id").is_some() {
            format!("feed check {}", s("feed_id"))
        } else if v.get("mode").is_some() {
            format!("order-pull job ({})", s("mode"))
        } else if v.get("seller_id").is_some() {
            "job".into()
        } else {
            "message".into()
        }
        .trim()
        .to_string()
    }
}

/// What to send back: the body, the attributes (without the dead-letter
/// ones) plus `replay_of`, and for a FIFO queue a group and a deduplication
/// id that is the same however often the replay runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resend {
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

impl Resend {
    pub fn of(message: &DlqMessage, target: &StageQueue) -> Self {
        let mut attributes: BTreeMap<String, String> = message
            .attributes
            .iter()
            .filter(|(k, _)| !DEAD_LETTER_ATTRIBUTES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        attributes.insert("replay_of".into(), message.message_id.clone());
        let (group_id, deduplication_id) = if target.fifo {
            (
                Some(
                    message
                        .group_id
                        .clone()
                        .unwrap_or_else(|| "replayed".into()),
                ),
                Some(format!("replay-{}", message.message_id)),
            )
        } else {
            (None, None)
        };
        Self {
            body: message.body.clone(),
            attributes,
            group_id,
            deduplication_id,
        }
    }
}

/// The queue operations a replay needs (SQS; a test wraps it to cut a run
/// off half-way).
#[async_trait::async_trait]
pub trait DlqPort: Send + Sync {
    /// Up to 10 messages, invisible to others for `hold_seconds`.
    async fn receive(
        &self,
        queue_url: &str,
        hold_seconds: i32,
    ) -> Result<Vec<DlqMessage>, CliError>;
    /// Visible again now.
    async fn release(&self, queue_url: &str, receipt_handle: &str) -> Result<(), CliError>;
    async fn send(&self, target: &StageQueue, message: &Resend) -> Result<(), CliError>;
    async fn delete(&self, queue_url: &str, receipt_handle: &str) -> Result<(), CliError>;
}

/// [`DlqPort`] over SQS.
pub struct SqsPort {
    pub sqs: aws_sdk_sqs::Client,
}

#[async_trait::async_trait]
impl DlqPort for SqsPort {
    async fn receive(
        &self,
        queue_url: &str,
        hold_seconds: i32,
    ) -> Result<Vec<DlqMessage>, CliError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(hold_seconds)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| CliError::aws("read a dead-letter queue", e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let system = m.attributes();
                let get =
                    |name: MessageSystemAttributeName| system.and_then(|a| a.get(&name)).cloned();
                DlqMessage {
                    message_id: m.message_id().unwrap_or_default().to_string(),
                    receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    attributes: m
                        .message_attributes()
                        .map(|a| {
                            a.iter()
                                .filter_map(|(k, v)| {
                                    v.string_value().map(|s| (k.clone(), s.to_string()))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    sent_at: get(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|t| t.parse::<i64>().ok())
                        .and_then(DateTime::from_timestamp_millis),
                    receive_count: get(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                    group_id: get(MessageSystemAttributeName::MessageGroupId),
                    source_arn: get(MessageSystemAttributeName::DeadLetterQueueSourceArn),
                }
            })
            .collect())
    }

    async fn release(&self, queue_url: &str, receipt_handle: &str) -> Result<(), CliError> {
        self.sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CliError::aws("make a dead letter visible again", e))
    }

    async fn send(&self, target: &StageQueue, message: &Resend) -> Result<(), CliError> {
        let mut send = self
            .sqs
            .send_message()
            .queue_url(&target.url)
            .message_body(&message.body);
        for (k, v) in &message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| CliError::failed(format!("attribute {k}: {e}")))?;
            send = send.message_attributes(k, value);
        }
        if let Some(g) = &message.group_id {
            send = send.message_group_id(g);
        }
        if let Some(d) = &message.deduplication_id {
            send = send.message_deduplication_id(d);
        }
        send.send()
            .await
            .map(|_| ())
            .map_err(|e| CliError::aws(&format!("send a message back to {}", target.name), e))
    }

    async fn delete(&self, queue_url: &str, receipt_handle: &str) -> Result<(), CliError> {
        self.sqs
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CliError::aws("delete a replayed dead letter", e))
    }
}

/// Every message of `dlq` (up to `limit`), held for `hold_seconds`.
pub async fn read_all(
    port: &dyn DlqPort,
    dlq: &DeadLetterQueue,
    hold_seconds: i32,
    limit: usize,
) -> Result<Vec<DlqMessage>, CliError> {
    let mut out: Vec<DlqMessage> = Vec::new();
    let mut seen = HashSet::new();
    loop {
        let batch = port.receive(&dlq.queue.url, hold_seconds).await?;
        if batch.is_empty() {
            return Ok(out);
        }
        for m in batch {
            if seen.insert(m.message_id.clone()) {
                out.push(m);
            }
        }
        if out.len() >= limit {
            return Ok(out);
        }
    }
}

/// Reads every message and makes them all visible again at once.
pub async fn peek(port: &dyn DlqPort, dlq: &DeadLetterQueue) -> Result<Vec<DlqMessage>, CliError> {
    let messages = read_all(port, dlq, 30, READ_LIMIT).await?;
    for m in &messages {
        port.release(&dlq.queue.url, &m.receipt_handle).await?;
    }
    Ok(messages)
}

fn client_codes(sellers: &[SellerSettings]) -> HashMap<String, String> {
    sellers
        .iter()
        .map(|s| (s.client_code.to_string(), s.seller_id.to_string()))
        .collect()
}

/// Dead letters per seller id, over every dead-letter queue.
pub async fn dead_letters_per_seller(
    ctx: &Context,
    sellers: &[SellerSettings],
) -> Result<BTreeMap<String, usize>, CliError> {
    let port = SqsPort {
        sqs: ctx.sqs.clone(),
    };
    let codes = client_codes(sellers);
    let mut counts = BTreeMap::new();
    for dlq in dead_letter_queues(ctx).await? {
        if dlq.queue.visible == 0 {
            continue;
        }
        for m in peek(&port, &dlq).await? {
            if let Some(seller) = m.seller(&codes) {
                *counts.entry(seller).or_default() += 1;
            }
        }
    }
    Ok(counts)
}

pub async fn run(command: DlqCommand, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let port = SqsPort {
        sqs: ctx.sqs.clone(),
    };
    match command {
        DlqCommand::List(args) => list(args, ctx, console).await,
        DlqCommand::Show(args) => show(args, ctx, console, &port).await,
        DlqCommand::Replay(args) => {
            let report = replay(&args, ctx, console, &port, ctx.store()).await?;
            finish(&report, console)
        }
    }
}

async fn list(args: QueueArgs, ctx: &Context, console: &Console) -> Result<(), CliError> {
    let dlqs = dead_letter_queues(ctx).await?;
    let chosen = select(&dlqs, args.queue.as_deref())?;
    console.table(
        &["QUEUE", "MESSAGES", "IN FLIGHT", "SOURCES", "NAME"],
        chosen
            .iter()
            .map(|d| {
                vec![
                    d.short.clone(),
                    d.queue.visible.to_string(),
                    d.queue.in_flight.to_string(),
                    if d.sources.is_empty() {
                        "(none: not redriven from a queue)".into()
                    } else {
                        d.sources
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    d.queue.name.clone(),
                ]
            })
            .collect(),
    );
    let waiting: u64 = chosen.iter().map(|d| d.queue.visible).sum();
    if waiting > 0 {
        console.line(format!(
            "{waiting} message(s) waiting: `connector-admin --stage {} dlq show` lists them with their reasons",
            ctx.deployment.stage
        ));
    }
    console.json(&serde_json::json!({ "stage": ctx.deployment.stage, "queues": chosen }))
}

#[derive(Serialize)]
struct Shown<'a> {
    queue: &'a str,
    #[serde(flatten)]
    message: &'a DlqMessage,
    reason: String,
    seller: Option<String>,
    what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
}

async fn show(
    args: ShowArgs,
    ctx: &Context,
    console: &Console,
    port: &dyn DlqPort,
) -> Result<(), CliError> {
    let dlqs = dead_letter_queues(ctx).await?;
    let chosen = select(&dlqs, args.queue.queue.as_deref())?;
    let sellers = all_settings(ctx).await?;
    let codes = client_codes(&sellers);
    let wanted: HashSet<&str> = args.messages.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    for dlq in chosen {
        for m in peek(port, dlq).await? {
            if wanted.is_empty() || wanted.contains(m.message_id.as_str()) {
                found.push((dlq.short.clone(), m));
            }
        }
    }
    let bodies = args.body || !wanted.is_empty();
    let now = ctx.clock.now();
    let shown: Vec<Shown> = found
        .iter()
        .map(|(q, m)| Shown {
            queue: q,
            message: m,
            reason: m.reason(),
            seller: m.seller(&codes),
            what: m.what(),
            body: bodies.then_some(m.body.as_str()),
        })
        .collect();
    let width = if console.tty { 100 } else { 100_000 };
    console.table(
        &[
            "QUEUE",
            "MESSAGE ID",
            "AGE",
            "RECEIVES",
            "SELLER",
            "WHAT",
            "REASON",
        ],
        shown
            .iter()
            .map(|s| {
                vec![
                    s.queue.to_string(),
                    s.message.message_id.clone(),
                    s.message
                        .sent_at
                        .map(|t| age((now - t).num_seconds()))
                        .unwrap_or_default(),
                    s.message.receive_count.to_string(),
                    s.seller.clone().unwrap_or_else(|| "?".into()),
                    s.what.clone(),
                    clip(&s.reason, width),
                ]
            })
            .collect(),
    );
    if bodies {
        for s in &shown {
            console.line(format!(
                "\n{} ({}):\n{}",
                s.message.message_id, s.queue, s.message.body
            ));
        }
    }
    if shown.is_empty() {
        console.line("no dead letters");
    }
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|id| !found.iter().any(|(_, m)| m.message_id == **id))
        .copied()
        .collect();
    console.json(&serde_json::json!({ "messages": shown, "not_found": missing }))?;
    if !missing.is_empty() {
        return Err(CliError::not_found(format!(
            "no dead letter {} in the queue(s) read (replayed already, expired after 14 days, or held by another reader for a few seconds)",
            missing.join(", ")
        )));
    }
    Ok(())
}

async fn all_settings(ctx: &Context) -> Result<Vec<SellerSettings>, CliError> {
    use store::SettingsStore;
    let mut out = Vec::new();
    for s in ctx.store().list_sellers().await? {
        if let Some(settings) = ctx.store().get_settings(&s.seller_id).await? {
            out.push(settings);
        }
    }
    Ok(out)
}
