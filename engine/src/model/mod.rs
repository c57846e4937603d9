//! The compiled rule graph.
//!
//! Each StructureDefinition snapshot compiles into a [`Structure`]: a flat
//! vector of [`Element`]s whose `children` and `slices` index into the same
//! vector. Datatype elements without children in a snapshot continue in the
//! structure of their type; `contentReference` elements continue at the
//! referenced element. Check families (cardinality, types, primitives,
//! fixed/pattern, and later slicing, bindings and invariants) read these
//! nodes; nothing walks raw JSON definitions at validation time.

pub mod artifact;
mod builder;
mod children;
mod compile;
mod errata;
pub mod literal;
pub mod questionnaire;
pub mod report;
mod unchanged;

pub use builder::{ContextBuilder, PackageInfo};
pub use children::ChildLookup;
pub use literal::Literal;
pub use report::{LoadReport, MissingPackage, UnresolvedCanonical};

use crate::fxhash::FxHashMap;
use crate::terminology::Terminology;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Index of a [`Structure`] in a [`Context`].
pub type StructId = u32;
/// Index of an [`Element`] inside its [`Structure`].
pub type ElemId = u32;

/// Unbounded maximum cardinality (`*`).
pub const UNBOUNDED: u32 = u32::MAX;

/// The kind of a StructureDefinition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A primitive datatype (`string`, `date`, ...).
    Primitive,
    /// A complex datatype (`HumanName`, `Extension`, ...).
    Complex,
    /// A resource.
    Resource,
    /// A logical model (not validated against).
    Logical,
}

/// One compiled StructureDefinition.
#[derive(Debug, Serialize, Deserialize)]
pub struct Structure {
    /// Canonical URL.
    pub url: String,
    /// Business version, if any.
    pub version: Option<String>,
    /// Computable name.
    pub name: String,
    /// The type it describes or constrains (`Patient`).
    pub type_name: String,
    /// Its kind.
    pub kind: Kind,
    /// True for a constraint (profile), false for a base definition.
    pub is_profile: bool,
    /// The `baseDefinition` canonical.
    pub base: Option<String>,
    /// Package that defined it (`id#version`), for reports.
    pub package: String,
    /// Elements; index 0 is the root.
    pub elements: Vec<Element>,
    /// For primitive types: index into [`Context::regexes`] of the value
    /// format.
    pub regex: Option<u32>,
    /// For extension definitions: where the extension may be used.
    pub contexts: Vec<ExtensionContext>,
    /// Children by JSON name, built on first use; not part of artifacts.
    #[serde(skip)]
    child_names: OnceLock<children::ChildNames>,
    /// [`Context::unchanged_elements`], computed on first use; not part of
    /// artifacts.
    #[serde(skip)]
    unchanged: OnceLock<Vec<bool>>,
}

impl Structure {
    /// Finds children of element `parent` by JSON property name.
    pub fn children_by_name(&self, parent: ElemId) -> ChildLookup<'_> {
        self.child_names
            .get_or_init(|| children::ChildNames::build(&self.elements))
            .of(&self.elements, parent)
    }
}

/// One `StructureDefinition.context` of an extension definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionContext {
    /// `element`, `extension` or `fhirpath`.
    pub kind: String,
    /// An element path or type (`Patient`, `Observation.value[x]`), an
    /// extension URL, or a FHIRPath expression.
    pub expression: String,
}

/// One element of a snapshot.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Element {
    /// Element id (`Patient.identifier:MR.system`); only needed while
    /// compiling, so not stored in artifacts.
    #[serde(skip)]
    pub id: String,
    /// Element path (`Patient.identifier.system`).
    pub path: String,
    /// The JSON property name: last path segment without `[x]`.
    pub name: String,
    /// Minimum cardinality.
    pub min: u32,
    /// Maximum cardinality ([`UNBOUNDED`] for `*`).
    pub max: u32,
    /// Allowed types.
    pub types: Vec<TypeRef>,
    /// True for `[x]` elements.
    pub choice: bool,
    /// Child elements (not slices).
    pub children: Vec<ElemId>,
    /// Slice entry elements, when this element is sliced.
    pub slices: Vec<ElemId>,
    /// Slice name when this element is a slice entry.
    pub slice_name: Option<String>,
    /// The slicing definition, when sliced.
    pub slicing: Option<Slicing>,
    /// `contentReference` target in the same structure.
    pub content_ref: Option<ElemId>,
    /// `fixed[x]` value.
    pub fixed: Option<Literal>,
    /// `pattern[x]` value.
    pub pattern: Option<Literal>,
    /// `maxLength`.
    pub max_length: Option<u32>,
    /// `minValue[x]` as written.
    pub min_value: Option<Literal>,
    /// `maxValue[x]` as written.
    pub max_value: Option<Literal>,
    /// Terminology binding.
    pub binding: Option<Binding>,
    /// Invariants declared on this element (indexes into
    /// [`Context::constraints`]; shared because every element repeats
    /// inherited ones such as `ele-1`).
    pub constraints: Vec<u32>,
    /// `isModifier`.
    pub is_modifier: bool,
}

