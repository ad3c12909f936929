//! Picking an offer (pure): by rate id, or by rule — the cheapest that
//! delivers by the order's promise, the cheapest, the fastest, or a named
//! service — among the offers that can print the wanted label format.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use wms::label::{LabelFormat, SelectRule, Selection};

use crate::error::LabelError;
use crate::model::QuotedRate;

/// Cheaper first; an amount that does not parse last.
fn price_cmp(a: &QuotedRate, b: &QuotedRate) -> Ordering {
    let amount = |r: &QuotedRate| spapi::models::shipping::Decimal::new(r.price.amount.as_str());
    match (amount(a), amount(b)) {
        (Some(x), Some(y)) => x.cmp_value(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn delivery_end(r: &QuotedRate) -> Option<DateTime<Utc>> {
    r.delivery_window.as_ref().and_then(|w| w.end)
}

/// Earliest delivery first; unknown delivery last.
fn delivery_cmp(a: &QuotedRate, b: &QuotedRate) -> Ordering {
    match (delivery_end(a), delivery_end(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The offer to buy. A rule chooses among offers that need additional
/// inputs only when the request carries some (`with_inputs`).
pub fn choose<'a>(
    rates: &'a [QuotedRate],
    rate_id: Option<&str>,
    selection: Option<&Selection>,
    format: LabelFormat,
    deliver_by: Option<DateTime<Utc>>,
    with_inputs: bool,
) -> Result<&'a QuotedRate, LabelError> {
    if let Some(id) = rate_id {
        let rate = rates.iter().find(|r| r.rate_id == id).ok_or_else(|| {
            LabelError::NoMatchingRate(format!("rate {id} is not among the offers"))
        })?;
        if !rate.prints(format) {
            return Err(LabelError::UnsupportedLabelFormat(format!(
                "{} ({}) cannot print {} labels; it prints {}: choose one of those formats or another offer",
                rate.service_name,
                rate.service_id,
                format.as_str(),
                rate.label_formats()
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        return Ok(rate);
    }
    let Some(selection) = selection else {
        return Err(LabelError::Invalid(
            "give `rate_id` or `select` to say which offer to buy".into(),
        ));
    };
    let printable: Vec<&QuotedRate> = rates
        .iter()
        .filter(|r| r.prints(format) && (with_inputs || !r.requires_additional_inputs))
        .collect();
    if printable.is_empty() {
        return Err(LabelError::NoMatchingRate(format!(
            "none of the {} offer(s) can print {} labels{}",
            rates.len(),
            format.as_str(),
            if with_inputs {
                ""
            } else {
                " without additional inputs (send `additional_inputs` to consider those that need them)"
            }
        )));
    }
    let cheapest = |set: &[&'a QuotedRate]| -> Option<&'a QuotedRate> {
        set.iter()
            .copied()
            .min_by(|a, b| price_cmp(a, b).then_with(|| delivery_cmp(a, b)))
    };
    let chosen = match selection.rule {
        SelectRule::Cheapest => cheapest(&printable),
        SelectRule::Fastest => printable
            .iter()
            .copied()
            .min_by(|a, b| delivery_cmp(a, b).then_with(|| price_cmp(a, b))),
        SelectRule::CheapestOnTime => match deliver_by {
            None => cheapest(&printable),
            Some(by) => {
                let on_time: Vec<&QuotedRate> = printable
                    .iter()
                    .copied()
                    .filter(|r| r.on_time(Some(by)) == Some(true))
                    .collect();
                if on_time.is_empty() {
                    return Err(LabelError::NoMatchingRate(format!(
                        "no offer delivers by the order's promised date {by}: choose one explicitly (rate_id) or use rule \"fastest\""
                    )));
                }
                cheapest(&on_time)
            }
        },
        SelectRule::Service => {
            let wanted = selection.service_id.as_deref().unwrap_or_default();
            let chosen = printable.iter().copied().find(|r| r.service_id == wanted);
            if chosen.is_none() {
                return Err(LabelError::NoMatchingRate(format!(
                    "service {wanted} is not offered for this shipment in {} (offered: {})",
                    format.as_str(),
                    printable
                        .iter()
                        .map(|r| r.service_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            chosen
        }
    };
    chosen.ok_or_else(|| LabelError::NoMatchingRate("no offer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FormatOption, Size};
    use wms::label::Window;
    use wms::{Decimal, Money};

    fn t(day: u32, hour: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 9, day, hour, 0, 0).unwrap()
    }

    fn rate(
        id: &str,
        price: &str,
        delivered: DateTime<Utc>,
        formats: &[LabelFormat],
    ) -> QuotedRate {
        QuotedRate {
            rate_id: id.into(),
            carrier_id: "C".into(),
            carrier_name: "Carrier".into(),
            service_id: format!("S-{id}"),
            service_name: format!("Service {id}"),
            price: Money {
                amount: Decimal::new(price).unwrap(),
                currency: "EUR".into(),
            },
            pickup_window: None,
            delivery_window: Some(Window {
                start: None,
                end: Some(delivered),
            }),
            formats: formats
                .iter()
                .map(|f| FormatOption {
                    format: *f,
                    size: Size {
                        width: "4".into(),
                        length: "6".into(),
                        unit: "INCH".into(),
                    },
                    dpis: vec![203],
                    page_layouts: vec![],
                })
                .collect(),
            requires_additional_inputs: false,
            additional_inputs_schema: None,
        }
    }

    fn rule(rule: SelectRule) -> Selection {
        Selection {
            rule,
            service_id: None,
        }
    }

    use LabelFormat::*;

    /// Offers: A cheap and slow, B mid, C dear and fast, D cheapest but no ZPL.
    fn offers() -> Vec<QuotedRate> {
        vec![
            rate("A", "4.90", t(5, 20), &[Pdf, Png, Zpl]),
            rate("B", "5.59", t(4, 20), &[Pdf, Zpl]),
            rate("C", "13.50", t(3, 20), &[Pdf, Png, Zpl]),
            rate("D", "4.10", t(5, 20), &[Pdf]),
        ]
    }

    #[test]
    fn rules_pick_as_documented() {
        let o = offers();
        // (rule, format, promise, expected rate)
        let cases = [
            (rule(SelectRule::Cheapest), Pdf, None, "D"),
            (rule(SelectRule::Cheapest), Zpl, None, "A"),
            (rule(SelectRule::Fastest), Zpl, None, "C"),
            (rule(SelectRule::CheapestOnTime), Zpl, Some(t(4, 23)), "B"),
            (rule(SelectRule::CheapestOnTime), Pdf, Some(t(6, 0)), "D"),
            (rule(SelectRule::CheapestOnTime), Zpl, None, "A"),
            (
                Selection {
                    rule: SelectRule::Service,
                    service_id: Some("S-C".into()),
                },
                Png,
                None,
                "C",
            ),
        ];
        for (sel, format, by, expected) in cases {
            let got = choose(&o, None, Some(&sel), format, by, false).unwrap();
            assert_eq!(got.rate_id, expected, "{sel:?} {format:?} {by:?}");
        }
    }

    #[test]
    fn offers_that_need_inputs_are_chosen_only_with_inputs() {
        let mut o = offers();
        o[3].requires_additional_inputs = true; // D, the cheapest PDF offer
        let cheapest = rule(SelectRule::Cheapest);
        let without = choose(&o, None, Some(&cheapest), Pdf, None, false).unwrap();
        assert_eq!(without.rate_id, "A");
        let with = choose(&o, None, Some(&cheapest), Pdf, None, true).unwrap();
        assert_eq!(with.rate_id, "D");
        // Named by id it is what the WMS chose (its inputs are checked later).
        assert_eq!(
            choose(&o, Some("D"), None, Pdf, None, false)
                .unwrap()
                .rate_id,
            "D"
        );
    }

    #[test]
    fn what_cannot_be_met_is_refused_with_a_reason() {
        let o = offers();
        let err = choose(
            &o,
            None,
            Some(&rule(SelectRule::CheapestOnTime)),
            Pdf,
            Some(t(2, 0)),
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("no offer delivers by"), "{err}");
        let err = choose(&o, Some("D"), None, Zpl, None, false).unwrap_err();
        assert!(err.to_string().contains("cannot print ZPL"), "{err}");
        let err = choose(&o, Some("X"), None, Pdf, None, false).unwrap_err();
        assert!(err.to_string().contains("not among"), "{err}");
        let sel = Selection {
            rule: SelectRule::Service,
            service_id: Some("S-D".into()),
        };
        let err = choose(&o, None, Some(&sel), Zpl, None, false).unwrap_err();
        assert!(err.to_string().contains("S-D is not offered"), "{err}");
        assert_eq!(
            choose(&o, Some("B"), None, Zpl, None, false)
                .unwrap()
                .rate_id,
            "B"
        );
    }
}
