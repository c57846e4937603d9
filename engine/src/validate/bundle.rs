//! Bundle rules: fullUrl form, agreement with the entry's resource, and
//! uniqueness.

use super::walk::Walker;
use crate::json::{Node, Pos};
use crate::messages as msg;
use crate::outcome::IssueType;
use std::collections::HashMap;

/// Checks the entries of a Bundle node (the walker's path is at `Bundle`).
pub(super) fn check_bundle(w: &mut Walker<'_>, bundle: &Node) {
    let Some(entries) = bundle.get("entry").and_then(Node::as_array) else {
        return;
    };
    let mut seen: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(full) = entry.get("fullUrl") else {
            continue;
        };
        let Some(url) = full.as_str() else {
            continue; // the walk already reported the JSON type
        };
        let resource = entry.get("resource");
        let version = resource
            .and_then(|r| r.get("meta"))
            .and_then(|m| m.get("versionId"))
            .and_then(Node::as_str);
        let at = |w: &mut Walker<'_>, id: &str, text: String, pos: Pos| {
            let saved = w.path.len();
            w.path.push_str(&format!(".entry[{i}].fullUrl"));
            w.error(IssueType::Invalid, id, text, pos);
            w.path.truncate(saved);
        };
        if let Some(problem) = full_url_problem(url) {
            at(w, msg::BUNDLE_FULLURL_INVALID, problem, full.pos);
        } else if let Some(r) = resource {
            if let Some(problem) = mismatch(url, r) {
                at(w, msg::BUNDLE_FULLURL_MISMATCH, problem, full.pos);
            }
        }
        if let Some(first) = seen.insert((url, version), i) {
            at(
                w,
                msg::BUNDLE_FULLURL_DUPLICATE,
                format!(
                    "Duplicate fullUrl '{url}' (also entry[{first}]){}",
                    if version.is_some() {
                        " with the same meta.versionId"
                    } else {
                        ""
                    }
                ),
                full.pos,
            );
        }
    }
}

fn full_url_problem(url: &str) -> Option<String> {
    if let Some(uuid) = url.strip_prefix("urn:uuid:") {
        let ok = uuid.len() == 36
            && uuid.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        return (!ok).then(|| format!("The fullUrl '{url}' is not a valid urn:uuid: (expected 36 characters like 123e4567-e89b-12d3-a456-426614174000)"));
    }
    if let Some(oid) = url.strip_prefix("urn:oid:") {
        let ok = !oid.is_empty()
            && oid
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return (!ok).then(|| format!("The fullUrl '{url}' is not a valid urn:oid:"));
    }
    let scheme_ok = url.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    (!scheme_ok || url.contains(char::is_whitespace))
        .then(|| format!("The fullUrl '{url}' must be an absolute URI"))
}

/// A RESTful fullUrl (`…/Type/id` or `…/Type/id/_history/v`) must name the
/// entry's resource type and id.
fn mismatch(url: &str, resource: &Node) -> Option<String> {
    if url.starts_with("urn:") {
        return None;
    }
    let rt = resource.get("resourceType")?.as_str()?;
    let id = resource.get("id").and_then(Node::as_str);
    let trimmed = match super::references::history_at(url) {
        Some(h) => &url[..h],
        None => url,
    };
    let mut segs = trimmed.rsplit('/');
    let last = segs.next()?;
    let prev = segs.next()?;
    if prev != rt {
        // Not a RESTful URL for this type: HL7 accepts non-RESTful forms
        // unless they end with a resource type and id.
        return if looks_like_type(prev) && id.is_some() {
            Some(format!(
                "The fullUrl '{url}' names type {prev}, but the resource is a {rt}"
            ))
        } else {
            None
        };
    }
    match id {
        Some(id) if id != last => Some(format!(
            "The fullUrl '{url}' does not match the resource id '{id}' (expected it to end with /{rt}/{id})"
        )),
        None => Some(format!("The fullUrl '{url}' ends with /{rt}/{last} but the resource has no id")),
        _ => None,
    }
}

fn looks_like_type(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}
