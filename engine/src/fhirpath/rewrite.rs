//! Rewrites of a checked syntax tree into forms that give the same result
//! with less work, applied before subexpression keys are assigned (see
//! `memo.rs`), so that the rewritten forms share their results.
//!
//! `X.select(path as T)`, where `path` is a chain of element names
//! (`entry.select(resource as Observation)`, SHIN-NY's way of picking the
//! resources of one type out of a Bundle), becomes `X.path.ofType(T)`:
//! evaluated as written, every entry's `resource` is navigated and typed
//! again for every resource type asked for; rewritten, `entry.resource`
//! is one subexpression that the shared cache keeps, and each type is a
//! filter over it. The two agree: `select` concatenates the projection of
//! each item in order, navigation does the same, and `as` on a collection
//! filters item by item (this evaluator is lenient there, like the HL7 Java
//! engine) with the same type test as `ofType`.

use super::parser::{Expr, ExprKind, Hint};

/// Applies the rewrites to every node of `e`, innermost first.
pub(crate) fn rewrite(e: &mut Expr) {
    match &mut e.kind {
        ExprKind::Member(Some(t), _)
        | ExprKind::Neg(t)
        | ExprKind::Is(t, _)
        | ExprKind::As(t, _) => rewrite(t),
        ExprKind::Call(t, _, args) => {
            if let Some(t) = t {
                rewrite(t);
            }
            args.iter_mut().for_each(rewrite);
        }
        ExprKind::Scoped(a, b) | ExprKind::Indexer(a, b) | ExprKind::Binary(_, a, b) => {
            rewrite(a);
            rewrite(b);
        }
        _ => {}
    }
    select_as(e);
}

/// `X.select(path as T)` → `X.path.ofType(T)` (and `select(path as T)` →
/// `path.ofType(T)`), when `path` is a chain of element names whose first
/// one is not capitalized (a capitalized first name may be a type filter
/// of the focus, which `select` applies to each item, not to `X`).
fn select_as(e: &mut Expr) {
    let ExprKind::Call(target, name, args) = &mut e.kind else {
        return;
    };
    if name != "select" || args.len() != 1 {
        return;
    }
    let arg = &mut args[0];
    let ExprKind::As(path, spec) = &mut arg.kind else {
        return;
    };
    if !is_member_chain(path) {
        return;
    }
    let mut path = std::mem::replace(path.as_mut(), empty(arg.pos));
    if let Some(t) = target.take() {
        graft(&mut path, t);
    }
    let type_arg = Expr {
        kind: ExprKind::TypeArg(spec.clone()),
        pos: arg.pos,
        end: arg.end,
        memo: None,
        family: Hint::default(),
    };
    e.kind = ExprKind::Call(Some(Box::new(path)), "ofType".into(), vec![type_arg]);
}

fn empty(pos: usize) -> Expr {
    Expr {
        kind: ExprKind::Empty,
        pos,
        end: pos,
        memo: None,
        family: Hint::default(),
    }
}

/// Whether `e` is `a.b.c` with `a` a lowercase name read from the focus.
fn is_member_chain(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Member(Some(t), _) => is_member_chain(t),
        ExprKind::Member(None, name) => !name.starts_with(|c: char| c.is_ascii_uppercase()),
        _ => false,
    }
}

/// Puts `target` in front of the first name of member chain `path`.
fn graft(path: &mut Expr, target: Box<Expr>) {
    if let ExprKind::Member(t, _) = &mut path.kind {
        match t {
            Some(inner) => graft(inner, target),
            None => *t = Some(target),
        }
    }
}
