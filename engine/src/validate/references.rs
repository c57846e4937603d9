//! Reference resolution inside a document: one index per Bundle (built in
//! one pass, so resolving every reference of a large bundle is linear), plus
//! contained resources.

use crate::json::Node;
use std::collections::HashMap;

/// The entries of one Bundle, by fullUrl and by `Type/id`.
#[derive(Default)]
pub(super) struct BundleIndex<'a> {
    by_url: HashMap<&'a str, &'a Node>,
    by_type_id: HashMap<(&'a str, &'a str), &'a Node>,
}

impl<'a> BundleIndex<'a> {
    pub fn build(bundle: &'a Node) -> Self {
        let mut idx = BundleIndex::default();
        for entry in bundle.get("entry").and_then(Node::as_array).unwrap_or(&[]) {
            let Some(res) = entry.get("resource") else {
                continue;
            };
            if let Some(url) = entry.get("fullUrl").and_then(Node::as_str) {
                idx.by_url.entry(url).or_insert(res);
            }
            if let (Some(rt), Some(id)) = (
                res.get("resourceType").and_then(Node::as_str),
                res.get("id").and_then(Node::as_str),
            ) {
                idx.by_type_id.entry((rt, id)).or_insert(res);
            }
        }
        idx
    }

    /// Resolves a literal reference made from the entry whose fullUrl is
    /// `from` (relative references are relative to that entry's base).
    pub fn resolve(&self, reference: &str, from: Option<&str>) -> Option<&'a Node> {
        let reference = reference.split('#').next().unwrap_or(reference);
        if let Some(n) = self.by_url.get(reference) {
            return Some(n);
        }
        if has_scheme(reference) {
            return None;
        }
        let plain = match reference.find("/_history/") {
            Some(h) => &reference[..h],
            None => reference,
        };
        let (rt, id) = plain.split_once('/')?;
        // Relative to a RESTful fullUrl base: `http://x/fhir/Patient/1`
        // makes `Observation/2` mean `http://x/fhir/Observation/2`.
        if let Some(base) = from.and_then(restful_base) {
            let full = format!("{base}{plain}");
            if let Some(n) = self.by_url.get(full.as_str()) {
                return Some(n);
            }
        }
        self.by_type_id.get(&(rt, id)).copied()
    }
}

/// `http://x/fhir/` for `http://x/fhir/Patient/1`.
fn restful_base(full_url: &str) -> Option<&str> {
    if !full_url.starts_with("http") {
        return None;
    }
    let trimmed = match full_url.find("/_history/") {
        Some(h) => &full_url[..h],
        None => full_url,
    };
    let mut it = trimmed.rmatch_indices('/');
    let _id = it.next()?;
    let (type_slash, _) = it.next()?;
    Some(&trimmed[..type_slash + 1])
}

fn has_scheme(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    })
}

/// A contained resource of `container` with this `#id` (or the container
/// itself for `#`).
pub(super) fn resolve_contained<'a>(container: &'a Node, fragment: &str) -> Option<&'a Node> {
    if fragment.is_empty() {
        return Some(container);
    }
    container
        .get("contained")
        .and_then(Node::as_array)?
        .iter()
        .find(|c| c.get("id").and_then(Node::as_str) == Some(fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_by_url_type_id_and_base() {
        let b = crate::json::parse(
            br#"{"resourceType":"Bundle","entry":[
              {"fullUrl":"http://x.org/fhir/Patient/1","resource":{"resourceType":"Patient","id":"1"}},
              {"fullUrl":"urn:uuid:0b6a4f37-9e1c-4a3a-9a64-6f1f9f1e2d11","resource":{"resourceType":"Observation","id":"o"}}]}"#,
        )
        .unwrap();
        let idx = BundleIndex::build(&b);
        assert!(idx
            .resolve("Patient/1", Some("http://x.org/fhir/Observation/9"))
            .is_some());
        assert!(idx
            .resolve("urn:uuid:0b6a4f37-9e1c-4a3a-9a64-6f1f9f1e2d11", None)
            .is_some());
        assert!(idx.resolve("Observation/o", None).is_some());
        assert!(idx.resolve("Patient/2", None).is_none());
        assert!(idx.resolve("http://y.org/Patient/1", None).is_none());
        assert_eq!(
            restful_base("http://x.org/fhir/Patient/1"),
            Some("http://x.org/fhir/")
        );
    }
}
