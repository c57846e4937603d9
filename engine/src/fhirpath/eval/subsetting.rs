//! Subsetting (§5.3): single, first, last, tail, skip, take, intersect, exclude.

use super::ops::{distinct, equals};
use super::{Call, Coll, R};

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    let inp = c.inp;
    Some(match name {
        "single" => match inp {
            [] | [_] => Ok(Coll::from(inp)),
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
            let out: Coll<'a> = inp
                .iter()
                .filter(|a| other.iter().any(|b| equals(a, b) == Some(true)) == keep)
                .cloned()
                .collect();
            Ok(if keep { distinct(out) } else { out })
        })(),
        _ => return None,
    })
}
