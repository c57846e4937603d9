//! Filtering and projection (§5.2): where, select, repeat, ofType.

use super::ops::kept_literal_comparison;
use super::seen::Seen;
use super::Frame;
use super::{copy_coll, Call, Coll, R};
use crate::fhirpath::parser::{Expr, ExprKind};
use crate::fhirpath::value::Item;
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
    let crit = &c.args[0];
    for (i, it) in c.inp.iter().enumerate() {
        // `path = 'literal'` (or `!=`, `contains`) with the path's result
        // kept: decided in place, without evaluating the comparison node.
        if let Some(v) = kept_comparison(c, crit, it, i)? {
            if v {
                out.push(it.clone());
            }
            continue;
        }
        let r = c.ev.lambda(crit, it, i, None)?;
        if c.ev.singleton_bool(&r, c.pos)? == Some(true) {
            out.push(it.clone());
        }
    }
    Ok(out)
}

/// The criterion `left op 'literal'` on `it` when
/// [`kept_literal_comparison`] decides it (counted as the one step
/// evaluating the criterion would take); `None` to evaluate it in full.
/// The answer is the one `singleton_bool` gives for the comparison.
fn kept_comparison<'a>(
    c: &Call<'_, '_, '_, 'a>,
    crit: &Expr,
    it: &Item<'a>,
    i: usize,
) -> Result<Option<bool>, FhirPathError> {
    let ExprKind::Binary(op, le, re) = &crit.kind else {
        return Ok(None);
    };
    let this = std::slice::from_ref(it);
    let fr = Frame {
        this,
        index: Some(i as i64),
        total: None,
    };
    let Some(v) = kept_literal_comparison(c.ev, *op, le, re, this, &fr)? else {
        return Ok(None);
    };
    c.ev.tick(1, crit.pos)?;
    Ok(Some(v == Some(true)))
}

fn select<'a>(c: &Call<'_, '_, '_, 'a>) -> R<'a> {
    c.arity(1, 1)?;
    // Projections mostly give an item per item: room for that at once
    // instead of growing by doubling.
    let mut out = Coll::with_capacity(c.inp.len());
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
