//! Operators: equality, comparison, arithmetic, boolean logic, unions.

use super::coll;
use super::{Call, Coll, Ev, Frame, R};
use crate::fhirpath::datetime::{TemporalKind, MILLI, SECOND};
use crate::fhirpath::decimal::Decimal;
use crate::fhirpath::parser::{BinOp, Expr, ExprKind, TypeSpec};
use crate::fhirpath::quantity::{calendar_keyword, Quantity as Q};
use crate::fhirpath::value::Item;
use crate::fhirpath::FhirPathError;
use crate::json::{Node, Value};
use std::cmp::Ordering;

/// Deep equality of JSON values (numbers compared as decimals).
pub(crate) fn json_eq(a: &Node, b: &Node) -> bool {
    if std::ptr::eq(a, b) {
        return true;
    }
    match (&a.value, &b.value) {
        (Value::Number(x), Value::Number(y)) => match (Decimal::parse(x), Decimal::parse(y)) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|m| {
                    y.iter()
                        .any(|n| n.key == m.key && json_eq(&m.value, &n.value))
                })
        }
        (x, y) => x == y,
    }
}

/// Deep equivalence of JSON values: strings compare as `~` does, numbers
/// at the lesser precision, members in any order.
fn json_equiv(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::String(x), Value::String(y)) => normalize_ws(x) == normalize_ws(y),
        (Value::Number(x), Value::Number(y)) => match (Decimal::parse(x), Decimal::parse(y)) {
            (Some(x), Some(y)) => dec_equiv(x, y),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equiv(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|m| {
                    y.iter()
                        .any(|n| n.key == m.key && json_equiv(&m.value, &n.value))
                })
        }
        (x, y) => x == y,
    }
}

/// A number next to a quantity acts as a quantity with unit `'1'`.
type Pair = (Option<Item<'static>>, Option<Item<'static>>);
fn promote(a: Option<Item<'static>>, b: Option<Item<'static>>) -> Pair {
    let q = |v: &Item<'static>| match v {
        Item::Integer(i) => Some(Item::Quantity(Box::new(Q {
            value: Decimal::from_i64(*i),
            unit: "1".into(),
        }))),
        Item::Decimal(d) => Some(Item::Quantity(Box::new(Q {
            value: *d,
            unit: "1".into(),
        }))),
        _ => None,
    };
    match (&a, &b) {
        (Some(x @ (Item::Integer(_) | Item::Decimal(_))), Some(Item::Quantity(_))) => (q(x), b),
        (Some(Item::Quantity(_)), Some(y @ (Item::Integer(_) | Item::Decimal(_)))) => {
            let y = q(y);
            (a, y)
        }
        _ => (a, b),
    }
}

/// `=` on single items; `None` is "unknown" (empty result).
pub(crate) fn equals(a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    // Two strings (the common case: codes, systems, ids) compare without
    // converting either side.
    if let (Some(x), Some(y)) = (a.as_system_str(), b.as_system_str()) {
        return Some(x == y);
    }
    match promote(a.to_system(), b.to_system()) {
        (Some(x), Some(y)) => match (x, y) {
            (Item::Boolean(x), Item::Boolean(y)) => Some(x == y),
            (Item::String(x), Item::String(y)) => Some(x == y),
            (Item::Integer(x), Item::Integer(y)) => Some(x == y),
            (Item::Integer(x), Item::Decimal(y)) | (Item::Decimal(y), Item::Integer(x)) => {
                Some(Decimal::from_i64(x) == y)
            }
            (Item::Decimal(x), Item::Decimal(y)) => Some(x == y),
            (Item::Temporal(x), Item::Temporal(y)) => {
                if (x.kind == TemporalKind::Time) != (y.kind == TemporalKind::Time) {
                    return Some(false);
                }
                x.compare(&y).map(|o| o == Ordering::Equal)
            }
            (Item::Quantity(x), Item::Quantity(y)) => {
                x.compare(&y, true).map(|o| o == Ordering::Equal)
            }
            _ => Some(false),
        },
        (None, None) => match (a.json(), b.json()) {
            (Some(x), Some(y)) => Some(json_eq(x, y)),
            _ => Some(false),
        },
        _ => Some(false),
    }
}

/// Equivalence treats every whitespace character alike and ignores case.
fn normalize_ws(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect::<String>()
        .to_lowercase()
}

