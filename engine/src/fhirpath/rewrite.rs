//! Rewrites of a checked syntax tree into forms that give the same result
//! with less work, applied before subexpression keys are assigned (see
//! `memo.rs`), so that the rewritten forms share their results.
//!
//! A projection by a path, `X.select(path)` or `X.select(path as T)`
//! where `path` is a chain of element names (`entry.select(resource as
//! Observation)`, SHIN-NY's way of picking the resources of one type out
//! of a Bundle, 200 times in its rules), becomes `X.path` or
//! `X.path.ofType(T)`: evaluated as written, every entry's `resource` is
//! navigated and typed again for every resource type asked for;
//! rewritten, `entry.resource` is one subexpression that the shared cache
//! keeps, and each type is a filter over it. The two agree: `select`
//! concatenates the projection of each item in order, navigation does the
//! same, and `as` on a collection filters item by item (this evaluator is
//! lenient there, like the HL7 Java engine) with the same type test as
//! `ofType`. A path may also start at `$this` (`value.select($this as
//! CodeableConcept)` is `value.ofType(CodeableConcept)`).

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
    select_path(e);
}

/// `X.select(path)` → `X.path`, `X.select(path as T)` →
/// `X.path.ofType(T)`, and the same without `X` (on the focus), when
/// `path` is a chain of element names read from each item (see
/// [`chain_root`]).
fn select_path(e: &mut Expr) {
    let ExprKind::Call(target, name, args) = &mut e.kind else {
        return;
    };
    if name != "select" || args.len() != 1 {
        return;
    }
    let arg = &mut args[0];
    let (path, spec) = match &mut arg.kind {
        ExprKind::As(path, spec) => (path.as_mut(), Some(spec.clone())),
        _ => (arg, None),
    };
    match chain_root(path) {
        Some(Root::Name) => {}
        // `$this` is the item only inside the projection: it needs `X`.
        Some(Root::This) if target.is_some() => {}
        _ => return,
    }
    let pos = path.pos;
    let mut path = std::mem::replace(path, empty(pos));
    if let Some(t) = target.take() {
        graft(&mut path, t);
    }
    match spec {
        Some(spec) => {
            let type_arg = Expr {
                kind: ExprKind::TypeArg(spec),
                pos: args[0].pos,
                end: args[0].end,
                memo: None,
                family: Hint::default(),
            };
            e.kind = ExprKind::Call(Some(Box::new(path)), "ofType".into(), vec![type_arg]);
        }
        None => *e = path,
    }
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

/// Where a chain of element names starts.
enum Root {
    /// A name that is not capitalized: navigation from the focus (a
    /// capitalized first name may be a type filter of each item, which
    /// the rewritten form would apply to `X` instead).
    Name,
    /// `$this`.
    This,
}

/// The root of `e` when it is `a.b.c` or `$this.b.c` (or `$this`).
fn chain_root(e: &Expr) -> Option<Root> {
    match &e.kind {
        ExprKind::Member(Some(t), _) => chain_root(t),
        ExprKind::Member(None, name) => {
            (!name.starts_with(|c: char| c.is_ascii_uppercase())).then_some(Root::Name)
        }
        ExprKind::This => Some(Root::This),
        _ => None,
    }
}

/// Puts `target` in front of the first name of chain `path` (in place of
/// its `$this`).
fn graft(path: &mut Expr, target: Box<Expr>) {
    match &mut path.kind {
        ExprKind::Member(Some(inner), _) => graft(inner, target),
        ExprKind::Member(t @ None, _) => *t = Some(target),
        ExprKind::This => *path = *target,
        _ => {}
    }
}
