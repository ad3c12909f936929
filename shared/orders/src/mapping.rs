//! An Amazon order (Orders API v2026-01-01 with `includedData` RECIPIENT,
//! BUYER, FULFILLMENT) as the WMS's `order.created` message.

use domain::settings::SellerSettings;
use domain::shipping::MappingSource;
use domain::{AmazonOrderId, MarketplaceId, OrderItemId, Pii, Sku};
use spapi::models::Money as AmazonMoney;
use spapi::models::orders::{CustomerAddress, Order, OrderItem};
use wms::{
    Address, BuyShipping, Buyer, Decimal, LineRequirements, MessageVersion, Money, OrderCreated,
    OrderFlags, OrderLine, OrderMessage, ServiceMapping, Shipping,
};

use crate::OrdersError;

const RECIPIENT_HINT: &str = "ask for includedData=RECIPIENT; Amazon leaves the name and street out unless the seller granted the application the Direct-to-Consumer Delivery role";
const AMAZON_HINT: &str =
    "Amazon's answer is incomplete; check the order in Seller Central and pull it again";

/// Units of an order item still to ship: Amazon's `quantityUnfulfilled` when
/// it sent one (`includedData=FULFILLMENT`), else ordered minus fulfilled.
pub fn quantity_to_ship(item: &OrderItem) -> u32 {
    let fulfillment = item.fulfillment.as_ref();
    match fulfillment.and_then(|f| f.quantity_unfulfilled) {
        Some(unfulfilled) => unfulfilled,
        None => item
            .quantity_ordered
            .saturating_sub(fulfillment.and_then(|f| f.quantity_fulfilled).unwrap_or(0)),
    }
}

/// The order programs that make Buy Shipping labels mandatory for this
/// seller (`shipping.buy_shipping_programs`, `PRIME` by default); empty when
/// any carrier will do.
pub fn buy_shipping_reasons(order: &Order, settings: &SellerSettings) -> Vec<String> {
    settings.shipping.buy_shipping_reasons(&order.programs)
}

/// The version of the order message the seller's WMS reads (1 unless set).
pub fn message_version(settings: &SellerSettings) -> MessageVersion {
    MessageVersion::from_number(settings.order_message_version).unwrap_or_default()
}

/// `order.created` version 2's `shipping`: the mapped service and Buy Shipping.
fn shipping(order: &Order, settings: &SellerSettings, marketplace: &MarketplaceId) -> Shipping {
    let fulfillment = order.fulfillment.as_ref();
    let level = fulfillment.and_then(|f| plain(&f.fulfillment_service_level));
    let service = settings.shipping.to_wms(marketplace, level.as_deref());
    let reasons = buy_shipping_reasons(order, settings);
    let required = !reasons.is_empty();
    Shipping {
        service_level: service.service_level,
        wms_service: service.code,
        mapping: match service.source {
            MappingSource::Seller => ServiceMapping::Seller,
            MappingSource::Default => ServiceMapping::Default,
            MappingSource::Unmapped => ServiceMapping::Unmapped,
        },
        buy_shipping: BuyShipping {
            required,
            reasons,
            ship_by: required
                .then(|| fulfillment?.ship_by_window.as_ref()?.latest_date_time)
                .flatten(),
            label_from: required
                .then(|| {
                    fulfillment?
                        .label_printing_window
                        .as_ref()?
                        .earliest_date_time
                })
                .flatten(),
        },
    }
}

/// `order.created` version 2's `requirements` of a line (`None`: nothing).
fn requirements(item: &OrderItem) -> Option<LineRequirements> {
    let r = LineRequirements {
        transparency_codes: item.transparency(),
        serial_numbers: item.serial_numbers_required(),
        shipping_constraints: item
            .shipping_constraints()
            .into_iter()
            .map(str::to_string)
            .collect(),
    };
    (!r.is_empty()).then_some(r)
}

