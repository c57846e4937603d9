//! Subsetting (§5.3): single, first, last, tail, skip, take, intersect, exclude.

use super::ops::equals;
use super::seen::distinct;
use super::{copy_coll, Call, Coll, R};
use crate::fhirpath::value::Item;
use crate::fxhash::KeyedHashSet as HashSet;

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    let inp = c.inp;
    Some(match name {
        "single" => match inp {
            [] | [_] => Ok(copy_coll(inp)),
            _ => Err(c.err("single() on a collection of several items")),
        },
        "first" => Ok(inp.first().cloned().into_iter().collect()),
        "last" => Ok(inp.last().cloned().into_iter().collect()),
        "tail" => Ok(inp.iter().skip(1).cloned().collect()),
        "skip" | "take" => (|| {
            let n = c
                .int_arg(0)?
                .ok_or_else(|| c.err(format!("{name}() needs a number")))?;
            let n = n.max(0) as usize;
            Ok(if name == "skip" {
                inp.iter().skip(n).cloned().collect()
            } else {
                inp.iter().take(n).cloned().collect()
            })
        })(),
        "intersect" | "exclude" => (|| {
            let other = c.arg(0)?;
            c.ev.tick((inp.len() * other.len().max(1)) as u64, c.pos)?;
            let keep = name == "intersect";
            let member = Members::new(&other);
            let out: Coll<'a> = inp
                .iter()
                .filter(|a| member.contains(a) == keep)
                .cloned()
                .collect();
            Ok(if keep { distinct(out) } else { out })
        })(),
        _ => return None,
    })
}

/// Membership by `=` in a collection. Strings (ids, codes, references:
/// what SHIN-NY's referential-integrity rules intersect, tens of items on
/// each side) are looked up in a set; other items are compared one by one.
struct Members<'c, 'a> {
    strs: HashSet<&'c str>,
    rest: Vec<&'c Item<'a>>,
    all: &'c [Item<'a>],
}

impl<'c, 'a> Members<'c, 'a> {
    /// Below this size a scan costs less than building the set.
    const SET_FROM: usize = 8;

    fn new(all: &'c [Item<'a>]) -> Self {
        let mut m = Members {
            strs: HashSet::default(),
            rest: Vec::new(),
            all,
        };
        if all.len() >= Self::SET_FROM {
            // Sized at once: no rehash on the way.
            m.strs.reserve(all.len());
            for it in all {
                match it.as_system_str() {
                    Some(s) => {
                        m.strs.insert(s);
                    }
                    None => m.rest.push(it),
                }
            }
        }
        m
    }

    fn contains(&self, a: &Item<'_>) -> bool {
        if self.all.len() < Self::SET_FROM {
            return self.all.iter().any(|b| equals(a, b) == Some(true));
        }
        // Two strings are equal exactly when their texts are (`equals`
        // compares them so); the rest are still compared one by one.
        match a.as_system_str() {
            Some(s) => {
                self.strs.contains(s) || self.rest.iter().any(|b| equals(a, b) == Some(true))
            }
            None => self.all.iter().any(|b| equals(a, b) == Some(true)),
        }
    }
}
