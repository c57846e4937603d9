//! Slicing: assigns the items of a sliced element to slices by their
//! discriminators, then checks closed/open rules, order and slice
//! cardinality. The walker validates each item against the slice it matched
//! (so a slice's constraints apply to that slice's items only).
//!
//! Discriminators supported: `value` and `pattern` (fixed/pattern values in
//! the slice, or the extension URL of extension slices), `exists`, `type`
//! and `profile` (the item, or the target of `resolve()`, must conform to
//! the slice's profile). Paths: `$this`, dotted element names, `ofType(T)`,
//! `extension('url')` and `resolve()`. Reslices (`a/b`) divide the items
//! of their slice among themselves; `@default` takes the items that match
//! no other slice. A discriminator that cannot be
//! evaluated makes the whole slicing unchecked, said as one information
//! issue, never a guess.

use super::walk::Walker;
use crate::json::{Node, Pos, Value};
use crate::messages as msg;
use crate::model::{ElemId, Element, Literal, Slicing, StructId, Structure, UNBOUNDED};
use crate::outcome::{IssueType, Severity};

/// The slice each item matched (`None`: no slice).
pub(super) type Assignment = Vec<Option<ElemId>>;

/// What a discriminator requires of one slice.
enum Requirement<'c> {
    Equals(&'c Literal),
    Matches(&'c Literal),
    String(&'c str),
    Exists(bool),
    Type(Vec<&'c str>),
    Profile(Vec<&'c str>),
    /// A value discriminator on an element that has a required binding
    /// and no fixed/pattern value: membership in the value set.
    InValueSet(&'c str),
}

/// Assigns `items` (with their positions) to the slices of `e`.
pub(super) fn assign<'a>(
    w: &mut Walker<'a>,
    sid: StructId,
    e: &'a Element,
    items: &[Option<&'a Node>],
    item_type: Option<&str>,
    pos: Pos,
) -> Option<Assignment> {
    let slicing = e.slicing.as_ref()?;
    assign_with(w, sid, e, slicing, items, item_type, pos)
}

/// `assign` with the slicing given: a slice with reslices and no slicing of
/// its own uses its parent's.
fn assign_with<'a>(
    w: &mut Walker<'a>,
    sid: StructId,
    e: &'a Element,
    slicing: &'a Slicing,
    items: &[Option<&'a Node>],
    item_type: Option<&str>,
    pos: Pos,
) -> Option<Assignment> {
    if e.slices.is_empty() {
        return None;
    }
    let s: &'a Structure = w.ctx.structure(sid);
    // `@default` takes the items that match no other slice; it has no
    // discriminator values of its own.
    let default_slice = e
        .slices
        .iter()
        .position(|&sl| s.elements[sl as usize].slice_name.as_deref() == Some("@default"));
    // Requirements per slice and discriminator, computed once.
    // Discriminator paths are split once here, not per item and slice.
    let mut reqs: Vec<Vec<(Segments<'a>, Requirement<'a>)>> = Vec::with_capacity(e.slices.len());
    for (k, &sl) in e.slices.iter().enumerate() {
        let slice = &s.elements[sl as usize];
        let mut per = Vec::new();
        if Some(k) == default_slice {
            reqs.push(per);
            continue;
        }
        for (kind, path) in &slicing.discriminators {
            match requirement(w, s, slice, kind, path) {
                Some(r) => per.push((segments(path), r)),
                None => {
                    w.report_at(
                        Severity::Information,
                        IssueType::NotSupported,
                        msg::SLICING_NOT_CHECKED,
                        format!(
                            "Slicing of {} was not checked: discriminator {kind}:{path} cannot be evaluated for slice '{}'",
                            e.path,
                            slice.slice_name.as_deref().unwrap_or("?")
                        ),
                        pos,
                    );
                    return None;
                }
            }
        }
        reqs.push(per);
    }

    let mut assignment: Assignment = vec![None; items.len()];
    let mut counts = vec![0usize; e.slices.len()];
    let mut last_slice = 0usize;
    let mut seen_unmatched = false;
    for (i, item) in items.iter().enumerate() {
        let Some(item) = item else { continue };
        let matches: smallvec::SmallVec<[usize; 4]> = reqs
            .iter()
            .enumerate()
            .filter(|(k, _)| Some(*k) != default_slice)
            .filter(|(_, per)| {
                per.iter()
                    .all(|(path, r)| satisfies(w, item, item_type, path, r))
            })
            .map(|(k, _)| k)
            .collect();
        let item_pos = item.pos;
        match matches.as_slice() {
            [] if default_slice.is_some() => {
                let k = default_slice.unwrap_or_default();
                counts[k] += 1;
                assignment[i] = Some(e.slices[k]);
                seen_unmatched = true;
            }
            [] => {
                if slicing.rules == "closed" {
                    let names = slice_names(s, e);
                    w.report_item(i, msg::SLICE_NO_MATCH, format!(
                        "This element does not match any of the slices defined for {} ({names}), and the slicing is closed",
                        e.path
                    ), item_pos);
                }
                seen_unmatched = true;
            }
            [k] => {
                counts[*k] += 1;
                assignment[i] = Some(e.slices[*k]);
                if slicing.ordered && *k < last_slice {
                    w.report_item(
                        i,
                        msg::SLICE_ORDER,
                        format!(
                            "Slice '{}' of {} is out of order (the slicing is ordered)",
                            slice_name(s, e.slices[*k]),
                            e.path
                        ),
                        item_pos,
                    );
                }
                if slicing.rules == "openAtEnd" && seen_unmatched {
                    w.report_item(i, msg::SLICE_ORDER, format!(
                        "Items of {} that match no slice must come after all sliced items (openAtEnd)",
                        e.path
                    ), item_pos);
                }
                last_slice = last_slice.max(*k);
            }
            many => {
                let names: Vec<&str> = many.iter().map(|k| slice_name(s, e.slices[*k])).collect();
                w.report_item(
                    i,
                    msg::SLICE_MULTIPLE_MATCH,
                    format!(
                        "This element matches more than one slice of {}: {}",
                        e.path,
                        names.join(", ")
                    ),
                    item_pos,
                );
            }
        }
    }
    for (k, &sl) in e.slices.iter().enumerate() {
        let slice = &s.elements[sl as usize];
        let n = counts[k];
        if n < slice.min as usize {
            w.report_at(
                Severity::Error,
                IssueType::Required,
                msg::SLICE_CARDINALITY_MIN,
                format!(
                    "Slice '{}' of {}: minimum required = {}, but only found {n}",
                    slice_name(s, sl),
                    e.path,
                    slice.min
                ),
                pos,
            );
        } else if slice.max != UNBOUNDED && n > slice.max as usize {
            w.report_at(
                Severity::Error,
                IssueType::Structure,
                msg::SLICE_CARDINALITY_MAX,
                format!(
                    "Slice '{}' of {}: max allowed = {}, but found {n}",
                    slice_name(s, sl),
                    e.path,
                    slice.max
                ),
                pos,
            );
        }
    }
    // Reslicing: the items of a slice that has reslices are assigned among
    // them, and each item then follows the most specific slice it matched.
    for (k, &sl) in e.slices.iter().enumerate() {
        let slice = &s.elements[sl as usize];
        if slice.slices.is_empty() || counts[k] == 0 {
            continue;
        }
        let own: Vec<Option<&'a Node>> = items
            .iter()
            .zip(&assignment)
            .map(|(item, a)| if *a == Some(sl) { *item } else { None })
            .collect();
        let reslicing = slice.slicing.as_ref().unwrap_or(slicing);
        if let Some(sub) = assign_with(w, sid, slice, reslicing, &own, item_type, pos) {
            for (a, r) in assignment.iter_mut().zip(sub) {
                if r.is_some() {
                    *a = r;
                }
            }
        }
    }
    Some(assignment)
}

fn slice_name(s: &Structure, sl: ElemId) -> &str {
    s.elements[sl as usize].slice_name.as_deref().unwrap_or("?")
}

fn slice_names(s: &Structure, e: &Element) -> String {
    e.slices
        .iter()
        .map(|&sl| slice_name(s, sl))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds the element at a discriminator path inside a slice.
fn element_at<'c>(s: &'c Structure, slice: &'c Element, path: &str) -> Option<&'c Element> {
    let mut cur = slice;
    for seg in segments(path) {
        match seg {
            "$this" => {}
            "resolve()" => return None,
            _ if seg.starts_with("ofType(") => {}
            _ if seg.starts_with("extension(") => {
                // The slice of `extension` whose type profile is that url.
                let url = extension_url(seg);
                cur = cur
                    .children
                    .iter()
                    .map(|&c| &s.elements[c as usize])
                    .find(|c| c.name == "extension")?
                    .slices
                    .iter()
                    .map(|&sl| &s.elements[sl as usize])
                    .find(|sl| sl.types.iter().any(|t| t.profiles.iter().any(|p| p == url)))?;
            }
            name => {
                cur = cur
                    .children
                    .iter()
                    .map(|&c| &s.elements[c as usize])
                    .find(|c| c.name == name)?;
            }
        }
    }
    Some(cur)
}

/// The url of an `extension('url')` path segment.
fn extension_url(seg: &str) -> &str {
    seg.trim_start_matches("extension(")
        .trim_end_matches(')')
        .trim_matches(['\'', '"'])
}

/// The steps of a discriminator path.
type Segments<'p> = smallvec::SmallVec<[&'p str; 4]>;

/// Splits a discriminator path on dots outside parentheses and quotes.
fn segments(path: &str) -> Segments<'_> {
    let mut out = Segments::new();
    let (mut depth, mut quote, mut start) = (0i32, false, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '\'' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => depth -= 1,
            '.' if !quote && depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

fn requirement<'c>(
    w: &Walker<'c>,
    s: &'c Structure,
    slice: &'c Element,
    kind: &str,
    path: &str,
) -> Option<Requirement<'c>> {
    let resolves = path.ends_with("resolve()");
    let target = if resolves {
        let base = path.trim_end_matches("resolve()").trim_end_matches('.');
        let base = if base.is_empty() { "$this" } else { base };
        element_at(s, slice, base)
    } else {
        element_at(s, slice, path)
    };
    match kind {
        "value" | "pattern" => {
            if let Some(el) = target {
                if let Some(f) = &el.fixed {
                    return Some(Requirement::Equals(f));
                }
                if let Some(p) = &el.pattern {
                    return Some(Requirement::Matches(p));
                }
            }
            // Extension slices: the url is the extension's canonical.
            if path == "url" && slice.types.iter().any(|t| t.code == "Extension") {
                let url = slice.types.iter().find_map(|t| t.profiles.first())?;
                return Some(Requirement::String(url));
            }
            let binding = target?.binding.as_ref()?;
            let vs = binding.value_set.as_deref()?;
            (binding.strength == "required" && w.ctx.terminology().value_set_known(vs))
                .then_some(Requirement::InValueSet(vs))
        }
        "exists" => {
            let el = target?;
            if el.min >= 1 {
                Some(Requirement::Exists(true))
            } else if el.max == 0 {
                Some(Requirement::Exists(false))
            } else {
                None
            }
        }
        "type" => {
            let el = target?;
            Some(Requirement::Type(
                el.types.iter().map(|t| t.code.as_str()).collect(),
            ))
        }
        "profile" => {
            let el = target?;
            let profiles: Vec<&str> = el
                .types
                .iter()
                .flat_map(|t| {
                    if resolves {
                        t.target_profiles.iter()
                    } else {
                        t.profiles.iter()
                    }
                })
                .map(String::as_str)
                .filter(|p| w.ctx.structure_by_url(p).is_some())
                .collect();
            (!profiles.is_empty()).then_some(Requirement::Profile(profiles))
        }
        _ => None,
    }
}

/// Nodes found under an item by a discriminator path (mostly one or two).
type Found<'n> = smallvec::SmallVec<[&'n Node; 2]>;

/// The nodes a discriminator path (split by [`segments`]) selects in an item.
fn nodes_at<'n>(w: &Walker<'n>, item: &'n Node, path: &[&str]) -> Found<'n> {
    let mut cur: Found<'n> = smallvec::smallvec![item];
    for &seg in path {
        let mut next = Found::new();
        for n in cur {
            match seg {
                "$this" => next.push(n),
                "resolve()" => {
                    if let Some(t) = n
                        .get("reference")
                        .and_then(Node::as_str)
                        .and_then(|r| w.resolve(r))
                    {
                        next.push(t);
                    }
                }
                _ if seg.starts_with("ofType(") => next.push(n),
                _ if seg.starts_with("extension(") => {
                    let url = extension_url(seg);
                    for x in n.get("extension").and_then(Node::as_array).unwrap_or(&[]) {
                        if x.get("url").and_then(Node::as_str) == Some(url) {
                            next.push(x);
                        }
                    }
                }
                name => {
                    let Some(members) = n.as_object() else {
                        continue;
                    };
                    for m in members {
                        let k: &str = &m.key;
                        let hit = k == name
                            || (k.len() > name.len()
                                && k.starts_with(name)
                                && k[name.len()..].starts_with(|c: char| c.is_ascii_uppercase()));
                        if hit {
                            match &m.value.value {
                                Value::Array(items) => next.extend(items.iter()),
                                _ => next.push(&m.value),
                            }
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

fn satisfies<'n>(
    w: &mut Walker<'n>,
    item: &'n Node,
    item_type: Option<&str>,
    path: &[&str],
    r: &Requirement<'_>,
) -> bool {
    match r {
        Requirement::Type(types) => {
            // The type of the item itself (choice suffix or resourceType),
            // or of the node at the path.
            let found = if matches!(path, ["$this" | ""]) {
                item_type.or_else(|| item.get("resourceType").and_then(Node::as_str))
            } else {
                nodes_at(w, item, path)
                    .first()
                    .and_then(|n| n.get("resourceType").and_then(Node::as_str))
            };
            found.is_some_and(|t| types.contains(&t))
        }
        Requirement::Profile(profiles) => nodes_at(w, item, path)
            .iter()
            .any(|t| profiles.iter().any(|p| w.conforms(t, p))),
        Requirement::Exists(want) => nodes_at(w, item, path).is_empty() != *want,
        Requirement::Equals(lit) => nodes_at(w, item, path).iter().any(|n| lit.equals(n)),
        Requirement::Matches(lit) => nodes_at(w, item, path).iter().any(|n| lit.matches(n)),
        Requirement::String(s) => nodes_at(w, item, path)
            .iter()
            .any(|n| n.as_str() == Some(s)),
        Requirement::InValueSet(vs) => nodes_at(w, item, path)
            .iter()
            .any(|n| in_value_set(w, n, vs)),
    }
}

/// True for items that the walker must not re-walk in a profile pass
/// because their own definition was applied by URL (extensions).
pub(super) fn is_extension(e: &Element) -> bool {
    e.types.len() == 1 && e.types[0].code == "Extension"
}

/// A code, Coding or CodeableConcept node whose code is in the value set.
/// Codes that cannot be judged offline count as not in it.
fn in_value_set(w: &Walker<'_>, n: &Node, vs: &str) -> bool {
    let term = w.ctx.terminology();
    let member = |c: &Node| {
        let Some(code) = c.get("code").and_then(Node::as_str) else {
            return false;
        };
        matches!(
            term.check_code(vs, c.get("system").and_then(Node::as_str), code, None),
            crate::terminology::Membership::Member { .. }
        )
    };
    match &n.value {
        Value::String(code) => matches!(
            term.check_code(vs, None, code, None),
            crate::terminology::Membership::Member { .. }
        ),
        Value::Object(_) => match n.get("coding").and_then(Node::as_array) {
            Some(codings) => codings.iter().any(member),
            None => member(n),
        },
        _ => false,
    }
}
