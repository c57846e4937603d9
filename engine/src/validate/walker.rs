//! The walker's state: the document context (Bundle index, resources,
//! fullUrl), the issues found so far, and the sub-walkers that conformance
//! questions use. The tree walk itself is in `walk.rs`.

use super::references::{resolve_contained, BundleIndex};
use super::walk::Matched;
use super::Finding;
use crate::json::{Node, Pos};
use crate::model::Context;
use crate::outcome::{InvariantStats, Issue, IssueType, Severity};

/// Base pass: every structural check. Profile pass: only what a profile can
/// tighten (cardinality, types, fixed/pattern, lengths, values); the base
/// pass has already reported JSON and format problems.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Base,
    Profile,
}

fn is_bundle(n: &Node) -> bool {
    n.get("resourceType").and_then(Node::as_str) == Some("Bundle")
}

/// `%resource`, `%rootResource` and the Bundle `resolve()` searches, for
/// the node being walked.
pub(super) struct FhirpathResources<'a> {
    pub resource: Option<&'a Node>,
    pub root: Option<&'a Node>,
    pub bundle: Option<&'a Node>,
}

pub(super) struct Walker<'a> {
    pub(super) ctx: &'a Context,
    pub(super) issues: Vec<Issue>,
    /// FHIRPath of the node being visited.
    pub(super) path: String,
    pub(super) resource_type: String,
    pub(super) profile: Option<String>,
    pub(super) mode: Mode,
    /// The innermost Bundle's entry index, for `resolve()` and references.
    pub(super) index: Option<std::rc::Rc<BundleIndex<'a>>>,
    /// fullUrl of the Bundle entry being walked.
    pub(super) full_url: Option<&'a str>,
    /// Resources being walked, innermost last (for `#id` references).
    pub(super) resources: Vec<&'a Node>,
    pub(super) unknown_extensions: super::UnknownExtensions,
    pub(super) conformance: super::conformance::ConformanceCache,
    pub(super) invariant_results: super::invariants::InvariantResults<'a>,
    pub(super) unknown_questionnaire_is_error: bool,
    pub(super) stats: crate::outcome::InvariantStats,
    pub(super) skip_invariants: bool,
    /// URLs of the extensions being walked in the base pass, innermost
    /// last (an `extension` context names the enclosing one).
    pub(super) extension_urls: Vec<&'a str>,
    /// See [`super::ValidationOptions::exhaustive_conformance`].
    pub(super) exhaustive_conformance: bool,
    /// Spare `Matched` buffers for `walk_object`.
    pub(super) matched_pool: Vec<Vec<Matched<'a>>>,
    /// Set during the main walk's profile passes of a resource whose base
    /// pass reported no error: the profile pass then leaves out values
    /// whose content is a base datatype, which the base pass has walked
    /// against the same definition (see `walk_content`).
    pub(super) skip_base_types: bool,
}

impl<'a> Walker<'a> {
    pub fn new(ctx: &'a Context) -> Self {
        Walker {
            ctx,
            issues: Vec::new(),
            path: String::new(),
            resource_type: String::new(),
            profile: None,
            mode: Mode::Base,
            index: None,
            full_url: None,
            resources: Vec::new(),
            unknown_extensions: super::UnknownExtensions::default(),
            conformance: Default::default(),
            invariant_results: Default::default(),
            unknown_questionnaire_is_error: false,
            stats: Default::default(),
            skip_invariants: false,
            extension_urls: Vec::new(),
            matched_pool: Vec::new(),
            exhaustive_conformance: false,
            skip_base_types: false,
        }
    }

    pub fn set_skip_invariants(&mut self, skip: bool) {
        self.skip_invariants = skip;
    }

    pub fn skip_invariants(&self) -> bool {
        self.skip_invariants
    }

    pub fn stats_mut(&mut self) -> &mut crate::outcome::InvariantStats {
        &mut self.stats
    }

    /// Attaches diagnostics to the issue reported last.
    pub fn set_last_diagnostics(&mut self, d: &str) {
        if let Some(i) = self.issues.last_mut() {
            i.diagnostics = Some(d.to_string());
        }
    }

