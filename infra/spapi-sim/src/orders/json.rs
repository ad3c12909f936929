//! The Orders v2026-01-01 `Order` JSON of a stored order, per `includedData`
//! and the seller's PII role, following `shared/amazon/models/orders_2026-01-01.json`.

use serde_json::{Map, Value, json};

use super::{AddressSpec, FulfilledBy, Package, StoredItem, StoredOrder, TimeWindow};
use crate::marketplaces::MarketplaceInfo;
use crate::money::Decimal;
use crate::state::iso;

/// What `includedData` asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Included {
    pub buyer: bool,
    pub recipient: bool,
    pub proceeds: bool,
    pub cancellation: bool,
    pub fulfillment: bool,
    pub packages: bool,
}

/// Every `includedData` value of the model; the ones the simulator has no data
/// for (EXPENSE, PROMOTION, TAX, PAYMENT, FULFILLMENT_ORDERS) are accepted and add nothing.
pub const INCLUDED_DATA: [&str; 11] = [
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
];

impl Included {
    pub fn all() -> Self {
        Self {
            buyer: true,
            recipient: true,
            proceeds: true,
            cancellation: true,
            fulfillment: true,
            packages: true,
        }
    }

    /// From the values of `includedData`; `Err` names the first unknown value.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut inc = Included::default();
        for v in values {
            match v {
                "BUYER" => inc.buyer = true,
                "RECIPIENT" => inc.recipient = true,
                "PROCEEDS" => inc.proceeds = true,
                "CANCELLATION" => inc.cancellation = true,
                "FULFILLMENT" => inc.fulfillment = true,
                "PACKAGES" => inc.packages = true,
                other if INCLUDED_DATA.contains(&other) => {}
                other => return Err(other.to_string()),
            }
        }
        Ok(inc)
    }
}

impl StoredOrder {
    /// The model's `Order` for `includedData` = `inc`; `pii` is whether the
    /// seller has the roles for buyer and address data.
    pub fn to_json(&self, inc: Included, pii: bool, market: Option<&MarketplaceInfo>) -> Value {
        let mut o = Map::new();
        o.insert("orderId".into(), json!(self.id));
        o.insert("createdTime".into(), json!(iso(self.created)));
        o.insert("lastUpdatedTime".into(), json!(iso(self.last_updated)));
        if !self.programs.is_empty() {
            o.insert("programs".into(), json!(self.programs));
        }
        let mut channel = Map::new();
        channel.insert("channelName".into(), json!("AMAZON"));
        channel.insert("marketplaceId".into(), json!(self.marketplace_id));
        if let Some(m) = market {
            channel.insert("marketplaceName".into(), json!(m.name));
        }
        o.insert("salesChannel".into(), Value::Object(channel));
        if inc.buyer
            && pii
            && let Some(b) = &self.buyer
        {
            let mut buyer = Map::new();
            put(&mut buyer, "buyerName", &b.name);
            if self.fulfilled_by == FulfilledBy::Merchant {
                put(&mut buyer, "buyerEmail", &b.email);
            }
            put(&mut buyer, "buyerCompanyName", &b.company_name);
            put(
                &mut buyer,
                "buyerPurchaseOrderNumber",
                &b.purchase_order_number,
            );
            o.insert("buyer".into(), Value::Object(buyer));
        }
        if inc.recipient
            && let Some(a) = &self.recipient
        {
            o.insert(
                "recipient".into(),
                json!({ "deliveryAddress": address_json(a, pii) }),
            );
        }
        if inc.proceeds {
            let total = self
                .items
                .iter()
                .map(item_total)
                .fold(Decimal::zero(), Decimal::plus);
            let currency = self
                .items
                .first()
                .map(|i| i.currency.as_str())
                .unwrap_or("");
            let money = json!({ "amount": total.to_string(), "currencyCode": currency });
            o.insert(
                "proceeds".into(),
                json!({
                    "grandTotal": money,
                    "breakdowns": [{ "type": "ITEM", "subtotal": money }],
                }),
            );
        }
        if inc.fulfillment {
            let mut f = Map::new();
            f.insert("fulfillmentStatus".into(), json!(self.status.as_str()));
            f.insert("fulfilledBy".into(), json!(self.fulfilled_by.as_str()));
            f.insert("fulfillmentServiceLevel".into(), json!(self.service_level));
            if let Some(w) = self.ship_by {
                f.insert("shipByWindow".into(), window_json(w));
            }
            if let Some(w) = self.deliver_by {
                f.insert("deliverByWindow".into(), window_json(w));
            }
            if let Some(t) = self.label_printing_earliest {
                f.insert(
                    "labelPrintingWindow".into(),
                    json!({ "earliestDateTime": iso(t) }),
                );
            }
            o.insert("fulfillment".into(), Value::Object(f));
        }
        let items: Vec<Value> = self.items.iter().map(|i| item_json(i, inc)).collect();
        o.insert("orderItems".into(), Value::Array(items));
        if inc.packages && self.fulfilled_by == FulfilledBy::Merchant && !self.packages.is_empty() {
            let packages: Vec<Value> = self.packages.iter().map(package_json).collect();
            o.insert("packages".into(), Value::Array(packages));
        }
        Value::Object(o)
    }
}

