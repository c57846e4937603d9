//! Value constraints from profiles: fixed[x], pattern[x], maxLength,
//! minValue[x] and maxValue[x].

use super::walk::Walker;
use crate::json::{Node, Value};
use crate::messages as msg;
use crate::model::{Element, Literal};
use crate::outcome::IssueType;

/// Checks one value of element `e`.
pub(super) fn check(w: &mut Walker<'_>, v: &Node, e: &Element) {
    if let Some(f) = &e.fixed {
        if !f.equals(v) {
            w.error(
                IssueType::Value,
                msg::FIXED_VALUE,
                format!(
                    "Value must be exactly {} (fixed by the profile for {})",
                    f.to_json_string(),
                    e.path
                ),
                v.pos,
            );
        }
    }
    if let Some(p) = &e.pattern {
        if !p.matches(v) {
            w.error(
                IssueType::Value,
                msg::PATTERN_VALUE,
                format!(
                    "Value must match the pattern {} required by the profile for {}",
                    p.to_json_string(),
                    e.path
                ),
                v.pos,
            );
        }
    }
    if let (Some(max), Value::String(s)) = (e.max_length, &v.value) {
        let n = s.chars().count();
        if n > max as usize {
            w.error(
                IssueType::Value,
                msg::MAX_LENGTH,
                format!("The value is {n} characters long, more than the maxLength of {max}"),
                v.pos,
            );
        }
    }
    if let Some(min) = &e.min_value {
        if compare(v, min) == Some(std::cmp::Ordering::Less) {
            w.error(
                IssueType::Value,
                msg::MIN_VALUE,
                format!("The value is below the minimum of {}", min.to_json_string()),
                v.pos,
            );
        }
    }
    if let Some(max) = &e.max_value {
        if compare(v, max) == Some(std::cmp::Ordering::Greater) {
            w.error(
                IssueType::Value,
                msg::MAX_VALUE,
                format!("The value is above the maximum of {}", max.to_json_string()),
                v.pos,
            );
        }
    }
}

/// Orders a number against a number, or a date/time string against one of
/// the same precision; anything else is not comparable.
fn compare(v: &Node, limit: &Literal) -> Option<std::cmp::Ordering> {
    match (&v.value, limit) {
        (Value::Number(a), Literal::Number(b)) => {
            a.parse::<f64>().ok()?.partial_cmp(&b.parse::<f64>().ok()?)
        }
        (Value::String(a), Literal::String(b)) if a.len() == b.len() => Some((**a).cmp(b.as_str())),
        _ => None,
    }
}
