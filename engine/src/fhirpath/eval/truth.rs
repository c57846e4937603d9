//! Evaluation to a truth value, where a result is converted to a boolean
//! at once (§4.5 singleton evaluation): the criteria of `where`, `exists`
//! and `all`, the operands of `and`, `or`, `xor` and `implies`, and an
//! invariant's whole expression. The answer is the one that evaluating the
//! node and converting its collection gives, errors included; the nodes
//! that criteria are mostly made of (`X.exists()`, `X.empty()` and the
//! boolean operators) answer without building the one-boolean collections
//! in between. SHIN-NY's Bundle rules evaluate about 800 `exists()` and
//! 900 `and`/`or` per Bundle.

use super::{Ev, Frame};
use crate::fhirpath::parser::{BinOp, Expr, ExprKind};
use crate::fhirpath::value::Item;
use crate::fhirpath::FhirPathError;

/// A truth value: `None` is empty (unknown).
type Truth = Result<Option<bool>, FhirPathError>;

/// The nodes that [`Ev::direct_bool`] answers.
enum Direct<'x> {
    /// `l op r`, a boolean operator.
    Logic(BinOp, &'x Expr, &'x Expr),
    /// `X.exists()` (`true`) or `X.empty()` (`false`); `X` is the focus
    /// when absent.
    Exists(Option<&'x Expr>, bool),
}

impl<'e, 'a> Ev<'e, 'a> {
    /// `e` on `focus` converted to a boolean as `singleton_bool` does,
    /// conversion errors reported at `pos` (the consumer's position).
    pub(crate) fn eval_bool(
        &self,
        e: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
        pos: usize,
    ) -> Truth {
        if let Some(direct) = self.direct_bool(e, focus, fr) {
            return direct;
        }
        self.with_val(e, focus, fr, |v| self.singleton_bool(v, pos))
    }

    /// The truth value of a node whose result is one boolean or empty,
    /// computed without building it; `None` for other nodes, and for
    /// nodes whose results the shared cache keeps (read through it).
    pub(crate) fn direct_bool(
        &self,
        e: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
    ) -> Option<Truth> {
        let direct = match &e.kind {
            ExprKind::Call(target, name, args) if args.is_empty() => match name.as_str() {
                "exists" => Direct::Exists(target.as_deref(), true),
                "empty" => Direct::Exists(target.as_deref(), false),
                _ => return None,
            },
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies), l, r) => {
                Direct::Logic(*op, l, r)
            }
            _ => return None,
        };
        if self.kept(e).is_some() {
            return None;
        }
        let d = match self.enter(e) {
            Ok(d) => d,
            Err(err) => return Some(Err(err)),
        };
        let r = match direct {
            Direct::Logic(op, l, r) => self.logic(op, l, r, focus, fr, e.pos),
            Direct::Exists(target, exists) => {
                let nonempty = match target {
                    None => Ok(!focus.is_empty()),
                    Some(t) => self.with_val(t, focus, fr, |v| Ok(!v.is_empty())),
                };
                nonempty.map(|n| Some(n == exists))
            }
        };
        self.depth.set(d - 1);
        Some(r)
    }

    /// `l op r` for a boolean operator, the right side skipped when the
    /// left decides.
    pub(crate) fn logic(
        &self,
        op: BinOp,
        l: &Expr,
        r: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
        pos: usize,
    ) -> Truth {
        let a = self.eval_bool(l, focus, fr, pos)?;
        let short = match (op, a) {
            (BinOp::And, Some(false)) => Some(false),
            (BinOp::Or, Some(true)) => Some(true),
            (BinOp::Implies, Some(false)) => Some(true),
            _ => None,
        };
        if short.is_some() {
            return Ok(short);
        }
        let c = self.eval_bool(r, focus, fr, pos)?;
        Ok(match op {
            BinOp::And => match (a, c) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            BinOp::Or => match (a, c) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            BinOp::Xor => match (a, c) {
                (Some(x), Some(y)) => Some(x != y),
                _ => None,
            },
            _ => match (a, c) {
                (Some(true), c) => c,
                (None, Some(true)) => Some(true),
                _ => None,
            },
        })
    }

    /// [`Ev::eval_bool`] of a lambda criterion on one item.
    pub(crate) fn lambda_bool(&self, e: &Expr, item: &Item<'a>, index: usize, pos: usize) -> Truth {
        let fr = Frame::of_item(item, index, None);
        self.eval_bool(e, fr.this, &fr, pos)
    }
}
