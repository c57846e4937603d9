//! Diagnostics policy: a declarative, versioned filter and rewrite of
//! validation issues, applied after validation.
//!
//! A data lake operator may ask senders' QEs to hide issues below a
//! severity, silence a warning that an IG raises on every bundle, downgrade
//! a rule while senders catch up, or reword a message. One [`Policy`]
//! document does this identically for every front end (crate, CLI, C ABI,
//! WASM, service), and never silently: the [`PolicyResult`] names the
//! policy, counts what each rule dropped or changed, and keeps the
//! unfiltered issues for storage.
//!
//! ```
//! use shinny_engine::outcome::{Issue, IssueType, Severity};
//! use shinny_engine::policy::Policy;
//!
//! let policy = Policy::from_json(r#"{
//!   "formatVersion": 1, "name": "demo", "version": "1",
//!   "minSeverity": "warning",
//!   "rules": [{ "id": "quiet-dom-6", "match": { "messageId": "dom-6" },
//!               "action": { "drop": true } }]
//! }"#).unwrap();
//! let issue = Issue {
//!     severity: Severity::Warning, code: IssueType::Invariant,
//!     message_id: "dom-6".into(), text: "A resource should have narrative".into(),
//!     expression: "Patient".into(), pos: None, profile: None, resource_type: None,
//!     diagnostics: None,
//! };
//! let result = policy.apply(&[issue]);
//! assert!(result.issues.is_empty());
//! assert_eq!(result.stats.rules[0].dropped, 1);
//! assert_eq!(result.unfiltered.len(), 1);
//! ```
//!
//! # Document format
//!
//! ```json
//! {
//!   "formatVersion": 1,
//!   "name": "shinny-downgrade-warnings",
//!   "version": "1.0.0",
//!   "description": "optional free text",
//!   "minSeverity": "warning",
//!   "emptyIssue": true,
//!   "emptyIssueText": "optional; default: No issues at or above <minSeverity>",
//!   "rules": [
//!     {
//!       "id": "middle-name-info",
//!       "description": "optional free text",
//!       "match": {
//!         "messageId": "SHINNY-Patient-MiddleName",
//!         "severity": "warning",
//!         "code": "invariant",
//!         "expression": "Bundle.**",
//!         "profile": "http://shinny.org/us/ny/hrsn/StructureDefinition/SHINNYBundleProfile",
//!         "resourceType": "Bundle"
//!       },
//!       "action": {
//!         "setSeverity": "information",
//!         "replaceText": "new text",
//!         "appendText": " (extra text)",
//!         "addCoding": { "system": "http://example.org/cs", "code": "x", "display": "X" }
//!       }
//!     }
//!   ]
//! }
//! ```
//!
//! * `formatVersion` (required) must be `1`; `name` and `version` (required)
//!   are non-empty strings and are reported with every result.
//! * `minSeverity` (optional): issues whose final severity is below it are
//!   removed and counted in [`PolicyStats::below_minimum`].
//! * `emptyIssue` (optional, default `false`): when nothing remains, report
//!   one `information`/`informational` issue with message id
//!   [`EMPTY_ISSUE_ID`] and the text `emptyIssueText`, by default
//!   `No issues at or above <minSeverity>` ("No issues" without a minimum).
//! * `rules` (optional): each has a unique non-empty `id`, a `match` object
//!   (required; `{}` matches every issue) and an `action` object with at
//!   least one action.
//! * Every matcher takes a string or a non-empty array of strings (any of
//!   them may match); all matchers given must hold. `messageId` compares
//!   with the issue's message id or constraint key, `severity` and `code`
//!   with the FHIR codes, `expression` is a [`glob`] over the issue's
//!   FHIRPath location, `profile` is a canonical URL that matches the issue's
//!   profile with any `|version` (or, if it names a version itself, only
//!   that version), and
//!   `resourceType` is compared with the issue's resource type.
//! * Actions: `drop: true` (alone; `false` is rejected rather than
//!   ignored), `setSeverity`, `replaceText`, `appendText` (appended as
//!   written, after any replacement) and `addCoding` (`system` and `code`
//!   required, `display` optional), rendered in the issue's
//!   `details.coding`.
//!
//! Loading is strict: an unknown or duplicate key, a wrong JSON type, an
//! unknown severity or IssueType code, a bad glob or a malformed document is
//! a [`PolicyError`] with the line and column in the policy text (for a
//! glob, of the offending character).
//!
//! # Semantics
//!
//! For each issue, in input order, **all rules are tried in document
//! order**: a matching rule applies its actions to the issue as changed by
//! earlier rules (so a later rule sees a severity set by an earlier one),
//! and a matching `drop` removes the issue and ends processing for it.
//! After the rules, the minimum severity is applied to the final severity,
//! so a rule can downgrade an issue below the minimum (counted as below
//! minimum, not as dropped by the rule). The output keeps input order; the
//! same policy and issues always give the same result.
//!
//! # Rendering
//!
//! [`PolicyResult::to_fhir`] renders an `OperationOutcome` carrying a
//! complex extension `http://shinny.org/fhir/StructureDefinition/validation-policy`
//! ([`POLICY_EXTENSION_URL`]) with sub-extensions `name`, `version`
//! (valueString), `minSeverity` (valueCode, if set), `inputIssues`,
//! `reportedIssues`, `belowMinimum` (valueInteger), and one `rule` per rule
//! with `id` (valueString), `dropped` and `changed` (valueInteger). Each
//! issue a rule changed carries one
//! `http://shinny.org/fhir/StructureDefinition/validation-policy-rule`
//! ([`RULE_EXTENSION_URL`]) valueString per rule that changed it.