/// Maps an order that [`crate::eligibility`] said to send into the WMS's
/// `order.created`, with the seller's order-number prefix, in the version
/// the seller's WMS reads (version 2 adds the mapped shipping method, Buy
/// Shipping and the lines' requirements). The message is checked against
/// the WMS schema before it is returned.
pub fn to_order_message(
    order: &Order,
    settings: &SellerSettings,
) -> Result<OrderMessage, OrdersError> {
    let order_id = order.order_id.as_str();
    let invalid = |field: &str, problem: &str| OrdersError::Invalid {
        order_id: order_id.to_string(),
        field: field.to_string(),
        problem: problem.to_string(),
    };
    let missing = |field: &str, hint: &'static str| OrdersError::Missing {
        order_id: order_id.to_string(),
        field: field.to_string(),
        hint,
    };

    let amazon_order_id = AmazonOrderId::new(order_id)
        .map_err(|_| invalid("orderId", "is not an Amazon order id (3-7-7 digits)"))?;
    let marketplace_id = order
        .sales_channel
        .marketplace_id
        .as_deref()
        .ok_or_else(|| missing("salesChannel.marketplaceId", AMAZON_HINT))
        .and_then(|m| {
            MarketplaceId::new(m).map_err(|_| {
                invalid(
                    "salesChannel.marketplaceId",
                    "is not a marketplace id (8-20 upper-case letters and digits)",
                )
            })
        })?;

    let address = order
        .recipient
        .as_ref()
        .and_then(|r| r.delivery_address.as_ref())
        .ok_or_else(|| missing("recipient.deliveryAddress", RECIPIENT_HINT))?;
    let ship_to = ship_to(address, &missing)?;

    let buyer = order.buyer.as_ref().map(|b| Buyer {
        name: text(&b.buyer_name),
        email: text(&b.buyer_email),
        company_name: text(&b.buyer_company_name),
        purchase_order_number: text(&b.buyer_purchase_order_number),
    });

    let version = message_version(settings);
    let v2 = version == MessageVersion::V2;
    let mut lines = Vec::new();
    for (n, item) in order.order_items.iter().enumerate() {
        let quantity = quantity_to_ship(item);
        if quantity == 0 {
            continue;
        }
        let field = |name: &str| format!("orderItems[{n}].{name}");
        let order_item_id = OrderItemId::new(item.order_item_id.as_str())
            .map_err(|_| invalid(&field("orderItemId"), "is not an order item id (digits)"))?;
        let sku = item
            .product
            .seller_sku
            .as_deref()
            .ok_or_else(|| missing(&field("product.sellerSku"), AMAZON_HINT))
            .and_then(|s| {
                Sku::new(s).map_err(|_| {
                    invalid(
                        &field("product.sellerSku"),
                        "is not a SKU the WMS can take (1-40 characters, no control characters or surrounding spaces)",
                    )
                })
            })?;
        let unit_price = match item
            .product
            .price
            .as_ref()
            .and_then(|p| p.unit_price.as_ref())
        {
            Some(m) => Some(money(m).ok_or_else(|| {
                invalid(
                    &field("product.price.unitPrice.amount"),
                    "is not a plain decimal number",
                )
            })?),
            None => None,
        };
        let line_price = match &unit_price {
            Some(unit) => Some(unit.times(quantity).ok_or_else(|| {
                invalid(
                    &field("product.price.unitPrice.amount"),
                    "has too many digits to multiply exactly",
                )
            })?),
            None => None,
        };
        lines.push(OrderLine {
            order_item_id,
            sku,
            asin: plain(&item.product.asin),
            title: plain(&item.product.title),
            quantity,
            quantity_ordered: item.quantity_ordered.max(quantity),
            unit_price,
            line_price,
            requirements: if v2 { requirements(item) } else { None },
        });
    }
    if lines.is_empty() {
        return Err(OrdersError::NothingToShip {
            order_id: order_id.to_string(),
        });
    }

    let fulfillment = order.fulfillment.as_ref();
    let ship_by = fulfillment.and_then(|f| f.ship_by_window.as_ref());
    let deliver_by = fulfillment.and_then(|f| f.deliver_by_window.as_ref());
    let shipping = v2.then(|| shipping(order, settings, &marketplace_id));
    let created = OrderCreated {
        schema: version,
        message_id: OrderCreated::message_id_for(&settings.seller_id, &amazon_order_id),
        seller_id: settings.seller_id.clone(),
        client_code: settings.client_code.clone(),
        order_number: settings.wms_order_number(&amazon_order_id),
        amazon_order_id,
        marketplace_id,
        purchase_date: order.created_time,
        earliest_ship_date: ship_by.and_then(|w| w.earliest_date_time),
        latest_ship_date: ship_by.and_then(|w| w.latest_date_time),
        earliest_delivery_date: deliver_by.and_then(|w| w.earliest_date_time),
        latest_delivery_date: deliver_by.and_then(|w| w.latest_date_time),
        ship_service_level: fulfillment.and_then(|f| plain(&f.fulfillment_service_level)),
        flags: OrderFlags {
            prime: order.has_program("PRIME"),
            business: order.has_program("AMAZON_BUSINESS"),
            premium: order.has_program("PREMIUM"),
            preorder: order.has_program("PREORDER"),
        },
        programs: order
            .programs
            .iter()
            .filter(|p| !p.trim().is_empty())
            .cloned()
            .collect(),
        shipping,
        ship_to,
        buyer: buyer.filter(|b| !b.is_empty()),
        lines,
    };
    let message = OrderMessage::from(created);
    message.to_json().map_err(|source| OrdersError::Contract {
        order_id: order_id.to_string(),
        source,
    })?;
    Ok(message)
}

