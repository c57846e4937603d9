//! Instance validation against a compiled [`Context`].
//!
//! The walker (`walk`, with its state in `walker`) matches JSON properties
//! to compiled elements and hands values to one module per check family:
//! `cardinality`, `primitive` (formats and ranges), `values` (fixed,
//! pattern, maxLength, min/max), `bundle` (fullUrl rules), `slicing`,
//! `extensions`, `references`, `bindings`, `invariants`, `questionnaire`.
//! Resources are validated against their base type, then against each
//! profile in `meta.profile` and each profile the caller asks for;
//! `conformance` makes one profile pass per (resource, profile) per
//! document, shared by those passes and by conformance questions (profile
//! slices, reference targets).

mod bindings;
mod bundle;
mod cardinality;
mod conformance;
mod extensions;
mod invariants;
pub(crate) mod natives;
mod primitive;
mod questionnaire;
mod references;
mod slicing;
mod values;
mod walk;
mod walker;

use crate::json::{self, Node, Pos};
use crate::messages as msg;
use crate::model::Context;
use crate::outcome::{Issue, IssueType, OperationOutcome, Severity};

pub use extensions::UnknownExtensions;

/// What to validate against, beyond the base type and `meta.profile`.
#[derive(Debug, Clone, Default)]
pub struct ValidationOptions {
    /// What to report for extensions the context does not define (unknown
    /// modifier extensions are always an error).
    pub unknown_extensions: UnknownExtensions,
    /// Report a QuestionnaireResponse whose Questionnaire is unknown as an
    /// error (default: a warning).
    pub unknown_questionnaire_is_error: bool,
    /// Do not evaluate FHIRPath invariants (structure-only validation, for
    /// benchmarks and pre-checks; the outcome then says nothing about them).
    pub skip_invariants: bool,
    /// Extra profiles (canonical URLs) the top-level resource must conform to.
    pub profiles: Vec<String>,
    /// Maximum nesting depth of the JSON input.
    pub max_depth: Option<usize>,
    /// Answer every profile-conformance question (profile slices,
    /// reference target profiles, `conformsTo()`) with a profile pass of
    /// its own. By default a resource that conforms to a profile in its
    /// `meta.profile` is taken to conform to that profile's ancestors
    /// (a profile can only constrain its base), which saves a pass; and
    /// the profile passes of a resource whose base pass found no error
    /// leave out the values that are base datatypes, which the base pass
    /// walked against the same definitions. This option turns both
    /// shortcuts off; it exists to check them.
    pub exhaustive_conformance: bool,
}

impl ValidationOptions {
    /// The JSON parser limits these options ask for.
    pub fn limits(&self) -> json::Limits {
        let mut limits = json::Limits::default();
        if let Some(d) = self.max_depth {
            limits.max_depth = d;
        }
        limits
    }
}

impl Context {
    /// Parses and validates one JSON document (a resource or a Bundle).
    /// Unparseable input gives a single fatal `JSON_SYNTAX` issue.
    pub fn validate_bytes(&self, input: &[u8], options: &ValidationOptions) -> OperationOutcome {
        parse_then(input, options, |node| self.validate_node(node, options))
    }

    /// Validates an already parsed document.
    pub fn validate_node(&self, node: &Node, options: &ValidationOptions) -> OperationOutcome {
        let mut w = walk::Walker::new(self);
        w.set_unknown_extensions(options.unknown_extensions);
        w.set_unknown_questionnaire_is_error(options.unknown_questionnaire_is_error);
        w.set_skip_invariants(options.skip_invariants);
        w.exhaustive_conformance = options.exhaustive_conformance;
        w.validate_resource(node, false, &options.profiles);
        let (mut issues, stats) = w.into_parts();
        // The same finding can come from the base pass and a profile pass
        // (worded for each); the first, from the base pass, is kept.
        let mut seen = std::collections::HashSet::new();
        issues.retain(|i| seen.insert((i.message_id.clone(), i.expression.clone(), i.pos)));
        issues.sort_by_key(|i| i.pos.map(|p| (p.line, p.col)).unwrap_or((0, 0)));
        OperationOutcome { issues, stats }
    }
}

/// Parses `input` and hands the tree to `validate`; unparseable input gives
/// a single fatal issue.
pub(crate) fn parse_then(
    input: &[u8],
    options: &ValidationOptions,
    validate: impl FnOnce(&Node) -> OperationOutcome,
) -> OperationOutcome {
    match json::parse_with_limits(input, options.limits()) {
        Ok(node) => validate(&node),
        Err(e) => OperationOutcome {
            issues: vec![parse_issue(&e)],
            ..Default::default()
        },
    }
}

/// The issue for a document that is not well-formed JSON.
pub fn parse_issue(e: &json::ParseError) -> Issue {
    let (id, code) = if e.message.contains("nesting") {
        (msg::LIMIT_EXCEEDED, IssueType::TooCostly)
    } else {
        (msg::JSON_SYNTAX, IssueType::Structure)
    };
    Issue {
        severity: Severity::Fatal,
        code,
        message_id: id.to_string(),
        text: format!("The JSON is not valid: {}", e.message),
        expression: String::new(),
        pos: Some(e.pos),
        profile: None,
        resource_type: None,
        diagnostics: None,
    }
}

/// Shorthand used by the check modules.
pub(crate) struct Finding<'a> {
    pub severity: Severity,
    pub code: IssueType,
    pub id: &'a str,
    pub text: String,
    pub pos: Pos,
}
