//! Existence functions (§5.1).

use super::ops::equals;
use super::seen::{distinct, Seen};
use super::{coll, copy_coll};
use super::{Call, R};
use crate::fhirpath::value::Item;

fn bool_of(it: &Item<'_>) -> Option<bool> {
    match it.to_system() {
        Some(Item::Boolean(b)) => Some(b),
        _ => None,
    }
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    let yes = |v: bool| Ok(coll![Item::Boolean(v)]);
    Some(match name {
        "empty" => yes(c.inp.is_empty()),
        "exists" => {
            if let Some(crit) = c.args.first() {
                let mut found = false;
                for (i, it) in c.inp.iter().enumerate() {
                    match c.ev.lambda_bool(crit, it, i, c.pos) {
                        Ok(Some(true)) => {
                            found = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) => return Some(Err(e)),
                    }
                }
                yes(found)
            } else {
                yes(!c.inp.is_empty())
            }
        }
        "all" => {
            let Some(crit) = c.args.first() else {
                return Some(Err(c.err("all() needs a criteria")));
            };
            for (i, it) in c.inp.iter().enumerate() {
                match c.ev.lambda_bool(crit, it, i, c.pos) {
                    Ok(Some(true)) => {}
                    Ok(_) => return Some(yes(false)),
                    Err(e) => return Some(Err(e)),
                }
            }
            yes(true)
        }
        "allTrue" | "anyTrue" | "allFalse" | "anyFalse" => {
            let mut vals = Vec::new();
            for it in c.inp {
                match bool_of(it) {
                    Some(b) => vals.push(b),
                    None => return Some(Err(c.err(format!("{name}() needs booleans")))),
                }
            }
            yes(match name {
                "allTrue" => vals.iter().all(|b| *b),
                "anyTrue" => vals.iter().any(|b| *b),
                "allFalse" => vals.iter().all(|b| !*b),
                _ => vals.iter().any(|b| !*b),
            })
        }
        "subsetOf" | "supersetOf" => {
            let other = match c.arg(0) {
                Ok(o) => o,
                Err(e) => return Some(Err(e)),
            };
            let (sub, sup) = if name == "subsetOf" {
                (c.inp, &other[..])
            } else {
                (&other[..], c.inp)
            };
            if let Err(e) = c.ev.tick((sub.len() * sup.len().max(1)) as u64, c.pos) {
                return Some(Err(e));
            }
            yes(sub
                .iter()
                .all(|a| sup.iter().any(|b| equals(a, b) == Some(true))))
        }
        "count" => Ok(coll![Item::Integer(c.inp.len() as i64)]),
        "distinct" => Ok(distinct(copy_coll(c.inp))),
        "isDistinct" => {
            let mut seen = Seen::for_items(c.inp.len());
            yes(c.inp.iter().all(|it| seen.insert(it)))
        }
        _ => return None,
    })
}
