//! Reference resolution inside a document: one index per Bundle (built in
//! one pass, so resolving every reference of a large bundle is linear), plus
//! contained resources.

use super::walk::Walker;
use crate::fxhash::FxHashMap;
use crate::json::Node;
use crate::messages as msg;
use crate::model::{Structure, TypeRef};
use crate::outcome::IssueType;

/// The entries of one Bundle, by fullUrl and by `Type/id`.
#[derive(Default)]
pub(super) struct BundleIndex<'a> {
    by_url: FxHashMap<&'a str, &'a Node>,
    by_type_id: FxHashMap<(&'a str, &'a str), &'a Node>,
    /// Entry resources (by address) and their entries' fullUrl.
    entries: FxHashMap<usize, Option<&'a str>>,
}

impl<'a> BundleIndex<'a> {
    pub fn build(bundle: &'a Node) -> Self {
        let mut idx = BundleIndex::default();
        for entry in bundle.get("entry").and_then(Node::as_array).unwrap_or(&[]) {
            let Some(res) = entry.get("resource") else {
                continue;
            };
            let full_url = entry.get("fullUrl").and_then(Node::as_str);
            if let Some(url) = full_url {
                idx.by_url.entry(url).or_insert(res);
            }
            idx.entries.insert(res as *const Node as usize, full_url);
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
        let reference = match memchr::memchr(b'#', reference.as_bytes()) {
            Some(i) => &reference[..i],
            None => reference,
        };
        if let Some(n) = self.by_url.get(reference) {
            return Some(n);
        }
        if has_scheme(reference) {
            return None;
        }
        let plain = match history_at(reference) {
            Some(h) => &reference[..h],
            None => reference,
        };
        let (rt, id) = plain.split_once('/')?;
        // Relative to a RESTful fullUrl base: `http://x/fhir/Patient/1`
        // makes `Observation/2` mean `http://x/fhir/Observation/2`.
        if let Some(base) = from.and_then(restful_base) {
            // Most fullUrls fit a stack buffer: no allocation per reference.
            let mut buf = [0u8; 256];
            let n = base.len() + plain.len();
            let found = if n <= buf.len() {
                buf[..base.len()].copy_from_slice(base.as_bytes());
                buf[base.len()..n].copy_from_slice(plain.as_bytes());
                std::str::from_utf8(&buf[..n])
                    .ok()
                    .and_then(|full| self.by_url.get(full))
                    .copied()
            } else {
                self.by_url.get(format!("{base}{plain}").as_str()).copied()
            };
            if found.is_some() {
                return found;
            }
        }
        self.by_type_id.get(&(rt, id)).copied()
    }

    /// `Some(fullUrl)` when `node` is the resource of one of the entries.
    pub fn entry_full_url(&self, node: &Node) -> Option<Option<&'a str>> {
        self.entries.get(&(node as *const Node as usize)).copied()
    }
}

/// Where `/_history/` starts in `s`, if it does: `str::find` with the
/// same answer, without preparing a substring searcher (which cost more
/// than the search for every reference).
pub(super) fn history_at(s: &str) -> Option<usize> {
    const NEEDLE: &[u8] = b"/_history/";
    let b = s.as_bytes();
    memchr::memchr_iter(b'/', b).find(|&i| b[i..].starts_with(NEEDLE))
}

/// `http://x/fhir/` for `http://x/fhir/Patient/1`.
fn restful_base(full_url: &str) -> Option<&str> {
    if !full_url.starts_with("http") {
        return None;
    }
    let trimmed = match history_at(full_url) {
        Some(h) => &full_url[..h],
        None => full_url,
    };
    // The slash before the id, and the one before the type.
    let id_slash = memchr::memrchr(b'/', trimmed.as_bytes())?;
    let type_slash = memchr::memrchr(b'/', &trimmed.as_bytes()[..id_slash])?;
    Some(&trimmed[..type_slash + 1])
}

