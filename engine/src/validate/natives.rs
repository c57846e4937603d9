//! Native checks for core constraints that run on every element of their
//! type, chosen by their expression text (a profile that changes the text
//! gets its expression evaluated):
//!
//! - `ele-1` (every element), `ext-1` (every extension);
//! - `ref-1` when the reference is not local (`#…`);
//! - `dom-2` to `dom-5` on resources without contained resources, `dom-6`;
//! - `obs-6` and `obs-7` on Observations that lack one of their two sides;
//! - the Bundle rules `bdl-1` to `bdl-12` in their common cases.
//!
//! A native answers only where the answer is plain from the JSON: `None`
//! (odd shapes, `_x` extension siblings, local references, contained
//! resources, …) leaves the constraint to its expression. An empty
//! expression result passes a constraint as `true` does, so a native says
//! `Some(true)` where the expression would give an empty result.
//! `tests` compares each native with its expression.

use crate::json::{Node, Value};
use std::hash::BuildHasher;

const ELE_1: &str = "hasValue() or (children().count() > id.count())";
const EXT_1: &str = "extension.exists() != value.exists()";
/// `dom-2` to `dom-5`: all start from `contained` and hold when it is empty.
const DOM_CONTAINED: [&str; 4] = [
    "contained.contained.empty()",
    "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()",
    "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
    "contained.meta.security.empty()",
];
const DOM_6: &str = "text.`div`.exists()";
const REF_1: &str = "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))";
const OBS_6: &str = "dataAbsentReason.empty() or value.empty()";
const OBS_7: &str = "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()";
const BDL_1: &str = "total.empty() or (type = 'searchset') or (type = 'history')";
const BDL_2: &str = "entry.search.empty() or (type = 'searchset')";
const BDL_3: &str = "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))";
const BDL_4: &str = "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))";
const BDL_5: &str = "resource.exists() or request.exists() or response.exists()";
const BDL_7: &str = "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()";
const BDL_8: &str = "fullUrl.contains('/_history/').not()";
const BDL_9: &str =
    "type = 'document' implies (identifier.system.exists() and identifier.value.exists())";
const BDL_10: &str = "type = 'document' implies (timestamp.hasValue())";
const BDL_11: &str = "type = 'document' implies entry.first().resource.is(Composition)";
const BDL_12: &str = "type = 'message' implies entry.first().resource.is(MessageHeader)";

/// A constraint with a native check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Native {
    Ele1,
    Ext1,
    Ref1,
    NoContained,
    /// `dom-6`: a narrative has its `div`.
    Dom6,
    /// `obs-6` (`dataAbsentReason`) and `obs-7` (`component`): `a.empty()
    /// or value.empty()` where the Observation has no `a` or no `value[x]`.
    Obs6,
    Obs7,
    Bdl1,
    Bdl2,
    /// `bdl-3` (`request`) and `bdl-4` (`response`).
    Bdl3,
    Bdl4,
    Bdl5,
    Bdl7,
    Bdl8,
    /// `type = 'document' implies …` (`bdl-9` to `bdl-11`).
    IfDocument,
    /// `type = 'message' implies …` (`bdl-12`).
    IfMessage,
}

/// The native check of a constraint, by its key and expression text.
pub(crate) fn native_for(key: &str, src: &str) -> Option<Native> {
    Some(match src {
        ELE_1 => Native::Ele1,
        EXT_1 if key == "ext-1" => Native::Ext1,
        REF_1 => Native::Ref1,
        _ if DOM_CONTAINED.contains(&src) => Native::NoContained,
        DOM_6 => Native::Dom6,
        OBS_6 => Native::Obs6,
        OBS_7 => Native::Obs7,
        BDL_1 => Native::Bdl1,
        BDL_2 => Native::Bdl2,
        BDL_3 => Native::Bdl3,
        BDL_4 => Native::Bdl4,
        BDL_5 => Native::Bdl5,
        BDL_7 => Native::Bdl7,
        BDL_8 => Native::Bdl8,
        BDL_9 | BDL_10 | BDL_11 => Native::IfDocument,
        BDL_12 => Native::IfMessage,
        _ => return None,
    })
}

