//! Invariants: the FHIRPath constraints of each element, evaluated on every
//! value of that element with their declared severity.
//!
//! Constraints compile once per context ([`Context::constraint_expression`]).
//! Core constraints that run everywhere have native checks with the same
//! meaning ([`natives`]). In a
//! profile pass, constraints that come from a base definition are skipped
//! (the base pass evaluated them).

use super::natives;
use super::walk::{Mode, Walker};
use super::Finding;
use crate::fhirpath::{
    Environment, EvalCache, EvalHost, EvalInput, Item, ModelInfo, NodeItem, TypeName,
};
use crate::json::Node;
use crate::messages as msg;
use crate::model::{ConstraintTraits, Context};
use crate::outcome::{IssueType, Severity};
use crate::terminology::Membership;

/// Evaluates `constraints` on `focus` (of FHIR type `type_name`; `ext` is
/// the `_x` sibling of a primitive).
pub(super) fn check<'a>(
    w: &mut Walker<'a>,
    constraints: &[u32],
    focus: Option<&'a Node>,
    ext: Option<&'a Node>,
    type_name: &'a str,
) {
    if constraints.is_empty() || w.skip_invariants() {
        return;
    }
    // Most elements have only natives that hold (`ele-1`, `ext-1`): those
    // are counted here, and the first constraint that needs more hands the
    // rest of the list to `check_from`, which sets up an evaluation.
    for (i, &ci) in constraints.iter().enumerate() {
        // The traits, not the constraint's texts: this runs on every
        // element.
        let traits = w.ctx.constraint_traits(ci);
        match native_answer(w, traits, focus, ext) {
            None => {}
            Some(Some(true)) => count(w, traits.error),
            Some(_) => return check_from(w, &constraints[i..], focus, ext, type_name),
        }
    }
}

/// `None` when the constraint does not apply in this pass (a base
/// definition's constraint in a profile pass, or no expression);
/// otherwise its native's answer, if it has a native that decides.
fn native_answer<'a>(
    w: &Walker<'a>,
    traits: ConstraintTraits,
    focus: Option<&'a Node>,
    ext: Option<&'a Node>,
) -> Option<Option<bool>> {
    if (w.mode == Mode::Profile && traits.from_base) || !traits.has_expression {
        return None;
    }
    Some(
        traits
            .native
            .and_then(|n| natives::check(n, focus, ext, || w.fhirpath_resources().resource)),
    )
}

fn count(w: &mut Walker<'_>, error: bool) {
    if error {
        w.stats_mut().evaluated_error += 1;
    } else {
        w.stats_mut().evaluated_warning += 1;
    }
}