/// One allowed type of an element.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TypeRef {
    /// FHIR type code (`string`, `HumanName`, `Reference`, `Resource`, ...).
    /// FHIRPath System types of `id`/`value` elements are mapped to the FHIR
    /// type they stand for.
    pub code: String,
    /// `type.profile` canonicals.
    pub profiles: Vec<String>,
    /// `type.targetProfile` canonicals (for Reference and canonical).
    pub target_profiles: Vec<String>,
    /// The base structure of `code`, resolved once when the context is built.
    pub structure: Option<StructId>,
}

/// A slicing definition (evaluated by the slicing checks).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Slicing {
    /// Discriminators: (type, path).
    pub discriminators: Vec<(String, String)>,
    /// `ordered`.
    pub ordered: bool,
    /// `rules`: open, closed or openAtEnd.
    pub rules: String,
}

/// A terminology binding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Binding {
    /// required, extensible, preferred or example.
    pub strength: String,
    /// The value set canonical, if any.
    pub value_set: Option<String>,
    /// The value set as the context's terminology holds it, looked up on
    /// first use (every bound value would otherwise hash the canonical).
    #[serde(skip)]
    pub(crate) found: FoundCache,
}

/// The once-looked-up value set of a [`Binding`]; a clone starts empty,
/// so that a binding copied into another context looks it up again.
#[derive(Debug, Default)]
pub(crate) struct FoundCache(OnceLock<Option<crate::terminology::ValueSetRef>>);

impl Clone for FoundCache {
    fn clone(&self) -> Self {
        FoundCache::default()
    }
}

impl Binding {
    /// The bound value set in `term`, looked up once (`None`: unknown).
    pub(crate) fn value_set_in<'t>(
        &self,
        term: &'t Terminology,
    ) -> Option<crate::terminology::FoundValueSet<'t>> {
        let r = self
            .found
            .0
            .get_or_init(|| term.value_set_ref(self.value_set.as_deref()?));
        r.map(|r| term.found(r))
    }
}

/// An invariant (evaluated by the FHIRPath invariant checks).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Constraint {
    /// Constraint key (`ele-1`, `us-core-8`).
    pub key: String,
    /// `error` or `warning`.
    pub severity: String,
    /// Human description.
    pub human: String,
    /// FHIRPath expression, if any.
    pub expression: Option<String>,
    /// The canonical of the definition the constraint comes from.
    pub source: Option<String>,
}

/// What the validator needs of a constraint on every element it applies
/// to, in a few bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConstraintTraits {
    /// From a base definition (not a profile).
    pub from_base: bool,
    pub has_expression: bool,
    /// Severity `error` (otherwise a warning).
    pub error: bool,
    /// Its native check, if it has one.
    pub native: Option<crate::validate::natives::Native>,
}

/// A primitive format regex, compiled on first use.
#[derive(Debug, Serialize, Deserialize)]
pub struct FormatRegex {
    /// The regex source from the type definition.
    pub source: String,
    #[serde(skip)]
    compiled: OnceLock<Option<regex::Regex>>,
}

