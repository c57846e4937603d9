//! Globs over FHIRPath locations such as
//! `Bundle.entry[3].resource.ofType(Patient).name[0].given[0]`.
//!
//! # Language
//!
//! A glob is a sequence of *segments* separated by `.`; dots inside `[...]`,
//! `(...)` or `'...'` do not separate segments.
//!
//! * `*` matches any run of characters (possibly empty) other than `.`, `[`
//!   and `]`: it stays within one segment name, one argument list or one
//!   index, e.g. `entry[*]`, `ofType(*)`, `Patient.*`.
//! * `**`, which must be a whole segment, matches zero or more whole
//!   segments (with their indices): `Bundle.**` matches `Bundle` and all
//!   below it; `**.id` matches `id` at any depth.
//! * Every other character, including `[`, `]`, `(`, `)` and `'`, matches
//!   itself. An unindexed segment does not match an indexed one: `name`
//!   matches `name` only, `name[*]` matches `name[0]`.
//! * The whole location must match (the glob is anchored at both ends).
//!
//! Rejected, with the character offset of the problem: an empty glob or
//! segment, `**` that is not a whole segment, two `**` in a row, `?`
//! (reserved, so that nobody gets a literal `?` by accident) and unbalanced
//! brackets, parentheses or quotes.

use regex::Regex;

/// A compiled glob; matching is one anchored regex search.
#[derive(Debug, Clone)]
pub struct Glob {
    source: String,
    regex: Regex,
}

/// Why a glob is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {offset} of the glob)")]
pub struct GlobError {
    /// Human-readable reason.
    pub message: String,
    /// 0-based offset, in characters, of the offending character.
    pub offset: usize,
}

/// What `*` expands to: anything within one segment name or index.
const STAR: &str = r"[^.\[\]]*";

impl Glob {
    /// Compiles a glob.
    pub fn new(glob: &str) -> Result<Glob, GlobError> {
        let segments = split_segments(glob)?;
        let mut re = String::from("^");
        let mut need_sep = false;
        let last = segments.len() - 1;
        for (i, seg) in segments.iter().enumerate() {
            if seg.text == "**" {
                if i > 0 && segments[i - 1].text == "**" {
                    return Err(err("`**` follows `**`; one is enough", seg.offset));
                }
                if i == last {
                    re.push_str(if i == 0 { ".*" } else { r"(?:\..*)?" });
                } else {
                    if need_sep {
                        re.push_str(r"\.");
                    }
                    re.push_str(r"(?:.*\.)?");
                    need_sep = false;
                }
                continue;
            }
            if need_sep {
                re.push_str(r"\.");
            }
            let mut prev_star = false;
            for (k, c) in seg.text.chars().enumerate() {
                match c {
                    '*' if prev_star => {
                        return Err(err(
                            "`**` must be a whole segment (between dots)",
                            seg.offset + k - 1,
                        ))
                    }
                    '*' => re.push_str(STAR),
                    '?' => return Err(err("`?` is not a glob wildcard; use `*`", seg.offset + k)),
                    _ => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
                }
                prev_star = c == '*';
            }
            need_sep = true;
        }
        re.push('$');
        let regex = Regex::new(&re).map_err(|e| err(&format!("internal glob error: {e}"), 0))?;
        Ok(Glob {
            source: glob.to_string(),
            regex,
        })
    }

