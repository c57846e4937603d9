//! Offline terminology: value set expansion, code system membership and
//! display checks, UCUM and BCP-47 syntax, and the binding-strength logic.
//!
//! Everything is decided at build time from the loaded ValueSets and
//! CodeSystems (plus user-supplied code lists): a [`TerminologyBuilder`]
//! expands every locally defined value set once into a compact
//! [`Terminology`] (interned strings, sorted vectors) that is stored in the
//! compiled [`Context`](crate::Context) and its artifact.
//!
//! What cannot be decided offline is never guessed: codes from code
//! systems whose content is not available here (LOINC, SNOMED CT, RxNorm,
//! ...), from value sets that are not loaded, or from filters that cannot be
//! evaluated give [`Membership::NotChecked`] with the reason, which the
//! binding check reports as information rather than an error.
//!
//! What is expanded exactly:
//! - `compose.include` concept lists (whatever the system: an explicit list
//!   of LOINC answers is known exactly even though LOINC is not loaded);
//! - whole code systems loaded with `content: complete` (a "complete" code
//!   system without concepts, such as `message-events`, is not trusted);
//! - filters on loaded code systems: `is-a`, `descendent-of`, `is-not-a`,
//!   `generalizes` (on `concept`/`code`, over concept nesting and the
//!   `parent`/`child` properties, whatever the `hierarchyMeaning`), and
//!   `=`, `in`, `not-in`, `regex`, `exists` on properties (with `code`,
//!   `display`, `parent` and `child` derived);
//! - `valueSet` imports (intersected with each other and with the system
//!   part of the same include), `exclude`, and precomputed `expansion`s
//!   (preferred over the compose when complete);
//! - grammars: UCUM, BCP-47 and MIME-type codes are checked by syntax.
//!
//! What gives [`Membership::NotChecked`] (never an error):
//! - code systems whose content is not in any package (LOINC, SNOMED CT,
//!   RxNorm, ICD-10-CM, CPT, NUCC, CVX, NDC, ISO 3166, ...) unless a code
//!   list is supplied ([`TerminologyBuilder::add_code_list`]);
//! - code systems loaded as `fragment`, `example` or `not-present`, or in a
//!   different version than the value set asks for (codes they do not list);
//! - code systems and imported value sets that are not loaded (kinds
//!   [`NotCheckedKind::UnknownCodeSystem`] and
//!   [`NotCheckedKind::UnknownValueSet`]: the IG did not load completely);
//! - filters that cannot be evaluated ([`NotCheckedKind::TooComplex`]).
//!
//! ```
//! use shinny_engine::terminology::{Membership, TerminologyBuilder};
//! let mut b = TerminologyBuilder::new();
//! b.add_code_system(&serde_json::json!({
//!     "resourceType": "CodeSystem", "url": "http://example.org/cs", "content": "complete",
//!     "concept": [{"code": "a", "display": "Alpha"}]
//! }), "demo");
//! b.add_value_set(&serde_json::json!({
//!     "resourceType": "ValueSet", "url": "http://example.org/vs",
//!     "compose": {"include": [{"system": "http://example.org/cs"}]}
//! }), "demo");
//! let t = b.build();
//! assert!(matches!(t.check_code("http://example.org/vs", None, "a", None), Membership::Member { .. }));
//! assert_eq!(t.check_code("http://example.org/vs", None, "b", None), Membership::NotMember);
//! ```

mod binding;
mod build;
mod display;
mod strings;
mod ucum;

#[cfg(test)]
mod tests;

pub(crate) use binding::check_binding_in;
pub use binding::{check_binding, BindingFinding, BindingValue, CodingRef};
pub use build::TerminologyBuilder;
pub use ucum::{is_valid_bcp47, is_valid_mime_type};

use display::same_display;
use serde::{Deserialize, Serialize};
use strings::StringTable;

/// The UCUM code system.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// BCP-47 language tags.
pub const BCP47: &str = "urn:ietf:bcp:47";
/// BCP-13 MIME types.
pub const BCP13: &str = "urn:ietf:bcp:13";

