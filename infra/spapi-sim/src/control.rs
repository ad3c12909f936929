//! The in-process control API (tests hold a [`SimControl`]); the `/_sim` HTTP
//! routes in `control_http` call exactly these methods.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::Operation;
use domain::settings::OrderStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::SimError;
use crate::faults::{Fault, FaultTarget};
use crate::lwa::expire_all;
use crate::marketplaces::marketplace;
use crate::notifications::{ChangeKind, kind_of_cancel};
use crate::orders::{CancelSpec, Included, OrderSpec, ShipSpec, StoredOrder, random_order_id};
use crate::quota::{MetricsRow, OperationMetrics, RateOverride};
use crate::state::{Inner, Seller, Shared};

/// A seller as control registers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerSpec {
    pub seller_id: String,
    pub refresh_token: String,
    pub marketplace_ids: Vec<String>,
    /// Whether the app holds the restricted roles for this seller's buyer and
    /// address data (Direct-to-Consumer Delivery).
    #[serde(default)]
    pub pii: bool,
    /// `storeName` in getMarketplaceParticipations; defaults to "Store <seller id>".
    #[serde(default)]
    pub store_name: Option<String>,
    /// Marketplaces listed by getMarketplaceParticipations as not participating.
    #[serde(default)]
    pub dormant_marketplace_ids: Vec<String>,
    /// getMarketplaceParticipations also lists a non-Amazon sales channel.
    #[serde(default)]
    pub non_amazon_channel: bool,
    /// Supply source ids a confirmation may name (`shipFromSupplySourceId`).
    #[serde(default)]
    pub supply_source_ids: Vec<String>,
}

impl SellerSpec {
    /// A seller in `marketplace_ids` with everything else at its default.
    pub fn new(seller_id: &str, refresh_token: &str, marketplace_ids: &[&str], pii: bool) -> Self {
        Self {
            seller_id: seller_id.to_string(),
            refresh_token: refresh_token.to_string(),
            marketplace_ids: marketplace_ids.iter().map(|m| m.to_string()).collect(),
            pii,
            store_name: None,
            dormant_marketplace_ids: Vec::new(),
            non_amazon_channel: false,
            supply_source_ids: Vec::new(),
        }
    }
}

/// Everything the simulator counted, as `GET /_sim/metrics` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsReport {
    pub operations: Vec<MetricsRow>,
    /// LWA `refresh_token` requests per seller (successful or not).
    pub token_requests: std::collections::BTreeMap<String, u64>,
}

/// A cheap, cloneable handle on the simulator's state.
#[derive(Clone)]
pub struct SimControl {
    shared: Arc<Shared>,
}