/// `~` on single items.
pub(crate) fn equivalent(a: &Item<'_>, b: &Item<'_>) -> bool {
    match (a.to_system(), b.to_system()) {
        (Some(x), Some(y)) => match (x, y) {
            (Item::String(x), Item::String(y)) => normalize_ws(&x) == normalize_ws(&y),
            (Item::Integer(x), Item::Integer(y)) => x == y,
            (Item::Integer(x), Item::Decimal(y)) | (Item::Decimal(y), Item::Integer(x)) => {
                dec_equiv(Decimal::from_i64(x), y)
            }
            (Item::Decimal(x), Item::Decimal(y)) => dec_equiv(x, y),
            (Item::Temporal(x), Item::Temporal(y)) => x.compare(&y) == Some(Ordering::Equal),
            (Item::Quantity(x), Item::Quantity(y)) => match y.convert_to(&x.unit) {
                Some(y) => dec_equiv(x.value, y.value),
                // calendar year/month against UCUM a/mo
                None => x.compare(&y, false) == Some(Ordering::Equal),
            },
            (x, y) => equals(&x, &y) == Some(true),
        },
        (None, None) => matches!((a.json(), b.json()), (Some(x), Some(y)) if json_equiv(x, y)),
        _ => false,
    }
}

fn dec_equiv(x: Decimal, y: Decimal) -> bool {
    let s = x.normalize().scale().min(y.normalize().scale());
    x.round(s) == y.round(s)
}

fn coll_equals(l: &[Item<'_>], r: &[Item<'_>]) -> Option<bool> {
    if l.is_empty() || r.is_empty() {
        return None;
    }
    if l.len() != r.len() {
        return Some(false);
    }
    let mut unknown = false;
    for (a, b) in l.iter().zip(r) {
        match equals(a, b) {
            Some(false) => return Some(false),
            None => unknown = true,
            _ => {}
        }
    }
    if unknown {
        None
    } else {
        Some(true)
    }
}

fn coll_equiv(l: &[Item<'_>], r: &[Item<'_>]) -> bool {
    if l.len() != r.len() {
        return false;
    }
    let mut used = vec![false; r.len()];
    l.iter().all(|a| {
        for (i, b) in r.iter().enumerate() {
            if !used[i] && equivalent(a, b) {
                used[i] = true;
                return true;
            }
        }
        false
    })
}

/// Ordering of two single items; error when the types cannot be compared.
pub(crate) fn compare(
    a: &Item<'_>,
    b: &Item<'_>,
    pos: usize,
) -> Result<Option<Ordering>, FhirPathError> {
    let bad = || FhirPathError::exec(pos, "cannot compare these types");
    let (x, y) = promote(a.to_system(), b.to_system());
    let (x, y) = (x.ok_or_else(bad)?, y.ok_or_else(bad)?);
    Ok(match (x, y) {
        (Item::String(x), Item::String(y)) => Some(x.cmp(&y)),
        (Item::Integer(x), Item::Integer(y)) => Some(x.cmp(&y)),
        (Item::Integer(x), Item::Decimal(y)) => Some(Decimal::from_i64(x).cmp_num(&y)),
        (Item::Decimal(x), Item::Integer(y)) => Some(x.cmp_num(&Decimal::from_i64(y))),
        (Item::Decimal(x), Item::Decimal(y)) => Some(x.cmp_num(&y)),
        (Item::Temporal(x), Item::Temporal(y)) => {
            if (x.kind == TemporalKind::Time) != (y.kind == TemporalKind::Time) {
                return Err(bad());
            }
            x.compare(&y)
        }
        (Item::Quantity(x), Item::Quantity(y)) => x.compare(&y, true),
        _ => return Err(bad()),
    })
}

fn single<'a>(c: &[Item<'a>], pos: usize) -> Result<Option<Item<'a>>, FhirPathError> {
    match &*super::strip_nulls(c) {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(FhirPathError::exec(
            pos,
            "operator requires single items, found a collection",
        )),
    }
}

fn b<'a>(v: Option<bool>) -> Coll<'a> {
    match v {
        Some(v) => coll![Item::Boolean(v)],
        None => Coll::new(),
    }
}

