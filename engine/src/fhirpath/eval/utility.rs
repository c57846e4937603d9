//! Utility functions (§5.9): trace, now/today/timeOfDay, not, aggregate.

use super::ops::compare;
use super::{coll, copy_coll, Coll};
use super::{Call, R};
use crate::fhirpath::datetime::{Temporal, TemporalKind, DAY, HOUR, MILLI};
use crate::fhirpath::parser::ExprKind;
use crate::fhirpath::value::Item;
use std::cmp::Ordering;

/// The current UTC time as (days since epoch, milliseconds of day): the
/// installed clock ([`crate::fhirpath::set_clock`]), else the system's.
fn clock() -> Option<(i64, i64)> {
    let ms = match crate::fhirpath::host::installed_clock() {
        Some(f) => f()?,
        None => system_clock()?,
    };
    Some((ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000)))
}

/// Milliseconds since the Unix epoch from the system clock.
#[cfg(not(target_arch = "wasm32"))]
fn system_clock() -> Option<i64> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// No system clock on wasm32-unknown-unknown (std's would panic).
#[cfg(target_arch = "wasm32")]
fn system_clock() -> Option<i64> {
    None
}

fn now() -> Option<Temporal> {
    let (days, ms) = clock()?;
    let epoch = Temporal::parse_date_time("1970-01-01T00:00:00.000Z")?;
    let t = epoch.add(days, "day")?;
    t.add(ms, "millisecond")
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    Some(match name {
        "trace" => (|| {
            let label = c.str_arg(0)?.unwrap_or_default();
            if let Some(log) = &c.ev.env.trace {
                let shown = match c.args.get(1) {
                    Some(p) => {
                        let mut out = Coll::new();
                        for (i, it) in c.inp.iter().enumerate() {
                            out.extend(c.ev.lambda(p, it, i, None)?);
                        }
                        out
                    }
                    None => copy_coll(c.inp),
                };
                let rendered = shown
                    .iter()
                    .map(|i| {
                        i.to_display_string().unwrap_or_else(|| {
                            i.json()
                                .map(|n| n.to_serde().to_string())
                                .unwrap_or_default()
                        })
                    })
                    .collect();
                log.borrow_mut().push((label.into_owned(), rendered));
            }
            Ok(copy_coll(c.inp))
        })(),
        "now" | "today" | "timeOfDay" => (|| {
            // Read once per evaluation, so every call agrees.
            let mut t =
                c.ev.now
                    .get_or_init(|| c.ev.host.now().or_else(now))
                    .clone()
                    .ok_or_else(|| c.err("no clock available (provide EvalHost::now)"))?;
            match name {
                "today" => {
                    t.kind = TemporalKind::Date;
                    t.precision = DAY;
                    t.tz = None;
                }
                "timeOfDay" => {
                    t.kind = TemporalKind::Time;
                    t.precision = MILLI;
                    t.tz = None;
                    t.c[..HOUR].iter_mut().for_each(|x| *x = 0);
                }
                _ => {}
            }
            Ok(coll![Item::Temporal(Box::new(t))])
        })(),
        "type" => Ok(c
            .inp
            .iter()
            .map(|it| {
                let (ns, name) = it.type_info();
                let name = if name.contains('.') {
                    "BackboneElement".to_string()
                } else {
                    name
                };
                Item::Type(ns, name)
            })
            .collect()),
        "sort" => sort(c),
        "not" => (|| {
            Ok(match c.ev.singleton_bool(c.inp, c.pos)? {
                Some(b) => coll![Item::Boolean(!b)],
                None => coll![],
            })
        })(),
        "aggregate" => (|| {
            c.arity(1, 2)?;
            let mut total = if c.args.len() > 1 { c.arg(1)? } else { coll![] };
            for (i, it) in c.inp.iter().enumerate() {
                total = c.ev.lambda(&c.args[0], it, i, Some(&total))?;
                c.ev.check_size(total.len(), c.pos)?;
            }
            Ok(total)
        })(),
        _ => return None,
    })
}

/// `sort(key, ...)`: stable sort by the keys; a key written `-expr` sorts
/// descending.
fn sort<'a>(c: &Call<'_, '_, '_, 'a>) -> R<'a> {
    let mut keyed = Vec::with_capacity(c.inp.len());
    for (i, it) in c.inp.iter().enumerate() {
        let mut keys = Vec::new();
        if c.args.is_empty() {
            keys.push((coll![it.clone()], false));
        }
        for a in c.args {
            let (e, desc) = match &a.kind {
                ExprKind::Neg(inner) => (&**inner, true),
                _ => (a, false),
            };
            keys.push((c.ev.lambda(e, it, i, None)?, desc));
        }
        keyed.push((keys, it.clone()));
    }
    let mut err = None;
    keyed.sort_by(|(ka, _), (kb, _)| {
        for ((a, desc), (b, _)) in ka.iter().zip(kb) {
            let o = match (a.first(), b.first()) {
                (None, None) => Ordering::Equal,
                // Items without a key sort after the others.
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => match compare(x, y, c.pos) {
                    Ok(o) => o.unwrap_or(Ordering::Equal),
                    Err(e) => {
                        err.get_or_insert(e);
                        Ordering::Equal
                    }
                },
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    if let Some(e) = err {
        return Err(e);
    }
    Ok(keyed.into_iter().map(|(_, it)| it).collect())
}
