//! Strict, position-aware loading of policy documents.
//!
//! The document is parsed with the crate's own parser ([`crate::json`]) so
//! that every key and value keeps its line and column; schema errors,
//! including glob errors, then point into the policy file.

use super::glob::Glob;
use super::{Action, Coding, Matcher, Policy, Rule};
use crate::json::{self, Node, Pos};
use crate::outcome::{IssueType, Severity};

/// Why a policy document was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {}, column {}", pos.line, pos.col)]
pub struct PolicyError {
    /// Human-readable reason, starting with the JSON path of the problem
    /// (e.g. `rules[1].match.severity`).
    pub message: String,
    /// Line and column in the policy text.
    pub pos: Pos,
}

type Result<T> = std::result::Result<T, PolicyError>;

fn fail<T>(pos: Pos, message: String) -> Result<T> {
    Err(PolicyError { message, pos })
}

const TOP_KEYS: &[&str] = &[
    "formatVersion",
    "name",
    "version",
    "description",
    "minSeverity",
    "emptyIssue",
    "emptyIssueText",
    "rules",
];
const RULE_KEYS: &[&str] = &["id", "description", "match", "action"];
const MATCH_KEYS: &[&str] = &[
    "messageId",
    "severity",
    "code",
    "expression",
    "profile",
    "resourceType",
];
const ACTION_KEYS: &[&str] = &[
    "drop",
    "setSeverity",
    "replaceText",
    "appendText",
    "addCoding",
];
const CODING_KEYS: &[&str] = &["system", "code", "display"];

pub(super) fn load(text: &str) -> Result<Policy> {
    let root = json::parse(text.as_bytes()).map_err(|e| PolicyError {
        message: format!("the policy is not valid JSON: {}", e.message),
        pos: e.pos,
    })?;
    let top = Obj::new(&root, "policy", TOP_KEYS)?;

    let fv = top.required("formatVersion")?;
    if fv.as_number() != Some("1") {
        return fail(
            fv.pos,
            "formatVersion: unsupported value; this engine reads format version 1".into(),
        );
    }
    let name = non_empty(top.required("name")?, "name")?;
    let version = non_empty(top.required("version")?, "version")?;
    let description = top
        .get("description")
        .map(|n| string(n, "description"))
        .transpose()?;
    let min_severity = top
        .get("minSeverity")
        .map(|n| severity(n, "minSeverity"))
        .transpose()?;

    let empty_issue = match top.get("emptyIssue") {
        Some(n) => n
            .as_bool()
            .ok_or_else(|| wrong_type(n, "emptyIssue", "a boolean"))?,
        None => false,
    };
    let empty_issue_text =
        match (empty_issue, top.get("emptyIssueText")) {
            (true, Some(n)) => Some(non_empty(n, "emptyIssueText")?),
            (true, None) => Some(match min_severity {
                Some(s) => format!("No issues at or above {}", s.code()),
                None => "No issues".to_string(),
            }),
            (false, Some(n)) => return fail(
                n.pos,
                "emptyIssueText: given without `\"emptyIssue\": true`, so it would never be used"
                    .into(),
            ),
            (false, None) => None,
        };

    let mut rules: Vec<Rule> = Vec::new();
    if let Some(list) = top.get("rules") {
        let items = list
            .as_array()
            .ok_or_else(|| wrong_type(list, "rules", "an array"))?;
        for (i, item) in items.iter().enumerate() {
            let rule = load_rule(text, item, &format!("rules[{i}]"))?;
            if rules.iter().any(|r| r.id == rule.id) {
                let at = item.get("id").map_or(item.pos, |n| n.pos);
                return fail(
                    at,
                    format!(
                        "rules[{i}].id: `{}` is already used by an earlier rule",
                        rule.id
                    ),
                );
            }
            rules.push(rule);
        }
    }

    Ok(Policy {
        name,
        version,
        description,
        min_severity,
        empty_issue_text,
        rules,
    })
}

