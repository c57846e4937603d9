//! Applying a [`Policy`] to issues, and rendering the result.

use super::{Coding, Policy, Rule, EMPTY_ISSUE_ID, POLICY_EXTENSION_URL, RULE_EXTENSION_URL};
use crate::outcome::{Issue, IssueType, OperationOutcome, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// An issue as reported after the policy, with what the rules added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedIssue {
    /// The (possibly rewritten) issue.
    pub issue: Issue,
    /// Codings added by rules, rendered in `details.coding`.
    pub codings: Vec<Coding>,
    /// Ids of the rules that changed the issue, in the order they applied.
    pub rules: Vec<String>,
}

/// What one rule did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    /// The rule's id.
    pub id: String,
    /// Issues the rule removed.
    pub dropped: usize,
    /// Issues the rule matched and applied its (non-drop) actions to,
    /// whether or not a later rule or the minimum severity removed them.
    pub changed: usize,
}

/// Counts that account for every input issue.
///
/// `input == reported + below_minimum + sum(rules[].dropped)`, where
/// `reported` excludes the "nothing remains" issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStats {
    /// Issues given to [`Policy::apply`].
    pub input: usize,
    /// Issues kept (not counting the "nothing remains" issue).
    pub reported: usize,
    /// Issues removed because their final severity was below the minimum.
    pub below_minimum: usize,
    /// Per rule, in document order.
    pub rules: Vec<RuleStats>,
    /// True when the "nothing remains" issue was added.
    pub empty_issue_added: bool,
}

/// The outcome of applying a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// Name of the applied policy.
    pub policy_name: String,
    /// Version of the applied policy.
    pub policy_version: String,
    /// The policy's minimum severity, if any.
    pub min_severity: Option<Severity>,
    /// The issues to report, in input order.
    pub issues: Vec<ReportedIssue>,
    /// What happened, for audit.
    pub stats: PolicyStats,
    /// The issues exactly as given, for storage.
    pub unfiltered: Vec<Issue>,
}

impl Rule {
    fn matches(&self, issue: &Issue) -> bool {
        fn any<T>(list: &Option<Vec<T>>, f: impl Fn(&T) -> bool) -> bool {
            match list {
                Some(l) => l.iter().any(f),
                None => true,
            }
        }
        let m = &self.matcher;
        any(&m.message_id, |id| *id == issue.message_id)
            && any(&m.severity, |s| *s == issue.severity)
            && any(&m.code, |c| *c == issue.code)
            && any(&m.expression, |g| g.is_match(&issue.expression))
            && any(&m.profile, |p| profile_matches(p, issue.profile.as_deref()))
            && any(&m.resource_type, |t| {
                Some(t.as_str()) == issue.resource_type.as_deref()
            })
    }
}

/// Compares canonicals ignoring the issue's `|version` unless the policy
/// names one.
fn profile_matches(wanted: &str, actual: Option<&str>) -> bool {
    let Some(actual) = actual else { return false };
    if wanted.contains('|') {
        wanted == actual
    } else {
        actual.split('|').next() == Some(wanted)
    }
}

