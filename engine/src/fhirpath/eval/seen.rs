//! Sets of items by FHIRPath equality, for `distinct()`, `isDistinct()`,
//! unions and `repeat()`.
//!
//! Most of these sets are small (the codings of one element, the linkIds
//! of one item list, a union of two resources), so each kind of item is
//! kept in a short list compared one by one, and moves to a hash table only
//! past a few entries: hashing a resource to find that it is the only one
//! costs more than comparing it with none.

use super::ops::json_eq;
use super::Coll;
use crate::fhirpath::decimal::Decimal;
use crate::fhirpath::quantity::{self, Quantity as Q};
use crate::fhirpath::value::Item;
use crate::fxhash::FxHashMap;
use crate::fxhash::KeyedHashSet as HashSet;
use crate::json::{Node, Value};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// Entries compared one by one before a set hashes them.
const FEW: usize = 8;

/// Items seen so far, by equality.
#[derive(Default)]
pub(crate) struct Seen<'a> {
    /// Strings (System strings and string-valued FHIR primitives: a string
    /// equals a string), borrowed from the instance where they are held.
    strs: Strs<'a>,
    /// Other System values by a formatted key.
    keys: HashSet<String>,
    /// Complex nodes.
    nodes: Nodes<'a>,
    /// How many items may come (0: unknown): room for them is made when a
    /// list turns into a set, instead of growing it step by step.
    hint: usize,
}

