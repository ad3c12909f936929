//! The soak's warehouse: it reads the WMS order queue as a WMS would
//! (recording every message with its deduplication id), ships what the plan
//! says for every order it got — some shipment messages twice — and buys
//! labels through the label function's URL with several concurrent requests
//! and a retry under one idempotency key. It also tells the soak's Amazon
//! which orders to cancel once it has them.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Value, json};
use wms::OrderMessage;

use crate::SoakError;
use crate::chaos::ChaosPlan;
use crate::plan::{Fate, Plan};
use crate::rig::{Kind, Pool};

/// One message the WMS got.
#[derive(Clone, Debug)]
pub struct Received {
    pub kind: &'static str,
    pub number: String,
    /// The queue's `MessageDeduplicationId` (the message's `message_id`).
    pub dedup_id: String,
    /// The queue's `SentTimestamp` (ms).
    pub sent_ms: u64,
}

/// SQS FIFO's deduplication interval: a message sent again with the same
/// deduplication id within it is dropped by SQS (moto keeps the id only
/// while the first copy is in the queue).
pub const FIFO_DEDUP_MS: u64 = 300_000;

#[derive(Clone, Debug)]
enum Action {
    Ship {
        order: usize,
        package: usize,
        tracking: String,
        /// Fixed when the WMS got the order: a message sent twice is the
        /// same message.
        ship_date: String,
    },
    Label {
        order: usize,
    },
}

/// What the label purchases did.
#[derive(Clone, Debug, Default)]
pub struct LabelLog {
    /// Idempotency keys the WMS used (one per label wanted).
    pub keys: u64,
    /// Requests sent (concurrent ones and retries).
    pub requests: u64,
    /// Answered with a label: bought now, or replayed.
    pub answered: u64,
    pub replayed: u64,
    /// Failed answers by status and error code (retried by the WMS).
    pub failures: BTreeMap<String, u64>,
    /// Keys whose answers named more than one shipment: a double buy.
    pub keys_with_two_shipments: u64,
    /// Keys that never got a label.
    pub keys_without_label: u64,
}

#[derive(Default)]
pub struct WmsState {
    pub received: Vec<Received>,
    /// Bodies that broke the order contract.
    pub invalid: u64,
    /// Order numbers the plan does not know.
    pub unknown: Vec<String>,
    /// Plan index → `order.created` / `order.cancelled` messages got.
    pub created: HashMap<usize, u32>,
    pub cancelled: HashMap<usize, u32>,
    /// `order.cancel_requested` messages got (the plan has no buyer asking
    /// to cancel, so the checks expect none).
    pub cancel_requests: u64,
    /// Deduplication id → when its first copy was sent (ms).
    pub first_sent: HashMap<String, u64>,
    /// Copies of a message already applied (same `message_id`; the WMS
    /// applies it once, as the contract says): sent again within SQS FIFO's
    /// 5-minute deduplication interval (real SQS drops them; moto does not
    /// once the first copy was deleted), and later than that.
    pub redelivered_in_window: u64,
    pub redelivered_late: Vec<String>,
    due: Vec<(u32, Action)>,
    /// (tick, plan index): orders the soak's Amazon cancels then.
    pub amazon_cancels: Vec<(u32, usize)>,
    pub shipments_sent: u64,
    pub duplicates_sent: u64,
    pub labels: LabelLog,
    /// Label flows still running.
    pub labels_in_flight: u64,
    /// Plan index → tracking id of its label.
    pub label_tracking: HashMap<usize, String>,
}

pub struct Wms {
    pub state: Mutex<WmsState>,
    plan: Arc<Plan>,
    sqs: aws_sdk_sqs::Client,
    order_queue: String,
    shipment_queue: String,
    tick: AtomicU32,
}

fn sqs_err<E: std::error::Error + 'static>(
    what: &'static str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E>) -> SoakError {
    move |e| {
        SoakError::Aws(format!(
            "{what}: {}",
            aws_sdk_sqs::error::DisplayErrorContext(e)
        ))
    }
}

