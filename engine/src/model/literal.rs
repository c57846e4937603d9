//! JSON values stored in the rule graph (fixed, pattern, min/max values).
//!
//! A dedicated tree rather than `serde_json::Value` so that the compiled
//! artifact can use a compact non-self-describing format.

use crate::json::{Node, Value};
use serde::{Deserialize, Serialize};

/// A JSON value from a definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// A number as written.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Literal>),
    /// An object (member order kept).
    Object(Vec<(String, Literal)>),
}

impl Literal {
    /// Converts from serde_json.
    pub fn from_serde(v: &serde_json::Value) -> Literal {
        match v {
            serde_json::Value::Null => Literal::Null,
            serde_json::Value::Bool(b) => Literal::Bool(*b),
            serde_json::Value::Number(n) => Literal::Number(n.to_string()),
            serde_json::Value::String(s) => Literal::String(s.clone()),
            serde_json::Value::Array(a) => {
                Literal::Array(a.iter().map(Literal::from_serde).collect())
            }
            serde_json::Value::Object(m) => Literal::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Literal::from_serde(v)))
                    .collect(),
            ),
        }
    }

    /// Compact JSON text, for messages.
    pub fn to_json_string(&self) -> String {
        self.to_serde().to_string()
    }

    fn to_serde(&self) -> serde_json::Value {
        match self {
            Literal::Null => serde_json::Value::Null,
            Literal::Bool(b) => serde_json::Value::Bool(*b),
            Literal::Number(n) => serde_json::from_str(n).unwrap_or(serde_json::Value::Null),
            Literal::String(s) => serde_json::Value::String(s.clone()),
            Literal::Array(a) => {
                serde_json::Value::Array(a.iter().map(Literal::to_serde).collect())
            }
            Literal::Object(m) => serde_json::Value::Object(
                m.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect(),
            ),
        }
    }

    /// Exact equality with an instance value (fixed[x] semantics). Object
    /// member order does not matter; numbers compare by value.
    pub fn equals(&self, node: &Node) -> bool {
        match (self, &node.value) {
            (Literal::Null, Value::Null) => true,
            (Literal::Bool(a), Value::Bool(b)) => a == b,
            (Literal::Number(a), Value::Number(b)) => numbers_equal(a, b),
            (Literal::String(a), Value::String(b)) => a.as_str() == &**b,
            (Literal::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            (Literal::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter()
                            .find(|m| &*m.key == k.as_str())
                            .is_some_and(|m| v.equals(&m.value))
                    })
            }
            _ => false,
        }
    }

    /// Pattern matching (pattern[x] semantics): every property of the
    /// pattern is present in the instance with a matching value; every item
    /// of a pattern array matches some item of the instance array.
    pub fn matches(&self, node: &Node) -> bool {
        match (self, &node.value) {
            (Literal::Object(a), Value::Object(b)) => a.iter().all(|(k, v)| {
                b.iter()
                    .filter(|m| &*m.key == k.as_str())
                    .any(|m| v.matches_any(&m.value))
            }),
            (Literal::Array(a), Value::Array(b)) => {
                a.iter().all(|p| b.iter().any(|item| p.matches(item)))
            }
            _ => self.equals(node),
        }
    }

    /// Matches a single instance value, or any item when the instance value
    /// is an array and the pattern is not.
    fn matches_any(&self, node: &Node) -> bool {
        match (&self, &node.value) {
            (Literal::Array(_), _) => self.matches(node),
            (_, Value::Array(items)) => items.iter().any(|i| self.matches(i)),
            _ => self.matches(node),
        }
    }
}

/// Numeric equality on decimal text without floating point rounding:
/// `1.0` equals `1.00` and `1`.
pub(crate) fn numbers_equal(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y && normalize(a) == normalize(b),
        _ => false,
    }
}

fn normalize(s: &str) -> String {
    if s.contains(['e', 'E']) {
        return s.parse::<f64>().map(|f| f.to_string()).unwrap_or_default();
    }
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn pattern_and_fixed() {
        let pat = Literal::from_serde(&serde_json::json!({"coding":[{"system":"s","code":"MR"}]}));
        let inst = parse(br#"{"coding":[{"system":"x","code":"y"},{"system":"s","code":"MR","display":"d"}],"text":"t"}"#).unwrap();
        assert!(pat.matches(&inst));
        assert!(!pat.equals(&inst));
        let other = parse(br#"{"coding":[{"system":"s","code":"MA"}]}"#).unwrap();
        assert!(!pat.matches(&other));
        assert!(numbers_equal("1.0", "1.00"));
        assert!(!numbers_equal("1.0", "1.01"));
    }
}