fn load_rule(text: &str, node: &Node, path: &str) -> Result<Rule> {
    let o = Obj::new(node, path, RULE_KEYS)?;
    let id = non_empty(o.required("id")?, &o.path("id"))?;
    let description = o
        .get("description")
        .map(|n| string(n, &o.path("description")))
        .transpose()?;
    let matcher = load_match(text, o.required("match")?, &o.path("match"))?;
    let action = load_action(o.required("action")?, &o.path("action"))?;
    Ok(Rule {
        id,
        description,
        matcher,
        action,
    })
}

fn load_match(text: &str, node: &Node, path: &str) -> Result<Matcher> {
    let o = Obj::new(node, path, MATCH_KEYS)?;
    let list = |key: &str| -> Result<Option<Vec<(String, &Node)>>> {
        o.get(key).map(|n| string_list(n, &o.path(key))).transpose()
    };
    let plain = |v: Vec<(String, &Node)>| v.into_iter().map(|(s, _)| s).collect();
    let severity = match list("severity")? {
        Some(v) => Some(
            v.iter()
                .map(|(_, n)| severity(n, &o.path("severity")))
                .collect::<Result<_>>()?,
        ),
        None => None,
    };
    let code = match list("code")? {
        Some(v) => Some(
            v.iter()
                .map(|(s, n)| {
                    IssueType::from_code(s).ok_or_else(|| PolicyError {
                        message: format!("{}: unknown IssueType code `{s}`", o.path("code")),
                        pos: n.pos,
                    })
                })
                .collect::<Result<_>>()?,
        ),
        None => None,
    };
    let expression = match list("expression")? {
        Some(v) => Some(
            v.iter()
                .map(|(s, n)| {
                    Glob::new(s).map_err(|e| PolicyError {
                        message: format!("{}: bad glob `{s}`: {}", o.path("expression"), e.message),
                        pos: char_pos_in_string(text, n.pos, e.offset),
                    })
                })
                .collect::<Result<_>>()?,
        ),
        None => None,
    };
    Ok(Matcher {
        message_id: list("messageId")?.map(plain),
        severity,
        code,
        expression,
        profile: list("profile")?.map(plain),
        resource_type: list("resourceType")?.map(plain),
    })
}

fn load_action(node: &Node, path: &str) -> Result<Action> {
    let o = Obj::new(node, path, ACTION_KEYS)?;
    let mut a = Action::default();
    if let Some(n) = o.get("drop") {
        if n.as_bool() != Some(true) {
            return fail(
                n.pos,
                format!(
                    "{}: must be `true` (omit it to keep the issue)",
                    o.path("drop")
                ),
            );
        }
        if let Some(other) = o.members().iter().find(|m| &*m.key != "drop") {
            return fail(
                other.key_pos,
                format!(
                    "{}: `{}` cannot be combined with `drop`",
                    o.path(&other.key),
                    other.key
                ),
            );
        }
        a.drop = true;
        return Ok(a);
    }
    if o.members().is_empty() {
        return fail(
            node.pos,
            format!(
                "{path}: no action given (drop, setSeverity, replaceText, appendText, addCoding)"
            ),
        );
    }
    a.set_severity = o
        .get("setSeverity")
        .map(|n| severity(n, &o.path("setSeverity")))
        .transpose()?;
    a.replace_text = o
        .get("replaceText")
        .map(|n| non_empty(n, &o.path("replaceText")))
        .transpose()?;
    a.append_text = o
        .get("appendText")
        .map(|n| non_empty(n, &o.path("appendText")))
        .transpose()?;
    if let Some(n) = o.get("addCoding") {
        let c = Obj::new(n, &o.path("addCoding"), CODING_KEYS)?;
        a.add_coding = Some(Coding {
            system: non_empty(c.required("system")?, &c.path("system"))?,
            code: non_empty(c.required("code")?, &c.path("code"))?,
            display: c
                .get("display")
                .map(|n| non_empty(n, &c.path("display")))
                .transpose()?,
        });
    }
    Ok(a)
}