/// [`check`] from the first constraint that is not a native holding (out
/// of line: its evaluation state would weigh on every element's call).
#[inline(never)]
fn check_from<'a>(
    w: &mut Walker<'a>,
    constraints: &[u32],
    focus: Option<&'a Node>,
    ext: Option<&'a Node>,
    type_name: &'a str,
) {
    let ctx = w.ctx;
    // One input, environment and subexpression cache for all the
    // constraints of this element (SHIN-NY's Bundle root has a hundred
    // that walk the same paths).
    let host = Host { ctx };
    // Built at the first constraint that is evaluated.
    let mut env: Option<Environment<'_>> = None;
    let cache = EvalCache::for_expressions(constraints.len());
    if constraints.len() > 1 && !ctx.all_compiled {
        // All of the group compiled before any is evaluated, so that the
        // context's subexpression registry knows what they share (a
        // context loaded from an artifact compiles on first use; a built
        // one has compiled everything and skips this).
        for &ci in constraints {
            let _ = ctx.constraint_expression(ci);
        }
    }
    let mut input: Option<EvalInput<'_>> = None;
    // Computed at the first constraint that is not native.
    let mut results: Option<(InvariantResults<'a>, [usize; 5])> = None;
    for &ci in constraints {
        let traits = ctx.constraint_traits(ci);
        let Some(native) = native_answer(w, traits, focus, ext) else {
            continue;
        };
        let error = traits.error;
        let result = match native {
            Some(r) => Ok(Some(r)),
            None => {
                let (results, nodes) =
                    results.get_or_insert_with(|| (w.invariant_results(), node_key(w, focus, ext)));
                let key = (ci, *nodes);
                let known = results
                    .borrow()
                    .get(&key)
                    .and_then(|(t, r)| (*t == type_name).then(|| r.clone()));
                known.unwrap_or_else(|| {
                    let input =
                        input.get_or_insert_with(|| element_input(w, focus, ext, type_name));
                    let env = env.get_or_insert_with(|| Environment {
                        host: Some(&host),
                        ..Default::default()
                    });
                    let r = evaluate(ctx, ci, input, env, &cache);
                    results.borrow_mut().insert(key, (type_name, r.clone()));
                    r
                })
            }
        };
        count(w, error);
        if matches!(result, Ok(Some(true) | None)) {
            continue;
        }
        let pos = focus.or(ext).map(|n| n.pos).unwrap_or_default();
        let c = ctx.constraint(ci);
        let src = c.expression.as_deref().unwrap_or_default();
        match result {
            Ok(Some(false)) => {
                w.stats_mut().failed += 1;
                w.report(Finding {
                    severity: if error {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    code: IssueType::Invariant,
                    id: &c.key,
                    text: format!("Constraint failed: {}: '{}'", c.key, c.human),
                    pos,
                });
                w.set_last_diagnostics(src);
            }
            Ok(_) => {}
            Err(reason) => {
                w.stats_mut().not_evaluated += 1;
                w.report(Finding {
                    severity: Severity::Warning,
                    code: IssueType::Processing,
                    id: msg::INVARIANT_NOT_EVALUATED,
                    text: format!("Constraint {} could not be evaluated: {reason}", c.key),
                    pos,
                });
                w.set_last_diagnostics(src);
            }
        }
    }
}

/// Invariant results of one document, shared by the walker and its
/// sub-walkers: the same constraint on the same element with the same
/// `%resource`, `%rootResource` and Bundle gives the same result, and
/// conformance checks (profile slices, reference targets) walk the same
/// resources again. Keyed by constraint and node addresses; the value
/// keeps the type the focus had, and a different type is evaluated anew.
pub(super) type InvariantResults<'a> = std::rc::Rc<
    std::cell::RefCell<
        crate::fxhash::FxHashMap<(u32, [usize; 5]), (&'a str, Result<Option<bool>, String>)>,
    >,
>;

/// Addresses of what an invariant on this element reads: the element, its
/// `_x` sibling, `%resource`, `%rootResource` and the Bundle.
fn node_key(w: &Walker<'_>, focus: Option<&Node>, ext: Option<&Node>) -> [usize; 5] {
    let res = w.fhirpath_resources();
    let addr = |n: Option<&Node>| n.map_or(0, |n| n as *const Node as usize);
    [
        addr(focus),
        addr(ext),
        addr(res.resource),
        addr(res.root),
        addr(res.bundle),
    ]
}

/// The FHIRPath input for an element: its value, `%resource`,
/// `%rootResource` and the Bundle that `resolve()` searches.
fn element_input<'a>(
    w: &Walker<'a>,
    focus: Option<&'a Node>,
    ext: Option<&'a Node>,
    type_name: &str,
) -> EvalInput<'a> {
    let res = w.fhirpath_resources();
    let mut input = EvalInput::with_focus(
        vec![Item::Node(NodeItem {
            node: focus,
            ext,
            // The model's interned name: no allocation per element.
            type_name: w
                .ctx
                .fhirpath_model()
                .type_name(type_name)
                .unwrap_or_else(|| TypeName::from(type_name)),
        })],
        res.resource,
        res.root,
    );
    input.bundle = res.bundle;
    input
}

fn evaluate<'a>(
    ctx: &Context,
    ci: u32,
    input: &EvalInput<'a>,
    env: &Environment<'a>,
    cache: &EvalCache<'a>,
) -> Result<Option<bool>, String> {
    let expr = ctx.constraint_expression(ci).map_err(str::to_string)?;
    // Even one expression repeats subexpressions (dom-3 walks the
    // resource's descendants more than once), so the cache is always used.
    expr.evaluate_bool_shared(input, env, Some(cache))
        .map_err(|e| e.to_string())
}

/// Terminology and profile services for `memberOf()` and `conformsTo()`.
struct Host<'c> {
    ctx: &'c Context,
}

impl EvalHost for Host<'_> {
    fn member_of(&self, item: &Item<'_>, valueset_url: &str) -> Option<bool> {
        let Item::Node(n) = item else {
            return match item {
                Item::String(s) => decide(self.ctx.terminology().check_code(
                    valueset_url,
                    None,
                    s,
                    None,
                )),
                _ => None,
            };
        };
        let node = n.node?;
        let one = |c: &Node| {
            let code = c.get("code")?.as_str()?;
            decide(self.ctx.terminology().check_code(
                valueset_url,
                c.get("system").and_then(Node::as_str),
                code,
                None,
            ))
        };
        match &*n.type_name {
            "Coding" => one(node),
            "CodeableConcept" => {
                let results: Vec<Option<bool>> = node
                    .get("coding")
                    .and_then(Node::as_array)
                    .unwrap_or(&[])
                    .iter()
                    .map(one)
                    .collect();
                if results.contains(&Some(true)) {
                    Some(true)
                } else if results.iter().all(|r| *r == Some(false)) {
                    Some(false)
                } else {
                    None
                }
            }
            _ => decide(self.ctx.terminology().check_code(
                valueset_url,
                None,
                node.as_str()?,
                None,
            )),
        }
    }

    fn conforms_to(&self, item: &Item<'_>, profile_url: &str) -> Option<bool> {
        let Item::Node(n) = item else { return None };
        let node = n.node?;
        self.ctx.structure_by_url(profile_url)?;
        let mut w = Walker::new(self.ctx);
        Some(w.conforms(node, profile_url))
    }
}

fn decide(m: Membership) -> Option<bool> {
    match m {
        Membership::Member { .. } => Some(true),
        Membership::NotMember => Some(false),
        _ => None,
    }
}
