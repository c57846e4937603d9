//! Several contexts side by side, chosen per document by `meta.profile`.
//!
//! SHIN-NY publishes the same IG under two canonicals (production
//! `http://shinny.org/...` and test `http://test.shinny.org/...`) with the
//! same package id and version. Each gets its own [`Context`]; a Bundle's
//! `meta.profile` decides which one validates it.

use crate::json::Node;
use crate::model::Context;
use crate::outcome::OperationOutcome;
use crate::validate::{parse_then, ValidationOptions};

/// An ordered set of contexts; the first is the default.
pub struct ContextSet {
    contexts: Vec<Context>,
}

impl ContextSet {
    /// A set from contexts in priority order. Returns `None` when empty.
    pub fn new(contexts: Vec<Context>) -> Option<ContextSet> {
        (!contexts.is_empty()).then_some(ContextSet { contexts })
    }

    /// The contexts, in priority order.
    pub fn contexts(&self) -> &[Context] {
        &self.contexts
    }

    /// The context that defines a profile named in the document's
    /// `meta.profile` (or in `extra_profiles`), else the first one.
    pub fn select(&self, node: &Node, extra_profiles: &[String]) -> &Context {
        let from_meta = node
            .get("meta")
            .and_then(|m| m.get("profile"))
            .and_then(Node::as_array)
            .into_iter()
            .flatten()
            .filter_map(Node::as_str);
        for url in extra_profiles.iter().map(String::as_str).chain(from_meta) {
            if let Some(c) = self
                .contexts
                .iter()
                .find(|c| c.structure_by_url(url).is_some())
            {
                return c;
            }
        }
        &self.contexts[0]
    }

    /// Parses, selects a context and validates.
    pub fn validate_bytes(&self, input: &[u8], options: &ValidationOptions) -> OperationOutcome {
        parse_then(input, options, |node| self.validate_node(node, options))
    }

    /// Selects a context and validates a parsed document.
    pub fn validate_node(&self, node: &Node, options: &ValidationOptions) -> OperationOutcome {
        self.select(node, &options.profiles)
            .validate_node(node, options)
    }
}
