//! Precision functions from the FHIRPath continuous build that the R4 test
//! suite exercises: lowBoundary, highBoundary, precision, comparable.

use super::coll;
use super::{Call, R};
use crate::fhirpath::datetime::{
    days_in_month, Temporal, TemporalKind, DAY, HOUR, MILLI, MINUTE, MONTH, SECOND, YEAR,
};
use crate::fhirpath::decimal::Decimal;
use crate::fhirpath::quantity::Quantity;
use crate::fhirpath::value::Item;

/// The largest precision a decimal boundary may ask for.
const MAX_DECIMAL_PRECISION: i64 = 28;

fn dec_boundary(d: Decimal, scale: u32, precision: i64, high: bool) -> Option<Decimal> {
    if !(0..=MAX_DECIMAL_PRECISION).contains(&precision) {
        return None;
    }
    // Half a unit in the last written place.
    let half = Decimal::new(5, scale + 1);
    let edge = if high { d.add(half)? } else { d.sub(half)? };
    let p = precision as u32;
    let scaled = edge.mul(Decimal::new(10i128.pow(p), 0))?;
    let whole = if high {
        scaled.ceiling()
    } else {
        scaled.floor()
    };
    let out = whole.div_trunc(Decimal::from_i64(1))?;
    let m = out.to_i64()? as i128;
    Some(Decimal::new(m, p))
}

fn temporal_boundary(t: &Temporal, precision: Option<i64>, high: bool) -> Option<Temporal> {
    let digits = precision.unwrap_or(match t.kind {
        TemporalKind::Time => 9,
        // Dates widen to full date-times (so `date.lowBoundary() <
        // dateTime.highBoundary()` compares at one precision).
        TemporalKind::Date => 17,
        TemporalKind::DateTime => 17,
    });
    let target = match (t.kind, digits) {
        (TemporalKind::Time, 2) => HOUR,
        (TemporalKind::Time, 4) => MINUTE,
        (TemporalKind::Time, 6) => SECOND,
        (TemporalKind::Time, 9) => MILLI,
        (TemporalKind::Time, _) => return None,
        (_, 4) => YEAR,
        (_, 6) => MONTH,
        (_, 8) => DAY,
        (_, 10) => HOUR,
        (_, 12) => MINUTE,
        (_, 14) => SECOND,
        (_, 17) => MILLI,
        _ => return None,
    };
    let mut out = t.clone();
    if t.kind == TemporalKind::Date && target > DAY {
        out.kind = TemporalKind::DateTime;
    }
    let maxes = |i: usize, c: &[i64; 7]| -> i64 {
        match i {
            MONTH => 12,
            DAY => days_in_month(c[YEAR], c[MONTH]),
            HOUR => 23,
            MINUTE | SECOND => 59,
            _ => 999,
        }
    };
    for i in (t.precision + 1)..=target {
        out.c[i] = if high {
            maxes(i, &out.c)
        } else {
            match i {
                MONTH | DAY => 1,
                _ => 0,
            }
        };
    }
    out.precision = target;
    if out.kind == TemporalKind::DateTime {
        if target <= DAY {
            out.kind = TemporalKind::Date;
            out.tz = None;
        } else if out.tz.is_none() {
            out.tz = Some(if high { -12 * 60 } else { 14 * 60 });
        }
    }
    out.frac_digits = 3;
    Some(out)
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    Some(match name {
        "lowBoundary" | "highBoundary" => (|| {
            let high = name == "highBoundary";
            let Some(v) = c.single()? else {
                return Ok(coll![]);
            };
            let p = c.int_arg(0)?;
            let dec = |d: Decimal, default_scale: u32| {
                dec_boundary(d, default_scale, p.unwrap_or(8), high)
            };
            Ok(match v {
                Item::Integer(i) => dec(Decimal::from_i64(i), 0).map(Item::Decimal),
                Item::Decimal(d) => dec(d, d.scale()).map(Item::Decimal),
                Item::Quantity(mut q) => dec(q.value, q.value.scale()).map(|v| {
                    q.value = v;
                    Item::Quantity(q)
                }),
                Item::Temporal(t) => {
                    temporal_boundary(&t, p, high).map(|t| Item::Temporal(Box::new(t)))
                }
                _ => None,
            }
            .into_iter()
            .collect())
        })(),
        "precision" => (|| {
            let Some(v) = c.single()? else {
                return Ok(coll![]);
            };
            Ok(match v {
                Item::Decimal(d) => coll![Item::Integer(d.scale() as i64)],
                Item::Integer(_) => coll![Item::Integer(0)],
                Item::Temporal(t) => coll![Item::Integer(t.precision_digits())],
                _ => coll![],
            })
        })(),
        "comparable" => (|| {
            let q = |v: Option<Item<'static>>| match v {
                Some(Item::Quantity(q)) => Some(*q),
                Some(Item::Integer(i)) => Some(Quantity {
                    value: Decimal::from_i64(i),
                    unit: "1".into(),
                }),
                Some(Item::Decimal(d)) => Some(Quantity {
                    value: d,
                    unit: "1".into(),
                }),
                _ => None,
            };
            let a = q(c.single()?.and_then(|v| v.to_system()));
            let b = q(c.arg(0)?.first().and_then(|i| i.to_system()));
            Ok(match (a, b) {
                (Some(a), Some(b)) => coll![Item::Boolean(a.convert_to(&b.unit).is_some())],
                (None, Some(_)) if !c.inp.is_empty() => coll![Item::Boolean(false)],
                _ => coll![],
            })
        })(),
        _ => return None,
    })
}
