//! Validation issues and their rendering as a FHIR `OperationOutcome`.

use crate::json::Pos;
use serde::{Deserialize, Serialize};

/// Issue severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational only.
    Information,
    /// Possibly a problem.
    Warning,
    /// The content is not valid.
    Error,
    /// Processing could not continue.
    Fatal,
}

impl Severity {
    /// The FHIR code (`information`, `warning`, `error`, `fatal`).
    pub fn code(self) -> &'static str {
        match self {
            Severity::Information => "information",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        }
    }

    /// Parses a FHIR severity code; unknown codes are `None`, never a default.
    pub fn from_code(s: &str) -> Option<Severity> {
        Some(match s {
            "information" => Severity::Information,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            "fatal" => Severity::Fatal,
            _ => return None,
        })
    }
}

/// The FHIR `IssueType` codes this engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueType {
    /// Content invalid against the specification or a profile.
    Invalid,
    /// A structural issue in the content.
    Structure,
    /// A required element is missing.
    Required,
    /// An element or header value is invalid.
    Value,
    /// A content validation rule failed.
    Invariant,
    /// A code is not valid.
    CodeInvalid,
    /// Content not supported (for example an unknown element).
    NotSupported,
    /// A reference could not be resolved.
    NotFound,
    /// Processing issues.
    Processing,
    /// A business rule failed.
    BusinessRule,
    /// Too costly to process (limits).
    TooCostly,
    /// An unexpected internal error.
    Exception,
    /// Informational note.
    Informational,
}

impl IssueType {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::Invariant => "invariant",
            IssueType::CodeInvalid => "code-invalid",
            IssueType::NotSupported => "not-supported",
            IssueType::NotFound => "not-found",
            IssueType::Processing => "processing",
            IssueType::BusinessRule => "business-rule",
            IssueType::TooCostly => "too-costly",
            IssueType::Exception => "exception",
            IssueType::Informational => "informational",
        }
    }

    /// Parses an IssueType code this engine knows.
    pub fn from_code(s: &str) -> Option<IssueType> {
        Some(match s {
            "invalid" => IssueType::Invalid,
            "structure" => IssueType::Structure,
            "required" => IssueType::Required,
            "value" => IssueType::Value,
            "invariant" => IssueType::Invariant,
            "code-invalid" => IssueType::CodeInvalid,
            "not-supported" => IssueType::NotSupported,
            "not-found" => IssueType::NotFound,
            "processing" => IssueType::Processing,
            "business-rule" => IssueType::BusinessRule,
            "too-costly" => IssueType::TooCostly,
            "exception" => IssueType::Exception,
            "informational" => IssueType::Informational,
            _ => return None,
        })
    }
}

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// How bad it is.
    pub severity: Severity,
    /// The FHIR IssueType code.
    pub code: IssueType,
    /// Stable message id (see [`crate::messages`]) or, for invariants, the
    /// constraint key.
    pub message_id: String,
    /// Human-readable text.
    pub text: String,
    /// FHIRPath to the element, e.g. `Bundle.entry[3].resource.ofType(Patient).id`.
    pub expression: String,
    /// Line and column in the submitted document, when known.
    pub pos: Option<Pos>,
    /// The profile (or base type) canonical whose rule produced the issue.
    pub profile: Option<String>,
    /// The type of the resource the element belongs to.
    pub resource_type: Option<String>,
    /// Extra detail for implementers (for invariants: the FHIRPath
    /// expression), rendered as `OperationOutcome.issue.diagnostics`.
    #[serde(default)]
    pub diagnostics: Option<String>,
}

impl Issue {
    /// Builds the `OperationOutcome.issue` JSON, with the HL7 validator's
    /// line, column and message-id extensions.
    pub fn to_fhir(&self) -> serde_json::Value {
        let mut ext = Vec::new();
        if let Some(p) = self.pos {
            ext.push(serde_json::json!({
                "url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line",
                "valueInteger": p.line
            }));
            ext.push(serde_json::json!({
                "url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col",
                "valueInteger": p.col
            }));
        }
        ext.push(serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id",
            "valueString": self.message_id
        }));
        let mut o = serde_json::json!({
            "extension": ext,
            "severity": self.severity.code(),
            "code": self.code.code(),
            "details": { "text": self.text },
        });
        if let Some(d) = &self.diagnostics {
            o["diagnostics"] = serde_json::json!(d);
        }
        if !self.expression.is_empty() {
            o["expression"] = serde_json::json!([self.expression]);
        }
        o
    }
}

/// Counts of constraint evaluations, reported with `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantStats {
    /// Constraints evaluated with severity error.
    pub evaluated_error: u64,
    /// Constraints evaluated with severity warning (or other).
    pub evaluated_warning: u64,
    /// Evaluations that returned false.
    pub failed: u64,
    /// Evaluations that could not complete (compile or run-time error).
    pub not_evaluated: u64,
}

impl InvariantStats {
    /// All evaluations.
    pub fn evaluated(&self) -> u64 {
        self.evaluated_error + self.evaluated_warning
    }

    /// Adds another set of counts.
    pub fn add(&mut self, o: &InvariantStats) {
        self.evaluated_error += o.evaluated_error;
        self.evaluated_warning += o.evaluated_warning;
        self.failed += o.failed;
        self.not_evaluated += o.not_evaluated;
    }
}

/// A list of issues, renderable as an `OperationOutcome`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationOutcome {
    /// The issues, in document order.
    pub issues: Vec<Issue>,
    /// How many invariants were evaluated (for `--stats`); not rendered.
    #[serde(default)]
    pub stats: InvariantStats,
}

impl OperationOutcome {
    /// Number of issues at `error` or `fatal`.
    pub fn error_count(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| i.severity >= Severity::Error)
            .count()
    }

    /// The highest severity present, if any issue exists.
    pub fn max_severity(&self) -> Option<Severity> {
        self.issues.iter().map(|i| i.severity).max()
    }

    /// True when there is no error or fatal issue.
    pub fn is_valid(&self) -> bool {
        self.error_count() == 0
    }

    /// The FHIR JSON `OperationOutcome`. An empty list renders the usual
    /// single informational "All OK" issue, since FHIR requires one issue.
    pub fn to_fhir(&self) -> serde_json::Value {
        let issues: Vec<serde_json::Value> = if self.issues.is_empty() {
            vec![serde_json::json!({
                "severity": "information",
                "code": "informational",
                "details": { "text": "All OK" }
            })]
        } else {
            self.issues.iter().map(Issue::to_fhir).collect()
        };
        serde_json::json!({ "resourceType": "OperationOutcome", "issue": issues })
    }
}
