//! FHIRPath 2.1 aggregate helpers: `sum()`, `min()`, `max()`, `avg()`
//! (shorthands for common `aggregate()` uses).

use super::ops::compare;
use super::{coll, Coll};
use super::{strip_nulls, Call, R};
use crate::fhirpath::decimal::Decimal;
use crate::fhirpath::parser::BinOp;
use crate::fhirpath::value::Item;
use std::cmp::Ordering;

fn add(
    a: Item<'static>,
    b: Item<'static>,
    pos: usize,
) -> Result<Item<'static>, crate::fhirpath::FhirPathError> {
    let sum = super::ops::arith(BinOp::Add, a, b, pos)?;
    sum.into_iter()
        .next()
        .ok_or_else(|| crate::fhirpath::FhirPathError::exec(pos, "sum() of incompatible values"))
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    if !matches!(name, "sum" | "min" | "max" | "avg") {
        return None;
    }
    Some((|| {
        // A value-less item makes the aggregate unknown (as in fhirpath.js).
        if strip_nulls(c.inp).len() != c.inp.len() {
            return Ok(coll![]);
        }
        let mut vals = Coll::new();
        for it in c.inp {
            match it.to_system() {
                Some(v @ (Item::Integer(_) | Item::Decimal(_) | Item::Quantity(_))) => vals.push(v),
                Some(v @ (Item::String(_) | Item::Temporal(_)))
                    if matches!(name, "min" | "max") =>
                {
                    vals.push(v)
                }
                _ => return Err(c.err(format!("{name}() needs numbers or quantities"))),
            }
        }
        let mut iter = vals.into_iter();
        let Some(first) = iter.next() else {
            return Ok(coll![]);
        };
        let mut count = 1i64;
        let mut acc = first;
        for v in iter {
            count += 1;
            acc = match name {
                "min" | "max" => {
                    let o = compare(&v, &acc, c.pos)?
                        .ok_or_else(|| c.err(format!("{name}() of incomparable values")))?;
                    let better = if name == "min" {
                        o == Ordering::Less
                    } else {
                        o == Ordering::Greater
                    };
                    if better {
                        v
                    } else {
                        acc
                    }
                }
                _ => add(acc, v, c.pos)?,
            };
        }
        if name == "avg" {
            let n = Item::Decimal(Decimal::from_i64(count));
            let acc = match acc {
                Item::Integer(i) => Item::Decimal(Decimal::from_i64(i)),
                other => other,
            };
            return super::ops::arith(BinOp::Div, acc, n, c.pos);
        }
        Ok(coll![acc])
    })())
}
