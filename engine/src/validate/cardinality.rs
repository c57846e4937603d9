//! Cardinality: occurrences of an element against its min and max.

use super::walk::{max_text, Walker};
use crate::json::Node;
use crate::messages as msg;
use crate::model::Element;
use crate::outcome::IssueType;

/// Checks `count` occurrences of `e` found in `parent`.
#[inline]
pub(super) fn check(
    w: &mut Walker<'_>,
    parent: &Node,
    e: &Element,
    count: usize,
    key: Option<&str>,
) {
    // Inline: it runs for every child of every object, and almost always
    // passes.
    if count >= e.min as usize && count <= e.max as usize {
        return;
    }
    report(w, parent, e, count, key);
}

#[cold]
fn report(w: &mut Walker<'_>, parent: &Node, e: &Element, count: usize, key: Option<&str>) {
    let min = e.min as usize;
    let saved = w.path.len();
    if !w.path.is_empty() {
        w.path.push('.');
    }
    w.path.push_str(key.unwrap_or(&e.name));
    let pos = parent
        .as_object()
        .and_then(|ms| {
            ms.iter()
                .find(|m| key.is_some_and(|k| &*m.key == k || m.key.strip_prefix('_') == Some(k)))
        })
        .map(|m| m.key_pos)
        .unwrap_or(parent.pos);
    if count < min {
        w.error(
            IssueType::Required,
            msg::CARDINALITY_MIN,
            format!(
                "{}: minimum required = {}, but only found {}",
                e.path, e.min, count
            ),
            pos,
        );
    } else {
        w.error(
            IssueType::Structure,
            msg::CARDINALITY_MAX,
            format!(
                "{}: max allowed = {}, but found {}",
                e.path,
                max_text(e.max),
                count
            ),
            pos,
        );
    }
    w.path.truncate(saved);
}