/// Value sets that are not distributed in any package but mean "every
/// valid UCUM code" (the SHIN-NY screening `valueQuantity` binding).
const UCUM_VALUE_SETS: &[&str] = &[
    "http://terminology.hl7.org/ValueSet/v3-UnitsOfMeasureCaseSensitive",
    "http://hl7.org/fhir/ValueSet/v3-UnitsOfMeasureCaseSensitive",
];

/// "No id" in the interned tables.
const NONE: u32 = u32::MAX;

/// Code systems whose content is not distributed in FHIR packages, by name.
fn external_name(system: &str) -> Option<&'static str> {
    Some(match system {
        "http://loinc.org" => "LOINC",
        "http://snomed.info/sct" => "SNOMED CT",
        "http://www.nlm.nih.gov/research/umls/rxnorm" => "RxNorm",
        "http://hl7.org/fhir/sid/icd-10-cm" => "ICD-10-CM",
        "http://hl7.org/fhir/sid/icd-10" => "ICD-10",
        "http://hl7.org/fhir/sid/icd-9-cm" => "ICD-9-CM",
        "http://www.cms.gov/Medicare/Coding/ICD10" => "ICD-10-PCS",
        "http://www.ama-assn.org/go/cpt" | "urn:oid:2.16.840.1.113883.6.12" => "CPT",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
        | "urn:oid:2.16.840.1.113883.6.285" => "HCPCS",
        "http://nucc.org/provider-taxonomy" | "urn:oid:2.16.840.1.113883.6.101" => "NUCC",
        "http://hl7.org/fhir/sid/cvx" => "CVX",
        "http://hl7.org/fhir/sid/ndc" => "NDC",
        "http://www.ada.org/cdt" => "CDT",
        "http://www.whocc.no/atc" => "ATC",
        "urn:iso:std:iso:3166" => "ISO 3166",
        "urn:iso:std:iso:3166:-2" => "ISO 3166-2",
        "urn:iso:std:iso:4217" => "ISO 4217",
        "urn:iso:std:iso:11073:10101" => "ISO 11073",
        "http://unstats.un.org/unsd/methods/m49/m49.htm" => "UN M49",
        "https://www.usps.com/" => "USPS",
        "https://nahdo.org/sopt" => "Source of Payment Typology",
        "http://www.nubc.org/patient-discharge" => "NUBC",
        "https://www.iana.org/time-zones" => "IANA time zones",
        "urn:ietf:rfc:3986" => "URIs",
        "http://ncimeta.nci.nih.gov" => "NCI Metathesaurus",
        "http://www.genenames.org" => "HGNC",
        "http://www.ensembl.org" => "Ensembl",
        "http://www.ncbi.nlm.nih.gov/nuccore" => "RefSeq",
        "http://www.ncbi.nlm.nih.gov/clinvar" => "ClinVar",
        "http://varnomen.hgvs.org" => "HGVS",
        "http://www.radlex.org" => "RadLex",
        "http://fdasis.nlm.nih.gov" => "FDA UNII",
        "http://hl7.org/fhir/sid/icpc-2" => "ICPC-2",
        "http://www.icd10data.com/icd10pcs" => "ICD-10-PCS",
        "http://hl7.org/fhir/ndfrt" => "NDF-RT",
        "http://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_29.html" => {
            "DICOM modalities"
        }
        _ => return None,
    })
}

/// Code systems that are grammars; a code is in the system if it parses.
fn syntax_check(system: &str) -> Option<fn(&str) -> bool> {
    match system {
        UCUM => Some(ucum::is_valid_ucum),
        BCP47 => Some(ucum::is_valid_bcp47),
        BCP13 => Some(ucum::is_valid_mime_type),
        _ => None,
    }
}

/// `CodeSystem.content`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// All concepts are present.
    Complete,
    /// Some concepts are present.
    Fragment,
    /// A few example concepts.
    Example,
    /// No concepts are present.
    NotPresent,
}

impl Content {
    fn code(self) -> &'static str {
        match self {
            Content::Complete => "complete",
            Content::Fragment => "fragment",
            Content::Example => "example",
            Content::NotPresent => "not-present",
        }
    }
}

