//! Primitive values: JSON type, format (the type's regex plus calendar and
//! range rules the regexes cannot express), and the alignment of `x` with
//! its `_x` extension part.

use super::walk::Walker;
use crate::json::{Member, Node, Value};
use crate::messages as msg;
use crate::model::Structure;
use crate::outcome::IssueType;

/// The JSON shape a FHIR primitive type uses.
#[derive(PartialEq)]
enum JsonShape {
    Bool,
    Number,
    String,
}

fn shape_of(type_name: &str) -> JsonShape {
    match type_name {
        "boolean" => JsonShape::Bool,
        "integer" | "positiveInt" | "unsignedInt" | "decimal" | "integer64" => JsonShape::Number,
        _ => JsonShape::String,
    }
}

/// Checks one primitive value against its type structure; false when it
/// is malformed (later checks such as bindings then stay quiet).
pub(super) fn check_value(w: &mut Walker<'_>, v: &Node, ty: &Structure) -> bool {
    let tn = ty.type_name.as_str();
    let shape = shape_of(tn);
    let text: &str = match (&v.value, &shape) {
        (Value::Bool(_), JsonShape::Bool) => return true,
        (Value::Number(n), JsonShape::Number) => n,
        (Value::String(s), JsonShape::String) => s,
        _ => {
            let want = match shape {
                JsonShape::Bool => "a JSON boolean",
                JsonShape::Number => "a JSON number",
                JsonShape::String => "a JSON string",
            };
            w.error(
                IssueType::Structure,
                msg::JSON_TYPE,
                format!(
                    "The value for a {tn} must be {want}, not a {}",
                    v.kind_name()
                ),
                v.pos,
            );
            return false;
        }
    };
    if text.is_empty() {
        w.error(
            IssueType::Structure,
            msg::JSON_EMPTY,
            "Primitive values must have content; empty strings are not allowed in FHIR JSON".into(),
            v.pos,
        );
        return false;
    }
    if let Some(problem) = format_problem(w, ty, text) {
        w.error(IssueType::Value, msg::PRIMITIVE_FORMAT, problem, v.pos);
        return false;
    }
    if let Some(problem) = range_problem(tn, text) {
        w.error(IssueType::Value, msg::PRIMITIVE_RANGE, problem, v.pos);
        return false;
    }
    true
}

fn format_problem(w: &Walker<'_>, ty: &Structure, text: &str) -> Option<String> {
    let tn = ty.type_name.as_str();
    match tn {
        // The published R4 regex for base64Binary omits '/', so it is
        // checked by hand.
        "base64Binary" => {
            return (!is_base64(text))
                .then(|| format!("The value '{}' is not a valid base64Binary", shorten(text)));
        }
        "xhtml" => {
            return (!text.trim_start().starts_with("<div"))
                .then(|| "Narrative xhtml must be a <div> element".to_string());
        }
        "integer" | "positiveInt" | "unsignedInt" if text.contains(['.', 'e', 'E']) => {
            return Some(format!(
                "The value '{}' is not a valid {tn}: it must be a whole number",
                shorten(text)
            ));
        }
        _ => {}
    }
    if !surely_matches(tn, text) {
        if let Some(re) = w.ctx.primitive_regex(ty) {
            if !re.is_match(text) {
                return Some(format!("The value '{}' is not a valid {tn}", shorten(text)));
            }
        }
    }
    match tn {
        "date" | "dateTime" | "instant" if !calendar_ok(text) => Some(format!(
            "The value '{}' is not a valid {tn}: no such calendar day",
            shorten(text)
        )),
        _ => None,
    }
}

