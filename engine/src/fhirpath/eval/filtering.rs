//! Filtering and projection (§5.2): where, select, repeat, ofType.

use super::ops::kept_literal_comparison;
use super::seen::Seen;
use super::Frame;
use super::{copy_coll, Call, Coll, R};
use crate::fhirpath::memo::StrIndex;
use crate::fhirpath::parser::{BinOp, Expr, ExprKind};
use crate::fhirpath::value::Item;
use crate::fhirpath::FhirPathError;
use smallvec::SmallVec;
use std::sync::Arc;

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
    let index = literal_filter_index(c, crit)?;
    for (i, it) in c.inp.iter().enumerate() {
        // `path = 'literal'` (or `contains`) decided from the index of the
        // path's string values over this collection.
        if let Some((idx, op, lit)) = &index {
            if let Some(strs) = &idx.values[i] {
                let hit = match op {
                    BinOp::Contains => strs.iter().any(|s| s == lit),
                    _ => matches!(&strs[..], [one] if one == lit),
                };
                if hit {
                    out.push(it.clone());
                }
                continue;
            }
        }
        // `path = 'literal'` (or `!=`, `contains`) with the path's result
        // kept: decided in place, without evaluating the comparison node.
        if let Some(v) = kept_comparison(c, crit, it, i)? {
            if v {
                out.push(it.clone());
            }
            continue;
        }
        if c.ev.lambda_bool(crit, it, i, c.pos)? == Some(true) {
            out.push(it.clone());
        }
    }
    Ok(out)
}

/// Collections filtered this way at least this long get an index.
const INDEX_FROM: usize = 8;

/// For a criterion `path = 'literal'` or `path contains 'literal'` whose
/// path the shared cache keeps, the index of the path's string values over
/// the focus collection (built at the first such filter, and found again
/// by the next filter of the same collection by the same path with
/// another literal), with the operator and literal. The answers it gives
/// are those of [`kept_literal_comparison`]: for an item whose path gives
/// only strings of FHIR primitives, `contains` is whether one equals the
/// literal, and `=` whether the only one does; other items are filtered
/// the general way.
#[allow(clippy::type_complexity)]
fn literal_filter_index<'a, 'x>(
    c: &Call<'_, '_, '_, 'a>,
    crit: &'x Expr,
) -> Result<Option<(Arc<StrIndex<'a>>, BinOp, &'x str)>, FhirPathError> {
    let ExprKind::Binary(op @ (BinOp::Eq | BinOp::Contains), le, re) = &crit.kind else {
        return Ok(None);
    };
    let ExprKind::Str(lit) = &re.kind else {
        return Ok(None);
    };
    if c.inp.len() < INDEX_FROM {
        return Ok(None);
    }
    let (Some(memo), Some(cache)) = (&le.memo, c.ev.cache) else {
        return Ok(None);
    };
    let Some(key) = c.ev.index_key(memo, c.inp) else {
        return Ok(None);
    };
    if let Some(idx) = cache.index(&key, c.inp) {
        c.ev.tick(c.inp.len() as u64, crit.pos)?;
        return Ok(Some((idx, *op, lit.as_str())));
    }
    let mut values = Vec::with_capacity(c.inp.len());
    for (i, it) in c.inp.iter().enumerate() {
        values.push(c.ev.lambda_with(le, it, i, |r| {
            Ok(r.iter()
                .map(Item::node_str)
                .collect::<Option<SmallVec<_>>>())
        })?);
    }
    let Some(idx) = StrIndex::new(c.inp, values) else {
        return Ok(None);
    };
    let idx = Arc::new(idx);
    cache.put_index(key, idx.clone());
    Ok(Some((idx, *op, lit.as_str())))
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