/// Unary minus.
pub(crate) fn negate(v: Coll<'_>, pos: usize) -> R<'_> {
    let Some(it) = single(&v, pos)? else {
        return Ok(coll![]);
    };
    Ok(coll![match it.to_system() {
        Some(Item::Integer(i)) => Item::Integer(
            i.checked_neg()
                .ok_or_else(|| FhirPathError::exec(pos, "arithmetic overflow"))?,
        ),
        Some(Item::Decimal(d)) => Item::Decimal(d.neg()),
        Some(Item::Quantity(mut q)) => {
            q.value = q.value.neg();
            Item::Quantity(q)
        }
        _ => {
            return Err(FhirPathError::exec(
                pos,
                "unary minus needs a number or quantity",
            ));
        }
    }])
}

/// Maps a quantity unit to a calendar unit for date arithmetic.
fn calendar_unit(u: &str) -> Option<&'static str> {
    calendar_keyword(u).or(match u {
        "d" => Some("day"),
        "wk" => Some("week"),
        "h" => Some("hour"),
        "min" => Some("minute"),
        "s" => Some("second"),
        "ms" => Some("millisecond"),
        _ => None,
    })
}

pub(crate) fn arith<'a>(op: BinOp, l: Item<'static>, r: Item<'static>, pos: usize) -> R<'a> {
    let err = || {
        FhirPathError::exec(
            pos,
            format!("operator {op:?} cannot be applied to these types"),
        )
    };
    let over = || FhirPathError::exec(pos, "arithmetic overflow");
    use Item::*;
    let out = match (op, l, r) {
        (BinOp::Add, String(a), String(b)) => String(a + &b),
        (BinOp::Add, Integer(a), Integer(b)) => Integer(a.checked_add(b).ok_or_else(over)?),
        (BinOp::Sub, Integer(a), Integer(b)) => Integer(a.checked_sub(b).ok_or_else(over)?),
        (BinOp::Mul, Integer(a), Integer(b)) => Integer(a.checked_mul(b).ok_or_else(over)?),
        (BinOp::IntDiv, Integer(a), Integer(b)) => match a.checked_div(b) {
            Some(v) => Integer(v),
            None if b == 0 => return Ok(coll![]),
            None => return Err(over()),
        },
        (BinOp::Mod, Integer(a), Integer(b)) => match a.checked_rem(b) {
            Some(v) => Integer(v),
            None if b == 0 => return Ok(coll![]),
            None => return Err(over()),
        },
        (BinOp::Add, q @ Quantity(_), t @ Temporal(_)) => return arith(op, t, q, pos),
        (BinOp::Add | BinOp::Sub, Temporal(t), Quantity(q)) => {
            let unit = calendar_unit(&q.unit).ok_or_else(|| {
                FhirPathError::exec(pos, format!("cannot add '{}' to a date/time", q.unit))
            })?;
            let n = q.value.truncate().to_i64().ok_or_else(over)?;
            let n = if op == BinOp::Sub { -n } else { n };
            let mut t = t;
            if unit == "millisecond" && n % 1000 != 0 && t.precision == SECOND {
                // Milliseconds make a seconds-precision value more precise.
                t.precision = MILLI;
            }
            match t.add(n, unit) {
                Some(v) => Temporal(Box::new(v)),
                None => {
                    return Err(FhirPathError::exec(
                        pos,
                        "date/time arithmetic out of range",
                    ))
                }
            }
        }
        (BinOp::Add | BinOp::Sub, Quantity(a), Quantity(b)) => {
            // The sum is expressed in the finer unit (`7 'd' + 12 'h'` is `180 'h'`).
            let unit = a.finer_unit(&b).to_string();
            let (Some(a), Some(b)) = (a.convert_to(&unit), b.convert_to(&unit)) else {
                return Ok(coll![]);
            };
            let v = if op == BinOp::Add {
                a.value.add(b.value)
            } else {
                a.value.sub(b.value)
            };
            Quantity(Box::new(Q {
                value: v.ok_or_else(over)?,
                unit,
            }))
        }
        (BinOp::Mul | BinOp::Div, Quantity(a), Quantity(b)) => {
            match a.mul_div(&b, op == BinOp::Div) {
                Some(q) => Quantity(Box::new(q)),
                None => return Ok(coll![]),
            }
        }
        (BinOp::Mul | BinOp::Div, Quantity(a), n @ (Integer(_) | Decimal(_))) => {
            let d = num(&n).ok_or_else(err)?;
            let v = if op == BinOp::Mul {
                a.value.mul(d)
            } else {
                a.value.div(d)
            };
            match v {
                Some(value) => Quantity(Box::new(Q {
                    value,
                    unit: a.unit,
                })),
                None => return Ok(coll![]),
            }
        }
        (BinOp::Mul, n @ (Integer(_) | Decimal(_)), Quantity(a)) => {
            let d = num(&n).ok_or_else(err)?;
            Quantity(Box::new(Q {
                value: a.value.mul(d).ok_or_else(over)?,
                unit: a.unit,
            }))
        }
        (op, a, b) => {
            let (x, y) = (num(&a).ok_or_else(err)?, num(&b).ok_or_else(err)?);
            match op {
                BinOp::Add => Decimal(x.add(y).ok_or_else(over)?),
                BinOp::Sub => Decimal(x.sub(y).ok_or_else(over)?),
                BinOp::Mul => Decimal(x.mul(y).ok_or_else(over)?),
                BinOp::Div => match x.div(y) {
                    Some(v) => Decimal(v),
                    None => return Ok(coll![]),
                },
                BinOp::IntDiv => match x.div_trunc(y) {
                    Some(v) => Integer(v.to_i64().ok_or_else(over)?),
                    None => return Ok(coll![]),
                },
                BinOp::Mod => match x.rem(y) {
                    Some(v) => Decimal(v),
                    None => return Ok(coll![]),
                },
                _ => return Err(err()),
            }
        }
    };
    Ok(coll![out])
}