    /// True when the whole `location` matches.
    pub fn is_match(&self, location: &str) -> bool {
        self.regex.is_match(location)
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn err(message: &str, offset: usize) -> GlobError {
    GlobError {
        message: message.to_string(),
        offset,
    }
}

struct Segment {
    text: String,
    /// Character offset of the segment's first character.
    offset: usize,
}

/// Splits at top-level dots, checking that brackets, parentheses and quotes
/// balance so that a typo cannot silently turn into a never-matching glob.
fn split_segments(glob: &str) -> Result<Vec<Segment>, GlobError> {
    if glob.is_empty() {
        return Err(err("the glob is empty", 0));
    }
    let mut segments = Vec::new();
    let mut stack: Vec<(char, usize)> = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    let mut n = 0;
    for (i, c) in glob.chars().enumerate() {
        n = i + 1;
        let in_quote = matches!(stack.last(), Some(('\'', _)));
        match c {
            '\'' if in_quote => {
                stack.pop();
            }
            _ if in_quote => {}
            '\'' | '[' | '(' => stack.push((c, i)),
            ']' | ')' => {
                let open = if c == ']' { '[' } else { '(' };
                match stack.pop() {
                    Some((o, _)) if o == open => {}
                    _ => return Err(err(&format!("`{c}` without a matching `{open}`"), i)),
                }
            }
            '.' if stack.is_empty() => {
                if cur.is_empty() {
                    return Err(err("empty segment (two dots, or a dot at an end)", i));
                }
                segments.push(Segment {
                    text: std::mem::take(&mut cur),
                    offset: start,
                });
                start = i + 1;
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if let Some((open, at)) = stack.pop() {
        let close = match open {
            '[' => ']',
            '(' => ')',
            _ => '\'',
        };
        return Err(err(&format!("`{open}` is never closed by `{close}`"), at));
    }
    if cur.is_empty() {
        return Err(err("empty segment (two dots, or a dot at an end)", n));
    }
    segments.push(Segment {
        text: cur,
        offset: start,
    });
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(glob: &str, loc: &str) -> bool {
        Glob::new(glob).unwrap().is_match(loc)
    }

    #[test]
    fn literal_segments_match_exactly() {
        assert!(m("Patient.name", "Patient.name"));
        assert!(!m("Patient.name", "Patient.name[0]"));
        assert!(!m("Patient.name", "Patient.names"));
        assert!(!m("Patient.name", "XPatient.name"));
        // Dots and brackets are literal, not regex metacharacters.
        assert!(!m("Patient.name", "PatientXname"));
        assert!(m("a.b[0]", "a.b[0]"));
        assert!(!m("a.b[0]", "a.b0"));
    }

    #[test]
    fn star_stays_within_a_segment_or_index() {
        assert!(m("Bundle.entry[*].resource", "Bundle.entry[12].resource"));
        assert!(!m("Bundle.entry[*].resource", "Bundle.entry.resource"));
        assert!(m("Patient.*", "Patient.gender"));
        assert!(!m("Patient.*", "Patient.name.given"));
        assert!(!m("Patient.*", "Patient.name[0]"));
        assert!(m("Patient.*[*]", "Patient.name[0]"));
        assert!(m(
            "Bundle.entry[*].resource.ofType(*)",
            "Bundle.entry[0].resource.ofType(Task)"
        ));
        assert!(m("Patient.name*", "Patient.nameX"));
        assert!(m("Patient.name*", "Patient.name"));
    }

    #[test]
    fn double_star_spans_segments() {
        let g = "Bundle.entry[*].resource.ofType(Patient).**";
        assert!(m(g, "Bundle.entry[3].resource.ofType(Patient)"));
        assert!(m(
            g,
            "Bundle.entry[3].resource.ofType(Patient).name[0].given[1]"
        ));
        assert!(!m(g, "Bundle.entry[3].resource.ofType(Task).id"));
        assert!(m("**.id", "id"));
        assert!(m("**.id", "Bundle.entry[0].resource.ofType(Task).id"));
        assert!(!m("**.id", "Bundle.identifier"));
        assert!(m("Bundle.**.id", "Bundle.id"));
        assert!(m("Bundle.**.id", "Bundle.entry[0].resource.id"));
        assert!(!m("Bundle.**.id", "Patient.id"));
        assert!(m("**", "anything[0].at(all)"));
        assert!(m("**", ""));
    }

    #[test]
    fn dots_inside_brackets_and_quotes_are_literal() {
        let g = "Patient.extension('http://x.org/a').value";
        assert!(m(g, "Patient.extension('http://x.org/a').value"));
        assert!(!m(g, "Patient.extension('http://xXorg/a').value"));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = |g: &str| Glob::new(g).unwrap_err();
        assert_eq!(e("").offset, 0);
        assert_eq!(e("a..b").offset, 2);
        assert_eq!(e(".a").offset, 0);
        assert_eq!(e("a.").offset, 2);
        assert_eq!(e("Patient.na**me").offset, 10);
        assert_eq!(e("**.**").offset, 3);
        assert_eq!(e("a.b?").offset, 3);
        assert_eq!(e("entry[*.resource").offset, 5);
        assert_eq!(e("entry*].x").offset, 6);
        assert_eq!(e("ofType(Patient]").offset, 14);
        assert_eq!(e("ext('a.b").offset, 4);
        assert!(e("a..b").message.contains("empty segment"));
    }
}
