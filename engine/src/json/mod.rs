//! A JSON document model that remembers where every value came from.
//!
//! FHIR diagnostics must point at a line and column of the submitted text and
//! FHIR decimals must keep their written precision, so instances are parsed
//! into this tree rather than into `serde_json::Value`: numbers keep their
//! source text, objects keep member order and duplicate keys (so that the
//! validator can report them), and every node carries its [`Pos`].

mod parser;

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
    Number(Box<str>),
    /// A string, unescaped.
    String(Box<str>),
    /// An array.
    Array(Vec<Node>),
    /// An object, members in document order (duplicates kept).
    Object(Vec<Member>),
}

/// One `"key": value` member of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key, unescaped.
    pub key: Box<str>,
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
            Value::Object(members) => members.iter().find(|m| &*m.key == key).map(|m| &m.value),
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