/// Why a code could not be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotCheckedKind {
    /// The code system's content is not available offline (LOINC, SNOMED
    /// CT, a fragment code system, ...).
    ContentUnavailable,
    /// The code system is not loaded and is not a known external one.
    UnknownCodeSystem,
    /// A value set imported by the bound value set is not loaded.
    UnknownValueSet,
    /// The value set uses a filter (or construct) that cannot be evaluated.
    TooComplex,
    /// Internal: decided by a syntax check (UCUM, BCP-47); never returned.
    Syntax,
}

impl NotCheckedKind {
    /// The message id for a "not checked" finding of this kind.
    pub fn message_id(self) -> &'static str {
        use crate::messages::*;
        match self {
            NotCheckedKind::ContentUnavailable | NotCheckedKind::Syntax => CODE_NOT_CHECKED,
            NotCheckedKind::UnknownCodeSystem => CODESYSTEM_UNKNOWN,
            NotCheckedKind::UnknownValueSet => VALUESET_UNKNOWN,
            NotCheckedKind::TooComplex => VALUESET_TOO_COMPLEX,
        }
    }
}

/// Outcome of the display check of a code that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayCheck {
    /// No display given, or it matches the code system's display or a
    /// designation (case-insensitive, whitespace-normalised).
    Ok,
    /// The display differs from every display the code system knows.
    Mismatch {
        /// The code system's preferred display.
        expected: String,
    },
    /// The code system content (and so the display) is not available.
    NotChecked,
}

/// Result of a membership check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// The code is in the value set (or code system).
    Member {
        /// The display check.
        display: DisplayCheck,
    },
    /// The code is definitely not in it.
    NotMember,
    /// Membership cannot be decided offline.
    NotChecked {
        /// Why.
        kind: NotCheckedKind,
        /// Human-readable reason.
        reason: String,
    },
    /// The value set is not in the context.
    UnknownValueSet,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredConcept {
    code: u32,
    /// Range in [`Terminology::displays`]: preferred display first, then
    /// designations.
    displays_start: u32,
    displays_len: u32,
}

/// A known value set, looked up ([`Terminology::find_value_set`]): held
/// content, or `None` for UCUM's unit value sets.
#[derive(Clone, Copy)]
pub(crate) struct FoundValueSet<'t>(Option<&'t StoredValueSet>);

/// A known value set by index, to be remembered
/// ([`Terminology::value_set_ref`]): held content, or UCUM's unit value
/// sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueSetRef {
    Held(u32),
    Ucum,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredCodeSystem {
    url: u32,
    content: Content,
    case_sensitive: bool,
    /// Sorted by code.
    concepts: Vec<StoredConcept>,
}

/// Part of a value set whose content is not enumerated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Open {
    /// The system it concerns; [`NONE`] for any system.
    system: u32,
    kind: NotCheckedKind,
    reason: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredValueSet {
    url: u32,
    /// (code, system), sorted.
    members: Vec<(u32, u32)>,
    /// The only system of the value set, if it has exactly one.
    single_system: u32,
    open: Vec<Open>,
}

/// The compiled terminology of a context: expanded value sets and code
/// system contents, with interned strings. Serializable with postcard.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Terminology {
    /// Every string, sorted and unique; ids index into it.
    strings: StringTable,
    /// Display string ids of all concepts (see [`StoredConcept`]).
    displays: Vec<u32>,
    /// Sorted by url.
    code_systems: Vec<StoredCodeSystem>,
    /// Sorted by url.
    value_sets: Vec<StoredValueSet>,
}

fn strip_version(url: &str) -> &str {
    // memchr: this runs for every coded value, and `split` set up a
    // general char searcher each time.
    match memchr::memchr(b'|', url.as_bytes()) {
        Some(i) => &url[..i],
        None => url,
    }
}

impl Terminology {
    /// Builds the string look-up index now (it is not part of artifacts),
    /// so that the first validation after loading does not pay for it.
    pub(crate) fn prepare(&self) {
        let _ = self.strings.find("");
    }