/// The native's answer on `focus` (with `_x` sibling `ext`; `resource`
/// gives `%resource`, asked only by the natives that read it), or `None`
/// to evaluate the expression.
pub(crate) fn check<'n>(
    n: Native,
    focus: Option<&'n Node>,
    ext: Option<&'n Node>,
    resource: impl FnOnce() -> Option<&'n Node>,
) -> Option<bool> {
    match n {
        Native::Ele1 => Some(ele_1(focus, ext)),
        Native::Ext1 => focus.map(ext_1),
        Native::Ref1 => focus.and_then(ref_1),
        Native::NoContained => focus.and_then(no_contained),
        Native::Dom6 => match object_member(focus?, "text")? {
            None => Some(false),
            Some(text) => exists(text, "div"),
        },
        Native::Obs6 => lacks_one(focus?, "dataAbsentReason"),
        Native::Obs7 => lacks_one(focus?, "component"),
        Native::Bdl1 => bdl_1(focus?),
        Native::Bdl2 => bdl_2(focus?),
        Native::Bdl3 => entries_match_type(
            focus?,
            resource()?,
            "request",
            &["batch", "transaction", "history"],
        ),
        Native::Bdl4 => entries_match_type(
            focus?,
            resource()?,
            "response",
            &["batch-response", "transaction-response", "history"],
        ),
        Native::Bdl5 => bdl_5(focus?),
        Native::Bdl7 => bdl_7(focus?),
        Native::Bdl8 => bdl_8(focus?),
        Native::IfDocument => type_is_not(focus?, "document"),
        Native::IfMessage => type_is_not(focus?, "message"),
    }
}

/// `hasValue() or (children().count() > id.count())`.
fn ele_1(focus: Option<&Node>, ext: Option<&Node>) -> bool {
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
fn ext_1(n: &Node) -> bool {
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
fn ref_1(n: &Node) -> Option<bool> {
    let r = n.get("reference")?.as_str()?;
    (!r.starts_with('#')).then_some(true)
}

/// `dom-2` to `dom-5` on a resource without `contained` (nor `_contained`):
/// true; otherwise left to the expressions.
fn no_contained(n: &Node) -> Option<bool> {
    let members = n.as_object()?;
    (!members
        .iter()
        .any(|m| matches!(&*m.key, "contained" | "_contained")))
    .then_some(true)
}

/// `obs-6`/`obs-7` on an Observation: true when it has no `key` (nor
/// `_key`: the left side is empty) or no `value[x]` (no member whose name
/// starts with `value` or `_value`: navigation finds nothing); otherwise
/// (both present) left to the expression.
fn lacks_one(n: &Node, key: &str) -> Option<bool> {
    let members = n.as_object()?;
    // Names without the `_` of a primitive's extension sibling.
    let mut names = members
        .iter()
        .map(|m| m.key.strip_prefix('_').unwrap_or(&m.key));
    let lacks_key = !names.clone().any(|k| k == key);
    let lacks_value = !names.any(|k| k.starts_with("value"));
    (lacks_key || lacks_value).then_some(true)
}

/// Whether member `key` of object `n` has a `_key` sibling (an extension
/// that navigation would also reach).
fn has_extension_sibling(n: &Node, key: &str) -> bool {
    n.as_object()
        .unwrap_or(&[])
        .iter()
        .any(|m| m.key.strip_prefix('_') == Some(key))
}

/// A single string member: `Some(None)` when absent, `Some(Some(s))` when a
/// string; `None` for anything else (another JSON type, an array, null,
/// an `_key` sibling).
fn plain_str<'n>(n: &'n Node, key: &str) -> Option<Option<&'n str>> {
    if has_extension_sibling(n, key) {
        return None;
    }
    match n.get(key) {
        None => Some(None),
        Some(v) => v.as_str().map(Some),
    }
}

/// `key.exists()` for a single-valued member of object `n`; `None` when
/// navigation could see it differently (null, an array, `_key`).
fn exists(n: &Node, key: &str) -> Option<bool> {
    if has_extension_sibling(n, key) {
        return None;
    }
    match n.get(key).map(|v| &v.value) {
        None => Some(false),
        Some(Value::Null | Value::Array(_)) => None,
        Some(_) => Some(true),
    }
}

