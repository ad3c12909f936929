//! The faults of a soak, tick by tick: on Amazon's side through the
//! simulator (429 storms, 500/503, answers slower than the client's 30 s
//! timeout, malformed bodies, a repeated page, an expired page token, LWA
//! failing, a label purchase whose answer is lost) and on the functions' side
//! through their containers' taps (DynamoDB and SQS errors, SIGKILL before
//! or after a chosen call — mid-page, mid-batch, mid-purchase — and calls
//! that hang until the function times out).
//!
//! A kill or a timeout that did not happen (the invocation made fewer calls
//! than the rule skips) is put back for the next invocation, a few times.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use domain::Operation;
use lambda_emu::tap::TapFault;
use lambda_emu::{Matcher, Moment};
use spapi_sim::{Fault, FaultTarget};

use crate::rig::{Chaos, Kind, Side};

/// A misbehaviour of Amazon's, applied to the simulator at its tick.
#[derive(Clone, Debug)]
pub enum AmazonFault {
    /// The next `n` calls of the operation get 429 (for every seller).
    Storm(Operation, u32),
    /// The next call the target matches gets the fault.
    Inject(FaultTarget, Fault),
    /// The seller's next label purchase succeeds, its answer is lost (503).
    LosePurchaseAnswer(usize),
}

impl AmazonFault {
    pub fn label(&self) -> String {
        match self {
            AmazonFault::Storm(op, n) => format!("429 storm ({n} calls of {})", op.name()),
            AmazonFault::Inject(t, f) => match f {
                Fault::Status { code } => format!("{code} on {t}"),
                Fault::Slow { millis } => format!("{} s answer on {t}", millis / 1000),
                Fault::Malformed => format!("malformed body on {t}"),
                Fault::DuplicatePage => "repeated page (searchOrders)".into(),
                Fault::ExpiredPageToken => "expired page token (searchOrders)".into(),
                other => format!("{other:?} on {t}"),
            },
            AmazonFault::LosePurchaseAnswer(_) => "label bought, answer lost (503)".into(),
        }
    }
}

struct Item {
    kind: Kind,
    source: &'static str,
    not_before: u32,
    chaos: Chaos,
    tries_left: u32,
}

/// The functions' faults, waiting for their invocation.
#[derive(Default)]
pub struct ChaosPlan {
    items: Mutex<VecDeque<Item>>,
    tick: AtomicU32,
    /// Kills and timeouts that never found their call.
    pub gave_up: Mutex<Vec<&'static str>>,
}

/// The whole schedule of a run.
pub struct Schedule {
    pub amazon: Vec<(u32, AmazonFault)>,
}

const WMS_SEND: &str = "connector-wms-orders-";

fn aws(target: &str) -> Matcher {
    Matcher::aws(target)
}

fn sqs_send_to_wms() -> Matcher {
    aws("AmazonSQS.SendMessage").body_contains(WMS_SEND)
}

fn db_error(status: u16) -> TapFault {
    if status == 400 {
        TapFault::aws(
            400,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded (injected)",
        )
    } else {
        TapFault::aws(
            500,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error (injected)",
        )
    }
}

fn sqs_error() -> TapFault {
    TapFault::aws(
        500,
        "com.amazonaws.sqs#InternalError",
        "We encountered an internal error. Please try again. (injected)",
    )
}

impl ChaosPlan {
    pub fn set_tick(&self, tick: u32) {
        self.tick.store(tick, Ordering::Relaxed);
    }

