//! Builds a [`Context`] from package contents.

use super::compile::{canonical_base, compile_structure, ConstraintTable};
use super::report::{DefinitionProblem, LoadedPackage, MissingPackage, UnresolvedCanonical};
use super::{Context, FormatRegex, Kind, LoadReport, Structure};
use crate::terminology::TerminologyBuilder;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Identity of a package handed to the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// Package id (`us.ny.hrsn`).
    pub id: String,
    /// Package version (`1.9.4`).
    pub version: String,
    /// The package's canonical base, if declared.
    pub canonical: Option<String>,
}

impl PackageInfo {
    /// `id#version`.
    pub fn label(&self) -> String {
        format!("{}#{}", self.id, self.version)
    }
}

/// Collects definitions, then compiles them into a [`Context`].
///
/// ```
/// use shinny_engine::model::{ContextBuilder, PackageInfo};
/// let mut b = ContextBuilder::new();
/// b.add_package(
///     PackageInfo { id: "demo".into(), version: "1.0.0".into(), canonical: None },
///     vec![],
/// );
/// let ctx = b.build();
/// assert_eq!(ctx.report().packages.len(), 1);
/// ```
#[derive(Default)]
pub struct ContextBuilder {
    sources: Vec<Source>,
    missing: Vec<MissingPackage>,
    /// User-supplied code lists: (system, text).
    code_lists: Vec<(String, String)>,
}

struct Source {
    label: String,
    canonical: Option<String>,
    is_package: bool,
    files: Vec<(String, Vec<u8>)>,
}

