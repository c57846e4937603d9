//! StructureDefinition snapshot → [`Structure`].

use super::{
    Binding, Constraint, ElemId, Element, ExtensionContext, Kind, Literal, Slicing, Structure,
    TypeRef, UNBOUNDED,
};
use serde_json::Value;
use std::collections::HashMap;

const FHIR_TYPE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";
const REGEX_EXT: &str = "http://hl7.org/fhir/StructureDefinition/regex";
const SYSTEM_PREFIX: &str = "http://hl7.org/fhirpath/System.";

/// A compiled structure plus the format regex of a primitive type (the
/// builder interns regexes context-wide).
pub(super) struct Compiled {
    pub structure: Structure,
    pub regex_source: Option<String>,
}

/// Compiles one StructureDefinition. `Err` carries a reason for the report.
pub(super) fn compile_structure(
    sd: &Value,
    package: &str,
    constraints: &mut ConstraintTable,
) -> Result<Compiled, String> {
    let url = str_field(sd, "url").ok_or("StructureDefinition has no url")?;
    let type_name = str_field(sd, "type").ok_or("StructureDefinition has no type")?;
    let kind = match str_field(sd, "kind") {
        Some("primitive-type") => Kind::Primitive,
        Some("complex-type") => Kind::Complex,
        Some("resource") => Kind::Resource,
        Some("logical") => Kind::Logical,
        other => return Err(format!("unknown StructureDefinition.kind {other:?}")),
    };
    let raw = sd
        .get("snapshot")
        .and_then(|s| s.get("element"))
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("StructureDefinition has no snapshot (snapshot generation is not supported)")?;

    let mut elements: Vec<Element> = raw
        .iter()
        .map(|e| compile_element(e, url, constraints))
        .collect();
    link_tree(&mut elements);
    resolve_content_refs(&mut elements, raw);

    let regex_source = if kind == Kind::Primitive {
        let value_path = format!("{type_name}.value");
        raw.iter()
            .find(|e| str_field(e, "path") == Some(value_path.as_str()))
            .and_then(|e| {
                e.get("type")?
                    .as_array()?
                    .first()?
                    .get("extension")?
                    .as_array()
            })
            .and_then(|exts| {
                exts.iter()
                    .find(|x| str_field(x, "url") == Some(REGEX_EXT))
                    .and_then(|x| str_field(x, "valueString"))
                    .map(str::to_string)
            })
    } else {
        None
    };

    Ok(Compiled {
        structure: Structure {
            url: url.to_string(),
            version: str_field(sd, "version").map(str::to_string),
            name: str_field(sd, "name").unwrap_or(type_name).to_string(),
            type_name: type_name.to_string(),
            kind,
            is_profile: str_field(sd, "derivation") == Some("constraint"),
            base: str_field(sd, "baseDefinition").map(str::to_string),
            package: package.to_string(),
            elements,
            regex: None,
            contexts: sd
                .get("context")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| {
                            Some(ExtensionContext {
                                kind: str_field(c, "type")?.to_string(),
                                expression: str_field(c, "expression")?.to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            child_names: Default::default(),
            unchanged: Default::default(),
        },
        regex_source,
    })
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Strips a `|version` suffix from a canonical.
pub(super) fn canonical_base(url: &str) -> &str {
    url.split('|').next().unwrap_or(url)
}

/// Interns constraints so that inherited ones are stored once per context.
#[derive(Default)]
pub(super) struct ConstraintTable {
    pub list: Vec<Constraint>,
    pub paths: Vec<String>,
    index: HashMap<Constraint, u32>,
}

impl ConstraintTable {
    /// `path` is the element path of the first use: the FHIRPath context
    /// type the expression is type-checked against.
    fn intern(&mut self, c: Constraint, path: &str) -> u32 {
        if let Some(&i) = self.index.get(&c) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(c.clone());
        self.paths.push(path.to_string());
        self.index.insert(c, i);
        i
    }
}

/// `url` is the structure's canonical: the `source` of constraints that
/// name none (a definition's own constraints).
fn compile_element(e: &Value, url: &str, table: &mut ConstraintTable) -> Element {
    let path = str_field(e, "path").unwrap_or("").to_string();
    let id = str_field(e, "id")
        .map(str::to_string)
        .unwrap_or_else(|| path.clone());
    let last = path.rsplit('.').next().unwrap_or(&path);
    let choice = last.ends_with("[x]");
    let name = last.trim_end_matches("[x]").to_string();
    let max = match str_field(e, "max") {
        Some("*") | None => UNBOUNDED,
        Some(m) => m.parse().unwrap_or(UNBOUNDED),
    };
    let mut el = Element {
        id,
        path,
        name,
        min: e.get("min").and_then(Value::as_u64).unwrap_or(0) as u32,
        max,
        choice,
        slice_name: str_field(e, "sliceName").map(str::to_string),
        max_length: e.get("maxLength").and_then(Value::as_u64).map(|n| n as u32),
        is_modifier: e
            .get("isModifier")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        ..Element::default()
    };
    if let Some(types) = e.get("type").and_then(Value::as_array) {
        el.types = types.iter().map(compile_type).collect();
    }
    if let Some(obj) = e.as_object() {
        for (k, v) in obj {
            if k.starts_with("fixed") {
                el.fixed = Some(Literal::from_serde(v));
            } else if k.starts_with("pattern") {
                el.pattern = Some(Literal::from_serde(v));
            } else if k.starts_with("minValue") {
                el.min_value = Some(Literal::from_serde(v));
            } else if k.starts_with("maxValue") {
                el.max_value = Some(Literal::from_serde(v));
            }
        }
    }
    if let Some(b) = e.get("binding") {
        el.binding = Some(Binding {
            strength: str_field(b, "strength").unwrap_or("example").to_string(),
            value_set: str_field(b, "valueSet").map(|s| canonical_base(s).to_string()),
            found: Default::default(),
        });
    }
    if let Some(cs) = e.get("constraint").and_then(Value::as_array) {
        el.constraints = cs
            .iter()
            .filter_map(|c| {
                Some(table.intern(
                    Constraint {
                        key: str_field(c, "key")?.to_string(),
                        severity: str_field(c, "severity").unwrap_or("error").to_string(),
                        human: str_field(c, "human").unwrap_or("").to_string(),
                        expression: str_field(c, "expression").map(|x| {
                            super::errata::corrected(str_field(c, "key").unwrap_or(""), x)
                                .to_string()
                        }),
                        // A base type's own constraints (`ref-1`, `txt-1`)
                        // name no source: they are that type's, so a
                        // profile pass leaves them to the base pass.
                        source: Some(str_field(c, "source").unwrap_or(url).to_string()),
                    },
                    &el.path,
                ))
            })
            .collect();
    }
    if let Some(s) = e.get("slicing") {
        el.slicing = Some(Slicing {
            discriminators: s
                .get("discriminator")
                .and_then(Value::as_array)
                .map(|ds| {
                    ds.iter()
                        .map(|d| {
                            (
                                str_field(d, "type").unwrap_or("").to_string(),
                                str_field(d, "path").unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            ordered: s.get("ordered").and_then(Value::as_bool).unwrap_or(false),
            rules: str_field(s, "rules").unwrap_or("open").to_string(),
        });
    }
    el
}

fn compile_type(t: &Value) -> TypeRef {
    let raw = str_field(t, "code").unwrap_or("");
    let code = if let Some(sys) = raw.strip_prefix(SYSTEM_PREFIX) {
        // `id` and primitive `value` elements are typed with FHIRPath System
        // types; the extension says which FHIR type they stand for.
        let ext = t
            .get("extension")
            .and_then(Value::as_array)
            .and_then(|xs| {
                xs.iter()
                    .find(|x| str_field(x, "url") == Some(FHIR_TYPE_EXT))
            })
            .and_then(|x| str_field(x, "valueUrl").or_else(|| str_field(x, "valueUri")));
        match ext {
            Some(e) => e.to_string(),
            None => match sys {
                "String" => "string",
                "Boolean" => "boolean",
                "Integer" => "integer",
                "Decimal" => "decimal",
                "Date" => "date",
                "DateTime" => "dateTime",
                "Time" => "time",
                other => other,
            }
            .to_string(),
        }
    } else {
        raw.to_string()
    };
    let list = |key: &str| -> Vec<String> {
        t.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| canonical_base(s).to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    TypeRef {
        code,
        profiles: list("profile"),
        target_profiles: list("targetProfile"),
        structure: None,
    }
}

/// Links children and slices using element ids:
/// `A.b` is a child of `A`; `A.b:s` is a slice of `A.b`; `A.b:s/r` a
/// reslice of `A.b:s`; `A.b:s.c` a child of the slice `A.b:s`.
fn link_tree(elements: &mut [Element]) {
    let index: HashMap<String, ElemId> = elements
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i as ElemId))
        .collect();
    for i in 1..elements.len() {
        let id = elements[i].id.clone();
        let Some((parent, seg)) = split_parent(&id, &index) else {
            continue;
        };
        let owner = if let Some(slash) = seg.rfind('/') {
            Some(&seg[..slash])
        } else {
            seg.find(':').map(|c| &seg[..c])
        };
        match owner {
            Some(owner_seg) => {
                let owner_id = format!("{parent}.{owner_seg}");
                if let Some(&o) = index.get(&owner_id) {
                    elements[o as usize].slices.push(i as ElemId);
                }
            }
            None => {
                if let Some(&p) = index.get(parent) {
                    elements[p as usize].children.push(i as ElemId);
                }
            }
        }
    }
}

/// Splits an element id into (parent id, last segment), choosing the
/// longest prefix that is itself an element id (slice names may contain dots).
fn split_parent<'a>(id: &'a str, index: &HashMap<String, ElemId>) -> Option<(&'a str, &'a str)> {
    let mut end = id.len();
    while let Some(dot) = id[..end].rfind('.') {
        let parent = &id[..dot];
        if index.contains_key(parent) {
            return Some((parent, &id[dot + 1..]));
        }
        end = dot;
    }
    None
}

fn resolve_content_refs(elements: &mut [Element], raw: &[Value]) {
    let by_id: HashMap<&str, ElemId> = elements
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i as ElemId))
        .collect();
    let targets: Vec<(usize, ElemId)> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let r = str_field(e, "contentReference")?;
            let frag = r.rsplit_once('#').map(|(_, f)| f).unwrap_or(r);
            Some((i, *by_id.get(frag)?))
        })
        .collect();
    for (i, t) in targets {
        elements[i].content_ref = Some(t);
    }
}