/// An object whose keys have been checked against the allowed set.
struct Obj<'a> {
    node: &'a Node,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(node: &'a Node, path: &str, allowed: &[&str]) -> Result<Obj<'a>> {
        let members = node
            .as_object()
            .ok_or_else(|| wrong_type(node, path, "an object"))?;
        for (i, m) in members.iter().enumerate() {
            let key_path = join(path, &m.key);
            if !allowed.contains(&&*m.key) {
                return fail(
                    m.key_pos,
                    format!("{key_path}: unknown key (allowed: {})", allowed.join(", ")),
                );
            }
            if members[..i].iter().any(|p| p.key == m.key) {
                return fail(m.key_pos, format!("{key_path}: duplicate key"));
            }
        }
        Ok(Obj {
            node,
            path: path.to_string(),
        })
    }

    fn members(&self) -> &'a [json::Member] {
        self.node.as_object().unwrap_or_default()
    }

    fn get(&self, key: &str) -> Option<&'a Node> {
        self.node.get(key)
    }

    fn required(&self, key: &str) -> Result<&'a Node> {
        self.get(key).ok_or_else(|| PolicyError {
            message: format!("{}: required key is missing", self.path(key)),
            pos: self.node.pos,
        })
    }

    fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() || path == "policy" {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn wrong_type(node: &Node, path: &str, expected: &str) -> PolicyError {
    PolicyError {
        message: format!("{path}: expected {expected}, found {}", node.kind_name()),
        pos: node.pos,
    }
}

fn string(node: &Node, path: &str) -> Result<String> {
    node.as_str()
        .map(str::to_string)
        .ok_or_else(|| wrong_type(node, path, "a string"))
}

fn non_empty(node: &Node, path: &str) -> Result<String> {
    let s = string(node, path)?;
    if s.trim().is_empty() {
        return fail(node.pos, format!("{path}: must not be empty"));
    }
    Ok(s)
}

fn severity(node: &Node, path: &str) -> Result<Severity> {
    let s = string(node, path)?;
    Severity::from_code(&s).ok_or_else(|| PolicyError {
        message: format!(
            "{path}: unknown severity `{s}` (expected information, warning, error or fatal)"
        ),
        pos: node.pos,
    })
}

/// A string or a non-empty array of non-empty strings, each with its node.
fn string_list<'a>(node: &'a Node, path: &str) -> Result<Vec<(String, &'a Node)>> {
    match node.as_array() {
        None => Ok(vec![(non_empty(node, path)?, node)]),
        Some([]) => fail(node.pos, format!("{path}: empty list would match nothing")),
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| Ok((non_empty(n, &format!("{path}[{i}]"))?, n)))
            .collect(),
    }
}

/// The position of the `offset`-th (unescaped) character of the JSON string
/// literal whose opening quote is at `quote`, by rescanning the source line
/// (string literals cannot span lines). Falls back to the quote.
fn char_pos_in_string(text: &str, quote: Pos, offset: usize) -> Pos {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(line) = text.split('\n').nth(quote.line as usize - 1) else {
        return quote;
    };
    let mut raw = line.chars().skip(quote.col as usize - 1);
    if raw.next() != Some('"') {
        return quote;
    }
    let mut col = quote.col + 1;
    for _ in 0..offset {
        let Some(c) = raw.next() else { return quote };
        col += 1;
        if c != '\\' {
            continue;
        }
        match raw.next() {
            Some('u') => {
                let hex: String = raw.by_ref().take(4).collect();
                col += 5;
                let high =
                    u32::from_str_radix(&hex, 16).is_ok_and(|u| (0xD800..0xDC00).contains(&u));
                if high {
                    // The low surrogate escape belongs to the same character.
                    raw.by_ref().take(6).for_each(drop);
                    col += 6;
                }
            }
            Some(_) => col += 1,
            None => return quote,
        }
    }
    Pos {
        line: quote.line,
        col,
    }
}