/// Strings: a list while few, then a set with a keyed hasher (the
/// strings are instance data: no collisions prepared in advance).
enum Strs<'a> {
    Few(SmallVec<[Cow<'a, str>; FEW]>),
    Many(HashSet<Cow<'a, str>>),
}

impl Default for Strs<'_> {
    fn default() -> Self {
        Strs::Few(SmallVec::new())
    }
}

impl<'a> Strs<'a> {
    fn insert(&mut self, s: Cow<'a, str>, hint: usize) -> bool {
        match self {
            Strs::Few(few) => {
                if few.contains(&s) {
                    return false;
                }
                if few.len() < FEW {
                    few.push(s);
                } else {
                    let mut many: HashSet<Cow<'a, str>> =
                        HashSet::with_capacity_and_hasher(hint.max(4 * FEW), Default::default());
                    many.extend(few.drain(..));
                    many.insert(s);
                    *self = Strs::Many(many);
                }
                true
            }
            Strs::Many(many) => many.insert(s),
        }
    }
}

/// Complex nodes: a list while few, then buckets by [`hash_node`] (nodes
/// with equal hashes are compared in full, so the hash only has to be
/// consistent with [`json_eq`]).
enum Nodes<'a> {
    Few(SmallVec<[&'a Node; FEW]>),
    Many(FxHashMap<u64, SmallVec<[&'a Node; 1]>>),
}

impl Default for Nodes<'_> {
    fn default() -> Self {
        Nodes::Few(SmallVec::new())
    }
}

impl<'a> Nodes<'a> {
    fn insert(&mut self, node: &'a Node) -> bool {
        match self {
            Nodes::Few(few) => {
                if few.iter().any(|o| json_eq(o, node)) {
                    return false;
                }
                if few.len() < FEW {
                    few.push(node);
                } else {
                    let mut many = FxHashMap::default();
                    for n in few.drain(..).chain(std::iter::once(node)) {
                        many.entry(node_hash(n))
                            .or_insert_with(SmallVec::new)
                            .push(n);
                    }
                    *self = Nodes::Many(many);
                }
                true
            }
            Nodes::Many(many) => {
                let bucket = many.entry(node_hash(node)).or_default();
                if bucket.iter().any(|o| json_eq(o, node)) {
                    return false;
                }
                bucket.push(node);
                true
            }
        }
    }
}

impl<'a> Seen<'a> {
    /// A set for at most `n` items.
    pub fn for_items(n: usize) -> Self {
        Seen {
            hint: n,
            ..Default::default()
        }
    }

    /// Records `it`; false when an equal item was already seen.
    pub fn insert(&mut self, it: &Item<'a>) -> bool {
        match it {
            Item::String(s) => return self.strs.insert(Cow::Owned(s.clone()), self.hint),
            Item::Node(n) => {
                if let (Some(node), Some(_)) = (n.node, it.as_system_str()) {
                    if let Value::String(held) = &node.value {
                        let held: &'a str = held;
                        return self.strs.insert(Cow::Borrowed(held), self.hint);
                    }
                }
            }
            _ => {}
        }
        if let Some(k) = system_key(it) {
            return self.keys.insert(k);
        }
        match it {
            Item::Node(n) => match n.node {
                Some(node) => self.nodes.insert(node),
                // No value: distinct by identity of the extension sibling.
                None => self.keys.insert(format!(
                    "x:{:p}",
                    n.ext.map_or(std::ptr::null(), |e| e as *const Node)
                )),
            },
            Item::Type(ns, name) => self.keys.insert(format!("y:{ns}.{name}")),
            _ => true,
        }
    }
}

/// Removes duplicates (by equality), keeping first occurrences.
pub(crate) fn distinct<'a>(items: Coll<'a>) -> Coll<'a> {
    let mut seen = Seen::for_items(items.len());
    items.into_iter().filter(|it| seen.insert(it)).collect()
}

/// A key for System values (and FHIR primitives): equal keys mean equal
/// items. `None` for complex nodes.
fn system_key(it: &Item<'_>) -> Option<String> {
    Some(match it.to_system()? {
        Item::Boolean(b) => format!("b:{b}"),
        Item::String(s) => format!("s:{s}"),
        Item::Integer(i) => format!("n:{i}"),
        Item::Decimal(d) => format!("n:{}", d.normalize()),
        Item::Temporal(t) => format!("t:{}", t.render()),
        Item::Quantity(q) => quantity_key(&q),
        Item::Node(_) | Item::Type(..) => return None,
    })
}

/// Equal quantities in different units share a key (`3 'min'`, `180 seconds`).
fn quantity_key(q: &Q) -> String {
    let base = match q.unit.as_str() {
        "year" | "month" => q.convert_to("month"),
        u if quantity::is_calendar(u) => q.convert_to("s").map(|s| Q {
            value: s.value,
            unit: "s1".into(),
        }),
        u => quantity::canonical(u).and_then(|(f, d)| {
            let unit: Vec<String> = d.iter().map(|(k, e)| format!("{k}{e}")).collect();
            Some(Q {
                value: q.value.mul(f)?,
                unit: unit.join("."),
            })
        }),
    };
    match base {
        Some(b) => format!("q:{}|{}", b.value.normalize(), b.unit),
        None => format!("q:{}|{}", q.value.normalize(), q.unit),
    }
}

fn node_hash(n: &Node) -> u64 {
    let mut h = crate::fxhash::Fx::default();
    hash_node(n, 3, &mut h);
    h.finish()
}

/// Structural hash of a JSON value, consistent with [`json_eq`]
/// (numbers by value, object members in any order). It looks `depth`
/// levels down only, and long strings by their length and ends: hashing a
/// resource must not walk all of it, and nodes with equal hashes are
/// compared in full anyway. (So values that differ only deeper collide
/// whatever the hasher: it is the fast Fx hash.)
fn hash_node(n: &Node, depth: u8, h: &mut impl Hasher) {
    match &n.value {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => b.hash(h),
        Value::Number(s) => match Decimal::parse(s) {
            Some(d) => d.normalize().to_string().hash(h),
            None => s.hash(h),
        },
        // Length and ends: narratives run to kilobytes.
        Value::String(s) if s.len() > 64 => {
            s.len().hash(h);
            s.as_bytes()[..32].hash(h);
            s.as_bytes()[s.len() - 32..].hash(h);
        }
        Value::String(s) => s.hash(h),
        Value::Array(a) => {
            a.len().hash(h);
            if depth > 0 {
                a.iter().for_each(|x| hash_node(x, depth - 1, h));
            }
        }
        Value::Object(members) => {
            // Order-independent: a sum of the members' own hashes.
            let mut acc = 0u64;
            for m in members {
                let mut mh = crate::fxhash::Fx::default();
                m.key.hash(&mut mh);
                if depth > 0 {
                    hash_node(&m.value, depth - 1, &mut mh);
                }
                acc = acc.wrapping_add(mh.finish());
            }
            acc.hash(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhirpath::value::{NodeItem, TypeName};

    fn node_item<'a>(n: &'a Node, t: &'static str) -> Item<'a> {
        Item::Node(NodeItem {
            node: Some(n),
            ext: None,
            type_name: TypeName::from_static(t),
        })
    }

    /// Past the short lists, the hashed sets answer as the lists did: the
    /// same items inserted in growing numbers give the same answers.
    #[test]
    fn lists_and_hashed_sets_agree() {
        let docs: Vec<Node> = (0..40)
            .map(|i| {
                crate::json::parse(
                    format!(
                        r#"{{"code": "c{}", "n": {}.0, "deep": {{"a": {{"b": {{"c": {}}}}}}}}}"#,
                        i % 13,
                        i % 7,
                        i % 5
                    )
                    .as_bytes(),
                )
                .unwrap()
            })
            .collect();
        let codes: Vec<&Node> = docs.iter().map(|d| d.get("code").unwrap()).collect();
        for n in 1..docs.len() {
            // Nodes: equal when all members are (i % 13, i % 7, i % 5 all equal).
            let mut seen = Seen::default();
            let got: Vec<bool> = docs[..n]
                .iter()
                .map(|d| seen.insert(&node_item(d, "X")))
                .collect();
            let want: Vec<bool> = (0..n)
                .map(|i| (0..i).all(|j| (i % 13, i % 7, i % 5) != (j % 13, j % 7, j % 5)))
                .collect();
            assert_eq!(got, want, "{n} nodes");
            // Strings, held and built, are one kind.
            let mut seen = Seen::default();
            let got: Vec<bool> = (0..n)
                .map(|i| match i % 2 {
                    0 => seen.insert(&node_item(codes[i], "code")),
                    _ => seen.insert(&Item::String(format!("c{}", i % 13))),
                })
                .collect();
            let want: Vec<bool> = (0..n).map(|i| (0..i).all(|j| i % 13 != j % 13)).collect();
            assert_eq!(got, want, "{n} strings");
        }
    }

    #[test]
    fn numbers_and_quantities_by_value() {
        let mut seen = Seen::default();
        assert!(seen.insert(&Item::Integer(1)));
        assert!(!seen.insert(&Item::Decimal(Decimal::parse("1.0").unwrap())));
        let min = Q {
            value: Decimal::from_i64(3),
            unit: "min".into(),
        };
        let secs = Q {
            value: Decimal::from_i64(180),
            unit: "s".into(),
        };
        assert!(seen.insert(&Item::Quantity(Box::new(min))));
        assert!(!seen.insert(&Item::Quantity(Box::new(secs))));
    }
}
