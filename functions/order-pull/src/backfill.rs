//! The operator's backfill (`connector-admin backfill SELLER --from DATE --to DATE`): a closed range of
//! **creation** dates pulled again through the same eligibility rules, the
//! same ledger claim and the same WMS queue as the scheduled pull, so only
//! orders the WMS never got are sent (the ledger answers "already sent" for
//! the rest). Amazon's quota is spent through the same shared buckets.
//!
//! It has its own checkpoint (`CHECKPOINT#order-pull-backfill`: the range,
//! the next page token, running totals), written after every page: a run
//! that is interrupted — Ctrl-C, a lost connection, a crash in the middle of
//! a page — is resumed by running the same backfill again, from the page it
//! was on. A page read twice sends nothing twice: its orders are in the
//! ledger. An order whose send was cut off between the queue and the ledger
//! stays claimed for `claim_stale_after` and is then taken over and sent
//! again with the same deduplication id (the report counts it `in_flight`
//! until then). A different range, or the same one after it finished,
//! starts a fresh scan.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use domain::{Deadline, SellerId};
use serde::{Deserialize, Serialize};
use spapi::SellerContext;
use spapi::SpApiError;
use spapi::models::orders::SearchOrdersResponse;
use spapi::ops::orders::SearchWindow;

use crate::error::PullError;
use crate::handoff::Handoff;
use crate::job::Mode;
use crate::pull::{PullReport, Puller, not_pullable};

/// The backfill's checkpoint.
pub const CHECKPOINT: &str = "order-pull-backfill";

/// What the checkpoint keeps between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillState {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The page to read next (`None`: the first).
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub pages_done: u32,
    /// Totals over every run of this range.
    #[serde(default)]
    pub totals: Totals,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// Order counts of a backfill (the same meaning as in [`PullReport`]).
/// Kept apart from `PullReport` and `handoff::Tally`, which list the same
/// counts: this one is stored in the backfill's checkpoint (old items read
/// with defaults), the report is an invocation's answer, the tally lives in
/// memory only; each follows its own schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub pages: u32,
    pub orders_seen: u32,
    /// `order.created` sent now: orders the WMS never got.
    pub sent: u32,
    /// In the ledger already: the WMS has them.
    pub already_sent: u32,
    /// Claimed by another (or an interrupted) run: sent by a later run.
    pub in_flight: u32,
    pub held: u32,
    pub filtered: u32,
    pub cancellations: u32,
    #[serde(default)]
    pub cancel_requests: u32,
}

impl Totals {
    fn add(&mut self, r: &PullReport) {
        self.pages += r.pages;
        self.orders_seen += r.orders_seen;
        self.sent += r.sent;
        self.already_sent += r.already_sent;
        self.in_flight += r.in_flight;
        self.held += r.held;
        self.filtered += r.filtered;
        self.cancellations += r.cancellations;
        self.cancel_requests += r.cancel_requests;
    }
}

/// What a backfill run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillReport {
    pub seller_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// This run continued an interrupted one.
    pub resumed: bool,
    /// The whole range was read.
    pub finished: bool,
    /// This run alone.
    pub this_run: Totals,
    /// Every run of this range (equal to `this_run` unless resumed).
    pub totals: Totals,
}

/// Progress after each page (for a progress bar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub page: u32,
    pub totals: Totals,
}

