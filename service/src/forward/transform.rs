//! Declarative transforms applied to a bundle before it is forwarded, per
//! tenant (what NYeC may ask for): attach the OperationOutcome as an extra
//! entry (as the Java hub does), set or remove `meta.tag` / `meta.security`
//! codings of the Bundle, and remove elements by a FHIRPath-like path.
//!
//! Paths are dotted element names starting at `Bundle`, where
//! `ofType(X)` keeps only resources whose `resourceType` is `X`; arrays
//! are traversed implicitly, as in FHIRPath. Example:
//! `Bundle.entry.resource.ofType(Patient).text`.

use serde::Deserialize;
use serde_json::{json, Value};

/// Which OperationOutcome to attach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Diagnostics {
    /// After the tenant's policy, as returned to the submitter.
    #[default]
    Reported,
    /// Every issue the engine found.
    Full,
}

/// `meta.tag` or `meta.security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetaElement {
    /// `meta.tag`.
    Tag,
    /// `meta.security`.
    Security,
}

impl MetaElement {
    fn key(self) -> &'static str {
        match self {
            MetaElement::Tag => "tag",
            MetaElement::Security => "security",
        }
    }
}

/// One transform step (`op` selects the kind).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Transform {
    /// Appends the OperationOutcome as a Bundle entry.
    AttachOutcome {
        /// Which outcome.
        #[serde(default)]
        diagnostics: Diagnostics,
    },
    /// Adds a coding to the Bundle's `meta.tag` or `meta.security`,
    /// replacing one with the same system and code.
    SetTag {
        /// Which element.
        element: MetaElement,
        /// Coding system.
        system: String,
        /// Coding code.
        code: String,
        /// Optional display.
        #[serde(default)]
        display: Option<String>,
    },
    /// Removes codings of the Bundle's `meta.tag` or `meta.security` that
    /// match `system` and, when given, `code`.
    RemoveTag {
        /// Which element.
        element: MetaElement,
        /// Coding system to match.
        system: String,
        /// Coding code to match (any when absent).
        #[serde(default)]
        code: Option<String>,
    },
    /// Removes every element the path selects.
    Remove {
        /// e.g. `Bundle.entry.resource.ofType(Patient).text`.
        path: String,
    },
}

/// One step of a parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    OfType(String),
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut parts = path.split('.');
    if parts.next() != Some("Bundle") {
        return Err(format!("path {path:?} must start with `Bundle.`"));
    }
    let mut steps = Vec::new();
    for p in parts {
        if let Some(t) = p.strip_prefix("ofType(").and_then(|r| r.strip_suffix(')')) {
            if !is_name(t) {
                return Err(format!("path {path:?}: bad type in {p:?}"));
            }
            steps.push(Step::OfType(t.to_string()));
        } else if is_name(p) {
            steps.push(Step::Field(p.to_string()));
        } else {
            return Err(format!(
                "path {path:?}: {p:?} is not an element name or ofType(Type)"
            ));
        }
    }
    match steps.last() {
        Some(Step::Field(_)) => Ok(steps),
        _ => Err(format!("path {path:?} must end with an element name")),
    }
}

impl Transform {
    /// Checks the transform when the configuration is loaded.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Transform::Remove { path } => parse_path(path).map(|_| ()),
            Transform::SetTag { system, code, .. } if system.is_empty() || code.is_empty() => {
                Err("set-tag needs a non-empty system and code".into())
            }
            Transform::RemoveTag { system, .. } if system.is_empty() => {
                Err("remove-tag needs a non-empty system".into())
            }
            _ => Ok(()),
        }
    }
}

/// The outcomes an `attach-outcome` step may use.
pub struct Outcomes<'a> {
    /// After the policy.
    pub reported: &'a Value,
    /// Before the policy.
    pub full: &'a Value,
}

/// Applies the transforms in order to a Bundle. Steps that do not fit the
/// data (a Bundle without `entry`, say) do what they can and never fail:
/// the bundle was accepted and must still be forwarded.
pub fn apply(transforms: &[Transform], bundle: &mut Value, outcomes: &Outcomes<'_>) {
    for t in transforms {
        match t {
            Transform::AttachOutcome { diagnostics } => {
                let outcome = match diagnostics {
                    Diagnostics::Reported => outcomes.reported,
                    Diagnostics::Full => outcomes.full,
                };
                let entry = json!({
                    "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                    "resource": outcome,
                });
                if let Some(obj) = bundle.as_object_mut() {
                    match obj.get_mut("entry").and_then(Value::as_array_mut) {
                        Some(entries) => entries.push(entry),
                        None => {
                            obj.insert("entry".into(), json!([entry]));
                        }
                    }
                }
            }
            Transform::SetTag {
                element,
                system,
                code,
                display,
            } => {
                let Some(list) = meta_list(bundle, *element) else {
                    continue;
                };
                list.retain(|c| !matches(c, system, Some(code)));
                let mut coding = json!({ "system": system, "code": code });
                if let Some(d) = display {
                    coding["display"] = json!(d);
                }
                list.push(coding);
            }
            Transform::RemoveTag {
                element,
                system,
                code,
            } => {
                if let Some(list) = meta_list(bundle, *element) {
                    list.retain(|c| !matches(c, system, code.as_deref()));
                }
                // An empty list is not valid FHIR: drop it, and an empty meta.
                if let Some(meta) = bundle.get_mut("meta").and_then(Value::as_object_mut) {
                    if meta
                        .get(element.key())
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.is_empty())
                    {
                        meta.remove(element.key());
                    }
                    if meta.is_empty() {
                        if let Some(o) = bundle.as_object_mut() {
                            o.remove("meta");
                        }
                    }
                }
            }
            Transform::Remove { path } => {
                if let Ok(steps) = parse_path(path) {
                    remove(bundle, &steps);
                }
            }
        }
    }
}