/// True when `text` certainly matches the R4 regex of the type: a byte
/// scan for the common all-ASCII values of the most frequent types, so the
/// regex runs only for the rest. Never says true where the regex would
/// not match; false means "ask the regex".
fn surely_matches(tn: &str, text: &str) -> bool {
    if !text.is_ascii() {
        return false;
    }
    // `\s` in the regexes: Unicode White_Space, in ASCII these six.
    let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let b = text.as_bytes();
    match tn {
        // [ \r\n\t\S]+
        "string" | "markdown" => !b.is_empty() && memchr::memchr2(0x0b, 0x0c, b).is_none(),
        // [^\s]+(\s[^\s]+)*
        "code" => {
            !b.is_empty()
                && !ws(b[0])
                && !ws(b[b.len() - 1])
                && !b.windows(2).any(|p| ws(p[0]) && ws(p[1]))
        }
        // [A-Za-z0-9\-\.]{1,64}
        "id" => {
            (1..=64).contains(&b.len())
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
        }
        // \S*
        "uri" | "url" | "canonical" => !b.iter().any(|&c| ws(c)),
        _ => false,
    }
}

fn range_problem(tn: &str, text: &str) -> Option<String> {
    let (lo, hi): (i64, i64) = match tn {
        "integer" => (i32::MIN as i64, i32::MAX as i64),
        "positiveInt" => (1, i32::MAX as i64),
        "unsignedInt" => (0, i32::MAX as i64),
        _ => return None,
    };
    match text.parse::<i64>() {
        Ok(n) if n >= lo && n <= hi => None,
        _ => Some(format!(
            "The value {} is out of range for {tn} ({lo} to {hi})",
            shorten(text)
        )),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 {
        let head: String = s.chars().take(57).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

fn is_base64(s: &str) -> bool {
    let mut n = 0usize;
    let mut pad = 0usize;
    for b in s.bytes() {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            b'=' => pad += 1,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' if pad == 0 => {}
            _ => return false,
        }
        n += 1;
    }
    n.is_multiple_of(4) && pad <= 2
}

/// Day-of-month validity for the date part of date, dateTime and instant
/// (the regexes accept 31 for every month).
fn calendar_ok(text: &str) -> bool {
    // The first three `-`-separated parts, without collecting them.
    let mut parts = text.get(..10).unwrap_or(text).split('-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return true;
    };
    let (Ok(y), Ok(m), Ok(d)) = (
        y.parse::<u32>(),
        m.parse::<u32>(),
        d.get(..2).unwrap_or("").parse::<u32>(),
    ) else {
        return true;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    d >= 1 && d <= days
}

/// `x` and `_x` alignment: for repeating primitives both arrays have the
/// same length and no position is null in both; a lone `_x` is fine.
pub(super) fn check_alignment(
    w: &mut Walker<'_>,
    value: Option<&Member>,
    ext: Option<&Member>,
    values: &[Option<&Node>],
    exts: &[Option<&Node>],
) {
    let (Some(v), Some(x)) = (value, ext) else {
        if let Some(x) = ext {
            // `_x` alone: null entries are meaningless.
            if let Value::Array(items) = &x.value.value {
                if items.iter().all(|i| matches!(i.value, Value::Null)) {
                    w.error(
                        IssueType::Structure,
                        msg::JSON_NULL,
                        format!(
                            "The array _{} contains only nulls",
                            x.key.trim_start_matches('_')
                        ),
                        x.value.pos,
                    );
                }
            }
        } else if let Some(v) = value {
            if let Value::Array(items) = &v.value.value {
                if let Some(n) = items.iter().find(|i| matches!(i.value, Value::Null)) {
                    w.error(
                        IssueType::Structure,
                        msg::JSON_NULL,
                        format!(
                            "The array {} contains null, which is only allowed when _{} has extension data at the same position",
                            v.key, v.key
                        ),
                        n.pos,
                    );
                }
            }
        }
        return;
    };
    let both_arrays =
        matches!(v.value.value, Value::Array(_)) && matches!(x.value.value, Value::Array(_));
    let both_single =
        !matches!(v.value.value, Value::Array(_)) && !matches!(x.value.value, Value::Array(_));
    if !(both_arrays || both_single) {
        w.error(
            IssueType::Structure,
            msg::JSON_PRIMITIVE_EXTENSION_MISMATCH,
            format!(
                "{} and _{} must both be arrays or both be single values",
                v.key, v.key
            ),
            x.key_pos,
        );
        return;
    }
    if both_arrays && values.len() != exts.len() {
        w.error(
            IssueType::Structure,
            msg::JSON_PRIMITIVE_EXTENSION_MISMATCH,
            format!(
                "The arrays {} ({} items) and _{} ({} items) must have the same length",
                v.key,
                values.len(),
                v.key,
                exts.len()
            ),
            x.key_pos,
        );
        return;
    }
    for (i, (a, b)) in values.iter().zip(exts).enumerate() {
        if a.is_none() && b.is_none() {
            w.error(
                IssueType::Structure,
                msg::JSON_NULL,
                format!("{}[{i}] and _{}[{i}] are both null", v.key, v.key),
                x.key_pos,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-scan shortcut never accepts what the R4 regex rejects.
    #[test]
    fn shortcut_agrees_with_the_regexes() {
        let regexes = [
            ("string", r"[ \r\n\t\S]+"),
            ("markdown", r"[ \r\n\t\S]+"),
            ("code", r"[^\s]+(\s[^\s]+)*"),
            ("id", r"[A-Za-z0-9\-\.]{1,64}"),
            ("uri", r"\S*"),
            ("url", r"\S*"),
            ("canonical", r"\S*"),
        ];
        let long_id = "a".repeat(65);
        let samples = [
            "",
            " ",
            "a",
            "a b",
            "a  b",
            " a",
            "a ",
            "a\tb",
            "a\u{b}b",
            "a\u{c}b",
            "\r\n",
            "x\u{1}y",
            "http://x.org/a|1.0",
            "a\u{a0}b",
            "é",
            "abc-1.2",
            "abc_1",
            &long_id,
            "urn:uuid:0b6a4f37-9e1c-4a3a-9a64-6f1f9f1e2d11",
        ];
        for (tn, re) in regexes {
            let re = regex::Regex::new(&format!("^(?:{re})$")).unwrap();
            for s in samples {
                if surely_matches(tn, s) {
                    assert!(re.is_match(s), "{tn}: {s:?} accepted by the shortcut only");
                }
            }
        }
        // The shortcut does take the common cases.
        assert!(surely_matches("code", "final"));
        assert!(surely_matches("string", "Hello, world"));
        assert!(surely_matches("uri", "http://loinc.org"));
        assert!(!surely_matches("oid", "urn:oid:1.2.3"));
    }

    #[test]
    fn calendar() {
        assert!(calendar_ok("2024-02-29"));
        assert!(!calendar_ok("2023-02-29"));
        assert!(!calendar_ok("2023-04-31T10:00:00Z"));
        assert!(calendar_ok("2023-04"));
    }

    /// The version that collected the parts, for comparison.
    fn calendar_ok_collecting(text: &str) -> bool {
        let parts: Vec<&str> = text.get(..10).unwrap_or(text).split('-').collect();
        if parts.len() < 3 {
            return true;
        }
        let (Ok(y), Ok(m), Ok(d)) = (
            parts[0].parse::<u32>(),
            parts[1].parse::<u32>(),
            parts[2].get(..2).unwrap_or("").parse::<u32>(),
        ) else {
            return true;
        };
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        d >= 1 && d <= days
    }

    #[test]
    fn calendar_without_collecting_is_the_same() {
        for t in [
            "",
            "2024",
            "2024-",
            "2024-02",
            "2024-02-",
            "2024-02-2",
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-01",
            "2024-02-00",
            "2024-02-30T10:00:00Z",
            "-02-03",
            "2024--01",
            "2024-02-29-01",
            "1900-02-29",
            "2000-02-29",
            "x-y-z",
            "2024-0é-01",
            "2024-02-2é",
            "2024-4-5",
            "20240-01-01",
            "2024-01-01-",
            "1-1-1",
        ] {
            assert_eq!(calendar_ok(t), calendar_ok_collecting(t), "{t:?}");
        }
    }

    #[test]
    fn base64() {
        assert!(is_base64("SGVsbG8/"));
        assert!(is_base64("SGVs bG8="));
        assert!(!is_base64("SGVsbG8"));
        assert!(!is_base64("SG=sbG8="));
    }

    #[test]
    fn ranges() {
        assert!(range_problem("integer", "2147483648").is_some());
        assert!(range_problem("positiveInt", "0").is_some());
        assert!(range_problem("unsignedInt", "0").is_none());
    }
}
