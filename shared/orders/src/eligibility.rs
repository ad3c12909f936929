//! Which orders go to the WMS. The checks run from the most permanent reason
//! to the most passing one, so an order that can never be sent is skipped
//! (and forgotten) rather than held.

use std::fmt;

use chrono::{DateTime, Utc};
use domain::settings::{OrderStatus, SellerSettings};
use spapi::models::orders::{Order, StatusValue};

use crate::mapping::quantity_to_ship;

/// What to do with an order now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eligibility {
    /// Send `order.created` to the WMS (once: the ledger sees to it).
    Send,
    /// Not yet: look at it again on a later run.
    Hold(HoldReason),
    /// Never as a new order.
    Skip(SkipReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldReason {
    /// `PENDING` or `PENDING_AVAILABILITY`: sent once it becomes `UNSHIPPED`.
    Pending(OrderStatus),
    /// A fulfilment status this code does not know yet.
    UnknownStatus(String),
    /// Amazon's answer lacks a field needed to decide (e.g. `fulfillment`
    /// when `includedData=FULFILLMENT` was not asked for).
    MissingData(&'static str),
    /// The seller's settings cannot be applied (say, an unknown time zone).
    Settings(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Created before 00:00 of the seller's start date in its time zone.
    BeforeStartDate {
        created: DateTime<Utc>,
        start: DateTime<Utc>,
    },
    /// Fulfilled by Amazon (or anything but `MERCHANT`).
    NotMerchantFulfilled { fulfilled_by: String },
    /// A marketplace not in the seller's list (or none given).
    MarketplaceNotConfigured { marketplace_id: Option<String> },
    /// `CANCELLED` orders are never sent as new orders.
    Cancelled,
    /// A status the seller does not pull (e.g. `SHIPPED`).
    StatusNotPulled(OrderStatus),
    /// The ship-to country is not in the seller's allow-list.
    CountryNotAllowed { country_code: String },
    /// Every unit is already shipped or cancelled.
    NothingToShip,
}

impl fmt::Display for Eligibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Eligibility::Send => f.write_str("send"),
            Eligibility::Hold(r) => write!(f, "hold: {r}"),
            Eligibility::Skip(r) => write!(f, "skip: {r}"),
        }
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::Pending(s) => write!(f, "status {} (sent once UNSHIPPED)", s.as_str()),
            HoldReason::UnknownStatus(s) => write!(f, "unknown fulfilment status {s:?}"),
            HoldReason::MissingData(field) => write!(f, "Amazon's answer has no `{field}`"),
            HoldReason::Settings(m) => write!(f, "seller settings: {m}"),
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::BeforeStartDate { created, start } => write!(
                f,
                "created {} before the seller's start {}",
                created.to_rfc3339(),
                start.to_rfc3339()
            ),
            SkipReason::NotMerchantFulfilled { fulfilled_by } => {
                write!(f, "fulfilled by {fulfilled_by}, not MERCHANT")
            }
            SkipReason::MarketplaceNotConfigured {
                marketplace_id: Some(m),
            } => write!(f, "marketplace {m} is not one of the seller's"),
            SkipReason::MarketplaceNotConfigured {
                marketplace_id: None,
            } => f.write_str("no marketplace id"),
            SkipReason::Cancelled => f.write_str("cancelled"),
            SkipReason::StatusNotPulled(s) => write!(f, "status {} is not pulled", s.as_str()),
            SkipReason::CountryNotAllowed { country_code } => {
                write!(f, "ships to {country_code}, outside the allow-list")
            }
            SkipReason::NothingToShip => f.write_str("nothing left to ship"),
        }
    }
}

