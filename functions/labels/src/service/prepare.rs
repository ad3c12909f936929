//! A WMS shipment turned into Amazon's getRates request: the Amazon channel
//! for an order (the order looked up, checked to be shippable; Amazon knows
//! the address, nothing of the buyer is fetched or kept), the external
//! channel for an explicit ship-to; item values and insured values (exact
//! decimals), serial numbers checked.

use chrono::{DateTime, Utc};
use domain::settings::{OrderStatus, SellerSettings};
use domain::{AmazonOrderId, Deadline};
use spapi::models::orders::{IncludedData, Order};
use spapi::models::shipping::{self as amazon, ChannelDetails, GetRatesRequest};
use spapi::ops::orders::GetOrder;
use spapi::{SellerContext, SpApiError};
use wms::label::{Channel, ShipmentSpec};
use wms::{Decimal, Money};

use super::LabelService;
use crate::error::LabelError;
use crate::model;

/// What a rates or one-click call asks Amazon, and what we keep of it.
pub(super) struct Prepared {
    pub(super) request: GetRatesRequest,
    pub(super) channel: Channel,
    pub(super) amazon_order_id: Option<AmazonOrderId>,
    pub(super) marketplace_id: String,
    pub(super) deliver_by: Option<DateTime<Utc>>,
}

/// The currency of a marketplace (for zero insured values when nothing else says).
fn marketplace_currency(marketplace_id: &str) -> &'static str {
    match marketplace_id {
        "ATVPDKIKX0DER" => "USD",
        "A2EUQ1WTGCTBG2" => "CAD",
        "A1AM78C64UM0Y8" => "MXN",
        "A2Q3Y263D00KWC" => "BRL",
        "A1F83G8C2ARO7P" => "GBP",
        "A2NODRKZP88ZB9" => "SEK",
        "A1C3SOZRARQ6R3" => "PLN",
        "A33AVAJ2PDY3EV" => "TRY",
        "A2VIGQ35RCS4UG" => "AED",
        "A17E79C6D8DWNP" => "SAR",
        "ARBP9OOSHTCHU" => "EGP",
        "A21TJRUUN4KGV" => "INR",
        "AE08WJ6YKNBMC" => "ZAR",
        "A1VC38T7YXB528" => "JPY",
        "A39IBJ37TRP1C6" => "AUD",
        "A19VAU5U5O7RUS" => "SGD",
        _ => "EUR",
    }
}

pub(crate) fn address(a: &wms::label::Address) -> amazon::Address {
    amazon::Address {
        name: a.name.clone(),
        address_line1: a.address_line1.clone(),
        address_line2: a.address_line2.clone(),
        address_line3: a.address_line3.clone(),
        company_name: a.company_name.clone(),
        state_or_region: a.state_or_region.clone(),
        city: a.city.clone(),
        country_code: a.country_code.clone(),
        postal_code: a.postal_code.clone(),
        email: a.email.clone(),
        phone_number: a.phone.clone(),
    }
}

fn amazon_decimal(d: &Decimal, field: &str) -> Result<amazon::Decimal, LabelError> {
    model::decimal(d).ok_or_else(|| {
        LabelError::Invalid(format!("`{field}` has more than 15 significant digits"))
    })
}

fn currency(m: &Money, field: &str) -> Result<amazon::Currency, LabelError> {
    Ok(amazon::Currency {
        value: amazon_decimal(&m.amount, field)?,
        unit: m.currency.clone(),
    })
}

