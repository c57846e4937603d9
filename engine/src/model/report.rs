//! The load report: what an operator reads when "the IG did not load right".

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A package dependency that could not be found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingPackage {
    /// Package id.
    pub id: String,
    /// Requested version.
    pub version: String,
    /// The packages (`id#version`) that depend on it.
    pub required_by: Vec<String>,
}

/// A canonical that a loaded definition references but nothing defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnresolvedCanonical {
    /// What it should be: `profile`, `extension`, `value-set`, `code-system`,
    /// `target-profile`, `base-definition`.
    pub kind: String,
    /// The canonical URL (version suffix removed).
    pub url: String,
    /// Up to five definitions that reference it (`url` of the referrer).
    pub referenced_by: Vec<String>,
    /// How many references in all.
    pub count: usize,
}

/// A package that was loaded, with counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedPackage {
    /// `id#version` as given.
    pub package: String,
    /// Canonical base of the package.
    pub canonical: Option<String>,
    /// Number of StructureDefinitions compiled.
    pub structures: usize,
    /// Number of ValueSets seen.
    pub value_sets: usize,
    /// Number of CodeSystems seen.
    pub code_systems: usize,
}

/// A definition file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionProblem {
    /// `id#version` or the definitions path.
    pub source: String,
    /// File name or canonical.
    pub item: String,
    /// What is wrong.
    pub message: String,
}

/// Everything an operator needs to see about a context's loading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Packages loaded, in load order.
    pub packages: Vec<LoadedPackage>,
    /// Dependencies that were not available.
    pub missing_packages: Vec<MissingPackage>,
    /// Canonicals referenced but not defined, sorted by kind then URL.
    pub unresolved: Vec<UnresolvedCanonical>,
    /// Definitions that could not be compiled.
    pub problems: Vec<DefinitionProblem>,
}

impl LoadReport {
    /// True when every dependency and canonical resolved and every
    /// definition compiled.
    pub fn is_complete(&self) -> bool {
        self.missing_packages.is_empty() && self.unresolved.is_empty() && self.problems.is_empty()
    }

    /// A plain-text rendering for people.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Packages loaded: {}", self.packages.len());
        for p in &self.packages {
            let _ = writeln!(
                s,
                "  {}  ({} structures, {} value sets, {} code systems){}",
                p.package,
                p.structures,
                p.value_sets,
                p.code_systems,
                p.canonical
                    .as_deref()
                    .map(|c| format!("  canonical {c}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(s, "Missing packages: {}", self.missing_packages.len());
        for m in &self.missing_packages {
            let _ = writeln!(
                s,
                "  {}#{}  required by {}",
                m.id,
                m.version,
                m.required_by.join(", ")
            );
        }
        let _ = writeln!(s, "Unresolved canonicals: {}", self.unresolved.len());
        let mut kind = "";
        for u in &self.unresolved {
            if u.kind != kind {
                kind = &u.kind;
                let n = self.unresolved.iter().filter(|x| x.kind == kind).count();
                let _ = writeln!(s, "  {kind} ({n}):");
            }
            let _ = writeln!(
                s,
                "    {}  ({} reference{}, e.g. from {})",
                u.url,
                u.count,
                if u.count == 1 { "" } else { "s" },
                u.referenced_by.first().map(String::as_str).unwrap_or("?")
            );
        }
        let _ = writeln!(s, "Definition problems: {}", self.problems.len());
        for p in &self.problems {
            let _ = writeln!(s, "  {} {}: {}", p.source, p.item, p.message);
        }
        s
    }
}