impl FormatRegex {
    fn new(source: String) -> Self {
        FormatRegex {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The anchored compiled regex (`None` if the source does not compile).
    pub fn get(&self) -> Option<&regex::Regex> {
        self.compiled
            .get_or_init(|| {
                regex::Regex::new(&format!("^(?:{})$", ascii_classes(&self.source))).ok()
            })
            .as_ref()
    }
}

/// FHIR's regexes come from XML Schema and Java, where `\s`, `\S`, `\d`
/// and `\w` are ASCII classes; Rust's are Unicode-aware (a no-break space
/// would not match `\S`), so they are rewritten to explicit ASCII classes.
fn ascii_classes(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push_str("[ \\t\\n\\r\\x0B\\x0C]"),
            Some('S') => out.push_str("[^ \\t\\n\\r\\x0B\\x0C]"),
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A compiled validation context: the structures of a set of packages plus
/// the load report. Immutable, `Send + Sync`; share it between threads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Context {
    pub(crate) structures: Vec<Structure>,
    /// canonical URL (without version) → structure.
    pub(crate) by_url: FxHashMap<String, StructId>,
    /// base type name → structure of its base definition.
    pub(crate) by_type: FxHashMap<String, StructId>,
    pub(crate) regexes: Vec<FormatRegex>,
    /// Every distinct constraint, referenced by [`Element::constraints`].
    pub(crate) constraints: Vec<Constraint>,
    /// For each constraint, the element path of its first use (its
    /// FHIRPath context).
    pub(crate) constraint_paths: Vec<String>,
    /// The type model FHIRPath expressions are checked and evaluated with.
    pub(crate) fhirpath_model: std::sync::Arc<crate::fhirpath::SnapshotModel>,
    /// Compiled constraint expressions, filled on first use (or at build
    /// time); not part of the artifact.
    #[serde(skip)]
    pub(crate) compiled: OnceLock<Vec<OnceLock<Result<crate::fhirpath::Expression, String>>>>,
    /// The subexpressions of the compiled constraints, so that evaluation
    /// keeps only results that another constraint (or another place in the
    /// same one) can read again; not part of the artifact.
    #[serde(skip)]
    pub(crate) subexpressions: std::sync::Arc<crate::fhirpath::SubexpressionRegistry>,
    /// Every constraint was compiled when the context was built (not so for
    /// one loaded from an artifact, which compiles on first use).
    #[serde(skip)]
    pub(crate) all_compiled: bool,
    /// For each constraint, what the validator reads for every element
    /// (kept apart from the texts, which are read only when a constraint
    /// is evaluated or fails); computed on first use, not part of the
    /// artifact.
    #[serde(skip)]
    pub(crate) traits: OnceLock<Vec<ConstraintTraits>>,
    /// Expanded value sets and code system contents.
    pub(crate) terminology: Terminology,
    pub(crate) report: LoadReport,
    /// Questionnaires by canonical URL (and `url|version`).
    pub(crate) questionnaires: FxHashMap<String, questionnaire::Questionnaire>,
}

impl Context {
    /// The compiled terminology (value set expansions, code systems).
    pub fn terminology(&self) -> &Terminology {
        &self.terminology
    }

    /// The load report: packages loaded and missing, unresolved canonicals.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// The compiled expression of constraint `index` (compiled once, on
    /// first use); `Err` carries the compile error.
    pub fn constraint_expression(&self, index: u32) -> Result<&crate::fhirpath::Expression, &str> {
        let slots = self.compiled.get_or_init(|| {
            (0..self.constraints.len())
                .map(|_| OnceLock::new())
                .collect()
        });
        let slot = &slots[index as usize];
        slot.get_or_init(|| {
            let c = &self.constraints[index as usize];
            let Some(src) = c.expression.as_deref() else {
                return Err("the constraint has no FHIRPath expression".into());
            };
            let path = &self.constraint_paths[index as usize];
            let model: std::sync::Arc<dyn crate::fhirpath::ModelInfo> = self.fhirpath_model.clone();
            let context_type =
                crate::fhirpath::ModelInfo::type_of_path(&*model, path).map(|t| t.to_string());
            crate::fhirpath::compile(
                src,
                &crate::fhirpath::CompileOptions {
                    model: Some(model),
                    context_type,
                    shared_subexpressions: Some(self.subexpressions.clone()),
                    ..Default::default()
                },
            )
            .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(String::as_str)
    }

    /// The FHIRPath type model of this context.
    pub fn fhirpath_model(&self) -> &std::sync::Arc<crate::fhirpath::SnapshotModel> {
        &self.fhirpath_model
    }

    /// The constraint with this index (see [`Element::constraints`]).
    pub fn constraint(&self, index: u32) -> &Constraint {
        &self.constraints[index as usize]
    }

    /// The traits of constraint `index` (see [`ConstraintTraits`]).
    pub(crate) fn constraint_traits(&self, index: u32) -> ConstraintTraits {
        let traits = self.traits.get_or_init(|| {
            self.constraints
                .iter()
                .map(|c| ConstraintTraits {
                    // Its `source` names a structure that is not a profile
                    // (`Element`, `DomainResource`): a profile pass skips it.
                    from_base: c
                        .source
                        .as_deref()
                        .and_then(|s| self.structure_by_url(s))
                        .is_some_and(|(_, s)| !s.is_profile),
                    has_expression: c.expression.is_some(),
                    error: c.severity == "error",
                    native: c
                        .expression
                        .as_deref()
                        .and_then(|src| crate::validate::natives::native_for(&c.key, src)),
                })
                .collect()
        });
        traits[index as usize]
    }

    /// Whether `ancestor` is on the `baseDefinition` chain of `sid`.
    pub fn derives_from(&self, sid: StructId, ancestor: StructId) -> bool {
        let mut cur = sid;
        // Bounded: a chain of definitions that loops ends here.
        for _ in 0..32 {
            let Some((base, _)) = self
                .structure(cur)
                .base
                .as_deref()
                .and_then(|b| self.structure_by_url(b))
            else {
                return false;
            };
            if base == ancestor {
                return true;
            }
            cur = base;
        }
        false
    }

    /// All compiled structures.
    pub fn structures(&self) -> &[Structure] {
        &self.structures
    }

    /// The structure with this canonical URL (a `|version` suffix is ignored).
    pub fn structure_by_url(&self, url: &str) -> Option<(StructId, &Structure)> {
        // Most canonicals come without `|version`: look them up as given
        // before scanning for the bar.
        let id = match self.by_url.get(url) {
            Some(&id) => id,
            None => {
                let (base, _) = url.split_once('|')?;
                *self.by_url.get(base)?
            }
        };
        Some((id, &self.structures[id as usize]))
    }

    /// The base definition of a type (`Patient`, `HumanName`, `string`).
    pub fn structure_by_type(&self, type_name: &str) -> Option<(StructId, &Structure)> {
        let id = *self.by_type.get(type_name)?;
        Some((id, &self.structures[id as usize]))
    }

    /// For each element of structure `sid`: whether it, with everything
    /// under it, says what the base definition of the structure's type says
    /// there (no own constraint, the same cardinality, types, binding and
    /// values); all `false` unless `sid` is a profile. A profile pass after
    /// a base pass without errors skips such elements.
    pub(crate) fn unchanged_elements(&self, sid: StructId) -> &[bool] {
        let s = self.structure(sid);
        s.unchanged.get_or_init(|| unchanged::compute(self, s))
    }

    /// The base structure of an element type (resolved at build time).
    pub fn type_structure(&self, t: &TypeRef) -> Option<(StructId, &Structure)> {
        let id = t.structure?;
        Some((id, &self.structures[id as usize]))
    }

    /// The Questionnaire with this canonical (and version, when given).
    pub fn questionnaire(
        &self,
        url: &str,
        version: Option<&str>,
    ) -> Option<&questionnaire::Questionnaire> {
        match version {
            Some(v) => self.questionnaires.get(&format!("{url}|{v}")),
            None => self.questionnaires.get(url),
        }
    }

    /// The structure with this index.
    pub fn structure(&self, id: StructId) -> &Structure {
        &self.structures[id as usize]
    }

    /// True if `name` is a resource type of this context.
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.structure_by_type(name)
            .is_some_and(|(_, s)| s.kind == Kind::Resource)
    }

    /// The format regex of a primitive type.
    pub(crate) fn primitive_regex(&self, s: &Structure) -> Option<&regex::Regex> {
        s.regex.and_then(|i| self.regexes[i as usize].get())
    }

    /// True if the context defines a ValueSet with this canonical.
    pub fn has_value_set(&self, url: &str) -> bool {
        self.terminology.value_set_known(url)
    }
}

// Compile-time proof that a context can be shared across threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Context>();
};

#[cfg(test)]
mod tests {
    #[test]
    fn ascii_classes_match_like_java() {
        let re = regex::Regex::new(&super::ascii_classes(r"^[ \r\n\t\S]+$")).unwrap();
        assert!(re.is_match("a\u{a0}b"));
        let re = regex::Regex::new(&super::ascii_classes(r"^\s\\S$")).unwrap();
        assert!(re.is_match(" \\S"));
    }
}