    /// `%resource`, `%rootResource` and the Bundle for FHIRPath.
    pub fn fhirpath_resources(&self) -> FhirpathResources<'a> {
        let last_bundle = self.resources.iter().rposition(|n| is_bundle(n));
        // A Bundle entry's resource is its own root; resources below it on
        // the stack are contained ones.
        let root = match last_bundle {
            Some(b) if b + 1 < self.resources.len() => self.resources.get(b + 1),
            Some(b) => self.resources.get(b),
            None => self.resources.first(),
        };
        FhirpathResources {
            resource: self.resources.last().copied(),
            root: root.copied(),
            bundle: last_bundle.map(|b| self.resources[b]),
        }
    }

    pub fn set_unknown_questionnaire_is_error(&mut self, e: bool) {
        self.unknown_questionnaire_is_error = e;
    }

    pub fn unknown_questionnaire_is_error(&self) -> bool {
        self.unknown_questionnaire_is_error
    }

    pub fn conformance_cache(&self) -> super::conformance::ConformanceCache {
        self.conformance.clone()
    }

    /// Invariant results of this document (shared with sub-walkers).
    pub fn invariant_results(&self) -> super::invariants::InvariantResults<'a> {
        self.invariant_results.clone()
    }

    /// True while walking inside a Bundle.
    pub fn in_bundle(&self) -> bool {
        self.index.is_some()
    }

    /// Sets the policy for extensions the context does not define.
    pub fn set_unknown_extensions(&mut self, u: super::UnknownExtensions) {
        self.unknown_extensions = u;
    }

    pub fn unknown_extensions(&self) -> super::UnknownExtensions {
        self.unknown_extensions
    }

    /// Replaces the profile issues are attributed to; returns the old one.
    pub fn set_profile(&mut self, p: Option<String>) -> Option<String> {
        std::mem::replace(&mut self.profile, p)
    }

    pub fn into_parts(self) -> (Vec<Issue>, crate::outcome::InvariantStats) {
        (self.issues, self.stats)
    }

    /// A sub-walker at the root of resource `node` (of type `rt`), set up
    /// as the main walk is when it reaches it, for a profile pass against
    /// `profile`: it shares this walker's document context (Bundle index,
    /// conformance and invariant results), has no issues of its own, and
    /// a Bundle entry is its own root with its entry's fullUrl.
    /// Expressions start at `rt`, as for a top-level resource.
    pub fn sub_walker_at(&self, node: &'a Node, rt: &str, profile: &str) -> Walker<'a> {
        let mut resources = self.resources.clone();
        let mut full_url = self.full_url;
        if let Some(entry_url) = self.index.as_ref().and_then(|ix| ix.entry_full_url(node)) {
            if let Some(b) = resources.iter().rposition(|n| is_bundle(n)) {
                resources.truncate(b + 1);
            }
            full_url = entry_url;
        }
        resources.push(node);
        Walker {
            ctx: self.ctx,
            issues: Vec::new(),
            path: rt.to_string(),
            resource_type: rt.to_string(),
            profile: Some(profile.to_string()),
            mode: Mode::Profile,
            index: self.index.clone(),
            full_url,
            resources,
            unknown_extensions: self.unknown_extensions,
            conformance: self.conformance.clone(),
            invariant_results: self.invariant_results.clone(),
            unknown_questionnaire_is_error: self.unknown_questionnaire_is_error,
            stats: Default::default(),
            skip_invariants: self.skip_invariants,
            extension_urls: Vec::new(),
            matched_pool: Vec::new(),
            exhaustive_conformance: self.exhaustive_conformance,
            // No base pass was made here: walk everything.
            skip_base_types: false,
        }
    }

    /// Adds the issues and invariant counts of a profile pass that a
    /// sub-walker from [`Self::sub_walker_at`] made of the resource the
    /// walker is at, under the walker's path.
    pub fn replay(&mut self, issues: Vec<Issue>, stats: &InvariantStats) {
        let rt_len = self.resource_type.len();
        for mut i in issues {
            let rest = i.expression.get(rt_len..).unwrap_or("");
            let mut e = String::with_capacity(self.path.len() + rest.len());
            e.push_str(&self.path);
            e.push_str(rest);
            i.expression = e;
            self.issues.push(i);
        }
        self.stats.add(stats);
    }

    pub fn issue_count(&self) -> usize {
        self.issues.len()
    }

    /// Whether an error was reported since the issue count was `start`.
    pub fn has_errors_since(&self, start: usize) -> bool {
        self.issues[start..]
            .iter()
            .any(|i| i.severity >= Severity::Error)
    }

    /// Resolves a literal reference within the document.
    pub fn resolve(&self, reference: &str) -> Option<&'a Node> {
        if let Some(frag) = reference.strip_prefix('#') {
            return resolve_contained(self.resources.first()?, frag).or_else(|| {
                self.resources
                    .last()
                    .and_then(|r| resolve_contained(r, frag))
            });
        }
        self.index.as_ref()?.resolve(reference, self.full_url)
    }

    /// Reports at the current path.
    pub fn report_at(
        &mut self,
        severity: Severity,
        code: IssueType,
        id: &str,
        text: String,
        pos: Pos,
    ) {
        self.report(Finding {
            severity,
            code,
            id,
            text,
            pos,
        });
    }

    /// Reports an error at item `i` of the current (repeating) element.
    pub fn report_item(&mut self, i: usize, id: &str, text: String, pos: Pos) {
        let saved = self.path.len();
        self.push_index(i);
        self.error(IssueType::Structure, id, text, pos);
        self.path.truncate(saved);
    }

    /// Appends `[i]` to the path, digits by hand: it runs for every item
    /// of every repeating element, where `write!` showed in profiles.
    pub fn push_index(&mut self, i: usize) {
        let mut digits = [0u8; 20];
        let mut n = i;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.path.push('[');
        for &d in &digits[at..] {
            self.path.push(char::from(d));
        }
        self.path.push(']');
    }

    pub fn report(&mut self, f: Finding<'_>) {
        self.issues.push(Issue {
            severity: f.severity,
            code: f.code,
            message_id: f.id.to_string(),
            text: f.text,
            expression: self.path.clone(),
            pos: Some(f.pos),
            profile: self.profile.clone(),
            resource_type: (!self.resource_type.is_empty()).then(|| self.resource_type.clone()),
            diagnostics: None,
        });
    }

    pub fn error(&mut self, code: IssueType, id: &str, text: String, pos: Pos) {
        self.report(Finding {
            severity: Severity::Error,
            code,
            id,
            text,
            pos,
        });
    }
}