    fn id(&self, s: &str) -> Option<u32> {
        self.strings.find(s)
    }

    fn str(&self, id: u32) -> &str {
        self.strings.get(id)
    }

    fn code_system(&self, url: &str) -> Option<&StoredCodeSystem> {
        self.code_system_by_id(self.id(strip_version(url))?)
    }

    fn code_system_by_id(&self, url_id: u32) -> Option<&StoredCodeSystem> {
        let i = self
            .code_systems
            .binary_search_by_key(&url_id, |c| c.url)
            .ok()?;
        Some(&self.code_systems[i])
    }

    fn value_set_index(&self, url: &str) -> Option<usize> {
        let id = self.id(strip_version(url))?;
        self.value_sets.binary_search_by_key(&id, |v| v.url).ok()
    }

    fn value_set(&self, url: &str) -> Option<&StoredValueSet> {
        Some(&self.value_sets[self.value_set_index(url)?])
    }

    /// Number of value sets and code systems held.
    pub fn counts(&self) -> (usize, usize) {
        (self.value_sets.len(), self.code_systems.len())
    }

    /// Size figures: (interned strings, their bytes, value set members,
    /// code system concepts, concept displays).
    pub fn stats(&self) -> (usize, usize, usize, usize, usize) {
        (
            self.strings.len(),
            self.strings.text.len(),
            self.value_sets.iter().map(|v| v.members.len()).sum(),
            self.code_systems.iter().map(|c| c.concepts.len()).sum(),
            self.displays.len(),
        )
    }

    /// Value sets that could not be expanded completely, with why: one
    /// entry per (value set, reason). Parts that are merely external
    /// content (LOINC, SNOMED CT, ...) or checked by syntax are left out;
    /// what remains points at load problems (value sets or code systems not
    /// loaded) and filters that cannot be evaluated.
    pub fn incomplete_value_sets(&self) -> Vec<(&str, NotCheckedKind, &str)> {
        let mut out = Vec::new();
        for vs in &self.value_sets {
            for o in &vs.open {
                if matches!(
                    o.kind,
                    NotCheckedKind::UnknownCodeSystem
                        | NotCheckedKind::UnknownValueSet
                        | NotCheckedKind::TooComplex
                ) {
                    out.push((self.str(vs.url), o.kind, self.str(o.reason)));
                }
            }
        }
        out
    }

    /// True if the value set is in the context (or is one of the
    /// well-known "any UCUM code" value sets). A `|version` is ignored.
    pub fn value_set_known(&self, url: &str) -> bool {
        self.value_set(url).is_some() || UCUM_VALUE_SETS.contains(&strip_version(url))
    }

    /// True if the code system's content is loaded (from a package or a
    /// code list).
    pub fn code_system_known(&self, url: &str) -> bool {
        self.code_system(url).is_some()
    }

    /// True if `code` is a syntactically valid UCUM expression.
    pub fn is_valid_ucum(code: &str) -> bool {
        ucum::is_valid_ucum(code)
    }