mod apply;
pub mod glob;
mod load;

pub use apply::{PolicyResult, PolicyStats, ReportedIssue, RuleStats};
pub use load::PolicyError;

use crate::outcome::{IssueType, Severity};
use glob::Glob;
use serde::{Deserialize, Serialize};

/// Message id of the issue reported when nothing remains (`emptyIssue`).
pub const EMPTY_ISSUE_ID: &str = "POLICY_NO_ISSUES";
/// URL of the OperationOutcome extension describing the applied policy.
pub const POLICY_EXTENSION_URL: &str =
    "http://shinny.org/fhir/StructureDefinition/validation-policy";
/// URL of the issue extension naming a rule that changed the issue.
pub const RULE_EXTENSION_URL: &str =
    "http://shinny.org/fhir/StructureDefinition/validation-policy-rule";

/// A loaded, validated diagnostics policy (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// The policy's version.
    pub version: String,
    /// Free text, if given.
    pub description: Option<String>,
    /// Issues whose final severity is below this are removed.
    pub min_severity: Option<Severity>,
    /// Text of the issue reported when nothing remains, if enabled.
    pub empty_issue_text: Option<String>,
    /// The rules, in document order.
    pub rules: Vec<Rule>,
}

/// One rule: matchers that must all hold, and what to do then.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id, used in the statistics.
    pub id: String,
    /// Free text, if given.
    pub description: Option<String>,
    /// What the rule matches.
    pub matcher: Matcher,
    /// What it does to a matching issue.
    pub action: Action,
}

/// Conditions on an issue; each `Some` must hold (any listed value matches).
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    /// Message ids or constraint keys.
    pub message_id: Option<Vec<String>>,
    /// Severities.
    pub severity: Option<Vec<Severity>>,
    /// IssueType codes.
    pub code: Option<Vec<IssueType>>,
    /// Globs over the issue's FHIRPath location.
    pub expression: Option<Vec<Glob>>,
    /// Profile canonicals.
    pub profile: Option<Vec<String>>,
    /// Resource types.
    pub resource_type: Option<Vec<String>>,
}

/// What a rule does; `drop` excludes the other actions.
#[derive(Debug, Clone, Default)]
pub struct Action {
    /// Remove the issue and stop processing it.
    pub drop: bool,
    /// New severity.
    pub set_severity: Option<Severity>,
    /// New text.
    pub replace_text: Option<String>,
    /// Text appended (after any replacement).
    pub append_text: Option<String>,
    /// A coding added to the issue's `details.coding`.
    pub add_coding: Option<Coding>,
}

/// A FHIR Coding, as added by a rule to an issue's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coding {
    /// Code system URI.
    pub system: String,
    /// The code.
    pub code: String,
    /// Display text, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Policy {
    /// Parses and validates a policy document (see the [module docs](self)).
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        load::load(text)
    }
}

#[cfg(test)]
mod tests;
