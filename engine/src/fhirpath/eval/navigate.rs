//! Navigation: `.name` on items, typed by the model (choice elements,
//! resources typing themselves, `_x` primitive extensions), and the
//! children of an item for `children()`/`descendants()`.

use super::{Coll, Ev, R};
use crate::fhirpath::model::{ChildInfo, ModelInfo};
use crate::fhirpath::value::{Item, NodeItem, TypeName};
use crate::json::{Node, Object, Value};
use crate::short_eq;
use std::cell::Cell;

impl<'e, 'a> Ev<'e, 'a> {
    /// A resource typed by its `resourceType` (the model's interned name,
    /// so no allocation).
    pub(super) fn typed_resource(&self, node: &'a Node) -> Item<'a> {
        let t = node
            .get("resourceType")
            .and_then(Node::as_str)
            .unwrap_or("");
        Item::node(node, self.resource_type_name(t))
    }

    /// The model's name for resource type `rt`. Bundle entries come in runs
    /// of one type, so the last answer is kept (model names only).
    fn resource_type_name(&self, rt: &str) -> TypeName {
        if let Some(last) = self.last_resource.get() {
            if short_eq::eq_str(last, rt) {
                return TypeName::from_static(last);
            }
        }
        let name = self
            .model
            .and_then(|m| m.type_name(rt))
            .unwrap_or_else(|| TypeName::from(rt));
        // Only a name the model interned (its text is `rt`'s) is kept.
        if let Some(s) = name.static_str().filter(|s| *s == rt) {
            self.last_resource.set(Some(s));
        }
        name
    }

    /// An identifier at the start of a path: a type name filters the focus
    /// by type (`Patient.name` on a Patient), otherwise it is navigation.
    pub(super) fn root_member(&self, focus: &[Item<'a>], name: &str, pos: usize) -> R<'a> {
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            let matching: Coll<'a> = focus
                .iter()
                .filter(|it| match it {
                    Item::Node(n) => match self.model {
                        Some(m) => m.is_subtype_of(&n.type_name, name),
                        None => &*n.type_name == name,
                    },
                    _ => false,
                })
                .cloned()
                .collect();
            if !matching.is_empty() || self.model.is_some_and(|m| m.is_type(name)) {
                return Ok(matching);
            }
        }
        self.navigate(focus, name, pos)
    }

    /// `.name` on every item.
    pub fn navigate(&self, base: &[Item<'a>], name: &str, pos: usize) -> R<'a> {
        let mut out = Coll::new();
        for (i, it) in base.iter().enumerate() {
            super::grow_for(&mut out, base.len() - i);
            self.child_named(it, name, &mut out);
            self.check_size(out.len(), pos)?;
        }
        self.tick(base.len() as u64, pos)?;
        Ok(out)
    }

    /// The model's element `name` of type `t`, remembered for the rest of
    /// the evaluation (a `where()` asks the same few questions of every
    /// item, one item at a time).
    fn child_info(&self, m: &'e dyn ModelInfo, t: &TypeName, name: &str) -> Option<&'e ChildInfo> {
        let Some(addr) = t.static_str().map(|s| s.as_ptr() as usize) else {
            return m.child_of(t, name);
        };
        let slot = self.children.slot(addr, name);
        if let Some((a, n, ci)) = slot.get() {
            if a == addr && short_eq::eq_str(n, name) {
                return Some(ci);
            }
        }
        match m.child_entry(t, name) {
            Some((n, ci)) => {
                slot.set(Some((addr, n, ci)));
                Some(ci)
            }
            None => m.child_of(t, name),
        }
    }

    /// The type of a value declared `declared`: a resource says its own
    /// (interned by the model, so no allocation per resource). Only
    /// elements declared `Resource` (the one abstract element type R4
    /// uses: `Bundle.entry.resource`, `contained`, `Parameters`) or
    /// untyped hold resources, so others are not searched for a
    /// `resourceType` member.
    #[inline]
    fn type_of_value(&self, node: &Node, declared: &TypeName) -> TypeName {
        if matches!(&**declared, "Resource" | "DomainResource" | "") {
            return self.resource_type_of(node, declared);
        }
        declared.clone()
    }

    /// [`Ev::type_of_value`] of a value that may be a resource.
    #[inline(never)]
    fn resource_type_of(&self, node: &Node, declared: &TypeName) -> TypeName {
        match node.get("resourceType").and_then(Node::as_str) {
            Some(rt) if rt != &**declared => self.resource_type_name(rt),
            _ => declared.clone(),
        }
    }

    /// Pushes the value(s) of member `key` (with `_key` siblings) typed `t`.
    fn push_member(&self, obj: &'a Object, key: &str, t: &TypeName, out: &mut Coll<'a>) {
        if !obj.may_have(key) {
            return;
        }
        let kb = key.as_bytes();
        if !obj.has_underscore_keys() {
            // The common case, kept short: no `_key` sibling to pair.
            let Some(m) = obj.iter().find(|m| short_eq::eq(m.key.as_bytes(), kb)) else {
                return;
            };
            match &m.value.value {
                Value::Null => {}
                Value::Array(a) => {
                    if a.len() > 1 {
                        out.reserve(a.len());
                    }
                    for n in a.iter().filter(|n| !matches!(n.value, Value::Null)) {
                        out.push(Item::node(n, self.type_of_value(n, t)));
                    }
                }
                _ => out.push(Item::node(&m.value, self.type_of_value(&m.value, t))),
            }
            return;
        }
        // One pass finds both `key` and `_key`.
        let (mut val, mut ext) = (None, None);
        for m in obj {
            let k = m.key.as_bytes();
            if short_eq::eq(k, kb) {
                val = val.or(Some(&m.value));
            } else if k.len() == kb.len() + 1 && k[0] == b'_' && short_eq::eq(&k[1..], kb) {
                ext = ext.or(Some(&m.value));
            }
        }
        // Items of a member: an array's (null counts as absent) or the one
        // value; read by index so that nothing is collected.
        let len = |n: Option<&'a Node>| match n.map(|n| &n.value) {
            None | Some(Value::Null) => 0,
            Some(Value::Array(a)) => a.len(),
            Some(_) => 1,
        };
        let at = |n: Option<&'a Node>, i: usize| -> Option<&'a Node> {
            let n = n?;
            match &n.value {
                Value::Array(a) => a.get(i).filter(|x| !matches!(x.value, Value::Null)),
                Value::Null => None,
                _ => (i == 0).then_some(n),
            }
        };
        let n = len(val).max(len(ext));
        if n > 1 {
            // An array: room for all its items at once.
            out.reserve(n);
        }
        for i in 0..n {
            let node = at(val, i);
            let ext = at(ext, i);
            if node.is_none() && ext.is_none() {
                continue;
            }
            let type_name = match node {
                Some(n) => self.type_of_value(n, t),
                None => t.clone(),
            };
            out.push(Item::Node(NodeItem {
                node,
                ext,
                type_name,
            }));
        }
    }

    fn child_named(&self, it: &Item<'a>, name: &str, out: &mut Coll<'a>) {
        let n = match it {
            Item::Node(n) => n,
            Item::Quantity(q) => {
                match name {
                    "value" => out.push(Item::Decimal(q.value)),
                    "unit" | "code" => out.push(Item::String(q.unit.clone())),
                    _ => {}
                }
                return;
            }
            Item::Type(ns, t) => {
                match name {
                    "namespace" => out.push(Item::String(ns.to_string())),
                    "name" => out.push(Item::String(t.clone())),
                    _ => {}
                }
                return;
            }
            _ => return,
        };
        let members = match n.node.and_then(Node::object) {
            Some(m) => m,
            None => {
                // A primitive: only `id` and `extension` from its `_x` sibling.
                if let Some(ext) = n.ext.and_then(Node::object) {
                    let t = TypeName::from_static(if name == "extension" {
                        "Extension"
                    } else {
                        "string"
                    });
                    self.push_member(ext, name, &t, out);
                }
                return;
            }
        };
        let t = &n.type_name;
        // One model look-up in the common case: a child found means the
        // type is known.
        let model = self.model.filter(|_| !t.is_empty());
        match model.map(|m| (m, self.child_info(m, t, name))) {
            Some((_, Some(ci))) if ci.choice => {
                for m in members {
                    // `valueString`, or `_valueString` alone (extension only).
                    let key = match m.key.strip_prefix('_') {
                        Some(k) if members.iter().any(|o| &*o.key == k) => continue,
                        Some(k) => k,
                        None => &*m.key,
                    };
                    if let Some(suffix) = key.strip_prefix(name) {
                        if let Some(ty) = ci.types.iter().find(|ty| is_capitalized(ty, suffix)) {
                            self.push_member(members, key, ty, out);
                        }
                    }
                }
            }
            Some((_, Some(ci))) => {
                if let Some(ty) = ci.types.first() {
                    self.push_member(members, name, ty, out);
                }
            }
            Some((model, None)) if model.is_type(t) => {
                if name == "resourceType" {
                    self.push_member(members, name, &TypeName::from_static("string"), out);
                } else if let Some((_, ty)) =
                    // `child_of` already said `name` itself is no element.
                    crate::fhirpath::model::choice_key(name, |n| model.child_of(t, n))
                {
                    // `valueQuantity` style (rejected by the checker when
                    // the context type is known; evaluates like fhirpath.js).
                    self.push_member(members, name, &ty, out);
                }
            }
            _ => self.push_member(members, name, &TypeName::from_static(""), out),
        }
    }

    /// All direct children of an item (for `children()`/`descendants()`).
    pub fn children_of(&self, it: &Item<'a>, out: &mut Coll<'a>) {
        let Item::Node(n) = it else {
            return;
        };
        let Some(members) = n.node.and_then(Node::object) else {
            if let Some(ext) = n.ext.and_then(Node::object) {
                for m in ext {
                    let t = TypeName::from_static(if &*m.key == "extension" {
                        "Extension"
                    } else {
                        "string"
                    });
                    self.push_member(ext, &m.key, &t, out);
                }
            }
            return;
        };
        for m in members {
            let key: &str = &m.key;
            if key == "resourceType" {
                continue;
            }
            if let Some(base) = key.strip_prefix('_') {
                if members.iter().any(|o| &*o.key == base) {
                    continue;
                }
                self.push_child_key(n, members, base, out);
                continue;
            }
            self.push_child_key(n, members, key, out);
        }
    }

    fn push_child_key(&self, n: &NodeItem<'a>, members: &'a Object, key: &str, out: &mut Coll<'a>) {
        let t = self
            .model
            .and_then(|m| crate::fhirpath::model::resolve_key(m, &n.type_name, key).map(|(_, t)| t))
            .unwrap_or_else(|| TypeName::from_static(""));
        self.push_member(members, key, &t, out);
    }
}

/// Whether `suffix` is `ty` with its first letter upper-cased (`dateTime`
/// and `DateTime`), as choice element names spell types; no allocation.
fn is_capitalized(ty: &str, suffix: &str) -> bool {
    let (mut a, mut b) = (ty.chars(), suffix.chars());
    match (a.next(), b.next()) {
        (Some(x), Some(y)) => x.to_uppercase().eq(std::iter::once(y)) && a.as_str() == b.as_str(),
        _ => false,
    }
}

/// Answers of [`Ev::child_info`]: a few slots by type address and name
/// (names as the model keeps them, so a slot compares its text).
#[derive(Default)]
pub(crate) struct ChildMemo<'e> {
    slots: [Cell<Option<ChildAnswer<'e>>>; 32],
}

/// (type name address, element name, the model's element).
type ChildAnswer<'e> = (usize, &'e str, &'e ChildInfo);

impl<'e> ChildMemo<'e> {
    fn slot(&self, addr: usize, name: &str) -> &Cell<Option<ChildAnswer<'e>>> {
        let first = name.as_bytes().first().copied().unwrap_or(0) as usize;
        &self.slots[((addr >> 4) ^ name.len().wrapping_mul(7) ^ first) & 31]
    }
}