/// The entries of a Bundle: `Some(&[])` when absent; `None` unless an
/// array of objects without an `_entry` sibling.
fn entries(bundle: &Node) -> Option<&[Node]> {
    if has_extension_sibling(bundle, "entry") {
        return None;
    }
    let Some(e) = bundle.get("entry") else {
        return Some(&[]);
    };
    let e = e.as_array()?;
    e.iter().all(|x| x.as_object().is_some()).then_some(e)
}

/// `total.empty() or (type = 'searchset') or (type = 'history')`.
fn bdl_1(b: &Node) -> Option<bool> {
    if matches!(plain_str(b, "type")?, Some("searchset" | "history")) {
        return Some(true);
    }
    (!exists(b, "total")?).then_some(true)
}

/// `entry.search.empty() or (type = 'searchset')`.
fn bdl_2(b: &Node) -> Option<bool> {
    if plain_str(b, "type")? == Some("searchset") {
        return Some(true);
    }
    for e in entries(b)? {
        if exists(e, "search")? {
            return None;
        }
    }
    Some(true)
}

/// `bdl-3`/`bdl-4`: `entry.all(member.exists() = (%resource.type = one of
/// kinds))`, on a Bundle that is its own `%resource`.
fn entries_match_type(b: &Node, resource: &Node, member: &str, kinds: &[&str]) -> Option<bool> {
    if !std::ptr::eq(b, resource) {
        return None;
    }
    // Without a type the comparison is empty and `all()` false for any
    // entry: left to the expression.
    let ty = plain_str(b, "type")??;
    let want = kinds.contains(&ty);
    for e in entries(b)? {
        if exists(e, member)? != want {
            return Some(false);
        }
    }
    Some(true)
}

/// `resource.exists() or request.exists() or response.exists()` on an entry.
fn bdl_5(e: &Node) -> Option<bool> {
    e.as_object()?;
    let mut any = false;
    for key in ["resource", "request", "response"] {
        any |= exists(e, key)?;
    }
    Some(any)
}

/// `(type = 'history') or entry.where(fullUrl.exists())
/// .select(fullUrl&resource.meta.versionId).isDistinct()`.
fn bdl_7(b: &Node) -> Option<bool> {
    let ty = plain_str(b, "type")?;
    if ty == Some("history") {
        return Some(true);
    }
    // Keyed by a hash of the joined text (`&` joins the two strings),
    // compared in full within a bucket; instance data, so std's keyed
    // hasher.
    let state = std::collections::hash_map::RandomState::new();
    let mut joined = String::new();
    let mut seen: std::collections::HashMap<u64, Vec<(&str, &str)>> = Default::default();
    let mut distinct = true;
    for e in entries(b)? {
        let Some(url) = plain_str(e, "fullUrl")? else {
            continue;
        };
        let version = match object_member(e, "resource")? {
            None => "",
            Some(r) => match object_member(r, "meta")? {
                None => "",
                Some(m) => plain_str(m, "versionId")?.unwrap_or(""),
            },
        };
        joined.clear();
        joined.push_str(url);
        joined.push_str(version);
        let bucket = seen.entry(state.hash_one(joined.as_str())).or_default();
        let joined_eq = |(u, v): &(&str, &str)| {
            u.len() + v.len() == url.len() + version.len()
                && u.bytes()
                    .chain(v.bytes())
                    .eq(url.bytes().chain(version.bytes()))
        };
        if bucket.iter().any(joined_eq) {
            distinct = false;
        }
        bucket.push((url, version));
    }
    // Not distinct: false, or empty (a pass) when there is no type.
    Some(distinct || ty.is_none())
}

/// An object member: `Some(None)` when absent; `None` unless an object
/// without an `_key` sibling.
fn object_member<'n>(n: &'n Node, key: &str) -> Option<Option<&'n Node>> {
    if has_extension_sibling(n, key) {
        return None;
    }
    match n.get(key) {
        None => Some(None),
        Some(v) => v.as_object().map(|_| Some(v)),
    }
}

/// `fullUrl.contains('/_history/').not()` on an entry.
fn bdl_8(e: &Node) -> Option<bool> {
    e.as_object()?;
    match plain_str(e, "fullUrl")? {
        Some(url) => Some(!url.contains("/_history/")),
        None => Some(true), // empty: a pass
    }
}

/// `type = 'KIND' implies …` when the type is another: true.
fn type_is_not(b: &Node, kind: &str) -> Option<bool> {
    match plain_str(b, "type")? {
        Some(t) if t != kind => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