    fn find_concept<'t>(
        &'t self,
        cs: &'t StoredCodeSystem,
        code: &str,
    ) -> Option<&'t StoredConcept> {
        self.find_concept_by(cs, code, self.id(code))
    }

    /// [`Self::find_concept`] with the id of `code` already looked up.
    fn find_concept_by<'t>(
        &'t self,
        cs: &'t StoredCodeSystem,
        code: &str,
        code_id: Option<u32>,
    ) -> Option<&'t StoredConcept> {
        if let Some(id) = code_id {
            if let Ok(i) = cs.concepts.binary_search_by_key(&id, |c| c.code) {
                return Some(&cs.concepts[i]);
            }
        }
        if !cs.case_sensitive {
            let lower = code.to_lowercase();
            return cs
                .concepts
                .iter()
                .find(|c| self.str(c.code).to_lowercase() == lower);
        }
        None
    }

    fn display_check(&self, concept: &StoredConcept, display: Option<&str>) -> DisplayCheck {
        let Some(display) = display else {
            return DisplayCheck::Ok;
        };
        let start = concept.displays_start as usize;
        let displays = self
            .displays
            .get(start..start + concept.displays_len as usize)
            .unwrap_or_default();
        if displays.is_empty() {
            return DisplayCheck::NotChecked;
        }
        if displays.iter().any(|&d| same_display(display, self.str(d))) {
            DisplayCheck::Ok
        } else {
            DisplayCheck::Mismatch {
                expected: self.str(displays[0]).to_string(),
            }
        }
    }

    /// The display check for a code known to be valid in `system`.
    fn display_in_system(&self, system: &str, code: &str, display: Option<&str>) -> DisplayCheck {
        if display.is_none() {
            return DisplayCheck::Ok;
        }
        match self.id(strip_version(system)) {
            Some(system_id) => self.display_by_ids(system_id, code, self.id(code), display),
            None => DisplayCheck::NotChecked,
        }
    }

    /// [`Self::display_in_system`] for a system without a `|version`
    /// whose id is `system_id`, and a code whose id is `code_id` (`None`:
    /// not in the table), as the membership check has them.
    fn display_by_ids(
        &self,
        system_id: u32,
        code: &str,
        code_id: Option<u32>,
        display: Option<&str>,
    ) -> DisplayCheck {
        if display.is_none() {
            return DisplayCheck::Ok;
        }
        match self
            .code_system_by_id(system_id)
            .and_then(|cs| self.find_concept_by(cs, code, code_id))
        {
            Some(c) => self.display_check(c, display),
            None => DisplayCheck::NotChecked,
        }
    }

    /// Checks that `code` is defined by code system `system`, and its
    /// display. Code systems that are grammars (UCUM, BCP-47, MIME types)
    /// are checked by syntax.
    pub fn check_in_code_system(
        &self,
        system: &str,
        code: &str,
        display: Option<&str>,
    ) -> Membership {
        let system = strip_version(system);
        if let Some(cs) = self.code_system(system) {
            return match self.find_concept(cs, code) {
                Some(c) => Membership::Member {
                    display: self.display_check(c, display),
                },
                None if cs.content == Content::Complete => Membership::NotMember,
                None => Membership::NotChecked {
                    kind: NotCheckedKind::ContentUnavailable,
                    reason: format!(
                        "code system {system} is loaded with content '{}', so a code it does not list cannot be judged",
                        cs.content.code()
                    ),
                },
            };
        }
        if let Some(valid) = syntax_check(system) {
            return if valid(code) {
                Membership::Member {
                    display: DisplayCheck::NotChecked,
                }
            } else {
                Membership::NotMember
            };
        }
        not_available(system)
    }

    /// Checks that `code` (from `system`, or from the value set's only
    /// system when `system` is `None`) is in value set `vs_url`, and its
    /// display against the code system. A `|version` suffix is ignored.
    pub fn check_code(
        &self,
        vs_url: &str,
        system: Option<&str>,
        code: &str,
        display: Option<&str>,
    ) -> Membership {
        match self.find_value_set(vs_url) {
            Some(vs) => self.check_code_in(vs, system, code, display),
            None => Membership::UnknownValueSet,
        }
    }

    /// Looks a value set up once, for [`Terminology::check_code_in`] on
    /// several codes (the codings of one element); `None` when unknown.
    pub(crate) fn find_value_set(&self, vs_url: &str) -> Option<FoundValueSet<'_>> {
        self.value_set_ref(vs_url).map(|r| self.found(r))
    }

    /// [`Terminology::find_value_set`] as an index, to be kept.
    pub(crate) fn value_set_ref(&self, vs_url: &str) -> Option<ValueSetRef> {
        match self.value_set_index(vs_url) {
            Some(i) => Some(ValueSetRef::Held(i as u32)),
            None => UCUM_VALUE_SETS
                .contains(&strip_version(vs_url))
                .then_some(ValueSetRef::Ucum),
        }
    }

    /// The value set a [`ValueSetRef`] of this terminology stands for.
    pub(crate) fn found(&self, r: ValueSetRef) -> FoundValueSet<'_> {
        match r {
            ValueSetRef::Held(i) => FoundValueSet(self.value_sets.get(i as usize)),
            ValueSetRef::Ucum => FoundValueSet(None),
        }
    }

    /// [`Terminology::check_code`] in a value set already looked up.
    pub(crate) fn check_code_in(
        &self,
        found: FoundValueSet<'_>,
        system: Option<&str>,
        code: &str,
        display: Option<&str>,
    ) -> Membership {
        let Some(vs) = found.0 else {
            // UCUM's value sets: any valid unit.
            return match system {
                Some(s) if strip_version(s) != UCUM => Membership::NotMember,
                _ if ucum::is_valid_ucum(code) => Membership::Member {
                    display: DisplayCheck::NotChecked,
                },
                _ => Membership::NotMember,
            };
        };
        let system = match system {
            Some(s) => Some(strip_version(s)),
            None if vs.single_system != NONE => Some(self.str(vs.single_system)),
            None => None,
        };
        let code_id = self.id(code);
        match system {
            Some(sys) => {
                let sys_id = self.id(sys);
                if let (Some(c), Some(s)) = (code_id, sys_id) {
                    if vs.members.binary_search(&(c, s)).is_ok() {
                        // The id of `sys` is `s`; the look-up by id is the
                        // look-up by name when `sys` has no `|version`.
                        let display = if sys.contains('|') {
                            self.display_in_system(sys, code, display)
                        } else {
                            self.display_by_ids(s, code, code_id, display)
                        };
                        return Membership::Member { display };
                    }
                }
                if let (Some(cs), Some(s)) = (self.code_system(sys), sys_id) {
                    if !cs.case_sensitive {
                        let lower = code.to_lowercase();
                        if vs
                            .members
                            .iter()
                            .any(|&(c, ms)| ms == s && self.str(c).to_lowercase() == lower)
                        {
                            return Membership::Member {
                                display: self.display_in_system(sys, code, display),
                            };
                        }
                    }
                }
                self.open_result(vs, Some(sys), code)
            }
            None => {
                if let Some(c) = code_id {
                    let start = vs.members.partition_point(|&(mc, _)| mc < c);
                    if let Some(&(mc, ms)) = vs.members.get(start) {
                        if mc == c {
                            let sys = self.str(ms);
                            let display = if sys.contains('|') {
                                self.display_in_system(sys, code, display)
                            } else {
                                self.display_by_ids(ms, code, code_id, display)
                            };
                            return Membership::Member { display };
                        }
                    }
                }
                self.open_result(vs, None, code)
            }
        }
    }

    /// A code not among the enumerated members: decided by the value set's
    /// open parts (syntax systems, unavailable content), if any covers it.
    fn open_result(&self, vs: &StoredValueSet, system: Option<&str>, code: &str) -> Membership {
        let mut unknown: Option<&Open> = None;
        for o in &vs.open {
            let covers = o.system == NONE || system.is_none() || system == Some(self.str(o.system));
            if !covers {
                continue;
            }
            if o.kind == NotCheckedKind::Syntax {
                if o.system != NONE
                    && syntax_check(self.str(o.system)).is_some_and(|valid| valid(code))
                {
                    return Membership::Member {
                        display: DisplayCheck::NotChecked,
                    };
                }
                continue;
            }
            unknown.get_or_insert(o);
        }
        match unknown {
            Some(o) => Membership::NotChecked {
                kind: o.kind,
                reason: self.str(o.reason).to_string(),
            },
            None => Membership::NotMember,
        }
    }
}

/// The outcome for a code system that is not loaded and not a grammar.
fn not_available(system: &str) -> Membership {
    match external_name(system) {
        Some(name) => Membership::NotChecked {
            kind: NotCheckedKind::ContentUnavailable,
            reason: external_reason(name, system),
        },
        None => Membership::NotChecked {
            kind: NotCheckedKind::UnknownCodeSystem,
            reason: format!("code system {system} is not loaded"),
        },
    }
}

fn external_reason(name: &str, system: &str) -> String {
    format!(
        "{name} ({system}) content is not available offline, so its codes are not checked; supply a code list to check them"
    )
}