impl ContextBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a package's conformance resources as `(file name, JSON bytes)`.
    /// Files that are not StructureDefinition, ValueSet, CodeSystem or
    /// Questionnaire are ignored. Add dependencies before the packages that use them.
    pub fn add_package(&mut self, info: PackageInfo, files: Vec<(String, Vec<u8>)>) {
        self.sources.push(Source {
            label: info.label(),
            canonical: info.canonical,
            is_package: true,
            files,
        });
    }

    /// Adds loose definitions (`--definitions`); they override package
    /// definitions with the same canonical.
    pub fn add_definitions(&mut self, source: &str, files: Vec<(String, Vec<u8>)>) {
        self.sources.push(Source {
            label: source.to_string(),
            canonical: None,
            is_package: false,
            files,
        });
    }

    /// Records a dependency that could not be found, for the report.
    pub fn add_missing_package(&mut self, missing: MissingPackage) {
        self.missing.push(missing);
    }

    /// Adds the codes of a code system whose content is not in any package
    /// (LOINC, SNOMED CT, ...): one code per line, optionally
    /// `code<TAB>display`. Codes of that system are then checked for real
    /// instead of being reported as not checked. See
    /// [`TerminologyBuilder::add_code_list`].
    pub fn add_code_list(&mut self, system: &str, text: &str) {
        self.code_lists.push((system.to_string(), text.to_string()));
    }

    /// Compiles everything added so far.
    pub fn build(self) -> Context {
        let mut report = LoadReport {
            missing_packages: self.missing,
            ..LoadReport::default()
        };
        let mut structures: Vec<Structure> = Vec::new();
        let mut by_url: HashMap<String, u32> = HashMap::new();
        let mut regex_sources: Vec<(u32, String)> = Vec::new();
        let mut value_sets: HashSet<String> = HashSet::new();
        let mut code_systems: HashSet<String> = HashSet::new();
        let mut refs = References::default();
        let mut constraints = ConstraintTable::default();
        let mut fhirpath_model = crate::fhirpath::SnapshotModel::default();
        let mut questionnaires = HashMap::new();
        let mut terminology = TerminologyBuilder::new();

        for source in self.sources {
            let parsed = parse_all(source.files);
            let mut counts = (0usize, 0usize, 0usize);
            for (name, result) in parsed {
                let value = match result {
                    Ok(v) => v,
                    Err(e) => {
                        report.problems.push(DefinitionProblem {
                            source: source.label.clone(),
                            item: name,
                            message: format!("not valid JSON: {e}"),
                        });
                        continue;
                    }
                };
                match value.get("resourceType").and_then(Value::as_str) {
                    Some("StructureDefinition") => {
                        fhirpath_model.add(&value);
                        match compile_structure(&value, &source.label, &mut constraints) {
                            Ok(c) => {
                                counts.0 += 1;
                                refs.collect_structure(&value);
                                let url = c.structure.url.clone();
                                let id = match by_url.get(&url) {
                                    Some(&existing) => {
                                        structures[existing as usize] = c.structure;
                                        existing
                                    }
                                    None => {
                                        structures.push(c.structure);
                                        let id = (structures.len() - 1) as u32;
                                        by_url.insert(url, id);
                                        id
                                    }
                                };
                                if let Some(r) = c.regex_source {
                                    regex_sources.push((id, r));
                                }
                            }
                            Err(message) => report.problems.push(DefinitionProblem {
                                source: source.label.clone(),
                                item: name,
                                message,
                            }),
                        }
                    }
                    Some("ValueSet") => {
                        if let Some(url) = value.get("url").and_then(Value::as_str) {
                            counts.1 += 1;
                            value_sets.insert(url.to_string());
                            refs.collect_value_set(&value, url);
                            terminology.add_value_set(&value, &source.label);
                        }
                    }
                    Some("Questionnaire") => {
                        if let Some(q) = super::questionnaire::compile(&value) {
                            if let Some(v) = &q.version {
                                questionnaires.insert(format!("{}|{v}", q.url), q.clone());
                            }
                            questionnaires.insert(q.url.clone(), q);
                        }
                    }
                    Some("CodeSystem") => {
                        if let Some(url) = value.get("url").and_then(Value::as_str) {
                            counts.2 += 1;
                            code_systems.insert(url.to_string());
                            terminology.add_code_system(&value, &source.label);
                        }
                    }
                    _ => {}
                }
            }
            if source.is_package {
                report.packages.push(LoadedPackage {
                    package: source.label,
                    canonical: source.canonical,
                    structures: counts.0,
                    value_sets: counts.1,
                    code_systems: counts.2,
                });
            }
        }

        let mut regexes: Vec<FormatRegex> = Vec::new();
        let mut interned: HashMap<String, u32> = HashMap::new();
        for (id, src) in regex_sources {
            let next = regexes.len() as u32;
            let ri = *interned.entry(src.clone()).or_insert_with(|| {
                regexes.push(FormatRegex::new(src));
                next
            });
            structures[id as usize].regex = Some(ri);
        }

        let mut by_type = HashMap::new();
        for (i, s) in structures.iter().enumerate() {
            if !s.is_profile
                && s.kind != Kind::Logical
                && s.url == format!("http://hl7.org/fhir/StructureDefinition/{}", s.type_name)
            {
                by_type.insert(s.type_name.clone(), i as u32);
            }
        }

        for s in &mut structures {
            for e in &mut s.elements {
                for t in &mut e.types {
                    t.structure = by_type.get(&t.code).copied();
                }
            }
        }

        for (system, text) in &self.code_lists {
            terminology.add_code_list(system, text);
        }
        let terminology = terminology.build();

        report.unresolved = refs.unresolved(&by_url, &value_sets, &code_systems);

        let context = Context {
            structures,
            by_url: by_url.into_iter().collect(),
            by_type: by_type.into_iter().collect(),
            regexes,
            constraints: constraints.list,
            constraint_paths: constraints.paths,
            fhirpath_model: std::sync::Arc::new(fhirpath_model),
            compiled: Default::default(),
            subexpressions: Default::default(),
            all_compiled: false,
            traits: Default::default(),
            questionnaires: questionnaires.into_iter().collect(),
            terminology,
            report,
        };
        context.terminology.prepare();
        context.fhirpath_model.prepare();
        compile_constraints(context)
    }
}