fn put(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

fn window_json(w: TimeWindow) -> Value {
    json!({ "earliestDateTime": iso(w.earliest), "latestDateTime": iso(w.latest) })
}

fn address_json(a: &AddressSpec, pii: bool) -> Value {
    let mut m = Map::new();
    if pii {
        put(&mut m, "name", &a.name);
        put(&mut m, "companyName", &a.company_name);
        put(&mut m, "addressLine1", &a.address_line1);
        put(&mut m, "addressLine2", &a.address_line2);
        put(&mut m, "addressLine3", &a.address_line3);
    }
    put(&mut m, "city", &a.city);
    if pii {
        put(&mut m, "districtOrCounty", &a.district_or_county);
    }
    put(&mut m, "stateOrRegion", &a.state_or_region);
    if pii {
        put(&mut m, "municipality", &a.municipality);
    }
    put(&mut m, "postalCode", &a.postal_code);
    put(&mut m, "countryCode", &a.country_code);
    if pii {
        put(&mut m, "phone", &a.phone);
        put(&mut m, "addressType", &a.address_type);
    }
    Value::Object(m)
}

fn item_total(i: &StoredItem) -> Decimal {
    i.unit_price.times(i.quantity - i.cancelled)
}

fn item_json(i: &StoredItem, inc: Included) -> Value {
    let mut m = Map::new();
    m.insert("orderItemId".into(), json!(i.id));
    m.insert("quantityOrdered".into(), json!(i.quantity));
    if !i.programs.is_empty() {
        m.insert("programs".into(), json!(i.programs));
    }
    m.insert(
        "product".into(),
        json!({
            "asin": i.asin,
            "title": i.title,
            "sellerSku": i.sku,
            "condition": { "conditionType": "NEW", "conditionSubtype": "NEW" },
            "price": {
                "unitPrice": { "amount": i.unit_price.to_string(), "currencyCode": i.currency }
            },
        }),
    );
    if inc.proceeds {
        let money = json!({ "amount": item_total(i).to_string(), "currencyCode": i.currency });
        m.insert(
            "proceeds".into(),
            json!({
                "proceedsTotal": money,
                "breakdowns": [{ "type": "ITEM", "subtotal": money }],
            }),
        );
    }
    if inc.cancellation
        && let Some(c) = &i.cancellation
    {
        let mut cm = Map::new();
        if let Some(r) = c.requester {
            let mut req = Map::new();
            req.insert("requester".into(), json!(r.as_str()));
            put(&mut req, "cancelReason", &c.request_reason);
            cm.insert("cancellationRequest".into(), Value::Object(req));
        }
        if let Some(by) = c.executed_by {
            let mut ex = Map::new();
            ex.insert("cancelledBy".into(), json!(by.as_str()));
            put(&mut ex, "cancelReason", &c.execute_reason);
            cm.insert("cancellationExecution".into(), Value::Object(ex));
        }
        m.insert("cancellation".into(), Value::Object(cm));
    }
    let mut f = json!({ "quantityFulfilled": i.shipped, "quantityUnfulfilled": i.open() });
    if inc.fulfillment && i.serial_number_required {
        f["packing"] = json!({ "serialNumberRequirement": { "requirementType": "REQUIRED" } });
    }
    if inc.fulfillment && !i.shipping_constraints.is_empty() {
        let constraints: Map<String, Value> = i
            .shipping_constraints
            .iter()
            .map(|c| (c.clone(), json!("MANDATORY")))
            .collect();
        f["shipping"] = json!({ "shippingConstraints": constraints });
    }
    m.insert("fulfillment".into(), f);
    Value::Object(m)
}

fn package_json(p: &Package) -> Value {
    let mut m = Map::new();
    m.insert("packageReferenceId".into(), json!(p.reference_id));
    m.insert("createdTime".into(), json!(iso(p.created)));
    m.insert("packageStatus".into(), json!({ "status": "SHIPPED" }));
    m.insert("carrier".into(), json!(p.carrier));
    m.insert("shipTime".into(), json!(iso(p.created)));
    put(&mut m, "shippingService", &p.shipping_service);
    m.insert("trackingNumber".into(), json!(p.tracking_number));
    let items: Vec<Value> = p
        .items
        .iter()
        .map(|(id, q)| {
            let mut item = json!({ "orderItemId": id, "quantity": q });
            if let Some(codes) = p.transparency_codes.get(id).filter(|c| !c.is_empty()) {
                item["transparencyCodes"] = json!(codes);
            }
            item
        })
        .collect();
    m.insert("packageItems".into(), Value::Array(items));
    Value::Object(m)
}
