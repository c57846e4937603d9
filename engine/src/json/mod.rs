//! A JSON document model that remembers where every value came from.
//!
//! FHIR diagnostics must point at a line and column of the submitted text and
//! FHIR decimals must keep their written precision, so instances are parsed
//! into this tree rather than into `serde_json::Value`: numbers keep their
//! source text, objects keep member order and duplicate keys (so that the
//! validator can report them), and every node carries its [`Pos`].

mod parser;

pub use compact_str::CompactString;

pub use parser::{parse, parse_with_limits, Limits, ParseError};

/// A 1-based line and column (columns count Unicode scalar values).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

/// One JSON value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value starts in the source text.
    pub pos: Pos,
}

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, exactly as written (so `1.50` keeps its precision).
    Number(CompactString),
    /// A string, unescaped.
    String(CompactString),
    /// An array.
    Array(Vec<Node>),
    /// An object, members in document order (duplicates kept).
    Object(Object),
}

/// An object's members in document order (duplicates kept), with a 64-bit
/// summary of their keys. FHIRPath navigation mostly asks objects for
/// optional elements they do not have, and wants each key's `_key`
/// sibling too: the summary rules out absent keys without a scan, and
/// says when no `_key` can follow a match.
#[derive(Debug, Clone, Default)]
pub struct Object {
    members: Box<[Member]>,
    /// Bit [`key_bit`] of every key (and of `k` for `_k`), and bit 63
    /// when some key starts with `_`.
    keys: u64,
}

const UNDERSCORE: u64 = 1 << 63;

/// The summary bit of a key (without its `_`): from its length, first
/// and last bytes, which tell most of one object's keys apart.
fn key_bit(key: &[u8]) -> u64 {
    let (first, last) = match key {
        [] => (0, 0),
        [f, .., l] => (*f, *l),
        [f] => (*f, *f),
    };
    let h = (key.len() as u32)
        .wrapping_mul(131)
        .wrapping_add(u32::from(first).wrapping_mul(31))
        .wrapping_add(u32::from(last).wrapping_mul(7))
        .wrapping_mul(0x9E37_79B9);
    // Bits 0 to 62 (63 is the `_` flag), by multiply and shift rather
    // than a remainder: every navigation step computes one.
    1 << ((u64::from(h) * 63) >> 32)
}

impl Object {
    /// An object of these members.
    pub fn new(members: Vec<Member>) -> Self {
        let keys = members
            .iter()
            .fold(0, |keys, m| keys | Object::key_summary(m.key.as_bytes()));
        Object::with_summary(members, keys)
    }

    /// What one key adds to the summary.
    pub(crate) fn key_summary(k: &[u8]) -> u64 {
        match k {
            [b'_', base @ ..] => key_bit(k) | UNDERSCORE | key_bit(base),
            _ => key_bit(k),
        }
    }

    /// An object whose summary the parser gathered key by key.
    pub(crate) fn with_summary(members: Vec<Member>, keys: u64) -> Self {
        Object {
            members: members.into_boxed_slice(),
            keys,
        }
    }

    /// The members, in document order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// False when the object has neither `key` nor `_key` (true does not
    /// say it has either).
    pub fn may_have(&self, key: &str) -> bool {
        self.keys & key_bit(key.as_bytes()) != 0
    }

    /// Whether some key starts with `_` (a primitive's extension sibling).
    pub fn has_underscore_keys(&self) -> bool {
        self.keys & UNDERSCORE != 0
    }

    /// The value of the first member named `key` (a plain comparison: most
    /// callers name a constant key, which the compiler compares inline).
    pub fn get(&self, key: &str) -> Option<&Node> {
        if !self.may_have(key) {
            return None;
        }
        self.members
            .iter()
            .find(|m| &*m.key == key)
            .map(|m| &m.value)
    }
}

impl From<Vec<Member>> for Object {
    fn from(members: Vec<Member>) -> Self {
        Object::new(members)
    }
}

impl FromIterator<Member> for Object {
    fn from_iter<I: IntoIterator<Item = Member>>(iter: I) -> Self {
        Object::new(iter.into_iter().collect())
    }
}

impl std::ops::Deref for Object {
    type Target = [Member];
    fn deref(&self) -> &[Member] {
        &self.members
    }
}

impl<'o> IntoIterator for &'o Object {
    type Item = &'o Member;
    type IntoIter = std::slice::Iter<'o, Member>;
    fn into_iter(self) -> Self::IntoIter {
        self.members.iter()
    }
}

/// Objects are equal when their members are (the summary follows from them).
impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.members == other.members
    }
}

/// One `"key": value` member of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key, unescaped.
    pub key: CompactString,
    /// Where the key starts.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

impl Node {
    /// A node at the default position, for values built in code.
    pub fn new(value: Value) -> Self {
        Node {
            value,
            pos: Pos::default(),
        }
    }

    /// The first member named `key`, if this is an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Object(o) => o.get(key),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.value {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The object with its key summary, if this is an object.
    pub fn object(&self) -> Option<&Object> {
        match &self.value {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The boolean, if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The number's source text, if this is a number.
    pub fn as_number(&self) -> Option<&str> {
        match &self.value {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The JSON type name, for messages ("object", "array", "string", ...).
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Converts to a `serde_json::Value` (numbers that serde cannot represent
    /// exactly become `null`).
    pub fn to_serde(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::from_str(n).unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Node::to_serde).collect()),
            Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .map(|m| (m.key.to_string(), m.value.to_serde()))
                    .collect(),
            ),
        }
    }

    /// Builds a tree from a `serde_json::Value` (positions are all default).
    pub fn from_serde(v: &serde_json::Value) -> Node {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.to_string().into()),
            serde_json::Value::String(s) => Value::String(s.as_str().into()),
            serde_json::Value::Array(a) => Value::Array(a.iter().map(Node::from_serde).collect()),
            serde_json::Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| Member {
                        key: k.as_str().into(),
                        key_pos: Pos::default(),
                        value: Node::from_serde(v),
                    })
                    .collect(),
            ),
        };
        Node::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(keys: &[&str]) -> Object {
        keys.iter()
            .map(|k| Member {
                key: (*k).into(),
                key_pos: Pos::default(),
                value: Node::new(Value::Null),
            })
            .collect()
    }

    /// The summary may say yes to an absent key, never no to a present
    /// one (or to one whose `_key` is present).
    #[test]
    fn key_summary_never_hides_a_key() {
        let names: Vec<String> = (0..400)
            .map(|i| format!("{}{}", ["value", "code", "x", "", "_a", "é"][i % 6], i))
            .chain(["", "_", "a", "_b"].map(String::from))
            .collect();
        for chunk in names.chunks(7) {
            let keys: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let o = object(&keys);
            for k in &keys {
                assert!(o.may_have(k), "{k:?} in {keys:?}");
                assert!(o.get(k).is_some(), "{k:?}");
                if let Some(base) = k.strip_prefix('_') {
                    assert!(o.may_have(base), "{base:?} for {k:?}");
                }
            }
            assert_eq!(
                o.has_underscore_keys(),
                keys.iter().any(|k| k.starts_with('_'))
            );
        }
        // And it rules most absent keys out (what it is for).
        let o = object(&["resourceType", "id", "meta", "status", "code", "subject"]);
        let absent = [
            "hasMember",
            "derivedFrom",
            "encounter",
            "valueQuantity",
            "category",
        ];
        assert!(absent.iter().filter(|k| !o.may_have(k)).count() >= 3);
        assert_eq!(o.get("status").map(|n| n.value.clone()), Some(Value::Null));
        assert!(o.get("statu").is_none());
    }
}