/// Compiles every constraint once, so that expressions that do not parse or
/// type-check are reported with the context (key, definition, position)
/// instead of surfacing during validation.
fn compile_constraints(mut context: Context) -> Context {
    let mut problems = Vec::new();
    for i in 0..context.constraints.len() as u32 {
        let c = &context.constraints[i as usize];
        if c.expression.is_none() {
            continue;
        }
        if let Err(e) = context.constraint_expression(i) {
            problems.push(DefinitionProblem {
                source: c.source.clone().unwrap_or_default(),
                item: format!(
                    "constraint {} on {}",
                    c.key, context.constraint_paths[i as usize]
                ),
                message: format!("FHIRPath does not compile: {e}"),
            });
        }
    }
    context.report.problems.extend(problems);
    context.all_compiled = true;
    context
}

type Parsed = Vec<(String, Result<Value, serde_json::Error>)>;

#[cfg(feature = "parallel")]
fn parse_all(files: Vec<(String, Vec<u8>)>) -> Parsed {
    use rayon::prelude::*;
    files
        .into_par_iter()
        .map(|(name, bytes)| {
            let v = serde_json::from_slice(&bytes);
            (name, v)
        })
        .collect()
}

#[cfg(not(feature = "parallel"))]
fn parse_all(files: Vec<(String, Vec<u8>)>) -> Parsed {
    files
        .into_iter()
        .map(|(name, bytes)| {
            let v = serde_json::from_slice(&bytes);
            (name, v)
        })
        .collect()
}

/// Canonical references made by loaded definitions, by kind.
#[derive(Default)]
struct References {
    /// (kind, url) → referrers
    refs: BTreeMap<(&'static str, String), Vec<String>>,
}

impl References {
    fn add(&mut self, kind: &'static str, url: &str, from: &str) {
        self.refs
            .entry((kind, canonical_base(url).to_string()))
            .or_default()
            .push(from.to_string());
    }

    fn collect_structure(&mut self, sd: &Value) {
        let from = sd.get("url").and_then(Value::as_str).unwrap_or("?");
        if let Some(base) = sd.get("baseDefinition").and_then(Value::as_str) {
            self.add("base-definition", base, from);
        }
        let Some(elements) = sd
            .get("snapshot")
            .and_then(|s| s.get("element"))
            .and_then(Value::as_array)
        else {
            return;
        };
        for e in elements {
            for t in e
                .get("type")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let is_ext = t.get("code").and_then(Value::as_str) == Some("Extension");
                for p in t
                    .get("profile")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(p) = p.as_str() {
                        self.add(if is_ext { "extension" } else { "profile" }, p, from);
                    }
                }
                for p in t
                    .get("targetProfile")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(p) = p.as_str() {
                        self.add("target-profile", p, from);
                    }
                }
            }
            if let Some(vs) = e
                .get("binding")
                .and_then(|b| b.get("valueSet"))
                .and_then(Value::as_str)
            {
                self.add("value-set", vs, from);
            }
        }
    }

    fn collect_value_set(&mut self, vs: &Value, from: &str) {
        let Some(compose) = vs.get("compose") else {
            return;
        };
        for part in ["include", "exclude"] {
            for inc in compose
                .get(part)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(sys) = inc.get("system").and_then(Value::as_str) {
                    self.add("code-system", sys, from);
                }
                for v in inc
                    .get("valueSet")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(v) = v.as_str() {
                        self.add("value-set", v, from);
                    }
                }
            }
        }
    }

    fn unresolved(
        self,
        structures: &HashMap<String, u32>,
        value_sets: &HashSet<String>,
        code_systems: &HashSet<String>,
    ) -> Vec<UnresolvedCanonical> {
        self.refs
            .into_iter()
            .filter(|((kind, url), _)| match *kind {
                "value-set" => !value_sets.contains(url),
                "code-system" => !code_systems.contains(url),
                _ => !structures.contains_key(url),
            })
            .map(|((kind, url), mut from)| {
                let count = from.len();
                from.sort_unstable();
                from.dedup();
                from.truncate(5);
                UnresolvedCanonical {
                    kind: kind.to_string(),
                    url,
                    referenced_by: from,
                    count,
                }
            })
            .collect()
    }
}