impl SimControl {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.shared.lock())
    }

    pub fn speed(&self) -> f64 {
        self.shared.speed
    }

    /// Registers (or re-registers) an LWA application.
    pub fn register_app(&self, client_id: &str, client_secret: &str) {
        self.with(|s| {
            s.apps
                .insert(client_id.to_string(), client_secret.to_string());
        });
    }

    pub fn add_seller(&self, spec: SellerSpec) -> Result<(), SimError> {
        self.with(|s| {
            if s.sellers.contains_key(&spec.seller_id) {
                return Err(SimError::DuplicateSeller(spec.seller_id));
            }
            if let Some(other) = s.refresh_tokens.get(&spec.refresh_token) {
                return Err(SimError::DuplicateRefreshToken(other.clone()));
            }
            if let Some(bad) = spec
                .marketplace_ids
                .iter()
                .chain(&spec.dormant_marketplace_ids)
                .find(|m| marketplace(m).is_none())
            {
                return Err(SimError::UnknownMarketplace(bad.clone()));
            }
            s.refresh_tokens
                .insert(spec.refresh_token, spec.seller_id.clone());
            let store_name = spec
                .store_name
                .unwrap_or_else(|| format!("Store {}", spec.seller_id));
            s.sellers.insert(
                spec.seller_id,
                Seller {
                    revoked: false,
                    marketplace_ids: spec.marketplace_ids,
                    dormant_marketplace_ids: spec.dormant_marketplace_ids,
                    non_amazon_channel: spec.non_amazon_channel,
                    supply_source_ids: spec.supply_source_ids,
                    pii: spec.pii,
                    store_name,
                    orders: Default::default(),
                },
            );
            Ok(())
        })
    }

    /// The marketplaces the seller participates in from now on (the seller
    /// starts or stops selling somewhere); orders already seeded stay.
    pub fn set_marketplaces(
        &self,
        seller_id: &str,
        marketplace_ids: &[&str],
    ) -> Result<(), SimError> {
        if let Some(bad) = marketplace_ids.iter().find(|m| marketplace(m).is_none()) {
            return Err(SimError::UnknownMarketplace(bad.to_string()));
        }
        self.with(|s| {
            s.seller_mut(seller_id)?.marketplace_ids =
                marketplace_ids.iter().map(|m| m.to_string()).collect();
            Ok(())
        })
    }

    /// The seller's supply sources (the ids `shipFromSupplySourceId` may name).
    pub fn set_supply_sources(&self, seller_id: &str, ids: &[&str]) -> Result<(), SimError> {
        self.with(|s| {
            s.seller_mut(seller_id)?.supply_source_ids =
                ids.iter().map(|i| i.to_string()).collect();
            Ok(())
        })
    }

    /// What Amazon was told about an order's packages (carrier, tracking,
    /// supply source, COD method, Transparency codes per item).
    pub fn packages(
        &self,
        seller_id: &str,
        order_id: &str,
    ) -> Result<Vec<crate::orders::PackageView>, SimError> {
        self.with(|s| {
            Ok(s.seller(seller_id)?
                .orders
                .get(order_id)
                .ok_or_else(|| SimError::UnknownOrder(order_id.to_string()))?
                .package_views())
        })
    }

    /// The seller's refresh token stops working (LWA answers `invalid_grant`);
    /// access tokens already issued keep working until they expire.
    pub fn revoke_refresh_token(&self, seller_id: &str) -> Result<(), SimError> {
        self.with(|s| {
            s.seller_mut(seller_id)?.revoked = true;
            Ok(())
        })
    }

    /// LWA `refresh_token` requests seen for the seller (tests assert caching).
    pub fn token_requests(&self, seller_id: &str) -> u64 {
        self.with(|s| s.token_requests.get(seller_id).copied().unwrap_or(0))
    }

    /// Seeds orders (all or none); returns their ids in order.
    pub fn seed_orders(
        &self,
        seller_id: &str,
        specs: Vec<OrderSpec>,
    ) -> Result<Vec<String>, SimError> {
        self.with(|s| {
            let now = s.now();
            let seller = s.seller_mut(seller_id)?;
            let mut built: Vec<StoredOrder> = Vec::with_capacity(specs.len());
            for mut spec in specs {
                if !seller.marketplace_ids.contains(&spec.marketplace_id) {
                    return Err(SimError::NotParticipating {
                        seller: seller_id.to_string(),
                        marketplace: spec.marketplace_id,
                    });
                }
                let id = spec.order_id.take().unwrap_or_else(random_order_id);
                if seller.orders.contains_key(&id) || built.iter().any(|o| o.id == id) {
                    return Err(SimError::DuplicateOrder(id));
                }
                built.push(StoredOrder::from_spec(id, spec, now)?);
            }
            let ids = built.iter().map(|o| o.id.clone()).collect();
            for o in built {
                s.notifications
                    .order_changed(seller_id, &o, ChangeKind::Created, now);
                if o.cancel_requested() {
                    s.notifications
                        .order_changed(seller_id, &o, ChangeKind::BuyerRequest, now);
                }
                if let Ok(seller) = s.seller_mut(seller_id) {
                    seller.orders.insert(o.id.clone(), o);
                }
            }
            Ok(ids)
        })
    }

    pub fn seed_order(&self, seller_id: &str, spec: OrderSpec) -> Result<String, SimError> {
        let mut ids = self.seed_orders(seller_id, vec![spec])?;
        ids.pop()
            .ok_or_else(|| SimError::InvalidSpec("no order seeded".to_string()))
    }

    fn change(
        &self,
        seller_id: &str,
        order_id: &str,
        kind: ChangeKind,
        f: impl FnOnce(&mut StoredOrder, DateTime<Utc>) -> Result<(), SimError>,
    ) -> Result<(), SimError> {
        self.with(|s| {
            let now = s.now();
            let order = s
                .seller_mut(seller_id)?
                .orders
                .get_mut(order_id)
                .ok_or_else(|| SimError::UnknownOrder(order_id.to_string()))?;
            f(order, now)?;
            let changed = order.clone();
            s.notifications
                .order_changed(seller_id, &changed, kind, now);
            Ok(())
        })
    }

    /// Moves an order forward (Pending → Unshipped → PartiallyShipped →
    /// Shipped, or Cancelled); `lastUpdatedTime` becomes the clock's now.
    pub fn set_status(
        &self,
        seller_id: &str,
        order_id: &str,
        status: OrderStatus,
    ) -> Result<(), SimError> {
        self.change(seller_id, order_id, ChangeKind::Status, |o, now| {
            o.set_status(status, now)
        })
    }

    /// Ships units in one package (FBM orders get a `packages` entry).
    pub fn ship(&self, seller_id: &str, order_id: &str, spec: ShipSpec) -> Result<(), SimError> {
        self.change(seller_id, order_id, ChangeKind::Status, |o, now| {
            o.ship(&spec, now)
        })
    }

    /// Cancels the order or some lines, or records a buyer's cancellation request.
    pub fn cancel(
        &self,
        seller_id: &str,
        order_id: &str,
        spec: CancelSpec,
    ) -> Result<(), SimError> {
        let kind = kind_of_cancel(spec.request_only);
        self.change(seller_id, order_id, kind, |o, now| o.cancel(&spec, now))
    }

    /// The order as getOrder would return it with every `includedData` and the PII role.
    pub fn order_json(&self, seller_id: &str, order_id: &str) -> Result<Value, SimError> {
        self.with(|s| {
            let order = s
                .seller(seller_id)?
                .orders
                .get(order_id)
                .ok_or_else(|| SimError::UnknownOrder(order_id.to_string()))?;
            Ok(order.to_json(Included::all(), true, marketplace(&order.marketplace_id)))
        })
    }

    /// Confirmations of packages an order already had (same reference id or
    /// tracking number), summed over the seller's orders: 0 when every
    /// package was confirmed once.
    pub fn repeat_confirmations(&self, seller_id: &str) -> Result<u64, SimError> {
        self.with(|s| {
            Ok(s.seller(seller_id)?
                .orders
                .values()
                .map(|o| u64::from(o.repeat_confirmations))
                .sum())
        })
    }

    /// The simulator's clock: wall clock plus the advances so far.
    pub fn now(&self) -> DateTime<Utc> {
        self.with(|s| s.now())
    }

    /// Moves the clock forward (at most a century in all). Lifetimes of access and pagination tokens
    /// count the advance; quota buckets do not.
    pub fn advance_clock(&self, by: Duration) {
        // Capped at a century so that `now` can never overflow.
        let cap = TimeDelta::days(36_500);
        let delta = TimeDelta::from_std(by).unwrap_or(cap).min(cap);
        self.with(|s| s.clock_offset = (s.clock_offset + delta).min(cap));
    }

    /// Overrides the seller's usage plan for one operation (`x-amzn-RateLimit-Limit`
    /// then reports `rate`); `burst` `None` keeps the published burst.
    pub fn set_rate(
        &self,
        seller_id: &str,
        op: Operation,
        rate: f64,
        burst: Option<u32>,
    ) -> Result<(), SimError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(SimError::InvalidRate(format!(
                "{rate} is not a positive rate"
            )));
        }
        if burst == Some(0) {
            return Err(SimError::InvalidRate(
                "burst must be at least 1".to_string(),
            ));
        }
        self.with(|s| {
            s.seller(seller_id)?;
            s.rate_overrides
                .insert((seller_id.to_string(), op), RateOverride { rate, burst });
            Ok(())
        })
    }

    /// Back to the published usage plan.
    pub fn clear_rate(&self, seller_id: &str, op: Operation) {
        self.with(|s| {
            s.rate_overrides.remove(&(seller_id.to_string(), op));
        });
    }

    /// Queues a fault for the next call that `target` matches.
    pub fn inject_fault(&self, target: FaultTarget, fault: Fault) -> Result<(), SimError> {
        fault.validate()?;
        self.with(|s| s.faults.push(target, fault));
        Ok(())
    }

    /// Throttles the next `calls` calls of `op` (0 ends a storm).
    pub fn storm(&self, op: Operation, calls: u32) {
        self.with(|s| s.faults.start_storm(op, calls));
    }

    /// Faults still queued.
    pub fn pending_faults(&self) -> usize {
        self.with(|s| s.faults.pending())
    }

    /// Every access token issued so far expires now.
    pub fn expire_access_tokens(&self) {
        self.with(expire_all);
    }

    pub fn operation_metrics(&self, seller_id: &str, op: Operation) -> OperationMetrics {
        self.with(|s| {
            s.metrics
                .get(&(seller_id.to_string(), op))
                .copied()
                .unwrap_or_default()
        })
    }

    pub fn metrics(&self) -> MetricsReport {
        self.with(|s| MetricsReport {
            operations: s
                .metrics
                .iter()
                .map(|((seller, op), m)| MetricsRow {
                    seller_id: seller.clone(),
                    operation: op.name().to_string(),
                    metrics: *m,
                })
                .collect(),
            token_requests: s.token_requests.clone(),
        })
    }

    /// Forgets everything: apps, sellers, orders, tokens, buckets, faults,
    /// metrics and the clock offset.
    pub fn reset(&self) {
        self.with(|s| {
            let sink = s.notifications.take_sink();
            *s = Inner::default();
            s.notifications.restore_sink(sink);
        });
    }
}
