//! Invariants: the FHIRPath constraints of each element, evaluated on every
//! value of that element with their declared severity.
//!
//! Constraints compile once per context ([`Context::constraint_expression`]).
//! Core constraints that run everywhere have native checks with the same
//! meaning, chosen by their expression text: `ele-1` (every element),
//! `ext-1` (every extension), `ref-1` when the reference is not local (`#`)
//! and `dom-2` to `dom-5` on resources without contained resources. In a
//! profile pass, constraints that come from a base definition are skipped
//! (the base pass evaluated them).

use super::walk::{Mode, Walker};
use super::Finding;
use crate::fhirpath::{
    Environment, EvalCache, EvalHost, EvalInput, Item, ModelInfo, NodeItem, TypeName,
};
use crate::json::{Node, Value};
use crate::messages as msg;
use crate::model::Context;
use crate::outcome::{IssueType, Severity};
use crate::terminology::Membership;

const ELE_1: &str = "hasValue() or (children().count() > id.count())";
const EXT_1: &str = "extension.exists() != value.exists()";
/// `dom-2` to `dom-5`: all start from `contained` and hold when it is empty.
const DOM_CONTAINED: [&str; 4] = [
    "contained.contained.empty()",
    "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()",
    "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
    "contained.meta.security.empty()",
];
const REF_1: &str = "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))";

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
    let ctx = w.ctx;
    // One input, environment and subexpression cache for all the
    // constraints of this element (SHIN-NY's Bundle root has a hundred
    // that walk the same paths).
    let host = Host { ctx };
    let env = Environment {
        host: Some(&host),
        ..Default::default()
    };
    let cache = EvalCache::for_expressions(constraints.len());
    let mut input: Option<EvalInput<'_>> = None;
    // Computed at the first constraint that is not native.
    let mut results: Option<(InvariantResults<'a>, [usize; 5])> = None;
    for &ci in constraints {
        let c = ctx.constraint(ci);
        if w.mode == Mode::Profile && ctx.constraint_from_base(ci) {
            continue;
        }
        let Some(src) = c.expression.as_deref() else {
            continue;
        };
        let error = c.severity == "error";
        let result = match src {
            ELE_1 => Some(native_ele_1(focus, ext)),
            EXT_1 if c.key == "ext-1" => focus.map(native_ext_1),
            REF_1 => focus.and_then(native_ref_1),
            _ if DOM_CONTAINED.contains(&src) => focus.and_then(native_no_contained),
            _ => None,
        };
        let result = match result {
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
                    let r = evaluate(ctx, ci, input, &env, &cache);
                    results.borrow_mut().insert(key, (type_name, r.clone()));
                    r
                })
            }
        };
        if error {
            w.stats_mut().evaluated_error += 1;
        } else {
            w.stats_mut().evaluated_warning += 1;
        }
        let pos = focus.or(ext).map(|n| n.pos).unwrap_or_default();
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

/// `hasValue() or (children().count() > id.count())`.
fn native_ele_1(focus: Option<&Node>, ext: Option<&Node>) -> bool {
    let has_children = |n: &Node| match &n.value {
        Value::Object(members) => members.iter().any(|m| &*m.key != "id"),
        _ => false,
    };
    match focus {
        Some(n) if !matches!(n.value, Value::Object(_)) => true, // a primitive value
        Some(n) => has_children(n) || ext.is_some_and(has_children),
        None => ext.is_some_and(has_children),
    }
}

/// `extension.exists() != value.exists()` on an Extension.
fn native_ext_1(n: &Node) -> bool {
    let members = n.as_object().unwrap_or(&[]);
    let has_ext = members.iter().any(|m| &*m.key == "extension");
    let has_value = members.iter().any(|m| {
        m.key.starts_with("value") && m.key[5..].starts_with(|c: char| c.is_ascii_uppercase())
    });
    has_ext != has_value
}

/// `ref-1` when its left side decides it: a `reference` that is not
/// local (`#…`) makes `startsWith('#').not()` true. Local references (rare:
/// they need the container's `contained`) and odd shapes are left to the
/// expression.
fn native_ref_1(n: &Node) -> Option<bool> {
    let r = n.get("reference")?.as_str()?;
    (!r.starts_with('#')).then_some(true)
}