impl Policy {
    /// Applies the policy to `issues` (see the [module docs](super) for the
    /// order of evaluation). Deterministic; `issues` is not modified.
    pub fn apply(&self, issues: &[Issue]) -> PolicyResult {
        let mut rule_stats: Vec<RuleStats> = self
            .rules
            .iter()
            .map(|r| RuleStats {
                id: r.id.clone(),
                dropped: 0,
                changed: 0,
            })
            .collect();
        let mut below_minimum = 0;
        let mut out = Vec::new();
        'issues: for issue in issues {
            let mut cur = ReportedIssue {
                issue: issue.clone(),
                codings: Vec::new(),
                rules: Vec::new(),
            };
            for (rule, stats) in self.rules.iter().zip(rule_stats.iter_mut()) {
                if !rule.matches(&cur.issue) {
                    continue;
                }
                let a = &rule.action;
                if a.drop {
                    stats.dropped += 1;
                    continue 'issues;
                }
                if let Some(s) = a.set_severity {
                    cur.issue.severity = s;
                }
                if let Some(t) = &a.replace_text {
                    cur.issue.text.clone_from(t);
                }
                if let Some(t) = &a.append_text {
                    cur.issue.text.push_str(t);
                }
                if let Some(c) = &a.add_coding {
                    cur.codings.push(c.clone());
                }
                cur.rules.push(rule.id.clone());
                stats.changed += 1;
            }
            if self
                .min_severity
                .is_some_and(|min| cur.issue.severity < min)
            {
                below_minimum += 1;
                continue;
            }
            out.push(cur);
        }
        let reported = out.len();
        let empty_issue_added = out.is_empty() && self.empty_issue_text.is_some();
        if let (true, Some(text)) = (empty_issue_added, &self.empty_issue_text) {
            out.push(ReportedIssue {
                issue: Issue {
                    severity: Severity::Information,
                    code: IssueType::Informational,
                    message_id: EMPTY_ISSUE_ID.to_string(),
                    text: text.clone(),
                    expression: String::new(),
                    pos: None,
                    profile: None,
                    resource_type: None,
                    diagnostics: None,
                },
                codings: Vec::new(),
                rules: Vec::new(),
            });
        }
        PolicyResult {
            policy_name: self.name.clone(),
            policy_version: self.version.clone(),
            min_severity: self.min_severity,
            issues: out,
            stats: PolicyStats {
                input: issues.len(),
                reported,
                below_minimum,
                rules: rule_stats,
                empty_issue_added,
            },
            unfiltered: issues.to_vec(),
        }
    }
}

impl PolicyResult {
    /// The reported issues as an [`OperationOutcome`] (for `is_valid` and
    /// friends). Added codings and the policy record are not part of it; use
    /// [`PolicyResult::to_fhir`] to render them.
    pub fn to_operation_outcome(&self) -> OperationOutcome {
        OperationOutcome {
            issues: self.issues.iter().map(|r| r.issue.clone()).collect(),
            ..Default::default()
        }
    }

    /// The FHIR JSON `OperationOutcome` of the reported issues, with added
    /// codings, the rules that changed each issue and the policy extension
    /// (format in the [module docs](super)).
    pub fn to_fhir(&self) -> Value {
        // Without issues, the empty outcome's own `issue` (it says all is
        // well); otherwise each reported issue rendered once.
        let issue = if self.issues.is_empty() {
            OperationOutcome::default().to_fhir()["issue"].take()
        } else {
            Value::Array(self.issues.iter().map(render_issue).collect())
        };
        let mut sub = vec![
            json!({ "url": "name", "valueString": self.policy_name }),
            json!({ "url": "version", "valueString": self.policy_version }),
        ];
        if let Some(min) = self.min_severity {
            sub.push(json!({ "url": "minSeverity", "valueCode": min.code() }));
        }
        sub.push(json!({ "url": "inputIssues", "valueInteger": self.stats.input }));
        sub.push(json!({ "url": "reportedIssues", "valueInteger": self.stats.reported }));
        sub.push(json!({ "url": "belowMinimum", "valueInteger": self.stats.below_minimum }));
        for r in &self.stats.rules {
            sub.push(json!({ "url": "rule", "extension": [
                { "url": "id", "valueString": r.id },
                { "url": "dropped", "valueInteger": r.dropped },
                { "url": "changed", "valueInteger": r.changed },
            ]}));
        }
        let ext = json!([{ "url": POLICY_EXTENSION_URL, "extension": sub }]);
        // Keep resourceType first, as FHIR JSON convention has it.
        json!({ "resourceType": "OperationOutcome", "extension": ext, "issue": issue })
    }
}

fn render_issue(r: &ReportedIssue) -> Value {
    let mut v = r.issue.to_fhir();
    if !r.codings.is_empty() {
        v["details"]["coding"] = serde_json::to_value(&r.codings).unwrap_or(Value::Null);
    }
    if let Some(Value::Array(ext)) = v.get_mut("extension") {
        for id in &r.rules {
            ext.push(json!({ "url": RULE_EXTENSION_URL, "valueString": id }));
        }
    }
    v
}
