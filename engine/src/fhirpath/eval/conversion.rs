//! Conversion functions (§5.5) and `iif`.

use super::coll;
use super::{Call, Frame, R};
use crate::fhirpath::datetime::{Temporal as Tmp, TemporalKind, DAY};
use crate::fhirpath::decimal::Decimal as Dec;
use crate::fhirpath::quantity::{calendar_keyword, Quantity};
use crate::fhirpath::value::Item;
use crate::fhirpath::FhirPathError;

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    if name == "iif" {
        return Some(iif(c));
    }
    let (conv, test) = match name.strip_prefix("convertsTo") {
        Some(t) => (t, true),
        None => (name.strip_prefix("to")?, false),
    };
    if !matches!(
        conv,
        "Boolean" | "Integer" | "Decimal" | "String" | "Date" | "DateTime" | "Time" | "Quantity"
    ) {
        return None;
    }
    Some((|| {
        let Some(v) = c.single()? else {
            return Ok(coll![]);
        };
        let unit = if conv == "Quantity" {
            c.str_arg(0)?
        } else {
            None
        };
        let out = convert(&v, conv, unit.as_deref());
        Ok(if test {
            coll![Item::Boolean(out.is_some())]
        } else {
            out.into_iter().collect()
        })
    })())
}

fn iif<'a>(c: &Call<'_, '_, '_, 'a>) -> R<'a> {
    c.arity(2, 3)?;
    if c.inp.len() > 1 {
        return Err(c.err("iif() on a collection of several items"));
    }
    let this = if c.inp.is_empty() { c.fr.this } else { c.inp };
    let fr = Frame {
        this,
        index: c.fr.index,
        total: c.fr.total,
    };
    let crit = c.ev.eval(&c.args[0], this, &fr)?;
    let cond = match crit.as_slice() {
        [] => false,
        [one] => match one.to_system() {
            Some(Item::Boolean(b)) => b,
            _ => {
                return Err(FhirPathError::semantic(
                    c.pos,
                    "iif() criterion must be a boolean",
                ))
            }
        },
        _ => {
            return Err(FhirPathError::semantic(
                c.pos,
                "iif() criterion must be a single boolean",
            ))
        }
    };
    if cond {
        c.ev.eval(&c.args[1], this, &fr)
    } else if let Some(e) = c.args.get(2) {
        c.ev.eval(e, this, &fr)
    } else {
        Ok(coll![])
    }
}

fn is_int_text(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_dec_text(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    match d.split_once('.') {
        Some((a, b)) => {
            is_int_text(a)
                && !a.starts_with(['+', '-'])
                && !b.is_empty()
                && b.bytes().all(|x| x.is_ascii_digit())
        }
        None => is_int_text(d) && !d.starts_with(['+', '-']),
    }
}

/// Parses `5 'mg'`, `4 days`, `1.5`.
pub(super) fn parse_quantity(s: &str) -> Option<Quantity> {
    let s = s.trim();
    let (num, rest) = match s.find(' ') {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    };
    if !is_dec_text(num) {
        return None;
    }
    let value = Dec::parse(num)?;
    let unit = if rest.is_empty() {
        "1".to_string()
    } else if let Some(u) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        u.to_string()
    } else {
        calendar_keyword(rest)?.to_string()
    };
    Some(Quantity { value, unit })
}

/// Converts a value to a System type: `None` when it does not convert.
fn convert(v: &Item<'_>, to: &str, unit: Option<&str>) -> Option<Item<'static>> {
    use Item as I;
    let one = Dec::from_i64(1);
    let as_date = |mut t: Tmp| {
        t.kind = TemporalKind::Date;
        t.precision = t.precision.min(DAY);
        t.tz = None;
        I::Temporal(Box::new(t))
    };
    let as_date_time = |mut t: Tmp| {
        t.kind = TemporalKind::DateTime;
        I::Temporal(Box::new(t))
    };
    Some(match (to, v.to_system()?) {
        ("Boolean", I::Boolean(b)) => I::Boolean(b),
        ("Boolean", I::Integer(0)) => I::Boolean(false),
        ("Boolean", I::Integer(1)) => I::Boolean(true),
        ("Boolean", I::Decimal(d)) if d == one => I::Boolean(true),
        ("Boolean", I::Decimal(d)) if d.is_zero() => I::Boolean(false),
        ("Boolean", I::String(s)) => match s.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => I::Boolean(true),
            "false" | "f" | "no" | "n" | "0" | "0.0" => I::Boolean(false),
            _ => return None,
        },
        ("Integer", I::Integer(i)) => I::Integer(i),
        ("Integer", I::Boolean(b)) => I::Integer(b as i64),
        ("Integer", I::String(s)) if is_int_text(&s) => I::Integer(s.parse().ok()?),
        ("Decimal", I::Integer(i)) => I::Decimal(Dec::from_i64(i)),
        ("Decimal", I::Decimal(d)) => I::Decimal(d),
        ("Decimal", I::Boolean(b)) => I::Decimal(Dec::from_i64(b as i64)),
        ("Decimal", I::String(s)) if is_dec_text(&s) => I::Decimal(Dec::parse(&s)?),
        ("String", v) => I::String(v.to_display_string()?),
        ("Date", I::Temporal(t)) if t.kind != TemporalKind::Time => as_date(*t),
        ("Date", I::String(s)) => as_date(Tmp::parse_date_time(&s)?),
        ("DateTime", I::Temporal(t)) if t.kind != TemporalKind::Time => as_date_time(*t),
        ("DateTime", I::String(s)) => as_date_time(Tmp::parse_date_time(&s)?),
        ("Time", I::Temporal(t)) if t.kind == TemporalKind::Time => I::Temporal(t),
        ("Time", I::String(s)) => I::Temporal(Box::new(Tmp::parse_time(
            s.strip_prefix('T').unwrap_or(&s),
        )?)),
        ("Quantity", v) => {
            let unity = |value| Quantity {
                value,
                unit: "1".into(),
            };
            let q = match v {
                I::Integer(i) => unity(Dec::from_i64(i)),
                I::Decimal(d) => unity(d),
                I::Boolean(b) => unity(Dec::new(if b { 10 } else { 0 }, 1)),
                I::Quantity(q) => *q,
                I::String(s) => parse_quantity(&s)?,
                _ => return None,
            };
            I::Quantity(Box::new(match unit {
                Some(u) => q.convert_to(calendar_keyword(u).unwrap_or(u))?,
                None => q,
            }))
        }
        _ => return None,
    })
}