fn num(i: &Item<'_>) -> Option<Decimal> {
    match i {
        Item::Integer(v) => Some(Decimal::from_i64(*v)),
        Item::Decimal(d) => Some(*d),
        _ => None,
    }
}

/// Evaluates a binary operator.
pub(crate) fn binary<'a>(
    ev: &Ev<'_, 'a>,
    op: BinOp,
    le: &Expr,
    re: &Expr,
    focus: &[Item<'a>],
    fr: &Frame<'_, 'a>,
    pos: usize,
) -> R<'a> {
    if let Some(v) = kept_literal_comparison(ev, op, le, re, focus, fr)? {
        return Ok(b(v));
    }
    if matches!(op, BinOp::And | BinOp::Or | BinOp::Implies | BinOp::Xor) {
        return ev.logic(op, le, re, focus, fr, pos).map(b);
    }
    ev.with_val(le, focus, fr, |l| {
        if let (BinOp::Eq | BinOp::Ne | BinOp::Contains, ExprKind::Str(lit)) = (op, &re.kind) {
            if let Some(v) = compare_to_literal(op, l, lit) {
                return Ok(b(v));
            }
        }
        ev.with_val(re, focus, fr, |r| apply(ev, op, l, r, pos))
    })
}

/// `left op 'literal'` (`=`, `!=`, `contains`) when `left`'s result is
/// kept in the shared cache and the literal comparison decides it: read in
/// place instead of copied out of the cache (`code.coding.code` on each
/// Observation, tested against a different code by each crosswalk rule).
/// `None` when the general rules are needed; the answer is theirs.
pub(crate) fn kept_literal_comparison<'a>(
    ev: &Ev<'_, 'a>,
    op: BinOp,
    le: &Expr,
    re: &Expr,
    focus: &[Item<'a>],
    fr: &Frame<'_, 'a>,
) -> Result<Option<Option<bool>>, FhirPathError> {
    let (BinOp::Eq | BinOp::Ne | BinOp::Contains, ExprKind::Str(lit)) = (op, &re.kind) else {
        return Ok(None);
    };
    Ok(ev
        .with_kept(le, focus, fr, |l| compare_to_literal(op, l, lit))?
        .flatten())
}