/// A minute ago, as the WMS writes a ship date.
fn ship_date() -> String {
    (chrono::Utc::now() - chrono::TimeDelta::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The warehouse labels ship from.
pub fn warehouse() -> Value {
    json!({
        "name": "Soak Warehouse", "address_line1": "1 Dock Road", "city": "London",
        "state_or_region": "London", "postal_code": "E16 2QU", "country_code": "GB"
    })
}

impl Wms {
    pub fn new(
        plan: Arc<Plan>,
        sqs: aws_sdk_sqs::Client,
        order_queue: String,
        shipment_queue: String,
    ) -> Self {
        Self {
            state: Mutex::new(WmsState::default()),
            plan,
            sqs,
            order_queue,
            shipment_queue,
            tick: AtomicU32::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WmsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_tick(&self, tick: u32) {
        self.tick.store(tick, Ordering::Relaxed);
    }

    /// Orders to cancel at Amazon now.
    pub fn take_cancels(&self, tick: u32) -> Vec<usize> {
        let mut s = self.lock();
        let (due, later): (Vec<_>, Vec<_>) =
            s.amazon_cancels.drain(..).partition(|(t, _)| *t <= tick);
        s.amazon_cancels = later;
        due.into_iter().map(|(_, o)| o).collect()
    }

    /// Shipments and labels still to do.
    pub fn pending(&self) -> usize {
        let s = self.lock();
        s.due.len() + s.labels_in_flight as usize + s.amazon_cancels.len()
    }

    /// Reads the WMS order queue until `stop` is set and it is empty.
    pub async fn consume(self: Arc<Self>, stop: Arc<AtomicBool>) -> Result<(), SoakError> {
        loop {
            let messages = self
                .sqs
                .receive_message()
                .queue_url(&self.order_queue)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(sqs_err("receive WMS orders"))?
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            let mut delete = Vec::new();
            for (i, m) in messages.iter().enumerate() {
                let dedup_id = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageDeduplicationId))
                    .cloned()
                    .unwrap_or_default();
                let sent_ms = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0);
                self.receive(m.body().unwrap_or_default(), dedup_id, sent_ms);
                delete.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .map_err(|e| SoakError::Aws(e.to_string()))?,
                );
            }
            self.sqs
                .delete_message_batch()
                .queue_url(&self.order_queue)
                .set_entries(Some(delete))
                .send()
                .await
                .map_err(sqs_err("delete WMS orders"))?;
        }
    }

    fn receive(&self, body: &str, dedup_id: String, sent_ms: u64) {
        let tick = self.tick.load(Ordering::Relaxed);
        let mut s = self.lock();
        let message = match OrderMessage::parse(body) {
            Ok(m) => m,
            Err(_) => {
                s.invalid += 1;
                return;
            }
        };
        let number = message.order_number().to_string();
        s.received.push(Received {
            kind: message.kind(),
            number: number.clone(),
            dedup_id: dedup_id.clone(),
            sent_ms,
        });
        // A copy of a message already applied: applied once, counted.
        if let Some(first) = s.first_sent.get(&dedup_id).copied() {
            if sent_ms.saturating_sub(first) < FIFO_DEDUP_MS {
                s.redelivered_in_window += 1;
            } else {
                s.redelivered_late.push(dedup_id);
            }
            return;
        }
        s.first_sent.insert(dedup_id, sent_ms);
        let Some(&index) = self.plan.by_number.get(&number) else {
            s.unknown.push(number);
            return;
        };
        let order = &self.plan.orders[index];
        match message {
            OrderMessage::Created(_) => {
                let n = s.created.entry(index).or_default();
                *n += 1;
                if *n > 1 {
                    return;
                }
                match order.fate {
                    Fate::CancelAfterSent | Fate::LineCancelAfterSent => {
                        s.amazon_cancels.push((tick + 1, index));
                    }
                    _ => {}
                }
                if order.fate == Fate::Label {
                    s.due.push((tick + 1, Action::Label { order: index }));
                    return;
                }
                for (p, pkg) in order.packages.iter().enumerate() {
                    if order.fate == Fate::LineCancelAfterSent {
                        // Shipped once the WMS has the other line's cancellation.
                        continue;
                    }
                    s.due.push((
                        tick + pkg.after_ticks,
                        Action::Ship {
                            order: index,
                            package: p,
                            tracking: pkg.tracking.clone().unwrap_or_default(),
                            ship_date: ship_date(),
                        },
                    ));
                }
            }
            OrderMessage::CancelRequested(_) => s.cancel_requests += 1,
            OrderMessage::Cancelled(_) => {
                let n = s.cancelled.entry(index).or_default();
                *n += 1;
                if *n == 1 && order.fate == Fate::LineCancelAfterSent {
                    for (p, pkg) in order.packages.iter().enumerate() {
                        s.due.push((
                            tick + pkg.after_ticks,
                            Action::Ship {
                                order: index,
                                package: p,
                                tracking: pkg.tracking.clone().unwrap_or_default(),
                                ship_date: ship_date(),
                            },
                        ));
                    }
                }
            }
        }
    }

    /// Runs what is due at `tick`: shipment messages (duplicates: half at
    /// once, half a tick later) and label purchases (spawned).
    pub async fn run_due(
        self: &Arc<Self>,
        tick: u32,
        labels: &Arc<Pool>,
        chaos: &Arc<ChaosPlan>,
        concurrency: usize,
    ) -> Result<(), SoakError> {
        let due: Vec<Action> = {
            let mut s = self.lock();
            let (due, later): (Vec<_>, Vec<_>) = s.due.drain(..).partition(|(t, _)| *t <= tick);
            s.due = later;
            due.into_iter().map(|(_, a)| a).collect()
        };
        for action in due {
            match action {
                Action::Ship {
                    order,
                    package,
                    tracking,
                    ship_date,
                } => {
                    self.send_shipment(order, package, &tracking, &ship_date)
                        .await?;
                    let first = order < self.plan.orders.len();
                    if first && self.plan.orders[order].duplicate_messages {
                        if order % 2 == 0 {
                            self.send_shipment(order, package, &tracking, &ship_date)
                                .await?;
                            self.lock().duplicates_sent += 1;
                        } else {
                            // The copy a tick later, after the first was handled.
                            self.lock().due.push((
                                tick + 1,
                                Action::Ship {
                                    order: order + self.plan.orders.len(),
                                    package,
                                    tracking,
                                    ship_date,
                                },
                            ));
                        }
                    }
                }
                Action::Label { order } => {
                    self.lock().labels_in_flight += 1;
                    let wms = self.clone();
                    let pool = labels.clone();
                    let chaos = chaos.clone();
                    tokio::spawn(async move {
                        let result = wms.buy_label(order, &pool, &chaos, concurrency).await;
                        let mut s = wms.lock();
                        s.labels_in_flight -= 1;
                        if let Ok(Some(tracking)) = result {
                            s.label_tracking.insert(order, tracking.clone());
                            s.due.push((
                                tick + 1,
                                Action::Ship {
                                    order,
                                    package: 0,
                                    tracking,
                                    ship_date: ship_date(),
                                },
                            ));
                        } else {
                            s.labels.keys_without_label += 1;
                        }
                    });
                }
            }
        }
        Ok(())
    }

    /// A shipment message for the plan's package (an index past the plan's
    /// orders is the second copy of a duplicated message).
    async fn send_shipment(
        &self,
        order: usize,
        package: usize,
        tracking: &str,
        ship_date: &str,
    ) -> Result<(), SoakError> {
        let copy = order >= self.plan.orders.len();
        let index = order % self.plan.orders.len();
        let o = &self.plan.orders[index];
        let seller = &self.plan.sellers[o.seller];
        let pkg = &o.packages[package];
        let body = json!({
            "schema": 1,
            "seller_id": seller.seller_id,
            "order_number": o.number,
            "package_id": pkg.package_id,
            "carrier": "DHL",
            "tracking_number": tracking,
            "ship_date": ship_date,
            "lines": pkg.lines.iter().map(|(sku, q)| json!({"sku": sku, "quantity": q})).collect::<Vec<_>>(),
        });
        self.sqs
            .send_message()
            .queue_url(&self.shipment_queue)
            .message_body(body.to_string())
            .send()
            .await
            .map_err(sqs_err("send a shipment message"))?;
        let mut s = self.lock();
        s.shipments_sent += 1;
        if copy {
            s.duplicates_sent += 1;
        }
        Ok(())
    }

    /// Buys the order's label: `concurrency` requests at once under one
    /// idempotency key, then one more (a retry after a lost answer); again
    /// after a pause while none answered with a label. Returns its tracking id.
    async fn buy_label(
        &self,
        order: usize,
        pool: &Pool,
        chaos: &ChaosPlan,
        concurrency: usize,
    ) -> Result<Option<String>, SoakError> {
        let o = &self.plan.orders[order];
        let seller = &self.plan.sellers[o.seller];
        let pkg = &o.packages[0];
        let request = json!({
            "schema": 1, "operation": "one_click", "seller_id": seller.seller_id,
            "idempotency_key": pkg.package_id,
            "shipment": {
                "order_number": o.number,
                "ship_from": warehouse(),
                "packages": [{
                    "package_id": pkg.package_id,
                    "weight": {"value": "1.25", "unit": "KILOGRAM"},
                    "dimensions": {"length": "30", "width": "20", "height": "10", "unit": "CENTIMETER"},
                    "items": pkg.lines.iter().map(|(sku, q)| json!({"sku": sku, "quantity": q})).collect::<Vec<_>>(),
                }]
            },
            "select": {"rule": "cheapest"},
            "label": {"format": "PDF"}
        });
        let event = lambda_emu::events::function_url_request(
            "POST",
            "/",
            &[
                ("content-type", "application/json"),
                ("user-agent", "soak-wms"),
            ],
            Some(request.to_string().as_bytes()),
        );
        self.lock().labels.keys += 1;
        let mut shipments: Vec<String> = Vec::new();
        let mut tracking = None;
        for attempt in 0..10 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let calls = (0..concurrency.max(1)).map(|_| self.label_call(pool, chaos, &event));
            let mut answers = futures::future::join_all(calls).await;
            if answers.iter().any(|a| matches!(a, Ok(Some(_)))) {
                // The WMS lost one answer and asks again with the same key.
                answers.push(self.label_call(pool, chaos, &event).await);
            }
            for a in answers {
                if let Ok(Some((shipment, t))) = a {
                    if !shipments.contains(&shipment) {
                        shipments.push(shipment);
                    }
                    tracking = tracking.or(t);
                }
            }
            if !shipments.is_empty() {
                break;
            }
        }
        if shipments.len() > 1 {
            self.lock().labels.keys_with_two_shipments += 1;
        }
        Ok(if shipments.is_empty() {
            None
        } else {
            Some(tracking.unwrap_or_default())
        })
    }

    /// One label request: `Some((shipment id, tracking id))` for a label.
    async fn label_call(
        &self,
        pool: &Pool,
        chaos: &ChaosPlan,
        event: &Value,
    ) -> Result<Option<(String, Option<String>)>, SoakError> {
        self.lock().labels.requests += 1;
        let (inv, happened) = pool.invoke(event, chaos.next(Kind::Labels, "url")).await?;
        if let Some((label, hit)) = happened {
            chaos.settle(Kind::Labels, "url", label, hit);
        }
        let Some(answer) = inv.response() else {
            let why = inv
                .error()
                .map(|e| e.error_type)
                .unwrap_or_else(|| "no answer".into());
            *self.lock().labels.failures.entry(why).or_default() += 1;
            return Ok(None);
        };
        let http = lambda_emu::events::function_url_response(&answer);
        let body = http.json().unwrap_or(Value::Null);
        let label = &body["label"];
        match label["shipment_id"].as_str() {
            Some(id) if http.status == 200 => {
                let mut s = self.lock();
                s.labels.answered += 1;
                if label["replayed"] == true {
                    s.labels.replayed += 1;
                }
                let tracking = label["packages"][0]["tracking_id"]
                    .as_str()
                    .map(str::to_string);
                Ok(Some((id.to_string(), tracking)))
            }
            _ => {
                let code = body["error"]["code"].as_str().unwrap_or("unknown");
                *self
                    .lock()
                    .labels
                    .failures
                    .entry(format!("{} {code}", http.status))
                    .or_default() += 1;
                Ok(None)
            }
        }
    }
}