/// `dom-2` to `dom-5` on a resource without `contained` (nor `_contained`):
/// true; otherwise left to the expressions.
fn native_no_contained(n: &Node) -> Option<bool> {
    let members = n.as_object()?;
    (!members
        .iter()
        .any(|m| matches!(&*m.key, "contained" | "_contained")))
    .then_some(true)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natives_match_their_expressions() {
        let p = |s: &str| crate::json::parse(s.as_bytes()).unwrap();
        assert!(native_ele_1(Some(&p("\"x\"")), None));
        assert!(!native_ele_1(Some(&p("{\"id\": \"a\"}")), None));
        assert!(native_ele_1(
            Some(&p("{\"id\": \"a\", \"text\": \"t\"}")),
            None
        ));
        assert!(!native_ele_1(None, Some(&p("{\"id\": \"a\"}"))));
        assert!(native_ext_1(&p("{\"url\": \"u\", \"valueString\": \"x\"}")));
        assert!(!native_ext_1(&p("{\"url\": \"u\"}")));
        assert!(!native_ext_1(&p(
            "{\"url\": \"u\", \"valueString\": \"x\", \"extension\": []}"
        )));
        assert_eq!(
            native_ref_1(&p("{\"reference\": \"Patient/1\"}")),
            Some(true)
        );
        assert_eq!(native_ref_1(&p("{\"reference\": \"#c1\"}")), None);
        assert_eq!(native_ref_1(&p("{\"display\": \"x\"}")), None);
    }

    /// The natives are chosen by expression text: the texts here must be
    /// those of the R4 core definitions, or the natives never run.
    #[test]
    fn native_texts_are_the_core_definitions() {
        let core = "../../shared/fhir-packages/hl7.fhir.r4.core#4.0.1/package";
        let exprs = |file: &str| -> Vec<(String, String)> {
            let text = std::fs::read_to_string(format!("{core}/{file}")).expect("core package");
            let sd: serde_json::Value = serde_json::from_str(&text).unwrap();
            sd["snapshot"]["element"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| e["constraint"].as_array().cloned().unwrap_or_default())
                .map(|c| {
                    (
                        c["key"].as_str().unwrap_or("").to_string(),
                        c["expression"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        };
        let has = |list: &[(String, String)], key: &str, src: &str| {
            list.iter().any(|(k, e)| k == key && e == src)
        };
        let dom = exprs("StructureDefinition-DomainResource.json");
        for (key, src) in ["dom-2", "dom-3", "dom-4", "dom-5"]
            .iter()
            .zip(DOM_CONTAINED)
        {
            assert!(has(&dom, key, src), "{key}");
        }
        let reference = exprs("StructureDefinition-Reference.json");
        assert!(has(&reference, "ref-1", REF_1));
        let element = exprs("StructureDefinition-Element.json");
        assert!(has(&element, "ele-1", ELE_1));
        let extension = exprs("StructureDefinition-Extension.json");
        assert!(has(&extension, "ext-1", EXT_1));
    }

    /// dom-2 to dom-5 hold on a resource without contained resources, as
    /// their expressions say; with contained resources they are evaluated.
    #[test]
    fn dom_natives_agree_with_the_expressions() {
        use crate::fhirpath::{compile, CompileOptions, Environment, EvalInput};
        let bare = crate::json::parse(
            br##"{"resourceType": "Observation", "id": "o", "meta": {"versionId": "1"}, "subject": {"reference": "#p"}}"##,
        )
        .unwrap();
        let with = crate::json::parse(
            br#"{"resourceType": "Observation", "contained": [{"resourceType": "Patient", "id": "p"}]}"#,
        )
        .unwrap();
        assert_eq!(native_no_contained(&with), None);
        for src in DOM_CONTAINED {
            let e = compile(src, &CompileOptions::default()).unwrap();
            let input = EvalInput::with_focus(
                vec![Item::Node(NodeItem {
                    node: Some(&bare),
                    ext: None,
                    type_name: TypeName::from("Observation"),
                })],
                Some(&bare),
                Some(&bare),
            );
            let full = e.evaluate_bool(&input, &Environment::default()).unwrap();
            assert_eq!(native_no_contained(&bare), full, "{src}");
        }
    }

    /// The natives give what their expressions give, on the core
    /// definitions' own text (so a changed text is noticed).
    #[test]
    fn ref_1_native_agrees_with_the_expression() {
        use crate::fhirpath::{compile, CompileOptions, Environment, EvalInput};
        let e = compile(REF_1, &CompileOptions::default()).unwrap();
        let root = crate::json::parse(
            br##"{"resourceType": "Observation", "contained": [{"resourceType": "Patient", "id": "c1"}],
                 "subject": {"reference": "Patient/1"}, "performer": [{"reference": "#c1"}, {"reference": "#zz"}, {"reference": "http://x/Patient/2"}]}"##,
        )
        .unwrap();
        let mut refs: Vec<&Node> = vec![root.get("subject").unwrap()];
        refs.extend(root.get("performer").unwrap().as_array().unwrap());
        for r in refs {
            let input = EvalInput::with_focus(
                vec![Item::Node(NodeItem {
                    node: Some(r),
                    ext: None,
                    type_name: TypeName::from("Reference"),
                })],
                Some(&root),
                Some(&root),
            );
            let full = e.evaluate_bool(&input, &Environment::default()).unwrap();
            if let Some(native) = native_ref_1(r) {
                assert_eq!(Some(native), full, "{:?}", r.get("reference"));
            }
        }
    }
}