fn matches(coding: &Value, system: &str, code: Option<&str>) -> bool {
    coding.get("system").and_then(Value::as_str) == Some(system)
        && match code {
            Some(c) => coding.get("code").and_then(Value::as_str) == Some(c),
            None => true,
        }
}

/// The Bundle's `meta.<element>` array, created when missing; `None` when
/// the shapes are not objects and arrays.
fn meta_list(bundle: &mut Value, element: MetaElement) -> Option<&mut Vec<Value>> {
    let obj = bundle.as_object_mut()?;
    let meta = obj.entry("meta").or_insert_with(|| json!({}));
    let meta = meta.as_object_mut()?;
    meta.entry(element.key())
        .or_insert_with(|| json!([]))
        .as_array_mut()
}

fn remove(node: &mut Value, steps: &[Step]) {
    match node {
        Value::Array(items) => {
            for item in items {
                remove(item, steps);
            }
        }
        Value::Object(obj) => match steps {
            [] => {}
            [Step::OfType(t), rest @ ..] => {
                if obj.get("resourceType").and_then(Value::as_str) == Some(t.as_str()) {
                    remove(node, rest);
                }
            }
            [Step::Field(f)] => {
                obj.remove(f);
                // The primitive's extension sibling goes with it.
                obj.remove(&format!("_{f}"));
            }
            [Step::Field(f), rest @ ..] => {
                if let Some(child) = obj.get_mut(f) {
                    remove(child, rest);
                }
            }
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Value {
        json!({
            "resourceType": "Bundle",
            "meta": { "tag": [{ "system": "s", "code": "a" }, { "system": "t", "code": "b" }] },
            "entry": [
                { "resource": { "resourceType": "Patient", "text": { "div": "x" }, "id": "p" } },
                { "resource": { "resourceType": "Observation", "text": { "div": "y" }, "id": "o" } }
            ]
        })
    }

    #[test]
    fn parses_and_rejects_paths() {
        assert!(parse_path("Bundle.entry.resource.ofType(Patient).text").is_ok());
        for bad in [
            "entry.resource",
            "Bundle",
            "Bundle.entry.ofType(Patient)",
            "Bundle..x",
            "Bundle.entry[0]",
            "Bundle.ofType(1x).a",
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn removes_by_path_and_type() {
        let mut b = bundle();
        let t = [Transform::Remove {
            path: "Bundle.entry.resource.ofType(Patient).text".into(),
        }];
        apply(
            &t,
            &mut b,
            &Outcomes {
                reported: &json!({}),
                full: &json!({}),
            },
        );
        assert!(b["entry"][0]["resource"].get("text").is_none());
        assert!(b["entry"][1]["resource"].get("text").is_some());
    }

    #[test]
    fn tags_and_outcome() {
        let mut b = bundle();
        let reported = json!({"resourceType": "OperationOutcome", "issue": []});
        let t = [
            Transform::SetTag {
                element: MetaElement::Security,
                system: "v3".into(),
                code: "HTEST".into(),
                display: None,
            },
            Transform::RemoveTag {
                element: MetaElement::Tag,
                system: "s".into(),
                code: None,
            },
            Transform::AttachOutcome {
                diagnostics: Diagnostics::Reported,
            },
        ];
        apply(
            &t,
            &mut b,
            &Outcomes {
                reported: &reported,
                full: &json!({}),
            },
        );
        assert_eq!(b["meta"]["security"][0]["code"], "HTEST");
        assert_eq!(b["meta"]["tag"].as_array().unwrap().len(), 1);
        assert_eq!(b["entry"][2]["resource"], reported);
        // Not a bundle shape: nothing panics.
        let mut odd = json!([1, 2]);
        apply(
            &t,
            &mut odd,
            &Outcomes {
                reported: &reported,
                full: &json!({}),
            },
        );
    }

    #[test]
    fn deserializes_from_toml() {
        #[derive(Deserialize)]
        struct W {
            t: Vec<Transform>,
        }
        let w: W = toml::from_str(
            r#"t = [{ op = "attach-outcome" }, { op = "remove", path = "Bundle.id" }]"#,
        )
        .unwrap();
        assert_eq!(w.t.len(), 2);
        assert!(
            toml::from_str::<W>(r#"t = [{ op = "remove", path = "Bundle.id", x = 1 }]"#).is_err()
        );
        assert!(toml::from_str::<W>(r#"t = [{ op = "explode" }]"#).is_err());
    }
}