/// Decides whether `order` goes to the WMS now, later or never, under the
/// seller's settings (product.md, "Per-seller settings").
pub fn eligibility(order: &Order, settings: &SellerSettings) -> Eligibility {
    use Eligibility::{Hold, Send, Skip};

    let start = match settings.order_start() {
        Ok(start) => start,
        Err(e) => return Hold(HoldReason::Settings(e.to_string())),
    };
    if order.created_time < start {
        return Skip(SkipReason::BeforeStartDate {
            created: order.created_time,
            start,
        });
    }

    let Some(fulfillment) = &order.fulfillment else {
        return Hold(HoldReason::MissingData("fulfillment"));
    };
    match fulfillment.fulfilled_by.as_deref() {
        Some("MERCHANT") => {}
        Some(other) => {
            return Skip(SkipReason::NotMerchantFulfilled {
                fulfilled_by: other.to_string(),
            });
        }
        None => return Hold(HoldReason::MissingData("fulfillment.fulfilledBy")),
    }

    let marketplace = order.sales_channel.marketplace_id.as_deref();
    if !marketplace.is_some_and(|m| settings.marketplaces.iter().any(|s| s.as_str() == m)) {
        return Skip(SkipReason::MarketplaceNotConfigured {
            marketplace_id: marketplace.map(str::to_string),
        });
    }

    match &fulfillment.fulfillment_status {
        StatusValue::Known(OrderStatus::Cancelled) => return Skip(SkipReason::Cancelled),
        StatusValue::Known(s @ (OrderStatus::Pending | OrderStatus::PendingAvailability)) => {
            return Hold(HoldReason::Pending(*s));
        }
        StatusValue::Known(s) if !settings.order_statuses.contains(s) => {
            return Skip(SkipReason::StatusNotPulled(*s));
        }
        StatusValue::Known(_) => {}
        StatusValue::Other(s) => return Hold(HoldReason::UnknownStatus(s.clone())),
    }

    if !settings.ship_to_countries.is_empty() {
        let country = order
            .recipient
            .as_ref()
            .and_then(|r| r.delivery_address.as_ref())
            .and_then(|a| a.country_code.as_deref());
        match country {
            None => {
                return Hold(HoldReason::MissingData(
                    "recipient.deliveryAddress.countryCode",
                ));
            }
            Some(c) if !settings.ships_to(c) => {
                return Skip(SkipReason::CountryNotAllowed {
                    country_code: c.to_string(),
                });
            }
            Some(_) => {}
        }
    }

    if order.order_items.iter().all(|i| quantity_to_ship(i) == 0) {
        return Skip(SkipReason::NothingToShip);
    }
    Send
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{order, seller, with};
    use chrono::{NaiveDate, TimeZone};
    use serde_json::json;

    fn check(order: &Order, settings: &SellerSettings, expected: Eligibility) {
        assert_eq!(
            eligibility(order, settings),
            expected,
            "order {}",
            order.order_id
        );
    }

    #[test]
    fn an_unshipped_merchant_order_in_the_sellers_marketplace_is_sent() {
        // The model's own examples: BR (getOrder) and BR business (searchOrders).
        for id in ["171-9876543-2109876", "171-2345678-9012345"] {
            check(&order(id), &seller(), Eligibility::Send);
        }
    }

    #[test]
    fn orders_created_before_the_start_date_are_skipped_at_local_midnight() {
        // 2024-12-24T20:30:00Z is 21:30 on the 24th in Berlin and
        // 15:30 on the 24th in New York.
        let o = order("171-9876543-2109876");
        let mut s = seller();

        s.order_start_date = NaiveDate::from_ymd_opt(2024, 12, 25).unwrap();
        let start = Utc.with_ymd_and_hms(2024, 12, 25, 0, 0, 0).unwrap();
        check(
            &o,
            &s,
            Eligibility::Skip(SkipReason::BeforeStartDate {
                created: o.created_time,
                start,
            }),
        );

        // Midnight of the 25th in Kiritimati (UTC+14) is 10:00 UTC on the 24th.
        s.time_zone = "Pacific/Kiritimati".into();
        check(&o, &s, Eligibility::Send);

        // One second either side of midnight in Berlin (UTC+1 in winter).
        s.time_zone = "Europe/Berlin".into();
        s.order_start_date = NaiveDate::from_ymd_opt(2024, 12, 24).unwrap();
        let at = |t: &str| with(&o.order_id, |v| v["createdTime"] = json!(t));
        check(&at("2024-12-23T23:00:00Z"), &s, Eligibility::Send);
        assert!(matches!(
            eligibility(&at("2024-12-23T22:59:59Z"), &s),
            Eligibility::Skip(SkipReason::BeforeStartDate { .. })
        ));
        // ...which in UTC would still be the day before.
        s.time_zone = "UTC".into();
        assert!(matches!(
            eligibility(&at("2024-12-23T23:00:00Z"), &s),
            Eligibility::Skip(SkipReason::BeforeStartDate { .. })
        ));
    }

    #[test]
    fn orders_fulfilled_by_amazon_are_skipped() {
        // The model's JP example is fulfilled by Amazon.
        let mut s = seller();
        s.marketplaces
            .push(domain::MarketplaceId::new("A1VC38T7YXB528").unwrap());
        s.order_statuses.push(OrderStatus::Shipped);
        check(
            &order("250-1234567-8901234"),
            &s,
            Eligibility::Skip(SkipReason::NotMerchantFulfilled {
                fulfilled_by: "AMAZON".into(),
            }),
        );
        let afn = with("171-9876543-2109876", |v| {
            v["fulfillment"]["fulfilledBy"] = json!("AMAZON")
        });
        check(
            &afn,
            &seller(),
            Eligibility::Skip(SkipReason::NotMerchantFulfilled {
                fulfilled_by: "AMAZON".into(),
            }),
        );
    }

    #[test]
    fn orders_from_other_marketplaces_are_skipped() {
        let o = order("114-9876543-1234567"); // US
        check(
            &o,
            &seller(), // BR only
            Eligibility::Skip(SkipReason::MarketplaceNotConfigured {
                marketplace_id: Some("ATVPDKIKX0DER".into()),
            }),
        );
        let none = with(&o.order_id, |v| {
            v["salesChannel"]
                .as_object_mut()
                .unwrap()
                .remove("marketplaceId");
        });
        check(
            &none,
            &seller(),
            Eligibility::Skip(SkipReason::MarketplaceNotConfigured {
                marketplace_id: None,
            }),
        );
    }

    #[test]
    fn statuses_follow_the_sellers_list_pending_waits_cancelled_never() {
        let o = order("171-9876543-2109876");
        let status = |s: &str| {
            with(&o.order_id, |v| {
                v["fulfillment"]["fulfillmentStatus"] = json!(s)
            })
        };
        let mut s = seller();
        check(&status("PARTIALLY_SHIPPED"), &s, Eligibility::Send);
        check(
            &status("SHIPPED"),
            &s,
            Eligibility::Skip(SkipReason::StatusNotPulled(OrderStatus::Shipped)),
        );
        check(
            &status("PENDING"),
            &s,
            Eligibility::Hold(HoldReason::Pending(OrderStatus::Pending)),
        );
        check(
            &status("PENDING_AVAILABILITY"),
            &s,
            Eligibility::Hold(HoldReason::Pending(OrderStatus::PendingAvailability)),
        );
        check(
            &status("CANCELLED"),
            &s,
            Eligibility::Skip(SkipReason::Cancelled),
        );
        check(
            &status("ON_THE_MOON"),
            &s,
            Eligibility::Hold(HoldReason::UnknownStatus("ON_THE_MOON".into())),
        );
        // A seller who pulls only UNSHIPPED.
        s.order_statuses = vec![OrderStatus::Unshipped];
        check(
            &status("PARTIALLY_SHIPPED"),
            &s,
            Eligibility::Skip(SkipReason::StatusNotPulled(OrderStatus::PartiallyShipped)),
        );
        // Even a (mis)configured CANCELLED status never sends a cancelled order.
        s.order_statuses = vec![OrderStatus::Unshipped, OrderStatus::Cancelled];
        check(
            &status("CANCELLED"),
            &s,
            Eligibility::Skip(SkipReason::Cancelled),
        );
    }

    #[test]
    fn ship_to_countries_outside_the_allow_list_are_skipped() {
        let o = order("171-9876543-2109876"); // ships to BR
        let mut s = seller();
        check(&o, &s, Eligibility::Send); // empty list = all countries
        s.ship_to_countries = vec!["DE".into(), "AT".into()];
        check(
            &o,
            &s,
            Eligibility::Skip(SkipReason::CountryNotAllowed {
                country_code: "BR".into(),
            }),
        );
        s.ship_to_countries = vec!["AT".into(), "BR".into()];
        check(&o, &s, Eligibility::Send);
        let lower = with(&o.order_id, |v| {
            v["recipient"]["deliveryAddress"]["countryCode"] = json!("br")
        });
        check(&lower, &s, Eligibility::Send);
        let no_recipient = with(&o.order_id, |v| {
            v.as_object_mut().unwrap().remove("recipient");
        });
        check(
            &no_recipient,
            &s,
            Eligibility::Hold(HoldReason::MissingData(
                "recipient.deliveryAddress.countryCode",
            )),
        );
    }

    #[test]
    fn missing_fulfillment_data_holds_instead_of_guessing() {
        let o = order("171-9876543-2109876");
        let none = with(&o.order_id, |v| {
            v.as_object_mut().unwrap().remove("fulfillment");
        });
        check(
            &none,
            &seller(),
            Eligibility::Hold(HoldReason::MissingData("fulfillment")),
        );
        let no_by = with(&o.order_id, |v| {
            v["fulfillment"]
                .as_object_mut()
                .unwrap()
                .remove("fulfilledBy");
        });
        check(
            &no_by,
            &seller(),
            Eligibility::Hold(HoldReason::MissingData("fulfillment.fulfilledBy")),
        );
        let mut s = seller();
        s.time_zone = "Mars/Olympus".into();
        assert!(matches!(
            eligibility(&o, &s),
            Eligibility::Hold(HoldReason::Settings(_))
        ));
    }

    #[test]
    fn an_order_with_nothing_left_to_ship_is_skipped() {
        let o = with("171-9876543-2109876", |v| {
            v["fulfillment"]["fulfillmentStatus"] = json!("PARTIALLY_SHIPPED");
            v["orderItems"][0]["fulfillment"]["quantityFulfilled"] = json!(1);
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(0);
        });
        check(&o, &seller(), Eligibility::Skip(SkipReason::NothingToShip));
    }

    #[test]
    fn reasons_read_well_in_logs() {
        let s = Eligibility::Skip(SkipReason::CountryNotAllowed {
            country_code: "BR".into(),
        });
        assert_eq!(s.to_string(), "skip: ships to BR, outside the allow-list");
        let h = Eligibility::Hold(HoldReason::Pending(OrderStatus::Pending));
        assert_eq!(h.to_string(), "hold: status PENDING (sent once UNSHIPPED)");
    }
}