    pub fn add(&self, tick: u32, kind: Kind, source: &'static str, chaos: Chaos) {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Item {
                kind,
                source,
                not_before: tick,
                chaos,
                tries_left: 20,
            });
    }

    /// The fault for the next invocation of `kind` from `source`, if one is due.
    pub fn next(&self, kind: Kind, source: &'static str) -> Option<Chaos> {
        let now = self.tick.load(Ordering::Relaxed);
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let i = items
            .iter()
            .position(|it| it.kind == kind && it.source == source && it.not_before <= now)?;
        let mut item = items.remove(i)?;
        item.tries_left = item.tries_left.saturating_sub(1);
        let chaos = item.chaos.clone();
        // Kept aside until the invocation says whether it happened.
        items.push_back(Item {
            not_before: u32::MAX,
            ..item
        });
        Some(chaos)
    }

    /// The invocation that had `label` is over: `happened` or not (then it
    /// is due again, unless it ran out of tries).
    pub fn settle(&self, kind: Kind, source: &'static str, label: &'static str, happened: bool) {
        let now = self.tick.load(Ordering::Relaxed);
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let Some(i) = items.iter().position(|it| {
            it.kind == kind
                && it.source == source
                && it.not_before == u32::MAX
                && it.chaos.label() == label
        }) else {
            return;
        };
        if happened {
            items.remove(i);
        } else if items[i].tries_left == 0 {
            items.remove(i);
            self.gave_up
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(label);
        } else {
            items[i].not_before = now;
        }
    }

    /// Faults not used yet.
    pub fn pending(&self) -> usize {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Which faults a run gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intensity {
    /// Every kind of fault, several times, including kills before the WMS
    /// send (the order's claim is then taken over ten minutes later: only
    /// a run that lasts that long can see it through).
    Full,
    /// Every kind once, but no kill before a WMS send (a short CI run).
    Short,
}

/// Builds the schedule for the `seed_ticks` ticks during which orders
/// arrive (faults on sends need orders to send) and arms the functions'
/// faults in `plan`. `uk_seller` is a seller that buys labels;
/// `shipment_kill_timeout` the timeout of a shipment run that is killed
/// (its claims' leases last until its deadline).
pub fn schedule(
    plan: &ChaosPlan,
    intensity: Intensity,
    seed_ticks: u32,
    uk_seller: Option<usize>,
    shipment_kill_timeout: Option<Duration>,
) -> Schedule {
    let span = seed_ticks.max(2);
    let rounds: u32 = match intensity {
        Intensity::Full => (span / 6).max(1),
        Intensity::Short => 1,
    };
    let mut amazon = Vec::new();
    for r in 0..rounds {
        // Spread each round's faults over its share of the seeding period.
        let base = 1 + r * span / rounds;
        let width = (span / rounds).saturating_sub(1).max(1);
        let at = |k: u32| base + k % width;
        amazon.push((at(0), AmazonFault::Storm(Operation::SearchOrders, 6)));
        amazon.push((at(1), AmazonFault::Storm(Operation::ConfirmShipment, 8)));
        amazon.push((
            at(1),
            AmazonFault::Inject(Operation::SearchOrders.into(), Fault::status(500)),
        ));
        amazon.push((
            at(2),
            AmazonFault::Inject(Operation::ConfirmShipment.into(), Fault::status(503)),
        ));
        amazon.push((
            at(2),
            AmazonFault::Inject(FaultTarget::Any, Fault::status(503)),
        ));
        amazon.push((
            at(3),
            AmazonFault::Inject(Operation::SearchOrders.into(), Fault::Malformed),
        ));
        amazon.push((
            at(3),
            AmazonFault::Inject(FaultTarget::Any, Fault::DuplicatePage),
        ));
        amazon.push((
            at(4),
            AmazonFault::Inject(FaultTarget::Any, Fault::ExpiredPageToken),
        ));
        amazon.push((
            at(4),
            AmazonFault::Inject(FaultTarget::Lwa, Fault::status(500)),
        ));
        amazon.push((
            at(5),
            AmazonFault::Inject(Operation::PurchaseShipment.into(), Fault::Malformed),
        ));
        if let Some(s) = uk_seller {
            amazon.push((at(5), AmazonFault::LosePurchaseAnswer(s)));
        }
        if r == 0 {
            // Slower than the client's 30 s timeout: a search (retried) and
            // a confirmation (a POST Amazon may have applied: not retried).
            amazon.push((
                at(2),
                AmazonFault::Inject(
                    Operation::SearchOrders.into(),
                    Fault::slow(Duration::from_secs(32)),
                ),
            ));
            amazon.push((
                at(3),
                AmazonFault::Inject(
                    Operation::ConfirmShipment.into(),
                    Fault::slow(Duration::from_secs(32)),
                ),
            ));
        }

        // The functions' faults.
        let jobs = |k: u32, c: Chaos| plan.add(at(k), Kind::OrderPull, "jobs", c);
        let ships = |k: u32, c: Chaos| plan.add(at(k), Kind::ShipmentConfirm, "shipments", c);
        jobs(
            0,
            Chaos::Kill {
                label: "SIGKILL after the WMS queue took an order (mid-page)",
                side: Side::Aws,
                matcher: sqs_send_to_wms(),
                moment: Moment::After,
                skip: 3,
                timeout: None,
            },
        );
        jobs(
            1,
            Chaos::Kill {
                label: "SIGKILL after searchOrders answered (page never handled)",
                side: Side::Amazon,
                matcher: Matcher::path("/orders/2026-01-01/orders?"),
                moment: Moment::After,
                skip: 0,
                timeout: None,
            },
        );
        jobs(
            2,
            Chaos::Timeout {
                label: "order-pull timed out (a ledger write hangs)",
                side: Side::Aws,
                matcher: aws("DynamoDB_20120810.UpdateItem"),
                skip: 1,
                timeout: Duration::from_secs(20),
            },
        );
        jobs(
            3,
            Chaos::AwsErrors {
                label: "DynamoDB 500 x4 (order-pull)",
                matcher: aws("DynamoDB_20120810.UpdateItem"),
                fault: db_error(500),
                skip: 0,
                times: 4,
            },
        );
        jobs(
            4,
            Chaos::AwsErrors {
                label: "DynamoDB throughput exceeded x4 (order-pull)",
                matcher: aws("DynamoDB_20120810.PutItem"),
                fault: db_error(400),
                skip: 1,
                times: 4,
            },
        );
        jobs(
            5,
            Chaos::AwsErrors {
                label: "SQS 500 x4 on the WMS send (order-pull)",
                matcher: sqs_send_to_wms(),
                fault: sqs_error(),
                skip: 1,
                times: 4,
            },
        );
        if intensity == Intensity::Full && r == 0 {
            jobs(
                1,
                Chaos::Kill {
                    label: "SIGKILL before the WMS send (claim left SENDING)",
                    side: Side::Aws,
                    matcher: sqs_send_to_wms(),
                    moment: Moment::Before,
                    skip: 2,
                    timeout: None,
                },
            );
        }
        ships(
            0,
            Chaos::Kill {
                label: "SIGKILL after Amazon confirmed a package (mid-batch)",
                side: Side::Amazon,
                matcher: Matcher::path("/shipmentConfirmation"),
                moment: Moment::After,
                skip: 2,
                timeout: shipment_kill_timeout,
            },
        );
        ships(
            2,
            Chaos::Kill {
                label: "SIGKILL before a confirmation reached Amazon (mid-batch)",
                side: Side::Amazon,
                matcher: Matcher::path("/shipmentConfirmation"),
                moment: Moment::Before,
                skip: 1,
                timeout: shipment_kill_timeout,
            },
        );
        ships(
            3,
            Chaos::Timeout {
                label: "shipment-confirm timed out (a read hangs)",
                side: Side::Aws,
                matcher: aws("DynamoDB_20120810.GetItem"),
                skip: 3,
                timeout: Duration::from_secs(15),
            },
        );
        ships(
            4,
            Chaos::AwsErrors {
                label: "DynamoDB 500 x4 (shipment-confirm)",
                matcher: aws("DynamoDB_20120810.UpdateItem"),
                fault: db_error(500),
                skip: 1,
                times: 4,
            },
        );
        ships(
            5,
            Chaos::AwsErrors {
                label: "DynamoDB throughput exceeded x4 (shipment-confirm)",
                matcher: aws("DynamoDB_20120810.PutItem"),
                fault: db_error(400),
                skip: 0,
                times: 4,
            },
        );
        plan.add(
            at(2),
            Kind::OrderPull,
            "schedule",
            Chaos::Kill {
                label: "SIGKILL mid-fan-out (after 3 jobs queued)",
                side: Side::Aws,
                matcher: aws("AmazonSQS.SendMessage"),
                moment: Moment::After,
                skip: 2,
                timeout: None,
            },
        );
        if uk_seller.is_some() {
            plan.add(
                at(1),
                Kind::Labels,
                "url",
                Chaos::Kill {
                    label: "SIGKILL after Amazon sold a label (mid-purchase)",
                    side: Side::Amazon,
                    matcher: Matcher::path("/shipping/v2/shipments").body_contains("rateId"),
                    moment: Moment::After,
                    skip: 0,
                    timeout: None,
                },
            );
            plan.add(
                at(3),
                Kind::Labels,
                "url",
                Chaos::Timeout {
                    label: "labels timed out (its idempotency write hangs)",
                    side: Side::Aws,
                    matcher: aws("DynamoDB_20120810.PutItem"),
                    skip: 0,
                    timeout: Duration::from_secs(8),
                },
            );
        }
    }
    Schedule { amazon }
}
