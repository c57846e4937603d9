//! Filtering and projection (§5.2): where, select, repeat, ofType.

use super::ops::Seen;
use super::{copy_coll, Call, Coll, R};
use crate::fhirpath::parser::ExprKind;
use crate::fhirpath::FhirPathError;

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    Some(match name {
        "where" => filter(c),
        "select" => select(c),
        "repeat" => repeat(c),
        "ofType" => (|| {
            let Some(ExprKind::TypeArg(t)) = c.args.first().map(|a| &a.kind) else {
                return Err(FhirPathError::semantic(c.pos, "ofType() needs a type"));
            };
            c.ev.filter_as(c.inp, t, c.pos)
        })(),
        _ => return None,
    })
}

fn filter<'a>(c: &Call<'_, '_, '_, 'a>) -> R<'a> {
    c.arity(1, 1)?;
    let mut out = Coll::new();
    for (i, it) in c.inp.iter().enumerate() {
        let r = c.ev.lambda(&c.args[0], it, i, None)?;
        if c.ev.singleton_bool(&r, c.pos)? == Some(true) {
            out.push(it.clone());
        }
    }
    Ok(out)
}

fn select<'a>(c: &Call<'_, '_, '_, 'a>) -> R<'a> {
    c.arity(1, 1)?;
    let mut out = Coll::new();
    for (i, it) in c.inp.iter().enumerate() {
        out.extend(c.ev.lambda(&c.args[0], it, i, None)?);
        c.ev.check_size(out.len(), c.pos)?;
    }
    Ok(out)
}

/// Applies the projection until no new items appear; the seen-set stops
/// cycles and the size limit stops unbounded growth.
fn repeat<'a>(c: &Call<'_, '_, '_, 'a>) -> R<'a> {
    c.arity(1, 1)?;
    let mut out: Coll<'a> = Coll::new();
    let mut seen = Seen::default();
    let mut frontier: Coll<'a> = copy_coll(c.inp);
    while !frontier.is_empty() {
        let mut next = Coll::new();
        for (i, it) in frontier.iter().enumerate() {
            for r in c.ev.lambda(&c.args[0], it, i, None)? {
                if seen.insert(&r) {
                    out.push(r.clone());
                    next.push(r);
                }
            }
            c.ev.check_size(out.len(), c.pos)?;
        }
        frontier = next;
    }
    Ok(out)
}