impl LabelService {
    /// The getRates request for a shipment: the Amazon channel for an order
    /// (Amazon knows the address; nothing of the buyer is fetched or kept),
    /// the external channel for an explicit ship-to.
    pub(super) async fn prepare(
        &self,
        seller: &SellerSettings,
        shipment: &ShipmentSpec,
        deadline: &Deadline,
    ) -> Result<Prepared, LabelError> {
        // A shipment that is no Amazon order belongs to the seller's first
        // marketplace; a seller served in all its marketplaces (none
        // listed) to the one of the warehouse's country.
        let first_marketplace = seller
            .marketplaces
            .first()
            .map(|m| m.as_str().to_string())
            .or_else(|| {
                domain::region::marketplace_for_country(
                    seller.region,
                    &shipment.ship_from.country_code,
                )
                .map(|m| m.id.to_string())
            })
            .unwrap_or_default();
        let (channel, order, ship_to) = match (&shipment.order_number, &shipment.ship_to) {
            (Some(number), None) => {
                let order = self.order(seller, number, deadline).await?;
                (
                    ChannelDetails::amazon(order.order_id.clone()),
                    Some(order),
                    None,
                )
            }
            (None, Some(to)) => (ChannelDetails::external(), None, Some(address(to))),
            _ => {
                return Err(LabelError::Invalid(
                    "`shipment` needs exactly one of `order_number` and `ship_to`".into(),
                ));
            }
        };
        let marketplace_id = order
            .as_ref()
            .and_then(|o| o.sales_channel.marketplace_id.clone())
            .unwrap_or(first_marketplace);
        let default_currency = shipment
            .packages
            .iter()
            .flat_map(|p| {
                p.insured_value
                    .iter()
                    .chain(p.items.iter().filter_map(|i| i.value.as_ref()))
            })
            .map(|m| m.currency.clone())
            .next()
            .or_else(|| {
                order.as_ref().and_then(|o| {
                    o.order_items
                        .iter()
                        .find_map(|i| i.product.price.as_ref()?.unit_price.as_ref())
                        .map(|m| m.currency_code.clone())
                })
            })
            .unwrap_or_else(|| marketplace_currency(&marketplace_id).to_string());
        let mut packages = Vec::new();
        for (n, p) in shipment.packages.iter().enumerate() {
            let field = |f: &str| format!("shipment/packages/{n}/{f}");
            check_serial_numbers(n, p, order.is_some())?;
            let mut items = Vec::new();
            let mut total: Option<Decimal> = Some(zero()?);
            for (k, item) in p.items.iter().enumerate() {
                let (identifier, order_price) = match &order {
                    Some(o) => {
                        let (id, price) = order_line(o, item)?;
                        (id, price)
                    }
                    None => (item.order_item_id.as_ref().map(|i| i.to_string()), None),
                };
                let unit_value = match (&item.value, order_price) {
                    (Some(v), _) => Some(v.clone()),
                    (None, Some(p)) => Some(p),
                    (None, None) => None,
                };
                total = match (&total, &unit_value) {
                    (Some(t), Some(v)) if v.currency == default_currency => {
                        v.amount.times(item.quantity).and_then(|line| add(t, &line))
                    }
                    _ => None,
                };
                items.push(amazon::Item {
                    quantity: item.quantity,
                    item_value: unit_value
                        .as_ref()
                        .map(|v| currency(v, &format!("{}/items/{k}/value", field(""))))
                        .transpose()?,
                    description: item.description.clone(),
                    item_identifier: identifier,
                    weight: item
                        .weight
                        .as_ref()
                        .map(|w| {
                            Ok::<_, LabelError>(amazon::Weight {
                                unit: w.unit.as_str().to_string(),
                                value: amazon_decimal(&w.value, &field("items/weight"))?,
                            })
                        })
                        .transpose()?,
                    serial_numbers: item.serial_numbers.clone(),
                });
            }
            let insured = match (&p.insured_value, total) {
                (Some(v), _) => v.clone(),
                (None, Some(t)) => Money {
                    amount: t,
                    currency: default_currency.clone(),
                },
                (None, None) => Money {
                    amount: zero()?,
                    currency: default_currency.clone(),
                },
            };
            packages.push(amazon::Package {
                dimensions: amazon::Dimensions {
                    length: amazon_decimal(&p.dimensions.length, &field("dimensions/length"))?,
                    width: amazon_decimal(&p.dimensions.width, &field("dimensions/width"))?,
                    height: amazon_decimal(&p.dimensions.height, &field("dimensions/height"))?,
                    unit: p.dimensions.unit.as_str().to_string(),
                },
                weight: amazon::Weight {
                    unit: p.weight.unit.as_str().to_string(),
                    value: amazon_decimal(&p.weight.value, &field("weight/value"))?,
                },
                insured_value: currency(&insured, &field("insured_value"))?,
                package_client_reference_id: p.package_id.clone(),
                items,
            });
        }
        let mut ids: Vec<&str> = packages
            .iter()
            .map(|p| p.package_client_reference_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != packages.len() {
            return Err(LabelError::Invalid(
                "every package of a shipment needs its own `package_id`".into(),
            ));
        }
        let deliver_by = order.as_ref().and_then(|o| {
            o.fulfillment
                .as_ref()?
                .deliver_by_window
                .as_ref()?
                .latest_date_time
        });
        let amazon_order_id = order
            .as_ref()
            .and_then(|o| AmazonOrderId::new(&o.order_id).ok());
        Ok(Prepared {
            request: GetRatesRequest {
                ship_to,
                ship_from: address(&shipment.ship_from),
                return_to: shipment.return_to.as_ref().map(address),
                ship_date: shipment.ship_date,
                packages,
                channel_details: channel,
            },
            channel: if amazon_order_id.is_some() {
                Channel::Amazon
            } else {
                Channel::External
            },
            amazon_order_id,
            marketplace_id,
            deliver_by,
        })
    }

    /// The Amazon order behind a WMS order number, checked to be shippable.
    /// Asks for `FULFILLMENT` only: no buyer data is fetched.
    pub(super) async fn order(
        &self,
        seller: &SellerSettings,
        number: &str,
        deadline: &Deadline,
    ) -> Result<Order, LabelError> {
        let from_ledger = self
            .ledger
            .find_by_wms_order_number(&seller.seller_id, number)
            .await?
            .map(|e| e.amazon_order_id);
        let id = match from_ledger {
            Some(id) => id,
            None => {
                let bare = number
                    .strip_prefix(seller.order_prefix.as_str())
                    .unwrap_or(number);
                AmazonOrderId::new(bare)
                    .or_else(|_| AmazonOrderId::new(number))
                    .map_err(|_| LabelError::UnknownOrder {
                        number: number.to_string(),
                    })?
            }
        };
        let call = GetOrder {
            order_id: id.clone(),
            included_data: vec![IncludedData::Fulfillment],
        };
        let order = match self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await
        {
            Ok(answer) => answer.order,
            Err(SpApiError::Amazon { status: 404, .. }) => {
                return Err(LabelError::UnknownOrder {
                    number: number.to_string(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let merchant = order
            .fulfillment
            .as_ref()
            .and_then(|f| f.fulfilled_by.as_deref())
            .is_none_or(|by| by == "MERCHANT");
        let status = order.status();
        if !merchant
            || !matches!(
                status,
                Some(OrderStatus::Unshipped | OrderStatus::PartiallyShipped)
            )
        {
            return Err(LabelError::OrderNotShippable {
                order: id.to_string(),
                status: match (merchant, status) {
                    (false, _) => "fulfilled by Amazon".to_string(),
                    (true, Some(s)) => s.as_str().to_string(),
                    (true, None) => "an unknown status".to_string(),
                },
            });
        }
        Ok(order)
    }
}

fn zero() -> Result<Decimal, LabelError> {
    Decimal::new("0").ok_or_else(|| LabelError::Internal("zero is not a decimal".into()))
}

/// `a + b` for non-negative decimals, exact.
fn add(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let scale = |d: &Decimal| d.as_str().split_once('.').map_or(0, |(_, f)| f.len());
    let s = scale(a).max(scale(b));
    let units = |d: &Decimal| -> Option<u128> {
        let (i, f) = d.as_str().split_once('.').unwrap_or((d.as_str(), ""));
        format!("{i}{f:0<s$}").parse().ok()
    };
    let sum = units(a)?.checked_add(units(b)?)?;
    let mut text = format!("{sum:0>width$}", width = s + 1);
    if s > 0 {
        text.insert(text.len() - s, '.');
    }
    Decimal::new(text)
}

/// An item's serial numbers go to Amazon only with an Amazon order's label,
/// at most one per unit, each once in the package.
fn check_serial_numbers(
    n: usize,
    package: &wms::label::PackageSpec,
    amazon_order: bool,
) -> Result<(), LabelError> {
    let mut seen = std::collections::HashSet::new();
    for (k, item) in package.items.iter().enumerate() {
        if item.serial_numbers.is_empty() {
            continue;
        }
        let at = format!("`/shipment/packages/{n}/items/{k}/serial_numbers`");
        if !amazon_order {
            return Err(LabelError::SerialNumbersInvalid(format!(
                "{at}: Amazon takes serial numbers only on a label for an Amazon order (`order_number`); leave them out for other shipments"
            )));
        }
        if item.serial_numbers.len() > item.quantity as usize {
            return Err(LabelError::SerialNumbersInvalid(format!(
                "{at} has {} serial numbers for {} unit(s): at most one per unit",
                item.serial_numbers.len(),
                item.quantity
            )));
        }
        for serial in &item.serial_numbers {
            if !seen.insert(serial.as_str()) {
                return Err(LabelError::SerialNumbersInvalid(format!(
                    "{at} repeats a serial number of the package: each unit has its own"
                )));
            }
        }
    }
    Ok(())
}

/// The order line of a package item: its order item id and unit price.
fn order_line(
    order: &Order,
    item: &wms::label::ItemSpec,
) -> Result<(Option<String>, Option<Money>), LabelError> {
    let line = match (&item.order_item_id, &item.sku) {
        (Some(id), _) => Some(
            order
                .order_items
                .iter()
                .find(|i| i.order_item_id == id.as_str())
                .ok_or_else(|| LabelError::UnknownItem {
                    order: order.order_id.clone(),
                    what: format!("order item {id}"),
                })?,
        ),
        (None, Some(sku)) => Some(
            order
                .order_items
                .iter()
                .find(|i| i.product.seller_sku.as_deref() == Some(sku.as_str()))
                .ok_or_else(|| LabelError::UnknownItem {
                    order: order.order_id.clone(),
                    what: format!("SKU {sku}"),
                })?,
        ),
        (None, None) => None,
    };
    let Some(line) = line else {
        return Ok((None, None));
    };
    let price = line
        .product
        .price
        .as_ref()
        .and_then(|p| p.unit_price.as_ref())
        .and_then(|m| {
            Some(Money {
                amount: Decimal::new(m.amount.clone())?,
                currency: m.currency_code.clone(),
            })
        });
    Ok((Some(line.order_item_id.clone()), price))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_add_exactly() {
        let d = |s: &str| Decimal::new(s).unwrap();
        assert_eq!(add(&d("19.95"), &d("0.05")).unwrap().as_str(), "20.00");
        assert_eq!(add(&d("0"), &d("12.5")).unwrap().as_str(), "12.5");
        assert_eq!(add(&d("1"), &d("2")).unwrap().as_str(), "3");
    }
}