/// `=`, `!=` and `contains` against a string literal when every item of
/// the left side is a string: decided without building the literal's
/// collection (the common `code = 'x'` inside `where()`). `None` when the
/// general rules are needed; the answer is what they would give.
fn compare_to_literal(op: BinOp, l: &[Item<'_>], lit: &str) -> Option<Option<bool>> {
    let strs = || l.iter().map(Item::as_system_str);
    match op {
        BinOp::Contains => {
            if strs().any(|s| s.is_none()) {
                return None;
            }
            Some(Some(strs().any(|s| s == Some(lit))))
        }
        _ => {
            let eq = match l {
                [] => None,
                [one] => Some(one.as_system_str()? == lit),
                _ => Some(false),
            };
            Some(if op == BinOp::Ne { eq.map(|v| !v) } else { eq })
        }
    }
}

/// The non-boolean operators on evaluated operands. Kept out of
/// [`binary`] so the recursive path keeps a small stack frame.
#[inline(never)]
fn apply<'a>(ev: &Ev<'_, 'a>, op: BinOp, l: &[Item<'a>], r: &[Item<'a>], pos: usize) -> R<'a> {
    let out = apply_op(ev, op, l, r, pos)?;
    if matches!(op, BinOp::Add | BinOp::Concat) {
        ev.check_strings(&out, pos)?;
    }
    Ok(out)
}

fn apply_op<'a>(ev: &Ev<'_, 'a>, op: BinOp, l: &[Item<'a>], r: &[Item<'a>], pos: usize) -> R<'a> {
    match op {
        BinOp::Union => {
            ev.check_size(l.len() + r.len(), pos)?;
            let mut all = super::copy_coll(l);
            all.extend(r.iter().cloned());
            Ok(super::seen::distinct(all))
        }
        BinOp::Eq => Ok(b(coll_equals(l, r))),
        BinOp::Ne => Ok(b(coll_equals(l, r).map(|v| !v))),
        BinOp::Equiv => Ok(b(Some(coll_equiv(l, r)))),
        BinOp::NotEquiv => Ok(b(Some(!coll_equiv(l, r)))),
        BinOp::In | BinOp::Contains => {
            let (item, coll) = if op == BinOp::In { (l, r) } else { (r, l) };
            let Some(it) = single(item, pos)? else {
                return Ok(coll![]);
            };
            ev.tick(coll.len() as u64, pos)?;
            Ok(b(Some(coll.iter().any(|c| equals(&it, c) == Some(true)))))
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let (Some(x), Some(y)) = (single(l, pos)?, single(r, pos)?) else {
                return Ok(coll![]);
            };
            let o = compare(&x, &y, pos)?;
            Ok(b(o.map(|o| match op {
                BinOp::Lt => o == Ordering::Less,
                BinOp::Le => o != Ordering::Greater,
                BinOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            })))
        }
        BinOp::Concat => {
            let s = |c: &[Item<'a>]| -> Result<String, FhirPathError> {
                Ok(match single(c, pos)? {
                    None => String::new(),
                    Some(i) => match i.to_system() {
                        Some(Item::String(s)) => s,
                        _ => return Err(FhirPathError::exec(pos, "& requires strings")),
                    },
                })
            };
            Ok(coll![Item::String(s(l)? + &s(r)?)])
        }
        _ => {
            let (Some(x), Some(y)) = (single(l, pos)?, single(r, pos)?) else {
                return Ok(coll![]);
            };
            let bad = || FhirPathError::exec(pos, "arithmetic on a non-primitive value");
            let (x, y) = match op {
                BinOp::Add | BinOp::Sub | BinOp::Div => promote(x.to_system(), y.to_system()),
                _ => (x.to_system(), y.to_system()),
            };
            arith(op, x.ok_or_else(bad)?, y.ok_or_else(bad)?, pos)
        }
    }
}

/// Function forms of type operators: `is(T)`, `as(T)`.
pub(crate) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    fn spec<'s>(c: &Call<'s, '_, '_, '_>) -> Result<&'s TypeSpec, FhirPathError> {
        match c.args.first().map(|a| &a.kind) {
            Some(ExprKind::TypeArg(t)) if c.args.len() == 1 => Ok(t),
            _ => Err(FhirPathError::semantic(c.pos, "expected one type argument")),
        }
    }
    Some(match name {
        "is" => (|| {
            let t = spec(c)?;
            match c.inp {
                [] => Ok(coll![]),
                [one] => Ok(coll![Item::Boolean(c.ev.is_type(one, t, c.pos)?)]),
                _ => Err(c.err("is() needs a single item")),
            }
        })(),
        "as" => (|| {
            let t = spec(c)?;
            if c.inp.len() > 1 && c.ev.strict_singletons {
                return Err(c.err("as() needs a single item"));
            }
            c.ev.filter_as(c.inp, t, c.pos)
        })(),
        _ => return None,
    })
}
