//! The items FHIRPath collections hold.

use super::datetime::{Temporal, TemporalKind};
use super::decimal::Decimal;
use super::quantity::{calendar_keyword, Quantity};
use crate::json::{Node, Value};

pub use super::typename::TypeName;

/// A reference into the instance tree.
#[derive(Debug, Clone)]
pub struct NodeItem<'a> {
    /// The JSON value (`None` for a primitive that has only an `_x` sibling).
    pub node: Option<&'a Node>,
    /// The primitive-extension sibling (`_birthDate`), if any.
    pub ext: Option<&'a Node>,
    /// The FHIR type (empty when unknown).
    pub type_name: TypeName,
}

/// One item of a FHIRPath collection.
#[derive(Debug, Clone)]
pub enum Item<'a> {
    /// An element of the instance.
    Node(NodeItem<'a>),
    /// System.Boolean
    Boolean(bool),
    /// System.String
    String(String),
    /// System.Integer
    Integer(i64),
    /// System.Decimal
    Decimal(Decimal),
    /// System.Date, System.DateTime or System.Time
    Temporal(Box<Temporal>),
    /// System.Quantity
    Quantity(Box<Quantity>),
    /// A type descriptor from `type()`: namespace and name.
    Type(&'static str, String),
}

/// FHIR primitive type names.
pub const FHIR_PRIMITIVES: [&str; 20] = [
    "boolean",
    "integer",
    "positiveInt",
    "unsignedInt",
    "decimal",
    "string",
    "code",
    "id",
    "markdown",
    "uri",
    "url",
    "canonical",
    "oid",
    "uuid",
    "base64Binary",
    "instant",
    "date",
    "dateTime",
    "time",
    "xhtml",
];

/// Whether a FHIR type name is a primitive.
pub fn is_fhir_primitive(t: &str) -> bool {
    // All primitive names start in lower case; complex types and backbone
    // paths (the common case) are ruled out by their first letter.
    t.starts_with(|c: char| c.is_ascii_lowercase()) && FHIR_PRIMITIVES.contains(&t)
}

impl<'a> Item<'a> {
    /// Wraps a node with a type.
    pub fn node(node: &'a Node, type_name: TypeName) -> Self {
        Item::Node(NodeItem {
            node: Some(node),
            ext: None,
            type_name,
        })
    }

    /// `(namespace, name)` of the item's type.
    pub fn type_info(&self) -> (&'static str, String) {
        match self {
            Item::Node(n) => ("FHIR", n.type_name.to_string()),
            Item::Boolean(_) => ("System", "Boolean".into()),
            Item::String(_) => ("System", "String".into()),
            Item::Integer(_) => ("System", "Integer".into()),
            Item::Decimal(_) => ("System", "Decimal".into()),
            Item::Temporal(t) => (
                "System",
                match t.kind {
                    TemporalKind::Date => "Date",
                    TemporalKind::DateTime => "DateTime",
                    TemporalKind::Time => "Time",
                }
                .into(),
            ),
            Item::Quantity(_) => ("System", "Quantity".into()),
            Item::Type(..) => ("System", "SimpleTypeInfo".into()),
        }
    }

    /// The interned type name of a typed node (whose type tests depend
    /// on that name alone), if it has one.
    pub(crate) fn node_type_static(&self) -> Option<&'static str> {
        match self {
            Item::Node(n) => n.type_name.static_str().filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    /// The underlying JSON node, if any.
    pub fn json(&self) -> Option<&'a Node> {
        match self {
            Item::Node(n) => n.node,
            _ => None,
        }
    }

    /// The System value of this item: itself for System values, the
    /// converted primitive (or Quantity) for FHIR nodes, `None` for complex
    /// nodes.
    pub fn to_system(&self) -> Option<Item<'static>> {
        let n = match self {
            Item::Node(n) => n,
            Item::Boolean(b) => return Some(Item::Boolean(*b)),
            Item::String(s) => return Some(Item::String(s.clone())),
            Item::Integer(i) => return Some(Item::Integer(*i)),
            Item::Decimal(d) => return Some(Item::Decimal(*d)),
            Item::Temporal(t) => return Some(Item::Temporal(t.clone())),
            Item::Quantity(q) => return Some(Item::Quantity(q.clone())),
            Item::Type(..) => return None,
        };
        let node = n.node?;
        let t = &*n.type_name;
        match &node.value {
            Value::Bool(b) => Some(Item::Boolean(*b)),
            Value::Number(s) => {
                if t == "decimal" || s.contains(['.', 'e', 'E']) {
                    Decimal::parse(s).map(Item::Decimal)
                } else {
                    s.parse().ok().map(Item::Integer)
                }
            }
            Value::String(s) => Some(match t {
                "date" | "dateTime" | "instant" => match Temporal::parse_date_time(s) {
                    Some(v) => Item::Temporal(Box::new(v)),
                    None => Item::String(s.to_string()),
                },
                "time" => match Temporal::parse_time(s) {
                    Some(v) => Item::Temporal(Box::new(v)),
                    None => Item::String(s.to_string()),
                },
                "integer" | "positiveInt" | "unsignedInt" => match s.parse() {
                    Ok(i) => Item::Integer(i),
                    Err(_) => Item::String(s.to_string()),
                },
                "decimal" => match Decimal::parse(s) {
                    Some(d) => Item::Decimal(d),
                    None => Item::String(s.to_string()),
                },
                _ => Item::String(s.to_string()),
            }),
            Value::Object(_)
                if matches!(
                    t,
                    "Quantity"
                        | "Age"
                        | "Duration"
                        | "Distance"
                        | "Count"
                        | "SimpleQuantity"
                        | "MoneyQuantity"
                ) =>
            {
                let value = Decimal::parse(node.get("value")?.as_number()?)?;
                let code = node.get("code").and_then(Node::as_str);
                let system = node.get("system").and_then(Node::as_str);
                let unit = match (code, system) {
                    // UCUM durations read as calendar durations (as fhirpath.js does).
                    (Some(c), Some("http://unitsofmeasure.org")) => match c {
                        "a" => "year".into(),
                        "mo" => "month".into(),
                        "wk" => "week".into(),
                        "d" => "day".into(),
                        "h" => "hour".into(),
                        "min" => "minute".into(),
                        "s" => "second".into(),
                        "ms" => "millisecond".into(),
                        c => c.to_string(),
                    },
                    (Some(c), None) => c.to_string(),
                    _ => node
                        .get("unit")
                        .and_then(Node::as_str)
                        .map(|u| {
                            calendar_keyword(u)
                                .map(str::to_string)
                                .unwrap_or_else(|| u.to_string())
                        })
                        .or_else(|| code.map(str::to_string))
                        .unwrap_or_else(|| "1".into()),
                };
                Some(Item::Quantity(Box::new(Quantity { value, unit })))
            }
            _ => None,
        }
    }

    /// The text of an item whose System value is a String, without
    /// converting it: a System String, or a FHIR primitive held as a JSON
    /// string that converts to a String (not a date, time or number type).
    /// `None` otherwise, including when [`Item::to_system`] would be needed.
    pub fn as_system_str(&self) -> Option<&str> {
        match self {
            Item::String(s) => Some(s),
            Item::Node(_) => self.node_str(),
            _ => None,
        }
    }

    /// [`Item::as_system_str`] of a FHIR node, borrowed from the instance.
    pub(crate) fn node_str(&self) -> Option<&'a str> {
        let Item::Node(n) = self else {
            return None;
        };
        match &n.node?.value {
            Value::String(s)
                if !matches!(
                    &*n.type_name,
                    "date"
                        | "dateTime"
                        | "instant"
                        | "time"
                        | "integer"
                        | "positiveInt"
                        | "unsignedInt"
                        | "decimal"
                ) =>
            {
                Some(s)
            }
            _ => None,
        }
    }

    /// Text form used by `toString()` and string concatenation.
    pub fn to_display_string(&self) -> Option<String> {
        Some(match self.to_system()? {
            Item::Boolean(b) => b.to_string(),
            Item::String(s) => s,
            Item::Integer(i) => i.to_string(),
            Item::Decimal(d) => d.to_string(),
            Item::Temporal(t) => t.render(),
            Item::Quantity(q) => q.render(),
            Item::Node(_) | Item::Type(..) => return None,
        })
    }
}
