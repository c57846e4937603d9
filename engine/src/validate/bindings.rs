//! Terminology bindings: hands each bound value (code, Coding,
//! CodeableConcept, Quantity, string, uri) to the offline terminology
//! ([`crate::terminology::check_binding`]) and reports what it finds at the
//! right sub-path and position.

use super::walk::Walker;
use super::Finding;
use crate::json::Node;
use crate::model::Element;
use crate::terminology::{check_binding_in, BindingValue, CodingRef};

/// Quantity and its specialisations share the unit binding logic.
const QUANTITY_TYPES: &[&str] = &[
    "Quantity",
    "SimpleQuantity",
    "Age",
    "Count",
    "Distance",
    "Duration",
    "MoneyQuantity",
];

/// Checks value `v` of type `type_code` against the binding of `e`.
pub(super) fn check<'a>(w: &mut Walker<'a>, v: &'a Node, e: &Element, type_code: &str) {
    let Some(binding) = &e.binding else { return };
    let Some(vs) = binding.value_set.as_deref() else {
        return;
    };
    let strength = binding.strength.as_str();
    let is_quantity = QUANTITY_TYPES.contains(&type_code);
    // Preferred and example bindings report nothing (Quantity units are
    // still checked for UCUM syntax by the terminology).
    if !matches!(strength, "required" | "extensible") && !is_quantity {
        return;
    }
    let value = match type_code {
        "code" => match v.as_str() {
            Some(c) => BindingValue::Code(c),
            None => return,
        },
        "string" | "uri" | "url" | "canonical" => match v.as_str() {
            Some(s) => BindingValue::String(s),
            None => return,
        },
        "Coding" => BindingValue::Coding(coding(v)),
        "CodeableConcept" => BindingValue::CodeableConcept {
            codings: v
                .get("coding")
                .and_then(Node::as_array)
                .unwrap_or(&[])
                .iter()
                .map(coding)
                .collect(),
            text: v.get("text").and_then(Node::as_str),
        },
        t if QUANTITY_TYPES.contains(&t) => BindingValue::Quantity {
            system: v.get("system").and_then(Node::as_str),
            code: v.get("code").and_then(Node::as_str),
        },
        _ => return,
    };
    let term = w.ctx.terminology();
    for f in check_binding_in(term, strength, vs, binding.value_set_in(term), value) {
        let saved = w.path.len();
        let pos = node_at(v, &f.path).map(|n| n.pos).unwrap_or(v.pos);
        if !f.path.is_empty() {
            w.path.push('.');
            w.path.push_str(&f.path);
        }
        w.report(Finding {
            severity: f.severity,
            code: f.issue_type,
            id: f.message_id,
            text: f.text,
            pos,
        });
        w.path.truncate(saved);
    }
}

fn coding(v: &Node) -> CodingRef<'_> {
    CodingRef {
        system: v.get("system").and_then(Node::as_str),
        code: v.get("code").and_then(Node::as_str),
        display: v.get("display").and_then(Node::as_str),
    }
}

/// The node at a relative path like `coding[1].display`.
fn node_at<'n>(v: &'n Node, path: &str) -> Option<&'n Node> {
    let mut cur = v;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (name, index) = match seg.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        cur = cur.get(name)?;
        if let Some(i) = index {
            cur = cur.as_array()?.get(i)?;
        }
    }
    Some(cur)
}