fn ship_to(
    a: &CustomerAddress,
    missing: &dyn Fn(&str, &'static str) -> OrdersError,
) -> Result<Address, OrdersError> {
    let required = |value: &Option<Pii<String>>, field: &str, hint| {
        text(value).ok_or_else(|| missing(&format!("recipient.deliveryAddress.{field}"), hint))
    };
    Ok(Address {
        name: required(&a.name, "name", RECIPIENT_HINT)?,
        company_name: text(&a.company_name),
        address_line1: required(&a.address_line1, "addressLine1", RECIPIENT_HINT)?,
        address_line2: text(&a.address_line2),
        address_line3: text(&a.address_line3),
        city: required(&a.city, "city", AMAZON_HINT)?,
        district_or_county: text(&a.district_or_county),
        state_or_region: text(&a.state_or_region),
        municipality: text(&a.municipality),
        postal_code: text(&a.postal_code),
        country_code: plain(&a.country_code)
            .map(|c| c.to_ascii_uppercase())
            .ok_or_else(|| missing("recipient.deliveryAddress.countryCode", AMAZON_HINT))?,
        phone: text(&a.phone),
        address_type: plain(&a.address_type),
    })
}

/// Buyer text, trimmed; Amazon sends `""` for parts an address lacks.
fn text(value: &Option<Pii<String>>) -> Option<Pii<String>> {
    let v = value.as_ref()?.expose().trim();
    (!v.is_empty()).then(|| Pii::new(v.to_string()))
}

fn plain(value: &Option<String>) -> Option<String> {
    let v = value.as_deref()?.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn money(m: &AmazonMoney) -> Option<Money> {
    Some(Money {
        amount: Decimal::new(m.amount.trim())?,
        currency: m.currency_code.trim().to_ascii_uppercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{model_orders, order, parse, seller, with};
    use chrono::{TimeZone, Utc};
    use serde_json::{Value, json};
    use wms::Contract;

    fn created(message: &OrderMessage) -> &OrderCreated {
        match message {
            OrderMessage::Created(c) => c,
            _ => panic!("expected order.created"),
        }
    }

    #[test]
    fn the_model_example_maps_field_by_field() {
        let message = to_order_message(&order("171-9876543-2109876"), &seller()).unwrap();
        let m = created(&message);
        assert_eq!(m.message_id, "A3EXAMPLESELLER:171-9876543-2109876:created");
        assert_eq!(m.seller_id.as_str(), "A3EXAMPLESELLER");
        assert_eq!(m.client_code.as_str(), "ACME");
        assert_eq!(m.order_number, "MG171-9876543-2109876");
        assert_eq!(m.amazon_order_id.as_str(), "171-9876543-2109876");
        assert_eq!(m.marketplace_id.as_str(), "A2Q3Y263D00KWC");
        assert_eq!(
            m.purchase_date,
            Utc.with_ymd_and_hms(2024, 12, 24, 20, 30, 0).unwrap()
        );
        assert_eq!(
            m.latest_ship_date,
            Some(Utc.with_ymd_and_hms(2024, 12, 27, 23, 59, 59).unwrap())
        );
        assert_eq!(
            m.latest_delivery_date,
            Some(Utc.with_ymd_and_hms(2024, 12, 31, 23, 59, 59).unwrap())
        );
        assert_eq!(m.ship_service_level.as_deref(), Some("STANDARD"));
        assert_eq!(
            m.flags,
            OrderFlags {
                prime: true,
                ..OrderFlags::default()
            }
        );
        assert_eq!(m.programs, ["PRIME"]);

        let a = &m.ship_to;
        assert_eq!(a.name.expose(), "Maria Silva Santos");
        assert_eq!(a.address_line1.expose(), "Rua das Flores, 123");
        assert_eq!(a.address_line2.as_ref().unwrap().expose(), "Apartamento 45");
        // Amazon sends "" for parts the address lacks: they are left out.
        assert!(a.address_line3.is_none() && a.district_or_county.is_none());
        assert!(a.municipality.is_none());
        assert_eq!(a.city.expose(), "São Paulo");
        assert_eq!(a.state_or_region.as_ref().unwrap().expose(), "SP");
        assert_eq!(a.postal_code.as_ref().unwrap().expose(), "01234-567");
        assert_eq!(a.country_code, "BR");
        assert_eq!(a.phone.as_ref().unwrap().expose(), "+55 11 98765-4321");
        assert_eq!(a.address_type.as_deref(), Some("RESIDENTIAL"));

        let b = m.buyer.as_ref().unwrap();
        assert_eq!(b.name.as_ref().unwrap().expose(), "Maria Silva Santos");
        assert_eq!(
            b.email.as_ref().unwrap().expose(),
            "buyer-email@marketplace.amazon.com.br"
        );

        assert_eq!(m.lines.len(), 1);
        let l = &m.lines[0];
        assert_eq!(l.order_item_id.as_str(), "17198765432109");
        assert_eq!(l.sku.as_str(), "ECHO-DOT-4-BR-PRETO");
        assert_eq!(l.asin.as_deref(), Some("B08N5WRWNW"));
        assert!(l.title.as_deref().unwrap().starts_with("Echo Dot"));
        assert_eq!((l.quantity, l.quantity_ordered), (1, 1));
        let unit = l.unit_price.as_ref().unwrap();
        assert_eq!(
            (unit.amount.as_str(), unit.currency.as_str()),
            ("299.90", "BRL")
        );
        assert_eq!(l.line_price.as_ref().unwrap().amount.as_str(), "299.90");
    }

    #[test]
    fn the_order_number_carries_the_sellers_prefix() {
        let o = order("171-9876543-2109876");
        let mut s = seller();
        assert_eq!(
            to_order_message(&o, &s).unwrap().order_number(),
            "MG171-9876543-2109876"
        );
        s.order_prefix = "B2".into();
        assert_eq!(
            to_order_message(&o, &s).unwrap().order_number(),
            "B2171-9876543-2109876"
        );
        s.order_prefix.clear();
        let m = to_order_message(&o, &s).unwrap();
        assert_eq!(m.order_number(), "171-9876543-2109876");
        // The id the ledger and Amazon know never carries the prefix.
        assert_eq!(m.amazon_order_id().as_str(), "171-9876543-2109876");
    }

    #[test]
    fn business_orders_and_orders_without_buyer_data() {
        let m = to_order_message(&order("171-2345678-9012345"), &seller()).unwrap();
        let c = created(&m);
        assert!(c.flags.business && !c.flags.prime);
        assert!(c.buyer.is_some());

        // The model's US pick-up order comes without the BUYER role.
        let m = to_order_message(&order("114-9876543-1234567"), &seller()).unwrap();
        assert!(created(&m).buyer.is_none());
        let json: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
        assert!(json.get("buyer").is_none(), "absent, not null");

        let empty = with("171-9876543-2109876", |v| {
            v["buyer"] = json!({ "buyerName": " " })
        });
        assert!(
            created(&to_order_message(&empty, &seller()).unwrap())
                .buyer
                .is_none()
        );
    }

    #[test]
    fn partly_shipped_lines_send_what_remains_and_price_it_exactly() {
        let o = with("123-4567890-1234567", |v| {
            v["fulfillment"]["fulfillmentStatus"] = json!("PARTIALLY_SHIPPED");
            v["orderItems"][0]["fulfillment"]["quantityFulfilled"] = json!(1);
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(1);
            // Fully shipped already: not sent.
            v["orderItems"][1]["fulfillment"]["quantityFulfilled"] = json!(1);
            v["orderItems"][1]["fulfillment"]["quantityUnfulfilled"] = json!(0);
        });
        let m = to_order_message(&o, &seller()).unwrap();
        let lines = &created(&m).lines;
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].sku.as_str(), "ECHO-DOT-4-CHARCOAL");
        assert_eq!((lines[0].quantity, lines[0].quantity_ordered), (1, 2));
        assert_eq!(
            lines[0].line_price.as_ref().unwrap().amount.as_str(),
            "49.99"
        );

        let three = with("123-4567890-1234567", |v| {
            v["orderItems"][0]["fulfillment"]["quantityFulfilled"] = json!(0);
            v["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = json!(3);
            v["orderItems"][0]["quantityOrdered"] = json!(3);
        });
        let m = to_order_message(&three, &seller()).unwrap();
        assert_eq!(
            created(&m).lines[0]
                .line_price
                .as_ref()
                .unwrap()
                .amount
                .as_str(),
            "149.97"
        );

        let done = with("123-4567890-1234567", |_| {}); // the model's SHIPPED order
        assert!(matches!(
            to_order_message(&done, &seller()),
            Err(OrdersError::NothingToShip { .. })
        ));
    }

    #[test]
    fn missing_buyer_roles_are_typed_errors_naming_order_and_field() {
        type Case = (fn(&mut Value), &'static str);
        let cases: Vec<Case> = vec![
            (
                |v| {
                    v.as_object_mut().unwrap().remove("recipient");
                },
                "recipient.deliveryAddress",
            ),
            (
                |v| {
                    let a = v["recipient"]["deliveryAddress"].as_object_mut().unwrap();
                    a.remove("name");
                },
                "recipient.deliveryAddress.name",
            ),
            (
                |v| v["recipient"]["deliveryAddress"]["addressLine1"] = json!(""),
                "recipient.deliveryAddress.addressLine1",
            ),
            (
                |v| {
                    let a = v["recipient"]["deliveryAddress"].as_object_mut().unwrap();
                    a.remove("city");
                },
                "recipient.deliveryAddress.city",
            ),
            (
                |v| {
                    let p = v["orderItems"][0]["product"].as_object_mut().unwrap();
                    p.remove("sellerSku");
                },
                "orderItems[0].product.sellerSku",
            ),
            (
                |v| {
                    let s = v["salesChannel"].as_object_mut().unwrap();
                    s.remove("marketplaceId");
                },
                "salesChannel.marketplaceId",
            ),
        ];
        for (change, field) in cases {
            let o = with("171-9876543-2109876", change);
            let err = to_order_message(&o, &seller()).unwrap_err();
            match &err {
                OrdersError::Missing {
                    order_id, field: f, ..
                } => {
                    assert_eq!(order_id, "171-9876543-2109876");
                    assert_eq!(f, field);
                }
                other => panic!("{field}: expected Missing, got {other}"),
            }
            let text = err.to_string();
            assert!(
                text.contains("171-9876543-2109876") && text.contains(field),
                "{text}"
            );
            for pii in ["Maria", "Rua das Flores", "98765-4321", "01234-567"] {
                assert!(!text.contains(pii), "{text} quotes {pii}");
            }
            assert!(err.is_retryable());
        }
        let err = to_order_message(
            &with("171-9876543-2109876", |v| {
                v["recipient"]["deliveryAddress"] =
                    json!({ "city": "São Paulo", "countryCode": "BR" })
            }),
            &seller(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("Direct-to-Consumer Delivery"),
            "{err}"
        );

        let bad_price = with("171-9876543-2109876", |v| {
            v["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] = json!("2,99")
        });
        let err = to_order_message(&bad_price, &seller()).unwrap_err();
        assert!(
            matches!(&err, OrdersError::Invalid { field, .. } if field == "orderItems[0].product.price.unitPrice.amount"),
            "{err}"
        );
    }

    /// Every example order of the model, made an open merchant order
    /// (unshipped, nothing fulfilled).
    fn open_model_orders() -> Vec<Order> {
        model_orders()
            .into_iter()
            .map(|mut json| {
                json["fulfillment"]["fulfillmentStatus"] = json!("UNSHIPPED");
                for item in json["orderItems"].as_array_mut().unwrap() {
                    let ordered = item["quantityOrdered"].clone();
                    item["fulfillment"]["quantityFulfilled"] = json!(0);
                    item["fulfillment"]["quantityUnfulfilled"] = ordered;
                }
                parse(json)
            })
            .collect()
    }

    #[test]
    fn every_model_example_maps_to_a_message_the_wms_schema_accepts() {
        let mut mapped = 0;
        for o in open_model_orders() {
            let message = to_order_message(&o, &seller())
                .unwrap_or_else(|e| panic!("order {}: {e}", o.order_id));
            let value = serde_json::to_value(&message).unwrap();
            Contract::OrderMessage
                .validate(&value)
                .unwrap_or_else(|e| panic!("order {}: {e}", o.order_id));
            assert_eq!(
                OrderMessage::parse(&message.to_json().unwrap()).unwrap(),
                message
            );
            mapped += 1;
        }
        assert!(mapped >= 8);
    }

    fn v2(mut s: SellerSettings) -> SellerSettings {
        s.order_message_version = 2;
        s
    }

    #[test]
    fn version_1_is_unchanged_and_version_2_says_how_to_ship() {
        let o = order("171-9876543-2109876");
        let m = to_order_message(&o, &seller()).unwrap();
        let c = created(&m);
        assert_eq!(m.version(), MessageVersion::V1);
        assert!(c.shipping.is_none() && c.lines[0].requirements.is_none());

        let m = to_order_message(&o, &v2(seller())).unwrap();
        assert_eq!(m.version(), MessageVersion::V2);
        let shipping = created(&m).shipping.clone().unwrap();
        assert_eq!(shipping.service_level.as_deref(), Some("STANDARD"));
        assert_eq!(shipping.wms_service.as_deref(), Some("STANDARD"));
        assert_eq!(shipping.mapping, ServiceMapping::Default);
        // The model's PRIME order is Seller Fulfilled Prime: Buy Shipping by the ship-by date.
        assert!(shipping.buy_shipping.required);
        assert_eq!(shipping.buy_shipping.reasons, ["PRIME"]);
        assert_eq!(
            shipping.buy_shipping.ship_by,
            Some(Utc.with_ymd_and_hms(2024, 12, 27, 23, 59, 59).unwrap())
        );
        let json: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
        assert_eq!(
            json["shipping"]["buy_shipping"]["ship_by"],
            "2024-12-27T23:59:59Z"
        );
    }

    #[test]
    fn the_sellers_table_maps_per_marketplace_and_unmapped_is_explicit() {
        use domain::shipping::MethodRow;
        let mut s = v2(seller());
        s.shipping.methods = vec![
            MethodRow {
                amazon: "Standard".into(),
                marketplace: Some(MarketplaceId::new("A2Q3Y263D00KWC").unwrap()),
                wms: Some("CORREIOS-PAC".into()),
                shipping_method: None,
                carrier_code: None,
            },
            MethodRow {
                amazon: "NEXT_DAY".into(),
                marketplace: None,
                wms: None,
                shipping_method: None,
                carrier_code: None,
            },
        ];
        let m = to_order_message(&order("171-9876543-2109876"), &s).unwrap();
        let shipping = created(&m).shipping.clone().unwrap();
        assert_eq!(shipping.wms_service.as_deref(), Some("CORREIOS-PAC"));
        assert_eq!(shipping.mapping, ServiceMapping::Seller);

        let next_day = with("171-9876543-2109876", |v| {
            v["fulfillment"]["fulfillmentServiceLevel"] = json!("NEXT_DAY");
            v["programs"] = json!([]);
        });
        let m = to_order_message(&next_day, &s).unwrap();
        let shipping = created(&m).shipping.clone().unwrap();
        assert_eq!(shipping.mapping, ServiceMapping::Unmapped);
        assert!(shipping.wms_service.is_none());
        assert!(!shipping.buy_shipping.required && shipping.buy_shipping.ship_by.is_none());
        let json: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
        assert_eq!(json["shipping"]["mapping"], "unmapped");
        assert!(json["shipping"].get("wms_service").is_none());

        let none = with("171-9876543-2109876", |v| {
            v["fulfillment"]
                .as_object_mut()
                .unwrap()
                .remove("fulfillmentServiceLevel");
        });
        let m = to_order_message(&none, &s).unwrap();
        let shipping = created(&m).shipping.clone().unwrap();
        assert_eq!(shipping.mapping, ServiceMapping::Unmapped);
        assert!(shipping.service_level.is_none());
    }

    #[test]
    fn lines_say_what_amazon_asks_of_them() {
        // The model's order with a Transparency item and every shipping
        // constraint, made open.
        let o = with("123-4567890-1234567", |v| {
            v["fulfillment"]["fulfillmentStatus"] = json!("UNSHIPPED");
            for item in v["orderItems"].as_array_mut().unwrap() {
                item["fulfillment"]["quantityFulfilled"] = json!(0);
                item["fulfillment"]["quantityUnfulfilled"] = item["quantityOrdered"].clone();
            }
            v["orderItems"][1]["fulfillment"]["packing"] =
                json!({"serialNumberRequirement": {"requirementType": "REQUIRED"}});
        });
        let m = to_order_message(&o, &v2(seller())).unwrap();
        let lines = &created(&m).lines;
        let first = lines[0].requirements.clone().unwrap();
        assert!(first.transparency_codes && !first.serial_numbers);
        assert_eq!(
            first.shipping_constraints,
            [
                "PALLET_DELIVERY",
                "CASH_ON_DELIVERY",
                "SIGNATURE_CONFIRMATION",
                "RECIPIENT_IDENTITY_VERIFICATION",
                "RECIPIENT_AGE_VERIFICATION"
            ]
        );
        let second = lines[1].requirements.clone().unwrap();
        assert!(second.serial_numbers && !second.transparency_codes);
        m.to_json().unwrap();
    }

    #[test]
    fn every_model_example_maps_to_a_version_2_message_the_schema_accepts() {
        for o in open_model_orders() {
            let message = to_order_message(&o, &v2(seller()))
                .unwrap_or_else(|e| panic!("order {}: {e}", o.order_id));
            assert_eq!(
                OrderMessage::parse(&message.to_json().unwrap()).unwrap(),
                message
            );
        }
    }

    #[test]
    fn a_logged_message_shows_no_buyer_data() {
        let m = to_order_message(&order("171-9876543-2109876"), &seller()).unwrap();
        let debug = format!("{m:?}");
        for pii in [
            "Maria",
            "Rua das Flores",
            "Apartamento",
            "São Paulo",
            "01234-567",
            "98765-4321",
            "buyer-email",
        ] {
            assert!(!debug.contains(pii), "{pii} in {debug}");
        }
    }
}
