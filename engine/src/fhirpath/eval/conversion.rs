//! Conversion functions (§5.5) and `iif`.

use super::{Call, Frame, R};
use crate::fhirpath::datetime::{TemporalKind, DAY};
use crate::fhirpath::decimal::Decimal;
use crate::fhirpath::quantity::Quantity as Q;
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
            return Ok(vec![]);
        };
        let unit = if conv == "Quantity" {
            c.str_arg(0)?
        } else {
            None
        };
        let out = convert(&v, conv, unit.as_deref());
        Ok(if test {
            vec![Item::Boolean(out.is_some())]
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
        Ok(vec![])
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
    let value = Decimal::parse(num)?;
    let unit = if rest.is_empty() {
        "1".to_string()
    } else if let Some(u) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        u.to_string()
    } else {
        calendar_keyword(rest)?.to_string()
    };
    Some(Quantity { value, unit })
}

fn convert(v: &Item<'_>, to: &str, unit: Option<&str>) -> Option<Item<'static>> {
    use Item::*;
    let v = v.to_system()?;
    Some(match (to, v) {
        ("Boolean", Boolean(b)) => Boolean(b),
        ("Boolean", Integer(i)) => match i {
            0 => Boolean(false),
            1 => Boolean(true),
            _ => return None,
        },
        ("Boolean", Decimal(d)) => {
            if d == crate::fhirpath::decimal::Decimal::from_i64(1) {
                Boolean(true)
            } else if d.is_zero() {
                Boolean(false)
            } else {
                return None;
            }
        }
        ("Boolean", String(s)) => match s.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => Boolean(true),
            "false" | "f" | "no" | "n" | "0" | "0.0" => Boolean(false),
            _ => return None,
        },
        ("Integer", Integer(i)) => Integer(i),
        ("Integer", Boolean(b)) => Integer(b as i64),
        ("Integer", String(s)) if is_int_text(&s) => Integer(s.parse().ok()?),
        ("Decimal", Integer(i)) => Decimal(crate::fhirpath::decimal::Decimal::from_i64(i)),
        ("Decimal", Decimal(d)) => Decimal(d),
        ("Decimal", Boolean(b)) => Decimal(crate::fhirpath::decimal::Decimal::from_i64(b as i64)),
        ("Decimal", String(s)) if is_dec_text(&s) => {
            Decimal(crate::fhirpath::decimal::Decimal::parse(&s)?)
        }
        ("String", v) => String(v.to_display_string()?),
        ("Date", Temporal(t)) if t.kind != TemporalKind::Time => {
            let mut t = t;
            t.kind = TemporalKind::Date;
            t.precision = t.precision.min(DAY);
            t.tz = None;
            Temporal(t)
        }
        ("Date", String(s)) => {
            let mut t = crate::fhirpath::datetime::Temporal::parse_date_time(&s)?;
            t.kind = TemporalKind::Date;
            t.precision = t.precision.min(DAY);
            t.tz = None;
            Temporal(t)
        }
        ("DateTime", Temporal(t)) if t.kind != TemporalKind::Time => {
            let mut t = t;
            t.kind = TemporalKind::DateTime;
            Temporal(t)
        }
        ("DateTime", String(s)) => {
            let mut t = crate::fhirpath::datetime::Temporal::parse_date_time(&s)?;
            t.kind = TemporalKind::DateTime;
            Temporal(t)
        }
        ("Time", Temporal(t)) if t.kind == TemporalKind::Time => Temporal(t),
        ("Time", String(s)) => Temporal(crate::fhirpath::datetime::Temporal::parse_time(
            s.strip_prefix('T').unwrap_or(&s),
        )?),
        ("Quantity", v) => {
            let q = match v {
                Integer(i) => Q {
                    value: crate::fhirpath::decimal::Decimal::from_i64(i),
                    unit: "1".into(),
                },
                Decimal(d) => Q {
                    value: d,
                    unit: "1".into(),
                },
                Boolean(b) => Q {
                    value: crate::fhirpath::decimal::Decimal::new(if b { 10 } else { 0 }, 1),
                    unit: "1".into(),
                },
                Quantity(q) => q,
                String(s) => parse_quantity(&s)?,
                _ => return None,
            };
            match unit {
                Some(u) => Quantity(q.convert_to(calendar_keyword(u).unwrap_or(u))?),
                None => Quantity(q),
            }
        }
        _ => return None,
    })
}