impl Puller {
    /// Pulls the orders created in `[from, to)` again. `on_page` is called
    /// after every page. Stops at `deadline` with `finished: false` (run it
    /// again to continue); an error leaves the checkpoint at the failed page.
    pub async fn backfill(
        &self,
        seller: &SellerId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        deadline: &Deadline,
        mut on_page: impl FnMut(Progress),
    ) -> Result<BackfillReport, PullError> {
        let Some(settings) = self.settings.get_settings(seller).await? else {
            return Err(PullError::UnknownSeller(seller.to_string()));
        };
        if let Some(reason) = not_pullable(&settings) {
            return Err(PullError::Settings(format!(
                "{reason}: nothing can be sent to the WMS for this seller (`connector-admin seller enable {seller} --job orders`)"
            )));
        }
        if from >= to {
            return Err(PullError::BadJob(format!(
                "the backfill range is empty: {from} is not before {to}"
            )));
        }
        // "Default all": the marketplaces the seller sells in, as the pull
        // sees them (a refresh's catch-up is the pull's business: the range
        // here already covers every marketplace).
        let (settings, _) = self.marketplaces(&settings, deadline).await?;
        let stored = self.checkpoints.get_checkpoint(seller, CHECKPOINT).await?;
        let mut version = stored.as_ref().map(|c| c.version);
        let previous: Option<BackfillState> = stored
            .as_ref()
            .map(|c| serde_json::from_value(c.value.clone()))
            .transpose()
            .map_err(|e| PullError::Checkpoint(format!("{CHECKPOINT}: {e}")))?;
        let now = self.clock.now();
        let (mut state, resumed) = match previous {
            Some(p) if p.from == Some(from) && p.to == Some(to) && p.finished_at.is_none() => {
                tracing::info!(seller = %seller, page = p.pages_done, "resuming an interrupted backfill");
                (p, true)
            }
            _ => (
                BackfillState {
                    from: Some(from),
                    to: Some(to),
                    started_at: Some(now),
                    ..BackfillState::default()
                },
                false,
            ),
        };
        let mut this_run = Totals::default();
        let ctx = SellerContext::from(&settings);
        // Backfilled orders are old on purpose: not counted as delays.
        let handoff = Handoff {
            delay_job: None,
            ..self.handoff()
        };
        let mut seen_tokens: HashSet<String> = HashSet::new();
        let mut restarts = 0u32;
        let report = |state: &BackfillState, this_run: Totals, finished: bool| BackfillReport {
            seller_id: seller.to_string(),
            from,
            to,
            resumed,
            finished,
            this_run,
            totals: state.totals,
        };
        loop {
            if this_run.pages > 0 && !deadline.allows(self.options.page_budget) {
                self.save(seller, CHECKPOINT, &state, &mut version).await?;
                return Ok(report(&state, this_run, false));
            }
            let search = self.search(
                &settings,
                SearchWindow::Created {
                    after: from,
                    before: Some(to),
                },
                state.next_token.clone(),
                self.clock.now(),
            );
            let page: SearchOrdersResponse = match self.api.call(&ctx, &search, deadline).await {
                Ok(p) => p,
                Err(SpApiError::Amazon { status: 400, .. })
                    if state.next_token.is_some() && restarts < 2 =>
                {
                    // An expired page token (they live 24 h): the range
                    // again from its start; the ledger drops what was sent.
                    tracing::warn!(seller = %seller, "page token refused; restarting the backfill range");
                    restarts += 1;
                    state.next_token = None;
                    continue;
                }
                Err(e) => {
                    self.save(seller, CHECKPOINT, &state, &mut version).await?;
                    return Err(e.into());
                }
            };
            let mut page_report = PullReport::for_seller(seller.as_str(), Mode::Reconcile);
            page_report.pages = 1;
            for order in &page.orders {
                self.handle_order(&handoff, order, &settings, &mut page_report)
                    .await?;
            }
            this_run.add(&page_report);
            state.totals.add(&page_report);
            state.pages_done += 1;
            let next = page
                .pagination
                .and_then(|p| p.next_token)
                .filter(|t| !t.is_empty());
            match next {
                Some(token) if !seen_tokens.insert(token.clone()) => {
                    restarts += 1;
                    state.next_token = None;
                    self.save(seller, CHECKPOINT, &state, &mut version).await?;
                    if restarts > 2 {
                        return Err(PullError::SpApi(SpApiError::PaginationLoop {
                            operation: domain::Operation::SearchOrders,
                            page: state.pages_done as usize,
                        }));
                    }
                    seen_tokens.clear();
                }
                Some(token) => {
                    state.next_token = Some(token);
                    self.save(seller, CHECKPOINT, &state, &mut version).await?;
                }
                None => {
                    state.next_token = None;
                    state.finished_at = Some(self.clock.now());
                    self.save(seller, CHECKPOINT, &state, &mut version).await?;
                    on_page(Progress {
                        page: state.pages_done,
                        totals: state.totals,
                    });
                    tracing::info!(
                        seller = %seller,
                        from = %from,
                        to = %to,
                        pages = state.totals.pages,
                        seen = state.totals.orders_seen,
                        sent = state.totals.sent,
                        already_sent = state.totals.already_sent,
                        in_flight = state.totals.in_flight,
                        "backfill done"
                    );
                    return Ok(report(&state, this_run, true));
                }
            }
            on_page(Progress {
                page: state.pages_done,
                totals: state.totals,
            });
        }
    }
}