fn has_scheme(s: &str) -> bool {
    let scheme = memchr::memchr(b':', s.as_bytes()).map(|i| &s[..i]);
    scheme.is_some_and(|scheme| {
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

/// Checks one Reference value: literal format, target type, resolution of
/// local references, and conformance of a resolved target to the element's
/// target profiles.
pub(super) fn check_reference<'a>(w: &mut Walker<'a>, v: &'a Node, ty: &TypeRef) {
    let Some(rnode) = v.get("reference") else {
        return;
    };
    let Some(r) = rnode.as_str() else { return };
    let at = |w: &mut Walker<'a>, id: &str, code: IssueType, text: String| {
        let saved = w.path.len();
        w.path.push_str(".reference");
        w.error(code, id, text, rnode.pos);
        w.path.truncate(saved);
    };
    // Format, and the type the reference names.
    let named_type: Option<&str> = if let Some(frag) = r.strip_prefix('#') {
        let _ = frag;
        None
    } else if r.starts_with("urn:uuid:") || r.starts_with("urn:oid:") {
        None
    } else if has_scheme(r) {
        restful_type(r).filter(|t| w.ctx.is_resource_type(t))
    } else {
        match relative_parts(r) {
            Some((rt, _)) if w.ctx.is_resource_type(rt) => Some(rt),
            Some((rt, _)) => {
                at(
                    w,
                    msg::REFERENCE_FORMAT,
                    IssueType::Invalid,
                    format!("The reference '{r}' names '{rt}', which is not a resource type"),
                );
                return;
            }
            None => {
                at(w, msg::REFERENCE_FORMAT, IssueType::Invalid, format!(
                    "The reference '{r}' is not a valid literal reference (expected Type/id, an absolute URL, urn:uuid:, urn:oid: or #id)"
                ));
                return;
            }
        }
    };
    let target = w.resolve(r);
    let must_resolve =
        r.starts_with('#') || r.starts_with("urn:uuid:") || r.starts_with("urn:oid:");
    if target.is_none() && must_resolve && (w.in_bundle() || r.starts_with('#')) {
        at(
            w,
            msg::REFERENCE_NOT_FOUND,
            IssueType::NotFound,
            format!(
                "The reference '{r}' cannot be resolved: no {} has it",
                if r.starts_with('#') {
                    "contained resource"
                } else {
                    "entry in this Bundle"
                }
            ),
        );
        return;
    }
    let actual_type = target
        .and_then(|t| t.get("resourceType"))
        .and_then(Node::as_str)
        .or(named_type)
        .or_else(|| v.get("type").and_then(Node::as_str));

    // The target profiles, looked up once: `None` for an unknown one.
    let resolved: smallvec::SmallVec<[Option<&Structure>; 4]> = ty
        .target_profiles
        .iter()
        .map(|tp| w.ctx.structure_by_url(tp).map(|(_, s)| s))
        .collect();
    if resolved.is_empty()
        || resolved.iter().any(Option::is_none) // unknown target profile: cannot judge
        || resolved.iter().flatten().any(|s| s.type_name == "Resource")
    {
        return;
    }
    let Some(actual) = actual_type else { return };
    if !resolved.iter().flatten().any(|s| s.type_name == actual) {
        // Allowed target types, listed for the message.
        let list: Vec<&str> = resolved
            .iter()
            .flatten()
            .map(|s| s.type_name.as_str())
            .collect();
        at(
            w,
            msg::REFERENCE_TARGET_TYPE,
            IssueType::Structure,
            format!(
                "The reference '{r}' points to {} {actual}, but only {} {} allowed here",
                if actual.starts_with(['A', 'E', 'I', 'O', 'U']) {
                    "an"
                } else {
                    "a"
                },
                list.join(", "),
                if list.len() == 1 { "is" } else { "are" }
            ),
        );
        return;
    }
    // Conformance of a resolved target to the (non-base) target profiles;
    // a base definition of the actual type among them allows any.
    let Some(target) = target else { return };
    let of_actual = |s: &Structure| s.type_name == actual;
    if resolved
        .iter()
        .flatten()
        .any(|s| of_actual(s) && !s.is_profile)
    {
        return;
    }
    let profiles: Vec<&String> = ty
        .target_profiles
        .iter()
        .zip(&resolved)
        .filter(|(_, s)| s.as_ref().is_some_and(|s| s.is_profile && of_actual(s)))
        .map(|(p, _)| p)
        .collect();
    if profiles.is_empty() {
        return;
    }
    if !profiles.iter().any(|p| w.conforms(target, p)) {
        let names: Vec<&str> = profiles.iter().map(|p| p.as_str()).collect();
        at(
            w,
            msg::REFERENCE_TARGET_PROFILE,
            IssueType::Invalid,
            format!(
                "The resource that '{r}' points to does not conform to {}",
                names.join(" or ")
            ),
        );
    }
}

/// `Patient` from `http://x/fhir/Patient/1` (RESTful form only).
fn restful_type(url: &str) -> Option<&str> {
    let trimmed = match history_at(url) {
        Some(h) => &url[..h],
        None => url,
    };
    let mut segs = trimmed.rsplit('/');
    let _id = segs.next()?;
    let t = segs.next()?;
    (t.starts_with(|c: char| c.is_ascii_uppercase())
        && t.chars().all(|c| c.is_ascii_alphanumeric()))
    .then_some(t)
}

/// (`Type`, `id`) of a relative reference `Type/id[/_history/v]`.
fn relative_parts(r: &str) -> Option<(&str, &str)> {
    let plain = match history_at(r) {
        Some(h) => &r[..h],
        None => r,
    };
    let (rt, id) = plain.split_once('/')?;
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let rt_ok = rt.starts_with(|c: char| c.is_ascii_uppercase())
        && rt.chars().all(|c| c.is_ascii_alphanumeric());
    (id_ok && rt_ok).then_some((rt, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_at_is_find() {
        for s in [
            "",
            "/",
            "/_history/",
            "Patient/1",
            "Patient/1/_history/2",
            "Patient/1/_histor/2",
            "http://x.org/fhir/Patient/1/_history/3/_history/4",
            "//_history/",
            "a/_history",
            "ü/_history/é",
        ] {
            assert_eq!(history_at(s), s.find("/_history/"), "{s}");
        }
    }

    /// The byte searches against the `str` methods they replace.
    #[test]
    fn scheme_and_base_as_before() {
        let old_base = |u: &str| -> Option<String> {
            if !u.starts_with("http") {
                return None;
            }
            let t = match u.find("/_history/") {
                Some(h) => &u[..h],
                None => u,
            };
            let mut it = t.rmatch_indices('/');
            let _id = it.next()?;
            let (type_slash, _) = it.next()?;
            Some(t[..type_slash + 1].to_string())
        };
        let old_scheme = |s: &str| {
            s.split_once(':').is_some_and(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            })
        };
        for u in [
            "",
            ":",
            "/",
            "http",
            "http:",
            "http://x",
            "http://x/",
            "http://x/fhir/Patient/1",
            "http://x/fhir/Patient/1/_history/2",
            "https://x.org/Patient/",
            "httpx/a/b",
            "urn:uuid:1234",
            "a+b.c-d:x",
            "a b:x",
            "Patient/1",
            "é:x",
            "http://é/P/1",
        ] {
            assert_eq!(restful_base(u).map(str::to_string), old_base(u), "{u}");
            assert_eq!(has_scheme(u), old_scheme(u), "{u}");
        }
    }

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
