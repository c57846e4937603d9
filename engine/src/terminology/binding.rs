//! The binding check: binding strengths as FHIR R4 defines them
//! (<http://hl7.org/fhir/R4/terminologies.html#strength>), applied to the
//! datatypes that carry codes.

use super::{
    strip_version, DisplayCheck, FoundValueSet, Membership, NotCheckedKind, Terminology, UCUM,
};
use crate::messages;
use crate::outcome::{IssueType, Severity};

/// One `Coding` (or a Coding-like part of another type).
#[derive(Debug, Clone, Copy, Default)]
pub struct CodingRef<'a> {
    /// `system`.
    pub system: Option<&'a str>,
    /// `code`.
    pub code: Option<&'a str>,
    /// `display`.
    pub display: Option<&'a str>,
}

/// A bound value, by datatype.
#[derive(Debug, Clone)]
pub enum BindingValue<'a> {
    /// A `code` primitive: member of the value set by code (the system is
    /// implied when the value set has a single system).
    Code(&'a str),
    /// A `Coding`.
    Coding(CodingRef<'a>),
    /// A `CodeableConcept`: its codings and text.
    CodeableConcept {
        /// `coding`, in order (paths are `coding[i]`).
        codings: Vec<CodingRef<'a>>,
        /// `text`.
        text: Option<&'a str>,
    },
    /// A `Quantity` (or a Quantity-based type): units by `system` and `code`.
    Quantity {
        /// `system`.
        system: Option<&'a str>,
        /// `code`.
        code: Option<&'a str>,
    },
    /// A `string` or `uri`: the value is compared with the value set's codes.
    String(&'a str),
}

/// One finding of a binding check. `path` is relative to the bound element
/// (`""`, `code`, `display`, `coding[1].display`), so the caller can build
/// the expression and look up the position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingFinding {
    /// Severity.
    pub severity: Severity,
    /// FHIR IssueType.
    pub issue_type: IssueType,
    /// Message id from [`crate::messages`].
    pub message_id: &'static str,
    /// Human-readable text.
    pub text: String,
    /// Relative sub-path (empty for the element itself).
    pub path: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strength {
    Required,
    Extensible,
}

fn finding(
    severity: Severity,
    issue_type: IssueType,
    message_id: &'static str,
    text: String,
    path: String,
) -> BindingFinding {
    BindingFinding {
        severity,
        issue_type,
        message_id,
        text,
        path,
    }
}

fn describe(system: Option<&str>, code: &str) -> String {
    match system {
        Some(s) => format!("'{s}#{code}'"),
        None => format!("'{code}'"),
    }
}

/// The finding for a membership that is not `Member` (none for `Member`).
fn membership_finding(
    m: &Membership,
    strength: Strength,
    value_set: &str,
    what: impl FnOnce() -> String,
    path: String,
) -> Option<BindingFinding> {
    if matches!(m, Membership::Member { .. }) {
        return None; // the common case: no message to format
    }
    let what = what();
    let what = what.as_str();
    match m {
        Membership::Member { .. } => None,
        Membership::NotMember => Some(match strength {
            Strength::Required => finding(
                Severity::Error,
                IssueType::CodeInvalid,
                messages::CODE_NOT_IN_VALUESET,
                format!("{what} is not in the value set {value_set} (required binding)"),
                path,
            ),
            Strength::Extensible => finding(
                Severity::Warning,
                IssueType::CodeInvalid,
                messages::CODE_NOT_IN_VALUESET_EXTENSIBLE,
                format!("{what} is not in the value set {value_set} (extensible binding)"),
                path,
            ),
        }),
        Membership::NotChecked { kind, reason } => Some(not_checked(*kind, reason, what, path)),
        Membership::UnknownValueSet => Some(unknown_value_set(value_set, path)),
    }
}

fn not_checked(kind: NotCheckedKind, reason: &str, what: &str, path: String) -> BindingFinding {
    let (severity, issue_type) = match kind {
        NotCheckedKind::UnknownCodeSystem | NotCheckedKind::UnknownValueSet => {
            (Severity::Warning, IssueType::NotFound)
        }
        _ => (Severity::Information, IssueType::NotSupported),
    };
    finding(
        severity,
        issue_type,
        kind.message_id(),
        format!("{what} was not checked: {reason}"),
        path,
    )
}

fn unknown_value_set(value_set: &str, path: String) -> BindingFinding {
    finding(
        Severity::Warning,
        IssueType::NotFound,
        messages::VALUESET_UNKNOWN,
        format!("value set {value_set} is not loaded, so the binding is not checked"),
        path,
    )
}

/// Display and code-system findings for one coding that has a code.
fn coding_details(
    term: &Terminology,
    c: &CodingRef<'_>,
    code: &str,
    m: &Membership,
    coding_index: Option<usize>,
    out: &mut Vec<BindingFinding>,
) {
    // The path below the bound element, built only for a finding.
    let path = |leaf: &str| match coding_index {
        Some(i) => format!("coding[{i}].{leaf}"),
        None => leaf.to_string(),
    };
    let display_check = match m {
        Membership::Member { display } => Some(display.clone()),
        _ => match c.system {
            Some(system) => match term.check_in_code_system(system, code, c.display) {
                Membership::Member { display } => Some(display),
                // Only when the value set rejects the code too: when its
                // membership is undecided (e.g. the value set wants a newer
                // version of the code system), the code may be valid.
                Membership::NotMember if *m == Membership::NotMember => {
                    out.push(finding(
                        Severity::Error,
                        IssueType::CodeInvalid,
                        messages::CODE_UNKNOWN_IN_CODESYSTEM,
                        format!("code '{code}' is not defined in code system {system}"),
                        path("code"),
                    ));
                    None
                }
                _ => None,
            },
            None => None,
        },
    };
    if let (Some(DisplayCheck::Mismatch { expected }), Some(given)) = (display_check, c.display) {
        out.push(finding(
            Severity::Warning,
            IssueType::Value,
            messages::DISPLAY_MISMATCH,
            format!(
                "display '{given}' for {} does not match the code system's display '{expected}'",
                describe(c.system, code)
            ),
            path("display"),
        ));
    }
}

/// Checks a bound value against `value_set` with the binding `strength`
/// (`required`, `extensible`, `preferred`, `example`).
///
/// - required: a code not in the value set is an error;
/// - extensible: a warning, and only when the value set is fully known; a
///   CodeableConcept with text only is allowed;
/// - preferred and example: nothing is reported.
///
/// Codes that cannot be judged offline give an explicit "not checked"
/// finding (information, or a warning when a canonical did not resolve),
/// never an error. Wrong displays are warnings; codes unknown to a complete
/// code system are errors; an invalid UCUM unit in a Quantity is an error
/// whatever the strength.
pub fn check_binding(
    term: &Terminology,
    strength: &str,
    value_set: &str,
    value: BindingValue<'_>,
) -> Vec<BindingFinding> {
    check_binding_in(
        term,
        strength,
        value_set,
        term.find_value_set(value_set),
        value,
    )
}

/// [`check_binding`] with the value set already looked up (`found`, `None`
/// when `value_set` is unknown), for bindings that remember it.
pub(crate) fn check_binding_in(
    term: &Terminology,
    strength: &str,
    value_set: &str,
    found: Option<FoundValueSet<'_>>,
    value: BindingValue<'_>,
) -> Vec<BindingFinding> {
    let mut out = Vec::new();
    let mut ucum_invalid = false;
    if let BindingValue::Quantity {
        system: Some(s),
        code: Some(c),
    } = &value
    {
        if strip_version(s) == UCUM && !Terminology::is_valid_ucum(c) {
            ucum_invalid = true;
            out.push(finding(
                Severity::Error,
                IssueType::CodeInvalid,
                messages::UCUM_INVALID,
                format!("'{c}' is not a valid UCUM unit"),
                "code".into(),
            ));
        }
    }
    let strength = match strength {
        "required" => Strength::Required,
        "extensible" => Strength::Extensible,
        _ => return out,
    };
    let Some(vs) = found else {
        out.push(unknown_value_set(value_set, String::new()));
        return out;
    };
    match value {
        BindingValue::Code(code) | BindingValue::String(code) => {
            let m = term.check_code_in(vs, None, code, None);
            out.extend(membership_finding(
                &m,
                strength,
                value_set,
                || describe(None, code),
                String::new(),
            ));
        }
        BindingValue::Quantity { system, code } => {
            if let (Some(code), false) = (code, ucum_invalid) {
                let m = term.check_code_in(vs, system, code, None);
                out.extend(membership_finding(
                    &m,
                    strength,
                    value_set,
                    || format!("unit {}", describe(system, code)),
                    "code".into(),
                ));
            }
        }
        BindingValue::Coding(c) => {
            if let Some(code) = c.code {
                let m = term.check_code_in(vs, c.system, code, c.display);
                out.extend(membership_finding(
                    &m,
                    strength,
                    value_set,
                    || describe(c.system, code),
                    String::new(),
                ));
                coding_details(term, &c, code, &m, None, &mut out);
            } else if strength == Strength::Required {
                out.push(finding(
                    Severity::Error,
                    IssueType::CodeInvalid,
                    messages::CODE_NOT_IN_VALUESET,
                    format!("the Coding has no code, and a code from {value_set} is required"),
                    String::new(),
                ));
            }
        }
        BindingValue::CodeableConcept { codings, text } => {
            let mut results = Vec::new();
            for (i, c) in codings.iter().enumerate() {
                if let Some(code) = c.code {
                    let m = term.check_code_in(vs, c.system, code, c.display);
                    results.push((i, code, m));
                }
            }
            for (i, code, m) in &results {
                coding_details(term, &codings[*i], code, m, Some(*i), &mut out);
            }
            if results
                .iter()
                .any(|(_, _, m)| matches!(m, Membership::Member { .. }))
            {
                return out;
            }
            if let Some((i, code, Membership::NotChecked { kind, reason })) = results
                .iter()
                .find(|(_, _, m)| matches!(m, Membership::NotChecked { .. }))
            {
                out.push(not_checked(
                    *kind,
                    reason,
                    &describe(codings[*i].system, code),
                    format!("coding[{i}]"),
                ));
                return out;
            }
            match (strength, results.is_empty()) {
                (Strength::Required, true) => out.push(finding(
                    Severity::Error,
                    IssueType::CodeInvalid,
                    messages::CODE_NOT_IN_VALUESET,
                    format!(
                        "no code provided{}, and a code from the value set {value_set} is required",
                        if text.is_some() { " (text only)" } else { "" }
                    ),
                    String::new(),
                )),
                (Strength::Required, false) => out.push(finding(
                    Severity::Error,
                    IssueType::CodeInvalid,
                    messages::CODE_NOT_IN_VALUESET,
                    format!(
                        "none of the codings ({}) is in the value set {value_set} (required binding)",
                        codes_list(&codings)
                    ),
                    String::new(),
                )),
                (Strength::Extensible, true) => {}
                (Strength::Extensible, false) => out.push(finding(
                    Severity::Warning,
                    IssueType::CodeInvalid,
                    messages::CODE_NOT_IN_VALUESET_EXTENSIBLE,
                    format!(
                        "none of the codings ({}) is in the value set {value_set} (extensible binding)",
                        codes_list(&codings)
                    ),
                    String::new(),
                )),
            }
        }
    }
    out
}

fn codes_list(codings: &[CodingRef<'_>]) -> String {
    codings
        .iter()
        .filter_map(|c| c.code.map(|code| describe(c.system, code)))
        .collect::<Vec<_>>()
        .join(", ")
}
